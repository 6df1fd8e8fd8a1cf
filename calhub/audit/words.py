"""What each kind of entry is called, in Russian and English."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from calhub.store.audit import AuditEntry, EventSummary

ACTION_WORDS: dict[str, tuple[str, str]] = {
    "created": ("создано", "created"),
    "changed": ("изменено", "changed"),
    "moved": ("перенесено", "moved"),
    "deleted": ("удалено", "deleted"),
    "approved": ("накладка согласована", "clash approved"),
    "reopened": ("согласование отозвано", "approval revoked (reopened)"),
    "move-requested": ("запрошен перенос", "move requested"),
    "move-answered": ("ответ на запрос переноса", "move request answered"),
    "feed-created": ("лента выдана", "feed issued"),
    "feed-revoked": ("лента отозвана", "feed revoked"),
    "account-added": ("учётная запись добавлена", "account added"),
    "account-changed": ("учётная запись изменена", "account changed"),
    "account-removed": ("учётная запись удалена", "account removed"),
    "source-added": ("источник добавлен", "source added"),
    "source-removed": ("источник удалён", "source removed"),
    "refused-dismissed": ("несохранённое событие убрано в сторону", "refused event set aside"),
}

VIA_WORDS: dict[str, tuple[str, str]] = {
    "caldav": ("календарь (CalDAV)", "calendar app (CalDAV)"),
    "web": ("сайт", "website"),
    "import": ("импорт", "import"),
    "cli": ("командная строка", "command line"),
    "source": ("внешний календарь", "mirrored source"),
    "calhub": ("хаб", "the hub"),
}


def action_text(action: str, language: str = "ru") -> str:
    words = ACTION_WORDS.get(action)
    if words is None:
        return action
    return words[0] if language == "ru" else words[1]


def via_text(via: str, language: str = "ru") -> str:
    words = VIA_WORDS.get(via)
    if words is None:
        return via
    return words[0] if language == "ru" else words[1]


def local_time(text: str, zone: zoneinfo.ZoneInfo | None) -> str:
    """A stored UTC time (``2027-02-01T09:00:00Z``) in ``zone`` as ``2027-02-01 11:00``;
    as it is without a zone, or when it is a date or a floating time."""
    if zone is None or not text.endswith("Z"):
        return text
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def summary_text(summary: EventSummary | None, zone: zoneinfo.ZoneInfo | None = None) -> str:
    """``Title · start–end · venue · audience``: times in ``zone``, else as stored (UTC)."""
    if summary is None:
        return ""
    start, end = local_time(summary.start, zone), local_time(summary.end, zone)
    parts = [summary.title, f"{start}–{end}"]
    parts += [p for p in (summary.venue, summary.audience) if p]
    if summary.occurrences > 1:
        parts.append(f"×{summary.occurrences}")
    return " · ".join(parts)


def entry_line(entry: AuditEntry, zone: zoneinfo.ZoneInfo | None = None) -> str:
    """One entry of ``calhub audit``, times in ``zone`` (the hub's)."""
    what = action_text(entry.action, "ru") + " / " + action_text(entry.action, "en")
    target = f"{entry.calendar}/{entry.uid}" if entry.uid else entry.clash_id or entry.subject
    who = entry.actor + (f" ({entry.address})" if entry.address else "")
    line = f"{local_time(entry.at, zone)}  {who}  {what}  {target}"
    if entry.subject and entry.subject != target:
        line += f"  [{entry.subject}]"
    if entry.before is not None or entry.after is not None:
        before, after = summary_text(entry.before, zone), summary_text(entry.after, zone)
        line += f"\n    {before or '—'}  →  {after or '—'}"
    if entry.comment:
        line += f"\n    «{entry.comment}»"
    return line
