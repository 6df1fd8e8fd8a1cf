"""Radicale rights for the hub: the letters come from ``calhub.access``, the one place that
decides who may read and write which calendar."""

from __future__ import annotations

from typing import TYPE_CHECKING

from radicale import config, rights

from calhub.access import Access

if TYPE_CHECKING:
    from calhub.hub import Hub


class Rights(rights.BaseRights):
    def __init__(self, configuration: config.Configuration, hub: Hub) -> None:
        super().__init__(configuration)
        self._access = Access(hub)

    def authorization(self, user: str, user_groups: set, path: str) -> str:
        return self._access.letters(user, path)
