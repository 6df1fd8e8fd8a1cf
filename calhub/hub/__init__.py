"""The hub on disk: its data directory, settings and accounts, and who may do what.

This package holds what a hub *is*, read from its files: :class:`Hub` (below),
:mod:`calhub.hub.settings` (the schema of ``calhub.toml``), :mod:`calhub.hub.configfile`
(editing it), :mod:`calhub.hub.accounts` (``accounts.json``) and :mod:`calhub.hub.policy`,
the one place that decides who may read and write what. It imports the engine and
``calhub.errors`` only: the stores and engine built on these files are the runtime's
(:mod:`calhub.runtime`).

Layout of a data directory::

    calhub-format.json  the data format version (calhub.hub.dataformat; none: format 0)
    calhub.toml     human-edited configuration (calhub.hub.settings is its schema)
    accounts.json   logins, roles and bcrypt hashes (hub data)
    hub.sqlite      clash records, approvals, history (hub data, backed up)
    index.sqlite    occurrence index (cache: rebuilt from storage when missing or stale)
    storage/        Radicale's storage: the single source of truth for events
    archive/        calendars of removed partners
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from calhub.errors import ConfigError, HubNotFound
from calhub.hub.accounts import ACCOUNTS_NAME, AccountStore
from calhub.hub.dataformat import CURRENT_FORMAT, check_format
from calhub.hub.filewatch import ReloadingFile
from calhub.hub.settings import CONFIG_NAME, Settings, load_settings

logger = logging.getLogger(__name__)

DEFAULT_DATA_DIR = "calhub-data"


def resolve_data_dir(option: str | None) -> Path:
    """``--data`` wins, then ``$CALHUB_DATA``, then ``./calhub-data``."""
    return Path(option or os.environ.get("CALHUB_DATA") or DEFAULT_DATA_DIR).absolute()


@dataclass(frozen=True)
class HubPaths:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def accounts(self) -> Path:
        return self.root / ACCOUNTS_NAME

    @property
    def storage(self) -> Path:
        return self.root / "storage"

    @property
    def collections(self) -> Path:
        """Radicale keeps its collections below ``collection-root``."""
        return self.storage / "collection-root"

    @property
    def hub_db(self) -> Path:
        return self.root / "hub.sqlite"

    @property
    def index_db(self) -> Path:
        return self.root / "index.sqlite"

    @property
    def archive(self) -> Path:
        return self.root / "archive"


class Hub:
    """Everything a process needs to know about one hub. Cheap to create; share per process."""

    def __init__(self, data_dir: Path) -> None:
        self.paths = HubPaths(data_dir)
        if not self.paths.config.exists():
            raise HubNotFound(
                f"No hub in {data_dir} (there is no {CONFIG_NAME}).",
                hint="Create one with 'calhub init --school NAME', or point --data / $CALHUB_DATA "
                "at an existing hub.",
            )
        # A directory of a newer calhub is refused here, before anything reads or writes it.
        self.data_format = check_format(data_dir)
        self._settings_file = ReloadingFile(self.paths.config, self._parse_settings, self._gone)

    @property
    def root(self) -> Path:
        return self.paths.root

    @property
    def needs_upgrade(self) -> bool:
        """An older data format: ``calhub.dav.upgrade`` brings it up to date."""
        return self.data_format < CURRENT_FORMAT

    def _parse_settings(self, path: Path) -> Settings:
        return load_settings(path.parent)

    def _gone(self) -> Settings:
        raise ConfigError(str(self.paths.config), "-", "was removed while the hub was running")

    @property
    def settings(self) -> Settings:
        """The current settings; re-read after the file changed (e.g. 'calhub partner add')."""
        return self._settings_file.get()

    @cached_property
    def accounts(self) -> AccountStore:
        settings = self.settings
        return AccountStore(
            self.paths.accounts,
            cache_seconds=settings.login_cache_seconds,
            failed_delay=settings.failed_login_delay,
        )
