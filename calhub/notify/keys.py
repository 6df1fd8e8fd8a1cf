"""Secrets read when they are needed, never from calhub.toml: the SMTP password and the
webhook's signing key come from an environment variable of the server (``*_env``) or from a
command that prints them (``*_cmd``, a secret store such as ``pass``).

Errors say which setting failed, never what it held, so they are safe to log.
"""

from __future__ import annotations

import os
import shlex
import subprocess

from calhub.errors import CalhubError

__all__ = ["KeyUnavailable", "read_secret"]

COMMAND_TIMEOUT = 15


class KeyUnavailable(CalhubError):
    """The setting names a variable that is not set or a command that failed."""


def read_secret(section: str, name: str, env: str, cmd: str) -> str | None:
    """The secret that ``[section] {name}_env`` or ``{name}_cmd`` points to; None if neither
    is set."""
    if env:
        value = os.environ.get(env)
        if value is None:
            raise KeyUnavailable(
                f"[{section}] {name}_env names {env}, which is not set in the server's environment"
            )
        return value
    if cmd:
        try:
            done = subprocess.run(  # noqa: S603 - the coordinator's own command from calhub.toml
                shlex.split(cmd),
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise KeyUnavailable(
                f"[{section}] {name}_cmd could not run: {type(exc).__name__}"
            ) from None
        if done.returncode != 0:
            raise KeyUnavailable(f"[{section}] {name}_cmd exited with {done.returncode}")
        return done.stdout.rstrip("\r\n")
    return None
