"""Opening Radicale's storage of a hub, as the server's own Radicale sees it (same plugins,
same folder), for the CLI and the readers that need an event's full text."""

from __future__ import annotations

from typing import TYPE_CHECKING

from radicale import storage as radicale_storage

from calhub.dav.app import radicale_configuration

if TYPE_CHECKING:
    from calhub.runtime import Runtime


def open_storage(runtime: Runtime) -> radicale_storage.BaseStorage:
    return radicale_storage.load(radicale_configuration(runtime))
