"""A file the dashboard made for the signed-in account, sent as a download."""

from __future__ import annotations

import io

from flask import Response, send_file


def private_attachment(body: bytes, mime: str, filename: str) -> Response:
    """``body`` as an attachment named ``filename``: one account's view, so never kept by a
    shared cache."""
    response = send_file(
        io.BytesIO(body), mimetype=mime, as_attachment=True, download_name=filename, max_age=0
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
