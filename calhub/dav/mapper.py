"""The WSGI layer around Radicale that checks PUT bodies first and answers refusals.

It reads a body once (after the login is known), checks XML bodies and how many
properties they name, runs the PUT pre-check (:mod:`calhub.dav.precheck`), watches for a
refusal raised by the storage hooks while Radicale serves the request
(:func:`calhub.dav.refusal.watching`) and replaces Radicale's answer with it.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from radicale import httputils

from calhub.dav.known import needs_texts, reading_files_if
from calhub.dav.plugins.rights import one_request as rights_for_one_request
from calhub.dav.props import refuse_many_properties
from calhub.dav.refusal import WriteRefused, diagnose_unreadable, watching
from calhub.dav.request import basic_credentials
from calhub.dav.settling import SettleFailed, settling
from calhub.dav.xmlcheck import XML_METHODS, BadXml, check_xml_body

logger = logging.getLogger(__name__)

StartResponse = Callable[..., Any]

BODY_METHODS = frozenset({"PUT", "POST", *XML_METHODS})
SKIP_PIECE = 64 * 1024


def skip_body(stream: Any, length: int) -> None:
    """Read and drop what is left of a body Radicale did not read, a piece at a time:
    the WSGI server would otherwise read all of it into memory at once to keep the
    connection alive."""
    left = length
    while left > 0:
        piece = stream.read(min(SKIP_PIECE, left))
        if not piece:
            return
        left -= len(piece)


@dataclass(frozen=True)
class Attempt:
    """A write as the WSGI layer saw it, for the callbacks of ``RefusalMapper``."""

    method: str
    path: str  # Radicale's path (below /dav), UTF-8 text
    login: str
    password: str = field(repr=False)
    body: bytes = field(repr=False)


class RefusalMapper:
    """Wraps Radicale: checks PUT bodies first, keeps request state for the storage hooks
    and maps refusals onto the response.

    ``on_refused(attempt, refusal)`` is called after a refusal is answered, and
    ``on_written(attempt)`` after a PUT got in (2xx); what they raise is logged and the
    answer stays as it is (``calhub.dav.capture`` keeps refused writes with them).
    """

    def __init__(
        self,
        app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]],
        precheck: Callable[[str, bytes, str, str], None],
        on_refused: Callable[[Attempt, WriteRefused], None] | None = None,
        on_written: Callable[[Attempt], None] | None = None,
        max_properties: Callable[[], int] | None = None,
        before_delete: Callable[[str, str], None] | None = None,
    ) -> None:
        self.app = app
        self.precheck = precheck
        # A DELETE refused before Radicale sees it (a mirrored event, calhub.dav.mirror):
        # refused inside Radicale it would be logged as a crash with its traceback.
        self.before_delete = before_delete
        self.on_refused = on_refused
        self.on_written = on_written
        self.max_properties = max_properties

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "")
        body = b""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        # Authenticate first, then read: a request without credentials goes to Radicale
        # unread (it answers 401 without reading) and its body is skipped afterwards in
        # small pieces (calhub.dav.login has answered wrong credentials before this).
        anonymous = not basic_credentials(environ)[0]
        if method in BODY_METHODS and length > 0 and not anonymous:
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
        if method in XML_METHODS and body:
            try:
                check_xml_body(body)
            except BadXml as bad:
                logger.info("Refused XML body of %s: %s", method, bad)
                return self._bad_request(start_response, bad.text)
        if self.max_properties is not None:
            # Radicale's work grows with the properties named (calhub.dav.props).
            many = refuse_many_properties(method, body, self.max_properties(), start_response)
            if many is not None:
                return many
        if method == "PUT" and body:
            login, password = basic_credentials(environ)
            try:
                self.precheck(environ.get("PATH_INFO", ""), body, login, password)
            except WriteRefused as refusal:
                return self._refused(environ, body, start_response, refusal)
        if method == "DELETE" and self.before_delete is not None and not anonymous:
            try:
                self.before_delete(environ.get("PATH_INFO", ""), basic_credentials(environ)[0])
            except WriteRefused as refusal:
                return self._refused(environ, body, start_response, refusal)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        texts = needs_texts(method, body)
        # Outermost: the writes' clash records follow once Radicale has released its
        # storage lock, before the answer goes (calhub.dav.settling).
        try:
            with (
                settling(),
                watching() as slot,
                reading_files_if(texts),
                rights_for_one_request(),
            ):
                chunks = list(self.app(environ, capture))
        except SettleFailed:
            # Radicale's own answer when a hook fails in its lock.
            code, kinds, text = httputils.INTERNAL_SERVER_ERROR[:3]
            answer = str(text).encode()
            start_response(
                f"{int(code)} {HTTPStatus(code).phrase}",
                [*kinds, ("Content-Length", str(len(answer)))],
            )
            return [answer]
        if anonymous and length > 0:
            skip_body(environ["wsgi.input"], length)
        status: str = captured["status"]
        headers: list[tuple[str, str]] = captured["headers"]
        # Radicale answers a refusal raised in a DELETE (a mirrored event) with a 500.
        if slot.refusal is not None and status.startswith(("400", "403", "409", "500")):
            return self._refused(environ, body, start_response, slot.refusal)
        if status.startswith("400") and method == "PUT":
            reason = diagnose_unreadable(body)
            return self._refused(environ, body, start_response, WriteRefused.unreadable(reason))
        start_response(status, headers)
        if method == "PUT" and status.startswith("2") and self.on_written is not None:
            self._call(self.on_written, self._attempt(environ, body))
        return chunks

    @staticmethod
    def _attempt(environ: dict[str, Any], body: bytes) -> Attempt:
        login, password = basic_credentials(environ)
        return Attempt(
            environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""), login, password, body
        )

    def _refused(
        self,
        environ: dict[str, Any],
        body: bytes,
        start_response: StartResponse,
        refusal: WriteRefused,
    ) -> list[bytes]:
        answer = self._refuse(start_response, refusal)
        if self.on_refused is not None:
            self._call(self.on_refused, self._attempt(environ, body), refusal)
        return answer

    @staticmethod
    def _call(callback: Callable[..., None], *args: Any) -> None:
        try:
            callback(*args)
        except Exception:
            # The answer is given already; a failed bookkeeping step must not change it.
            logger.exception("A refusal callback failed; the answer stands")

    @staticmethod
    def _bad_request(start_response: StartResponse, text: str) -> list[bytes]:
        payload = text.encode()
        start_response(
            "400 Bad Request",
            [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    @staticmethod
    def _refuse(start_response: StartResponse, refusal: WriteRefused) -> list[bytes]:
        if refusal.xml is not None:
            payload, content_type = refusal.xml, "application/xml; charset=utf-8"
        else:
            payload, content_type = refusal.text.encode(), "text/plain; charset=utf-8"
        phrase = {400: "Bad Request", 403: "Forbidden", 409: "Conflict"}[refusal.status]
        start_response(
            f"{refusal.status} {phrase}",
            [("Content-Type", content_type), ("Content-Length", str(len(payload)))],
        )
        logger.info("Refused write: %s", refusal.text.splitlines()[0])
        return [payload]
