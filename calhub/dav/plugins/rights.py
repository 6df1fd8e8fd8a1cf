"""Radicale rights for the hub: the letters come from ``calhub.hub.policy``, the one place that
decides who may read and write which calendar."""

from __future__ import annotations

from typing import TYPE_CHECKING

from radicale import config, rights

if TYPE_CHECKING:
    from calhub.hub.policy import Policy
    from calhub.runtime import Runtime


class Rights(rights.BaseRights):
    def __init__(self, configuration: config.Configuration, runtime: Runtime) -> None:
        super().__init__(configuration)
        self._policy: Policy = runtime.policy

    def authorization(self, user: str, user_groups: set[str], path: str) -> str:
        return self._policy.letters(user, path)
