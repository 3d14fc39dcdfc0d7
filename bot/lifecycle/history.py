"""Run starts recorded by the window clock, for schedulers that keep no run history (BMC
reports one ``last_exec_ts`` per ETL): what a check records when someone asks, the clock
records while the bot runs, so predicted run times improve over days without anyone
checking.

**Bounded.** Reading the starts costs what a check's reading costs on that scheduler
(BMC: the ETL list and one status request per ETL, about 2,000 requests at the sandbox's
scale 100), so a system is read at most once per :attr:`RunStarts.history_every` (10
minutes by default), not on every 5-second tick: about 3.4 requests a second at that scale
rather than 400, and no more than the leader makes (standbys do not tick). Sampling has a
price: a start seen only as "the latest one" every 10 minutes misses the starts of an ETL
that runs more often than that, so such ETLs show the sampled spacing rather than their
own; hourly and daily ETLs, the ones maintenance windows meet, are seen run by run.

**Beside the tick.** The read is a background job under the system's deadline, like a
pause: a BMC that is slow, down or answering garbage costs the tick nothing, and its
failure is logged and kept in :attr:`RunStarts.history_reads`, never raised.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.connectors.base import Connector, gather_all
from bot.errors import StoreError
from bot.lifecycle.base import ClockCore, error_text, log, reraise_own_cancellation
from bot.model import Run, RunningNow
from bot.run_history import seen_starts

__all__ = ["HISTORY_EVERY", "HistoryRead", "RunStarts"]

HISTORY_EVERY = timedelta(minutes=10)


@dataclass(frozen=True)
class HistoryRead:
    """One reading of a system's run starts: when, how many starts it saw and how many of
    them were new to the store, or why it failed."""

    at: datetime
    seen: int = 0
    added: int = 0
    error: str | None = None


class RunStarts(ClockCore):
    # How often each system that keeps no history is read (see the module's docstring).
    history_every: timedelta = HISTORY_EVERY

    def _start_history_reads(self, now: datetime) -> list[asyncio.Task[None]]:
        """Start a reading for every system that keeps no history and whose last one is
        ``history_every`` old (by the injected clock); one per system in flight at most."""
        started = []
        for system, connector in self.connectors.items():
            if not connector.records_history:
                continue
            running = self._history_jobs.get(system)
            if running is not None and not running.done():
                continue
            tried = self._history_tried.get(system)
            if tried is not None and now - tried < self.history_every:
                continue
            # Counted from the attempt: a failing system is tried again after the same
            # spacing, not on every tick.
            self._history_tried[system] = now
            job = asyncio.create_task(
                self._read_history(system, connector, now), name=f"maintbot-history-{system}"
            )
            self._history_jobs[system] = job
            started.append(job)
        return started

    async def _read_history(self, system: str, connector: Connector, now: datetime) -> None:
        try:
            answers = await self._call(
                system, gather_all(connector.upcoming_runs(now, now), connector.running_now())
            )
            runs: list[Run] = answers[0]  # type: ignore[assignment]
            running: list[RunningNow] = answers[1]  # type: ignore[assignment]
            seen = seen_starts(runs, running)
            added = self.store.record_run_starts(seen, now=now)
        except (Exception, asyncio.CancelledError) as exc:
            reraise_own_cancellation(exc)
            why = (
                f"the store: {exc}"
                if isinstance(exc, StoreError)
                else error_text(exc)
                if not isinstance(exc, asyncio.CancelledError)
                else "cancelled"
            )
            log.warning("window clock: could not record the run starts of %s: %s", system, why)
            self.history_reads[system] = HistoryRead(now, error=why)
            return
        self.history_reads[system] = HistoryRead(now, seen=len(seen), added=added)
        if added:
            log.info("window clock: %d new run start(s) recorded for %s", added, system)

    async def _cancel_history_reads(self) -> None:
        jobs = [j for j in self._history_jobs.values() if not j.done()]
        for job in jobs:
            job.cancel()
        if jobs:
            await asyncio.gather(*jobs, return_exceptions=True)
        self._history_jobs.clear()
