"""The plan as CSV for Excel on a Russian Windows: UTF-8 with a BOM, ``;`` between fields.

Excel opens a CSV in the system's code page unless the file starts with a UTF-8 BOM (then
Cyrillic reads right), and splits fields on the list separator of the system's locale,
which in Russian is ``;`` (the decimal comma takes ``,``). Dates are ``DD.MM.YYYY`` as
Russian Excel reads them. A value that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return gets a leading apostrophe (:func:`~calhub.exchange.export_rows.safe_text`),
so Excel and LibreOffice show it as text, never run it as a formula.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from calhub.exchange.export_rows import PLAN_HEADER, safe_text

if TYPE_CHECKING:
    from calhub.exchange.export_rows import Export

DELIMITER = ";"
HEADER = PLAN_HEADER


def write_csv(export: Export) -> bytes:
    """One row per occurrence, the same columns as the XLSX plan sheet."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=DELIMITER, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in export.rows:
        values = (
            f"{row.day:%d.%m.%Y}",
            row.weekday,
            row.time,
            row.partner,
            row.title,
            row.audience,
            row.venue,
            row.status,
        )
        writer.writerow([safe_text(value) for value in values])
    return out.getvalue().encode("utf-8-sig")
