"""Why a source could not be mirrored, in words a coordinator can act on."""

from __future__ import annotations

from calhub.errors import CalhubError


class SourceFailed(CalhubError):
    """A sync that stopped before writing anything: the source's last error, in plain words
    (Russian, then English). Never holds a password or a secret address's query."""

    def __init__(self, ru: str, en: str) -> None:
        super().__init__(f"{ru} / {en}")
        self.ru = ru
        self.en = en
