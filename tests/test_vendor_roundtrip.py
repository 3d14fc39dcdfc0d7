"""Pause then resume leaves every vendor's task as it was, every field, over loopback.

Huawei's desktop update is a full replace and has its own proof against the SDK in
tests/test_huawei_roundtrip.py. The other writes are targeted actions, which cannot touch a
definition by construction; these tests hold them to it from the vendor's side, reading the
task the way the vendor serves it before, during and after:

* Talend ``PUT …/tasks|plans/{id}/pause`` with ``TaskPauseDetails`` (``pause``,
  ``pauseContext``) only: a sub-resource, not the task.
* Pyramid ``suspendSchedule`` / ``resumeSchedule``: the schedule id alone.
* BMC ``POST …/etls/{id}/stop``, ``/schedule``, ``/run``: no body at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import REFERENCE_NOW
from test_bmc import make as make_bmc
from test_bmc import raw_get
from test_bmc import ref as bmc_ref
from test_pyramid import make as make_pyramid
from test_pyramid import raw_post
from test_pyramid import ref as pyramid_ref
from test_talend import make as make_talend
from test_talend import ref as talend_ref

from bot.clock import ManualClock
from bot.connectors.bmc import ETLS_PATH
from bot.errors import ConnectorError
from bot.sandbox.base import SandboxServer
from bot.sandbox.bmc import BmcSimulator
from bot.sandbox.pyramid import PyramidSimulator
from bot.sandbox.talend import TalendSimulator

_CLOCK = ManualClock(REFERENCE_NOW)


def without(view: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in view.items() if k not in keys}


# -- Talend ------------------------------------------------------------------------------------

_TALEND = TalendSimulator(clock=_CLOCK)
TALEND_ITEMS = sorted(
    _TALEND.executable(i).name
    for i in _TALEND._items
    if _TALEND.workspaces[_TALEND.executable(i).workspace_id].environment_id
    == _TALEND.environment_id
)


@pytest.fixture
def talend(clock: ManualClock) -> Iterator[TalendSimulator]:
    simulator = TalendSimulator(clock=clock)
    with SandboxServer([simulator]):
        yield simulator


async def talend_view(sim: TalendSimulator, name: str) -> dict[str, Any]:
    """The task or plan as Talend serves it (``GET …/tasks|plans/{id}``)."""
    exe = sim.executable(sim.id_of(name))
    path = f"/orchestration/executables/{exe.kind.lower()}s/{exe.id}"
    headers = {"Authorization": f"Bearer {sim.personal_token}"}
    async with httpx.AsyncClient(base_url=sim.base_url) as client:
        response = await client.get(path, headers=headers)
    assert response.status_code == 200
    view: dict[str, Any] = response.json()
    return view


@pytest.mark.parametrize("name", TALEND_ITEMS)
async def test_talend_pause_and_resume_touch_only_the_pause_details(
    talend: TalendSimulator, clock: ManualClock, name: str
) -> None:
    target = talend_ref(talend, name)
    details = "taskPauseDetails" if target.kind.value == "task" else "planPauseDetails"
    before = await talend_view(talend, name)
    async with make_talend(talend, clock) as conn:
        paused = await conn.pause(target, "maintenance window MW-1")
        during = await talend_view(talend, name)
        assert without(during, details) == without(before, details)
        assert during[details]["pause"] is True
        if not paused:
            # Someone else's pause: Talend answered 204 and nothing changed, not even who.
            assert during == before
            return
        assert during[details]["pauseContext"] == "maintenance window MW-1"
        assert await conn.resume(target) is True
    assert await talend_view(talend, name) == before
    (write, undo) = [r.json() for r in talend.requests if r.method == "PUT"]
    assert write == {"pause": True, "pauseContext": "maintenance window MW-1"}
    assert undo == {"pause": False}


# -- Pyramid -----------------------------------------------------------------------------------

# Every schedule the connector can see: a DELETED one is not listed, so never paused.
PYRAMID_SCHEDULES = sorted(
    s.name for s in PyramidSimulator(clock=_CLOCK).schedules if s.status_at(_CLOCK()) != "DELETED"
)


@pytest.fixture
def pyramid(clock: ManualClock) -> Iterator[PyramidSimulator]:
    simulator = PyramidSimulator(clock=clock)
    with SandboxServer([simulator]):
        yield simulator


async def pyramid_view(sim: PyramidSimulator, name: str) -> dict[str, Any]:
    """The schedule as ``findSchedule`` serves it (a ScheduleViewObject)."""
    criteria = {"searchCriteria": {"searchValue": name, "searchMatchType": "Equals"}}
    response = await raw_post(sim, "findSchedule", criteria)
    assert response.status_code == 200
    (view,) = response.json()
    assert isinstance(view, dict)
    return view


@pytest.mark.parametrize("name", PYRAMID_SCHEDULES)
async def test_pyramid_suspend_and_resume_change_only_the_status(
    pyramid: PyramidSimulator, clock: ManualClock, name: str
) -> None:
    target = pyramid_ref(pyramid, name)
    before = await pyramid_view(pyramid, name)
    async with make_pyramid(pyramid, clock) as conn:
        paused = await conn.pause(target, "window")
        during = await pyramid_view(pyramid, name)
        assert without(during, "status") == without(before, "status")
        if not paused:
            # Already suspended, or a schedule that will not fire: nothing was sent.
            assert during == before
            assert not pyramid.requests_to("suspendSchedule")
            return
        assert during["status"] != before["status"]
        assert await conn.resume(target) is True
    assert await pyramid_view(pyramid, name) == before
    bodies = [r.json() for r in pyramid.requests if "Schedule" in r.path and "find" not in r.path]
    assert bodies == [target.id, target.id]  # the id alone, nothing of the schedule


# -- BMC ---------------------------------------------------------------------------------------

BMC_ETLS = sorted(e.name for e in BmcSimulator(clock=_CLOCK).etls)


@pytest.fixture
def bmc(clock: ManualClock) -> Iterator[BmcSimulator]:
    simulator = BmcSimulator(clock=clock)
    with SandboxServer([simulator]):
        yield simulator


async def bmc_view(sim: BmcSimulator, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ETL's list item (its definition) and its status, as BMC serves them."""
    etl_id = sim.by_name(name).etl_id
    listed = await raw_get(sim, ETLS_PATH)
    status = await raw_get(sim, f"{ETLS_PATH}{etl_id}/status")
    assert listed.status_code == status.status_code == 200
    (item,) = [i for i in listed.json() if i["etl_id"] == etl_id]
    return item, status.json()


@pytest.mark.parametrize("name", BMC_ETLS)
async def test_bmc_stop_and_rearm_change_only_the_state(
    bmc: BmcSimulator, clock: ManualClock, name: str
) -> None:
    target = bmc_ref(bmc, name)
    etl = bmc.by_name(name)
    item, status = await bmc_view(bmc, name)
    scheduled = etl.scheduled
    async with make_bmc(bmc, clock) as conn:
        if bmc.state_of(etl.etl_id) == "RUNNING" and not etl.service:
            # A running batch ETL is not stopped (stop would abort the run): nothing sent.
            with pytest.raises(ConnectorError, match="running a batch execution"):
                await conn.pause(target, "window")
            paused = False
        else:
            paused = await conn.pause(target, "window")
        during_item, during_status = await bmc_view(bmc, name)
        assert during_item == item
        if not paused:
            assert during_status == status
            assert not [r for r in bmc.requests if r.method == "POST" and "/etls/" in r.path]
            return
        assert without(during_status, "status") == without(status, "status")
        assert await conn.resume(target) is True
    after_item, after_status = await bmc_view(bmc, name)
    assert after_item == item
    assert etl.scheduled == scheduled
    # A service ETL comes back by being run again, which is an execution: its time is new.
    moved = ("last_exec_ts",) if etl.service else ()
    assert without(after_status, *moved) == without(status, *moved)
    actions = [
        r.path.rsplit("/", 1)[1] for r in bmc.requests if "/etls/" in r.path and r.method == "POST"
    ]
    assert actions == ["stop", "run" if etl.service else "schedule"]
    assert all(
        not r.body.strip() for r in bmc.requests if r.method == "POST" and "/etls/" in r.path
    )
