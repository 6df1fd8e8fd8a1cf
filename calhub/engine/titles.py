"""Folded event titles: what two entries of the same event have in common.

The ``duplicate`` rule compares folded titles, and the hub's index stores each
occurrence's folded title so a lookup can hand that rule only the occurrences with
the candidate's title instead of a whole day of them.
"""

from __future__ import annotations

import re

from calhub.engine.parser import AudienceParser, strip_audience_tags

__all__ = ["TitleFolder"]

_NOT_WORD = re.compile(r"[\W_]+")
# A hub has a few thousand distinct summaries; the cap only guards memory.
_CACHED = 65536


class TitleFolder:
    """Folds a summary: case, ``ё``, punctuation and spacing ignored, audience tags
    such as ``[10-11]`` (as ``parser`` reads them) removed. ``""``: nothing to compare."""

    def __init__(self, parser: AudienceParser) -> None:
        self._parser = parser
        self._folded: dict[str, str] = {}

    def __call__(self, summary: str) -> str:
        folded = self._folded.get(summary)
        if folded is None:
            text = strip_audience_tags(summary, self._parser).casefold().replace("ё", "е")
            folded = " ".join(_NOT_WORD.sub(" ", text).split())
            if len(self._folded) < _CACHED:
                self._folded[summary] = folded
        return folded
