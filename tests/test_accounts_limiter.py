"""The sign-in limit (calhub.store.logins) and the account store's fixed failure delay, in-process
on a real hub.sqlite: growing backoff, what a right password forgives, what is forgotten and
when, the bound on rows, several processes sharing the counts, one check per request."""

from __future__ import annotations

import multiprocessing
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from helpers import PASSWORDS

from calhub.hub.accounts import AccountStore
from calhub.store.logins import ADDRESS_BUDGET, PAIR_BUDGET, Budget, LoginLimiter, address_key

T0 = 1_800_000_000.0


@pytest.fixture
def limiter(tmp_path: Path) -> LoginLimiter:
    return LoginLimiter(tmp_path / "hub.sqlite")


def fail_times(limiter: LoginLimiter, times: int, login: str, address: str, now: float) -> None:
    for _ in range(times):
        assert limiter.begin(login, address, now=now) == 0


def test_the_wait_grows_with_every_failure_past_the_free_ones(limiter: LoginLimiter) -> None:
    fail_times(limiter, PAIR_BUDGET.free, "bfu", "10.0.0.1", T0)
    waits = []
    now = T0
    for _ in range(4):
        wait = limiter.begin("bfu", "10.0.0.1", now=now)
        assert wait > 0
        waits.append(wait)
        now += wait  # the next attempt comes when allowed, and fails again
        assert limiter.begin("bfu", "10.0.0.1", now=now) == 0
    assert waits == [30, 60, 120, 240]
    assert PAIR_BUDGET.backoff(10_000) == PAIR_BUDGET.cap


def test_other_addresses_and_logins_are_not_refused(limiter: LoginLimiter) -> None:
    fail_times(limiter, PAIR_BUDGET.free, "coordinator", "10.0.0.1", T0)
    assert limiter.begin("coordinator", "10.0.0.1", now=T0) > 0
    assert limiter.check("coordinator", "10.0.0.2", now=T0) == (0, False)
    assert limiter.check("bfu", "10.0.0.1", now=T0)[0] == 0


def test_a_right_password_clears_its_pair_and_its_share_of_the_address(
    limiter: LoginLimiter,
) -> None:
    fail_times(limiter, 3, "guess", "10.0.0.1", T0)
    fail_times(limiter, 4, "bfu", "10.0.0.1", T0)
    limiter.succeeded("bfu", "10.0.0.1")
    assert limiter.check("bfu", "10.0.0.1", now=T0) == (0, False)
    failures = limiter.db.execute(
        "SELECT failures FROM login_failures WHERE login = '*' AND address = '10.0.0.1'"
    ).fetchone()
    assert failures == (3,), "only the guesses of another login stay counted"


def test_counts_are_forgotten_a_day_after_the_last_failure(limiter: LoginLimiter) -> None:
    fail_times(limiter, PAIR_BUDGET.free, "bfu", "10.0.0.1", T0)
    later = T0 + limiter.forget_after + 1
    assert limiter.begin("bfu", "10.0.0.1", now=later) == 0
    row = limiter.db.execute(
        "SELECT failures FROM login_failures WHERE login = 'bfu' AND address = '10.0.0.1'"
    ).fetchone()
    assert row == (1,)


def test_rows_are_bounded_and_old_ones_cleaned_up(tmp_path: Path) -> None:
    limiter = LoginLimiter(tmp_path / "hub.sqlite", max_rows=50)
    for number in range(100):
        limiter.begin(f"guess-{number}", f"10.9.{number}.1", now=T0 + number)
        limiter._cleaned = 0.0  # as if a minute had passed
    assert limiter.rows() <= 50 + 2
    limiter.begin("bfu", "10.0.0.1", now=T0 + 3 * limiter.forget_after)
    assert limiter.rows() == 2


def test_ipv6_clients_are_counted_per_64_network() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9")
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:10.0.0.1") == "10.0.0.1"
    assert address_key("10.0.0.1") == "10.0.0.1"


def _fail_in_another_process(path: str, times: int) -> None:
    limiter = LoginLimiter(Path(path))
    for _ in range(times):
        limiter.begin("bfu", "10.0.0.7")


def test_processes_share_the_counts_and_a_restart_keeps_them(tmp_path: Path) -> None:
    path = tmp_path / "hub.sqlite"
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_fail_in_another_process, args=(str(path), 2)) for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    restarted = LoginLimiter(path)
    assert restarted.check("bfu", "10.0.0.7")[0] > 0, "six failures from three processes"


def test_a_small_budget_is_honoured(tmp_path: Path) -> None:
    limiter = LoginLimiter(
        tmp_path / "hub.sqlite", pair=Budget(2, 5.0, 20.0), address=ADDRESS_BUDGET
    )
    fail_times(limiter, 2, "bfu", "10.0.0.1", T0)
    assert limiter.begin("bfu", "10.0.0.1", now=T0 + 1) == 4
    assert limiter.begin("bfu", "10.0.0.1", now=T0 + 5) == 0


# -- the account store -------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path, hub_template: Path) -> AccountStore:
    shutil.copy(hub_template / "accounts.json", tmp_path / "accounts.json")
    return AccountStore(tmp_path / "accounts.json", cache_seconds=0, failed_delay=0.3)


def timed(store: AccountStore, login: str, password: str) -> float:
    started = time.monotonic()
    store.verify(login, password)
    return time.monotonic() - started


def test_a_failed_check_takes_the_fixed_delay_however_slow_earlier_ones_were(
    store: AccountStore,
) -> None:
    assert 0.3 <= timed(store, "bfu", "wrong-password") < 0.5
    store.failed_delay = 0.05
    assert timed(store, "bfu", "wrong-password") < 0.2


def test_one_check_per_request(store: AccountStore) -> None:
    with store.one_check_per_request():
        first = timed(store, "bfu", "wrong-password")
        again = timed(store, "bfu", "wrong-password")
        assert store.verify("bfu", PASSWORDS["bfu"]) is not None
        assert store.decided("bfu", PASSWORDS["bfu"])[0]
    assert first >= 0.3 and again < 0.05, "the second check in a request neither hashes nor waits"
    assert not store.decided("bfu", PASSWORDS["bfu"])[0], "forgotten after the request"
    assert timed(store, "bfu", "wrong-password") >= 0.3


def test_the_limiter_tables_live_in_hub_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "hub.sqlite"
    LoginLimiter(path).begin("bfu", "10.0.0.1")
    with sqlite3.connect(path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert "login_failures" in tables


# -- Radicale's authentication plugin ----------------------------------------------------


def test_the_radicale_plugin_does_not_ratchet_its_failure_delay(
    tmp_path: Path, hub_template: Path
) -> None:
    from radicale.auth import AuthContext

    from calhub.dav.app import radicale_configuration
    from calhub.dav.maintenance import open_runtime
    from calhub.dav.plugins.auth import Auth
    from calhub.hub import Hub

    shutil.copytree(hub_template, tmp_path / "hub")
    hub = Hub(tmp_path / "hub")
    runtime = open_runtime(hub)
    plugin = Auth(radicale_configuration(runtime), runtime=runtime)
    hub.accounts.failed_delay = 0.6  # one slow failure, as under load
    context = AuthContext()
    context.remote_addr = "10.0.0.1"
    assert plugin.login("bfu", "wrong-password", context)[0] == ""
    hub.accounts.failed_delay = 0.0
    context.remote_addr = "10.0.0.2"
    started = time.monotonic()
    assert plugin.login("bfu", "wrong-password", context)[0] == ""
    assert time.monotonic() - started < 0.3, "the next failure waited for the slow one"
    assert plugin.login("bfu", PASSWORDS["bfu"], context)[0] == "bfu"
    runtime.close()
