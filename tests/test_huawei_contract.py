"""Contract tests for the Huawei Workspace connector against the loopback simulator: the
requests it sends (paths, methods, headers, bodies, paging), how it reads the documented
responses and their odd shapes, and how it fails (401/403/404/429/5xx/HTML/timeouts).

Real HTTP on 127.0.0.1; nothing of ours is mocked. Readings of INFERRED/gap facts are named
in the test that pins them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
import pytest

from bot.clock import ManualClock
from bot.connectors import build_connector
from bot.connectors.base import Connector, RetryPolicy
from bot.connectors.huawei import HuaweiConfig, HuaweiConnector, from_config
from bot.connectors.huawei.desktop import DESKTOP_UPDATE_FIELDS
from bot.errors import AuthError, ConfigError, ConnectorError
from bot.model import TaskKind, TaskRef
from bot.sandbox.base import SandboxServer
from bot.sandbox.huawei import HuaweiSimulator, SimTask

# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def sim(clock: ManualClock) -> HuaweiSimulator:
    return HuaweiSimulator(clock=clock)


@pytest.fixture
def server(sim: HuaweiSimulator) -> Iterator[SandboxServer]:
    with SandboxServer([sim]) as running:
        yield running


AuthMode = Literal["aksk", "password"]


def make(
    sim: HuaweiSimulator,
    clock: ManualClock,
    project: int = 0,
    *,
    auth: AuthMode = "aksk",
    password: str | None = None,
    **overrides: Any,
) -> HuaweiConnector:
    config = HuaweiConfig.model_validate({**sim.config_entry(project, auth=auth), **overrides})
    if auth == "aksk":
        credentials = {"access_key": sim.access_key, "secret_key": sim.secret_key}
    else:
        credentials = {"username": sim.username, "password": password or sim.password}
    connector = from_config(f"huawei-{project}", config, credentials, clock=clock)
    # Quick retries keep failure tests short; the policy itself is VendorHttp's.
    connector.http.retry = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05)
    return connector


@pytest.fixture(params=["aksk", "password"])
async def conn(
    request: pytest.FixtureRequest, server: SandboxServer, sim: HuaweiSimulator, clock: ManualClock
) -> AsyncIterator[HuaweiConnector]:
    """The connector in each way it can sign in: every test using it runs twice."""
    connector = make(sim, clock, auth=request.param)
    yield connector
    await connector.aclose()


@pytest.fixture
async def password_conn(
    server: SandboxServer, sim: HuaweiSimulator, clock: ManualClock
) -> AsyncIterator[HuaweiConnector]:
    connector = make(sim, clock, auth="password")
    yield connector
    await connector.aclose()


def authenticated(sim: HuaweiSimulator, recorded: Any) -> bool:
    """Whether a recorded request carried a live token or a signature by the demo key (the
    simulator checked the signature itself before answering)."""
    signature = recorded.headers.get("authorization", "")
    if signature.startswith(f"SDK-HMAC-SHA256 Access={sim.access_key},"):
        return True
    return sim.token_valid(recorded.headers.get("x-auth-token"))


def ref_of(conn: HuaweiConnector, task: SimTask) -> TaskRef:
    kind = TaskKind.APP_TASK if task.family == "app" else TaskKind.DESKTOP_TASK
    return TaskRef(system=conn.system, kind=kind, id=task.id)


async def sandbox_state(sim: HuaweiSimulator) -> dict[str, dict[str, Any]]:
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(f"{sim.base_url}/_sandbox/state")
    response.raise_for_status()
    return {t["id"]: t for t in response.json()["tasks"]}


async def raw_token(sim: HuaweiSimulator, project: int = 0) -> str:
    """A token fetched by hand, scoped by project *name* (the connector scopes by id)."""
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": sim.username,
                        "password": sim.password,
                        "domain": {"name": sim.domain_name},
                    }
                },
            },
            "scope": {"project": {"name": sim.projects[project].name}},
        }
    }
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.post(f"{sim.base_url}/v3/auth/tokens", json=body)
    assert response.status_code == 201
    return response.headers["X-Subject-Token"]


async def call(
    sim: HuaweiSimulator,
    method: str,
    path: str,
    *,
    token: str | None = None,
    **kw: Any,
) -> httpx.Response:
    headers = {"X-Auth-Token": token} if token else {}
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.request(method, sim.base_url + path, headers=headers, **kw)


def api_requests(sim: HuaweiSimulator) -> list[Any]:
    return [r for r in sim.requests if not r.path.startswith("/v3/")]


# -- auth -----------------------------------------------------------------------------------------


async def test_token_request_shape_and_header_on_every_call(
    password_conn: HuaweiConnector, sim: HuaweiSimulator
) -> None:
    await password_conn.list_tasks()
    logins = sim.requests_to("/v3/auth/tokens", "POST")
    assert len(logins) == 1
    assert logins[0].json() == {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": sim.username,
                        "password": sim.password,
                        "domain": {"name": sim.domain_name},
                    }
                },
            },
            "scope": {"project": {"id": sim.projects[0].id}},
        }
    }
    assert "x-auth-token" not in logins[0].headers
    tokens = {r.headers.get("x-auth-token") for r in api_requests(sim)}
    assert len(tokens) == 1
    (token,) = tokens
    assert token is not None
    assert sim.token_valid(token)


async def test_token_is_reused_for_24h_then_renewed(
    password_conn: HuaweiConnector, sim: HuaweiSimulator, clock: ManualClock
) -> None:
    await password_conn.list_tasks()
    clock.advance(timedelta(hours=23))
    await password_conn.list_tasks()
    assert len(sim.requests_to("/v3/auth/tokens")) == 1
    clock.advance(timedelta(hours=2))  # past the 24 h lifetime
    await password_conn.list_tasks()
    assert len(sim.requests_to("/v3/auth/tokens")) == 2


def test_missing_credentials_are_a_config_error(
    server: SandboxServer, sim: HuaweiSimulator, clock: ManualClock
) -> None:
    # The server gives the simulator its base_url; an empty one is refused by the config.
    config = HuaweiConfig.model_validate(sim.config_entry(auth="password"))
    with pytest.raises(ConfigError, match="password"):
        from_config("hw", config, {"username": "u"}, clock=clock)
    signed = HuaweiConfig.model_validate(sim.config_entry())
    with pytest.raises(ConfigError, match=r"secret_key \(MAINTBOT_SANDBOX_HUAWEI_SECRET_KEY\)"):
        from_config("hw", signed, {"access_key": "AK"}, clock=clock)


async def test_build_connector_picks_the_huawei_module(
    server: SandboxServer, sim: HuaweiSimulator, clock: ManualClock
) -> None:
    config = HuaweiConfig.model_validate(sim.config_entry())
    connector = build_connector(
        "hw", config, {"access_key": sim.access_key, "secret_key": sim.secret_key}, clock=clock
    )
    async with connector:
        assert isinstance(connector, HuaweiConnector)
        assert connector.vendor == "huawei"


# -- paths, paging, limits ------------------------------------------------------------------------


async def test_list_paths_and_paging_parameters(
    clock: ManualClock,
) -> None:
    big = HuaweiSimulator(clock=clock, scale=10)  # 120 tasks per family in the main project
    with SandboxServer([big]):
        async with make(big, clock) as connector:
            tasks = await connector.list_tasks()
    pid = big.projects[0].id
    expected = [t for t in big.tasks.values() if t.project_id == pid]
    assert sorted(t.id for t in tasks) == sorted(t.id for t in expected)

    app = big.requests_to(f"/v1/{pid}/schedule-task", "GET")
    assert [(r.query["offset"], r.query["limit"]) for r in app] == [("0", "100"), ("100", "100")]
    desk = [
        r
        for r in big.requests_to(f"/v2/{pid}/scheduled-tasks", "GET")
        if "scheduled_type" not in r.query
    ]
    assert [(r.query["offset"], r.query["limit"]) for r in desk] == [
        ("0", "50"),
        ("50", "50"),
        ("100", "50"),
    ]
    life = [
        r
        for r in big.requests_to(f"/v2/{pid}/scheduled-tasks", "GET")
        if r.query.get("scheduled_type")
    ]
    assert [r.query for r in life] == [
        {"scheduled_type": "LIFE_CYCLE", "offset": "0", "limit": "50"}
    ]


@pytest.mark.parametrize(
    ("path", "query", "status"),
    [
        ("/v1/{p}/schedule-task", {"limit": "101"}, 400),
        ("/v1/{p}/schedule-task", {"limit": "0"}, 400),
        ("/v1/{p}/schedule-task", {"offset": "-1"}, 400),
        ("/v1/{p}/schedule-task", {"limit": "ten"}, 400),
        ("/v1/{p}/schedule-task", {}, 200),
        ("/v1/{p}/schedule-task/{a}/execute-history", {"limit": "101"}, 400),
        ("/v2/{p}/scheduled-tasks", {"limit": "10"}, 400),  # offset is required
        ("/v2/{p}/scheduled-tasks", {"offset": "0"}, 400),  # limit is required
        ("/v2/{p}/scheduled-tasks", {"offset": "0", "limit": "51"}, 400),
        ("/v2/{p}/scheduled-tasks", {"offset": "0", "limit": "0"}, 200),
        ("/v2/{p}/scheduled-tasks/{d}/records", {"limit": "101"}, 400),
        ("/v2/{p}/scheduled-tasks/{d}/records", {}, 200),
    ],
)
async def test_simulator_validates_limits_with_huawei_error_bodies(
    server: SandboxServer, sim: HuaweiSimulator, path: str, query: dict[str, str], status: int
) -> None:
    url = path.format(
        p=sim.projects[0].id, a=sim.find("nightly_restart").id, d=sim.find("desk_daily_reboot").id
    )
    response = await call(sim, "GET", url, token=await raw_token(sim), params=query)
    assert response.status_code == status
    body = response.json()
    if status == 400:
        assert set(body) == {"error_code", "error_msg"}
        assert isinstance(body["error_msg"], str)
    elif "count" in body:
        assert len(body["items"]) == min(10, body["count"])  # 4A default limit is 10


async def test_simulator_checks_token_and_project(
    server: SandboxServer, sim: HuaweiSimulator
) -> None:
    path = f"/v1/{sim.projects[0].id}/schedule-task"
    assert (await call(sim, "GET", path)).status_code == 401
    assert (await call(sim, "GET", path, token="forged")).status_code == 401
    # A token scoped to the other project may not read this one.
    response = await call(sim, "GET", path, token=await raw_token(sim, 1))
    assert response.status_code == 403
    assert response.json()["error_msg"]
    assert (await call(sim, "GET", path, token=await raw_token(sim, 0))).status_code == 200


async def test_simulator_put_is_a_full_replace(server: SandboxServer, sim: HuaweiSimulator) -> None:
    """The PUT gap, strict reading: a body with only ``enable`` is refused, so a connector
    relying on partial PUT fails in tests instead of wiping a real task's schedule."""
    task = sim.find("desk_daily_reboot")
    path = f"/v2/{sim.projects[0].id}/scheduled-tasks/{task.id}"
    response = await call(sim, "PUT", path, token=await raw_token(sim), json={"enable": False})
    assert response.status_code == 400
    assert "required" in response.json()["error_msg"]
    assert task.enabled


# -- response shapes ------------------------------------------------------------------------------


async def snapshot(connector: Connector, clock: ManualClock) -> tuple[Any, ...]:
    now = clock()
    tasks = sorted(await connector.list_tasks(), key=lambda t: t.id)
    runs = sorted(
        await connector.upcoming_runs(now, now + timedelta(days=2)),
        key=lambda r: (r.task.id, r.at or now),
    )
    running = sorted(await connector.running_now(), key=lambda r: r.task.id)
    return tasks, runs, running


async def test_string_typed_numbers_read_the_same(
    server: SandboxServer, sim: HuaweiSimulator, clock: ManualClock
) -> None:
    async with make(sim, clock) as connector:
        plain = await snapshot(connector, clock)
    sim.quirks.string_numbers = True
    async with make(sim, clock) as connector:
        stringy = await snapshot(connector, clock)
    list_body = (
        await call(
            sim, "GET", f"/v1/{sim.projects[0].id}/schedule-task", token=await raw_token(sim)
        )
    ).json()
    assert isinstance(list_body["count"], str)
    assert stringy == plain


async def test_missing_optional_fields_read_the_same(
    server: SandboxServer, sim: HuaweiSimulator, clock: ManualClock
) -> None:
    async with make(sim, clock) as connector:
        plain = await snapshot(connector, clock)
    sim.quirks.omit_optional = True
    async with make(sim, clock) as connector:
        sparse = await snapshot(connector, clock)
    assert sparse == plain
    # Without last_status every app task's history had to be read to find the running ones.
    pid = sim.projects[0].id
    histories = {r.path for r in sim.requests_to("/execute-history")}
    app_tasks = [t for t in sim.tasks.values() if t.family == "app" and t.project_id == pid]
    assert len(histories) >= len(app_tasks)


@pytest.mark.parametrize("style", ["iso_utc", "local", "epoch_ms"])
async def test_4a_next_execution_time_in_any_format(
    conn: HuaweiConnector, sim: HuaweiSimulator, style: str
) -> None:
    """The 4A format is a gap: ISO (offset honoured), zone-less (task zone) and epoch ms."""
    sim.quirks.app_time_format = style  # type: ignore[assignment]
    found = await conn.next_executions()
    pid = sim.projects[0].id
    checked = 0
    for task in sim.tasks.values():
        if task.project_id != pid or task.fields.get("scheduled_type") == "LIFE_CYCLE":
            continue
        assert found[ref_of(conn, task).key] == sim.next_execution(task), task.name
        checked += 1
    assert checked >= 20


async def test_4b_next_execution_time_is_local_wall_time(
    conn: HuaweiConnector, sim: HuaweiSimulator
) -> None:
    task = sim.find("desk_daily_reboot")  # Asia/Shanghai, 4 h from now
    found = await conn.next_executions()
    assert found[ref_of(conn, task).key] == datetime(2026, 11, 18, 22, 0, tzinfo=UTC)
    response = await call(
        sim,
        "GET",
        f"/v2/{sim.projects[0].id}/scheduled-tasks",
        token=await raw_token(sim),
        params={"offset": 0, "limit": 50, "task_name": "desk_daily_reboot"},
    )
    listed = response.json()["scheduled_tasks"]
    assert listed[0]["next_execution_time"] == "2026-11-19 06:00:00"


async def test_excuting_count_misspelling_marks_a_run_in_progress(
    conn: HuaweiConnector, sim: HuaweiSimulator
) -> None:
    task = sim.find("running_restart")
    body = {
        "count": "1",
        "items": [
            {
                "id": 4711,
                "task_id": task.id,
                "total_count": "3",
                "excuting_count": "3",
                "create_time": "2026-11-18T17:45:00.000Z",
                "begin_time": "2026-11-18T17:46:00.000Z",
            }
        ],
    }
    sim.faults.fail(200, path_contains=f"{task.id}/execute-history", body=json.dumps(body))
    running = {r.task.id: r for r in await conn.running_now()}
    assert running[task.id].execution_id == "4711"
    assert running[task.id].started_at == datetime(2026, 11, 18, 17, 46, tzinfo=UTC)


async def test_history_read_oldest_first_still_finds_the_newest(
    server: SandboxServer, sim: HuaweiSimulator, clock: ManualClock
) -> None:
    """History order is undocumented: with more than a page, oldest-first order makes the
    connector read the last page too."""
    task = sim.find("running_restart")
    task.created = clock() - timedelta(days=400)
    task.enabled_periods = [(task.created, None)]
    sim.history = timedelta(days=150)  # more than a page of daily runs
    sim.quirks.history_order = "oldest_first"
    total = len(sim.runs(task))
    async with make(sim, clock) as connector:
        running = {r.task.id for r in await connector.running_now()}
    pages = [r.query.get("offset") for r in sim.requests_to(f"{task.id}/execute-history")]
    assert task.id in running
    assert pages == ["0", str(total - 100)]


# -- pause / resume requests ---------------------------------------------------------------------


async def test_4a_pause_reads_from_the_list_and_patches_only_the_flag(
    conn: HuaweiConnector, sim: HuaweiSimulator
) -> None:
    task = sim.find("nightly_restart")
    ref = ref_of(conn, task)
    pid = sim.projects[0].id
    assert await conn.pause(ref, "maintenance window") is True

    path = f"/v1/{pid}/schedule-task/{task.id}"
    show = [r for r in sim.requests if r.path == path and r.method == "GET"]
    assert len(show) == 1
    listed = [
        r for r in sim.requests_to(f"/v1/{pid}/schedule-task", "GET") if r.query.get("task_name")
    ]
    assert listed
    assert listed[0].query["task_name"] == "nightly_restart"
    patches = sim.requests_to(path, "PATCH")
    assert len(patches) == 1
    assert patches[0].json() == {"is_enable": False}
    assert patches[0].headers["content-type"].startswith("application/json")
    assert authenticated(sim, patches[0])
    assert (await sandbox_state(sim))[task.id]["enabled"] is False

    # Idempotent: already paused → False, and nothing is sent.
    assert await conn.pause(ref, "again") is False
    assert len(sim.requests_to(path, "PATCH")) == 1
    state = await conn.read_state(ref)
    assert state.paused
    assert state.vendor_state == "is_enable=false"

    assert await conn.resume(ref) is True
    assert sim.requests_to(path, "PATCH")[-1].json() == {"is_enable": True}
    assert await conn.resume(ref) is False
    assert (await sandbox_state(sim))[task.id]["enabled"] is True


async def test_4a_show_without_is_enable_is_not_trusted(
    conn: HuaweiConnector, sim: HuaweiSimulator
) -> None:
    """is_enable from the list [INFERRED]: the simulated show leaves it out altogether."""
    task = sim.find("ops_disabled_stop")
    response = await call(
        sim, "GET", f"/v1/{sim.projects[0].id}/schedule-task/{task.id}", token=await raw_token(sim)
    )
    show = response.json()
    assert "is_enable" not in show
    state = await conn.read_state(ref_of(conn, task))
    assert state.paused is True
    # Disabled by someone else: pausing changes nothing.
    assert await conn.pause(ref_of(conn, task), "window") is False
    assert not sim.requests_to(f"/schedule-task/{task.id}", "PATCH")


@pytest.mark.parametrize("string_numbers", [False, True])
async def test_4b_put_sends_the_whole_definition(
    conn: HuaweiConnector, sim: HuaweiSimulator, string_numbers: bool
) -> None:
    """The PUT gap, safe reading: send back everything show returned, enable changed."""
    sim.quirks.string_numbers = string_numbers
    task = sim.find("desk_daily_reboot")
    ref = ref_of(conn, task)
    before = (await sandbox_state(sim))[task.id]
    extra_before = dict(task.extra)

    assert await conn.pause(ref, "window") is True
    path = f"/v2/{sim.projects[0].id}/scheduled-tasks/{task.id}"
    (put,) = sim.requests_to(path, "PUT")
    body = put.json()
    assert body["enable"] is False
    assert set(body) <= set(DESKTOP_UPDATE_FIELDS)
    assert "id" not in body
    assert body["task_name"] == "desk_daily_reboot"
    assert body["scheduled_type"] == "DAY"
    assert body["day_interval"] == 1  # a number, even when show sent "1"
    assert body["scheduled_time"] == task.fields["scheduled_time"]
    assert body["time_zone"] == "Asia/Shanghai"
    assert body["apply_objects"] == extra_before["apply_objects"]
    assert body["priority"] == 1  # from the list item
    assert body["wait_time"] == 0
    assert body["force_execute"] is False
    assert (await sandbox_state(sim))[task.id]["enabled"] is False

    assert await conn.resume(ref) is True
    assert sim.requests_to(path, "PUT")[-1].json()["enable"] is True
    after = (await sandbox_state(sim))[task.id]
    assert after == before
    assert task.extra == extra_before
    assert await conn.resume(ref) is False


async def test_204_update_answer_is_success(conn: HuaweiConnector, sim: HuaweiSimulator) -> None:
    sim.quirks.update_status = 204
    task = sim.find("nightly_restart")
    assert await conn.pause(ref_of(conn, task), "w") is True
    assert (await sandbox_state(sim))[task.id]["enabled"] is False


async def test_update_answer_contradicting_the_request_is_an_error(
    conn: HuaweiConnector, sim: HuaweiSimulator
) -> None:
    """Any 2xx is success (the PATCH/PUT answer is a gap), unless its body says otherwise."""
    task = sim.find("nightly_restart")
    sim.fail_updates(200, body={"id": task.id, "is_enable": True})
    with pytest.raises(ConnectorError, match="still shows is_enable=true"):
        await conn.pause(ref_of(conn, task), "w")
    assert (await sandbox_state(sim))[task.id]["enabled"] is True


# -- failures -------------------------------------------------------------------------------------


async def test_403_names_the_missing_permission(
    conn: HuaweiConnector, sim: HuaweiSimulator
) -> None:
    task = sim.find("desk_daily_reboot")
    sim.denied_actions.add("workspace:scheduledTasks:update")
    with pytest.raises(AuthError) as caught:
        await conn.pause(ref_of(conn, task), "window")
    assert caught.value.status == 403
    assert "workspace:scheduledTasks:update" in str(caught.value)
    assert (await sandbox_state(sim))[task.id]["enabled"] is True

    sim.denied_actions = {"workspace:scheduledTasks:list"}
    with pytest.raises(AuthError, match="workspace:scheduledTasks:list"):
        await conn.list_tasks()
    sim.denied_actions = {"workspace:scheduledTasks:listRecords"}
    with pytest.raises(AuthError, match="workspace:scheduledTasks:listRecords"):
        await conn.running_now()


async def test_deleted_task_is_a_404_naming_it(conn: HuaweiConnector, sim: HuaweiSimulator) -> None:
    for name in ("nightly_restart", "desk_daily_reboot"):
        task = sim.find(name)
        ref = ref_of(conn, task)
        del sim.tasks[task.id]
        with pytest.raises(ConnectorError) as caught:
            await conn.pause(ref, "window")
        assert caught.value.status == 404
        assert task.id in str(caught.value)
        assert "no longer exists" in str(caught.value)
        assert not caught.value.retryable


async def test_malformed_bodies_are_connector_errors(
    conn: HuaweiConnector, sim: HuaweiSimulator
) -> None:
    # Every rule fires on every matching request (times=10) and is cleared afterwards: when
    # one family's request fails, the other family's is cancelled on the client, but it may
    # still reach the simulator later and must not consume the next step's fault.
    sim.faults.fail(
        200,
        times=10,
        path_contains="/v1/",
        body=json.dumps({"count": 1, "items": [{"task_name": "x"}]}),
    )
    with pytest.raises(ConnectorError, match="id"):
        await conn.list_tasks()
    sim.faults.clear()
    sim.faults.fail(
        200, times=10, path_contains="/v2/", body=json.dumps({"scheduled_tasks": "none"})
    )
    with pytest.raises(ConnectorError, match="scheduled_tasks"):
        await conn.list_tasks()


async def test_vendor_error_text_is_quoted(conn: HuaweiConnector, sim: HuaweiSimulator) -> None:
    sim.faults.fail(
        400,
        path_contains="/v1/",
        body=json.dumps({"error_code": "WKS.0100", "error_msg": "The parameter is invalid."}),
    )
    with pytest.raises(ConnectorError, match="The parameter is invalid"):
        await conn.list_tasks()


@pytest.mark.parametrize("name", ["nightly_restart", "desk_daily_reboot"])
async def test_persistent_5xx_on_update_reports_nothing_changed(
    conn: HuaweiConnector, sim: HuaweiSimulator, name: str
) -> None:
    task = sim.find(name)
    sim.fail_updates(503, times=50)
    with pytest.raises(ConnectorError) as caught:
        await conn.pause(ref_of(conn, task), "window")
    assert caught.value.retryable
    assert caught.value.status == 503
    assert (await sandbox_state(sim))[task.id]["enabled"] is True
    method = "PATCH" if task.family == "app" else "PUT"
    assert len(sim.requests_to(task.id, method)) == conn.http.retry.attempts


async def test_transient_5xx_on_update_is_retried(
    conn: HuaweiConnector, sim: HuaweiSimulator
) -> None:
    task = sim.find("nightly_restart")
    sim.fail_updates(503, times=2)
    assert await conn.pause(ref_of(conn, task), "window") is True
    assert (await sandbox_state(sim))[task.id]["enabled"] is False


async def test_refs_of_other_vendors_are_refused(conn: HuaweiConnector) -> None:
    with pytest.raises(ConnectorError, match="not a Huawei"):
        await conn.pause(TaskRef(system=conn.system, kind=TaskKind.ETL, id="1"), "w")


async def test_families_limit_what_is_called(
    server: SandboxServer, sim: HuaweiSimulator, clock: ManualClock
) -> None:
    async with make(sim, clock, families=["desktop"]) as desk_only:
        tasks = await desk_only.list_tasks()
    assert {t.kind for t in tasks} == {TaskKind.DESKTOP_TASK}
    assert not sim.requests_to("/v1/")


# -- readings of gaps, one test each ---------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "running"),
    [
        ("RUNNING", True),
        ("EXECUTING", True),
        ("WAITING", True),
        ("PENDING", True),
        ("in_progress", True),
        ("SUCCESS", False),
        ("FAIL", False),
        ("SKIP", False),
        ("PARTIAL_SUCCESS", False),
    ],
)
async def test_4b_record_status_words(
    conn: HuaweiConnector, sim: HuaweiSimulator, status: str, running: bool
) -> None:
    """The 4B record status enum is a gap: the in-progress words chosen, case-insensitive."""
    task = sim.find("desk_daily_reboot")
    body = {
        "total_count": 1,
        "tasks_records": [{"id": "r1", "start_time": "2026-11-18 17:50:00", "status": status}],
    }
    sim.faults.fail(200, path_contains=f"{task.id}/records", body=json.dumps(body))
    found = {r.task.id: r for r in await conn.running_now()}
    assert (task.id in found) is running
    if running:
        # start_time without a zone is read as UTC [INFERRED]; 4B gives no duration.
        assert found[task.id].started_at == datetime(2026, 11, 18, 17, 50, tzinfo=UTC)
        assert found[task.id].expected_duration is None


async def test_disabling_does_not_stop_a_run_in_progress(
    conn: HuaweiConnector, sim: HuaweiSimulator
) -> None:
    """[INFERRED] pausing stops future runs only; the current one is still reported."""
    for name in ("running_restart", "desk_rebuild_running"):
        task = sim.find(name)
        assert await conn.pause(ref_of(conn, task), "window") is True
    running = {sim.tasks[r.task.id].name for r in await conn.running_now()}
    assert {"running_restart", "desk_rebuild_running"} <= running


async def test_appstream_url_defaults_to_base_url_and_iam_url_may_end_in_v3(
    server: SandboxServer, sim: HuaweiSimulator, clock: ManualClock
) -> None:
    """The intl 4A host is a gap: without appstream_url, v1 goes to base_url."""
    entry = sim.config_entry(auth="password")
    del entry["appstream_url"]
    entry["iam_url"] = sim.base_url + "/v3/"
    config = HuaweiConfig.model_validate(entry)
    connector = from_config(
        "hw", config, {"username": sim.username, "password": sim.password}, clock=clock
    )
    async with connector:
        tasks = await connector.list_tasks()
    assert {t.kind for t in tasks} == {TaskKind.APP_TASK, TaskKind.DESKTOP_TASK}
    assert len(sim.requests_to("/v3/auth/tokens")) == 1


async def test_listed_next_time_spares_show_calls_without_changing_the_answer(
    conn: HuaweiConnector, sim: HuaweiSimulator, clock: ManualClock
) -> None:
    """4B list items have no schedule fields [SEEN SDK], so each desktop task needs a show,
    except when its listed next_execution_time (read at UTC+14, the earliest it could mean)
    is already past the end of the range."""
    now = clock()
    end = now + timedelta(hours=5)
    fast = await conn.upcoming_runs(now, end)
    pid = sim.projects[0].id
    shows = [
        r
        for r in sim.requests_to(f"/v2/{pid}/scheduled-tasks/", "GET")
        if not r.path.endswith("/records")
    ]
    enabled_desktops = [
        t
        for t in sim.tasks.values()
        if t.project_id == pid
        and t.family == "desktop"
        and t.enabled
        and t.fields.get("scheduled_type") != "LIFE_CYCLE"
    ]
    assert len(shows) < len(enabled_desktops)

    # A range starting in the past turns the shortcut off; the runs from now on agree.
    full = await conn.upcoming_runs(now - timedelta(seconds=5), end)
    key = lambda r: (r.task.key, r.at)  # noqa: E731
    assert sorted(fast, key=key) == sorted(
        (r for r in full if r.at is None or r.at >= now), key=key
    )


async def test_vendor_next_time_missing_from_the_expansion_is_reported_too(
    conn: HuaweiConnector, sim: HuaweiSimulator, clock: ManualClock
) -> None:
    """If maintbot misreads a rule, Huawei's own next_execution_time still shows the run."""
    pid = sim.projects[0].id
    item = {
        "id": "odd-1",
        "task_name": "odd_weekly",
        "scheduled_type": "WEEK",
        "week_list": "1",  # Sundays at 09:00 Shanghai: not in the next hours
        "scheduled_time": "09:00:00",
        "time_zone": "Asia/Shanghai",
        "next_execution_time": "2026-11-18T20:00:00Z",  # but Huawei says tonight
        "is_enable": True,
        "last_status": "SUCCESS",
    }
    sim.faults.fail(
        200,
        path_contains=f"/v1/{pid}/schedule-task",
        body=json.dumps({"count": 1, "items": [item]}),
    )
    runs = await conn.upcoming_runs(clock(), clock() + timedelta(hours=6))
    odd = [r for r in runs if r.task.id == "odd-1"]
    assert [r.at for r in odd] == [datetime(2026, 11, 18, 20, 0, tzinfo=UTC)]


async def test_unreadable_schedule_may_fire_at_any_time(
    conn: HuaweiConnector, sim: HuaweiSimulator, clock: ManualClock
) -> None:
    pid = sim.projects[0].id
    items = [
        {
            "id": "zone-1",
            "task_name": "unknown_zone",
            "scheduled_type": "DAY",
            "scheduled_time": "09:00:00",
            "time_zone": "Mars/Olympus_Mons",
            "is_enable": True,
        },
        {
            "id": "zone-2",
            "task_name": "unknown_zone_disabled",
            "scheduled_type": "DAY",
            "scheduled_time": "09:00:00",
            "time_zone": "Mars/Olympus_Mons",
            "is_enable": False,
        },
    ]
    sim.faults.fail(
        200,
        path_contains=f"/v1/{pid}/schedule-task",
        body=json.dumps({"count": "2", "items": items}),
    )
    runs = await conn.upcoming_runs(clock(), clock() + timedelta(hours=6))
    odd = [r for r in runs if r.task.id.startswith("zone-")]
    assert len(odd) == 1
    assert odd[0].at is None
    assert odd[0].note is not None
    assert "Mars/Olympus_Mons" in odd[0].note
