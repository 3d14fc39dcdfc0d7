"""What the listeners need, in one object Bolt hands them through the request context."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from slack_bolt.context.async_context import AsyncBoltContext

from bot.approvals import Policy
from bot.check import Scheduler, check_window
from bot.clock import Clock
from bot.config import Settings
from bot.connectors.base import Connector
from bot.errors import MaintbotError
from bot.model import ConflictReport, Window
from bot.slack.directory import UserDirectory
from bot.store import Store

if TYPE_CHECKING:
    from bot.lifecycle import WindowClock

__all__ = ["CONTEXT_KEY", "Services", "button_value", "request_id", "services"]

CONTEXT_KEY = "maintbot"


@dataclass
class Services:
    settings: Settings
    store: Store
    schedulers: Sequence[Scheduler]
    clock: Clock
    directory: UserDirectory
    window_clock: WindowClock | None = None
    clock_task: asyncio.Task[Any] | None = None
    # Task keys with a pause/resume in flight in this process: a double click acts once.
    inflight: set[str] = field(default_factory=set)
    _checks: dict[tuple[datetime, datetime], asyncio.Future[ConflictReport]] = field(
        default_factory=dict
    )

    async def check(self, window: Window) -> ConflictReport:
        """The conflict report for ``window``. Checks of the same instants already running
        are joined rather than repeated: when a team all types the same command after an
        announcement, the schedulers are asked once, not once per person (which would also
        run into their per-minute rate limits). Nothing is cached after it completes."""
        key = (window.start, window.end)
        running = self._checks.get(key)
        if running is None:
            running = asyncio.ensure_future(check_window(window, self.schedulers, self.clock))
            self._checks[key] = running

            def finished(done: asyncio.Future[ConflictReport]) -> None:
                self._checks.pop(key, None)
                if not done.cancelled():
                    done.exception()  # every joiner re-raises it; this one only marks it seen

            running.add_done_callback(finished)
        report = await asyncio.shield(running)
        # Same instants, but each person's own text, zone and notes in their echo.
        return report.model_copy(update={"window": window})

    def connector(self, system: str) -> Connector:
        for scheduler in self.schedulers:
            if scheduler.name == system:
                if scheduler.connector is None:
                    raise MaintbotError(
                        f"{system} cannot be reached from this bot: {scheduler.error}"
                    )
                return scheduler.connector
        raise MaintbotError(
            f"{system} is not configured in this bot any more; run the check again."
        )

    async def policy(self) -> Policy:
        return Policy(
            approvers=await self.directory.approvers(),
            allow_self_approval=self.settings.maintbot_allow_self_approval,
            resume_others_needs_approval=self.settings.maintbot_resume_others_needs_approval,
        )

    def health(self) -> tuple[bool, dict[str, str]]:
        """``/healthz``: the store answers, and the window clock (if any) has not died."""
        detail: dict[str, str] = {}
        ok = True
        try:
            self.store.schema_version()
            detail["store"] = "ok"
        except Exception as exc:  # any failure means unhealthy; say which kind
            ok = False
            detail["store"] = f"failed: {type(exc).__name__}"
        task = self.clock_task
        if task is None:
            detail["clock"] = "not running in this process"
        elif task.done():
            ok = False
            error = None if task.cancelled() else task.exception()
            detail["clock"] = f"stopped: {type(error).__name__}" if error else "stopped"
        else:
            detail["clock"] = "running"
        return ok, detail


def services(context: AsyncBoltContext) -> Services:
    found = context.get(CONTEXT_KEY)
    if not isinstance(found, Services):
        raise RuntimeError("maintbot services missing from the Bolt context")
    return found


def button_value(action: dict[str, Any]) -> dict[str, Any]:
    """A button's value: a small JSON object of opaque ids. Anything else is refused."""
    try:
        value = json.loads(action.get("value") or "")
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise MaintbotError("That button is not one this bot made; run the command again.")
    return value


def request_id(body: dict[str, Any]) -> str | None:
    """What ties audit rows to one Slack interaction: its trigger id."""
    trigger = body.get("trigger_id")
    return f"slack:{trigger}" if isinstance(trigger, str) else None
