"""A fake macOS `security` executable: answers from a file, logs each call's argv, can exit or hang."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FakeSecurity:
    """Where the fake lives; `path` is a PATH value with the fake first."""

    bin_dir: Path
    log: Path

    @property
    def path(self) -> str:
        return f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"

    def calls(self) -> list[list[str]]:
        """The argv (without the program name) of every run so far, oldest first."""
        if not self.log.exists():
            return []
        return [line.split("\t")[:-1] for line in self.log.read_text().splitlines()]


def install_fake_security(
    where: Path, *, stdout: str = "", exit_code: int = 0, hang: bool = False, delay_s: float = 0
) -> FakeSecurity:
    """Write `security` into `where/bin`: it logs its arguments, waits `delay_s`, prints `stdout`, exits."""
    bin_dir = where / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    log = where / "security-calls.log"
    payload = where / "security-stdout"
    payload.write_text(stdout)
    lines = [
        "#!/bin/sh",
        f'for arg in "$@"; do printf "%s\\t" "$arg"; done >> {shlex.quote(str(log))}',
        f"printf '\\n' >> {shlex.quote(str(log))}",
        f"sleep {delay_s}" if delay_s else ":",
        # exec: the timeout's kill must reach the sleeping process itself, which holds the pipes.
        "exec sleep 30" if hang else f"cat {shlex.quote(str(payload))}",
        f"exit {exit_code}",
    ]
    script = bin_dir / "security"
    script.write_text("\n".join(lines) + "\n")
    script.chmod(0o755)
    return FakeSecurity(bin_dir=bin_dir, log=log)
