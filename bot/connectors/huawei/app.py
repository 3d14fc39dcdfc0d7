"""4A, Application Streaming scheduled tasks: ``/v1/{project_id}/schedule-task`` on
``appstream_url``; flag ``is_enable`` (partial PATCH), run history ``execute-history`` with
begin and end times."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.connectors.huawei.models import (
    ACTION_LIST,
    ACTION_RECORDS,
    AppItem,
    Entry,
    Execution,
    PastRun,
)
from bot.connectors.huawei.paging import HuaweiApi
from bot.connectors.shapes import (
    url_id,
)
from bot.errors import ConnectorError
from bot.model import TaskKind, TaskRef
from bot.schedule_rules import (
    RuleError,
    parse_vendor_time,
)

__all__ = ["APP_IN_PROGRESS", "APP_PAGE", "AppTasks"]

APP_PAGE = 100  # 4A list / execute-history: limit 1–100 [SEEN H1, H2]
APP_IN_PROGRESS = frozenset({"RUNNING", "WAITING"})


class AppTasks(HuaweiApi):
    """The 4A calls: list, run history, and the partial update of the flag."""

    async def _app_entries(self, name: str | None = None) -> list[Entry]:
        if "app" not in self.families:
            return []
        what = "list app tasks (GET /v1/{project_id}/schedule-task)"
        listed = await self._all_pages(
            self.app_url,
            model=AppItem,
            items_key="items",
            total_key="count",
            limit=APP_PAGE,
            action=ACTION_LIST,
            what=what,
            params={"task_name": name} if name else None,
        )
        entries = []
        for parsed, item in listed:
            entries.append(
                Entry(
                    ref=self.ref(TaskKind.APP_TASK, parsed.id),
                    name=parsed.task_name or parsed.id,
                    enabled=parsed.is_enable,
                    last_status=parsed.last_status,
                    next_execution=parsed.next_execution_time,
                    zone_name=parsed.time_zone,
                    scheduled_type=parsed.scheduled_type,
                    raw=item,
                )
            )
        return entries

    async def _app_runs(self, ref: TaskRef) -> list[PastRun]:
        what = "app task history (GET /v1/…/schedule-task/{id}/execute-history)"

        def when(item: Execution) -> datetime | None:
            try:
                return parse_vendor_time(item.begin_time or item.create_time, UTC)
            except RuleError:
                return None

        try:
            items = await self._newest_runs(
                f"{self.app_url}/{url_id(self.system, ref.kind.value, ref.id)}/execute-history",
                model=Execution,
                items_key="items",
                total_key="count",
                limit=APP_PAGE,
                when=when,
                what=what,
            )
        except ConnectorError as exc:
            if exc.status == 404:
                return []
            raise
        runs = []
        for parsed in items:
            begin = self._time(parsed.begin_time, UTC, what)
            created = self._time(parsed.create_time, UTC, what)
            status = (parsed.status or "").upper()
            if not status and parsed.executing_count:
                status = "RUNNING"
            runs.append(
                PastRun(
                    id=parsed.id,
                    status=status,
                    started=begin or created,
                    ended=self._time(parsed.end_time, UTC, what),
                )
            )
        return runs

    async def _app_all_runs(self, ref: TaskRef) -> list[PastRun]:
        """Every execute-history page of ``ref``."""
        task_id = url_id(self.system, ref.kind.value, ref.id)
        what = f"{ref.kind.value} run history"
        executions = await self._all_pages(
            f"{self.app_url}/{task_id}/execute-history",
            model=Execution,
            items_key="items",
            total_key="count",
            limit=APP_PAGE,
            action=ACTION_RECORDS,
            what=what,
        )
        return [
            PastRun(
                e.id,
                (e.status or "").upper(),
                self._time(e.begin_time, UTC, what) or self._time(e.create_time, UTC, what),
                None,
            )
            for e, _ in executions
        ]
