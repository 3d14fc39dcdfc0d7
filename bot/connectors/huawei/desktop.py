"""4B, desktop scheduled tasks: ``/v2/{project_id}/scheduled-tasks`` on ``base_url``; flag
``enable``, run records with only a start time, and a PUT read as a full replace."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from bot.connectors.base import (
    gather_all,
)
from bot.connectors.huawei.models import (
    ACTION_LIST,
    ACTION_RECORDS,
    DesktopItem,
    Entry,
    History,
    Listing,
    PastRun,
    Record,
    whole_number,
)
from bot.connectors.huawei.paging import HuaweiApi
from bot.model import TaskKind, TaskRef

log = logging.getLogger(__name__)

__all__ = [
    "DESKTOP_HISTORY",
    "DESKTOP_IN_PROGRESS",
    "DESKTOP_LIST",
    "DESKTOP_PAGE",
    "DESKTOP_SHOW_ONLY_FIELDS",
    "DESKTOP_UPDATE_FIELDS",
    "DESKTOP_WRITE_ONLY_FIELDS",
    "RECORD_PAGE",
    "DesktopTasks",
]

DESKTOP_PAGE = 50  # 4B list: limit 0–50, offset and limit required [SEEN H8]
RECORD_PAGE = 100  # 4B records: limit 0–100 [SEEN H8]
DESKTOP_LIST = Listing(DesktopItem, "scheduled_tasks", "total_count", DESKTOP_PAGE, ACTION_LIST)


def _desktop_started(item: Record) -> object:
    return item.start_time


DESKTOP_HISTORY = History(
    Listing(Record, "tasks_records", "total_count", RECORD_PAGE, ACTION_RECORDS),
    "records",
    "desktop task records (GET /v2/…/scheduled-tasks/{id}/records)",
    _desktop_started,
)
DESKTOP_IN_PROGRESS = frozenset(
    {"RUNNING", "EXECUTING", "WAITING", "PENDING", "IN_PROGRESS", "PROCESSING"}
)

# A 4B PUT is read as a full replace (contracts.md leaves it a gap), so pause and resume send
# back the task exactly as read with only ``enable`` changed. The field lists below are
# Huawei's SDK models (huaweicloudsdkworkspace 3.1.219, v2/model); tests/test_huawei_roundtrip.py
# checks them against the SDK itself.
# UpdateScheduledTasksReq: every field a PUT may carry.
DESKTOP_UPDATE_FIELDS = (
    "scheduled_type",
    "day_interval",
    "week_list",
    "month_list",
    "date_list",
    "scheduled_date",
    "scheduled_time",
    "expire_time",
    "gray_count",
    "gray_desktop_ids",
    "gray_fail_threshold",
    "life_cycle_type",
    "time_zone",
    "task_name",
    "force_execute",
    "description",
    "enable",
    "extra_params",
    "apply_object_update_type",
    "apply_objects",
    "priority",
    "is_gray",
    "wait_time",
    "life_cycle_exec_period",
)
# Fields ShowScheduledTasksResponse returns that UpdateScheduledTasksReq does not accept,
# so they are left out of the PUT: ``id`` is the path, and ``task_type`` is fixed when the
# task is created (the update model has no such field).
DESKTOP_SHOW_ONLY_FIELDS = frozenset({"id", "task_type"})
# Update fields that no read returns (neither the show nor the ScheduledTask list item), so
# they cannot be sent back and are not sent: ``apply_object_update_type`` is an instruction
# on how to apply ``apply_objects`` (FULL_COVERAGE / CLEAR_ALL), not part of the task, and
# ``is_gray`` is write-only as far as the API shows [gap: whether a full replace resets it
# cannot be seen; the gray_* fields themselves are sent back].
DESKTOP_WRITE_ONLY_FIELDS = frozenset({"apply_object_update_type", "is_gray"})
# Whole numbers in UpdateScheduledTasksReq; a show may send them as text.
_INT_FIELDS = frozenset(
    {
        "day_interval",
        "gray_count",
        "gray_fail_threshold",
        "priority",
        "wait_time",
        "life_cycle_exec_period",
    }
)
# What a full replace must not lose, by kind of schedule (the descriptions in
# UpdateScheduledTasksReq say which fields each kind is defined by). A show missing one of
# them is refused rather than written back without it.
_DESKTOP_NEEDS: Mapping[str, tuple[str, ...]] = {
    "DAY": ("day_interval", "scheduled_time", "time_zone"),
    "WEEK": ("week_list", "scheduled_time", "time_zone"),
    "MONTH": ("month_list", "date_list", "scheduled_time", "time_zone"),
    "FIXED_TIME": ("scheduled_date", "scheduled_time", "time_zone"),
    "LIFE_CYCLE": ("life_cycle_type",),
}


class DesktopTasks(HuaweiApi):
    """The 4B calls: list (both listings), run records, and the whole-task PUT body."""

    async def _desktop_entries(
        self, name: str | None = None, *, life_cycle: bool = True
    ) -> list[Entry]:
        if "desktop" not in self.families:
            return []
        what = "list desktop tasks (GET /v2/{project_id}/scheduled-tasks)"
        base: dict[str, str] = {"task_name": name} if name else {}
        queries = [base]
        if life_cycle:
            # Event-triggered tasks are only listed when asked for by type [SEEN H8].
            queries.append({**base, "scheduled_type": "LIFE_CYCLE"})
        pages = await gather_all(
            *(self._all_pages(self.desktop_url, DESKTOP_LIST, what=what, params=q) for q in queries)
        )
        entries: dict[str, Entry] = {}
        for parsed, item in (pair for page in pages for pair in page):
            entries[parsed.id] = self._entry(TaskKind.DESKTOP_TASK, parsed, parsed.enable, item)
        return list(entries.values())

    def _record_run(self, record: Record, what: str) -> PastRun:
        return PastRun(
            id=record.id,
            status=(record.status or "").upper(),
            started=self._time(record.start_time, UTC, what),
            ended=None,
            skip_num=record.skip_num,
        )

    async def _desktop_runs(self, ref: TaskRef) -> list[PastRun]:
        records = await self._recent_history(self.desktop_url, ref, DESKTOP_HISTORY)
        return [self._record_run(r, DESKTOP_HISTORY.what) for r in records]

    def _put_body(
        self, ref: TaskRef, show: Mapping[str, Any], entry: Entry | None, enabled: bool
    ) -> dict[str, Any]:
        """The task exactly as read, for a PUT that replaces it whole: every field the show
        returned that the update accepts, untouched (nulls and nested objects included),
        then what only the list item has (``priority``, ``enable``), with ``enable`` set."""
        accepted = set(DESKTOP_UPDATE_FIELDS)
        unknown = set(show) - accepted - DESKTOP_SHOW_ONLY_FIELDS
        if unknown:
            # Not in either SDK model: the update would refuse it, so it cannot be kept.
            log.warning(
                "%s: desktop task %s shows fields the update does not accept (%s); a full "
                "replace may not keep them",
                self.system,
                ref.id,
                ", ".join(sorted(unknown)),
            )
        body = {k: show[k] for k in DESKTOP_UPDATE_FIELDS if k in show}
        if entry is not None:
            for key in DESKTOP_UPDATE_FIELDS:
                if key not in body and key in entry.raw:
                    body[key] = entry.raw[key]
        for key in _INT_FIELDS & body.keys():
            number = whole_number(body[key])
            if number is not None:
                body[key] = number
        self._check_whole(ref, body)
        body["enable"] = enabled
        return body

    def _check_whole(self, ref: TaskRef, body: Mapping[str, Any]) -> None:
        """Refuse to send a definition that lacks what its kind of schedule is made of: the
        PUT would erase it from the task."""
        kind = body.get("scheduled_type")
        needed = ("task_name", "scheduled_type", *_DESKTOP_NEEDS.get(str(kind), ()))
        missing = [k for k in needed if body.get(k) in (None, "")]
        if missing:
            raise self.http.error(
                f"desktop task {ref.id}: Huawei's answer for it has no "
                f"{', '.join(missing)}"
                + (f" (a {kind} task needs it)" if kind else "")
                + "; its update replaces the whole task, so maintbot sent nothing rather "
                "than erase it. Check the task in the Huawei console and try again",
            )

    async def _desktop_all_runs(self, ref: TaskRef) -> list[PastRun]:
        """Every records page of ``ref``."""
        records, what = await self._whole_history(self.desktop_url, ref, DESKTOP_HISTORY)
        return [self._record_run(r, what) for r in records]
