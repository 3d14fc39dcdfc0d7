"""The plans that keep what their check predicted beyond ``maintbot plan`` (issue 13 item 2):
each occurrence of a series keeps the run times its own fresh check predicted (none when that
check could not be made and the previous occurrence's tasks were reused), and the Slack plan
dialog keeps those of its stored report for the ticked tasks, only while the window is the
one that report checked. Real Pyramid simulator over loopback, real store on both engines,
the service's own series desk, dialog drafts and the window clock's ticks."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import pytest
from test_lifecycle import Recorder

from bot.check import Scheduler, open_schedulers
from bot.clock import ManualClock
from bot.config import Settings
from bot.lifecycle import Alert, plain_text
from bot.model import (
    PlannedTask,
    PlannedTaskState,
    PredictedStart,
    SeriesState,
    WindowRecord,
    WindowState,
)
from bot.run_history import predicted_starts
from bot.sandbox import sandbox_config
from bot.sandbox.base import SandboxServer
from bot.sandbox.pyramid import PyramidSimulator
from bot.service.drafts import Draft, save_draft
from bot.service.maintbot import Maintbot
from bot.store import Store

pytestmark = pytest.mark.engines("sqlite", "postgresql")

BERLIN = "Europe/Berlin"
CHANNEL = "C_APPROVALS"
# The reference now is Wed 18 Nov 2026 19:00 in Berlin: the first "daily 2-4am" occurrence
# (and "tomorrow 2-4am") is Thu 19 Nov 01:00-03:00 UTC, the second Fri 20 Nov; the nightly
# 02:30 Berlin run is due at 01:30 UTC each day, the 02:45 one at 01:45 UTC.
THURSDAY = datetime(2026, 11, 19, 1, 30, tzinfo=UTC)
FRIDAY = THURSDAY + timedelta(days=1)
# Short enough that the second occurrence is not planned while the first is under way.
PLAN_AHEAD = timedelta(hours=12)


@dataclass
class World:
    clock: ManualClock
    store: Store
    sim: PyramidSimulator
    ids: dict[str, str]  # schedule name → id
    bot: Maintbot
    sent: Recorder

    def key(self, name: str) -> str:
        return f"pyramid:schedule:{self.ids[name]}"

    async def through(self, record: WindowRecord) -> None:
        """Tick at the start (pause), in the middle and after the end (resume, summary)."""
        for moment in (record.start, record.start + timedelta(hours=1), record.end):
            self.clock.set(moment + timedelta(seconds=5))
            await self.bot.window_clock.tick()

    def rows(self, record: WindowRecord) -> dict[str, PlannedTask]:
        return {r.task_name: r for r in self.store.window_tasks(record.id)}


@pytest.fixture
async def world(clock: ManualClock, store: Store) -> AsyncIterator[World]:
    sim = PyramidSimulator(clock=clock, schedules=0)
    made = [
        sim.add_daily("Nightly load", time(2, 30), BERLIN),
        sim.add_daily("Nightly extract", time(2, 45), BERLIN),
        sim.add_daily("Morning report", time(10, 0), BERLIN),  # never in a 2-4am window
    ]
    with SandboxServer([sim]):
        schedulers: list[Scheduler] = open_schedulers(sandbox_config([sim]), clock)
        sent = Recorder()
        bot = Maintbot(Settings(), store, schedulers, clock, notifier=sent, command_line=True)
        try:
            yield World(clock, store, sim, {s.name: s.id for s in made}, bot, sent)
        finally:
            for s in schedulers:
                await s.aclose()


def _near(at: datetime, due: datetime) -> bool:
    return abs(at - due) <= timedelta(minutes=1)  # the simulator's start jitter


def _predicted_lists(alert: Alert) -> dict[str, tuple[str, ...]]:
    """The end summary's "Predicted run times that held" and "… that proved wrong" lists,
    as ``held`` and ``wrong`` → the names in each."""
    found: dict[str, tuple[str, ...]] = {}
    for listed in alert.lists:
        for verdict, title in (("held", "that held"), ("wrong", "that proved wrong")):
            if listed.title.startswith("Predicted run times " + title):
                found[verdict] = tuple(i.name for i in listed.items)
    assert len(found) == len([x for x in alert.lists if x.title.startswith("Predicted")])
    return found


# -- series occurrences -------------------------------------------------------------------------
async def _daily_series(world: World) -> WindowRecord:
    """A "daily 2-4am" series of the conflicting tasks, approved at once; its first
    occurrence run through the clock. The first occurrence's window."""
    series = world.bot.parse_series("daily 2-4am", BERLIN)
    assert series is not None
    plan = await world.bot.series.plan(series, by="alice", approved_by="bob", plan_ahead=PLAN_AHEAD)
    assert plan.series.state is SeriesState.APPROVED
    first = plan.first
    assert first.start == THURSDAY - timedelta(minutes=30)
    # The first occurrence is planned with the series, from the same kind of check.
    rows = world.rows(first)
    assert set(rows) == {"Nightly load", "Nightly extract"}
    assert _near(rows["Nightly load"].predicted[0].at, THURSDAY)
    await world.through(first)
    assert len(world.store.series_windows(plan.series.id)) == 1  # the next not yet due
    return first


async def _second(world: World, first: WindowRecord) -> WindowRecord:
    world.clock.set(FRIDAY - timedelta(hours=11))  # the second occurrence is within reach
    await world.bot.tick()
    windows = world.store.series_windows(first.series_id or "")
    assert [w.start for w in windows] == [first.start, first.start + timedelta(days=1)]
    second = windows[1]
    assert second.state is WindowState.APPROVED
    return second


async def test_an_occurrence_keeps_what_its_fresh_check_predicted_and_the_end_judges_it(
    world: World,
) -> None:
    first = await _daily_series(world)
    assert _predicted_lists(world.sent.alert("end", first.id)) == {
        "held": ("Nightly extract", "Nightly load")
    }

    second = await _second(world, first)
    rows = world.rows(second)
    assert set(rows) == {"Nightly load", "Nightly extract"}
    load, extract = rows["Nightly load"].predicted, rows["Nightly extract"].predicted
    # Friday's times, from Friday's check: not Thursday's carried over.
    assert len(load) == 1
    assert _near(load[0].at, FRIDAY)
    assert len(extract) == 1
    assert _near(extract[0].at, FRIDAY + timedelta(minutes=15))
    assert load[0].basis.startswith("daily, from ")

    # Someone moves the 02:45 run to 03:25 after the plan: that prediction proves wrong.
    world.sim.retime(world.ids["Nightly extract"], timedelta(minutes=40))
    await world.through(second)
    assert {r.state for r in world.rows(second).values()} == {PlannedTaskState.RESUMED}
    alert = world.sent.alert("end", second.id)
    assert _predicted_lists(alert) == {
        "held": ("Nightly load",),
        "wrong": ("Nightly extract",),
    }
    headline = plain_text(alert, second.tz).splitlines()[0]
    assert "1 predictions held" in headline
    assert "1 predictions wrong" in headline
    outcomes = {n: r.prediction_outcome for n, r in world.rows(second).items()}
    assert outcomes["Nightly load"] is not None
    assert outcomes["Nightly extract"] is not None
    assert "the vendor reports a run due Fri 20 Nov 03:25 CET" in outcomes["Nightly extract"]


async def test_an_occurrence_planned_from_the_previous_ones_tasks_keeps_no_prediction(
    world: World,
) -> None:
    first = await _daily_series(world)
    # Pyramid answers nothing readable when the second occurrence is planned: it keeps the
    # first's tasks (fail safe), and with them no prediction, as nothing was predicted.
    world.sim.faults.inject("content_type", times=10_000)
    second = await _second(world, first)
    rows = world.rows(second)
    assert set(rows) == {"Nightly load", "Nightly extract"}
    assert all(r.predicted == () for r in rows.values())
    note = world.sent.of("series_planned", second.id)
    assert len(note) == 1
    assert "the check could not be made" in note[0].text
    audit = next(r for r in world.store.audit_rows(50) if r.action == "plan_occurrence")
    assert audit.window_id == second.id

    world.sim.faults.clear()
    await world.through(second)
    alert = world.sent.alert("end", second.id)
    assert _predicted_lists(alert) == {}
    assert all(r.prediction_outcome is None for r in world.rows(second).values())


async def test_an_occurrence_of_named_tasks_keeps_no_prediction(world: World) -> None:
    # Tasks named by id: no check is run for them, so nothing was predicted.
    series = world.bot.parse_series("daily 2-4am", BERLIN)
    assert series is not None
    plan = await world.bot.series.plan(
        series,
        by="alice",
        approved_by="bob",
        tasks=world.key("Nightly load"),
        plan_ahead=PLAN_AHEAD,
    )
    await world.through(plan.first)
    second = await _second(world, plan.first)
    assert [r.predicted for r in world.rows(second).values()] == [()]


# -- the plan dialog ----------------------------------------------------------------------------
async def _checked_draft(world: World) -> tuple[Draft, dict[str, list[PredictedStart]]]:
    """A draft opened from a stored check of "tomorrow 2-4am", and what that check
    predicted by task key."""
    checked = await world.bot.check("tomorrow 2-4am", by="alice", tz=BERLIN, channel=CHANNEL)
    predicted = predicted_starts(checked.report.conflicts)
    assert set(predicted) == {world.key("Nightly load"), world.key("Nightly extract")}
    draft = await world.bot.draft("", by="alice", channel=CHANNEL, check_id=checked.id)
    assert draft.check_id == checked.id
    return draft, predicted


async def test_a_dialog_plan_of_the_checked_window_keeps_its_predictions_for_the_ticked_tasks(
    world: World,
) -> None:
    draft, predicted = await _checked_draft(world)
    # The 02:30 run and the morning report ticked; the 02:45 run left out.
    keys = [world.key("Nightly load"), world.key("Morning report")]
    planned = world.bot.plan_draft(draft.id, by="alice", keys=keys)
    record = planned.window.record
    rows = world.rows(record)
    assert set(rows) == {"Nightly load", "Morning report"}
    (expected,) = predicted[world.key("Nightly load")]
    assert [(p.at, p.basis) for p in rows["Nightly load"].predicted] == [
        (expected.at, expected.basis)
    ]
    assert rows["Morning report"].predicted == ()  # nothing predicted in the window

    decision = await world.bot.decide(record.id, by="bob", approve=True)
    assert decision.acted
    await world.through(record)
    assert _predicted_lists(world.sent.alert("end", record.id)) == {"held": ("Nightly load",)}


async def test_a_window_edited_in_the_dialog_keeps_no_prediction(world: World) -> None:
    draft, _ = await _checked_draft(world)
    # 02:15-04:00 still holds both runs, and the dialog re-checked it; but that re-check is
    # not stored and the stored report was for 02:00: no prediction of its is kept.
    edited = await world.bot.redraft(draft.id, by="alice", text="tomorrow 2:15-4am")
    window = edited.window()
    assert window is not None
    assert window.start == THURSDAY - timedelta(minutes=15)
    assert edited.check_id == draft.check_id
    keys = [world.key("Nightly load"), world.key("Nightly extract")]
    offered = [edited.task(k) for k in keys]
    assert all(t is not None and t.conflict == "starts_in_window" for t in offered)
    record = world.bot.plan_draft(edited.id, by="alice", keys=keys).window.record
    rows = world.rows(record)
    assert set(rows) == {"Nightly load", "Nightly extract"}
    assert all(r.predicted == () for r in rows.values())


async def test_a_window_edited_back_to_the_checked_one_keeps_the_predictions(
    world: World,
) -> None:
    draft, _ = await _checked_draft(world)
    await world.bot.redraft(draft.id, by="alice", text="tomorrow 2:15-4am")
    back = await world.bot.redraft(draft.id, by="alice", text="tomorrow 2-4am")
    record = world.bot.plan_draft(back.id, by="alice", keys=[world.key("Nightly load")])
    (row,) = world.rows(record.window.record).values()
    assert len(row.predicted) == 1
    assert _near(row.predicted[0].at, THURSDAY)


async def test_a_dialog_whose_report_is_gone_plans_with_no_prediction(world: World) -> None:
    draft, _ = await _checked_draft(world)
    # The draft outlives its report (another database's draft, say): planned, none kept.
    save_draft(world.store, dataclasses.replace(draft, check_id="c_gone"))
    record = world.bot.plan_draft(draft.id, by="alice", keys=[world.key("Nightly load")])
    (row,) = world.rows(record.window.record).values()
    assert row.predicted == ()
    assert record.window.record.state is WindowState.PLANNED


async def test_a_dialog_opened_from_text_keeps_no_prediction(world: World) -> None:
    # No stored report behind the dialog: its check was for drawing the ticks only.
    draft = await world.bot.draft("tomorrow 2-4am", by="alice", tz=BERLIN, channel=CHANNEL)
    assert draft.check_id is None
    record = world.bot.plan_draft(draft.id, by="alice", keys=[world.key("Nightly load")])
    (row,) = world.rows(record.window.record).values()
    assert row.predicted == ()
