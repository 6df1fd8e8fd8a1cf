"""A QR code of a feed's address, as SVG (segno), for the dashboard and printed plans.

SVG, inline: it scales for print and needs no image route. Error correction M (15 %): a
code printed on a classroom poster survives a crease, and a feed address (about 80
characters) still makes a small code.
"""

from __future__ import annotations

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
