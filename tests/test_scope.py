"""A window's scope (bot.service.scope): the candidates a scope matches, a plan made with one,
and ``maintbot scope`` / ``maintbot plan --system/--group/--name/--exclude/--include``, over
the four simulators on loopback (plus Talend's development environment and Huawei's second
project as systems of their own) and a real SQLite store. Every bad input is one clear
error, leaves no window behind, and a refused plan is audited as refused.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from test_vendor_groups import wide_config

from bot.cli import main, write_sandbox_config
from bot.clock import ManualClock, system_clock
from bot.config import Settings
from bot.errors import LifecycleError, ScopeError, WindowError
from bot.model import WindowState
from bot.sandbox import SandboxServer, make_simulators
from bot.sandbox.pyramid import PyramidSimulator
from bot.sandbox.talend import TalendSimulator
from bot.service import Candidates, Maintbot, Scope
from bot.store import Store

TEXT = "tomorrow 2-4am"
SYSTEMS = ("bmc", "huawei", "huawei-dr", "pyramid", "talend", "talend-dev")


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(make_simulators()) as running:
        yield running


@pytest.fixture
async def bot(tmp_path: Path, server: SandboxServer) -> AsyncIterator[Maintbot]:
    store = Store(tmp_path / "maintbot.db")
    made = Maintbot.from_config(
        Settings(maintbot_db=str(tmp_path / "maintbot.db")),
        store,
        wide_config(server),
        system_clock,
        command_line=True,
    )
    try:
        yield made
    finally:
        await made.aclose()
        store.close()


def talend(server: SandboxServer) -> TalendSimulator:
    sim = server.by_vendor("talend")
    assert isinstance(sim, TalendSimulator)
    return sim


def pyramid(server: SandboxServer) -> PyramidSimulator:
    sim = server.by_vendor("pyramid")
    assert isinstance(sim, PyramidSimulator)
    return sim


def nothing_written(store: Store) -> None:
    assert store.list_windows(None) == []


def refused(store: Store) -> str:
    row = store.audit_rows(1)[0]
    assert (row.actor, row.action, row.outcome) == ("alice", "plan", "refused")
    return row.error or ""


# -- candidates ------------------------------------------------------------------------------
async def test_the_whole_scope_is_every_task_once_conflicts_first(bot: Maintbot) -> None:
    found = await bot.candidates(bot.parse(TEXT, "UTC"), Scope())
    keys = [c.ref.key for c in found.tasks]
    assert len(keys) == len(set(keys))
    assert {c.ref.system for c in found.tasks} == set(SYSTEMS)
    assert found.warnings == ()
    flags = [c.conflict for c in found.tasks]
    assert flags == sorted(flags, reverse=True)  # every conflict before every other task
    first = [c for c in found.tasks if c.conflict]
    assert first == sorted(first, key=lambda c: (c.ref.system, c.name.casefold(), c.ref.key))
    # What the report would plan is what is ticked, and paused tasks never are.
    report = await bot.check(TEXT, by="alice", tz="UTC")
    assert {c.ref.key for c in found.planned()} == {c.ref.key for c in report.active}
    assert not any(c.paused for c in found.planned(every_active=True))
    # The pickers: each system's kinds and the distinct values seen.
    assert found.groups["talend"]["workspace"] == ("Data Platform", "Finance", "Sales & CRM")
    assert found.groups["talend"]["environment"] == ("Production",)
    assert found.groups["talend-dev"]["environment"] == ("Development",)
    assert found.groups["bmc"] == {}
    assert {"ETL", "PRINTING"} <= set(found.groups["pyramid"]["schedule type"])
    assert found.groups["huawei-dr"]["project"] == ("ap-southeast-1_dr",)


async def test_checks_behind_a_scope_and_a_plan_count_in_the_check_metrics(
    bot: Maintbot,
) -> None:
    def checks() -> float:
        counted = [
            sample.value
            for family in text_string_to_metric_families(bot.metrics.render().decode())
            for sample in family.samples
            if sample.name == "maintbot_checks_total" and sample.labels == {"outcome": "ok"}
        ]
        return sum(counted)

    window = bot.parse(TEXT, "UTC")
    assert checks() == 0
    await bot.candidates(window, Scope())  # what the plan dialog's scope step asks
    assert checks() == 1
    await bot.resolve_tasks(None, window)  # a plan without --tasks: the conflicting ones
    assert checks() == 2


async def test_groups_match_any_case_insensitively_and_by_system(bot: Maintbot) -> None:
    window = bot.parse(TEXT, "UTC")
    dev = await bot.candidates(window, Scope(groups=("ENVIRONMENT=development",)))
    assert {c.ref.system for c in dev.tasks} == {"talend-dev"}
    both = await bot.candidates(
        window, Scope(groups=("talend:workspace=Finance", "pyramid:schedule type=printing"))
    )
    assert {c.ref.system for c in both.tasks} == {"talend", "pyramid"}
    for c in both.tasks:
        assert ("workspace", "Finance") in c.groups or ("schedule type", "PRINTING") in c.groups
    only = await bot.candidates(window, Scope(systems=("talend",), groups=("workspace=Finance",)))
    assert {c.ref.system for c in only.tasks} == {"talend"}
    assert set(only.groups) == {"talend"}


async def test_name_exclude_include_and_conflicts_only(
    bot: Maintbot, server: SandboxServer
) -> None:
    window = bot.parse(TEXT, "UTC")
    reloads = await bot.candidates(window, Scope(systems=("talend",), name="DWH_FULL_RELOAD"))
    assert len(reloads.tasks) == 3
    left_out = reloads.tasks[0].ref
    board = pyramid(server).by_name("Board pack").id
    scope = Scope(
        systems=("talend",),
        name="dwh_full_reload",
        exclude=(f"talend:{left_out.id}",),
        include=(f"pyramid:{board}",),
    )
    found = await bot.candidates(window, scope)
    assert left_out.key not in {c.ref.key for c in found.tasks}
    (added,) = [c for c in found.tasks if c.ref.system == "pyramid"]
    assert added.included
    assert added.planned()  # an included task is planned whether it conflicts or not
    # A full TaskRef.key works as well as SYSTEM:ID.
    keyed = await bot.candidates(window, Scope(systems=("talend",), exclude=(left_out.key,)))
    assert left_out.key not in {c.ref.key for c in keyed.tasks}
    conflicts = await bot.candidates(window, Scope(systems=("talend",)), conflicts_only=True)
    assert conflicts.tasks
    assert all(c.conflict for c in conflicts.tasks)


async def test_a_system_that_does_not_answer_is_a_warning(
    bot: Maintbot, server: SandboxServer
) -> None:
    sim = server.by_vendor("bmc")
    sim.faults.fail(403, path_contains="/opt/api/", times=10**6)
    try:
        found = await bot.candidates(bot.parse(TEXT, "UTC"), Scope())
    finally:
        sim.faults.clear()
    assert "bmc" not in {c.ref.system for c in found.tasks}
    (warning,) = found.warnings
    assert warning.startswith("bmc could not be checked")
    assert "bmc" not in found.groups


BAD_SCOPES: list[tuple[Scope, str]] = [
    (
        Scope(systems=("talnd",)),
        "no scheduler named 'talnd' is configured; choose from: bmc, huawei, huawei-dr, "
        "pyramid, talend, talend-dev",
    ),
    (Scope(groups=("workspace",)), "the group 'workspace' has no '='; write KIND=VALUE"),
    (Scope(groups=("nosuch:workspace=Finance",)), "names the system 'nosuch', which is not"),
    (
        Scope(groups=("workspace=Finanse",)),
        "no task on bmc, huawei, huawei-dr, pyramid, talend, talend-dev has the workspace "
        "'Finanse' (there are: Data Platform, Finance, Sales & CRM, Sandbox)",
    ),
    (
        Scope(systems=("bmc",), groups=("workspace=Finance",)),
        "bmc has no group kind 'workspace' (its API gives no groups)",
    ),
    (
        Scope(systems=("pyramid",), groups=("talend:workspace=Finance",)),
        "is on talend, which the scope leaves out",
    ),
    (Scope(name="no task is called this"), "matches no task; `maintbot scope TEXT` lists"),
    (Scope(include=("talend:0123456789abcdef",)), "talend has no task with id '0123456789abcdef'"),
    (Scope(exclude=("talend",)), "--exclude 'talend' is not SYSTEM:ID or SYSTEM:KIND:ID"),
]


@pytest.mark.parametrize(("scope", "words"), BAD_SCOPES, ids=[w[:30] for _, w in BAD_SCOPES])
async def test_a_scope_naming_nothing_there_is_says_what_there_is(
    bot: Maintbot, scope: Scope, words: str
) -> None:
    with pytest.raises(ScopeError) as err:
        await bot.candidates(bot.parse(TEXT, "UTC"), scope)
    assert words in str(err.value)
    assert err.value.exit_code == 2
    nothing_written(bot.store)
    assert bot.store.audit_rows(5) == []  # reading candidates writes nothing at all


async def test_candidates_of_a_window_that_has_ended_are_refused(
    tmp_path: Path, server: SandboxServer
) -> None:
    clock = ManualClock(system_clock())
    store = Store(tmp_path / "maintbot.db")
    made = Maintbot.from_config(
        Settings(maintbot_db=str(tmp_path / "maintbot.db")),
        store,
        wide_config(server),
        clock,
        command_line=True,
    )
    try:
        window = made.parse(TEXT, "UTC")
        clock.advance(timedelta(days=3))
        with pytest.raises(LifecycleError, match="which is in the past"):
            await made.candidates(window, Scope())
    finally:
        await made.aclose()
        store.close()


# -- plan with a scope -----------------------------------------------------------------------
async def test_a_scoped_plan_pauses_the_matching_conflicts_once_each(
    bot: Maintbot, server: SandboxServer
) -> None:
    scope = Scope(systems=("talend",), groups=("workspace=Finance",))
    window = bot.parse(TEXT, "UTC")
    expected = (await bot.candidates(window, scope)).planned()
    result = await bot.plan(
        TEXT, by="alice", tz="UTC", scope=scope, title="Finance DB patch", reason="CHG-1234"
    )
    record, rows = result.window.record, result.window.tasks
    assert (record.title, record.reason, record.state) == (
        "Finance DB patch",
        "CHG-1234",
        WindowState.PLANNED,
    )
    planned = [r.ref.key for r in rows]
    assert len(planned) == len(set(planned))
    assert set(planned) == {c.ref.key for c in expected}
    finance = {t["id"] for t in talend(server).state()["tasks"] if t["workspace"] == "Finance"}
    assert all(r.system == "talend" and r.task_id in finance for r in rows)
    row = bot.store.audit_rows(1)[0]
    assert (row.action, row.outcome, (row.detail or {}).get("tasks")) == ("plan", "ok", len(rows))


async def test_a_scoped_plan_of_all_pauses_every_matching_active_task(bot: Maintbot) -> None:
    scope = Scope(systems=("talend",), groups=("workspace=Finance",))
    every = (await bot.candidates(bot.parse(TEXT, "UTC"), scope)).planned(every_active=True)
    assert any(not c.conflict for c in every)  # more than the conflicts
    result = await bot.plan(TEXT, by="alice", tz="UTC", scope=scope, tasks="all")
    assert {r.ref.key for r in result.window.tasks} == {c.ref.key for c in every}


@pytest.mark.parametrize(
    ("kw", "error", "words"),
    [
        ({"scope": Scope(systems=("talnd",))}, ScopeError, "no scheduler named 'talnd'"),
        ({"scope": Scope(groups=("workspace",))}, ScopeError, "has no '='"),
        ({"scope": Scope(name="no task is called this")}, ScopeError, "matches no task"),
        (
            {"scope": Scope(systems=("talend",)), "tasks": "talend:abc"},
            ScopeError,
            "add them to the scope with --include SYSTEM:ID",
        ),
        (
            {"scope": Scope(systems=("talend",), name="adhoc_data_fix")},
            ScopeError,
            "matches tasks, but none of them has a run in this window; plan them with --tasks all",
        ),
        (
            {"scope": Scope(systems=("talend",)), "text": "2020-01-04 02:00-04:00"},
            WindowError,
            "which is already past",
        ),
    ],
    ids=[
        "unknown system",
        "group without =",
        "matches nothing",
        "tasks too",
        "no conflict",
        "past",
    ],
)
async def test_a_refused_scoped_plan_writes_no_window_and_is_audited(
    bot: Maintbot, kw: dict[str, Any], error: type[Exception], words: str
) -> None:
    text = kw.pop("text", TEXT)
    with pytest.raises(error) as err:
        await bot.plan(text, by="alice", tz="UTC", **kw)
    assert words in str(err.value)
    nothing_written(bot.store)
    assert words in refused(bot.store)


# -- the command line ------------------------------------------------------------------------
@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: SandboxServer) -> Path:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "maintbot.toml"
    write_sandbox_config(config, wide_config(server))
    for var in ("MAINTBOT_APPROVERS", "SLACK_BOT_TOKEN", "MAINTBOT_TZ"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MAINTBOT_DB", str(tmp_path / "maintbot.db"))
    monkeypatch.setenv("MAINTBOT_CONFIG", str(config))
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    try:
        return code, json.loads(out), err
    except ValueError:
        return code, out, err


def windows(home: Path) -> list[Any]:
    if not (home / "maintbot.db").exists():
        return []
    store = Store(home / "maintbot.db")
    try:
        return store.list_windows(None)
    finally:
        store.close()


def test_maintbot_scope_json_is_the_candidates(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, shown, _ = run(
        capsys, "scope", TEXT, "--tz", "UTC", "--group", "workspace=Finance", "--json"
    )
    assert code == 0
    assert set(shown) == {"window", "scope", "mode", "tasks", "planned", "groups", "warnings"}
    assert shown["scope"]["groups"] == ["workspace=Finance"]
    assert shown["mode"] == "conflicts"
    assert set(shown["tasks"][0]) == {
        "key",
        "system",
        "kind",
        "task_id",
        "name",
        "groups",
        "paused",
        "conflict",
        "included",
        "planned",
    }
    assert {"kind": "workspace", "value": "Finance"} in shown["tasks"][0]["groups"]
    assert shown["planned"] == sum(t["planned"] for t in shown["tasks"])
    assert shown["groups"]["talend"]["workspace"] == ["Data Platform", "Finance", "Sales & CRM"]
    assert windows(home) == []
    code, every, _ = run(
        capsys, "scope", TEXT, "--tz", "UTC", "--group", "workspace=Finance", "--tasks", "all",
        "--json",
    )  # fmt: skip
    assert code == 0
    assert every["mode"] == "all"
    assert every["planned"] > shown["planned"]


def test_maintbot_scope_ticks_what_would_be_planned_and_lists_the_groups(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "scope", TEXT, "--tz", "UTC", "--system", "talend")
    assert code == 0
    assert "[x]" in out
    assert "[ ]" in out
    assert "already paused" in out
    assert "talend: workspace = Data Platform, Finance, Sales & CRM" in out
    assert "pyramid" not in out


def test_maintbot_plan_with_a_scope_title_and_reason(
    home: Path, capsys: pytest.CaptureFixture[str], server: SandboxServer
) -> None:
    reloads = [
        t for t in talend(server).state()["tasks"] if t["name"].startswith("dwh_full_reload")
    ]
    board = pyramid(server).by_name("Board pack").id
    code, shown, err = run(
        capsys,
        "plan", TEXT, "--tz", "UTC", "--requested-by", "alice",
        "--system", "talend", "--name", "dwh_full_reload",
        "--exclude", f"talend:{reloads[0]['id']}", "--include", f"pyramid:{board}",
        "--title", "DWH patch", "--reason", "CHG-42", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert (shown["title"], shown["reason"]) == ("DWH patch", "CHG-42")
    planned = {(t["system"], t["task_id"]) for t in shown["tasks"]}
    assert ("pyramid", board) in planned
    assert ("talend", reloads[0]["id"]) not in planned
    assert all(s == "pyramid" or i in {r["id"] for r in reloads} for s, i in planned)
    (record,) = windows(home)
    assert (record.title, record.reason) == ("DWH patch", "CHG-42")


@pytest.mark.parametrize("verb", ["plan", "scope"])
@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--system", "talnd"], "no scheduler named 'talnd' is configured; choose from: bmc"),
        (["--group", "workspace"], "the group 'workspace' has no '='; write KIND=VALUE"),
        (["--name", "no task is called this"], "matches no task"),
        (["--past"], "which is already past"),
    ],
    ids=["unknown system", "group without =", "matches nothing", "past window"],
)
def test_bad_scope_input_exits_2_with_one_line_and_writes_nothing(
    home: Path, capsys: pytest.CaptureFixture[str], verb: str, argv: list[str], words: str
) -> None:
    text = "2020-01-04 02:00-04:00" if argv == ["--past"] else TEXT
    # A past window with a scope: the refusal of a scoped plan is audited (an unscoped
    # plan's is not, as before: tests/test_lifecycle_cli.py).
    options = ["--system", "talend"] if argv == ["--past"] else argv
    who = ["--requested-by", "alice"] if verb == "plan" else []
    code, out, err = run(capsys, verb, text, "--tz", "UTC", *who, *options)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"maintbot {verb}: ")
    assert words in lines[0]
    assert "Traceback" not in err
    assert windows(home) == []
    store = Store(home / "maintbot.db")
    try:
        rows = store.audit_rows(10)
    finally:
        store.close()
    if verb == "plan":
        assert [(r.action, r.outcome) for r in rows] == [("plan", "refused")]
        assert words in (rows[0].error or "")
    else:
        assert rows == []


def test_candidates_types_are_exported() -> None:
    assert Candidates.__name__ == "Candidates"
