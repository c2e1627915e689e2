"""The exception hierarchy and the exit-code table.

Every error a user can see is one of these; each carries one line of text that names the file or URL
involved and never a token. Only `cli.main` turns them into exit codes::

    ClaudeUsageError                 1  unexpected
    ├── CommandLineError             2  bad arguments; a user file we refuse to touch
    ├── AuthError                    3  missing, unreadable or expired credentials; 401/403
    │   ├── NotLoggedIn              3    no credentials found at all
    │   ├── TokenExpired             3    expires within 5 minutes: nothing was sent
    │   └── TokenRejected            3    the endpoint answered 401 or 403
    └── UnavailableError             4  network, timeout, 5xx, 429, unreadable reply
        ├── RateLimited              4    429 (or a 200 carrying a rate_limit_error); has retry_at
        └── BadReply                 4    a reply that is not the usage JSON we expect
"""

from __future__ import annotations

# Not `typing.TYPE_CHECKING`: the status line imports this module and must not pay for `typing`.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime
    from typing import ClassVar, Final


class ExitCode:
    """The documented exit statuses of `claude-usage`: plain ints, so importing this module loads no `enum`."""

    OK: Final = 0
    UNEXPECTED: Final = 1
    COMMAND_LINE: Final = 2
    AUTH: Final = 3
    UNAVAILABLE: Final = 4


class ClaudeUsageError(Exception):
    """One line for the user: names the file or URL, never a token."""

    exit_code: ClassVar[int] = ExitCode.UNEXPECTED


class CommandLineError(ClaudeUsageError):
    """Bad arguments or configuration, or a user file we refuse to touch."""

    exit_code = ExitCode.COMMAND_LINE


class AuthError(ClaudeUsageError):
    """Credentials are missing, unreadable, expired or were rejected."""

    exit_code = ExitCode.AUTH


class NotLoggedIn(AuthError):
    """No subscription login was found."""


class TokenExpired(AuthError):
    """The token expires within the safety margin; no request was sent."""


class TokenRejected(AuthError):
    """The endpoint answered 401 or 403 for this token."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class UnavailableError(ClaudeUsageError):
    """The service could not give a reading: network, timeout, 5xx, 429, unreadable reply."""

    exit_code = ExitCode.UNAVAILABLE


class RateLimited(UnavailableError):
    """The endpoint said 429; `retry_at` is when the server allows the next try, if it said."""

    def __init__(self, message: str, *, retry_at: datetime | None, retry_after_s: float | None) -> None:
        super().__init__(message)
        self.retry_at = retry_at
        self.retry_after_s = retry_after_s


class BadReply(UnavailableError):
    """The reply is not the usage JSON we expect; the message names the JSON path."""
