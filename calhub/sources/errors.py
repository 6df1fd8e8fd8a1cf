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

    @classmethod
    def timeout(cls, host: str, seconds: float) -> SourceFailed:
        """The source did not answer within the sync's time limit."""
        return cls(f"{host} не ответил за {seconds} с", f"{host} did not answer within {seconds} s")
