"""``limit`` and ``offset`` of a paged clash list (API and CLI), checked."""

from __future__ import annotations

from calhub.errors import UserError


def whole(value: str | int | None, name: str, default: int, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high``; ``None`` or empty is the default."""
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise UserError(
            f"{name} должно быть целым числом от {low} до {high}, а не {value!r}. / "
            f"{name} must be a whole number from {low} to {high}, not {value!r}.",
            hint=f"For example ?{name}={default}.",
        )
    return number
