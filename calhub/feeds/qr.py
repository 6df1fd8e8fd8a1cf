"""A QR code of a feed's (or a feedback form's) address, as SVG or PNG (segno), for the
dashboard, printed plans and posters.

SVG, inline: it scales for print and needs no image route. Error correction M (15 %): a
code printed on a classroom poster survives a crease, and a feed address (about 80
characters) still makes a small code.
"""

from __future__ import annotations

import io
from pathlib import Path

import segno

MAX_QR_TEXT = 1000


def qr_svg(text: str, scale: int = 4, title: str | None = None) -> str:
    """An inline SVG element (no XML declaration) encoding ``text``."""
    if not text:
        raise ValueError("a QR code needs some text")
    if len(text) > MAX_QR_TEXT:
        raise ValueError(f"a QR code of more than {MAX_QR_TEXT} characters is unreadable")
    code = segno.make(text, error="m", boost_error=False)
    svg: str = code.svg_inline(scale=scale, title=title, dark="#000", light="#fff")
    return svg


def _code(text: str) -> segno.QRCode:
    if not text:
        raise ValueError("a QR code needs some text")
    if len(text) > MAX_QR_TEXT:
        raise ValueError(f"a QR code of more than {MAX_QR_TEXT} characters is unreadable")
    return segno.make(text, error="m", boost_error=False)


def qr_png(text: str, scale: int = 8) -> bytes:
    """A PNG of ``text``'s code (for the PDF plan and printed posters)."""
    buffer = io.BytesIO()
    _code(text).save(buffer, kind="png", scale=scale, border=2)
    return buffer.getvalue()


def save_qr(text: str, path: Path, scale: int = 10) -> None:
    """Write ``text``'s code to ``path``: PNG or SVG, chosen by the file's suffix."""
    kind = path.suffix.lower().lstrip(".")
    if kind not in ("png", "svg"):
        raise ValueError(f"a QR code is written as .png or .svg, not {path.suffix or 'no suffix'}")
    _code(text).save(str(path), kind=kind, scale=scale, border=2)
