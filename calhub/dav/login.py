"""CalDAV credentials, checked once per request, before anything else reads the request.

A WSGI layer in front of the PUT pre-check and Radicale (``calhub.server.stack``): HTTP Basic
credentials go through the hub's sign-in limit (``calhub.runtime.signin``) once; a wrong password
is answered 401 here and one refused for too many failures 429 with ``Retry-After``, both
with a reason in Russian and English. A right one is remembered for the rest of the
request, so the pre-check and Radicale's authentication do not check it again. Requests
without credentials go on: Radicale asks for them (401) where they are needed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from calhub.dav.actor import acting
from calhub.dav.request import basic_credentials
from calhub.runtime.signin import sign_in, too_many_text, wsgi_client_address

if TYPE_CHECKING:
    from calhub.runtime import Runtime

logger = logging.getLogger(__name__)

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

CHALLENGE = 'Basic realm="calhub", charset="UTF-8"'
WRONG_TEXT = (
    "Неверный логин или пароль. Проверьте их в настройках календаря.\n"
    "Wrong login or password. Check them in the calendar app's account settings.\n"
)


class DavLogin:
    def __init__(self, app: WSGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        header = str(environ.get("HTTP_AUTHORIZATION", ""))
        if not header.lower().startswith("basic"):
            return self.app(environ, start_response)
        login, password = basic_credentials(environ)
        with self.runtime.hub.accounts.one_check_per_request():
            if not login:
                # Not base64, not UTF-8 or no login: nothing to check, and Radicale must
                # not check what it reads out of it unlimited.
                return self._answer(start_response, "401 Unauthorized", WRONG_TEXT, CHALLENGE)
            address = wsgi_client_address(environ)
            outcome = sign_in(self.runtime, login, password, address)
            if outcome.retry_after:
                return self._answer(
                    start_response,
                    "429 Too Many Requests",
                    too_many_text(outcome.retry_after),
                    retry_after=outcome.retry_after,
                )
            if outcome.account is None:
                return self._answer(start_response, "401 Unauthorized", WRONG_TEXT, CHALLENGE)
            # Everything below reads the request inside this block, so it sees the verdict,
            # and the write hooks see who writes (the audit log, calhub.dav.auditing).
            with acting(outcome.account.login, address, "caldav"):
                return list(self.app(environ, start_response))

    @staticmethod
    def _answer(
        start_response: StartResponse,
        status: str,
        text: str,
        challenge: str = "",
        retry_after: int = 0,
    ) -> list[bytes]:
        body = text.encode()
        headers = [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
        ]
        if challenge:
            headers.append(("WWW-Authenticate", challenge))
        if retry_after:
            headers.append(("Retry-After", str(retry_after)))
        start_response(status, headers)
        return [body]
