"""Hub accounts: logins, roles and bcrypt password hashes in ``accounts.json``.

The file is hub data (not cache): it is written atomically and re-read whenever it changes
on disk, so ``calhub partner add/passwd/remove`` take effect on a running server at once.

Verifying bcrypt costs about 0.3 s at cost 12, and calendar apps send the password with
every request. ``AccountStore.verify`` therefore remembers a successful check for a while,
keyed by an HMAC of the password under a per-process secret, and bound to the stored hash:
changing a password or removing the account invalidates the memory immediately.

A failed check takes ``failed_delay`` seconds from its start, never more: the delay is fixed
(Radicale's own "constant time" delay grows to the slowest failure it ever saw, and is
turned off in ``calhub.dav.plugins.auth``). Repeated failures are refused before any check by
``calhub.store.logins``, so only a few attempts per client ever sleep. Within
``one_check_per_request`` a login and password are checked once, whoever asks again (the
PUT pre-check and Radicale's authentication both do).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path

import bcrypt

from calhub.errors import AccountError, UserError
from calhub.hub.filewatch import ReloadingFile, write_atomically

logger = logging.getLogger(__name__)

ACCOUNTS_NAME = "accounts.json"
ROLES = ("coordinator", "partner")
BCRYPT_MAX_BYTES = 72
MIN_PASSWORD_LENGTH = 8
DEFAULT_ROUNDS = 12
LANGUAGES = ("ru", "en")
NOTIFY_MODES = ("immediate", "digest", "off")
# One address people type: local@domain.tld, no spaces, quotes, angle brackets or line
# breaks (it goes into a To: header), at most 254 characters (RFC 5321).
EMAIL_PATTERN = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


@dataclass(frozen=True, slots=True)
class Account:
    login: str
    role: str
    name: str
    password_hash: str
    # How the account hears about clashes (calhub.notify); an accounts.json from before
    # these existed reads as no address, Russian, immediate.
    email: str = ""
    language: str = "ru"
    notify: str = "immediate"

    @property
    def is_coordinator(self) -> bool:
        return self.role == "coordinator"


def check_email(value: str) -> str:
    """The address as it is kept (trimmed); "" clears it; UserError when it is not one."""
    text = value.strip()
    if not text:
        return ""
    if len(text) > 254 or not EMAIL_PATTERN.match(text) or ".." in text:
        raise UserError(
            f"{value!r} is not an e-mail address.",
            hint="Use one address such as zavuch@school.example (no name, no spaces); "
            "an empty one turns e-mail off.",
        )
    return text


def _check_choice(what: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise UserError(
            f"{what} {value!r} is not one of {', '.join(choices)}.",
            hint=f"Use one of: {', '.join(choices)}.",
        )
    return value


def generate_password() -> str:
    """A strong password that is still easy to type on a phone (no look-alike characters)."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    groups = ["".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4)]
    return "-".join(groups)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(
            f"The password is too short: use at least {MIN_PASSWORD_LENGTH} characters.",
            hint="Choose a longer password, or leave out --password-stdin to get a generated one.",
        )
    if len(password.encode()) > BCRYPT_MAX_BYTES:
        raise UserError(
            f"The password is too long: at most {BCRYPT_MAX_BYTES} bytes are used by bcrypt.",
            hint="Choose a shorter password.",
        )


def hash_password(password: str, rounds: int | None = None) -> str:
    check_password_strength(password)
    cost = rounds or int(os.environ.get("CALHUB_BCRYPT_ROUNDS", DEFAULT_ROUNDS))
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=cost)).decode()


def _entry(account: Account) -> dict[str, str]:
    entry = {"role": account.role, "name": account.name, "hash": account.password_hash}
    # Written only when set, so a hub that never used notices keeps its file as it was.
    if account.email:
        entry["email"] = account.email
    if account.language != "ru":
        entry["language"] = account.language
    if account.notify != "immediate":
        entry["notify"] = account.notify
    return entry


# The verdicts of the request being served (AccountStore.one_check_per_request): a context
# variable, so each request sees only its own. Keys hold an HMAC of the password, never it.
_verdicts: ContextVar[dict[tuple[str, bytes], Account | None] | None] = ContextVar(
    "calhub_login_verdicts", default=None
)


class AccountStore:
    """Reads and writes ``accounts.json``; safe to share between threads."""

    def __init__(
        self,
        path: Path,
        cache_seconds: float = 900.0,
        failed_delay: float = 1.0,
    ) -> None:
        self.path = path
        self.cache_seconds = cache_seconds
        self.failed_delay = failed_delay
        self._lock = threading.Lock()
        self._file: ReloadingFile[dict[str, Account]] = ReloadingFile(path, self._parse, dict)
        self._verified: dict[str, tuple[str, bytes, float]] = {}
        self._secret = secrets.token_bytes(32)

    @functools.cached_property
    def _dummy_hash(self) -> bytes:
        """A hash to verify unknown logins against, so both paths cost the same."""
        return bcrypt.hashpw(b"calhub-dummy", bcrypt.gensalt(rounds=DEFAULT_ROUNDS))

    # -- reading -----------------------------------------------------------------------

    def _load(self) -> dict[str, Account]:
        return self._file.get()

    def _parse(self, path: Path) -> dict[str, Account]:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            accounts = {
                login: Account(
                    login,
                    entry["role"],
                    entry.get("name", login),
                    entry["hash"],
                    email=str(entry.get("email", "")),
                    language=str(entry.get("language", "ru")),
                    notify=str(entry.get("notify", "immediate")),
                )
                for login, entry in document["accounts"].items()
            }
            for account in accounts.values():
                if account.language not in LANGUAGES or account.notify not in NOTIFY_MODES:
                    raise ValueError(f"account {account.login!r}: unknown language or notify")
        except (ValueError, KeyError, TypeError) as exc:
            raise UserError(
                f"{path} is damaged: {exc}",
                hint="Restore it from the backup, or reset passwords with 'calhub partner passwd'.",
            ) from exc
        logger.info("Loaded %d accounts from %s", len(accounts), path)
        return accounts

    def get(self, login: str) -> Account | None:
        return self._load().get(login)

    def __iter__(self) -> Iterator[Account]:
        return iter(sorted(self._load().values(), key=lambda a: (a.role, a.login)))

    # -- writing -----------------------------------------------------------------------

    def _write(self, accounts: dict[str, Account]) -> None:
        document = {
            "version": 1,
            "accounts": {a.login: _entry(a) for a in accounts.values()},
        }
        write_atomically(self.path, json.dumps(document, ensure_ascii=False, indent=2), 0o600)

    def add(self, login: str, role: str, name: str, password: str, email: str = "") -> Account:
        if role not in ROLES:
            raise AccountError(f"Unknown role {role!r}; use one of {', '.join(ROLES)}.")
        accounts = dict(self._load())
        if login in accounts:
            raise AccountError(
                f"An account {login!r} exists already.",
                hint=f"Use 'calhub partner passwd {login}' to change its password.",
            )
        account = Account(login, role, name, hash_password(password), email=check_email(email))
        accounts[login] = account
        self._write(accounts)
        return account

    def set_password(self, login: str, password: str) -> None:
        accounts = dict(self._load())
        old = accounts.get(login)
        if old is None:
            raise AccountError(f"There is no account {login!r}.", hint="See 'calhub partner list'.")
        accounts[login] = replace(old, password_hash=hash_password(password))
        self._write(accounts)

    def edit(
        self,
        login: str,
        *,
        email: str | None = None,
        language: str | None = None,
        notify: str | None = None,
    ) -> Account:
        """Change how an account hears about clashes; None leaves a value as it is."""
        accounts = dict(self._load())
        old = accounts.get(login)
        if old is None:
            raise AccountError(f"There is no account {login!r}.", hint="See 'calhub account list'.")
        account = replace(
            old,
            email=old.email if email is None else check_email(email),
            language=old.language
            if language is None
            else _check_choice("Language", language, LANGUAGES),
            notify=old.notify if notify is None else _check_choice("Notify", notify, NOTIFY_MODES),
        )
        accounts[login] = account
        self._write(accounts)
        return account

    def remove(self, login: str) -> None:
        accounts = dict(self._load())
        if accounts.pop(login, None) is None:
            raise AccountError(f"There is no account {login!r}.", hint="See 'calhub partner list'.")
        self._write(accounts)

    # -- verifying ---------------------------------------------------------------------

    def _digest(self, password: str) -> bytes:
        return hmac.new(self._secret, password.encode(), hashlib.sha256).digest()

    @contextlib.contextmanager
    def one_check_per_request(self) -> Iterator[None]:
        """Within this block (one request) ``verify`` remembers its verdicts."""
        token = _verdicts.set({})
        try:
            yield
        finally:
            _verdicts.reset(token)

    def decided(self, login: str, password: str) -> tuple[bool, Account | None]:
        """(True, verdict) if this request checked this login and password already."""
        verdicts = _verdicts.get()
        key = (login, self._digest(password))
        if verdicts is None or key not in verdicts:
            return False, None
        verdict: Account | None = verdicts[key]
        return True, verdict

    def cached(self, login: str, password: str) -> Account | None:
        """The account if this password was verified recently (no bcrypt), else None."""
        account = self.get(login)
        if account is None or not self._verified_recently(account, password):
            return None
        verdicts = _verdicts.get()
        if verdicts is not None:
            verdicts[(login, self._digest(password))] = account
        return account

    def verify(self, login: str, password: str) -> Account | None:
        """The account if the password is right, else None after ``failed_delay`` seconds."""
        verdicts = _verdicts.get()
        if verdicts is None:
            return self._verify(login, password)
        key = (login, self._digest(password))
        if key not in verdicts:
            verdicts[key] = self._verify(login, password)
        return verdicts[key]

    def _verify(self, login: str, password: str) -> Account | None:
        started = time.monotonic()
        account = self.get(login)
        if account is not None and self._verified_recently(account, password):
            return account
        ok = False
        if account is not None and len(password.encode()) <= BCRYPT_MAX_BYTES:
            try:
                ok = bcrypt.checkpw(password.encode(), account.password_hash.encode())
            except ValueError:
                logger.error("Stored password hash of %r is not a bcrypt hash", login)
        else:
            bcrypt.checkpw(password.encode()[:BCRYPT_MAX_BYTES], self._dummy_hash)
        if ok and account is not None:
            if self.cache_seconds > 0:
                with self._lock:
                    self._verified[login] = (
                        account.password_hash,
                        self._digest(password),
                        time.monotonic(),
                    )
            return account
        # Never log the password; the login is useful to spot guessing.
        logger.warning("Failed login for %r", login)
        # Fixed from this check's start: a slow check under load does not make later ones
        # slower (no ratchet), and a check slower than the delay does not sleep at all.
        remaining = self.failed_delay - (time.monotonic() - started)
        if remaining > 0:
            time.sleep(remaining)
        return None

    def _verified_recently(self, account: Account, password: str) -> bool:
        with self._lock:
            entry = self._verified.get(account.login)
        if entry is None:
            return False
        stored_hash, digest, when = entry
        return (
            stored_hash == account.password_hash
            and time.monotonic() - when < self.cache_seconds
            and hmac.compare_digest(digest, self._digest(password))
        )
