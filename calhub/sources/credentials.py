"""A source's password, read when it is fetched: from an environment variable or a command.

The hub keeps only the variable's name or the command (``calhub source add --password-env
VAR | --password-cmd CMD``), never the password, and never logs it.
"""

from __future__ import annotations

import os
import shlex
import subprocess

from calhub.sources.errors import SourceFailed
from calhub.store.sources import Source

PASSWORD_CMD_TIMEOUT = 10


def password(source: Source) -> str | None:
    """The source's password; None when it needs none."""
    if source.password_env:
        value = os.environ.get(source.password_env)
        if value is None:
            raise SourceFailed(
                f"переменная окружения {source.password_env} с паролем не задана у сервера",
                f"the environment variable {source.password_env} with the password is not "
                "set for the server",
            )
        return value
    if source.password_cmd:
        try:
            done = subprocess.run(  # noqa: S603 - the coordinator's own command
                shlex.split(source.password_cmd),
                capture_output=True,
                text=True,
                timeout=PASSWORD_CMD_TIMEOUT,
                check=False,
            )
        except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
            raise SourceFailed(
                f"команда пароля не запустилась ({type(exc).__name__})",
                f"the password command could not run ({type(exc).__name__})",
            ) from None
        if done.returncode != 0:
            raise SourceFailed(
                f"команда пароля завершилась с кодом {done.returncode}",
                f"the password command exited with {done.returncode}",
            )
        return done.stdout.rstrip("\r\n")
    return None
