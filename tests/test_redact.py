"""The redactor every printed text goes through: known tokens, runs of them, escaped copies, shapes, bearers."""

from __future__ import annotations

import ast
import codecs
import string
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from claude_usage.adapters import redact
from claude_usage.adapters.redact import MIN_RUN, REDACTED

# Not shaped like an Anthropic token: only its value can give it away.
TOKEN = "Zq8xV2mN4pL7rT1wY6uB3cF9hK0jD5sA8gE2nQ7v"


def runs_of(token: str, text: str) -> list[str]:
    """The MIN_RUN-character runs of `token` that occur in `text`."""
    return [token[i : i + MIN_RUN] for i in range(len(token) - MIN_RUN + 1) if token[i : i + MIN_RUN] in text]


def test_remembered_token_is_redacted() -> None:
    """A token the process remembered is redacted wherever it shows up."""
    redact.remember(TOKEN)
    assert f"echo: {REDACTED}!" == redact.redact(f"echo: {TOKEN}!")


def test_run_of_a_remembered_token_is_redacted() -> None:
    """Twelve characters from inside a remembered token are redacted."""
    redact.remember(TOKEN)
    assert f"[{REDACTED}]" == redact.redact(f"[{TOKEN[5:17]}]")


def test_given_secret_is_redacted() -> None:
    """A secret passed in is redacted like a remembered one."""
    secret = "another-secret-value-42"
    assert f"x {REDACTED} y" == redact.redact(f"x {secret} y", secrets=[secret])


def test_environment_token_is_redacted() -> None:
    """The environment's CLAUDE_CODE_OAUTH_TOKEN is redacted."""
    env = {"CLAUDE_CODE_OAUTH_TOKEN": "env-token-value-0123456789"}
    assert f"got {REDACTED}" == redact.redact("got env-token-value-0123456789", env)


def test_token_in_a_bytes_repr_with_an_escaped_character_is_redacted() -> None:
    """A token whose backslash a bytes repr doubles is redacted where it stands."""
    token = "abcdefghij\\klmnopqrstuvwxyz0123"
    text = f"illegal header line: {bytearray(b'Echo ' + token.encode())!r}"
    assert "illegal header line: bytearray(b'Echo <redacted>')" == redact.redact(text, secrets=[token])


def test_hex_escaped_token_is_redacted() -> None:
    """A token written out as \\xNN escapes is redacted."""
    escaped = "".join(f"\\x{byte:02x}" for byte in TOKEN.encode())
    assert f"b'Bearer {REDACTED}'" == redact.redact(f"b'Bearer {escaped}'", secrets=[TOKEN])


def test_escaped_space_after_bearer_is_redacted() -> None:
    """A credential after `Bearer\\x20` is redacted, whatever it is."""
    assert f"b'Bearer\\x20{REDACTED}'" == redact.redact("b'Bearer\\x20whatever-it-is'")


def test_token_split_by_an_escaped_byte_is_redacted() -> None:
    """A token cut in two by an escaped control byte leaves no run of it."""
    text = repr(f"Echo {TOKEN[:20]}\x01{TOKEN[20:]}".encode())
    assert [] == runs_of(TOKEN, redact.redact(text, secrets=[TOKEN]))


def test_token_in_a_repr_of_a_repr_is_redacted() -> None:
    """A token escaped twice (a repr inside a repr) is redacted."""
    token = "abcdefghij'klmnopqrstuvwxyz0123"
    text = repr(repr(token.encode()))
    assert [] == runs_of(token, ast.literal_eval(ast.literal_eval(redact.redact(text, secrets=[token]))).decode())


def test_percent_encoded_token_is_redacted() -> None:
    """A token percent-encoded in a URL is redacted."""
    token = "abc+def/ghi=jkl+mno/pqr"
    text = f"Location: https://elsewhere.test/?t={quote(token, safe='')}"
    assert f"Location: https://elsewhere.test/?t={REDACTED}" == redact.redact(text, secrets=[token])


def test_anthropic_shape_is_redacted() -> None:
    """Anything shaped like an Anthropic key is redacted, known or not."""
    assert f"key {REDACTED} leaked" == redact.redact("key sk-ant-api03-Someone_else-99 leaked")


def test_bearer_credential_is_redacted() -> None:
    """Whatever follows `Bearer` is redacted."""
    assert f"Authorization: Bearer {REDACTED}" == redact.redact("Authorization: Bearer abc.def")


def test_short_values_are_not_redacted_by_value() -> None:
    """A value shorter than eight characters is not taken for a secret (it would blank out words)."""
    assert "the cat sat" == redact.redact("the cat sat", secrets=["cat"])


def test_plain_text_is_unchanged() -> None:
    """Text without secrets, shapes or bearers comes back as it was, escapes and all."""
    text = "Traceback (most recent call last):\n  File 'x.py', line 1\nValueError: b'\\x00\\\\' 100%"
    assert text == redact.redact(text)


# Printable ASCII a token may hold (an HTTP header carries no more), without the `<>` of our marker.
_TOKEN_CHARS = "".join(c for c in string.printable[:94] if c not in "<>")


def unescaped(text: str) -> str:
    """`text` with a repr's escapes decoded by Python's own codec (a broken escape becomes U+FFFD)."""
    return codecs.decode(text.encode("latin-1", "backslashreplace"), "unicode_escape", errors="replace")


@given(
    token=st.text(alphabet=_TOKEN_CHARS, min_size=MIN_RUN, max_size=60),
    before=st.binary(max_size=20),
    after=st.binary(max_size=20),
)
def test_no_run_survives_in_a_bytes_repr(token: str, before: bytes, after: bytes) -> None:
    """However a bytes repr escapes a token, no run of it is left, escaped or not."""
    out = redact.redact(repr(before + token.encode() + after), secrets=[token])
    assert ([], []) == (runs_of(token, out), runs_of(token, unescaped(out)))


@given(
    token=st.text(alphabet=_TOKEN_CHARS, min_size=MIN_RUN, max_size=60),
    before=st.text(max_size=20),
    after=st.text(max_size=20),
)
def test_no_run_survives_in_a_repr_of_a_repr(token: str, before: str, after: str) -> None:
    """A token escaped twice over leaves no run of it, at either depth."""
    out = redact.redact(repr(repr(before + token + after)), secrets=[token])
    assert ([], [], []) == (
        runs_of(token, out),
        runs_of(token, unescaped(out)),
        runs_of(token, unescaped(unescaped(out))),
    )
