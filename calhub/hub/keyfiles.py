"""Signing keys kept as files in the data directory (0600), made once and then reused.

The web session key (``web-secret.key``) and the feedback links' key
(``feedback-secret.key``) live here; each is a file of its own so that renewing one (every
web sign-in ends) does not void the other (every printed feedback QR code would). Both are
in ``calhub backup`` with the rest of the data directory.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import time
from pathlib import Path

from calhub.errors import CalhubError

logger = logging.getLogger(__name__)

MIN_KEY_LENGTH = 32


def load_or_create_key(path: Path) -> bytes:
    """The key in ``path``: created once (64 hex characters, 0600), then read.

    Several processes may start at once on one data dir; ``O_EXCL`` makes exactly one of
    them write the key and the others read it.
    """
    for _ in range(50):
        with contextlib.suppress(FileNotFoundError):
            key = path.read_bytes().strip()
            if len(key) >= MIN_KEY_LENGTH:
                return key
            # Empty: another process is between creating and writing it.
            time.sleep(0.02)
            continue
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        key = secrets.token_hex(32).encode()
        with os.fdopen(fd, "wb") as handle:
            handle.write(key + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        logger.info("Created the key %s", path)
        return key
    raise CalhubError(f"{path} stays empty; remove it and restart the hub")
