"""Reading a submitted feedback form: the checks every answer passes before it is stored.

The checks come in the order of what they cost: the honeypot and the time on the form
(bots), then the fields. A problem is reported by field, so the form comes back with what
was typed in it and a message beside the field: nothing a person wrote is lost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from calhub.engine import Occurrence
from calhub.feedback.links import FeedbackKeys
from calhub.feedback.spam import HONEYPOT_FIELD, clean_comment, has_link
from calhub.hub.feedback_settings import FeedbackSettings
from calhub.store.feedback import NewAnswer

STAMP_FIELD = "stamp"
RECOMMEND = {"yes": True, "no": False, "": None}


@dataclass(frozen=True)
class Checked:
    """A form read: the answer to store, or the problems (field → what is wrong)."""

    answer: NewAnswer | None
    problems: Mapping[str, str] = field(default_factory=dict)
    bot: bool = False  # the honeypot or the time on the form: looks automated


def check_form(
    form: Mapping[str, str],
    occurrence: Occurrence,
    device: str,
    keys: FeedbackKeys,
    settings: FeedbackSettings,
    now: dt.datetime | None = None,
) -> Checked:
    """Check a submitted form for ``occurrence`` from ``device`` (its cookie id).

    Problems are keys the web translates: ``rating``, ``recommend``, ``comment:long``,
    ``bot:honeypot``, ``bot:quick``, ``bot:stamp``.
    """
    if form.get(HONEYPOT_FIELD, ""):
        return Checked(None, {"form": "bot:honeypot"}, bot=True)
    age = keys.form_age(form.get(STAMP_FIELD), now)
    if age is None:
        return Checked(None, {"form": "bot:stamp"}, bot=True)
    if age < settings.min_form_seconds:
        return Checked(None, {"form": "bot:quick"}, bot=True)
    problems: dict[str, str] = {}
    rating_text = form.get("rating", "")
    rating = int(rating_text) if rating_text in ("1", "2", "3", "4", "5") else 0
    if not rating:
        problems["rating"] = "rating"
    recommend_text = form.get("recommend", "")
    if recommend_text not in RECOMMEND:
        problems["recommend"] = "recommend"
    comment = clean_comment(form.get("comment", ""))
    if len(comment) > settings.max_comment_chars:
        problems["comment"] = "comment:long"
    if problems:
        return Checked(None, problems)
    answer = NewAnswer(
        calendar=occurrence.calendar,
        uid=occurrence.uid,
        recurrence_id=occurrence.recurrence_id,
        occurrence=occurrence.start,
        device=keys.device_key(device, occurrence.calendar, occurrence.uid, occurrence.start),
        rating=rating,
        recommend=RECOMMEND[recommend_text],
        comment=comment,
        held=has_link(comment),
    )
    return Checked(answer)
