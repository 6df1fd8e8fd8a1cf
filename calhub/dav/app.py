"""The embedded Radicale: its configuration, built from the hub, and its WSGI application.

The user never edits a Radicale config. Plugins are handed to Radicale as factories bound
to the runtime (Radicale accepts a callable as a plugin ``type``), so they need no globals.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from radicale import config as radicale_config

from calhub.dav.multiget import MultigetApplication

if TYPE_CHECKING:
    from calhub.runtime import Runtime

logger = logging.getLogger(__name__)

DAV_PREFIX = "/dav"
BODY_LIMIT_CEILING = 1024**3  # the largest [hub] max_body_bytes the schema allows


def radicale_configuration(runtime: Runtime) -> radicale_config.Configuration:
    # The plugins are imported here, not at the top: the storage plugin's hooks open
    # Radicale's storage themselves (to rebuild a damaged index), with this configuration.
    from calhub.dav.plugins.auth import Auth
    from calhub.dav.plugins.rights import Rights
    from calhub.dav.plugins.sharing import Sharing
    from calhub.dav.plugins.storage import Storage

    hub = runtime.hub
    configuration = radicale_config.load()
    options: dict[str, dict[str, Any]] = {
        "auth": {
            "type": functools.partial(Auth, runtime=runtime),
            # calhub.dav.login answers failed logins (401, or 429 past the sign-in limit)
            # before Radicale sees them; the account store's delay is fixed and shared with
            # the web sign-in, and the plugin turns off Radicale's growing one.
            "delay": "0",
            # HTTP headers are latin-1: a Cyrillic school name here breaks every 401.
            "realm": "calhub",
        },
        "rights": {
            "type": functools.partial(Rights, runtime=runtime),
            "permit_delete_collection": "False",
            "permit_overwrite_collection": "True",
        },
        "storage": {
            "type": functools.partial(Storage, runtime=runtime),
            "filesystem_folder": str(hub.paths.storage),
        },
        "sharing": {
            # Every login sees the other hub calendars in its own calendar home, computed
            # from the hub's settings (calhub/dav/plugins/sharing.py); no token shares, and
            # nobody creates shares over HTTP.
            "type": functools.partial(Sharing, runtime=runtime),
            "collection_by_map": "True",
            "collection_by_token": "False",
            "permit_create_map": "False",
            "permit_create_token": "False",
            "permit_properties_overlay": "False",
        },
        "server": {
            # The hub's WSGI body limit is the one size check: it is read from calhub.toml
            # on every request (so a change needs no restart) and answers 413 with a reason.
            # Radicale's own limits are set out of its way; it caps an item at 80 %.
            "max_content_length": str(BODY_LIMIT_CEILING),
            "max_resource_size": str(int(BODY_LIMIT_CEILING * 0.8)),
        },
        "web": {"type": "none"},
        "logging": {"mask_passwords": "True", "bad_put_request_content": "False"},
    }
    configuration.update(options, "calhub", privileged=True)
    return configuration


def build_radicale_app(runtime: Runtime) -> MultigetApplication:
    return MultigetApplication(radicale_configuration(runtime))
