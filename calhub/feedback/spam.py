"""What keeps the anonymous form usable: a honeypot field, a minimum time on the form,
links in comments held for a closer look, and a limit of answers per client address.

The limit is kept in this process's memory, never in the store: an address is personal
data and the hub promises to keep none with an answer. A restart forgets it, which costs a
spammer one hour's allowance at most. Memory is bounded: past ``MAX_ADDRESSES`` the address
seen least recently is dropped.
"""

from __future__ import annotations

import collections
import datetime as dt
import re
import threading
import unicodedata

HONEYPOT_FIELD = "website"  # a field people do not see and bots fill
MAX_ADDRESSES = 10_000
WINDOW = dt.timedelta(hours=1)

# http(s)://, www., or a bare domain with a common top-level domain: enough to hold a
# comment for the coordinator's closer look, not a filter (every comment is moderated).
LINK = re.compile(
    r"(https?://|www\.|\b[\w-]+\.(ru|рф|com|net|org|info|io|me|su|xyz|top|site|online|ly|cc)\b)",
    re.IGNORECASE,
)


def has_link(text: str) -> bool:
    return bool(LINK.search(text))


def clean_comment(text: str) -> str:
    """A comment as stored: NFC, control characters out (newlines kept), trimmed."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    kept = "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch)[0] != "C")
    return re.sub(r"\n{3,}", "\n\n", kept).strip()


class RateLimiter:
    """At most ``per_hour`` answers per address in any hour, for one process."""

    def __init__(self, max_addresses: int = MAX_ADDRESSES) -> None:
        self._seen: collections.OrderedDict[str, collections.deque[dt.datetime]] = (
            collections.OrderedDict()
        )
        self._max = max_addresses
        self._lock = threading.Lock()

    def allow(self, address: str, per_hour: int, now: dt.datetime | None = None) -> bool:
        """Whether one more answer from ``address`` is allowed now (and count it if so)."""
        moment = now or dt.datetime.now(dt.UTC)
        with self._lock:
            times = self._seen.pop(address, None) or collections.deque()
            while times and moment - times[0] >= WINDOW:
                times.popleft()
            allowed = len(times) < per_hour
            if allowed:
                times.append(moment)
            self._seen[address] = times  # the most recently seen goes last
            while len(self._seen) > self._max:
                self._seen.popitem(last=False)
            return allowed

    def __len__(self) -> int:
        return len(self._seen)
