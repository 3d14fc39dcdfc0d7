"""``maintbot plan``, ``windows``, ``worker``, ``cancel``, ``extend``, ``end``.

The simulators run in this process on loopback with the real clock (the CLI and the worker
subprocess use real time); the window clock's behaviour over simulated time is covered in
test_lifecycle.py, so here the worker is only shown to start, tick, pause a window that
starts a second ahead, and stop cleanly on SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.approvals import Policy
from bot.check import open_schedulers
from bot.cli import main, write_sandbox_config
from bot.clock import ManualClock, system_clock
from bot.lifecycle import WindowClock, approve_now, plan_window
from bot.model import PlannedTaskState, TaskKind, TaskRef, Window, WindowState
from bot.sandbox import SandboxServer, Simulator, make_simulators, sandbox_config
from bot.store import Store

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(make_simulators()) as server:
        yield server


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer) -> dict[str, Any]:
    """A working directory with a config for the running sandbox and its own database."""
    config = tmp_path / "maintbot.toml"
    write_sandbox_config(config, sandbox_config(sandbox.simulators))
    db = tmp_path / "maintbot.db"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MAINTBOT_DB", str(db))
    monkeypatch.setenv("MAINTBOT_CONFIG", str(config))
    monkeypatch.setenv("MAINTBOT_APPROVERS", "b, carol")
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    return {"config": config, "db": db, "dir": tmp_path}


def _snapshot(db: Path) -> tuple[Any, ...]:
    store = Store(db)
    try:
        windows = store.list_windows()
        return (
            [w.model_dump() for w in windows],
            [store.window_tasks(w.id) for w in windows],
            [store.approvals_for(w.id) for w in windows],
            store.audit_rows(10_000),
        )
    finally:
        store.close()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _env(home: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        MAINTBOT_DB=str(home["db"]),
        MAINTBOT_CONFIG=str(home["config"]),
        MAINTBOT_APPROVERS="b",
        PYTHONPATH=str(ROOT),
    )
    env.pop("SLACK_BOT_TOKEN", None)
    return env


def _sim_paused(sim: Simulator, task_id: str) -> bool:
    return next(bool(t["paused"]) for t in sim.state()["tasks"] if str(t["id"]) == task_id)


# -- the happy path --------------------------------------------------------------------------
def test_plan_then_windows_then_the_clock(home: dict[str, Any], sandbox: SandboxServer) -> None:
    config = str(home["config"])
    plan = subprocess.run(
        [sys.executable, "-m", "bot", "plan", "in 2 minutes for 2 minutes", "--tasks", "all",
         "--requested-by", "a", "--approved-by", "b", "--config", config, "--json"],
        capture_output=True, text=True, env=_env(home), timeout=120, check=False,
    )  # fmt: skip
    assert plan.returncode == 0, plan.stderr
    planned = json.loads(plan.stdout)
    assert planned["state"] == "approved"
    assert planned["approved_by"] == "b"
    systems = {t["system"] for t in planned["tasks"]}
    assert systems == {sim.vendor for sim in sandbox.simulators}
    listed = subprocess.run(
        [sys.executable, "-m", "bot", "windows", "--json"],
        capture_output=True, text=True, env=_env(home), timeout=120, check=False,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    (window,) = json.loads(listed.stdout)["windows"]
    assert window["id"] == planned["id"]
    assert len(window["tasks"]) == len(planned["tasks"])

    # The clock over that same database, driven by hand from the window's start to its end.
    store = Store(home["db"])
    record = store.get_window(planned["id"])
    clock = ManualClock(record.start)

    async def drive() -> None:
        schedulers = open_schedulers(sandbox_config(sandbox.simulators), clock)
        connectors = {s.name: s.connector for s in schedulers if s.connector is not None}
        try:
            wclock = WindowClock(store, connectors, clock, _Quiet())
            report = await wclock.tick()
            # Most are paused; inert ones (finished, aborted) and a BMC batch ETL that is
            # running (stopping would abort it) are left alone and reported.
            assert len(report.paused) >= len(planned["tasks"]) - 10
            for _, key in report.paused:
                system, _, task_id = key.split(":", 2)
                assert _sim_paused(sandbox.by_vendor(system), task_id)
            clock.set(record.end)
            report = await wclock.tick()
            assert len(report.resumed) == len(paused_keys := {k for _, k in report.resumed})
            assert paused_keys == {
                r.ref.key for r in store.window_tasks(record.id) if r.paused_at is not None
            }
        finally:
            await asyncio.gather(*(s.aclose() for s in schedulers))

    try:
        asyncio.run(drive())
        rows = store.window_tasks(record.id)
        assert {r.state for r in rows} <= {
            PlannedTaskState.RESUMED,
            PlannedTaskState.ALREADY_PAUSED,
            PlannedTaskState.PAUSE_FAILED,
        }
        for row in rows:
            if row.state is PlannedTaskState.RESUMED:
                assert not _sim_paused(sandbox.by_vendor(row.system), row.task_id)
    finally:
        store.close()


class _Quiet:
    async def notify(self, window: Any, kind: str, text: str, *, actions: Any = ()) -> None:
        return None


def test_plan_defaults_to_the_colliding_tasks(
    home: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "plan", "tomorrow 2-4am", "--requested-by", "a", "--json")
    assert code == 0, err
    planned = json.loads(out)
    assert planned["state"] == "planned"
    assert planned["tasks"]


def test_plan_named_tasks(
    home: dict[str, Any], capsys: pytest.CaptureFixture[str], sandbox: SandboxServer
) -> None:
    talend = next(t for t in sandbox.by_vendor("talend").state()["tasks"] if not t["paused"])
    bmc = next(t for t in sandbox.by_vendor("bmc").state()["tasks"] if not t["paused"])
    code, out, err = _run(
        capsys, "plan", "tomorrow 2-4am", "--requested-by", "a", "--json",
        "--tasks", f"talend:{talend['id']}, bmc:etl:{bmc['id']}",
    )  # fmt: skip
    assert code == 0, err
    got = {(t["system"], t["task_id"]) for t in json.loads(out)["tasks"]}
    assert got == {("talend", talend["id"]), ("bmc", str(bmc["id"]))}


# -- bad input: a clear message, exit 2, and nothing recorded -----------------------------------
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--requested-by", "a", "--approved-by", "a", "--tasks", "all"], "someone else"),
        (["--requested-by", "a", "--approved-by", "mallory", "--tasks", "all"], "not an approver"),
        (["--requested-by", "a", "--tasks", "talend:no-such-task"], "has no task with id"),
        (["--requested-by", "a", "--tasks", "nosuch:123"], "no scheduler named 'nosuch'"),
        (["--requested-by", "a", "--tasks", "talend"], "is not SYSTEM:ID"),
        (["--requested-by", " ", "--tasks", "all"], "--requested-by needs a name"),
    ],
)
def test_plan_refuses_bad_input_and_records_nothing(
    home: dict[str, Any], capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    before = _snapshot(home["db"])
    code, _, err = _run(capsys, "plan", "tomorrow 2-4am", *argv)
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert _snapshot(home["db"]) == before


def test_plan_refuses_past_and_unparsable_windows(
    home: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    before = _snapshot(home["db"])
    past = (system_clock() - timedelta(days=3)).strftime("%Y-%m-%d")
    for text in (f"{past} 2-4am", "every 0 days 1-2am", ""):
        code, _, err = _run(capsys, "plan", text, "--requested-by", "a", "--tasks", "all")
        assert code == 2, text
        assert err.startswith("maintbot plan: ")
    # Options a series does not take yet, and a plan-ahead that is no length, are refused
    # before anything is asked or written.
    for extra, says in (
        (["--drain-lead", "15"], "--drain-lead cannot be given for a series"),
        (["--reason", "CHG-1"], "--reason cannot be given for a series"),
        (["--plan-ahead", "soon"], "--plan-ahead: "),
    ):
        code, _, err = _run(
            capsys, "plan", "every Saturday 2-4am", "--requested-by", "a", "--tasks", "all", *extra
        )
        assert code == 2, extra
        assert says in err, err
    code, _, err = _run(
        capsys, "plan", "tomorrow 2-4am", "--requested-by", "a", "--plan-ahead", "1d"
    )
    assert code == 2
    assert "--plan-ahead is for a recurring text" in err
    assert _snapshot(home["db"]) == before


def test_a_series_from_the_command_line(
    home: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(
        capsys,
        "plan",
        "every Saturday 2-4am for 4 weeks",
        "--tz",
        "Europe/Berlin",
        "--requested-by",
        "a",
        "--tasks",
        "all",
        "--title",
        "patch night",
        "--json",
    )
    assert code == 0, err
    planned = json.loads(out)
    sid = planned["series"]["id"]
    assert planned["series"]["state"] == "planned"
    assert planned["series"]["series"]["tz"] == "Europe/Berlin"
    assert planned["series"]["series"]["rrule"].startswith("FREQ=WEEKLY;")
    assert planned["series"]["title"] == "patch night"
    assert planned["window"]["series_id"] == sid
    assert planned["window"]["tasks"]

    code, out, err = _run(capsys, "approve", sid, "--by", "b")
    assert code == 0, err
    code, out, err = _run(capsys, "series", "show", sid, "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["state"] == "approved"
    assert shown["approved_by"] == "b"
    assert len(shown["upcoming"]) == 3
    second = shown["upcoming"][0]["start"][:10]

    code, out, err = _run(capsys, "series", "skip", sid, second, "--by", "a")
    assert code == 0, err
    assert f"the {second} occurrence is skipped" in out
    code, out, err = _run(capsys, "windows", "--json")
    listed = json.loads(out)
    assert [s["id"] for s in listed["series"]] == [sid]
    assert listed["series"][0]["skipped"][0][:10] == second
    code, out, _ = _run(capsys, "windows")
    assert f"Series {sid}" in out
    assert "RRULE:FREQ=WEEKLY" in out

    for argv, says in (
        (
            ["series", "skip", sid, "12/5"],
            "is not a date; give the occurrence's date as YYYY-MM-DD",
        ),
        (["series", "show", "s_nothing"], "No series with id 's_nothing'"),
        (["approve", sid, "--by", "b"], "only a planned series can be approved"),
    ):
        code, _, err = _run(
            capsys, *argv, *([] if "--by" in argv or "show" in argv else ["--by", "a"])
        )
        assert code == 2, argv
        assert says in err, err

    code, out, err = _run(capsys, "series", "scope", sid, "--tasks", "all", "--by", "a")
    assert code == 2  # the same spec: nothing to change
    assert "pauses exactly that already" in err
    code, out, err = _run(capsys, "series", "end", sid, "--by", "a")
    assert code == 0, err
    assert f"Series {sid} is ended." in out
    code, _, err = _run(capsys, "series", "cancel", sid, "--by", "a")
    assert code == 2
    assert "ended already" in err


def test_plan_without_approvers_configured_needs_a_second_name(
    home: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # On the command line with no MAINTBOT_APPROVERS, a distinct second name approves (the
    # issue's own "--requested-by a --approved-by b" flow); the same name twice does not.
    monkeypatch.setenv("MAINTBOT_APPROVERS", "")
    before = _snapshot(home["db"])
    code, _, err = _run(
        capsys, "plan", "tomorrow 2-4am", "--requested-by", "a", "--approved-by", "a"
    )
    assert code == 2
    assert "someone else has to approve it" in err
    assert _snapshot(home["db"]) == before

    code, out, _ = _run(
        capsys, "plan", "tomorrow 2-4am", "--requested-by", "a", "--approved-by", "b", "--json"
    )
    assert code == 0
    assert json.loads(out)["state"] == "approved"


def test_configured_approvers_bind_the_command_line(
    home: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAINTBOT_APPROVERS", "carol,dave")
    before = _snapshot(home["db"])
    code, _, err = _run(
        capsys, "plan", "tomorrow 2-4am", "--requested-by", "a", "--approved-by", "b"
    )
    assert code == 2
    assert "b is not an approver" in err
    assert _snapshot(home["db"]) == before


# -- cancel / extend / end ------------------------------------------------------------------------
def _planned_window(db: Path, *, approve: bool = True, hours_ahead: float = 2) -> str:
    store = Store(db)
    try:
        now = system_clock()
        start = now + timedelta(hours=hours_ahead)
        record = plan_window(
            store,
            Window(start=start, end=start + timedelta(hours=1), tz="UTC", text="cli test"),
            [(TaskRef(system="talend", kind=TaskKind.TASK, id="t-1"), "task one")],
            requested_by="a",
            now=now,
        )
        if approve:
            approve_now(
                store, record.id, requested_by="a", approved_by="b",
                policy=Policy(frozenset({"b"})), now=now,
            )  # fmt: skip
        return record.id
    finally:
        store.close()


def test_extend_end_cancel_verbs(home: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    wid = _planned_window(home["db"])
    code, out, err = _run(capsys, "extend", wid, "--by", "b", "--minutes", "45", "--json")
    assert code == 0, err
    extended = json.loads(out)
    start = Window.model_validate({"start": extended["start"], "end": extended["end"], "tz": "UTC"})
    assert start.duration == timedelta(hours=1, minutes=45)

    before = _snapshot(home["db"])
    code, _, err = _run(capsys, "extend", wid, "--by", "b", "--minutes", str(14 * 24 * 60))
    assert code == 2
    assert "14-day limit" in err
    code, _, err = _run(capsys, "extend", wid, "--by", "mallory")
    assert code == 2
    assert "mallory may not extend this window: only the requester (a) or an approver" in err
    code, _, err = _run(capsys, "end", wid, "--by", "a")
    assert code == 2
    assert "has not started yet; cancel it instead" in err
    # Nothing changed but the trail: every refusal is audited (newest first), as in Slack:
    # the window's limit, the policy's, and the window's state.
    windows, tasks, approvals, audit = _snapshot(home["db"])
    assert (windows, tasks, approvals) == before[:3]
    added = audit[: len(audit) - len(before[3])]
    assert [(r.actor, r.action, r.outcome) for r in added] == [
        ("a", "end", "refused"),
        ("mallory", "extend", "refused"),
        ("b", "extend", "refused"),
    ]

    code, out, err = _run(capsys, "cancel", wid, "--by", "a")
    assert code == 0, err
    assert "cancelled" in out
    code, _, err = _run(capsys, "cancel", wid, "--by", "a")
    assert code == 2
    assert "already cancelled" in err


def test_cancel_unknown_window(home: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    before = _snapshot(home["db"])
    code, _, err = _run(capsys, "cancel", "w_doesnotexist", "--by", "a")
    assert code == 2
    assert "no maintenance window with id 'w_doesnotexist'" in err
    assert _snapshot(home["db"]) == before


def test_windows_lists_open_and_recent(
    home: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "windows")
    assert code == 0
    assert "No maintenance windows yet" in out
    first = _planned_window(home["db"])
    second = _planned_window(home["db"], approve=False, hours_ahead=5)
    _run(capsys, "cancel", second, "--by", "a")
    code, out, _ = _run(capsys, "windows")
    assert code == 0
    assert first in out
    assert second in out
    assert "approved" in out
    assert "cancelled" in out


# -- the worker process ----------------------------------------------------------------------------
def _wait_for(predicate: Any, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _alerts_sent(home: dict[str, Any], window_id: str) -> set[str]:
    store = Store(home["db"])
    try:
        return store.alerts_sent(window_id)
    finally:
        store.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_worker_pauses_at_start_in_real_time_and_stops_on_signal(
    home: dict[str, Any], sandbox: SandboxServer, sig: signal.Signals
) -> None:
    talend = sandbox.by_vendor("talend")
    free = [t for t in talend.state()["tasks"] if not t["paused"] and t["type"] == "TASK"]
    task = free[0 if sig is signal.SIGTERM else 1]
    store = Store(home["db"])
    try:
        now = system_clock()
        start = now + timedelta(seconds=1.5)
        record = plan_window(
            store,
            Window(start=start, end=start + timedelta(hours=1), tz="UTC", text="soon"),
            [(TaskRef(system="talend", kind=TaskKind.TASK, id=task["id"]), task["name"])],
            requested_by="a",
            now=now,
        )
        approve_now(
            store, record.id, requested_by="a", approved_by="b",
            policy=Policy(frozenset({"b"})), now=now,
        )  # fmt: skip
    finally:
        store.close()
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot", "worker", "--config", str(home["config"]),
         "--interval", "0.2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(home),
    )  # fmt: skip
    try:
        assert _wait_for(lambda: _sim_paused(talend, task["id"])), "not paused at the start"
        # The start alert follows the recorded pause; signal only once it was sent, or a
        # loaded machine stops the worker between the two.
        assert _wait_for(lambda: "start" in _alerts_sent(home, record.id)), "no start alert"
        worker.send_signal(sig)
        _, err = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, err
    assert "window clock running" in err
    assert "stopped" in err
    assert "Traceback" not in err
    assert "start (window" in err  # the start alert, through the log notifier
    store = Store(home["db"])
    try:
        assert store.get_window(record.id).state is WindowState.ACTIVE
        (row,) = store.window_tasks(record.id)
        assert row.state is PlannedTaskState.PAUSED
    finally:
        store.close()
    talend.set_pause(task["id"], False)  # leave the shared sandbox as it was


def test_worker_once(home: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "worker", "--once")
    assert code == 0, err
    assert "maintbot worker: nothing due" in out
