"""The conflict check: ask every configured scheduler at once, each within its own deadline,
and turn the answers into a :class:`~bot.model.ConflictReport`.

One slow or failing system becomes an error line in the report; the others are still shown.
That holds for failures nobody foresaw too: whatever one system's answer makes maintbot
raise, while asking or while turning the answers into conflicts, becomes that system's
error (logged with a reference), never the end of the check.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.clock import Clock
from bot.config import Config
from bot.conflicts import SystemSnapshot, find_conflicts
from bot.connectors import build_connector
from bot.connectors.base import Connector, deadline, gather_all
from bot.errors import ConfigError, ConnectorError, StoreError
from bot.lookback import Lookback, RunLengths, choose_lookback
from bot.model import ConflictReport, Run, RunningNow, SystemResult, TaskRef, Window
from bot.run_history import RunHistory, predict_runs, seen_starts
from bot.vendors import vendor

if TYPE_CHECKING:
    from bot.metrics import Metrics

__all__ = ["Scheduler", "check_window", "open_schedulers", "snapshot"]

log = logging.getLogger(__name__)

# How a system's error begins when it did not answer within its deadline.
_NO_ANSWER = "no answer within"


@dataclass
class Scheduler:
    """A configured scheduler instance: its connector, or why it could not be built."""

    name: str
    vendor: str
    label: str
    deadline: float
    lookback: timedelta
    connector: Connector | None = None
    error: str | None = None
    # The scheduler's wall clock, for run times predicted from its history.
    timezone: str = "UTC"

    async def aclose(self) -> None:
        if self.connector is not None:
            await self.connector.aclose()


def open_schedulers(config: Config, clock: Clock) -> list[Scheduler]:
    """Build a connector per configured scheduler. Missing credentials make that scheduler an
    error entry instead of stopping the others."""
    result = []
    for name, cfg in config.schedulers.items():
        scheduler = Scheduler(
            name=name,
            vendor=cfg.vendor,
            label=vendor(cfg.vendor).label,
            deadline=config.deadline_for(name),
            lookback=timedelta(hours=cfg.lookback_hours),
            timezone=cfg.timezone,
        )
        try:
            scheduler.connector = build_connector(name, cfg, config.credentials(name), clock=clock)
        except ConfigError as exc:
            scheduler.error = str(exc).removeprefix(f"{name}: ")
        result.append(scheduler)
    return result


async def snapshot(
    scheduler: Scheduler,
    window: Window,
    now: datetime,
    history: RunHistory | None = None,
    *,
    each_run: bool = False,
    lengths: RunLengths | None = None,
) -> SystemSnapshot:
    """Ask one scheduler what collides with ``window``, within its deadline. Runs at a time
    the vendor does not give are predicted from run history where it shows a pattern
    (``history`` keeps it for schedulers that keep none); with ``each_run``, the durations
    of the runs inside it too (how far each reaches into a later slot of a range, for
    ``suggest``). ``lengths`` remembers the run lengths seen, so later checks look back
    before the window no further than the longest run needs (see :mod:`bot.lookback`)."""
    base = {"system": scheduler.name, "vendor": scheduler.vendor, "label": scheduler.label}
    if scheduler.connector is None:
        return SystemSnapshot(SystemResult(**base, ok=False, error=scheduler.error))
    connector = scheduler.connector
    # Runs that started before the window may still be running into it (may_overlap).
    lookback = _lookback(scheduler, now, lengths)
    runs_from = max(now, window.start - lookback.span)
    if not lookback.full and runs_from == max(now, window.start - scheduler.lookback):
        lookback = Lookback(scheduler.lookback, full=True)  # now is later than either start
    durations_before = window.end if each_run else window.start
    try:
        with deadline(scheduler.deadline):
            async with asyncio.timeout(scheduler.deadline):
                runs, running = await _both(
                    connector.upcoming_runs(
                        runs_from, window.end, durations_before=durations_before
                    ),
                    connector.running_now(),
                )
                refs = {r.task.key: r.task for r in runs}
                refs.update({r.task.key: r.task for r in running})
                tasks = await connector.describe(list(refs.values())) if refs else []
    except TimeoutError:
        message = (
            f"{_NO_ANSWER} {scheduler.deadline:g} s; the scheduler is slow or down "
            f"(raise deadline_seconds in maintbot.toml if it is just slow)"
        )
        return SystemSnapshot(SystemResult(**base, ok=False, error=message))
    except ConnectorError as exc:
        return SystemSnapshot(SystemResult(**base, ok=False, error=exc.detail))
    except Exception as exc:
        # Connectors turn what they foresee into ConnectorError; this is the last line of
        # defence for what they do not (a shape nobody expected). Cancellation is not
        # caught: the check's caller owns it.
        return SystemSnapshot(SystemResult(**base, ok=False, error=_unexpected(scheduler, exc)))
    if lengths is not None:
        # Only a look-back that was not cut short by now learns what the configured span
        # holds; a check of a window about to open sees less than a full one would.
        full = lookback.full and runs_from > now
        _remember_lengths(scheduler, lengths, runs, running, now, full=full)
    runs = await _predicted(scheduler, connector, runs, running, window, now, runs_from, history)
    relevant: list[Run] = [r for r in runs if r.at is None or r.at < window.end]
    return SystemSnapshot(
        SystemResult(
            **base,
            ok=True,
            task_count=len(tasks),
            lookback=lookback.span,
            lookback_note=lookback.note,
        ),
        tasks=tasks,
        runs=relevant,
        running=running,
    )


def _lookback(scheduler: Scheduler, now: datetime, lengths: RunLengths | None) -> Lookback:
    """This check's look-back; the configured one whenever the store cannot say better."""
    if lengths is None:
        return Lookback(scheduler.lookback, full=True)
    try:
        longest = lengths.longest_run(scheduler.name, now=now)
        full_at = lengths.full_lookback_at(scheduler.name)
    except StoreError as exc:
        log.warning("check: run lengths of %s not available: %s", scheduler.name, exc)
        return Lookback(scheduler.lookback, full=True)
    return choose_lookback(scheduler.lookback, longest, full_at, now)


def _remember_lengths(
    scheduler: Scheduler,
    lengths: RunLengths,
    runs: Sequence[Run],
    running: Sequence[RunningNow],
    now: datetime,
    *,
    full: bool,
) -> None:
    seen: list[tuple[TaskRef, timedelta]] = [
        (r.task, r.expected_duration) for r in runs if r.expected_duration is not None
    ]
    seen += [(r.task, r.expected_duration) for r in running if r.expected_duration is not None]
    try:
        lengths.record_run_lengths(seen, now=now)
        if full:
            lengths.mark_full_lookback(scheduler.name, now)
    except StoreError as exc:
        # The store's trouble costs later checks their shorter look-back, never this answer.
        log.warning("check: run lengths of %s not recorded: %s", scheduler.name, exc)


async def _predicted(
    scheduler: Scheduler,
    connector: Connector,
    runs: list[Run],
    running: list[RunningNow],
    window: Window,
    now: datetime,
    runs_from: datetime,
    history: RunHistory | None,
) -> list[Run]:
    recorded: dict[str, list[datetime]] = {}
    if history is not None and connector.records_history:
        try:
            history.record_run_starts(seen_starts(runs, running), now=now)
            recorded = history.run_starts(scheduler.name)
        except StoreError as exc:
            # The store's trouble costs this check its predictions, never its answer.
            log.warning("check: run history of %s not available: %s", scheduler.name, exc)
    if not any(r.at is None for r in runs):
        return runs
    # Finding patterns is pure CPU: 0.8-1.4 s for 2,300 Pyramid schedules at scale 100.
    # In a worker thread the interpreter switches back to the event loop every few
    # milliseconds, so the other vendors' answers and Slack's acks are not held up.
    return await asyncio.to_thread(
        predict_runs,
        runs,
        zone=scheduler.timezone,
        now=now,
        start=runs_from,
        end=window.end,
        shown_in=window.tz,
        recorded=recorded,
        opens=window.start,
    )


def _unexpected(scheduler: Scheduler, exc: BaseException) -> str:
    """A user-safe message for an exception nobody foresaw, with a reference to the log
    line that has the traceback (which may quote vendor data, so it stays in the log)."""
    ref = secrets.token_hex(4)
    log.error("check: %s raised %s (ref %s)", scheduler.name, type(exc).__name__, ref, exc_info=exc)
    return (
        f"maintbot could not read this scheduler's answer ({type(exc).__name__}, log "
        f"reference {ref}); the other systems are unaffected. Try again, and report the "
        "reference if it persists"
    )


async def _both(
    runs: Awaitable[list[Run]], running: Awaitable[list[RunningNow]]
) -> tuple[list[Run], list[RunningNow]]:
    first, second = await gather_all(runs, running)
    return first, second  # type: ignore[return-value]


async def check_window(
    window: Window,
    schedulers: Sequence[Scheduler],
    clock: Clock,
    *,
    metrics: Metrics | None = None,
    each_run: bool = False,
    history: RunHistory | None = None,
    lengths: RunLengths | None = None,
) -> ConflictReport:
    """The conflict report for ``window`` across ``schedulers``, queried concurrently
    (each system's outcome and time counted in ``metrics``; run starts seen on schedulers
    that keep no history recorded in ``history``, which predictions learn from);
    ``each_run``: every run in the window a conflict of its own, with its duration (see
    :func:`find_conflicts`); run lengths seen remembered in ``lengths``, which shortens
    later checks' look-back before the window (see :mod:`bot.lookback`)."""
    now = clock()
    snapshots = list(
        await asyncio.gather(
            *(_timed(s, window, now, metrics, history, each_run, lengths) for s in schedulers)
        )
    )
    for snap in snapshots:
        if not snap.result.ok:
            log.warning("check: %s failed: %s", snap.result.system, snap.result.error)
    try:
        return find_conflicts(window, now, snapshots, each_run=each_run)
    except Exception:
        # A value that breaks the arithmetic (a run in the year 9999 plus its duration)
        # must fail its own system only: find which, and build the report without it.
        isolated = _isolate(window, now, snapshots, schedulers)
        return find_conflicts(window, now, isolated, each_run=each_run)


async def _timed(
    scheduler: Scheduler,
    window: Window,
    now: datetime,
    metrics: Metrics | None,
    history: RunHistory | None,
    each_run: bool = False,
    lengths: RunLengths | None = None,
) -> SystemSnapshot:
    started = time.perf_counter()
    snap = await snapshot(scheduler, window, now, history, each_run=each_run, lengths=lengths)
    if metrics is not None:
        error = snap.result.error or ""
        timed_out = error.startswith(_NO_ANSWER)
        outcome = "ok" if snap.result.ok else "timeout" if timed_out else "error"
        metrics.system_checked(scheduler.name, outcome, time.perf_counter() - started)
    return snap


def _isolate(
    window: Window,
    now: datetime,
    snapshots: Sequence[SystemSnapshot],
    schedulers: Sequence[Scheduler],
) -> list[SystemSnapshot]:
    """``snapshots`` with each one whose answers cannot be turned into conflicts on their
    own replaced by that system's error."""
    by_name = {s.name: s for s in schedulers}
    result = []
    for snap in snapshots:
        if snap.result.ok:
            try:
                find_conflicts(window, now, [snap])
            except Exception as exc:
                error = _unexpected(by_name[snap.result.system], exc)
                snap = SystemSnapshot(
                    snap.result.model_copy(update={"ok": False, "error": error, "task_count": 0})
                )
        result.append(snap)
    return result
