"""A QR code of a feed's address, as SVG (segno), for the dashboard and printed plans."""

from __future__ import annotations


def qr_svg(text: str) -> str:
    """An inline SVG element (no XML declaration) encoding ``text``."""
    raise NotImplementedError
