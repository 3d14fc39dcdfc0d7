"""4A, Application Streaming scheduled tasks: ``/v1/{project_id}/schedule-task`` on
``appstream_url``; flag ``is_enable`` (partial PATCH), run history ``execute-history`` with
begin and end times."""

from __future__ import annotations

from datetime import UTC

from bot.connectors.huawei.models import (
    ACTION_LIST,
    ACTION_RECORDS,
    AppItem,
    Entry,
    Execution,
    History,
    Listing,
    PastRun,
)
from bot.connectors.huawei.paging import HuaweiApi
from bot.model import TaskKind, TaskRef

__all__ = ["APP_HISTORY", "APP_IN_PROGRESS", "APP_LIST", "APP_PAGE", "AppTasks"]

APP_PAGE = 100  # 4A list / execute-history: limit 1–100 [SEEN H1, H2]
APP_IN_PROGRESS = frozenset({"RUNNING", "WAITING"})
APP_LIST = Listing(AppItem, "items", "count", APP_PAGE, ACTION_LIST)


def _app_started(item: Execution) -> object:
    return item.begin_time or item.create_time


APP_HISTORY = History(
    Listing(Execution, "items", "count", APP_PAGE, ACTION_RECORDS),
    "execute-history",
    "app task history (GET /v1/…/schedule-task/{id}/execute-history)",
    _app_started,
)


class AppTasks(HuaweiApi):
    """The 4A calls: list, run history, and the partial update of the flag."""

    async def _app_entries(self, name: str | None = None) -> list[Entry]:
        if "app" not in self.families:
            return []
        what = "list app tasks (GET /v1/{project_id}/schedule-task)"
        listed = await self._all_pages(
            self.app_url,
            APP_LIST,
            what=what,
            params={"task_name": name} if name else None,
        )
        return [
            self._entry(TaskKind.APP_TASK, parsed, parsed.is_enable, item)
            for parsed, item in listed
        ]

    async def _app_runs(self, ref: TaskRef) -> list[PastRun]:
        what = APP_HISTORY.what
        runs = []
        for parsed in await self._recent_history(self.app_url, ref, APP_HISTORY):
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
        """Every execute-history page of ``ref``, for skipped-run accounting, which needs
        only starts: unlike :meth:`_app_runs`, ``create_time`` is read only when there is no
        ``begin_time`` and ``end_time`` not at all, so a bad time it does not use cannot
        fail it."""
        executions, what = await self._whole_history(self.app_url, ref, APP_HISTORY)
        return [
            PastRun(
                e.id,
                (e.status or "").upper(),
                self._time(e.begin_time, UTC, what) or self._time(e.create_time, UTC, what),
                None,
            )
            for e in executions
        ]
