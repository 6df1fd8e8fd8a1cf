"""Calendar colours that cannot be mistaken for clash colours (issue 15).

The dashboard says "hard clash" in red, "soft clash" in amber and "approved" in green. A
partner whose calendar is red, amber or green makes those signals ambiguous: БФУ in
#D1242F looked like a hard clash everywhere it appeared. So partner colours come from
:data:`PALETTE`, whose every colour is at least :data:`MIN_DISTANCE` away from every colour
of :data:`CLASH_COLOURS`, and carries black or white chip text at WCAG AA contrast.

Distance is CIEDE2000 (ΔE₀₀) in CIELAB under D65, the CIE's formula for "how different do
two colours look". It is better than the plain Euclidean ΔE76 exactly where this matters:
ΔE76 overstates differences of saturated colours, so a pink and a red, or a teal and a
green, can be 40 ΔE76 apart and still be read as "the same colour family" on a small chip.
:data:`MIN_DISTANCE` is 25 ΔE₀₀: 2 apart is a just-noticeable difference, about 10 "a
different shade of the same colour", 20 and more a different colour name; 25 leaves a
margin for screens, projectors and printers that render the same hex code differently.
Only the blue-violet-magenta-cyan half of the hue circle stays that far from red, amber and
green, and in CIEDE2000 it is compressed (blues look alike), so the palette is eleven
colours; every one is at least :data:`MIN_PALETTE_DISTANCE` from every other and from the
school's blue, so partners stay apart too.

Pure: no I/O, nothing of calhub but this module (the hub package may import the engine
and ``calhub.errors`` only).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "CLASH_COLOURS",
    "MIN_CONTRAST",
    "MIN_DISTANCE",
    "MIN_PALETTE_DISTANCE",
    "PALETTE",
    "SCHOOL_BLUE",
    "clash_too_close",
    "contrast",
    "delta_e",
    "display_colours",
    "luminance",
    "nearest_palette",
    "next_colour",
    "text_colour",
]

# The clash colours of calhub/web/static/calhub.css (--hard, --soft, --soft-line, --ok) and
# the cell fills of the grade board (calhub/web/static/board.css), by what they mean.
CLASH_COLOURS: Mapping[str, str] = {
    "#C62828": "hard clash (red)",
    "#9A5B00": "soft clash (amber text)",
    "#F0A202": "soft clash (amber)",
    "#1A7F37": "approved (green)",
    "#F9D0CC": "hard clash cell (light red)",
    "#FBE3A6": "soft clash cell (light amber)",
    "#CDEBD5": "approved cell (light green)",
}

MIN_DISTANCE = 25.0  # ΔE₀₀ from every clash colour (see the module's docstring)
MIN_PALETTE_DISTANCE = 12.0  # ΔE₀₀ between two palette colours, and from the school's blue
MIN_CONTRAST = 4.5  # WCAG 2 AA for normal text: chip titles are small
SCHOOL_BLUE = "#1F6FEB"  # ``calhub init`` gives it to the school's own calendar

# Blues, violets, cyans, magentas and a slate: the hues a colour name away from red, amber
# and green, at light and dark levels. In the order handed out, the most distinct first
# (each the farthest from those before it). Greys are left out on purpose: grey is the
# closed-period (blackout) background of the board.
PALETTE: tuple[str, ...] = (
    "#8250DF",  # violet
    "#00A3C4",  # cyan (black text)
    "#BF3989",  # magenta
    "#88AAFF",  # periwinkle (black text)
    "#1B7C83",  # teal
    "#F27BCB",  # pink (black text)
    "#444466",  # slate
    "#882266",  # plum
    "#3B28CC",  # ultramarine
    "#CC88FF",  # lavender (black text)
    "#0550AE",  # deep blue
)


def _srgb_to_linear(channel: float) -> float:
    return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4


def _rgb(colour: str) -> tuple[float, float, float]:
    """``#RRGGBB`` (an alpha suffix is ignored) as sRGB channels 0..1."""
    text = colour.strip().lstrip("#")
    if len(text) not in (6, 8):
        raise ValueError(f"{colour!r} is not a colour: use #RRGGBB")
    try:
        red, green, blue = (int(text[i : i + 2], 16) / 255 for i in (0, 2, 4))
    except ValueError:
        raise ValueError(f"{colour!r} is not a colour: use #RRGGBB") from None
    return red, green, blue


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance."""
    red, green, blue = (_srgb_to_linear(c) for c in _rgb(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: str, second: str) -> float:
    """WCAG 2 contrast ratio, 1..21."""
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@functools.lru_cache(maxsize=256)  # pure; a month grid asks once per event, of a few colours
def text_colour(background: str) -> str:
    """Black or white, whichever has the higher contrast on ``background``. One of the two
    always reaches 4.58:1 (they tie at luminance 0.179), so every colour gets AA text."""
    return (
        "#000000"
        if contrast(background, "#000000") >= contrast(background, "#FFFFFF")
        else ("#FFFFFF")
    )


def _lab(colour: str) -> tuple[float, float, float]:
    """CIELAB (D65) of an sRGB colour."""
    red, green, blue = (_srgb_to_linear(c) for c in _rgb(colour))
    x = (0.4124564 * red + 0.3575761 * green + 0.1804375 * blue) / 0.95047
    y = 0.2126729 * red + 0.7151522 * green + 0.0721750 * blue
    z = (0.0193339 * red + 0.1191920 * green + 0.9503041 * blue) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29

    fx, fy, fz = f(x), f(y), f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def ciede2000(first: tuple[float, float, float], second: tuple[float, float, float]) -> float:
    """CIEDE2000 colour difference of two CIELAB colours (kL = kC = kH = 1)."""
    l1, a1, b1 = first
    l2, a2, b2 = second
    c_mean = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_mean**7 / (c_mean**7 + 25**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360 if c1p else 0.0
    h2p = math.degrees(math.atan2(b2, a2p)) % 360 if c2p else 0.0

    delta_l = l2 - l1
    delta_c = c2p - c1p
    if c1p * c2p == 0:
        delta_h_angle = 0.0
    elif abs(h2p - h1p) <= 180:
        delta_h_angle = h2p - h1p
    elif h2p - h1p > 180:
        delta_h_angle = h2p - h1p - 360
    else:
        delta_h_angle = h2p - h1p + 360
    delta_h = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(delta_h_angle) / 2)

    l_mean = (l1 + l2) / 2
    cp_mean = (c1p + c2p) / 2
    if c1p * c2p == 0:
        hp_mean = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        hp_mean = (h1p + h2p) / 2
    elif h1p + h2p < 360:
        hp_mean = (h1p + h2p + 360) / 2
    else:
        hp_mean = (h1p + h2p - 360) / 2
    t = (
        1
        - 0.17 * math.cos(math.radians(hp_mean - 30))
        + 0.24 * math.cos(math.radians(2 * hp_mean))
        + 0.32 * math.cos(math.radians(3 * hp_mean + 6))
        - 0.20 * math.cos(math.radians(4 * hp_mean - 63))
    )
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / math.sqrt(20 + (l_mean - 50) ** 2)
    s_c = 1 + 0.045 * cp_mean
    s_h = 1 + 0.015 * cp_mean * t
    delta_theta = 30 * math.exp(-(((hp_mean - 275) / 25) ** 2))
    r_c = 2 * math.sqrt(cp_mean**7 / (cp_mean**7 + 25**7))
    r_t = -r_c * math.sin(math.radians(2 * delta_theta))
    return math.sqrt(
        (delta_l / s_l) ** 2
        + (delta_c / s_c) ** 2
        + (delta_h / s_h) ** 2
        + r_t * (delta_c / s_c) * (delta_h / s_h)
    )


def delta_e(first: str, second: str) -> float:
    """ΔE₀₀ between two ``#RRGGBB`` colours."""
    return ciede2000(_lab(first), _lab(second))


def clash_too_close(colour: str) -> tuple[str, float] | None:
    """The clash colour ``colour`` is within :data:`MIN_DISTANCE` of (the nearest one) and
    the distance, or None when it is safe."""
    nearest = min(CLASH_COLOURS, key=lambda clash: delta_e(colour, clash))
    distance = delta_e(colour, nearest)
    return (nearest, distance) if distance < MIN_DISTANCE else None


def nearest_palette(colour: str, count: int = 3) -> list[str]:
    """The ``count`` palette colours nearest to ``colour``: what to suggest instead."""
    return sorted(PALETTE, key=lambda candidate: delta_e(colour, candidate))[:count]


def _unused(used: Iterable[str]) -> Iterable[str]:
    taken = {colour[:7].upper() for colour in used}
    for colour in PALETTE:
        if colour not in taken:
            yield colour


def next_colour(used: Iterable[str]) -> str:
    """The first palette colour none of ``used`` has. When all twelve are taken, the one
    used least (then the first): two partners share a colour rather than one going red."""
    used = [colour[:7].upper() for colour in used]
    for colour in _unused(used):
        return colour
    return min(PALETTE, key=used.count)


def display_colours(calendars: Sequence[tuple[str, str]]) -> dict[str, str]:
    """See :func:`_display_colours`; a fresh dict each call, the work memoised (pages ask
    once per event in /api/events)."""
    return dict(_display_colours(tuple(calendars)))


@functools.lru_cache(maxsize=64)
def _display_colours(calendars: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """Calendar id → the colour to show, for ``(id, configured colour)`` pairs in the
    config's order. A configured colour too close to a clash colour is shown as the next
    palette colour nobody else shows instead, so a hub configured before the palette
    existed needs no edit; every other colour is kept as configured."""
    shown: dict[str, str] = {}
    replace = []
    for calendar_id, colour in calendars:
        colour = colour[:7].upper()
        if clash_too_close(colour) is None:
            shown[calendar_id] = colour
        else:
            replace.append(calendar_id)
    for calendar_id in replace:
        shown[calendar_id] = next_colour(shown.values())
    return tuple((calendar_id, shown[calendar_id]) for calendar_id, _ in calendars)
