"""The contract every registered vendor's connector keeps with its loopback simulator, one
suite parametrised over :data:`bot.vendors.VENDORS` (a newly registered vendor is run through
it without a line here): authentication and renewal, paging, retries on 5xx, rate limits with
``Retry-After``, unreadable answers and timeouts, the pause → resume round trip and reading
the state back.

Real HTTP on 127.0.0.1; nothing of ours is mocked. The connector is built the way maintbot
builds it (``bot.connectors.build_connector`` from the simulator's ``config_entry`` and
``credentials``), and broken the way every simulator can be broken (``Faults``,
``expire_tokens``). What a vendor needs beyond that is data in tests/vendor_contract_cases.py.

Tests that leave the simulator as they found it share one server per vendor per module
(faults are cleared around each); tests that pause tasks or move the clock get their own.
Vendor-specific wire shapes (paths, bodies, headers) stay in the per-vendor modules.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from conftest import REFERENCE_NOW
from vendor_contract_cases import case_for

from bot.check import check_window, open_schedulers
from bot.clock import ManualClock
from bot.connectors import build_connector
from bot.connectors.base import Connector, RetryPolicy, VendorHttp, deadline
from bot.errors import AuthError, ConnectorError
from bot.model import ConflictKind, Task, TaskRef, Window
from bot.sandbox import sandbox_config
from bot.sandbox.base import SandboxServer, Simulator
from bot.vendors import VENDORS

NAMES = list(VENDORS)
FOREVER = 10**6
# Never in a message shown to a user.
LEAKS = ("Traceback", 'File "', "pydantic", "ValidationError", "JSONDecodeError", "<html")


@dataclass
class Live:
    """One vendor's simulator on loopback, with the clock it runs on."""

    name: str
    sim: Simulator
    clock: ManualClock

    def connect(
        self,
        *,
        credentials: dict[str, str] | None = None,
        entry: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> Connector:
        """A connector to the simulator, built as maintbot builds it, with quick retries;
        ``entry`` stands in for the simulator's own table (``config_entry()``)."""
        vendor = VENDORS[self.name]
        table = self.sim.config_entry() if entry is None else entry
        config = vendor.config_class().model_validate({**table, **overrides})
        if credentials is None:
            env = self.sim.credentials()
            credentials = {role: env[var] for role, var in config.credential_envs().items()}
        connector = build_connector(self.name, config, credentials, clock=self.clock)
        for http in clients(connector):  # the policy's logic is VendorHttp's; only faster
            http.retry = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02)
        return connector

    def secrets(self) -> list[str]:
        return [
            v
            for k, v in self.sim.credentials().items()
            if any(w in k for w in ("SECRET", "PASSWORD", "TOKEN"))
        ]

    async def state(self) -> dict[str, dict[str, Any]]:
        """``GET /_sandbox/state`` by id: the vendor's side of what the connector reports."""
        async with httpx.AsyncClient(base_url=self.sim.base_url) as client:
            response = await client.get("/_sandbox/state")
        assert response.status_code == 200
        return {t["id"]: t for t in response.json()["tasks"]}

    def sent(self, since: int) -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
        """The requests the simulator received after the first ``since`` ones."""
        return [
            (r.method, r.path, tuple(sorted(r.query.items()))) for r in self.sim.requests[since:]
        ]


def clients(connector: Connector) -> list[VendorHttp]:
    """Every HTTP client of ``connector`` (one, or a vendor's shards)."""
    found: dict[int, VendorHttp] = {id(connector.http): connector.http}
    for value in vars(connector).values():
        for item in value if isinstance(value, list | tuple) else (value,):
            if isinstance(item, VendorHttp):
                found[id(item)] = item
    return list(found.values())


def start(name: str, *, scale: int = 1) -> tuple[Live, SandboxServer]:
    clock = ManualClock(REFERENCE_NOW)
    sim = VENDORS[name].simulator_class()(clock=clock, scale=scale)
    server = SandboxServer([sim])
    server.start()
    return Live(name, sim, clock), server


@pytest.fixture(scope="module", params=NAMES)
def shared_live(request: pytest.FixtureRequest) -> Iterator[Live]:
    live, server = start(request.param)
    yield live
    server.stop()


@pytest.fixture
def shared(shared_live: Live) -> Iterator[Live]:
    """The module's simulator, for tests that change nothing in it but its faults."""
    shared_live.sim.faults.clear()
    yield shared_live
    shared_live.sim.faults.clear()


@pytest.fixture(params=NAMES)
def own(request: pytest.FixtureRequest) -> Iterator[Live]:
    """A simulator of the test's own, for tests that pause tasks or move the clock."""
    live, server = start(request.param)
    yield live
    server.stop()


@pytest.fixture
async def conn(shared: Live) -> AsyncIterator[Connector]:
    connector = shared.connect()
    yield connector
    await connector.aclose()


def summary(tasks: list[Task]) -> list[tuple[str, str, bool]]:
    return sorted((t.ref.key, t.name, t.paused) for t in tasks)


async def sample(connector: Connector) -> TaskRef:
    """A task the connector lists (the first by key)."""
    tasks = await connector.list_tasks()
    assert tasks
    return min((t.ref for t in tasks), key=lambda r: r.key)


def assert_clear(live: Live, err: ConnectorError, *words: str) -> None:
    """An error for that system that a person can act on, without secrets or internals."""
    message = str(err)
    assert err.system == live.name
    assert message.startswith(f"{live.name}: ")
    for leak in (*LEAKS, *live.secrets()):
        assert leak not in message, leak
    if words:
        assert any(w in message for w in words), message


# -- authentication ----------------------------------------------------------------------------


async def test_an_expired_token_costs_one_login_then_the_call_succeeds(shared: Live) -> None:
    async with shared.connect(entry=case_for(shared.name).token_entry(shared.sim)) as conn:
        ref = await sample(conn)
        first = await conn.read_state(ref)
        mark = len(shared.sim.requests)
        assert await conn.read_state(ref) == first
        warm = len(shared.sim.requests) - mark  # a call with a good token
        shared.sim.expire_tokens()  # revoked, or run out early
        mark = len(shared.sim.requests)
        assert await conn.read_state(ref) == first
    assert len(shared.sim.live_tokens()) == 1  # one fresh login
    # A refused request is retried once, after the login, and nothing else is repeated.
    assert warm + 2 <= len(shared.sim.requests) - mark <= 2 * warm + 1


async def test_a_token_is_renewed_before_the_vendor_expires_it(own: Live) -> None:
    async with own.connect(entry=case_for(own.name).token_entry(own.sim)) as conn:
        ref = await sample(conn)
        mark = len(own.sim.requests)
        first = await conn.read_state(ref)
        warm = len(own.sim.requests) - mark
        (expires,) = own.sim.live_tokens()
        own.clock.set(expires)  # the simulator now refuses the token the connector holds
        assert own.sim.live_tokens() == []
        mark = len(own.sim.requests)
        assert (await conn.read_state(ref)).paused == first.paused
    # A login first and then the call: no request was refused for an expired token.
    assert len(own.sim.live_tokens()) == 1
    assert len(own.sim.requests) - mark == warm + 1


async def test_wrong_credentials_are_an_auth_error_without_the_secret(shared: Live) -> None:
    good = sandbox_config([shared.sim]).credentials(shared.name)
    wrong = {
        role: f"not-the-{role}-{value[:3]}"
        if any(w in role for w in ("secret", "password", "token"))
        else value
        for role, value in good.items()
    }
    assert wrong != good
    async with shared.connect(credentials=wrong) as bad:
        with pytest.raises(AuthError) as caught:
            await bad.list_tasks()
    assert caught.value.status == 401
    assert not caught.value.retryable
    assert_clear(shared, caught.value, "credentials")
    for value in wrong.values():
        if value not in good.values():
            assert value not in str(caught.value)


# -- paging and reading back -------------------------------------------------------------------


async def test_a_listing_of_several_pages_returns_every_task_once() -> None:
    for name in NAMES:
        case = case_for(name)
        live, server = start(name, scale=case.paging_scale)
        try:
            async with live.connect() as conn:
                tasks = await conn.list_tasks()
            state = await live.state()
        finally:
            server.stop()
        ids = [t.id for t in tasks]
        assert len(ids) == len(set(ids)), name
        visible = {i for i, t in state.items() if case.visible(live.sim, t)}
        assert set(ids) == visible, name
        if case.paged_path is not None:
            pages = [
                r for r in live.sim.requests if case.paged_path in r.path and "offset" in r.query
            ]
            assert len({tuple(sorted(r.query.items())) for r in pages}) > 1, name


async def test_what_the_connector_lists_is_what_the_simulator_holds(
    shared: Live, conn: Connector
) -> None:
    listed = await conn.list_tasks()
    state = await shared.state()
    assert listed
    for task in listed:
        assert task.system == shared.name
        assert task.kind.value in VENDORS[shared.name].task_kinds
        assert task.paused is state[task.id]["paused"], task.name
    # Both states are in the sample data, so the reading is tested both ways.
    assert {t.paused for t in listed} == {True, False}
    described = await conn.describe([t.ref for t in listed])
    assert summary(described) == summary(listed)
    ref = await sample(conn)
    (task,) = [t for t in listed if t.ref == ref]
    assert summary([await conn.read_state(ref)]) == summary([task])


# -- retries and rate limits -------------------------------------------------------------------


async def test_transient_5xx_is_retried_to_the_same_answer(shared: Live, conn: Connector) -> None:
    before = summary(await conn.list_tasks())  # logged in: the faults meet the data requests
    injected = shared.sim.faults.injected
    shared.sim.faults.fail(503, times=2)
    assert summary(await conn.list_tasks()) == before
    assert shared.sim.faults.injected - injected == 2


async def test_persistent_5xx_is_a_retryable_error_after_the_allowed_attempts(
    shared: Live, conn: Connector
) -> None:
    ref = await sample(conn)
    injected = shared.sim.faults.injected
    shared.sim.faults.fail(503, times=FOREVER)
    mark = len(shared.sim.requests)
    with pytest.raises(ConnectorError) as caught:
        await conn.read_state(ref)
    assert caught.value.retryable
    assert caught.value.status == 503
    assert_clear(shared, caught.value, "server error 503")
    sent = shared.sim.faults.injected - injected
    assert len(shared.sim.requests) - mark == sent
    attempts = conn.http.retry.attempts
    assert attempts <= sent <= attempts * 2  # retried, and then given up (per request sent)


async def test_429_is_retried_after_retry_after(shared: Live, conn: Connector) -> None:
    before = summary(await conn.list_tasks())
    injected = shared.sim.faults.injected
    shared.sim.faults.rate_limit(times=2, retry_after=0.05)
    assert summary(await conn.list_tasks()) == before
    assert shared.sim.faults.injected - injected == 2


async def test_retry_after_beyond_the_deadline_gives_up_without_a_second_attempt(
    shared: Live, conn: Connector
) -> None:
    """Without reading Retry-After, a backoff of a few milliseconds would send it again."""
    ref = await sample(conn)
    shared.sim.faults.rate_limit(times=FOREVER, retry_after=600)
    mark = len(shared.sim.requests)
    with deadline(30), pytest.raises(ConnectorError) as caught:
        await conn.read_state(ref)
    assert caught.value.retryable
    assert caught.value.status == 429
    assert_clear(shared, caught.value, "rate limited (429)")
    sent = shared.sent(mark)
    assert sent
    assert len(sent) == len(set(sent))  # nothing was sent twice


async def test_endless_429_ends_as_a_retryable_error(shared: Live, conn: Connector) -> None:
    await conn.list_tasks()
    shared.sim.faults.rate_limit(times=FOREVER, retry_after=0)
    with pytest.raises(ConnectorError) as caught:
        await conn.list_tasks()
    assert caught.value.retryable
    assert_clear(shared, caught.value, "rate limited (429)")


# -- unreadable answers and timeouts -----------------------------------------------------------


def _malformed(sim: Simulator) -> None:
    sim.faults.malformed(times=FOREVER)  # '{"items": [': JSON cut short


def _html_200(sim: Simulator) -> None:
    page = "<!DOCTYPE html><html><body><h1>Sign in</h1></body></html>"
    sim.faults.fail(200, times=FOREVER, body=page, content_type="text/html")


def _injected(kind: str, **params: Any) -> Any:
    def inject(sim: Simulator) -> None:
        sim.faults.inject(kind, times=FOREVER, **params)

    return inject


UNREADABLE = {
    "truncated JSON": (_malformed, ("not JSON",)),
    "HTML page with 200": (_html_200, ("HTML page",)),
    "real answer cut in half": (_injected("truncated"), ("not JSON",)),
    "real answer as text/html": (_injected("content_type"), ("HTML page",)),
    "connection cut mid-answer": (_injected("truncated", cut_connection=True), ("connection",)),
}


@pytest.mark.parametrize("fault", list(UNREADABLE))
async def test_an_unreadable_answer_is_an_error_for_that_system_never_no_tasks(
    shared: Live, conn: Connector, fault: str
) -> None:
    await conn.list_tasks()  # logged in: the fault meets the listing, not the login
    inject, words = UNREADABLE[fault]
    inject(shared.sim)
    with pytest.raises(ConnectorError) as caught:
        await conn.list_tasks()
    assert_clear(shared, caught.value, *words)


async def test_an_html_error_page_is_retried_then_described_not_quoted(
    shared: Live, conn: Connector
) -> None:
    await conn.list_tasks()
    shared.sim.faults.html_error(status=502, times=FOREVER)
    with pytest.raises(ConnectorError) as caught:
        await conn.list_tasks()
    assert caught.value.retryable
    assert caught.value.status == 502
    assert_clear(shared, caught.value)
    assert "server error 502" in str(caught.value)
    assert "HTML page" in str(caught.value)


async def test_a_slow_server_ends_within_the_deadline_as_a_connector_error(
    shared: Live, conn: Connector
) -> None:
    ref = await sample(conn)
    async with shared.connect(timeout_seconds=1.0) as slow:
        await slow.read_state(ref)  # logged in while the simulator is quick
        shared.sim.faults.latency_ms = 2000
        with deadline(1.5), pytest.raises(ConnectorError) as caught:
            await slow.read_state(ref)
    assert caught.value.retryable
    assert_clear(shared, caught.value, "timed out")


# -- pause, resume, read back ------------------------------------------------------------------


async def pausable(conn: Connector, clock: ManualClock) -> list[Task]:
    """Active tasks due to run in the next hours and not running now: pausing changes them."""
    now = clock()
    runs = await conn.upcoming_runs(now, now + timedelta(hours=6))
    running = {r.task.key for r in await conn.running_now()}
    refs = {r.task.key: r.task for r in runs if r.task.key not in running}
    return sorted(
        (t for t in await conn.describe(list(refs.values())) if not t.paused),
        key=lambda t: t.ref.key,
    )


async def test_pause_then_resume_round_trip_reads_back_on_both_sides(own: Live) -> None:
    async with own.connect() as conn:
        targets = await pausable(conn, own.clock)
        assert targets
        before = await own.state()
        for prior in targets:
            ref = prior.ref
            assert await conn.pause(ref, "maintenance window MW-1") is True, prior.name
            during = await own.state()
            assert during[ref.id]["paused"] is True, prior.name
            assert (await conn.read_state(ref)).paused
            assert await conn.pause(ref, "maintenance window MW-1") is False  # idempotent
            assert await conn.resume(ref, prior) is True, prior.name
            after = await own.state()
            assert after[ref.id]["paused"] is False, prior.name
            assert after[ref.id] == before[ref.id], prior.name  # nothing else changed
            assert not (await conn.read_state(ref)).paused
            assert await conn.resume(ref, prior) is False  # idempotent
        assert await own.state() == before  # and no other task was touched


async def test_a_task_someone_else_paused_is_left_paused(own: Live) -> None:
    async with own.connect() as conn:
        theirs = [t for t in await conn.list_tasks() if t.paused]
        assert theirs
        before = await own.state()
        for prior in theirs:
            assert await conn.pause(prior.ref, "maintenance window") is False, prior.name
            assert await conn.resume(prior.ref, prior) is False, prior.name
            assert (await conn.read_state(prior.ref)).paused
    assert await own.state() == before


async def test_check_pause_check_resume_through_the_check(own: Live) -> None:
    """The flow the bot runs: what may still fire is paused, the next check lists it as
    already paused, and resuming puts every task back as it was."""
    now = own.clock()
    window = Window(start=now + timedelta(hours=1), end=now + timedelta(hours=3), tz="UTC")
    (scheduler,) = open_schedulers(sandbox_config([own.sim]), own.clock)
    conn = scheduler.connector
    assert conn is not None, scheduler.error
    try:
        report = await check_window(window, [scheduler], own.clock)
        (system,) = report.systems
        assert system.ok, system.error
        assert system.vendor == own.name
        targets = {
            c.ref.key: c.ref for c in report.active if c.kind is not ConflictKind.RUNNING_AT_START
        }
        running = {r.task.key for r in await conn.running_now()}
        targets = {k: r for k, r in targets.items() if k not in running}
        assert targets
        before = await own.state()
        priors = {t.ref.key: t for t in await conn.describe(list(targets.values()))}
        for key, ref in targets.items():
            assert await conn.pause(ref, "window") is True, priors[key].name
        state = await own.state()
        assert all(state[r.id]["paused"] for r in targets.values())

        # Listed as already paused, or not at all (a vendor may leave disabled tasks out of
        # its runs), but never as something still to pause.
        again = await check_window(window, [scheduler], own.clock)
        (system,) = again.systems
        assert system.ok, system.error
        assert not {c.ref.key for c in again.active} & set(targets)

        for key, ref in targets.items():
            assert await conn.resume(ref, priors[key]) is True, priors[key].name
        assert await own.state() == before
    finally:
        await scheduler.aclose()


async def test_a_vendor_says_whether_it_reports_skipped_runs(shared: Live, conn: Connector) -> None:
    # The end summary judges predictions by skipped_runs; an empty answer from a vendor
    # that cannot say must not read as "no run was due". BMC's API has no such history.
    # (Comparing methods with Connector's cannot tell: every implementation is wrapped
    # for metering, inherited ones too.)
    assert conn.reports_skipped_runs is (shared.name != "bmc")
