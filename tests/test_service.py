"""The application object (bot.service.Maintbot) and the CLI verbs that face it: what the
issue named as drift between the faces, tested on the object first, without Slack, and then
through the command line over the simulators on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main, write_sandbox_config
from bot.clock import ManualClock, system_clock
from bot.config import Settings
from bot.errors import ApprovalError
from bot.lifecycle import Alert, plain_text
from bot.model import PlannedTaskState, WindowRecord, WindowState
from bot.sandbox import SandboxServer, make_simulators, sandbox_config
from bot.service import Maintbot, ResumeAsked
from bot.store import Store

OWNER = "jane.doe@example.com"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    # Talend alone: every task kind, a pause reason and a pausing user of its own.
    server = SandboxServer(make_simulators(vendors=["talend"]))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer
) -> dict[str, Path]:
    """A directory with a config pointing at the sandbox and a fresh database."""
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "maintbot.toml"
    write_sandbox_config(config, sandbox_config(sandbox.simulators))
    db = tmp_path / "maintbot.db"
    for var in ("MAINTBOT_APPROVERS", "SLACK_BOT_TOKEN", "MAINTBOT_TZ"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MAINTBOT_DB", str(db))
    monkeypatch.setenv("MAINTBOT_CONFIG", str(config))
    return {"dir": tmp_path, "config": config, "db": db}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    try:
        shown: Any = json.loads(out)
    except ValueError:
        shown = out
    return code, shown, err


def audit(db: Path) -> list[tuple[str, str, str]]:
    store = Store(db)
    try:
        return [(r.actor, r.action, r.outcome) for r in reversed(store.audit_rows(10_000))]
    finally:
        store.close()


def active_talend_task(sandbox: SandboxServer) -> dict[str, Any]:
    return next(t for t in sandbox.by_vendor("talend").state()["tasks"] if not t["paused"])


def talend_state(sandbox: SandboxServer, task_id: str) -> dict[str, Any]:
    (task,) = [t for t in sandbox.by_vendor("talend").state()["tasks"] if t["id"] == task_id]
    return task


# -- the object, no face ------------------------------------------------------------------------
class Told:
    """A notifier that keeps what the window's people were told."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    async def notify(
        self,
        window: WindowRecord,
        kind: str,
        text: str | Alert,
        *,
        actions: Any = (),
        people: Any = (),
    ) -> None:
        self.sent.append((window.id, kind, plain_text(text, window.tz)))


def bot_for(
    tmp_path: Path,
    sandbox: SandboxServer,
    clock: Any,
    *,
    notifier: Told | None = None,
    **settings: Any,
) -> Maintbot:
    return Maintbot.from_config(
        Settings(maintbot_db=str(tmp_path / "maintbot.db"), **settings),
        Store(tmp_path / "maintbot.db"),
        sandbox_config(sandbox.simulators),
        clock,
        command_line=True,
        notifier=notifier or Told(),
    )


def test_a_check_is_stored_and_audited_whichever_face_asks(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    bot = bot_for(tmp_path, sandbox, system_clock)

    async def check() -> Any:
        try:
            return await bot.check("Saturday 2-4am", by="alice", tz="Europe/Berlin")
        finally:
            await bot.aclose()

    stored = asyncio.run(check())
    assert bot.report(stored.id).report == stored.report  # read back by the same model
    (row,) = [r for r in bot.audit(10) if r.action == "check"]
    assert (row.actor, row.outcome) == ("alice", "ok")
    assert row.detail is not None
    assert row.detail["check"] == stored.id
    assert row.detail["tz"] == "Europe/Berlin"
    bot.store.close()


def test_a_refused_cancel_is_audited(tmp_path: Path, sandbox: SandboxServer) -> None:
    bot = bot_for(tmp_path, sandbox, system_clock, maintbot_approvers="bob")

    async def scenario() -> None:
        try:
            planned = await bot.plan("tomorrow 2-4am", by="alice", tasks="all")
            with pytest.raises(ApprovalError, match="mallory may not cancel"):
                await bot.cancel(planned.window.record.id, by="mallory")
            assert bot.store.get_window(planned.window.record.id).state is WindowState.PLANNED
        finally:
            await bot.aclose()

    asyncio.run(scenario())
    assert [(r.actor, r.outcome) for r in bot.audit(10) if r.action == "cancel"] == [
        ("mallory", "refused")
    ]
    bot.store.close()


def test_the_requester_extends_up_to_the_limit_and_an_approver_beyond(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    clock = ManualClock(datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    told = Told()
    bot = bot_for(tmp_path, sandbox, clock, notifier=told, maintbot_approvers="bob")

    async def scenario() -> str:
        try:
            planned = await bot.plan("tomorrow 2-4am UTC", by="alice", tasks="all")
            wid = planned.window.record.id
            await bot.decide(wid, by="bob", approve=True)
            agreed = bot.store.get_window(wid).end
            assert bot.store.get_window(wid).approved_end == agreed
            view = await bot.extend(wid, by="alice", by_time=timedelta(minutes=45))
            assert view.record.end == agreed + timedelta(minutes=45)
            assert view.record.approved_end == agreed  # a requester's extension is not agreed
            with pytest.raises(ApprovalError, match="1h 15m past the end that was approved"):
                await bot.extend(wid, by="alice", by_time=timedelta(minutes=30))
            assert bot.store.get_window(wid).end == agreed + timedelta(minutes=45)
            with pytest.raises(ApprovalError, match="mallory may not extend this window"):
                await bot.extend(wid, by="mallory", by_time=timedelta(minutes=5))
            view = await bot.extend(wid, by="bob", by_time=timedelta(minutes=30))
            assert view.record.approved_end == view.record.end  # the approver agreed to it
            view = await bot.extend(wid, by="alice", by_time=timedelta(hours=1))
            assert view.record.end == agreed + timedelta(hours=2, minutes=15)
            await bot.cancel(wid, by="alice")
            return wid
        finally:
            await bot.aclose()

    wid = asyncio.run(scenario())
    assert [(r.actor, r.outcome) for r in reversed(bot.audit(50)) if r.action == "extend"] == [
        ("alice", "ok"),
        ("alice", "refused"),
        ("mallory", "refused"),
        ("bob", "ok"),
        ("alice", "ok"),
    ]
    # Each change is told once to the window's people, saying who did what; refusals only
    # reach the person who tried.
    assert [(w, kind) for w, kind, _ in told.sent] == [
        (wid, "approved"),
        (wid, "extended"),
        (wid, "extended"),
        (wid, "extended"),
        (wid, "cancelled"),
    ]
    assert told.sent[0][2] == (
        "bob approved alice's window: 35 task(s) are paused from Fri 04 Dec 02:00 UTC to "
        "Fri 04 Dec 04:00 UTC."
    )
    assert told.sent[1][2] == "alice extended the window by 45m; it now ends Fri 04 Dec 04:45 UTC."
    assert told.sent[4][2] == "alice cancelled the window."
    bot.store.close()


def test_someone_elses_pause_becomes_a_request_an_approver_decides(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    task = active_talend_task(sandbox)
    sandbox.by_vendor("talend").set_pause(task["id"], True, user=OWNER, context="CHG-1")
    bot = bot_for(tmp_path, sandbox, system_clock)

    async def scenario() -> tuple[Any, Any]:
        try:
            asked = await bot.resume_now(f"talend:{task['id']}", by="alice")
            assert isinstance(asked, ResumeAsked)
            assert talend_state(sandbox, task["id"])["paused"]  # nothing resumed yet
            return asked, await bot.decide(asked.request.id, by="bob", approve=True)
        finally:
            await bot.aclose()

    asked, decision = asyncio.run(scenario())
    assert asked.new
    assert asked.note.by == OWNER
    assert decision.acted
    assert decision.result is not None
    assert decision.result.outcome == "ok"
    assert not talend_state(sandbox, task["id"])["paused"]
    bot.store.close()


def test_the_window_clock_is_the_applications(tmp_path: Path, sandbox: SandboxServer) -> None:
    clock = ManualClock(system_clock())
    bot = bot_for(tmp_path, sandbox, clock)

    async def scenario() -> None:
        try:
            planned = await bot.plan("tomorrow 2-4am", by="alice", tasks="all", approved_by="bob")
            clock.set(planned.window.record.start)
            report = await bot.tick()
            assert report.summary() != "nothing due"
            assert len(bot.status().windows) == len(planned.window.tasks)
            clock.set(planned.window.record.end)
            await bot.tick()
            assert not bot.status().windows
        finally:
            await bot.aclose()

    asyncio.run(scenario())
    bot.store.close()


# -- the same through the command line ----------------------------------------------------------
def test_cli_check_is_audited_like_slacks(
    home: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, report, err = run(capsys, "check", "Saturday 2-4am", "--by", "alice", "--json")
    assert code == 0, err
    assert report["systems"][0]["system"] == "talend"
    assert ("alice", "check", "ok") in audit(home["db"])


def test_cli_refused_cancel_is_audited(
    home: dict[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAINTBOT_APPROVERS", "bob")
    code, planned, err = run(
        capsys, "plan", "tomorrow 2-4am", "--tasks", "all", "--requested-by", "alice", "--json"
    )
    assert code == 0, err
    code, _, err = run(capsys, "cancel", planned["id"], "--by", "mallory")
    assert code == 2
    assert "mallory may not cancel" in err
    assert ("mallory", "cancel", "refused") in audit(home["db"])


def test_cli_pause_resume_and_status(
    home: dict[str, Path], capsys: pytest.CaptureFixture[str], sandbox: SandboxServer
) -> None:
    task = active_talend_task(sandbox)
    code, paused, err = run(capsys, "pause", f"talend:{task['id']}", "--by", "alice", "--json")
    assert code == 0, err
    assert paused["outcome"] == "ok"
    assert talend_state(sandbox, task["id"])["paused"]

    code, status, _ = run(capsys, "status", "--json")
    assert code == 0
    assert [(p["task_id"], p["by"]) for p in status["pause_now"]] == [(task["id"], "alice")]

    # The bot's own pause, so no approver is needed to lift it.
    code, resumed, err = run(capsys, "resume", f"talend:{task['id']}", "--by", "bob", "--json")
    assert code == 0, err
    assert resumed["outcome"] == "ok"
    assert not talend_state(sandbox, task["id"])["paused"]
    code, status, _ = run(capsys, "status", "--json")
    assert status == {"windows": [], "pause_now": []}
    trail = audit(home["db"])
    assert ("alice", "pause_now", "ok") in trail
    assert ("bob", "resume_now", "ok") in trail


def test_cli_pause_names_a_task_it_cannot_find(
    home: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "pause", "talend:no-such-task", "--by", "alice")
    assert code == 2
    assert "talend has no task with id 'no-such-task'" in err
    code, _, err = run(capsys, "pause", "nosuch:1", "--by", "alice")
    assert code == 2
    assert "no scheduler named 'nosuch'" in err


def test_cli_resume_of_someone_elses_pause_asks_then_approve_resumes(
    home: dict[str, Path], capsys: pytest.CaptureFixture[str], sandbox: SandboxServer
) -> None:
    task = active_talend_task(sandbox)
    sandbox.by_vendor("talend").set_pause(task["id"], True, user=OWNER, context="CHG-2")
    code, asked, err = run(capsys, "resume", f"talend:{task['id']}", "--by", "alice", "--json")
    assert code == 0, err
    assert asked["outcome"] == "approval_needed"
    request = asked["resume_request"]["id"]
    assert talend_state(sandbox, task["id"])["paused"]

    # The requester may not approve their own request.
    code, _, err = run(capsys, "approve", request, "--by", "alice")
    assert code == 2
    assert "someone else has to approve it" in err
    code, decided, err = run(capsys, "approve", request, "--by", "bob", "--json")
    assert code == 0, err
    assert decided["acted"]
    assert decided["resume_request"]["outcome"] == "ok"
    assert not talend_state(sandbox, task["id"])["paused"]
    trail = audit(home["db"])
    assert ("alice", "approve_resume", "refused") in trail
    assert ("bob", "approve_resume", "ok") in trail


def test_cli_approve_and_reject_windows(
    home: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    ids = []
    for _ in range(2):
        # Two windows at the same time, on purpose: the second says so.
        code, planned, err = run(
            capsys, "plan", "tomorrow 2-4am", "--tasks", "all", "--requested-by", "alice",
            "--overlap-ok", "--json",
        )  # fmt: skip
        assert code == 0, err
        assert planned["state"] == "planned"
        ids.append(planned["id"])
    code, approved, err = run(capsys, "approve", ids[0], "--by", "bob", "--json")
    assert code == 0, err
    assert approved["window"]["state"] == "approved"
    code, _, _ = run(capsys, "approve", ids[0], "--by", "carol")
    assert code == 2  # nothing is waiting any more
    code, rejected, err = run(
        capsys, "reject", ids[1], "--by", "bob", "--reason", "clashes with the freeze", "--json"
    )
    assert code == 0, err
    assert rejected["window"]["state"] == "cancelled"
    store = Store(home["db"])
    try:
        (approval,) = store.approvals_for(ids[1])
        assert approval.reason == "clashes with the freeze"  # kept, to be shown
    finally:
        store.close()
    assert ("bob", "approve", "ok") in audit(home["db"])
    assert ("bob", "reject", "ok") in audit(home["db"])


def test_cli_retry_and_take_over(
    home: dict[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAINTBOT_APPROVERS", "bob")
    code, planned, err = run(
        capsys, "plan", "tomorrow 2-4am", "--tasks", "all", "--requested-by", "alice",
        "--approved-by", "bob", "--json",
    )  # fmt: skip
    assert code == 0, err
    window = planned["id"]
    code, _, err = run(capsys, "retry", window, "--by", "alice")
    assert code == 2
    assert "has no failed pause or resume to retry" in err
    # A resume that keeps failing (as the clock leaves it): a person retries, then takes over.
    store = Store(home["db"])
    try:
        first = store.window_tasks(window)[0]
        assert store.transition_task(first.id, first.state, PlannedTaskState.RESUME_FAILED)
    finally:
        store.close()
    code, _, err = run(capsys, "retry", window, "--by", "mallory")
    assert code == 2
    assert "mallory may not retry" in err
    code, _, err = run(capsys, "retry", window, "--by", "alice", "--json")
    assert code == 0, err
    code, taken, err = run(capsys, "take-over", window, "--by", "bob", "--json")
    assert code == 0, err
    assert taken["taken_over"] == [first.id]
    (row,) = [t for t in taken["tasks"] if t["planned_id"] == first.id]
    assert (row["state"], row["taken_over_by"]) == ("handed_over", "bob")
    trail = audit(home["db"])
    assert ("mallory", "retry", "refused") in trail
    assert ("alice", "retry", "ok") in trail
    assert ("bob", "take_over", "ok") in trail
