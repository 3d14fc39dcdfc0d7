"""Huawei pause/resume loses nothing, proven against Huawei's official SDK.

A desktop (4B) update is a ``PUT`` that the simulator reads as a full replace, so whatever
the connector leaves out of the body is gone from the task. These tests hold the simulator
and the connector to the field lists of the SDK's own models (``huaweicloudsdkworkspace``,
installed with the test extra), pause and resume every sample task over loopback, and
compare what the simulator keeps before, during and after, field by field for every field
those models name. App (4A) tasks use a partial ``PATCH`` and are held to the same result.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from conftest import REFERENCE_NOW
from huaweicloudsdkcore.utils.http_utils import sanitize_for_serialization
from huaweicloudsdkworkspace.v2 import WorkspaceClient
from huaweicloudsdkworkspace.v2.model import (
    ApplyObject,
    ScheduledTask,
    ShowScheduledTasksResponse,
    UpdateScheduledTasksReq,
)
from test_huawei_contract import call, make, raw_token, ref_of

from bot.clock import ManualClock
from bot.connectors.huawei import HuaweiConnector
from bot.connectors.huawei.desktop import (
    _INT_FIELDS,
    DESKTOP_SHOW_ONLY_FIELDS,
    DESKTOP_UPDATE_FIELDS,
    DESKTOP_WRITE_ONLY_FIELDS,
)
from bot.errors import ConnectorError
from bot.sandbox.base import RecordedRequest, SandboxServer
from bot.sandbox.huawei import (
    APPLY_OBJECT_TYPES,
    DESKTOP_LIST_TYPES,
    DESKTOP_SHOW_TYPES,
    DESKTOP_UPDATE_TYPES,
    HuaweiSimulator,
    SimTask,
)


def sdk_fields(model: type[Any]) -> dict[str, str]:
    """JSON key -> SDK type of one SDK model."""
    return {model.attribute_map[k]: t for k, t in model.openapi_types.items()}


SHOW = sdk_fields(ShowScheduledTasksResponse)
LIST_ITEM = sdk_fields(ScheduledTask)
UPDATE = sdk_fields(UpdateScheduledTasksReq)
# Every field the SDK's desktop task models name: what a round trip must leave as it was.
EVERY_FIELD = sorted({*SHOW, *LIST_ITEM, *UPDATE})
ABSENT = "<absent>"


def _sample(family: str) -> list[tuple[str, int]]:
    sim = HuaweiSimulator(clock=ManualClock(REFERENCE_NOW))
    index = {p.id: i for i, p in enumerate(sim.projects)}
    return [(t.name, index[t.project_id]) for t in sim.tasks.values() if t.family == family]


DESKTOP_TASKS = _sample("desktop")
APP_TASKS = _sample("app")


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[HuaweiSimulator]:
    simulator = HuaweiSimulator(clock=clock)
    with SandboxServer([simulator]):
        yield simulator


@pytest.fixture
async def conn(sim: HuaweiSimulator, clock: ManualClock) -> AsyncIterator[HuaweiConnector]:
    connector = make(sim, clock)
    yield connector
    await connector.aclose()


def differences(before: dict[str, Any], after: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Field -> (before, after) for every SDK-named field that changed."""
    return {
        k: (before.get(k, ABSENT), after.get(k, ABSENT))
        for k in EVERY_FIELD
        if before.get(k, ABSENT) != after.get(k, ABSENT)
    }


async def served(sim: HuaweiSimulator, task: SimTask) -> tuple[dict[str, Any], dict[str, Any]]:
    """The task's show body and list item, as the simulator serves them over HTTP."""
    project = next(i for i, p in enumerate(sim.projects) if p.id == task.project_id)
    token = await raw_token(sim, project)
    base = f"/v2/{task.project_id}/scheduled-tasks"
    show = await call(sim, "GET", f"{base}/{task.id}", token=token)
    params = {"offset": "0", "limit": "50", "task_name": task.name}
    if task.fields["scheduled_type"] == "LIFE_CYCLE":
        params["scheduled_type"] = "LIFE_CYCLE"
    listed = await call(sim, "GET", base, token=token, params=params)
    assert show.status_code == listed.status_code == 200
    (item,) = [i for i in listed.json()["scheduled_tasks"] if i["id"] == task.id]
    return show.json(), item


def as_sdk(body: dict[str, Any], model: str) -> Any:
    """``body`` read by the SDK's own deserialiser, as its client reads a response."""
    return WorkspaceClient()._deserialize(body, model)


async def flip(conn: HuaweiConnector, task: SimTask, *, to: bool) -> bool:
    """Resume (``to=True``) or pause the task through the connector."""
    ref = ref_of(conn, task)
    return await conn.resume(ref) if to else await conn.pause(ref, "window")


def answer_show_once(sim: HuaweiSimulator, task: SimTask, show: dict[str, Any]) -> None:
    """The next request for the task (the connector's show) is answered with ``show``."""
    path = f"/scheduled-tasks/{task.id}"
    sim.faults.fail(200, times=1, path_contains=path, body=json.dumps(show))


def puts(sim: HuaweiSimulator, task: SimTask) -> list[RecordedRequest]:
    return sim.requests_to(f"/scheduled-tasks/{task.id}", "PUT")


# -- (a) the simulator's and the connector's field lists are the SDK's ------------------------


@pytest.mark.parametrize(
    ("table", "model"),
    [
        (DESKTOP_SHOW_TYPES, ShowScheduledTasksResponse),
        (DESKTOP_LIST_TYPES, ScheduledTask),
        (DESKTOP_UPDATE_TYPES, UpdateScheduledTasksReq),
        (APPLY_OBJECT_TYPES, ApplyObject),
    ],
    ids=lambda v: getattr(v, "__name__", "simulator"),
)
def test_simulator_tables_are_the_sdk_models(table: dict[str, str], model: type[Any]) -> None:
    assert table == sdk_fields(model)


def test_connector_field_lists_are_the_sdk_models() -> None:
    assert set(DESKTOP_UPDATE_FIELDS) == set(UPDATE)
    assert len(DESKTOP_UPDATE_FIELDS) == len(UPDATE)
    # Dropped from the PUT because the update does not take them: exactly the show's extras.
    assert set(SHOW) - set(UPDATE) == DESKTOP_SHOW_ONLY_FIELDS
    # Not sent because no read returns them: exactly the update's fields nobody shows.
    assert set(UPDATE) - set(SHOW) - set(LIST_ITEM) == DESKTOP_WRITE_ONLY_FIELDS
    assert {k for k, t in UPDATE.items() if t == "int"} == _INT_FIELDS


async def test_simulator_serves_sdk_fields_only_and_every_one_of_them(
    sim: HuaweiSimulator,
) -> None:
    shown: set[str] = set()
    listed: set[str] = set()
    for task in (t for t in sim.tasks.values() if t.family == "desktop"):
        show, item = await served(sim, task)
        assert set(show) <= set(SHOW), task.name
        assert set(item) <= set(LIST_ITEM), task.name
        # Each answer reads back through the SDK unchanged: the types are the SDK's too.
        for body, model in ((show, "ShowScheduledTasksResponse"), (item, "ScheduledTask")):
            as_read = sanitize_for_serialization(as_sdk(body, model))
            assert as_read == {k: v for k, v in body.items() if v is not None}, task.name
        shown |= {k for k, v in show.items() if v is not None}
        listed |= set(item)
    # Every optional field is set on at least one sample task.
    assert shown == set(SHOW)
    assert listed == set(LIST_ITEM)


def test_sample_data_has_what_a_lossy_update_would_lose(sim: HuaweiSimulator) -> None:
    desktop = [sim.definition(t) for t in sim.tasks.values() if t.family == "desktop"]
    event_triggered = [d for d in desktop if d["scheduled_type"] == "LIFE_CYCLE"]
    assert len(event_triggered) >= 2
    assert all(d.get("life_cycle_exec_period") for d in event_triggered)
    assert any(d.get("wait_time") for d in desktop)
    assert any(d.get("gray_desktop_ids") for d in desktop)
    assert any("extra_params" in d and d["extra_params"] is None for d in desktop)


# -- (b, c) every desktop task: pause, resume, compare -----------------------------------------


@pytest.mark.parametrize("string_numbers", [False, True], ids=["numbers", "numbers-as-text"])
@pytest.mark.parametrize(("name", "project"), DESKTOP_TASKS, ids=[n for n, _ in DESKTOP_TASKS])
async def test_desktop_pause_and_resume_keep_every_field(
    sim: HuaweiSimulator, clock: ManualClock, name: str, project: int, string_numbers: bool
) -> None:
    sim.quirks.string_numbers = string_numbers
    task = sim.find(name, project)
    before = copy.deepcopy(sim.definition(task))
    show_before, item_before = await served(sim, task)
    was_enabled = task.enabled
    async with make(sim, clock, project) as conn:
        # A task someone else disabled is enabled first, then disabled: the same two PUTs.
        assert await flip(conn, task, to=not was_enabled) is True
        flipped = sim.definition(task)
        assert differences(before, flipped) == {"enable": (was_enabled, not was_enabled)}

        assert await flip(conn, task, to=was_enabled) is True
        assert differences(before, sim.definition(task)) == {}
        assert sim.definition(task) == before
    assert await served(sim, task) == (show_before, item_before)

    # (c) each body is an UpdateScheduledTasksReq to the SDK, nothing lost in reading it, and
    # carries every field the show gave that the update accepts, as the show gave it.
    bodies = [r.json() for r in puts(sim, task)]
    assert [b["enable"] for b in bodies] == [not was_enabled, was_enabled]
    for body in bodies:
        assert set(body) <= set(UPDATE)
        request = as_sdk(body, "UpdateScheduledTasksReq")
        assert isinstance(request, UpdateScheduledTasksReq)
        assert sanitize_for_serialization(request) == {
            k: v for k, v in body.items() if v is not None
        }
        for key in set(show_before) & set(UPDATE):
            sent, shown = body[key], show_before[key]
            if key in _INT_FIELDS and isinstance(shown, str):
                shown = int(shown)  # numbers served as text go back as the SDK's int
            assert sent == shown, key
        # Update fields the show lacks come from the list item.
        for key in (set(item_before) & set(UPDATE)) - set(show_before) - {"enable"}:
            assert str(body[key]) == str(item_before[key]), key
        assert not set(body) & (DESKTOP_SHOW_ONLY_FIELDS | DESKTOP_WRITE_ONLY_FIELDS)


async def test_event_triggered_task_keeps_its_period_and_wait(
    conn: HuaweiConnector, sim: HuaweiSimulator
) -> None:
    """The fields the fixed list used to drop, named once more where a reader looks first."""
    task = sim.find("desk_disconnect_script")
    assert await conn.pause(ref_of(conn, task), "window") is True
    (body,) = [r.json() for r in puts(sim, task)]
    assert body["life_cycle_exec_period"] == 120
    assert body["wait_time"] == 10
    assert body["priority"] == 2
    assert task.extra["life_cycle_exec_period"] == 120
    assert await conn.resume(ref_of(conn, task)) is True
    assert task.extra["life_cycle_exec_period"] == 120


# -- (d) bad input: a show that cannot be written back is refused, nothing sent ---------------


@pytest.mark.parametrize(
    ("name", "drop", "named"),
    [
        ("desk_daily_reboot", "scheduled_time", "scheduled_time (a DAY task needs it)"),
        ("desk_daily_reboot", "day_interval", "day_interval"),
        ("desk_sunday_stop", "week_list", "week_list (a WEEK task needs it)"),
        ("desk_month_snapshot", "date_list", "date_list"),
        ("desk_fixed_start", "scheduled_date", "scheduled_date"),
        ("desk_month_snapshot", "month_list", "month_list (a MONTH task needs it)"),
    ],
)
async def test_show_missing_a_needed_field_is_refused_and_nothing_written(
    conn: HuaweiConnector, sim: HuaweiSimulator, name: str, drop: str, named: str
) -> None:
    task = sim.find(name)
    before = copy.deepcopy(sim.definition(task))
    show, _ = await served(sim, task)
    del show[drop]
    answer_show_once(sim, task, show)
    with pytest.raises(ConnectorError) as caught:
        await conn.pause(ref_of(conn, task), "window")
    message = str(caught.value)
    assert named in message
    assert "sent nothing" in message
    assert "Huawei console" in message
    assert puts(sim, task) == []
    assert sim.definition(task) == before
    # The next read is whole again, and the pause goes through.
    assert await conn.pause(ref_of(conn, task), "window") is True
    assert differences(before, sim.definition(task)) == {"enable": (True, False)}


async def test_a_field_the_show_lacks_comes_from_the_list_item(
    conn: HuaweiConnector, sim: HuaweiSimulator
) -> None:
    """The list item (ScheduledTask) also names life_cycle_type, life_cycle_exec_period and
    wait_time: a show without them is completed from it, not refused or written back short."""
    task = sim.find("desk_disconnect_script")
    before = copy.deepcopy(sim.definition(task))
    show, _ = await served(sim, task)
    for key in ("life_cycle_type", "life_cycle_exec_period", "wait_time"):
        del show[key]
    answer_show_once(sim, task, show)
    assert await conn.pause(ref_of(conn, task), "window") is True
    (body,) = [r.json() for r in puts(sim, task)]
    assert body["life_cycle_type"] == "POST_DESKTOP_DISCONNECTED"
    assert body["life_cycle_exec_period"] == 120
    assert body["wait_time"] == 10
    assert differences(before, sim.definition(task)) == {"enable": (True, False)}


async def test_show_with_a_field_the_update_does_not_take_is_sent_without_it(
    conn: HuaweiConnector, sim: HuaweiSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A field a newer Huawei shows but the update model does not name would be refused by
    the update, so it is left out and named in the log."""
    task = sim.find("desk_daily_reboot")
    show, _ = await served(sim, task)
    show["rollout_ring"] = "canary"
    answer_show_once(sim, task, show)
    with caplog.at_level(logging.WARNING, logger="bot.connectors.huawei"):
        assert await conn.pause(ref_of(conn, task), "window") is True
    (body,) = [r.json() for r in puts(sim, task)]
    assert "rollout_ring" not in body
    assert "task_type" not in body
    assert "id" not in body
    assert any("rollout_ring" in r.getMessage() for r in caplog.records)


# -- the simulator is the vendor's reading: a full replace that checks its body ---------------


async def desk_put(sim: HuaweiSimulator, task: SimTask, body: dict[str, Any]) -> Any:
    path = f"/v2/{task.project_id}/scheduled-tasks/{task.id}"
    return await call(sim, "PUT", path, token=await raw_token(sim), json=body)


async def test_simulator_put_loses_what_it_is_not_sent(sim: HuaweiSimulator) -> None:
    """What made the bug visible: a body from a fixed field list that lacks
    ``life_cycle_exec_period`` and ``wait_time`` leaves the task without them."""
    task = sim.find("desk_disconnect_script")
    show, _ = await served(sim, task)
    lossy = {
        k: v
        for k, v in show.items()
        if k in UPDATE and k not in ("life_cycle_exec_period", "wait_time")
    }
    response = await desk_put(sim, task, {**lossy, "enable": False})
    assert response.status_code == 200
    after, item = await served(sim, task)
    assert "life_cycle_exec_period" not in after
    assert "wait_time" not in after
    assert "priority" not in item  # not sent either


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"task_type": "REBOOT"}, "Unknown parameter task_type."),
        ({"id": "x"}, "Unknown parameter id."),
        ({"day_interval": "1"}, "The parameter day_interval must be an integer."),
        ({"enable": "false"}, "The parameter enable must be a boolean."),
        ({"gray_desktop_ids": "a,b"}, "The parameter gray_desktop_ids must be a list of strings."),
        ({"apply_objects": [{"object_id": 1}]}, "apply_objects must be a list of {object_id"),
        ({"life_cycle_exec_period": 0}, "life_cycle_exec_period must be between 1 and 10080"),
        ({"apply_object_update_type": "MERGE"}, "must be FULL_COVERAGE or CLEAR_ALL"),
        ({"task_name": ""}, "The parameter task_name is required."),
    ],
)
async def test_simulator_refuses_a_put_body_that_is_not_an_update_request(
    sim: HuaweiSimulator, change: dict[str, Any], message: str
) -> None:
    task = sim.find("desk_daily_reboot")
    before = copy.deepcopy(sim.definition(task))
    show, _ = await served(sim, task)
    body = {k: v for k, v in show.items() if k in UPDATE}
    response = await desk_put(sim, task, {**body, "enable": False, **change})
    assert response.status_code == 400
    error = response.json()
    assert set(error) == {"error_code", "error_msg"}  # Huawei's error shape
    assert message in error["error_msg"]
    assert sim.definition(task) == before


async def test_simulator_clear_all_empties_the_apply_objects(sim: HuaweiSimulator) -> None:
    task = sim.find("desk_daily_reboot")
    show, _ = await served(sim, task)
    body = {k: v for k, v in show.items() if k in UPDATE}
    response = await desk_put(sim, task, {**body, "apply_object_update_type": "CLEAR_ALL"})
    assert response.status_code == 200
    assert task.extra["apply_objects"] == []
    assert task.enabled  # no enable sent: left as it was


# -- app (4A) tasks: a partial PATCH of is_enable ----------------------------------------------


@pytest.mark.parametrize(("name", "project"), APP_TASKS, ids=[n for n, _ in APP_TASKS])
async def test_app_pause_and_resume_patch_only_the_flag(
    sim: HuaweiSimulator, clock: ManualClock, name: str, project: int
) -> None:
    task = sim.find(name, project)
    before = copy.deepcopy(sim.definition(task))
    was_enabled = task.enabled
    async with make(sim, clock, project) as conn:
        assert await flip(conn, task, to=not was_enabled) is True
        flipped = sim.definition(task)
        assert flipped == {**before, "is_enable": not was_enabled}
        assert await flip(conn, task, to=was_enabled) is True
    assert sim.definition(task) == before
    patches = [r.json() for r in sim.requests_to(f"/schedule-task/{task.id}", "PATCH")]
    assert patches == [{"is_enable": not was_enabled}, {"is_enable": was_enabled}]
