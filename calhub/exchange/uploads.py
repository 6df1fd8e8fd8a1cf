"""Sheets uploaded on the dashboard, kept between the report and the confirmation.

The coordinator uploads a sheet, reads the dry run's report and confirms: the file is kept
in the hub's data directory (``imports/``) under a random name, so the confirmation
imports exactly the file the report was about, without sending it again. A kept file is
the uploader's only, and is removed once imported or after :data:`KEEP_FOR`.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["KEEP_FOR", "Upload", "forget", "keep", "load"]

KEEP_FOR = 3600.0  # seconds
_NAME = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


@dataclass(frozen=True, slots=True)
class Upload:
    token: str
    filename: str
    login: str
    data: bytes
    mapping: bytes = b""  # the mapping file uploaded with it, if any


def _folder(root: Path) -> Path:
    folder = root / "imports"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _sweep(folder: Path) -> None:
    now = time.time()
    for path in folder.iterdir():
        try:
            if now - path.stat().st_mtime > KEEP_FOR:
                path.unlink()
        except FileNotFoundError:
            continue


def keep(root: Path, filename: str, login: str, data: bytes, mapping: bytes = b"") -> str:
    """Keep an uploaded file (and the mapping file sent with it); returns its token (the
    random name)."""
    folder = _folder(root)
    _sweep(folder)
    token = secrets.token_urlsafe(24)
    (folder / f"{token}.sheet").write_bytes(data)
    if mapping:
        (folder / f"{token}.toml").write_bytes(mapping)
    meta = {"filename": filename[:200], "login": login}
    (folder / f"{token}.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return token


def load(root: Path, token: str, login: str) -> Upload | None:
    """The kept file of ``token`` if ``login`` uploaded it and it has not expired."""
    if not _NAME.match(token):
        return None
    folder = _folder(root)
    sheet, meta_path = folder / f"{token}.sheet", folder / f"{token}.json"
    try:
        if time.time() - sheet.stat().st_mtime > KEEP_FOR:
            forget(root, token)
            return None
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        data = sheet.read_bytes()
        mapping_path = folder / f"{token}.toml"
        mapping = mapping_path.read_bytes() if mapping_path.exists() else b""
    except (OSError, ValueError):
        return None
    if meta.get("login") != login:
        return None
    return Upload(token, str(meta.get("filename", "")), login, data, mapping)


def forget(root: Path, token: str) -> None:
    if not _NAME.match(token):
        return
    folder = _folder(root)
    for suffix in (".sheet", ".json", ".toml"):
        (folder / f"{token}{suffix}").unlink(missing_ok=True)
