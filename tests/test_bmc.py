"""BMC Helix Continuous Optimization: contract tests against the loopback simulator over real
HTTP, bad input and faults, and the end-to-end check → pause → resume flow."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from bot.check import check_window, open_schedulers
from bot.clock import ManualClock
from bot.connectors.bmc import ETLS_PATH, BmcConfig, BmcConnector, from_config
from bot.connectors.pacing import DEFAULT_CEILING
from bot.errors import AuthError, ConnectorError
from bot.model import ConflictKind, Task, TaskKind, TaskRef, Window
from bot.sandbox import sandbox_config
from bot.sandbox.base import SandboxServer
from bot.sandbox.bmc import (
    DEMO_ACCESS_KEY,
    DEMO_SECRET_KEY,
    NOROLE_ACCESS_KEY,
    NOROLE_SECRET_KEY,
    READONLY_ACCESS_KEY,
    READONLY_SECRET_KEY,
    TENANT_ID,
    BmcSimulator,
)

LOGIN = "/ims/api/v1/access_keys/login"
SECRETS = (DEMO_ACCESS_KEY, DEMO_SECRET_KEY, READONLY_SECRET_KEY, NOROLE_SECRET_KEY)


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[BmcSimulator]:
    simulator = BmcSimulator(clock=clock)
    with SandboxServer([simulator]):
        yield simulator


def make(
    sim: BmcSimulator,
    clock: ManualClock,
    *,
    access_key: str = DEMO_ACCESS_KEY,
    secret_key: str = DEMO_SECRET_KEY,
    **overrides: Any,
) -> BmcConnector:
    config = BmcConfig.model_validate({**sim.config_entry(), **overrides})
    credentials = {"access_key": access_key, "access_secret_key": secret_key}
    return from_config("bmc", config, credentials, clock=clock)


@pytest.fixture
async def connector(sim: BmcSimulator, clock: ManualClock) -> AsyncIterator[BmcConnector]:
    conn = make(sim, clock)
    yield conn
    await conn.aclose()


def ref(sim: BmcSimulator, name: str) -> TaskRef:
    return TaskRef(system="bmc", kind=TaskKind.ETL, id=str(sim.by_name(name).etl_id))


def bearer_tokens(sim: BmcSimulator) -> list[str]:
    return [
        r.headers["authorization"].removeprefix("Bearer ")
        for r in sim.requests
        if "authorization" in r.headers
    ]


def assert_no_secret(message: str, *extra: str) -> None:
    for secret in (*SECRETS, *extra):
        assert secret not in message


async def sandbox_state(sim: BmcSimulator) -> dict[str, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=sim.base_url) as client:
        response = await client.get("/_sandbox/state")
    return {t["name"]: t for t in response.json()["tasks"]}


async def raw_get(sim: BmcSimulator, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=sim.base_url) as client:
        login = await client.post(
            LOGIN, json={"access_key": DEMO_ACCESS_KEY, "access_secret_key": DEMO_SECRET_KEY}
        )
        token = login.json()["json_web_token"]
        return await client.get(path, headers={"Authorization": f"Bearer {token}"})


# -- requests have the vendor's paths, methods, headers and bodies ---------------------------


async def test_login_then_bearer_on_every_backend_call(
    sim: BmcSimulator, connector: BmcConnector
) -> None:
    await connector.list_tasks()

    login, listing, *statuses = sim.requests
    assert (login.method, login.path) == ("POST", LOGIN)
    assert login.json() == {
        "access_key": DEMO_ACCESS_KEY,
        "access_secret_key": DEMO_SECRET_KEY,
        "tenant_id": TENANT_ID,
    }
    assert "authorization" not in login.headers
    assert (listing.method, listing.path) == ("GET", ETLS_PATH)
    assert {(r.method, r.path) for r in statuses} == {
        ("GET", f"{ETLS_PATH}{e.etl_id}/status") for e in sim.etls
    }
    (token,) = set(bearer_tokens(sim))
    assert sim.token_valid(token)
    assert all(r.headers["authorization"] == f"Bearer {token}" for r in [listing, *statuses])


async def test_login_goes_to_the_ims_url_and_omits_tenant_when_not_configured(
    sim: BmcSimulator, clock: ManualClock
) -> None:
    async with make(sim, clock, tenant_id=None, ims_url=sim.base_url + "/") as conn:
        await conn.list_tasks()
    assert sim.requests_to(LOGIN)[0].json() == {
        "access_key": DEMO_ACCESS_KEY,
        "access_secret_key": DEMO_SECRET_KEY,
    }


async def test_no_published_rate_limit_means_no_fixed_cap_but_adaptive_concurrency(
    connector: BmcConnector,
) -> None:
    # A fixed 1,200 a minute once made a check of 2,000 ETLs wait out a whole minute.
    assert connector.http.limiter is None
    assert connector.http.concurrency is not None
    assert connector.http.concurrency.ceiling == DEFAULT_CEILING


async def test_one_check_reads_each_status_once(
    sim: BmcSimulator, connector: BmcConnector, clock: ManualClock
) -> None:
    """upcoming_runs and running_now, run concurrently as a check does, share one read."""
    await asyncio.gather(
        connector.upcoming_runs(clock(), clock() + timedelta(hours=1)), connector.running_now()
    )
    assert len(sim.requests_to(ETLS_PATH, "GET")) == 1 + len(sim.etls)
    # Nothing is cached afterwards: a later call reads again.
    await connector.running_now()
    assert len(sim.requests_to(ETLS_PATH, "GET")) == 2 * (1 + len(sim.etls))


async def test_describe_reads_only_the_statuses_asked_for(
    sim: BmcSimulator, connector: BmcConnector
) -> None:
    targets = [ref(sim, "Windows agent ETL"), ref(sim, "Dynatrace service ETL")]
    tasks = await connector.describe(targets)
    assert {t.name for t in tasks} == {"Windows agent ETL", "Dynatrace service ETL"}
    assert len(sim.requests_to("/status")) == 2


async def test_describe_right_after_a_sweep_reuses_it_until_something_is_changed(
    sim: BmcSimulator, connector: BmcConnector
) -> None:
    targets = [ref(sim, "Windows agent ETL"), ref(sim, "Splunk connector service")]
    await connector.running_now()
    sweep = len(sim.requests_to(ETLS_PATH, "GET"))
    tasks = await connector.describe(targets)
    assert {t.name for t in tasks} == {"Windows agent ETL", "Splunk connector service"}
    assert len(sim.requests_to(ETLS_PATH, "GET")) == sweep

    assert await connector.pause(targets[1], "maintenance") is True
    (splunk,) = await connector.describe(targets[1:])
    assert splunk.vendor_state == "SERVICE_OFF"


# -- documented responses, including the edge shapes ------------------------------------------


async def test_statuses_are_parsed_including_edge_shapes(
    sim: BmcSimulator, connector: BmcConnector
) -> None:
    aws = sim.by_name("AWS CloudWatch API ETL")
    wire = (await raw_get(sim, f"{ETLS_PATH}{aws.etl_id}/status")).json()
    assert wire["task_id"] == str(aws.task_id)  # a string-typed number
    absent = sim.by_name("What-if scenario importer")
    assert "status" not in (await raw_get(sim, f"{ETLS_PATH}{absent.etl_id}/status")).json()
    listing = (await raw_get(sim, ETLS_PATH)).json()
    assert any("run_configurations" not in item for item in listing)

    tasks = {t.name: t for t in await connector.list_tasks()}
    assert len(tasks) == len(sim.etls)
    for task in tasks.values():
        assert task.kind is TaskKind.ETL
        assert task.vendor_state == (sim.state_of(task.id) or "")
    assert tasks["What-if scenario importer"].vendor_state == ""
    assert tasks["CMDB import"].vendor_state == ""


async def test_paused_reading_is_stopped_service_or_ended_batch(
    sim: BmcSimulator, connector: BmcConnector
) -> None:
    """INFERRED: paused = SERVICE_OFF or ENDED; ABORTED and empty are neither active nor paused."""
    tasks = {t.name: t for t in await connector.list_tasks()}
    assert tasks["Dynatrace service ETL"].paused  # SERVICE_OFF
    assert tasks["Nutanix Prism ETL"].paused  # ENDED
    for name in ("NetApp storage ETL", "CMDB import", "VMware vCenter extractor (prod)"):
        assert not tasks[name].paused
    assert not tasks["Helix Operations Management service"].paused  # SERVICE_ON


async def test_waiting_etls_may_fire_at_an_unknown_time(
    sim: BmcSimulator, connector: BmcConnector, clock: ManualClock
) -> None:
    runs = await connector.upcoming_runs(clock(), clock() + timedelta(hours=2))
    names = {str(e.etl_id): e.name for e in sim.etls}
    by_name = {names[r.task.id]: r for r in runs}
    assert all(r.at is None for r in runs)
    waiting = {e.name for e in sim.etls if e.state == "WAITING"}
    stopped = {e.name for e in sim.etls if e.state in ("SERVICE_OFF", "ENDED")}
    assert set(by_name) == waiting | stopped
    assert "exposes no run time" in (by_name["Windows agent ETL"].note or "")
    assert "stopped in BMC (SERVICE_OFF)" in (by_name["Dynatrace service ETL"].note or "")
    for name in ("NetApp storage ETL", "CMDB import", "What-if scenario importer"):
        assert name not in by_name


async def test_running_and_service_on_are_running_now_without_durations(
    sim: BmcSimulator, connector: BmcConnector, clock: ManualClock
) -> None:
    running = {r.task.id: r for r in await connector.running_now()}
    expected = {
        str(sim.by_name(n).etl_id)
        for n in (
            "Kubernetes Prometheus ETL",
            "Helix Operations Management service",
            "Splunk connector service",
        )
    }
    assert set(running) == expected
    k8s = running[str(sim.by_name("Kubernetes Prometheus ETL").etl_id)]
    assert k8s.started_at == clock() - timedelta(minutes=15)  # last_exec_ts (INFERRED)
    # BMC keeps only last_exec_ts: no history, so no expected duration.
    assert all(r.expected_duration is None for r in running.values())


async def test_a_finished_batch_run_goes_back_to_waiting(
    sim: BmcSimulator, connector: BmcConnector, clock: ManualClock
) -> None:
    clock.advance(timedelta(hours=2))
    task = await connector.read_state(ref(sim, "Kubernetes Prometheus ETL"))
    assert task.vendor_state == "WAITING"
    assert len(await connector.running_now()) == 2


# -- pause and resume ---------------------------------------------------------------------------


async def test_service_etl_is_stopped_then_restored_with_run(
    sim: BmcSimulator, connector: BmcConnector
) -> None:
    target = ref(sim, "Splunk connector service")
    prior = await connector.read_state(target)
    assert prior.vendor_state == "SERVICE_ON"

    assert await connector.pause(target, "maintenance") is True
    (stop,) = sim.requests_to("/stop")
    assert (stop.method, stop.path) == ("POST", f"{ETLS_PATH}{target.id}/stop")
    assert stop.headers["authorization"].startswith("Bearer ")
    assert sim.state_of(target.id) == "SERVICE_OFF"
    assert await connector.pause(target, "maintenance") is False
    assert len(sim.requests_to("/stop")) == 1

    assert await connector.resume(target, prior) is True
    (run,) = sim.requests_to("/run")
    assert (run.method, run.path) == ("POST", f"{ETLS_PATH}{target.id}/run")
    assert not sim.requests_to("/schedule")
    assert sim.state_of(target.id) == "SERVICE_ON"
    assert await connector.resume(target, prior) is False
    assert len(sim.requests_to("/run")) == 1


async def test_waiting_batch_etl_is_stopped_then_rearmed_with_schedule(
    sim: BmcSimulator, connector: BmcConnector
) -> None:
    target = ref(sim, "Oracle database agent ETL")
    prior = await connector.read_state(target)
    assert prior.vendor_state == "WAITING"
    assert await connector.pause(target, "maintenance") is True
    assert sim.state_of(target.id) == "ENDED"
    assert await connector.resume(target, prior) is True
    assert [r.path for r in sim.requests_to("/schedule", "POST")] == [
        f"{ETLS_PATH}{target.id}/schedule"
    ]
    assert not sim.requests_to("/run")
    assert sim.state_of(target.id) == "WAITING"


async def test_already_stopped_etls_are_left_alone(
    sim: BmcSimulator, connector: BmcConnector
) -> None:
    for name in ("Dynatrace service ETL", "Nutanix Prism ETL"):
        target = ref(sim, name)
        prior = await connector.read_state(target)
        assert prior.paused
        assert await connector.pause(target, "maintenance") is False
        assert await connector.resume(target, prior) is False
    assert not [r for r in sim.requests if r.method == "POST" and r.path.startswith(ETLS_PATH)]


async def test_etls_with_nothing_scheduled_are_not_stopped(
    sim: BmcSimulator, connector: BmcConnector
) -> None:
    for name in ("NetApp storage ETL", "CMDB import", "What-if scenario importer"):
        target = ref(sim, name)
        prior = await connector.read_state(target)
        assert await connector.pause(target, "maintenance") is False
        assert await connector.resume(target, prior) is False
    assert not sim.requests_to("/stop")


async def test_a_running_batch_etl_is_not_aborted(
    sim: BmcSimulator, connector: BmcConnector
) -> None:
    target = ref(sim, "Kubernetes Prometheus ETL")
    with pytest.raises(ConnectorError) as caught:
        await connector.pause(target, "maintenance")
    assert "would abort it" in str(caught.value)
    assert not sim.requests_to("/stop")
    assert sim.state_of(target.id) == "RUNNING"


async def test_resume_without_prior_state_is_refused_unless_this_connector_paused_it(
    sim: BmcSimulator, connector: BmcConnector, clock: ManualClock
) -> None:
    target = ref(sim, "Helix Operations Management service")
    async with make(sim, clock) as other:
        assert await other.pause(target, "maintenance") is True
    with pytest.raises(ConnectorError) as caught:
        await connector.resume(target)
    assert "does not guess" in str(caught.value)
    assert sim.state_of(target.id) == "SERVICE_OFF"

    mine = ref(sim, "Windows agent ETL")
    assert await connector.pause(mine, "maintenance") is True
    assert await connector.resume(mine) is True
    assert sim.state_of(mine.id) == "WAITING"


async def test_stop_that_leaves_the_etl_scheduled_is_not_reported_as_paused(
    sim: BmcSimulator, connector: BmcConnector
) -> None:
    """Gap: whether stop unschedules a WAITING batch ETL. The state is read back to know."""
    sim.stop_keeps_schedule = True
    target = ref(sim, "Google Cloud ETL")
    with pytest.raises(ConnectorError) as caught:
        await connector.pause(target, "maintenance")
    assert "still reports WAITING" in str(caught.value)
    assert (await sandbox_state(sim))["Google Cloud ETL"]["paused"] is False


async def test_request_status_error_is_a_failure_and_nothing_changes(
    sim: BmcSimulator, connector: BmcConnector
) -> None:
    target = ref(sim, "Network SNMP ETL")
    sim.refuse_next.add(target.id)
    with pytest.raises(ConnectorError) as caught:
        await connector.pause(target, "maintenance")
    assert "request_status ERROR" in str(caught.value)
    assert (await sandbox_state(sim))["Network SNMP ETL"]["state"] == "WAITING"
    assert_no_secret(str(caught.value))


async def test_resume_refused_by_bmc_raises(sim: BmcSimulator, connector: BmcConnector) -> None:
    # A prior that does not fit the ETL (WAITING for a service) makes BMC refuse schedule.
    target = ref(sim, "Dynatrace service ETL")
    wrong = Task(
        system="bmc",
        kind=TaskKind.ETL,
        id=target.id,
        name="x",
        paused=False,
        vendor_state="WAITING",
    )
    with pytest.raises(ConnectorError) as caught:
        await connector.resume(target, wrong)
    assert "schedule" in str(caught.value)
    assert "refused" in str(caught.value)
    assert sim.state_of(target.id) == "SERVICE_OFF"


# -- the simulator validates requests as the vendor would -----------------------------------------


async def test_simulator_checks_methods_tokens_and_bodies(sim: BmcSimulator) -> None:
    async with httpx.AsyncClient(base_url=sim.base_url) as client:
        assert (await client.get(ETLS_PATH)).status_code == 401
        assert (
            await client.get(ETLS_PATH, headers={"Authorization": "Bearer forged"})
        ).status_code == 401
        assert (await client.post(ETLS_PATH)).status_code == 405
        assert (await client.post(LOGIN, json={"access_key": "x"})).status_code == 400
        token = (
            await client.post(
                LOGIN, json={"access_key": DEMO_ACCESS_KEY, "access_secret_key": DEMO_SECRET_KEY}
            )
        ).json()["json_web_token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert (await client.get(f"{ETLS_PATH}101/run", headers=headers)).status_code == 405
        bad = await client.post(
            f"{ETLS_PATH}101/run", headers=headers, json={"run_execution_properties": [1]}
        )
        assert bad.status_code == 400
        service = sim.by_name("Splunk connector service").etl_id
        answer = await client.post(f"{ETLS_PATH}{service}/run", headers=headers)
    assert answer.json() == {"task_execution_request_id": -1, "request_status": "OK"}


# -- bad input and faults -------------------------------------------------------------------------


async def test_wrong_secret_is_a_clear_auth_error(sim: BmcSimulator, clock: ManualClock) -> None:
    async with make(sim, clock, secret_key="not-the-secret-key") as conn:
        with pytest.raises(AuthError) as caught:
            await conn.list_tasks()
    message = str(caught.value)
    assert message.startswith("bmc: ")
    assert "credentials were refused for BMC Helix login (401)" in message
    assert_no_secret(message, "not-the-secret-key")


async def test_jwt_is_renewed_before_its_15_minutes_run_out(
    sim: BmcSimulator, connector: BmcConnector, clock: ManualClock
) -> None:
    await connector.running_now()
    clock.advance(timedelta(minutes=13))
    await connector.running_now()
    assert len(sim.requests_to(LOGIN)) == 1
    clock.advance(timedelta(minutes=1, seconds=30))  # 14.5 min: inside the 1-minute margin
    await connector.running_now()
    assert len(sim.requests_to(LOGIN)) == 2
    assert len(sim.requests_to(ETLS_PATH, "GET")) == 3 * (1 + len(sim.etls))  # no 401


async def test_missing_read_role_names_the_role(sim: BmcSimulator, clock: ManualClock) -> None:
    async with make(sim, clock, access_key=NOROLE_ACCESS_KEY, secret_key=NOROLE_SECRET_KEY) as conn:
        with pytest.raises(AuthError) as caught:
            await conn.list_tasks()
    assert caught.value.status == 403
    assert "capacity_optimization.admin.etls_read" in str(caught.value)
    assert "Forbidden: requires permission" in str(caught.value)  # BMC's own words quoted
    assert_no_secret(str(caught.value), NOROLE_ACCESS_KEY, *bearer_tokens(sim))


async def test_missing_write_role_names_the_role(sim: BmcSimulator, clock: ManualClock) -> None:
    target = ref(sim, "Windows agent ETL")
    async with make(
        sim, clock, access_key=READONLY_ACCESS_KEY, secret_key=READONLY_SECRET_KEY
    ) as conn:
        assert await conn.list_tasks()
        with pytest.raises(AuthError) as caught:
            await conn.pause(target, "maintenance")
    assert caught.value.status == 403
    assert "capacity_optimization.custom_etl.edit" in str(caught.value)
    assert sim.state_of(target.id) == "WAITING"
    assert_no_secret(str(caught.value), READONLY_ACCESS_KEY, *bearer_tokens(sim))


async def test_deleted_etl_is_not_found(sim: BmcSimulator, connector: BmcConnector) -> None:
    target = ref(sim, "IBM Power HMC ETL")
    sim.remove(target.id)
    with pytest.raises(ConnectorError) as caught:
        await connector.pause(target, "maintenance")
    assert caught.value.status == 404
    assert "not found" in str(caught.value)
    assert not sim.requests_to("/stop")


async def test_etl_vanishing_between_list_and_status_is_left_out(
    sim: BmcSimulator, connector: BmcConnector
) -> None:
    target = sim.by_name("SAP HANA ETL").etl_id
    sim.faults.fail(404, path_contains=f"/{target}/status", body='{"message": "ETL not found"}')
    tasks = await connector.list_tasks()
    assert len(tasks) == len(sim.etls) - 1
    assert str(target) not in {t.id for t in tasks}


async def test_a_failed_lookup_leaves_no_request_in_flight(
    sim: BmcSimulator, connector: BmcConnector
) -> None:
    sim.faults.latency_ms = 20
    sim.faults.fail(400, times=1, path_contains="/status", body='{"message": "Bad request"}')
    with pytest.raises(ConnectorError) as caught:
        await connector.list_tasks()
    assert "HTTP 400: Bad request" in str(caught.value)
    # The other lookups were cancelled and awaited, not left running against a client that
    # is about to be closed.
    assert connector.http.in_flight == 0


async def test_html_login_page_instead_of_a_token(
    sim: BmcSimulator, connector: BmcConnector
) -> None:
    sim.faults.fail(200, path_contains=LOGIN, body="<html>Sign in</html>", content_type="text/html")
    with pytest.raises(ConnectorError) as caught:
        await connector.list_tasks()
    assert "BMC Helix login returned an HTML page" in str(caught.value)


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        (ETLS_PATH, '{"etls": []}', "malformed response"),
        ("/status", '{"status": "WAITING", "last_exec_ts": "yesterday"}', "malformed response"),
    ],
)
async def test_malformed_bodies_are_connector_errors(
    sim: BmcSimulator, connector: BmcConnector, path: str, body: str, expected: str
) -> None:
    sim.faults.malformed(path_contains=path, body=body)
    with pytest.raises(ConnectorError) as caught:
        await connector.list_tasks()
    assert expected in str(caught.value)


async def test_empty_status_answer_is_an_error_not_never_scheduled(
    sim: BmcSimulator, connector: BmcConnector
) -> None:
    sim.faults.fail(204, path_contains="/status", body="")
    with pytest.raises(ConnectorError) as caught:
        await connector.list_tasks()
    assert "came back empty (HTTP 204)" in str(caught.value)


# -- end to end through the check ---------------------------------------------------------------


async def test_check_window_reports_may_fire_running_and_already_paused(
    sim: BmcSimulator, clock: ManualClock
) -> None:
    window = Window(start=clock() + timedelta(hours=1), end=clock() + timedelta(hours=3), tz="UTC")
    schedulers = open_schedulers(sandbox_config([sim]), clock)
    try:
        report = await check_window(window, schedulers, clock)
    finally:
        for scheduler in schedulers:
            await scheduler.aclose()

    (system,) = report.systems
    assert system.ok, system.error
    active = {(c.task_name, c.kind) for c in report.active}
    assert ("Windows agent ETL", ConflictKind.MAY_FIRE) in active
    assert ("Kubernetes Prometheus ETL", ConflictKind.RUNNING_AT_START) in active
    assert ("Splunk connector service", ConflictKind.RUNNING_AT_START) in active
    assert {c.task_name for c in report.already_paused} == {
        "Dynatrace service ETL",
        "Nutanix Prism ETL",
        "HP-UX legacy ETL",
        "Business drivers CSV import",
    }
    quiet = {"NetApp storage ETL", "CMDB import", "What-if scenario importer"}
    assert not quiet & {c.task_name for c in report.conflicts}


async def test_pause_and_resume_round_trip_restores_service_on_and_waiting(
    sim: BmcSimulator, clock: ManualClock
) -> None:
    window = Window(start=clock() + timedelta(hours=1), end=clock() + timedelta(hours=3), tz="UTC")
    (scheduler,) = open_schedulers(sandbox_config([sim]), clock)
    conn = scheduler.connector
    assert conn is not None
    try:
        report = await check_window(window, [scheduler], clock)
        targets = [
            c.ref
            for c in report.active
            if c.task_name in ("Splunk connector service", "Cloud cost data ETL")
        ]
        assert len(targets) == 2
        priors = {t.id: t for t in await conn.describe(targets)}
        for target in targets:
            assert await conn.pause(target, "window") is True
        state = await sandbox_state(sim)
        assert state["Splunk connector service"]["state"] == "SERVICE_OFF"
        assert state["Cloud cost data ETL"]["state"] == "ENDED"
        again = await check_window(window, [scheduler], clock)
        assert {"Splunk connector service", "Cloud cost data ETL"} <= {
            c.task_name for c in again.already_paused
        }

        for target in targets:
            assert await conn.resume(target, priors[target.id]) is True
        state = await sandbox_state(sim)
        assert state["Splunk connector service"]["state"] == "SERVICE_ON"
        assert state["Cloud cost data ETL"]["state"] == "WAITING"
        assert state["Dynatrace service ETL"]["state"] == "SERVICE_OFF"  # untouched
    finally:
        await scheduler.aclose()
    assert [r.path.rsplit("/", 1)[1] for r in sim.requests if r.method == "POST"][1:] == [
        "stop",
        "stop",
        "run",
        "schedule",
    ]
