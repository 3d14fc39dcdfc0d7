"""The vendors' own groupings of their tasks (``Task.groups``), read by each connector from its
simulator over loopback: Talend's workspace and environment names (TaskV21 and
PlanExecutableDetails ``workspace``), Pyramid's schedule type (ScheduleViewObject ``type``;
the API has no folder), none for BMC (the ETL list has no grouping field), and Huawei's
``task_type`` with the project the listing was made in. The groups reach the conflicts and
survive the stored report. A group field of the wrong type is an error for that system: see
tests/vendor_fault_cases.py (run by tests/test_vendor_schemas.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.check import Scheduler, open_schedulers
from bot.clock import system_clock
from bot.config import Config, Settings
from bot.model import Task
from bot.sandbox import SandboxServer, make_simulators
from bot.sandbox.huawei import HuaweiSimulator
from bot.sandbox.talend import TalendSimulator
from bot.service import Maintbot
from bot.store import Store


def wide_config(server: SandboxServer) -> Config:
    """The four simulators, plus Talend's development environment and Huawei's second
    project as systems of their own: two environments, two projects."""
    schedulers: dict[str, Any] = {}
    env: dict[str, str] = {}
    for sim in server.simulators:
        schedulers[sim.vendor] = sim.config_entry()
        env.update(sim.credentials())
    talend = server.by_vendor("talend")
    huawei = server.by_vendor("huawei")
    assert isinstance(talend, TalendSimulator)
    assert isinstance(huawei, HuaweiSimulator)
    dev = next(e for e in talend.environments if not e.default)
    schedulers["talend-dev"] = {**talend.config_entry(), "environment_id": dev.id}
    schedulers["huawei-dr"] = huawei.config_entry(1)
    return Config.model_validate(
        {
            "maintbot": {"deadline_seconds": 20.0},
            "schedulers": schedulers,
            "extra_env": env,
            "source": "tests",
        }
    )


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(make_simulators()) as running:
        yield running


@pytest.fixture
async def listed(server: SandboxServer) -> AsyncIterator[dict[str, list[Task]]]:
    schedulers: list[Scheduler] = open_schedulers(wide_config(server), system_clock)
    try:
        found = {}
        for s in schedulers:
            assert s.connector is not None, s.error
            found[s.name] = await s.connector.list_tasks()
        yield found
    finally:
        for s in schedulers:
            await s.aclose()


def _by_id(tasks: list[Task]) -> dict[str, Task]:
    return {t.id: t for t in tasks}


async def test_talend_groups_are_workspace_and_environment_names(
    server: SandboxServer, listed: dict[str, list[Task]]
) -> None:
    sim = server.by_vendor("talend")
    assert isinstance(sim, TalendSimulator)
    env_names = {e.id: e.name for e in sim.environments}
    state = {t["id"]: t for t in sim.state()["tasks"]}
    for system in ("talend", "talend-dev"):
        assert listed[system]
        for task in listed[system]:
            vendor = state[task.id]
            assert task.groups == (
                ("workspace", vendor["workspace"]),
                ("environment", env_names[vendor["environment"]]),
            ), task
    # Plans too (their list carries PlanExecutableDetails with the workspace).
    plan = _by_id(listed["talend"])[sim.id_of("Nightly DWH plan")]
    assert plan.groups == (("workspace", "Data Platform"), ("environment", "Production"))
    workspaces = {v for t in listed["talend"] for k, v in t.groups if k == "workspace"}
    assert workspaces == {"Data Platform", "Finance", "Sales & CRM"}
    assert {v for t in listed["talend-dev"] for k, v in t.groups if k == "environment"} == {
        "Development"
    }


async def test_talend_without_the_nested_environment_has_no_environment_group(
    server: SandboxServer,
) -> None:
    sim = server.by_vendor("talend")
    assert isinstance(sim, TalendSimulator)
    # The use-case page's flat environmentId (contracts §1.5 CONFLICT) names no environment.
    sim.nested_environment = False
    schedulers = open_schedulers(wide_config(server), system_clock)
    try:
        (connector,) = [s.connector for s in schedulers if s.name == "talend"]
        assert connector is not None
        ref = _by_id(await connector.list_tasks())[sim.id_of("finance_daily_close")].ref
        task = await connector.read_state(ref)
    finally:
        sim.nested_environment = True
        for scheduler in schedulers:
            await scheduler.aclose()
    assert task.groups == (("workspace", "Finance"),)


async def test_pyramid_groups_are_the_schedule_type(
    server: SandboxServer, listed: dict[str, list[Task]]
) -> None:
    state = {str(t["id"]): t for t in server.by_vendor("pyramid").state()["tasks"]}
    types = set()
    for task in listed["pyramid"]:
        assert task.groups == (("schedule type", state[task.id]["type"]),), task
        types.add(state[task.id]["type"])
    assert {"ETL", "PRINTING"} <= types


async def test_bmc_has_no_groups(listed: dict[str, list[Task]]) -> None:
    assert listed["bmc"]
    assert all(t.groups == () for t in listed["bmc"])


async def test_huawei_groups_are_task_type_and_project(
    server: SandboxServer, listed: dict[str, list[Task]]
) -> None:
    sim = server.by_vendor("huawei")
    assert isinstance(sim, HuaweiSimulator)
    state = {t["id"]: t for t in sim.state()["tasks"]}
    for system, project in (("huawei", sim.projects[0]), ("huawei-dr", sim.projects[1])):
        assert listed[system]
        for task in listed[system]:
            assert task.groups == (
                ("task type", state[task.id]["task_type"]),
                ("project", project.name),
            ), task
    kinds = {t.kind for t in listed["huawei"]}
    assert len(kinds) == 2  # both families carry task_type
    assert len({g for t in listed["huawei"] for g in t.groups if g[0] == "task type"}) > 3


async def test_groups_reach_the_conflicts_and_survive_the_stored_report(
    tmp_path: Path, server: SandboxServer
) -> None:
    store = Store(tmp_path / "maintbot.db")
    bot = Maintbot.from_config(
        Settings(maintbot_db=str(tmp_path / "maintbot.db")),
        store,
        wide_config(server),
        system_clock,
        command_line=True,
    )
    try:
        stored = await bot.check("tomorrow 2-4am", by="alice", tz="UTC")
        again = bot.report(stored.id)
    finally:
        await bot.aclose()
        store.close()
    assert all(s.ok for s in stored.systems), stored.systems
    assert again.conflicts == stored.conflicts
    by_system: dict[str, set[str]] = {}
    for conflict in again.conflicts:
        by_system.setdefault(conflict.system, set()).update(k for k, _ in conflict.groups)
        assert isinstance(conflict.groups, tuple)
        assert all(isinstance(g, tuple) for g in conflict.groups)
    assert by_system["talend"] == {"workspace", "environment"}
    assert by_system["pyramid"] == {"schedule type"}
    assert by_system["bmc"] == set()
    assert by_system["huawei"] == {"task type", "project"}
