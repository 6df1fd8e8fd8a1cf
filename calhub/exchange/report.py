"""An import's report as lines for people, in Russian and English."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from calhub.exchange.importing import ImportReport

__all__ = ["DELIMITER_NAMES", "report_lines"]

DELIMITER_NAMES = {";": "точка с запятой / semicolon", ",": "запятая / comma", "\t": "tab"}


def report_lines(report: ImportReport) -> Iterator[str]:
    sheet = report.sheet
    if sheet is not None:
        if sheet.kind == "csv":
            delimiter = DELIMITER_NAMES.get(sheet.delimiter, repr(sheet.delimiter))
            yield f"Файл / file: {report.file} (CSV, {sheet.encoding}, {delimiter})"
        else:
            yield f"Файл / file: {report.file} (XLSX, лист / sheet «{sheet.sheet_name}»)"
    rows = report.rows
    yield (
        f"Строк / rows: {rows.read}, без ошибок / ok: {report.ok_rows}, "
        f"с ошибками / with errors: {len({e.row for e in report.errors})}"
        + (f", пустых пропущено / empty skipped: {rows.empty}" if rows.empty else "")
    )
    if rows.columns:
        found = ", ".join(f"{header} → {name}" for name, header in rows.columns.items())
        yield f"Столбцы / columns (строка / row {rows.header_row}): {found}"
    for error in report.errors:
        column = f", {error.column}" if error.column else ""
        yield f"  строка / row {error.row}{column}: {error.reason}"
    if rows.unknown_partners:
        yield "Неизвестные партнёры / unknown partners:"
        for name, numbers in rows.unknown_partners.items():
            yield f"  «{name}»: строки / rows {', '.join(map(str, numbers))}"
    if report.clashes:
        yield f"Новые столкновения / new clashes: {len(report.clashes)}"
        for rule, clashes in groupby(report.clashes, key=lambda c: str(c["rule"])):
            group = list(clashes)
            yield f"  {rule} ({len(group)}):"
            for clash in group:
                rows_text = ", ".join(map(str, clash["rows"]))
                yield f"    [{clash['severity']}] строки / rows {rows_text}: {clash['message_ru']}"
                yield f"      {clash['message_en']}"
    if report.known_clashes:
        yield f"Уже известных столкновений / clashes already on record: {report.known_clashes}"
    yield (
        f"Новых / new: {report.new}, изменённых / changed: {report.changed}, "
        f"без изменений / unchanged: {report.unchanged}"
    )
    if report.gone:
        yield f"Нет больше в таблице / gone from the sheet: {len(report.gone)}"
        for gone in report.gone[:50]:
            yield f"  {gone['calendar']}: {gone['summary']} ({gone['start']})"
    if report.carried_out:
        yield (
            f"Импорт выполнен / imported: записано / written {report.written}, "
            f"удалено / removed {report.removed}"
        )
    elif report.dry_run and not report.refused:
        yield "Пробный запуск: ничего не записано, импорт пройдёт."
        yield "Dry run: nothing written; the import would be carried out."
    else:
        yield (
            "Импорт не выполнен, ничего не записано / the import was refused, nothing written"
            + (f": {report.refused}" if report.refused else "")
        )
        if report.errors:
            yield "Исправьте строки или запустите с --skip-bad. / Fix the rows or use --skip-bad."
