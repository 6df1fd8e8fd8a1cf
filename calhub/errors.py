"""One exception root for calhub.

``UserError`` is what the person at the keyboard can fix (a wrong option, a bad config
value, a missing hub); its message says what is wrong and ``hint`` says what to do next.
Anything else deriving from ``CalhubError`` is a fault of the hub itself.
"""

from __future__ import annotations


class CalhubError(Exception):
    """Root of every error raised on purpose by calhub."""


class UserError(CalhubError):
    """Something the user can fix. ``hint`` tells them how."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(UserError):
    """A value in ``calhub.toml`` is wrong. The message names file, section and key."""

    def __init__(self, path: str, key: str, problem: str, allowed: str = "") -> None:
        message = f"{path}: [{key}] {problem}"
        if allowed:
            message += f" (allowed: {allowed})"
        super().__init__(message, hint=f"Edit {path} and run the command again.")
        self.path = path
        self.key = key


class HubNotFound(UserError):
    """There is no hub in the data directory."""


class AccountError(UserError):
    """An account operation cannot be done (unknown id, duplicate, reserved name)."""


class NoSuchClash(UserError):
    """There is no clash record with this id (or none the asker may see)."""

    def __init__(self, clash_id: str) -> None:
        super().__init__(f"There is no clash {clash_id!r}.", hint="See 'calhub conflicts'.")
        self.clash_id = clash_id
