"""The conflict check: ask every configured scheduler at once, each within its own deadline,
and turn the answers into a :class:`~bot.model.ConflictReport`.

One slow or failing system becomes an error line in the report; the others are still shown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.config import Config
from bot.conflicts import SystemSnapshot, find_conflicts
from bot.connectors import build_connector
from bot.connectors.base import Connector, deadline, gather_all
from bot.errors import ConfigError, ConnectorError
from bot.model import ConflictReport, Run, RunningNow, SystemResult, Window

__all__ = ["Scheduler", "check_window", "open_schedulers", "snapshot"]

log = logging.getLogger(__name__)


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

    async def aclose(self) -> None:
        if self.connector is not None:
            await self.connector.aclose()


_LABELS = {
    "talend": "Talend Management Console",
    "pyramid": "Pyramid Analytics",
    "bmc": "BMC Helix Continuous Optimization",
    "huawei": "Huawei Cloud Workspace",
}


def open_schedulers(config: Config, clock: Clock) -> list[Scheduler]:
    """Build a connector per configured scheduler. Missing credentials make that scheduler an
    error entry instead of stopping the others."""
    result = []
    for name, cfg in config.schedulers.items():
        scheduler = Scheduler(
            name=name,
            vendor=cfg.vendor,
            label=_LABELS[cfg.vendor],
            deadline=config.deadline_for(name),
            lookback=timedelta(hours=cfg.lookback_hours),
        )
        try:
            scheduler.connector = build_connector(name, cfg, config.credentials(name), clock=clock)
        except ConfigError as exc:
            scheduler.error = str(exc).removeprefix(f"{name}: ")
        result.append(scheduler)
    return result


async def snapshot(scheduler: Scheduler, window: Window, now: datetime) -> SystemSnapshot:
    """Ask one scheduler what collides with ``window``, within its deadline."""
    base = {"system": scheduler.name, "vendor": scheduler.vendor, "label": scheduler.label}
    if scheduler.connector is None:
        return SystemSnapshot(SystemResult(**base, ok=False, error=scheduler.error))
    connector = scheduler.connector
    # Runs that started before the window may still be running into it (may_overlap).
    runs_from = max(now, window.start - scheduler.lookback)
    try:
        with deadline(scheduler.deadline):
            async with asyncio.timeout(scheduler.deadline):
                runs, running = await _both(
                    connector.upcoming_runs(runs_from, window.end, durations_before=window.start),
                    connector.running_now(),
                )
                refs = {r.task.key: r.task for r in runs}
                refs.update({r.task.key: r.task for r in running})
                tasks = await connector.describe(list(refs.values())) if refs else []
    except TimeoutError:
        message = (
            f"no answer within {scheduler.deadline:g} s; the scheduler is slow or down "
            f"(raise deadline_seconds in maintbot.toml if it is just slow)"
        )
        return SystemSnapshot(SystemResult(**base, ok=False, error=message))
    except ConnectorError as exc:
        return SystemSnapshot(SystemResult(**base, ok=False, error=exc.detail))
    relevant: list[Run] = [r for r in runs if r.at is None or r.at < window.end]
    return SystemSnapshot(
        SystemResult(**base, ok=True, task_count=len(tasks)),
        tasks=tasks,
        runs=relevant,
        running=running,
    )


async def _both(
    runs: Awaitable[list[Run]], running: Awaitable[list[RunningNow]]
) -> tuple[list[Run], list[RunningNow]]:
    first, second = await gather_all(runs, running)
    return first, second  # type: ignore[return-value]


async def check_window(
    window: Window, schedulers: Sequence[Scheduler], clock: Clock
) -> ConflictReport:
    """The conflict report for ``window`` across ``schedulers``, queried concurrently."""
    now = clock()
    snapshots = await asyncio.gather(*(snapshot(s, window, now) for s in schedulers))
    for snap in snapshots:
        if not snap.result.ok:
            log.warning("check: %s failed: %s", snap.result.system, snap.result.error)
    return find_conflicts(window, now, snapshots)
