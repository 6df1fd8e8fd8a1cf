"""What a message says: one notice, or a digest of several, in the recipient's language.

Plain text and a simple HTML part with the same content (every value escaped): what clashes
with what, when (in the hub's time zone), where and for whom, what happened, and a link to
the clash on the dashboard. Nothing here sends anything or reads the stores.
"""

from __future__ import annotations

import datetime as dt
import html
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from calhub.hub.accounts import Account
from calhub.hub.settings import Settings
from calhub.store.outbox import Notice
from calhub.store.record_types import ClashRecord, StoredOccurrence

__all__ = ["Composed", "Composer", "Item"]

SUBJECT_PREFIX = "[calhub]"
MAX_DIGEST_ITEMS = 100  # a digest lists this many and counts the rest

# Every text a message has, by language; {placeholders} are filled with str.format.
TEXTS: dict[str, dict[str, str]] = {
    "ru": {
        "detected": "Новая накладка",
        "reappeared": "Накладка вернулась",
        "changed": "Событие согласованной накладки изменилось: она снова открыта",
        "approved": "Накладка согласована",
        "reopened": "Накладка снова открыта",
        "move-asked": "Просьба перенести «{summary}»",
        "move-accepted": "Перенос «{summary}» принят",
        "move-declined": "В переносе «{summary}» отказано",
        "soft": "(мягкая)",
        "by": "Кто: {actor}",
        "comment": "Комментарий: {comment}",
        "slots": "Свободное время для переноса:",
        "chosen": "Выбранное время: {when}",
        "open": "Открыть накладку: {url}",
        "settings": "Настройки уведомлений: {url}",
        "digest": "Новости о накладках: {count}",
        "daily": "Сводка за день: {count}",
        "more": "…и ещё {count}.",
        "gone": "Запись о накладке {id} уже удалена.",
        "where_none": "место не указано",
        "whom_none": "вся школа",
        "all_day": "весь день",
        "test_subject": "Проверка почты calhub",
        "test_body": "Это проверочное письмо calhub: почта настроена и доходит.",
        "footer": "Это письмо отправил calhub, общий календарь школы.",
        "greeting": "Здравствуйте, {name}!",
    },
    "en": {
        "detected": "New clash",
        "reappeared": "A clash is back",
        "changed": "An event of an approved clash changed: it is open again",
        "approved": "Clash approved",
        "reopened": "Clash reopened",
        "move-asked": 'Please move "{summary}"',
        "move-accepted": 'Move of "{summary}" accepted',
        "move-declined": 'Move of "{summary}" declined',
        "soft": "(soft)",
        "by": "By: {actor}",
        "comment": "Comment: {comment}",
        "slots": "Free times to move it to:",
        "chosen": "Time chosen: {when}",
        "open": "Open the clash: {url}",
        "settings": "Notification settings: {url}",
        "digest": "Clash news: {count}",
        "daily": "Daily digest: {count}",
        "more": "…and {count} more.",
        "gone": "The record of clash {id} has been deleted.",
        "where_none": "no place given",
        "whom_none": "whole school",
        "all_day": "all day",
        "test_subject": "calhub mail test",
        "test_body": "This is a calhub test message: mail is set up and arrives.",
        "footer": "This message was sent by calhub, the school's shared calendar.",
        "greeting": "Hello, {name}!",
    },
}

# The settings page of an account on the dashboard (List-Unsubscribe points there).
SETTINGS_PATH = "/account/notifications"


@dataclass(frozen=True, slots=True)
class Composed:
    subject: str
    text: str
    html: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Item:
    """One notice with the clash record it is about (None: purged meanwhile)."""

    notice: Notice
    record: ClashRecord | None


def _moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


class Composer:
    """Writes messages for one hub (its time zone, calendar names and address)."""

    def __init__(self, settings: Settings, base_url: str) -> None:
        self._settings = settings
        self._zone = zoneinfo.ZoneInfo(settings.timezone)
        self._base = base_url.rstrip("/")

    # -- pieces --------------------------------------------------------------------------

    def _t(self, language: str, key: str, **values: Any) -> str:
        return TEXTS.get(language, TEXTS["ru"])[key].format(**values)

    def when(self, start: str, end: str, language: str, all_day: bool = False) -> str:
        first, last = _moment(start).astimezone(self._zone), _moment(end).astimezone(self._zone)
        day = "%Y-%m-%d" if language == "en" else "%d.%m.%Y"
        if all_day:
            shown = last - dt.timedelta(seconds=1) if last > first else first
            days = first.strftime(day)
            if shown.date() != first.date():
                days += "–" + shown.strftime(day)
            return f"{days} ({self._t(language, 'all_day')})"
        if first.date() == last.date():
            return f"{first.strftime(day)} {first:%H:%M}–{last:%H:%M}"
        return f"{first.strftime(day)} {first:%H:%M} – {last.strftime(day)} {last:%H:%M}"

    def _calendar_name(self, calendar_id: str) -> str:
        calendar = self._settings.calendar(calendar_id)
        return calendar.name if calendar is not None else calendar_id

    def occurrence_line(self, occurrence: StoredOccurrence, language: str) -> str:
        title = occurrence["summary"].strip() or "—"
        quoted = f"«{title}»" if language == "ru" else f'"{title}"'
        where = occurrence["location"].strip() or self._t(language, "where_none")
        whom = occurrence["audience"].strip() or self._t(language, "whom_none")
        when = self.when(
            occurrence["start"], occurrence["end"], language, bool(occurrence["all_day"])
        )
        return f"{quoted} ({self._calendar_name(occurrence['calendar'])}): {when}; {where}; {whom}"

    def clash_url(self, clash_id: str) -> str:
        return f"{self._base}/conflicts/{clash_id}"

    def settings_url(self) -> str:
        return f"{self._base}{SETTINGS_PATH}"

    def headline(self, item: Item, language: str) -> str:
        notice = item.notice
        summary = str(notice.payload.get("summary") or "—")
        line = self._t(language, notice.kind, summary=summary)
        if notice.severity == "soft" and not notice.kind.startswith("move-"):
            line += " " + self._t(language, "soft")
        return line

    def _details(self, item: Item, language: str) -> list[str]:
        """The lines under an item's headline (text; the HTML part escapes each)."""
        notice, record = item.notice, item.record
        lines: list[str] = []
        if record is None:
            return [self._t(language, "gone", id=notice.clash_id)]
        lines.append(record.message.text(language))
        lines.extend("— " + self.occurrence_line(o, language) for o in record.occurrences)
        payload = notice.payload
        if notice.kind == "changed":
            changed = str(payload.get(language) or payload.get("ru") or "")
            if changed:
                lines.append(changed)
        if notice.actor != "calhub":
            lines.append(self._t(language, "by", actor=notice.actor))
        comment = str(payload.get("comment") or "")
        if comment:
            lines.append(self._t(language, "comment", comment=comment))
        slots = payload.get("slots") or []
        if notice.kind == "move-asked" and slots:
            lines.append(self._t(language, "slots"))
            lines.extend(f"  • {self.when(str(a), str(b), language)}" for a, b in slots[:3])
        chosen = payload.get("chosen")
        if chosen:
            lines.append(
                self._t(
                    language, "chosen", when=self.when(str(chosen[0]), str(chosen[1]), language)
                )
            )
        return lines

    # -- whole messages ------------------------------------------------------------------

    def _headers(self, account: Account) -> dict[str, str]:
        return {
            "List-Unsubscribe": f"<{self.settings_url()}>",
            "Content-Language": account.language,
            "Auto-Submitted": "auto-generated",
        }

    def notice(self, item: Item, account: Account) -> Composed:
        """One notice as a message of its own."""
        return self._message(
            [item], account, f"{SUBJECT_PREFIX} {self._subject_of(item, account.language)}"
        )

    def _subject_of(self, item: Item, language: str) -> str:
        subject = self.headline(item, language)
        if item.record is not None and item.record.occurrences:
            first = item.record.occurrences[0]
            subject += ": " + self.when(first["start"], first["end"], language, first["all_day"])
        return subject

    def digest(self, items: Sequence[Item], account: Account, daily: bool = False) -> Composed:
        """Several notices as one message (a bulk write, or the daily digest)."""
        key = "daily" if daily else "digest"
        subject = f"{SUBJECT_PREFIX} {self._t(account.language, key, count=len(items))}"
        return self._message(items, account, subject)

    def _message(self, items: Sequence[Item], account: Account, subject: str) -> Composed:
        language = account.language
        shown = list(items)[:MAX_DIGEST_ITEMS]
        greeting = self._t(language, "greeting", name=account.name)
        text_parts = [greeting, ""]
        html_parts = [f"<p>{html.escape(greeting)}</p>"]
        for item in shown:
            headline = self.headline(item, language)
            details = self._details(item, language)
            url = self.clash_url(item.notice.clash_id)
            text_parts += [headline, *details, self._t(language, "open", url=url), ""]
            html_parts.append(f"<h2>{html.escape(headline)}</h2>")
            html_parts.append(
                "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in details) + "</ul>"
            )
            html_parts.append(
                f'<p><a href="{html.escape(url, quote=True)}">'
                f"{html.escape(self._t(language, 'open', url=url))}</a></p>"
            )
        if len(items) > len(shown):
            more = self._t(language, "more", count=len(items) - len(shown))
            text_parts += [more, ""]
            html_parts.append(f"<p>{html.escape(more)}</p>")
        return self._finish(subject, text_parts, html_parts, account)

    def _finish(
        self, subject: str, text_parts: list[str], html_parts: list[str], account: Account
    ) -> Composed:
        language = account.language
        settings = self._t(language, "settings", url=self.settings_url())
        footer = self._t(language, "footer")
        text_parts += ["--", footer, settings]
        html_parts.append(
            f"<hr><p><small>{html.escape(footer)}<br>"
            f'<a href="{html.escape(self.settings_url(), quote=True)}">'
            f"{html.escape(settings)}</a></small></p>"
        )
        page = (
            f'<!DOCTYPE html><html lang="{html.escape(language)}"><head><meta charset="utf-8">'
            f"<title>{html.escape(subject)}</title></head><body>"
            + "\n".join(html_parts)
            + "</body></html>"
        )
        return Composed(subject, "\n".join(text_parts) + "\n", page, self._headers(account))

    def test(self, account: Account) -> Composed:
        language = account.language
        body = self._t(language, "test_body")
        return self._finish(
            f"{SUBJECT_PREFIX} {self._t(language, 'test_subject')}",
            [body, ""],
            [f"<p>{html.escape(body)}</p>"],
            account,
        )
