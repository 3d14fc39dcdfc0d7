"""Issue 10, items 2 and 7: a planned window can be edited before it starts, and planning
(or editing) a window that overlaps another open one says so before anything is saved.

On the application object over the Talend simulator on loopback, a real SQLite file and a
ManualClock, then through the command line."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bot.cli import main, write_sandbox_config
from bot.clock import ManualClock
from bot.config import Settings
from bot.errors import ApprovalError, LifecycleError, MaintbotError, OverlapError, WindowError
from bot.lifecycle import Alert, plain_text, request_approval
from bot.model import ApprovalState, WindowRecord, WindowState
from bot.sandbox import SandboxServer, make_simulators, sandbox_config
from bot.service import Maintbot
from bot.store import Store

T = TypeVar("T")

# Thursday 3 Dec 2026 09:00 UTC: "tomorrow 2-4am UTC" is Fri 4 Dec 02:00–04:00 UTC.
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer(make_simulators(vendors=["talend"]))
    server.start()
    yield server
    server.stop()


class Told:
    """A notifier that keeps what the window's people were told."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str, tuple[str, ...]]] = []

    async def notify(
        self,
        window: WindowRecord,
        kind: str,
        text: str | Alert,
        *,
        actions: Any = (),
        people: Any = (),
    ) -> None:
        self.sent.append((window.id, kind, plain_text(text, window.tz), tuple(people)))


@pytest.fixture
def told() -> Told:
    return Told()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def bot(
    tmp_path: Path, sandbox: SandboxServer, clock: ManualClock, told: Told, runner: asyncio.Runner
) -> Iterator[Maintbot]:
    app = Maintbot.from_config(
        Settings(
            _env_file=None,  # type: ignore[call-arg]
            maintbot_db=str(tmp_path / "maintbot.db"),
            maintbot_approvers="bob",
            maintbot_tz="UTC",
        ),
        Store(tmp_path / "maintbot.db", clock=clock),
        sandbox_config(sandbox.simulators),
        clock,
        command_line=True,
        notifier=told,
    )
    yield app
    go(app.aclose)
    app.store.close()


_RUNNER: list[asyncio.Runner] = []


@pytest.fixture(autouse=True)
def runner() -> Iterator[asyncio.Runner]:
    """One event loop per test: the connectors' HTTP clients belong to the loop they
    were first used on."""
    with asyncio.Runner() as loop:
        _RUNNER.append(loop)
        try:
            yield loop
        finally:
            _RUNNER.remove(loop)


def go(work: Callable[[], Awaitable[T]]) -> T:
    async def call() -> T:
        return await work()

    return _RUNNER[-1].run(call())


def task_ids(sandbox: SandboxServer, count: int) -> list[str]:
    active = [t for t in sandbox.by_vendor("talend").state()["tasks"] if not t["paused"]]
    return [str(t["id"]) for t in active[:count]]


def keys(ids: list[str]) -> str:
    return ",".join(f"talend:{i}" for i in ids)


def refusals(bot: Maintbot, action: str) -> list[tuple[str, str | None]]:
    return [
        (r.actor, r.error)
        for r in bot.audit(500).rows
        if r.action == action and r.outcome == "refused"
    ]


def snapshot(bot: Maintbot) -> Any:
    """Everything an edit could touch: windows, their tasks, approvals."""
    windows = bot.store.list_windows(None, limit=1000)
    return (
        [w.model_dump() for w in windows],
        {w.id: [t.model_dump() for t in bot.store.window_tasks(w.id)] for w in windows},
        {w.id: [a.model_dump() for a in bot.store.approvals_for(w.id)] for w in windows},
    )


# -- item 7: overlaps --------------------------------------------------------------------------
def test_an_overlapping_plan_names_both_windows_and_saves_nothing(
    bot: Maintbot, sandbox: SandboxServer
) -> None:
    first, second = task_ids(sandbox, 2)
    a = go(lambda: bot.plan("tomorrow 2-4am UTC", by="alice", tasks=keys([first]))).window.record
    before = snapshot(bot)
    with pytest.raises(OverlapError) as refused:
        go(lambda: bot.plan("tomorrow 3-5am UTC", by="carol", tasks=keys([second])))
    assert str(refused.value) == (
        "The window “Maintenance Fri 4 Dec 03:00–05:00 UTC” (requested by carol) overlaps "
        f"another window: {a.id} “Maintenance Fri 4 Dec 02:00–04:00 UTC” (planned, requested "
        "by alice). Nothing was saved. If both should run, plan it again with --overlap-ok; "
        "otherwise pick another time."
    )
    assert refused.value.exit_code == 2
    assert [o.id for o in refused.value.overlaps] == [a.id]
    assert snapshot(bot) == before
    (row,) = [r for r in bot.audit(50).rows if r.outcome == "refused"]
    assert (row.actor, row.action, row.error) == ("carol", "plan", str(refused.value))
    assert row.detail is not None
    assert row.detail["overlaps"] == [a.id]

    # What overlaps is visible before planning; a window ending at the other's start does not.
    assert [w.id for w in bot.overlaps(bot.parse("tomorrow 3-5am UTC"))] == [a.id]
    assert bot.overlaps(bot.parse("tomorrow 4-5am UTC")) == []
    assert bot.overlaps(bot.parse("tomorrow 1-3am UTC"), ignore=a.id) == []

    # Said to be fine: planned, and the result names what it overlaps.
    planned = go(
        lambda: bot.plan("tomorrow 3-5am UTC", by="carol", tasks=keys([second]), overlap_ok=True)
    )
    assert [o.id for o in planned.overlaps] == [a.id]
    # A cancelled window overlaps nothing.
    go(lambda: bot.cancel(a.id, by="alice"))
    assert [w.id for w in bot.overlaps(bot.parse("tomorrow 2-4am UTC"))] == [
        planned.window.record.id
    ]


# -- item 2: edit ------------------------------------------------------------------------------
def approved_window(bot: Maintbot, ids: list[str], text: str = "tomorrow 2-4am UTC") -> str:
    planned = go(lambda: bot.plan(text, by="alice", tasks=keys(ids), approved_by="bob"))
    return planned.window.record.id


def test_narrowing_keeps_the_approval_and_is_told_and_audited(
    bot: Maintbot, sandbox: SandboxServer, told: Told
) -> None:
    first, second = task_ids(sandbox, 2)
    wid = approved_window(bot, [first, second])
    old = bot.store.get_window(wid)
    result = go(
        lambda: bot.edit(wid, by="alice", text="tomorrow 3-4am", remove=[f"talend:{second}"])
    )
    record = result.record
    assert (record.start, record.end) == (old.start + timedelta(hours=1), old.end)
    assert record.tz == "UTC"  # the window's own zone, kept
    assert record.state is WindowState.APPROVED
    assert record.approved_by == "bob"
    assert not result.reapproval
    assert result.approval is None
    assert [t.task_id for t in result.tasks] == [first]
    assert [t.task_id for t in result.removed] == [second]
    assert record.version > old.version
    assert [a.state for a in bot.store.approvals_for(wid)] == [ApprovalState.APPROVED]
    name = result.removed[0].task_name
    assert told.sent[-1] == (
        wid,
        "edited",
        "alice edited the window: it now runs Fri 04 Dec 03:00 UTC to Fri 04 Dec 04:00 UTC "
        f"(1h; was Fri 04 Dec 02:00 UTC to Fri 04 Dec 04:00 UTC); 1 task(s) removed ({name} "
        "(talend)); its approval stands.",
        ("alice",),
    )
    (row,) = [r for r in bot.audit(50).rows if r.action == "edit"]
    assert (row.actor, row.outcome) == ("alice", "ok")
    assert row.detail is not None
    assert row.detail["old_start"] == old.start.isoformat()
    assert row.detail["new_start"] == record.start.isoformat()
    assert row.detail["old_end"] == row.detail["new_end"] == old.end.isoformat()
    gone = result.removed[0]
    assert row.detail["removed"] == [f"{gone.system}:{gone.kind.value}:{second}"]
    assert row.detail["reapproval"] is False


def test_a_wider_window_needs_an_approver_again_and_the_clock_keeps_the_new_start(
    bot: Maintbot, sandbox: SandboxServer, clock: ManualClock
) -> None:
    (first,) = task_ids(sandbox, 1)
    wid = approved_window(bot, [first])
    (old_approval,) = bot.store.approvals_for(wid)
    old = bot.store.get_window(wid)
    # Later than approved (ends past the approved end): an approver has to agree again.
    result = go(lambda: bot.edit(wid, by="alice", text="tomorrow 5-6am"))
    assert result.reapproval
    assert result.record.state is WindowState.PLANNED
    assert result.record.approved_by is None
    assert result.record.approved_end is None
    assert result.approval is not None
    assert result.approval.state is ApprovalState.PENDING
    assert result.superseded == (old_approval.id,)
    states = {a.id: a.state for a in bot.store.approvals_for(wid)}
    assert states == {
        old_approval.id: ApprovalState.SUPERSEDED,
        result.approval.id: ApprovalState.PENDING,
    }
    assert result.summary().endswith(
        "it asks for more than was approved, so it needs an approver again"
    )
    # The superseded approval cannot act; the new request can.
    late = go(lambda: bot.decide(old_approval.id, by="bob", approve=True))
    assert not late.acted
    decision = go(lambda: bot.decide(wid, by="bob", approve=True))
    assert decision.acted
    assert decision.window.state is WindowState.APPROVED

    # The clock starts it at its new start, not its old one.
    clock.set(old.start)
    go(bot.tick)
    assert bot.store.get_window(wid).state is WindowState.APPROVED
    clock.set(result.record.start - timedelta(seconds=1))
    go(bot.tick)
    assert bot.store.get_window(wid).state is WindowState.APPROVED
    clock.set(result.record.start)
    report = go(bot.tick)
    assert wid in report.started
    assert bot.store.get_window(wid).state is WindowState.ACTIVE


def test_adding_a_task_to_a_planned_window_renews_its_pending_request(
    bot: Maintbot, sandbox: SandboxServer
) -> None:
    first, second = task_ids(sandbox, 2)
    wid = go(
        lambda: bot.plan("tomorrow 2-4am UTC", by="alice", tasks=keys([first]))
    ).window.record.id
    # A pending request (as the Slack Plan button leaves one).
    pending = request_approval(bot.store, wid, requested_by="alice", now=NOW)
    result = go(lambda: bot.edit(wid, by="bob", add=[f"talend:{second}"]))
    assert result.reapproval
    assert [t.task_id for t in result.added] == [second]
    assert sorted(t.task_id for t in result.tasks) == sorted([first, second])
    assert result.approval is not None
    assert result.approval.id != pending.id
    assert bot.store.get_approval(pending.id).state is ApprovalState.SUPERSEDED
    assert not result.moved
    # The tasks changed, not the time: no conflict appeared or went.
    assert result.conflicts.appeared == ()
    assert result.conflicts.disappeared == ()


def test_the_conflicts_that_appear_and_disappear_are_those_of_the_two_windows(
    bot: Maintbot, sandbox: SandboxServer
) -> None:
    (first,) = task_ids(sandbox, 1)
    wid = approved_window(bot, [first])
    old = go(lambda: bot.check("tomorrow 2-4am UTC", by="alice")).report
    new = go(lambda: bot.check("Dec 5 10pm-2am UTC", by="alice")).report
    result = go(lambda: bot.edit(wid, by="alice", text="Dec 5 10pm-2am", overlap_ok=False))

    def key(c: Any) -> tuple[str, str, Any]:
        return (c.ref.key, c.kind.value, c.at)

    before, after = {key(c) for c in old.conflicts}, {key(c) for c in new.conflicts}
    assert {key(c) for c in result.conflicts.appeared} == after - before
    assert {key(c) for c in result.conflicts.disappeared} == before - after
    assert after - before or before - after, "the sample data differs between the windows"
    # Active tasks colliding with the new window that it does not pause.
    assert {c.ref.key for c in result.conflicts.uncovered} == {
        c.ref.key for c in new.active if c.task_id != first
    }


def test_an_edit_that_would_overlap_is_refused_unless_said_fine(
    bot: Maintbot, sandbox: SandboxServer
) -> None:
    first, second = task_ids(sandbox, 2)
    a = approved_window(bot, [first])
    b = approved_window(bot, [second], text="tomorrow 6-7am UTC")
    before = snapshot(bot)
    with pytest.raises(OverlapError) as refused:
        go(lambda: bot.edit(b, by="alice", text="tomorrow 3-5am"))
    assert str(refused.value) == (
        f"The window {b} “Maintenance Fri 4 Dec 03:00–05:00 UTC” (requested by alice) overlaps "
        f"another window: {a} “Maintenance Fri 4 Dec 02:00–04:00 UTC” (approved, requested by "
        f"alice). Nothing was saved. If both should run, edit it again with --overlap-ok "
        f"(`/maintenance edit {b} --overlap-ok TEXT` in Slack); otherwise pick another time."
    )
    assert snapshot(bot) == before
    assert refusals(bot, "edit") == [("alice", str(refused.value))]
    done = go(lambda: bot.edit(b, by="alice", text="tomorrow 3-5am", overlap_ok=True))
    assert [o.id for o in done.overlaps] == [a]
    assert done.record.start == bot.store.get_window(a).start + timedelta(hours=1)


# -- bad input: each refused whole, and audited ----------------------------------------------
BAD = [
    pytest.param(
        lambda ids: {"window_id": "w_nope", "by": "alice", "text": "tomorrow 3-4am"},
        LifecycleError,
        "There is no maintenance window with id 'w_nope'; `maintbot windows` (or `/maintenance "
        "list`) lists them.",
        id="unknown-id",
    ),
    pytest.param(
        lambda ids: {"by": "alice", "text": "blorp"},
        WindowError,
        'I found no date or time in "blorp". Try "Saturday 2-4am" or "tomorrow 22:00 for 2h".',
        id="grammar",
    ),
    pytest.param(
        lambda ids: {"by": "alice", "text": "today 2-4am"},
        WindowError,
        "The window would start Thu 3 Dec 2026 02:00 UTC, which is already past (it is now Thu "
        '3 Dec 2026 09:00 UTC). Start now or later, e.g. "now for 2h" or "tomorrow 2-4am".',
        id="past",
    ),
    pytest.param(
        lambda ids: {"by": "mallory", "text": "tomorrow 3-4am"},
        ApprovalError,
        "mallory may not edit this window: only the requester (alice) or an approver may.",
        id="not-allowed",
    ),
    pytest.param(
        lambda ids: {"by": "alice", "remove": [f"talend:{i}" for i in ids]},
        LifecycleError,
        "That would leave window {wid} with no task to pause; cancel it instead (maintbot "
        "cancel {wid} --by NAME, or `/maintenance cancel {wid}`).",
        id="no-tasks-left",
    ),
    pytest.param(
        lambda ids: {"by": "alice", "add": ["talend:no-such-task"]},
        LifecycleError,
        "--add item 'talend:no-such-task': talend has no task with id 'no-such-task'; "
        "`maintbot check` shows task ids, or use --tasks all",
        id="unknown-task",
    ),
    pytest.param(
        lambda ids: {"by": "alice", "text": "tomorrow 2-4am", "add": [f"talend:{ids[0]}"]},
        LifecycleError,
        "That changes nothing: window {wid} already runs Fri 04 Dec 02:00 UTC to Fri 04 Dec "
        "04:00 UTC with those tasks.",
        id="no-change",
    ),
    pytest.param(
        lambda ids: {"by": "alice"},
        LifecycleError,
        "Say what to change: a new window (--window TEXT, or `/maintenance edit ID TEXT`), "
        "tasks to --add or to --remove.",
        id="nothing-asked",
    ),
]


@pytest.mark.parametrize(("args", "error", "message"), BAD)
def test_bad_edits_change_nothing_and_are_audited(
    bot: Maintbot,
    sandbox: SandboxServer,
    told: Told,
    args: Callable[[list[str]], dict[str, Any]],
    error: type[MaintbotError],
    message: str,
) -> None:
    ids = task_ids(sandbox, 2)
    wid = approved_window(bot, ids)
    before, sent = snapshot(bot), list(told.sent)
    kwargs = {"window_id": wid, **args(ids)}
    with pytest.raises(error) as refused:
        go(lambda: bot.edit(kwargs.pop("window_id"), **kwargs))
    assert str(refused.value) == message.format(wid=wid)
    assert snapshot(bot) == before
    assert told.sent == sent
    assert refusals(bot, "edit") == [(kwargs["by"], str(refused.value))]


@pytest.mark.parametrize("how", ["started", "cancelled", "ended", "due"])
def test_a_window_that_started_or_is_over_cannot_be_edited(
    bot: Maintbot, sandbox: SandboxServer, clock: ManualClock, how: str
) -> None:
    (first,) = task_ids(sandbox, 1)
    wid = approved_window(bot, [first])
    record = bot.store.get_window(wid)
    expected = {
        "started": f"Window {wid} has started (it is active), so it can no longer be edited; "
        f"extend it (maintbot extend {wid} --minutes N) or end it (maintbot end {wid}) instead.",
        "cancelled": f"Window {wid} is cancelled, so there is nothing to edit; plan a new "
        "window instead.",
        "ended": f"Window {wid} is completed, so there is nothing to edit; plan a new window "
        "instead.",
        "due": f"Window {wid} is due to start (its tasks are paused from Fri 04 Dec 02:00 UTC), "
        "so it can no longer be edited; cancel it or, once it has started, extend or end it.",
    }[how]
    if how == "cancelled":
        go(lambda: bot.cancel(wid, by="alice"))
    elif how == "due":
        clock.set(record.start)  # due, though no clock has started it yet
    else:
        clock.set(record.start)
        go(bot.tick)
        go(bot.window_clock.settle)
        if how == "ended":
            clock.set(record.end)
            go(bot.tick)
            go(bot.window_clock.settle)
            go(bot.tick)
            assert bot.store.get_window(wid).state is WindowState.COMPLETED
    before = snapshot(bot)
    with pytest.raises(LifecycleError) as refused:
        go(lambda: bot.edit(wid, by="alice", text="Dec 6 3-4am"))
    assert str(refused.value) == expected
    assert snapshot(bot) == before
    assert refusals(bot, "edit") == [("alice", expected)]


# -- the command line --------------------------------------------------------------------------
@pytest.fixture
def home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer
) -> dict[str, Path]:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "maintbot.toml"
    write_sandbox_config(config, sandbox_config(sandbox.simulators))
    for var in ("SLACK_BOT_TOKEN", "MAINTBOT_TZ"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MAINTBOT_APPROVERS", "bob")
    monkeypatch.setenv("MAINTBOT_DB", str(tmp_path / "maintbot.db"))
    monkeypatch.setenv("MAINTBOT_CONFIG", str(config))
    return {"db": tmp_path / "maintbot.db"}


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    try:
        return code, json.loads(out), err
    except ValueError:
        return code, out, err


def stored(db: Path) -> Any:
    store = Store(db)
    try:
        windows = store.list_windows(None, limit=100)
        return [(w.id, w.state, w.start, w.end, w.version) for w in windows], [
            (r.actor, r.action, r.outcome) for r in reversed(store.audit_rows(1000))
        ]
    finally:
        store.close()


def test_cli_plan_refuses_an_overlap_unless_told_and_edit_prints_the_difference(
    home: dict[str, Path], capsys: pytest.CaptureFixture[str], sandbox: SandboxServer
) -> None:
    first, second = task_ids(sandbox, 2)
    code, a, err = cli(
        capsys, "plan", "tomorrow 2-4am", "--tz", "UTC", "--tasks", f"talend:{first}",
        "--requested-by", "alice", "--approved-by", "bob", "--json",
    )  # fmt: skip
    assert code == 0, err
    code, out, err = cli(
        capsys, "plan", "tomorrow 3-5am", "--tz", "UTC", "--tasks", f"talend:{second}",
        "--requested-by", "carol",
    )  # fmt: skip
    assert code == 2
    assert err.startswith("maintbot plan: The window “Maintenance ")
    assert f"overlaps another window: {a['id']} “Maintenance " in err
    assert (
        "(approved, requested by alice). Nothing was saved. If both should run, plan it "
        "again with --overlap-ok; otherwise pick another time." in err
    )
    windows, trail = stored(home["db"])
    assert len(windows) == 1
    assert trail[-1] == ("carol", "plan", "refused")
    code, out, err = cli(
        capsys, "plan", "tomorrow 3-5am", "--tz", "UTC", "--tasks", f"talend:{second}",
        "--requested-by", "carol", "--overlap-ok",
    )  # fmt: skip
    assert code == 0, err
    assert f"It overlaps (planned anyway, --overlap-ok):\n  {a['id']} “Maintenance " in out

    # edit: the difference, as JSON and as text.
    code, diff, err = cli(
        capsys, "edit", a["id"], "--window", "tomorrow 1-4am", "--by", "alice", "--overlap-ok",
        "--add", f"talend:{second}", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert diff["old"]["start"] != diff["new"]["start"]
    assert diff["old"]["state"] == "approved"
    assert diff["new"]["state"] == "planned"
    assert [t["task_id"] for t in diff["added"]] == [second]
    assert diff["removed"] == []
    assert diff["reapproval"] is True
    assert diff["approval"].startswith("a_")
    assert len(diff["overlaps"]) == 1
    assert set(diff["conflicts"]) == {"appeared", "disappeared", "uncovered"}
    code, text, err = cli(capsys, "edit", a["id"], "--remove", f"talend:{second}", "--by", "bob")
    assert code == 0, err
    assert text.startswith(f"Window {a['id']} edited: 1 task(s) removed (")
    assert "\n  start  " in text
    assert "(unchanged)" in text
    assert "\n  removed " in text

    # Refused, exit 2, nothing changed, audited.
    before, _ = stored(home["db"])
    for argv, message in (
        (["--window", "blorp"], 'I found no date or time in "blorp".'),
        (["--remove", f"talend:{first}"], "with no task to pause; cancel it instead"),
        (["--add", "talend:nope"], "talend has no task with id 'nope'"),
        ([], "Say what to change"),
    ):
        code, _, err = cli(capsys, "edit", a["id"], *argv, "--by", "alice")
        assert code == 2, err
        assert message in err
    code, _, err = cli(capsys, "edit", a["id"], "--window", "tomorrow 5am", "--by", "mallory")
    assert code == 2
    assert "mallory may not edit this window" in err
    after, trail = stored(home["db"])
    assert after == before
    assert trail[-5:] == [("alice", "edit", "refused")] * 4 + [("mallory", "edit", "refused")]
