"""The hub's one typed configuration schema: ``calhub.toml`` in the data directory.

Every key has a default, a help text and a validator. ``load_settings`` reads the file once
into an immutable ``Settings``; any error names the file, the section and key, and what is
allowed. The CLI edits the file with tomlkit so that a coordinator's comments survive.

The rules' own keys are not repeated here: each rule declares its name, default severity
and typed settings in ``calhub/engine/rules`` (``registry()``), and ``[rules.NAME]``
tables are checked against those declarations.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

from calhub.engine.config import SEVERITIES
from calhub.engine.parser import AudienceParser
from calhub.engine.rawscan import (
    MAX_CALENDAR_COMPONENTS,
    MAX_COMPONENTS,
    MAX_DATES,
    MAX_OVERRIDES,
)
from calhub.engine.rules import BaseRule, registry
from calhub.engine.rules.spec import Setting
from calhub.engine.schedule import WEEKDAY_NAMES, parse_clock, parse_grades
from calhub.errors import ConfigError
from calhub.hub.feedback_settings import FeedbackSettings, read_feedback
from calhub.hub.notify_settings import NotifySettings, read_notify

CONFIG_NAME = "calhub.toml"

ROLES = ("school", "blackout", "partner")
POLICIES = ("record", "reject")

# Account/calendar ids become URL path segments and file names.
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")
COLOR_PATTERN = re.compile(r"^#[0-9A-Fa-f]{6}([0-9A-Fa-f]{2})?$")
AUDIENCE_ALLOWED = (
    "grades and classes such as '10-11', '9', '10А, 11Б' or a group; docs/audience.md"
)


@dataclass(frozen=True, slots=True)
class Option:
    """One key of the schema: its default, a help text and how to check a value."""

    default: Any
    help: str
    check: Callable[[Any], Any]
    allowed: str = ""


def _int_range(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"must be a whole number from {low} to {high}")
        return value

    return check


def _float_range(low: float, high: float) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise ValueError(f"must be a number from {low:g} to {high:g}")
        return float(value)

    return check


def _text(max_len: int = 200) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str) or not value.strip() or len(value) > max_len:
            raise ValueError(f"must be a non-empty text of at most {max_len} characters")
        return value.strip()

    return check


def check_timezone(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a time zone name such as Europe/Kaliningrad")
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


def check_id(value: Any) -> str:
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise ValueError(
            f"{value!r} is not a valid id: use 2-32 lower-case Latin letters, digits, '-' or '_', "
            "starting with a letter"
        )
    return value


def check_color(value: Any) -> str:
    if not isinstance(value, str) or not COLOR_PATTERN.match(value):
        raise ValueError(f"{value!r} is not a colour: use #RRGGBB")
    return value.upper()


def _choice(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"{value!r} is not one of {', '.join(choices)}")
        return str(value)

    return check


def _optional_text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a text")
    return value.strip()


MAX_PROJECTS = 30
MAX_PROJECT_TEXT = 300
MAX_DESCRIPTION = 2000


def _description(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_DESCRIPTION:
        raise ValueError(f"must be a text of at most {MAX_DESCRIPTION} characters")
    return value.strip()


def _projects(value: Any) -> tuple[str, ...]:
    if (
        not isinstance(value, list | tuple)
        or len(value) > MAX_PROJECTS
        or not all(isinstance(item, str) and item.strip() for item in value)
        or any(len(item) > MAX_PROJECT_TEXT for item in value)
    ):
        raise ValueError(
            f"must be a list of at most {MAX_PROJECTS} non-empty texts of at most "
            f"{MAX_PROJECT_TEXT} characters"
        )
    return tuple(item.strip() for item in value)


def _text_map(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError('must be a table of "name" = "text" pairs')
    return dict(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, not {value!r}")
    return value


HUB_SCHEMA: dict[str, Option] = {
    "school": Option("Школа", "Name of the school, shown in the dashboard and feeds.", _text()),
    "timezone": Option(
        "Europe/Kaliningrad",
        "IANA time zone of the hub: floating times and all-day events are read in it.",
        check_timezone,
        "an IANA name such as Europe/Kaliningrad",
    ),
    "max_body_bytes": Option(
        10 * 1024 * 1024,
        "Largest request body the hub accepts; larger requests get 413.",
        _int_range(1024, 1024**3),
    ),
    "horizon_past_days": Option(
        366, "How far back recurring events are expanded for clash checks.", _int_range(1, 3660)
    ),
    "horizon_future_days": Option(
        731, "How far ahead recurring events are expanded.", _int_range(1, 3660)
    ),
    "max_occurrences_per_event": Option(
        1000, "Cap on occurrences per event, against runaway rules.", _int_range(1, 100_000)
    ),
    "login_cache_seconds": Option(
        900,
        "How long a verified password is remembered in memory (0 disables the cache).",
        _int_range(0, 86_400),
    ),
    "failed_login_delay": Option(
        1.0, "Minimum seconds a failed login takes.", _float_range(0.0, 60.0)
    ),
    "session_idle_minutes": Option(
        120,
        "Minutes without a request after which a web sign-in ends.",
        _int_range(5, 20_160),
    ),
    # Counts that drive the parsers' work on a request (see calhub.engine.rawscan): more
    # gets 403 naming the key.
    "max_components_per_object": Option(
        MAX_COMPONENTS,
        "Most components (events, alarms, time zones, any others, nested ones too) in one "
        "PUT body.",
        _int_range(10, 1_000_000),
    ),
    "max_components_per_calendar": Option(
        MAX_CALENDAR_COMPONENTS,
        "Most components in one PUT of a whole calendar (a restore); each object in it is "
        "still bounded by max_components_per_object.",
        _int_range(10, 1_000_000),
    ),
    "max_overrides_per_event": Option(
        MAX_OVERRIDES,
        "Most changed instances (RECURRENCE-ID) one event series may have.",
        _int_range(1, 100_000),
    ),
    "max_dates_per_event": Option(
        MAX_DATES,
        "Most RDATE values, and most EXDATE values, one event may list.",
        _int_range(1, 1_000_000),
    ),
    "watch_storage": Option(
        True,
        "Trust the kernel's change notices (Linux inotify) on the storage folder, so a poll of "
        "an unchanged calendar reads no file; false when another host writes the folder.",
        _flag,
        "true or false",
    ),
    "max_properties_per_request": Option(
        200,
        "Most properties one PROPFIND, REPORT, PROPPATCH, MKCALENDAR or MKCOL body may name.",
        _int_range(10, 100_000),
    ),
}

RECORDS_SCHEMA: dict[str, Option] = {
    "retention_days": Option(
        180,
        "Days a resolved clash record whose events are all deleted is kept before it is purged.",
        _int_range(1, 36_600),
    ),
}


def _addresses(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError('must be a list of IP addresses such as ["127.0.0.1", "::1"]')
    try:
        return tuple(str(ipaddress.ip_address(item.strip())) for item in value)
    except ValueError as exc:
        raise ValueError(f"{exc}; use IP addresses such as 127.0.0.1") from exc


# [server]: how the HTTP server (calhub/server/http.py) treats connections; read when
# ``calhub serve`` starts (a running server keeps the values it started with).
SERVER_SCHEMA: dict[str, Option] = {
    "threads": Option(
        8,
        "Worker threads that run requests; a request reaches one only when it has arrived whole.",
        _int_range(1, 64),
    ),
    "connection_limit": Option(
        500,
        "Most open connections at once; further clients wait until one closes.",
        _int_range(10, 10_000),
    ),
    "connections_per_address": Option(
        50,
        "Most open connections from one client address; more are answered 503 at once.",
        _int_range(1, 10_000),
    ),
    "proxy_addresses": Option(
        ("127.0.0.1", "::1"),
        "Addresses of the TLS proxy in front of the hub, exempt from connections_per_address.",
        _addresses,
        'a list of IP addresses, e.g. ["127.0.0.1", "::1"]; [] caps every address',
    ),
    "request_timeout": Option(
        60,
        "Seconds a client has to send a whole request (headers and body) from its first byte.",
        _int_range(1, 3600),
    ),
    "idle_timeout": Option(
        60, "Seconds an idle keep-alive connection stays open.", _int_range(1, 3600)
    ),
    "log_format": Option(
        "text",
        "How calhub serve writes its application and access logs: text lines, or json (one "
        "JSON object per line, for journald and log shippers); serve --log-format overrides it.",
        _choice(("text", "json")),
        "text or json",
    ),
}

# [audit]: the audit log (calhub.store.audit): who changed which event, who decided what.
AUDIT_SCHEMA: dict[str, Option] = {
    "keep_days": Option(
        730,
        "Days an audit log entry is kept; older ones are deleted at start, once a day by the "
        "server, and by calhub audit prune.",
        _int_range(1, 36_600),
    ),
}


# The hub's address as people reach it: the base of feed addresses ("https://host[/path]").
PUBLIC_URL_PATTERN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$")
# One source of a CSP frame-ancestors list: 'self', a scheme ("https:") or an origin
# ("https://school.example", "https://*.school.example:8443"). Nothing else gets into the
# header, so a value cannot add a directive of its own.
FRAME_SOURCE_PATTERN = re.compile(
    r"^('self'|https?:|https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?)$"
)
PUBLIC_URL_ALLOWED = 'empty, or an http(s) address such as "https://calendar.school.example"'
FRAME_ANCESTORS_ALLOWED = (
    "'none', or space-separated sources: 'self', https://school.example, https://*.school.example"
)


def check_public_url(value: Any) -> str:
    """The hub's public address without a trailing slash; "" when unknown."""
    if not isinstance(value, str):
        raise ValueError("must be a text")
    text = value.strip().rstrip("/")
    if text and (len(text) > 300 or not PUBLIC_URL_PATTERN.match(text)):
        raise ValueError(
            f"{value!r} is not an address people can open: use http:// or https://, a host "
            "and an optional path, no query"
        )
    return text


def check_frame_ancestors(value: Any) -> str:
    """A CSP ``frame-ancestors`` source list, one space between sources."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty text")
    sources = value.split()
    if sources == ["'none'"]:
        return "'none'"
    if "'none'" in sources:
        raise ValueError("'none' must stand alone")
    bad = [source for source in sources if not FRAME_SOURCE_PATTERN.match(source)]
    if bad or len(value) > 1000:
        wrong = bad[0] if bad else value[:40]
        raise ValueError(f"{wrong!r} is not a frame-ancestors source")
    return " ".join(sources)


# [public]: what people without an account reach (issue 13): the address the hub's feed
# links are made with, and the opt-in public page for the school's website.
PUBLIC_SCHEMA: dict[str, Option] = {
    "url": Option(
        "",
        "The hub's address as people reach it (e.g. https://calendar.school.example), the "
        "base of feed addresses; empty: unknown.",
        check_public_url,
        PUBLIC_URL_ALLOWED,
    ),
    "enabled": Option(
        False,
        "Whether /public/, the page of coming events per grade without a login, is served.",
        _flag,
        "true, false",
    ),
    "frame_ancestors": Option(
        "'none'",
        "Which sites may show the public page in an iframe (CSP frame-ancestors).",
        check_frame_ancestors,
        FRAME_ANCESTORS_ALLOWED,
    ),
    "weeks": Option(4, "Weeks of events the public page shows.", _int_range(1, 26)),
}


# [reports]: what the reports (calhub.reports) call late (issue 20).
REPORTS_SCHEMA: dict[str, Option] = {
    "late_change_days": Option(
        7,
        "An occurrence changed (or added) within this many days before it starts counts as "
        "changed late.",
        _int_range(0, 365),
    ),
    "publish_days_before": Option(
        14,
        "An occurrence is published on time when its event was on the hub at least this many "
        "days before it starts.",
        _int_range(0, 365),
    ),
}


# [sources]: how the hub fetches the external calendars it mirrors (calhub.sources).
SOURCES_SCHEMA: dict[str, Option] = {
    "max_bytes": Option(
        20 * 1024 * 1024,
        "Largest calendar a source may send (after gzip is undone); a larger one is refused.",
        _int_range(1024, 1024**3),
    ),
    "timeout_seconds": Option(
        30,
        "Seconds a source has to answer and to send its whole calendar.",
        _int_range(1, 600),
    ),
    "max_redirects": Option(
        5, "Most redirects followed to reach a source's calendar.", _int_range(0, 20)
    ),
}


@dataclass(frozen=True, slots=True)
class ReportSettings:
    """``[reports]``: see REPORTS_SCHEMA."""

    late_change_days: int = REPORTS_SCHEMA["late_change_days"].default
    publish_days_before: int = REPORTS_SCHEMA["publish_days_before"].default


@dataclass(frozen=True, slots=True)
class SourceSettings:
    """The ``[sources]`` table; every key has its default."""

    max_bytes: int = SOURCES_SCHEMA["max_bytes"].default
    timeout_seconds: int = SOURCES_SCHEMA["timeout_seconds"].default
    max_redirects: int = SOURCES_SCHEMA["max_redirects"].default


def _clock(value: Any) -> time:
    if not isinstance(value, str):
        raise ValueError('must be a time of day in quotes, such as "14:30"')
    return parse_clock(value)


def _grades(value: Any) -> frozenset[int]:
    if not isinstance(value, str):
        raise ValueError('must be grades in quotes, such as "5-11"; "" for none')
    return parse_grades(value)


def _weekdays(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise ValueError('must be a list of days such as ["mon", "tue", "wed", "thu", "fri"]')
    days = []
    for item in value:
        name = item.strip().lower()[:3]
        if name not in WEEKDAY_NAMES:
            raise ValueError(f"{item!r} is not a day: use {', '.join(WEEKDAY_NAMES)}")
        days.append(WEEKDAY_NAMES.index(name))
    return tuple(sorted(set(days)))


def _grade_clocks(value: Any) -> dict[int, time]:
    if not isinstance(value, Mapping):
        raise ValueError('must be a table of "grades" = "HH:MM" pairs, such as "1-4" = "12:40"')
    clocks: dict[int, time] = {}
    for grades, clock in value.items():
        start = _clock(clock)
        for grade in parse_grades(str(grades)):
            clocks[grade] = start
    return clocks


# [schedule]: the school's day, read by the slot finder (calhub/engine/schedule.py): lessons
# on weekdays, when each grade is free after them, Saturday for some grades. The defaults
# fit a Russian gymnasium (docs/configuration.md says why).
SCHEDULE_SCHEMA: dict[str, Option] = {
    "lesson_days": Option(
        ("mon", "tue", "wed", "thu", "fri"),
        "Days with lessons; on them an event for a grade starts after its last lesson.",
        _weekdays,
        'a list of mon, tue, wed, thu, fri, sat, sun, e.g. ["mon", "tue", "wed", "thu", "fri"]',
    ),
    "lessons_start": Option(
        "08:30", "When the first lesson begins (HH:MM, hub time).", _clock, "HH:MM"
    ),
    "lessons_end": Option(
        "14:30",
        "When the last lesson ends, for grades after_lessons does not list (HH:MM).",
        _clock,
        "HH:MM",
    ),
    "after_lessons": Option(
        {"1-4": "12:40", "10-11": "15:20"},
        "First free minute of a lesson day per grade or range of grades (HH:MM).",
        _grade_clocks,
        'a table such as { "1-4" = "12:40", "10-11" = "15:20" }',
    ),
    "saturday_grades": Option(
        "5-11",
        "Grades events may be put on for Saturday; other grades never on Saturday.",
        _grades,
        'grades such as "5-11"; "" for none',
    ),
    "saturday_start": Option(
        "10:00", "Earliest start of an event on Saturday (HH:MM).", _clock, "HH:MM"
    ),
    "latest_end": Option(
        "19:00", "Latest end of an event the slot finder offers (HH:MM).", _clock, "HH:MM"
    ),
    "step_minutes": Option(
        15, "Minutes between the candidate starts the slot finder tries.", _int_range(5, 240)
    ),
}


@dataclass(frozen=True, slots=True)
class ScheduleSettings:
    """The ``[schedule]`` table, checked; times are local times of the hub's time zone."""

    lesson_days: tuple[int, ...] = (0, 1, 2, 3, 4)
    lessons_start: time = time(8, 30)
    lessons_end: time = time(14, 30)
    after_lessons: Mapping[int, time] = field(
        default_factory=lambda: _grade_clocks(SCHEDULE_SCHEMA["after_lessons"].default)
    )
    saturday_grades: frozenset[int] = frozenset(range(5, 12))
    saturday_start: time = time(10, 0)
    latest_end: time = time(19, 0)
    step_minutes: int = 15


def _read_schedule(path: Path, raw: Any) -> ScheduleSettings:
    values = _read_table(path, "schedule", raw, SCHEDULE_SCHEMA)
    # Defaults are written as the file would hold them; check them like a value set.
    for key, option in SCHEDULE_SCHEMA.items():
        if not isinstance(raw, Mapping) or key not in raw:
            values[key] = option.check(option.default)
    if values["lessons_start"] >= values["lessons_end"]:
        raise ConfigError(
            str(path), "schedule.lessons_end", "must be later than schedule.lessons_start"
        )
    return ScheduleSettings(**values)


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """The ``[server]`` table; every key has its default."""

    threads: int = SERVER_SCHEMA["threads"].default
    connection_limit: int = SERVER_SCHEMA["connection_limit"].default
    connections_per_address: int = SERVER_SCHEMA["connections_per_address"].default
    proxy_addresses: tuple[str, ...] = SERVER_SCHEMA["proxy_addresses"].default
    request_timeout: int = SERVER_SCHEMA["request_timeout"].default
    idle_timeout: int = SERVER_SCHEMA["idle_timeout"].default
    log_format: str = SERVER_SCHEMA["log_format"].default


CALENDAR_SCHEMA: dict[str, Option] = {
    "id": Option(None, "Calendar id; a partner's id is also its login.", check_id),
    "name": Option(None, "Display name shown in calendar apps.", _text()),
    "color": Option("#3A87AD", "Calendar colour (#RRGGBB).", check_color, "#RRGGBB"),
    "role": Option("partner", "What the calendar is for.", _choice(ROLES), ", ".join(ROLES)),
    "audience": Option(
        "", "Default audience of its events, e.g. '10-11' (empty: whole school).", _optional_text
    ),
    "policy": Option(
        "record",
        "record: accept clashing writes and record the clash; reject: refuse new hard clashes.",
        _choice(POLICIES),
        ", ".join(POLICIES),
    ),
    "archived": Option(
        False, "Set by 'partner remove': kept, read-only, no clash checks.", _flag, "true, false"
    ),
    "description": Option(
        "",
        "What the partner is and does with the school, for the public projects page.",
        _description,
        f"a text of at most {MAX_DESCRIPTION} characters",
    ),
    "projects": Option(
        (),
        "The partner's joint projects with the school, one text each, for the public page.",
        _projects,
        f'a list of at most {MAX_PROJECTS} texts, e.g. ["Инженерный класс", "Школа химика"]',
    ),
}


# Keys every [rules.NAME] table has; each rule's own keys are declared by the rule itself
# (BaseRule.options in calhub/engine/rules), so the engine and this schema cannot disagree.
RULE_SCHEMA: dict[str, Option] = {
    "enabled": Option(True, "Whether the rule runs.", _flag, "true, false"),
    "severity": Option(
        None,
        "hard or soft; left out, the rule's own default.",
        _choice(SEVERITIES),
        ", ".join(SEVERITIES),
    ),
}


def _setting_option(setting: Setting) -> Option:
    return Option(setting.default, setting.help, setting.check, setting.allowed)


def rule_schema(rule: type[BaseRule]) -> dict[str, Option]:
    """Every key a ``[rules.NAME]`` table may hold for this rule."""
    return RULE_SCHEMA | {setting.name: _setting_option(setting) for setting in rule.options}


@dataclass(frozen=True, slots=True)
class CalendarSettings:
    id: str
    name: str
    color: str = "#3A87AD"
    role: str = "partner"
    audience: str = ""
    policy: str = "record"
    archived: bool = False
    description: str = ""
    projects: tuple[str, ...] = ()

    @property
    def owner(self) -> str:
        """The principal the calendar lives under (school calendars live under 'school')."""
        return "school" if self.role in ("school", "blackout") else self.id

    @property
    def slug(self) -> str:
        return {"school": "calendar", "blackout": "blackout"}.get(self.role, "calendar")

    @property
    def path(self) -> str:
        """Radicale path, without the /dav prefix: ``/bfu/calendar/``."""
        return f"/{self.owner}/{self.slug}/"


@dataclass(frozen=True, slots=True)
class RuleConfig:
    """One ``[rules.NAME]`` table, checked; ``params`` holds the rule's keys that were set
    (the rule fills in its defaults, so a default changed in code needs no config edit)."""

    enabled: bool = True
    severity: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything in calhub.toml, validated. Build with ``load_settings``."""

    path: Path
    school: str
    timezone: str
    max_body_bytes: int
    horizon_past_days: int
    horizon_future_days: int
    max_occurrences_per_event: int
    login_cache_seconds: int
    failed_login_delay: float
    session_idle_minutes: int
    calendars: tuple[CalendarSettings, ...]
    groups: Mapping[str, str] = field(default_factory=dict)
    records_retention_days: int = 180
    audit_keep_days: int = AUDIT_SCHEMA["keep_days"].default
    venue_aliases: Mapping[str, str] = field(default_factory=dict)
    rules: Mapping[str, RuleConfig] = field(default_factory=dict)
    max_components_per_object: int = MAX_COMPONENTS
    max_components_per_calendar: int = MAX_CALENDAR_COMPONENTS
    max_overrides_per_event: int = MAX_OVERRIDES
    max_dates_per_event: int = MAX_DATES
    max_properties_per_request: int = 200
    watch_storage: bool = True
    server: ServerSettings = field(default_factory=ServerSettings)
    public_url: str = PUBLIC_SCHEMA["url"].default
    public_enabled: bool = PUBLIC_SCHEMA["enabled"].default
    public_frame_ancestors: str = PUBLIC_SCHEMA["frame_ancestors"].default
    public_weeks: int = PUBLIC_SCHEMA["weeks"].default
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    sources: SourceSettings = field(default_factory=SourceSettings)
    feedback: FeedbackSettings = field(default_factory=FeedbackSettings)
    reports: ReportSettings = field(default_factory=ReportSettings)

    def calendar(self, calendar_id: str) -> CalendarSettings | None:
        return next((c for c in self.calendars if c.id == calendar_id), None)

    def calendar_by_path(self, path: str) -> CalendarSettings | None:
        """The calendar at a Radicale path such as ``/bfu/calendar/`` (slashes optional)."""
        wanted = "/" + path.strip("/") + "/"
        return next((c for c in self.calendars if c.path == wanted), None)

    @property
    def partners(self) -> tuple[CalendarSettings, ...]:
        return tuple(c for c in self.calendars if c.role == "partner")


def _check(path: Path, where: str, option: Option, value: Any) -> Any:
    try:
        return option.check(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(str(path), where, str(exc), option.allowed) from exc


def _read_table(path: Path, section: str, raw: Any, schema: Mapping[str, Option]) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ConfigError(str(path), section, "must be a table")
    unknown = sorted(set(raw) - set(schema))
    if unknown:
        raise ConfigError(
            str(path), f"{section}.{unknown[0]}", "is not a known key", ", ".join(sorted(schema))
        )
    values = {}
    for key, option in schema.items():
        if key in raw:
            values[key] = _check(path, f"{section}.{key}", option, raw[key])
        elif option.default is None and key in ("id", "name"):
            raise ConfigError(str(path), f"{section}.{key}", "is required")
        else:
            values[key] = option.default
    return values


def _read_rules(path: Path, raw: Any) -> dict[str, RuleConfig]:
    if not isinstance(raw, Mapping):
        raise ConfigError(str(path), "rules", "must be a table of rule tables")
    known = registry()
    rules = {}
    for name, table in raw.items():
        rule = known.get(name)
        if rule is None:
            raise ConfigError(str(path), f"rules.{name}", "is not a known rule", ", ".join(known))
        if not isinstance(table, Mapping):
            raise ConfigError(str(path), f"rules.{name}", "must be a table")
        schema = rule_schema(rule)
        unknown = sorted(set(table) - set(schema))
        if unknown:
            raise ConfigError(
                str(path), f"rules.{name}.{unknown[0]}", "is not a known key", ", ".join(schema)
            )
        values = {
            key: _check(path, f"rules.{name}.{key}", schema[key], table[key]) for key in table
        }
        rules[name] = RuleConfig(
            enabled=values.pop("enabled", True),
            severity=values.pop("severity", None),
            params=values,
        )
    return rules


def _check_audiences(
    path: Path, groups: Mapping[str, str], calendars: Sequence[CalendarSettings]
) -> None:
    """Groups and calendar audiences the engine can read: a group that does not parse would
    stop the engine from being built, and a default audience that does not parse would
    silently count as the whole school."""
    try:
        parser = AudienceParser(dict(groups))
    except ValueError as exc:
        raise ConfigError(str(path), "audience.groups", str(exc), AUDIENCE_ALLOWED) from exc
    for number, calendar in enumerate(calendars, start=1):
        if calendar.audience and parser.parse(calendar.audience) is None:
            raise ConfigError(
                str(path),
                f"calendars[{number}].audience",
                f"{calendar.audience!r} is not an audience",
                AUDIENCE_ALLOWED,
            )


def parse_settings(path: Path, document: Mapping[str, Any]) -> Settings:
    known = {
        "hub",
        "calendars",
        "audience",
        "venues",
        "rules",
        "records",
        "audit",
        "server",
        "public",
        "schedule",
        "notify",
        "sources",
        "feedback",
        "reports",
    }
    unknown = sorted(set(document) - known)
    if unknown:
        raise ConfigError(str(path), unknown[0], "is not a known section", ", ".join(sorted(known)))
    hub = _read_table(path, "hub", document.get("hub", {}), HUB_SCHEMA)
    records = _read_table(path, "records", document.get("records", {}), RECORDS_SCHEMA)
    audit = _read_table(path, "audit", document.get("audit", {}), AUDIT_SCHEMA)
    public = _read_table(path, "public", document.get("public", {}), PUBLIC_SCHEMA)
    raw_calendars = document.get("calendars", [])
    if not isinstance(raw_calendars, list):
        raise ConfigError(str(path), "calendars", "must be an array of tables ([[calendars]])")
    calendars = []
    seen: set[str] = set()
    for number, raw in enumerate(raw_calendars, start=1):
        values = _read_table(path, f"calendars[{number}]", raw, CALENDAR_SCHEMA)
        if values["id"] in seen:
            raise ConfigError(
                str(path), f"calendars[{number}].id", f"{values['id']!r} is used twice"
            )
        seen.add(values["id"])
        calendars.append(CalendarSettings(**values))
    for role in ("school", "blackout"):
        if sum(1 for c in calendars if c.role == role) > 1:
            raise ConfigError(str(path), "calendars", f"more than one calendar has role {role!r}")
    audience = document.get("audience", {})
    venues = document.get("venues", {})
    if not isinstance(audience, Mapping) or not isinstance(venues, Mapping):
        raise ConfigError(str(path), "audience/venues", "must be tables")
    groups = _check(path, "audience.groups", Option({}, "", _text_map), audience.get("groups", {}))
    _check_audiences(path, groups, calendars)
    return Settings(
        path=path,
        calendars=tuple(calendars),
        groups=groups,
        venue_aliases=_check(
            path, "venues.aliases", Option({}, "", _text_map), venues.get("aliases", {})
        ),
        rules=_read_rules(path, document.get("rules", {})),
        records_retention_days=records["retention_days"],
        audit_keep_days=audit["keep_days"],
        server=ServerSettings(
            **_read_table(path, "server", document.get("server", {}), SERVER_SCHEMA)
        ),
        public_url=public["url"],
        public_enabled=public["enabled"],
        public_frame_ancestors=public["frame_ancestors"],
        public_weeks=public["weeks"],
        schedule=_read_schedule(path, document.get("schedule", {})),
        notify=read_notify(path, document.get("notify", {})),
        sources=SourceSettings(
            **_read_table(path, "sources", document.get("sources", {}), SOURCES_SCHEMA)
        ),
        feedback=read_feedback(path, document.get("feedback", {})),
        reports=ReportSettings(
            **_read_table(path, "reports", document.get("reports", {}), REPORTS_SCHEMA)
        ),
        **hub,
    )


def load_settings(data_dir: Path) -> Settings:
    path = data_dir / CONFIG_NAME
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "-", f"is not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        # An editor saving in Windows-1251 is a bad edit like any other, not a crash.
        raise ConfigError(
            str(path), "-", f"is not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from exc
    return parse_settings(path, document)
