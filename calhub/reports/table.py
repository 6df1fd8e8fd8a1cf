"""The report as tables of cells: what the XLSX and the PDF write (Russian headings, as the
plan's exports), so both show the same columns in the same order."""

from __future__ import annotations

from calhub.reports.model import GradeRow, PartnerRow, Report

__all__ = [
    "GRADE_HEADER",
    "NO_FEEDBACK_RU",
    "PARTNER_HEADER",
    "grade_cells",
    "partner_cells",
    "school_lines",
]

Cell = str | int | float | None

NO_FEEDBACK_RU = "нет отзывов"

PARTNER_HEADER = (
    "Партнёр",
    "Мероприятий",
    "Проведено",
    "Отменено",
    "Часов",
    "Классы (охват)",
    "Параллелей",
    "Конфликтов",
    "Открыто",
    "Согласовано",
    "Снято",
    "Перенесено по просьбе",
    "Решено до события",
    "Часов до решения (медиана)",
    "Изменено поздно",
    "Опубликовано вовремя",
    "Отзывов",
    "Средняя оценка",
    "Лояльность",
)

GRADE_HEADER = (
    "Параллель",
    "Мероприятий",
    "Проведено",
    "Отменено",
    "Часов",
    "Партнёров",
    "Отдельные классы",
    "Конфликтов",
    "Открыто",
    "Отзывов",
    "Средняя оценка",
    "Лояльность",
)


def partner_cells(row: PartnerRow) -> list[Cell]:
    clashes = row.clashes
    return [
        row.name,
        row.events,
        row.held,
        row.cancelled,
        row.hours,
        row.audience,
        len(row.grades),
        clashes.found,
        clashes.open,
        clashes.approved,
        clashes.resolved,
        clashes.moved_on_request,
        clashes.settled_before,
        clashes.settle_hours_median,
        row.changed_late,
        row.published_on_time,
        row.ratings.count,
        row.ratings.average,
        row.ratings.loyalty,
    ]


def grade_cells(row: GradeRow) -> list[Cell]:
    return [
        f"{row.grade} классы",
        row.events,
        row.held,
        row.cancelled,
        row.hours,
        len(row.partners),
        ", ".join(row.classes),
        row.clashes,
        row.open_clashes,
        row.ratings.count,
        row.ratings.average,
        row.ratings.loyalty,
    ]


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:g} %"


def school_lines(report: Report) -> list[tuple[str, str]]:
    """The school-wide figures as (what, value) pairs, in Russian."""
    school = report.school_figures
    clashes = school.clashes
    ratings = school.ratings
    settle = "—" if clashes.settle_hours_median is None else f"{clashes.settle_hours_median:g} ч"
    lines = [
        ("Мероприятий (проведено и запланировано)", f"{school.events} (проведено {school.held})"),
        ("Отменено", str(school.cancelled)),
        ("Часов", f"{school.hours:g}"),
        ("Партнёров с мероприятиями", str(school.partners_active)),
        ("Параллелей охвачено", str(school.grades_reached)),
        (
            "Конфликтов найдено / открыто / согласовано / снято",
            f"{clashes.found} / {clashes.open} / {clashes.approved} / {clashes.resolved}",
        ),
        (
            "Конфликтов решено до события",
            f"{clashes.settled_before} ({_percent(school.settled_before_share)})",
        ),
        ("Время до решения конфликта (медиана)", settle),
        (
            f"Опубликовано вовремя (за {report.publish_days_before} дн. и раньше)",
            f"{school.published_on_time} ({_percent(school.published_on_time_share)})",
        ),
        (
            f"Изменено поздно (менее чем за {report.late_change_days} дн.)",
            f"{school.changed_late} ({_percent(school.changed_late_share)})",
        ),
    ]
    if ratings.count:
        loyalty = "—" if ratings.loyalty is None else f"{ratings.loyalty:+g}"
        lines.append(("Отзывов / средняя оценка", f"{ratings.count} / {ratings.average:g}"))
        lines.append(("Лояльность (NPS: % «да» − % «нет»)", loyalty))
    else:
        lines.append(("Отзывы", NO_FEEDBACK_RU))
    return lines
