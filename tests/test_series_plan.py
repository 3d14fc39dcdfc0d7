"""Series end to end on the application layer: planned and approved once, each occurrence
planned a day ahead by the clock's planner with a fresh check, run by the window clock over
the four simulators, one occurrence skipped, a restart in the middle; ending, cancelling,
moving, and what a check that cannot be read does to an occurrence's tasks.

The simulators and the bot share one ManualClock, so weeks pass in a few ticks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from test_lifecycle import Recorder, _pausable
from test_soak import _steady

from bot.clock import ManualClock
from bot.config import Settings
from bot.errors import ApprovalError, LifecycleError, WindowError
from bot.model import SeriesState, Task, WindowState
from bot.sandbox import SandboxServer, Simulator, make_simulators, sandbox_config
from bot.series import Series, occurrences
from bot.service import Maintbot
from bot.service.series import series_of
from bot.store import Store

pytestmark = pytest.mark.engines("sqlite", "postgresql")

# REFERENCE_NOW is Wednesday 18 Nov 2026 18:00 UTC: the Saturdays are 21 Nov, 28 Nov, 5 Dec…
WEEKLY = "patch night every Saturday 2-4am"
FIRST, SECOND, THIRD, FOURTH = (date(2026, 11, 21), date(2026, 11, 28), date(2026, 12, 5),
                                date(2026, 12, 12))  # fmt: skip


@dataclass
class World:
    clock: ManualClock
    location: str
    sims: dict[str, Simulator]
    server: SandboxServer
    notes: Recorder
    bot: Maintbot | None = None

    def open(self) -> Maintbot:
        """The bot as a fresh process opens it: nothing carried in memory."""
        store = Store(self.location, clock=self.clock)
        self.bot = Maintbot.from_config(
            Settings(
                _env_file=None,  # type: ignore[call-arg]
                maintbot_db=self.location,
                maintbot_tz="UTC",
                maintbot_approvers="bob, carol",
            ),
            store,
            sandbox_config(list(self.sims.values())),
            self.clock,
            notifier=self.notes,
            command_line=True,
        )
        return self.bot

    async def close(self) -> None:
        assert self.bot is not None
        await self.bot.aclose()
        self.bot.store.close()
        self.bot = None

    async def tasks(self, per_system: int = 1) -> list[Task]:
        assert self.bot is not None
        found: list[Task] = []
        for scheduler in self.bot.schedulers:
            assert scheduler.connector is not None
            listed = await scheduler.connector.list_tasks()
            usable = sorted(
                (
                    t
                    for t in listed
                    if not t.paused and _pausable(t) and _steady(t, self.sims[t.ref.system])
                ),
                key=lambda t: t.id,
            )
            found += usable[:per_system]
        return found

    async def weekly(self) -> tuple[Maintbot, list[Task], Series]:
        """The open bot, a steady task of each system, and WEEKLY read in UTC."""
        assert self.bot is not None
        series = self.bot.parse_series(WEEKLY, "UTC")
        assert series is not None
        return self.bot, await self.tasks(), series

    def paused(self, task: Task) -> bool:
        for item in self.sims[task.ref.system].state()["tasks"]:
            if str(item["id"]) == task.ref.id:
                return bool(item["paused"])
        raise KeyError(task.ref.key)


@pytest.fixture
async def world(clock: ManualClock, db_location: str) -> AsyncIterator[World]:
    sims = make_simulators(clock=clock)
    with SandboxServer(sims) as server:
        made = World(clock, db_location, {s.vendor: s for s in sims}, server, Recorder())
        made.open()
        try:
            yield made
        finally:
            if made.bot is not None:
                await made.close()


def at(clock: ManualClock, day: date, hour: int, minute: int = 0) -> None:
    clock.set(datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC))


async def test_a_series_approved_once_runs_its_occurrences_through_the_clock(
    world: World,
) -> None:
    bot = world.bot
    assert bot is not None
    tasks = await world.tasks()
    assert {t.ref.system for t in tasks} == set(world.sims)
    spec = ",".join(t.ref.key for t in tasks)
    series = bot.parse_series(WEEKLY, "UTC")
    assert series is not None
    plan = await bot.series.plan(series, by="alice", tasks=spec)
    record = plan.series
    assert record.state is SeriesState.PLANNED
    assert record.title == "patch night"
    assert plan.first.state is WindowState.PLANNED
    assert plan.first.series_id == record.id
    assert plan.first.start.date() == FIRST
    assert len(plan.tasks) == len(tasks)

    # One approval, through the first occurrence's window (by its series id here).
    decision = await bot.decide(record.id, by="bob", approve=True)
    assert decision.acted
    assert bot.store.get_series(record.id).state is SeriesState.APPROVED
    assert bot.store.get_window(plan.first.id).state is WindowState.APPROVED

    # The second occurrence is skipped before it is even planned.
    bot.series.skip(record.id, SECOND, by="alice")

    ran: list[str] = []
    for day in (FIRST, THIRD, FOURTH):
        at(world.clock, day - timedelta(days=1), 12)  # within the day ahead: planned
        await bot.tick()
        planned = [w for w in bot.store.series_windows(record.id) if w.start.date() == day]
        assert len(planned) == 1, (day, bot.store.series_windows(record.id))
        window = planned[0]
        assert window.state is WindowState.APPROVED
        assert window.approved_by == "bob"
        at(world.clock, day, 2)
        report = await bot.tick()
        assert report.started == [window.id]
        assert all(world.paused(t) for t in tasks), day
        if day == THIRD:  # a restart in the middle of an occurrence
            await world.close()
            bot = world.open()
        at(world.clock, day, 4)
        report = await bot.tick()
        assert report.finished == [(window.id, WindowState.COMPLETED)], report
        assert not any(world.paused(t) for t in tasks), day  # every task back after each
        ran.append(window.id)

    windows = bot.store.series_windows(record.id)
    assert [w.id for w in windows] == ran  # the skipped one was never planned
    assert all(len(bot.store.window_tasks(w)) == len(tasks) for w in ran)
    skipped = bot.store.get_series(record.id).skipped
    assert [s.date() for s in skipped] == [SECOND]
    # Said in each occurrence's thread when it was planned ahead; the first was planned
    # with the series itself.
    planned_notes = [n for n in world.notes.sent if n.kind == "series_planned"]
    assert [n.window_id for n in planned_notes] == ran[1:]
    assert "Same tasks as the previous occurrence" in planned_notes[-1].text
    actions = [
        r.action for r in bot.store.audit_rows(10_000) if r.actor in ("clock", "bob", "alice")
    ]
    assert "approve_series" in actions
    assert actions.count("plan_occurrence") == 2


async def test_the_first_occurrences_rejection_cancels_the_series(world: World) -> None:
    bot, tasks, series = await world.weekly()
    plan = await bot.series.plan(series, by="alice", tasks=tasks[0].ref.key)
    decision = await bot.decide(plan.first.id, by="bob", approve=False, reason="not this month")
    assert decision.acted
    assert bot.store.get_series(plan.series.id).state is SeriesState.CANCELLED
    at(world.clock, SECOND - timedelta(days=1), 12)
    await bot.tick()
    assert len(bot.store.series_windows(plan.series.id)) == 1  # nothing more planned


async def test_an_unapproved_series_whose_first_occurrence_passed_is_cancelled(
    world: World,
) -> None:
    bot, tasks, series = await world.weekly()
    plan = await bot.series.plan(series, by="alice", tasks=tasks[0].ref.key)
    at(world.clock, FIRST, 5)  # nobody approved; the first occurrence has come and gone
    await bot.tick()
    await bot.tick()
    assert bot.store.get_window(plan.first.id).state not in (
        WindowState.PLANNED,
        WindowState.APPROVED,
    )
    assert bot.store.get_series(plan.series.id).state is SeriesState.CANCELLED
    row = bot.store.audit_rows(1)[0]
    assert (row.action, row.outcome) == ("cancel_series", "not_approved")


async def test_a_system_that_cannot_be_read_keeps_the_previous_occurrences_tasks(
    world: World,
) -> None:
    bot, tasks, series = await world.weekly()
    plan = await bot.series.plan(
        series, by="alice", tasks=",".join(t.ref.key for t in tasks), approved_by="bob"
    )
    assert plan.series.state is SeriesState.APPROVED
    # The second occurrence is re-checked with the same spec; Talend answers with something
    # that is not JSON, so its task cannot be confirmed: it is kept, never dropped.
    world.sims["talend"].faults.inject("content_type", times=1_000)
    at(world.clock, SECOND - timedelta(days=1), 12)
    await bot.tick()
    second = [w for w in bot.store.series_windows(plan.series.id) if w.start.date() == SECOND]
    assert len(second) == 1
    kept = {r.ref.key for r in bot.store.window_tasks(second[0].id)}
    assert kept == {t.ref.key for t in tasks}
    note = next(n for n in world.notes.sent if n.kind == "series_planned")
    assert "Kept from the previous occurrence" in note.text
    assert "talend" in note.text


async def test_end_cancel_and_move(world: World) -> None:
    bot, tasks, series = await world.weekly()
    spec = tasks[0].ref.key
    first = await bot.series.plan(series, by="alice", tasks=spec, approved_by="bob")
    # Move the second occurrence to Sunday 1-3am: planned at once, at the new time, keyed
    # by its usual start.
    moved = await bot.series.move(
        first.series.id, SECOND, bot.parse("Sunday Nov 29 1-3am", "UTC"), by="alice"
    )
    assert moved.start.date() == date(2026, 11, 29)
    assert moved.occurrence is not None
    assert moved.occurrence.date() == SECOND
    with pytest.raises(LifecycleError, match="planned already"):
        await bot.series.move(
            first.series.id, SECOND, bot.parse("Sunday Nov 29 5-6am", "UTC"), by="alice"
        )
    with pytest.raises(LifecycleError, match="within a day"):
        await bot.series.move(first.series.id, THIRD, bot.parse("Dec 9 3-5am", "UTC"), by="alice")
    # Ending it: no occurrence after now; the planned ones that have not started go.
    ended = bot.series.end(first.series.id, by="alice")
    assert ended.state is SeriesState.ENDED
    states = {w.id: w.state for w in bot.store.series_windows(first.series.id)}
    assert set(states.values()) == {WindowState.CANCELLED}
    with pytest.raises(LifecycleError, match="ended already"):
        bot.series.cancel(first.series.id, by="alice")
    at(world.clock, THIRD - timedelta(days=1), 12)
    await bot.tick()
    assert len(bot.store.series_windows(first.series.id)) == 2  # nothing new


async def test_cancelling_a_series_ends_its_occurrence_under_way(world: World) -> None:
    bot, tasks, series = await world.weekly()
    plan = await bot.series.plan(
        series, by="alice", tasks=",".join(t.ref.key for t in tasks), approved_by="bob"
    )
    at(world.clock, FIRST, 2)
    await bot.tick()
    assert all(world.paused(t) for t in tasks)
    bot.series.cancel(plan.series.id, by="alice")
    await bot.tick()
    assert not any(world.paused(t) for t in tasks)
    assert bot.store.get_series(plan.series.id).state is SeriesState.CANCELLED


async def test_bad_series_requests_are_refused_with_nothing_written(world: World) -> None:
    bot, tasks, series = await world.weekly()
    # An approver who is the requester: refused before anything is recorded.
    with pytest.raises(ApprovalError):
        await bot.series.plan(series, by="alice", tasks=tasks[0].ref.key, approved_by="alice")
    with pytest.raises(LifecycleError, match="31 days"):
        await bot.series.plan(
            series, by="alice", tasks=tasks[0].ref.key, plan_ahead=timedelta(days=60)
        )
    assert bot.store.list_series() == []
    assert bot.store.list_windows(None) == []
    refusals = [(r.action, r.outcome) for r in bot.store.audit_rows(10)]
    assert refusals == [("plan_series", "refused")] * 2
    plan = await bot.series.plan(series, by="alice", tasks=tasks[0].ref.key, approved_by="bob")
    sid = plan.series.id
    cases: list[tuple[Any, str]] = [
        (lambda: bot.series.skip(sid, date(2026, 11, 22), by="alice"), "no occurrence on"),
        (lambda: bot.series.skip("s_nope", SECOND, by="alice"), "No series with id"),
        (lambda: bot.series.skip(sid, SECOND, by=" "), "by is required"),
    ]
    for call, message in cases:
        with pytest.raises((LifecycleError, WindowError), match=message):
            call()
    bot.series.skip(sid, SECOND, by="alice")
    with pytest.raises(LifecycleError, match="skipped already"):
        bot.series.skip(sid, SECOND, by="alice")
    at(world.clock, FIRST, 2)
    await bot.tick()
    with pytest.raises(LifecycleError, match="has started"):
        bot.series.skip(sid, FIRST, by="alice")
    assert bot.store.get_series(sid).state is SeriesState.APPROVED


def test_store_records_each_occurrence_once(store: Store, clock: ManualClock) -> None:
    from bot.model import Window

    record = store.create_series(
        text="every Saturday 2-4am",
        title=None,
        tz="UTC",
        rrule="FREQ=WEEKLY;BYDAY=SA",
        dtstart=clock() + timedelta(days=3),
        until=None,
        count=None,
        duration=timedelta(hours=2),
        occurrence_text="2-4am",
        requested_by="alice",
        tasks={"tasks": None, "scope": None},
        plan_ahead=timedelta(days=1),
    )
    start = record.dtstart
    window = Window(start=start, end=start + timedelta(hours=2), tz="UTC")
    first = store.create_occurrence(
        record, start, window, tasks=[], state=WindowState.APPROVED, approved_by="bob"
    )
    again = store.create_occurrence(
        record, start, window, tasks=[], state=WindowState.APPROVED, approved_by="bob"
    )
    assert first is not None
    assert first.approved_end == window.end
    assert again is None  # a second clock planning the same occurrence records nothing
    assert [w.id for w in store.series_windows(record.id)] == [first.id]
    assert store.skip_occurrence(record.id, record.version, start + timedelta(days=7))
    assert not store.skip_occurrence(record.id, record.version, start)  # stale version
    assert store.series_counts() == {"planned": 1}


async def test_the_calendar_feed_shows_the_series_as_the_bot_runs_it(world: World) -> None:
    """Read back by independent readers (icalendar, then recurring-ical-events expanding
    the RRULE with its EXDATEs): the same occurrences as the bot's, a moved one at its new
    time, a skipped one gone, and an ended series stopping where it was ended."""
    import icalendar
    import recurring_ical_events

    bot = world.bot
    assert bot is not None
    tasks = await world.tasks()
    series = bot.parse_series("every Saturday 2-4am", "Europe/Berlin")
    assert series is not None
    plan = await bot.series.plan(series, by="alice", tasks=tasks[0].ref.key, approved_by="bob")
    sid = plan.series.id
    bot.series.skip(sid, SECOND, by="alice")
    moved = await bot.series.move(sid, THIRD, bot.parse("Dec 5 5-7am", "Europe/Berlin"), by="alice")

    def starts(feed: bytes, until_days: int = 40) -> list[str]:
        calendar = icalendar.Calendar.from_ical(feed)
        begin = world.clock()
        found = recurring_ical_events.of(calendar).between(
            begin, begin + timedelta(days=until_days)
        )
        return sorted(e["DTSTART"].dt.astimezone(UTC).isoformat() for e in found)

    expected = [
        o.window.start.astimezone(UTC).isoformat()
        for o in occurrences(series_of(bot.store.get_series(sid)), after=world.clock(), count=6)
        if o.window is not None
        and o.window.start.date() not in (SECOND, THIRD)
        and o.window.start <= world.clock() + timedelta(days=40)
    ]
    expected.append(moved.start.astimezone(UTC).isoformat())
    assert starts(bot.calendar()) == sorted(expected)
    # Berlin's 02:00 local, whatever UTC offset the date has.
    calendar = icalendar.Calendar.from_ical(bot.calendar())
    event = next(e for e in calendar.walk("VEVENT") if sid in str(e["UID"]))
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert str(event["STATUS"]) == "CONFIRMED"

    # Ended now: the feed's rule stops here, and the planned occurrences after now are gone.
    bot.series.end(sid, by="alice")
    assert starts(bot.calendar()) == []
    ended = next(
        e
        for e in icalendar.Calendar.from_ical(bot.calendar()).walk("VEVENT")
        if sid in str(e["UID"])
    )
    assert "UNTIL" in ended["RRULE"]


async def test_widening_a_series_needs_an_approver_again_narrowing_does_not(
    world: World,
) -> None:
    bot = world.bot
    assert bot is not None
    tasks = await world.tasks()
    one, two = tasks[0], tasks[1]
    series = bot.parse_series(WEEKLY, "UTC")
    assert series is not None
    plan = await bot.series.plan(
        series, by="alice", tasks=one.ref.key, approved_by="bob", plan_ahead=timedelta(days=8)
    )
    sid = plan.series.id
    with pytest.raises(LifecycleError, match="exactly that already"):
        await bot.rescope_series(sid, by="alice", tasks=one.ref.key)
    with pytest.raises(ApprovalError):
        await bot.rescope_series(sid, by="mallory", tasks=f"{one.ref.key},{two.ref.key}")
    assert bot.store.get_series(sid).tasks["tasks"] == one.ref.key

    # Wider: the series waits for an approver, through its next occurrence's window.
    wider = await bot.rescope_series(sid, by="alice", tasks=f"{one.ref.key},{two.ref.key}")
    assert wider.reapproval
    assert wider.added == (two.ref.key,)
    assert wider.series.state is SeriesState.PLANNED
    assert wider.window is not None
    assert wider.window.id == plan.first.id  # planned already: edited, asking again
    assert bot.store.get_window(plan.first.id).state is WindowState.PLANNED
    at(world.clock, FIRST - timedelta(days=1), 12)  # the second is within plan_ahead now
    await bot.tick()
    assert len(bot.store.series_windows(sid)) == 1  # but the series waits: nothing planned
    decision = await bot.decide(sid, by="carol", approve=True)
    assert decision.acted
    approved = bot.store.get_series(sid)
    assert approved.state is SeriesState.APPROVED
    assert approved.approved_by == "carol"
    assert {r.ref.key for r in bot.store.window_tasks(plan.first.id)} == {
        one.ref.key,
        two.ref.key,
    }
    await bot.tick()  # approved again: the next occurrence is planned, with the wider tasks
    second = bot.store.series_windows(sid)[1]
    assert second.state is WindowState.APPROVED
    assert second.approved_by == "carol"
    assert {r.ref.key for r in bot.store.window_tasks(second.id)} == {one.ref.key, two.ref.key}

    # Narrower: applied at once, the approval kept.
    narrower = await bot.rescope_series(sid, by="alice", tasks=two.ref.key)
    assert not narrower.reapproval
    assert narrower.removed == (one.ref.key,)
    assert bot.store.get_series(sid).state is SeriesState.APPROVED
    # The next occurrence not started loses the task; the approval holds.
    for planned in (plan.first.id, second.id):
        assert {r.ref.key for r in bot.store.window_tasks(planned)} == {two.ref.key}, planned
        assert bot.store.get_window(planned).state is WindowState.APPROVED
    rows = [(r.action, r.outcome) for r in bot.store.audit_rows(10_000)]
    assert rows.count(("rescope_series", "ok")) == 2


async def test_a_check_nobody_answers_keeps_the_previous_occurrences_conflicting_tasks(
    world: World,
) -> None:
    """The default spec (each occurrence's conflicting tasks): when no scheduler answers
    the fresh check, the occurrence is not planned empty; it keeps what the previous one
    paused (fail safe), and says why."""
    bot, _, series = await world.weekly()
    plan = await bot.series.plan(series, by="alice", approved_by="bob")
    before = {r.ref.key for r in bot.store.window_tasks(plan.first.id)}
    assert before  # the sandbox has runs in the first Saturday's window
    for sim in world.sims.values():
        sim.faults.inject("content_type", times=10_000)
    at(world.clock, SECOND - timedelta(days=1), 12)
    await bot.tick()
    second = [w for w in bot.store.series_windows(plan.series.id) if w.start.date() == SECOND]
    assert len(second) == 1
    assert {r.ref.key for r in bot.store.window_tasks(second[0].id)} == before
    note = next(n for n in world.notes.sent if n.kind == "series_planned")
    assert "No scheduler answered the check" in note.text
