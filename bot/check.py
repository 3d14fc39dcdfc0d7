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
from bot.model import ConflictReport, Run, RunningNow, SystemResult, Window
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
) -> SystemSnapshot:
    """Ask one scheduler what collides with ``window``, within its deadline. Runs at a time
    the vendor does not give are predicted from run history where it shows a pattern
    (``history`` keeps it for schedulers that keep none); with ``each_run``, the durations
    of the runs inside it too (how far each reaches into a later slot of a range, for
    ``suggest``)."""
    base = {"system": scheduler.name, "vendor": scheduler.vendor, "label": scheduler.label}
    if scheduler.connector is None:
        return SystemSnapshot(SystemResult(**base, ok=False, error=scheduler.error))
    connector = scheduler.connector
    # Runs that started before the window may still be running into it (may_overlap).
    runs_from = max(now, window.start - scheduler.lookback)
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
    runs = _predicted(scheduler, connector, runs, running, window, now, runs_from, history)
    relevant: list[Run] = [r for r in runs if r.at is None or r.at < window.end]
    return SystemSnapshot(
        SystemResult(**base, ok=True, task_count=len(tasks)),
        tasks=tasks,
        runs=relevant,
        running=running,
    )


def _predicted(
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
    return predict_runs(
        runs,
        zone=scheduler.timezone,
        now=now,
        start=runs_from,
        end=window.end,
        shown_in=window.tz,
        recorded=recorded,
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
) -> ConflictReport:
    """The conflict report for ``window`` across ``schedulers``, queried concurrently
    (each system's outcome and time counted in ``metrics``; run starts seen on schedulers
    that keep no history recorded in ``history``, which predictions learn from);
    ``each_run``: every run in the window a conflict of its own, with its duration (see
    :func:`find_conflicts`)."""
    now = clock()
    snapshots = list(
        await asyncio.gather(
            *(_timed(s, window, now, metrics, history, each_run) for s in schedulers)
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
) -> SystemSnapshot:
    started = time.perf_counter()
    snap = await snapshot(scheduler, window, now, history, each_run=each_run)
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
