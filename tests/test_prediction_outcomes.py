"""A prediction held against what happened: the run times a plan's check predicted for each
task are kept with the window (schema 12), and its end summary says per task whether they
held, proved wrong (a run due at another time, or none), or could not be checked, in the
plain text (log, CLI), in Slack's blocks and in ``windows --json``. Real Pyramid simulator
over loopback, real store, the service's own plan and the window clock's ticks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from test_lifecycle import Recorder

from bot.check import Scheduler, open_schedulers
from bot.cli.windows import window_json
from bot.clock import ManualClock
from bot.config import Settings
from bot.connectors.base import SkippedRun
from bot.errors import ConnectorError
from bot.lifecycle import Alert, plain_text
from bot.lifecycle.alerts import judge_prediction
from bot.model import (
    Conflict,
    ConflictKind,
    PlannedTask,
    PlannedTaskState,
    PredictedStart,
    TaskKind,
    TaskRef,
    Window,
    WindowRecord,
)
from bot.run_history import predicted_starts
from bot.sandbox import sandbox_config
from bot.sandbox.base import SandboxServer
from bot.sandbox.bmc import BmcSimulator
from bot.sandbox.pyramid import PyramidSimulator
from bot.service.maintbot import Maintbot
from bot.slack import messages
from bot.store import Store

BERLIN = "Europe/Berlin"
# The reference now is Wed 18 Nov 2026 19:00 in Berlin: "tomorrow 2-4am" is 01:00-03:00 UTC,
# and the nightly 02:30 Berlin run is due at 01:30 UTC.
DUE = datetime(2026, 11, 19, 1, 30, tzinfo=UTC)


@dataclass
class World:
    clock: ManualClock
    store: Store
    sim: PyramidSimulator
    schedule_id: str
    bot: Maintbot
    sent: Recorder

    async def plan(self) -> WindowRecord:
        result = await self.bot.plan(
            "tomorrow 2-4am", by="alice", tz=BERLIN, approved_by="bob", tasks=None
        )
        return result.window.record

    async def through(self, record: WindowRecord) -> None:
        """Tick at the start (pause), in the middle and after the end (resume, summary)."""
        for moment in (record.start, record.start + timedelta(hours=1), record.end):
            self.clock.set(moment + timedelta(seconds=5))
            await self.bot.window_clock.tick()

    def end(self) -> tuple[WindowRecord, Alert]:
        """The window and its one end-of-window summary."""
        alert = self.sent.alert("end")
        return self.store.get_window(self.sent.of("end")[0].window_id), alert

    def row(self, record: WindowRecord) -> PlannedTask:
        (row,) = self.store.window_tasks(record.id)
        return row


@pytest.fixture
async def world(clock: ManualClock, store: Store) -> AsyncIterator[World]:
    sim = PyramidSimulator(clock=clock, schedules=0)
    nightly = sim.add_daily("Nightly load", time(2, 30), BERLIN)
    with SandboxServer([sim]):
        schedulers: list[Scheduler] = open_schedulers(sandbox_config([sim]), clock)
        sent = Recorder()
        bot = Maintbot(Settings(), store, schedulers, clock, notifier=sent, command_line=True)
        try:
            yield World(clock, store, sim, nightly.id, bot, sent)
        finally:
            for s in schedulers:
                await s.aclose()


def _item(alert: Alert, title_starts: str) -> tuple[Any, ...]:
    (listed,) = [x for x in alert.lists if x.title.startswith(title_starts)]
    (item,) = listed.items
    assert item.name == "Nightly load"
    return item.detail


async def test_the_plan_keeps_the_predicted_time_and_the_summary_says_it_held(
    world: World,
) -> None:
    record = await world.plan()
    row = world.row(record)
    assert len(row.predicted) == 1
    predicted = row.predicted[0]
    # Predicted in Berlin (the zone Pyramid names), within the simulator's start jitter.
    assert abs(predicted.at - DUE) <= timedelta(minutes=1)
    assert predicted.basis.startswith("daily, from ")
    assert predicted.runs == 1

    await world.through(record)
    assert world.row(record).state is PlannedTaskState.RESUMED
    window, alert = world.end()
    detail = _item(alert, "Predicted run times that held")
    # "predicted 02:30, due 02:30": the vendor's due run is the trigger time itself.
    assert detail == ("predicted ", predicted.at, ", due ", DUE, "")
    assert "1 predictions held" in plain_text(alert, window.tz).splitlines()[0]

    plain = plain_text(alert, window.tz)
    assert "Predicted run times that held (1): Nightly load (pyramid): predicted Thu 19 Nov" in (
        plain
    )
    assert "02:30 CET (01:30 UTC)" in plain
    slack = str(messages.alert(window, "end", alert, []))
    assert "Predicted run times that held" in slack
    assert f"<!date^{int(DUE.timestamp())}^" in slack

    shown = window_json(world.store.get_window(record.id), world.store.window_tasks(record.id))
    task = shown["tasks"][0]
    assert task["predicted"] == [
        {"at": predicted.at.isoformat(), "basis": predicted.basis, "runs": 1}
    ]
    assert task["prediction_outcome"].startswith("predicted Thu 19 Nov 02:30 CET")
    assert ", due Thu 19 Nov 02:30 CET (01:30 UTC)" in task["prediction_outcome"]


async def test_a_run_due_at_another_time_shows_the_prediction_was_wrong(world: World) -> None:
    record = await world.plan()
    predicted = world.row(record).predicted[0]
    # Someone moves the schedule to 03:10 after the plan: the prediction is now wrong.
    world.sim.retime(world.schedule_id, timedelta(minutes=40))
    await world.through(record)
    window, alert = world.end()
    detail = _item(alert, "Predicted run times that proved wrong")
    moved = DUE + timedelta(minutes=40)
    assert detail == (
        "predicted ",
        predicted.at,
        f" ({predicted.basis})",
        "; the vendor reports a run due ",
        moved,
        " instead",
    )
    wrong = next(x for x in alert.lists if x.title.startswith("Predicted run times that proved"))
    assert wrong.warn
    assert "1 predictions wrong" in plain_text(alert, window.tz).splitlines()[0]
    outcome = world.row(record).prediction_outcome
    assert outcome is not None
    assert "the vendor reports a run due Thu 19 Nov 03:10 CET (02:10 UTC) instead" in outcome
    assert "(daily, from " in outcome


async def test_no_run_due_in_the_window_shows_the_prediction_was_wrong(world: World) -> None:
    record = await world.plan()
    world.sim.retime(world.schedule_id, timedelta(hours=3))  # 05:30: after the window
    await world.through(record)
    _, alert = world.end()
    detail = _item(alert, "Predicted run times that proved wrong")
    assert detail[-1] == "; no run was due in the window"


async def test_a_window_planned_without_a_check_keeps_no_prediction(world: World) -> None:
    # Tasks named by id: no check ran, so nothing was predicted and the summary says nothing.
    result = await world.bot.plan(
        "tomorrow 2-4am",
        by="alice",
        tz=BERLIN,
        approved_by="bob",
        tasks=f"pyramid:{world.schedule_id}",
    )
    record = result.window.record
    assert world.row(record).predicted == ()
    await world.through(record)
    _, alert = world.end()
    assert not [x for x in alert.lists if x.title.startswith("Predicted")]
    assert window_json(record, [world.row(record)])["tasks"][0]["predicted"] == []


async def test_a_pattern_that_changed_before_the_plan_keeps_no_prediction(world: World) -> None:
    # Moved to 03:10 two days ago: two runs of the new time are too few to predict from, so
    # the check says the pattern changed, nothing predicted is kept, and the end says none.
    world.sim.retime(world.schedule_id, timedelta(minutes=40), at=world.clock() - timedelta(days=2))
    checked = await world.bot.check("tomorrow 2-4am", by="alice", tz=BERLIN)
    (conflict,) = checked.report.conflicts
    assert conflict.kind is ConflictKind.MAY_FIRE
    assert "the pattern changed on " in conflict.detail
    record = await world.plan()
    assert world.row(record).predicted == ()
    await world.through(record)
    _, alert = world.end()
    assert not [x for x in alert.lists if x.title.startswith("Predicted")]
    assert world.row(record).prediction_outcome is None


# -- the judgement itself, for the answers the simulators do not give --------------------------
REF = TaskRef(system="bmc", kind=TaskKind.ETL, id="101")
AT = datetime(2026, 11, 19, 1, 30, tzinfo=UTC)


def _row(*predicted: PredictedStart, paused: bool = True) -> PlannedTask:
    return PlannedTask(
        id=1,
        window_id="w_1",
        system=REF.system,
        kind=REF.kind,
        task_id=REF.id,
        task_name="Extractor",
        state=PlannedTaskState.RESUMED,
        prior_paused=False,
        prior_vendor_state=None,
        attempts=1,
        last_error=None,
        claimed_at=None,
        paused_at=AT - timedelta(hours=1) if paused else None,
        resumed_at=None,
        predicted=predicted,
    )


def _skipped(*ats: datetime) -> list[SkippedRun]:
    return [SkippedRun(task=REF, at=a, reason="paused") for a in ats]


def test_judging_counts_and_tolerance() -> None:
    hourly = PredictedStart(at=AT, basis="hourly, from 20 runs", runs=2)
    # Both predicted runs due, the first 3 minutes late: within the jitter, held.
    late = AT + timedelta(minutes=3)
    assert judge_prediction(_row(hourly), _skipped(late, AT + timedelta(hours=1))) == (
        "held",
        ("predicted 2 runs, the first ", AT, ", due ", late, " (2 due)"),
    )
    # One of two due: the count proved wrong though the first was on time.
    verdict, text = judge_prediction(_row(hourly), _skipped(AT))
    assert verdict == "wrong"
    assert text[-2:] == ("; the vendor reports 1 run due, the first ", AT)
    # Six minutes off is another time, not jitter.
    verdict, text = judge_prediction(
        _row(PredictedStart(at=AT)), _skipped(AT + timedelta(minutes=6))
    )
    assert verdict == "wrong"
    assert text[-3] == "; the vendor reports a run due "


def test_what_cannot_be_checked_says_why_and_never_claims_no_run() -> None:
    row = _row(PredictedStart(at=AT, basis="daily, from 14 runs"))
    reason = "bmc's scheduler does not report runs skipped while paused"
    assert judge_prediction(row, reason) == (
        "unchecked",
        ("predicted ", AT, " (daily, from 14 runs)", f"; not checked: {reason}"),
    )
    verdict, text = judge_prediction(row, ConnectorError("bmc", "BMC answered 503"))
    assert verdict == "unchecked"
    assert "not checked: " in text[-1]
    assert "503" in text[-1]


def test_only_predicted_starts_in_the_window_are_kept() -> None:
    def conflict(
        kind: ConflictKind, basis: str, *, predicted: bool = True, runs: int = 1
    ) -> Conflict:
        return Conflict(
            system=REF.system,
            task_id=REF.id,
            task_kind=REF.kind,
            task_name="Extractor",
            kind=kind,
            at=AT,
            paused=False,
            detail=f"likely 02:30 ({basis})" if basis else "",
            predicted=predicted,
            basis=basis,
            runs_in_window=runs,
        )

    found = predicted_starts(
        [
            conflict(
                ConflictKind.STARTS_IN_WINDOW,
                "hourly, from 20 runs",
                runs=3,
            ),
            # A predicted run before the window that may still be going: no claim on it.
            conflict(ConflictKind.MAY_OVERLAP, "daily, from 9 runs"),
            # A vendor-given time is a fact, not a prediction.
            conflict(ConflictKind.STARTS_IN_WINDOW, "", predicted=False),
        ]
    )
    assert found == {REF.key: [PredictedStart(at=AT, basis="hourly, from 20 runs", runs=3)]}


@pytest.mark.engines("sqlite", "postgresql")
def test_predictions_are_kept_per_planned_task_and_others_ignored(
    store: Store, clock: ManualClock
) -> None:
    other = TaskRef(system="bmc", kind=TaskKind.ETL, id="102")
    start = clock() + timedelta(hours=2)
    record = store.create_window(
        Window(start=start, end=start + timedelta(hours=2), tz="UTC", text="x"),
        requested_by="alice",
        tasks=[(REF, "Extractor"), (other, "Loader")],
    )
    later, sooner = PredictedStart(at=start + timedelta(minutes=50)), PredictedStart(at=start)
    unplanned = TaskRef(system="bmc", kind=TaskKind.ETL, id="999").key
    changed = store.record_predictions(record.id, {REF.key: [later, sooner], unplanned: [sooner]})
    assert changed == 1
    rows = {r.ref.key: r for r in store.window_tasks(record.id)}
    assert rows[REF.key].predicted == (sooner, later)
    assert rows[other.key].predicted == ()
    store.set_prediction_outcome(rows[REF.key].id, "predicted 02:30, due 02:30")
    assert store.get_planned_task(rows[REF.key].id).prediction_outcome == (
        "predicted 02:30, due 02:30"
    )


async def test_a_vendor_that_reports_no_skipped_runs_leaves_its_predictions_unchecked(
    clock: ManualClock, store: Store
) -> None:
    # BMC's API has no history of runs skipped while paused: its empty answer is "cannot
    # say", so a prediction for a BMC ETL is never judged wrong for want of a due run.
    sim = BmcSimulator(clock=clock)
    etl = sim.by_name("VMware vCenter extractor (prod)")
    with SandboxServer([sim]):
        schedulers = open_schedulers(sandbox_config([sim]), clock)
        sent = Recorder()
        bot = Maintbot(Settings(), store, schedulers, clock, notifier=sent, command_line=True)
        try:
            result = await bot.plan(
                "tomorrow 2-4am",
                by="alice",
                tz=BERLIN,
                approved_by="bob",
                tasks=f"bmc:etl:{etl.etl_id}",
            )
            record = result.window.record
            key = f"bmc:etl:{etl.etl_id}"
            store.record_predictions(
                record.id, {key: [PredictedStart(at=DUE, basis="daily, from 9 runs")]}
            )
            for moment in (record.start, record.end):
                clock.set(moment + timedelta(seconds=5))
                await bot.window_clock.tick()
        finally:
            for s in schedulers:
                await s.aclose()
    (row,) = store.window_tasks(record.id)
    assert row.state is PlannedTaskState.RESUMED
    alert = sent.alert("end", record.id)
    titles = [x.title for x in alert.lists if x.title.startswith("Predicted")]
    assert titles == ["Predicted run times not checked"]
    assert row.prediction_outcome is not None
    assert "bmc's scheduler does not report runs skipped while paused" in row.prediction_outcome
