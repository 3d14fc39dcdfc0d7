"""Schema faults of the four vendors' answers, as data: for each endpoint a check reads, a 200
whose body breaks the documented shape in one way (a missing list key, every field's type
changed, one bad item among good ones, ids too long or with characters a URL cannot carry,
times outside 1970-2200, counts that disagree with the items).

Each :class:`SchemaFault` is served by the named simulator for every request whose path
contains ``path_contains`` (``sim.faults.fail(200, body=..., path_contains=...,
times=...)``), and the check must then report that system ``ok=False`` with an error that
contains ``expect`` (the field, as ``describe_validation`` names it). Used by
``tests/test_vendor_schemas.py``, which asserts every case, and importable by benchmarks
that tabulate outcomes. Bodies are fixed strings: no simulator state is needed to build them.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

__all__ = ["CASES", "SchemaFault", "cases_for"]


class SchemaFault(NamedTuple):
    vendor: str
    path_contains: str
    body: str
    expect: str  # a substring of the system's error: the field and what is wrong with it
    name: str


def _json(data: Any) -> str:
    return json.dumps(data)


LONG_ID = "a" * 10_000
BAD_ID = "../../admin?x=1"

# -- Talend ------------------------------------------------------------------------------------
_EVENT = {"id": "5f0c1e0a2b3c4d5e6f708192", "date": "2026-11-21T10:30:00Z", "type": "TASK"}
_EVENT_2 = {"id": "5f0c1e0a2b3c4d5e6f708193", "date": "2026-11-21T11:00:00Z", "type": "PLAN"}
_SEARCH = "events/search"
_RUNNING = "/processing/executables/tasks/executions"
_EXECUTIONS = "/executions"  # running now and per-task history: the same page shape
_TASK = "/orchestration/executables/tasks/"
_PLAN = "/orchestration/executables/plans/"


def _events(*items: Any, total: Any = None) -> str:
    return _json({"items": list(items), "total": len(items) if total is None else total})


TALEND: list[SchemaFault] = [
    SchemaFault(
        "talend",
        _SEARCH,
        _json({"limit": 100, "offset": 0, "total": 3}),
        "items (field required)",
        "events/search: items missing",
    ),
    SchemaFault(
        "talend",
        _SEARCH,
        _json({"items": [_EVENT]}),
        "total (field required)",
        "events/search: total missing",
    ),
    SchemaFault(
        "talend",
        _SEARCH,
        _json({"items": {"0": _EVENT}, "total": "1", "limit": [], "offset": {}}),
        "limit (input should be a valid integer)",
        "events/search: every field's type changed",
    ),
    SchemaFault(
        "talend",
        _SEARCH,
        _events({"id": 7, "date": 1_763_000_000_000, "type": ["TASK"]}),
        "items.0.id",
        "events/search: every item field's type changed",
    ),
    SchemaFault(
        "talend",
        _SEARCH,
        _events(_EVENT, _EVENT_2, {**_EVENT, "date": {"iso": "x"}}),
        "items.2.date",
        "events/search: one item broken among good ones",
    ),
    SchemaFault(
        "talend",
        _SEARCH,
        _events({**_EVENT, "id": LONG_ID}),
        "items.0.id (value error, expected an id",
        "events/search: id of 10,000 characters",
    ),
    SchemaFault(
        "talend",
        _SEARCH,
        _events(_EVENT, {**_EVENT, "id": BAD_ID}),
        "items.1.id (value error, expected an id",
        "events/search: id with URL characters",
    ),
    SchemaFault(
        "talend",
        _SEARCH,
        _events({**_EVENT, "date": "9999-12-31T23:59:59-05:00"}),
        "items.0.date (value error, outside the years 1970-2200)",
        "events/search: date after 2200",
    ),
    SchemaFault(
        "talend",
        _SEARCH,
        _events({**_EVENT, "date": "0001-01-01T00:00:00+05:00"}),
        "items.0.date (value error, outside the years 1970-2200)",
        "events/search: date before 1970",
    ),
    SchemaFault(
        "talend",
        _SEARCH,
        _json({"items": [_EVENT], "total": 300, "limit": 100, "offset": 0}),
        "total says 300 items but the pages held 3",
        "events/search: total beyond the items",
    ),
    SchemaFault(
        "talend",
        _RUNNING,
        _json({"total": 0}),
        "items (field required)",
        "running executions: items missing",
    ),
    SchemaFault(
        "talend",
        _RUNNING,
        _json({"items": [{"executionId": "e1", "taskId": {"id": "t"}, "status": "executing"}]}),
        "items.0.taskId",
        "running executions: taskId an object",
    ),
    SchemaFault(
        "talend",
        _EXECUTIONS,
        _json(
            {
                "items": [
                    {
                        "executionId": "e1",
                        "taskId": "t1",
                        "status": "execution_successful",
                        "startTimestamp": "1900-01-01T00:00:00Z",
                        "finishTimestamp": "1900-01-01T01:00:00Z",
                    }
                ]
            }
        ),
        "startTimestamp (value error, outside the years 1970-2200)",
        "executions: start before 1970",
    ),
    SchemaFault(
        "talend",
        _EXECUTIONS,
        _json(
            {
                "items": [{"executionId": 1, "taskId": 2, "status": 3, "startTimestamp": 4}],
                "total": "1",
            }
        ),
        "items.0.executionId",
        "executions: every field's type changed",
    ),
    SchemaFault(
        "talend",
        _TASK,
        _json({"id": "5f0c1e0a2b3c4d5e6f708192"}),
        "name (field required)",
        "task details: name missing",
    ),
    SchemaFault(
        "talend",
        _TASK,
        _json({"id": 5, "name": ["n"], "taskPauseDetails": {"pause": "false"}}),
        "id (",
        "task details: every field's type changed",
    ),
    SchemaFault(
        "talend",
        _TASK,
        _json({"id": "t1", "name": "n", "taskPauseDetails": {"pauseContext": "CHG-1"}}),
        "taskPauseDetails.pause (field required)",
        "task details: pause flag missing",
    ),
    SchemaFault(
        "talend",
        _PLAN,
        _json({"executable": "p1", "name": "n", "planPauseDetails": {"pause": 1}}),
        "planPauseDetails.pause",
        "plan details: pause flag a number",
    ),
    # The groups (Task.groups): a workspace or environment name of another type is an
    # error for the system, never a task silently left out of a scope.
    SchemaFault(
        "talend",
        _TASK,
        _json(
            {
                "id": "5f0c1e0a2b3c4d5e6f708192",
                "name": "n",
                "workspace": {"id": "w1", "name": {"en": "Finance"}},
                "taskPauseDetails": {"pause": False},
            }
        ),
        "workspace.name (input should be a valid string)",
        "task details: workspace name an object",
    ),
    SchemaFault(
        "talend",
        _TASK,
        _json(
            {
                "id": "5f0c1e0a2b3c4d5e6f708192",
                "name": "n",
                "workspace": {
                    "id": "w1",
                    "name": "Finance",
                    "environment": {"id": "e1", "name": 7},
                },
            }
        ),
        "workspace.environment.name (input should be a valid string)",
        "task details: environment name a number",
    ),
    SchemaFault(
        "talend",
        _PLAN,
        _json({"executable": "p1", "name": "n", "workspace": ["Finance"]}),
        "workspace (input should be a valid dictionary",
        "plan details: workspace a list",
    ),
]

# -- Pyramid -----------------------------------------------------------------------------------
_SCHEDULE = {
    "scheduleId": "0b7f4c62-3c2a-4d44-9a53-0f7d9c2e1a01",
    "name": "Good schedule",
    "startDate": "2026-01-01T00:00:00.000Z",
    "scheduleDataType": "RECURRING",
    "status": "IDLE",
}
_SCHEDULE_2 = {**_SCHEDULE, "scheduleId": "0b7f4c62-3c2a-4d44-9a53-0f7d9c2e1a02", "status": 4}
_FIND = "findSchedule"
_GET_EXECUTIONS = "getExecutions"
_EXECUTION = {"id": "x1", "startDate": "2026-11-18T17:00:00.000Z", "runningCount": 1}

PYRAMID: list[SchemaFault] = [
    SchemaFault(
        "pyramid",
        _FIND,
        _json({"data": [_SCHEDULE]}),
        "body (input should be a valid list)",
        "findSchedule: an object instead of the array",
    ),
    SchemaFault(
        "pyramid",
        _FIND,
        _json(
            [
                {
                    "scheduleId": {"id": "s"},
                    "name": 5,
                    "type": [],
                    "startDate": {},
                    "endDate": True,
                    "scheduleDataType": {},
                    "status": 1.5,
                }
            ]
        ),
        "0.scheduleId",
        "findSchedule: every field's type changed",
    ),
    SchemaFault(
        "pyramid",
        _FIND,
        _json([_SCHEDULE, _SCHEDULE_2, {**_SCHEDULE, "scheduleId": "s3", "status": {"n": 0}}]),
        "2.status (value error, expected an enum name or ordinal)",
        "findSchedule: one schedule broken among good ones",
    ),
    SchemaFault(
        "pyramid",
        _FIND,
        _json([{k: v for k, v in _SCHEDULE.items() if k != "scheduleId"}]),
        "0.scheduleId (field required)",
        "findSchedule: scheduleId missing",
    ),
    SchemaFault(
        "pyramid",
        _FIND,
        _json([{**_SCHEDULE, "scheduleId": LONG_ID}]),
        "0.scheduleId (value error, expected an id",
        "findSchedule: id of 10,000 characters",
    ),
    SchemaFault(
        "pyramid",
        _FIND,
        _json([_SCHEDULE, {**_SCHEDULE, "scheduleId": "a b\nc"}]),
        "1.scheduleId (value error, expected an id",
        "findSchedule: id with spaces",
    ),
    SchemaFault(
        "pyramid",
        _FIND,
        _json([{**_SCHEDULE, "startDate": 10**20}]),
        "0.startDate (value error, outside the years 1970-2200)",
        "findSchedule: epoch beyond 2200",
    ),
    SchemaFault(
        "pyramid",
        _FIND,
        _json([{**_SCHEDULE, "endDate": "9999-12-31T23:59:59-01:00"}]),
        "0.endDate (value error, outside the years 1970-2200)",
        "findSchedule: date after 2200",
    ),
    SchemaFault(
        "pyramid",
        _FIND,
        _json([{**_SCHEDULE, "status": True}]),
        "0.status (value error, expected an enum name or ordinal)",
        "findSchedule: status a boolean",
    ),
    SchemaFault(
        "pyramid",
        _FIND,
        _json([_SCHEDULE, {**_SCHEDULE_2, "type": {"name": "ETL"}}]),
        "1.type (value error, expected an enum name or ordinal)",
        "findSchedule: schedule type (its group) an object",
    ),
    SchemaFault(
        "pyramid",
        _GET_EXECUTIONS,
        _json({"executions": [_EXECUTION]}),
        "body (input should be a valid list)",
        "getExecutions: an object instead of the array",
    ),
    SchemaFault(
        "pyramid",
        _GET_EXECUTIONS,
        _json([{**_EXECUTION, "runningCount": "one"}]),
        "0.runningCount (value error, expected a whole number)",
        "getExecutions: counter a word",
    ),
    SchemaFault(
        "pyramid",
        _GET_EXECUTIONS,
        _json(
            [
                {
                    "id": [],
                    "startDate": True,
                    "endDate": {},
                    "runningCount": 0.5,
                    "successCount": False,
                }
            ]
        ),
        "0.id",
        "getExecutions: every field's type changed",
    ),
    SchemaFault(
        "pyramid",
        _GET_EXECUTIONS,
        _json([{**_EXECUTION, "startDate": -5}]),
        "0.startDate",
        "getExecutions: epoch before 1970",
    ),
    SchemaFault(
        "pyramid",
        "getScheduleExecutionStatus",
        _json({"status": {"name": "RUNNING"}}),
        "status (value error, expected an enum name or ordinal)",
        "getScheduleExecutionStatus: status an object",
    ),
]

# -- BMC ---------------------------------------------------------------------------------------
_ETLS = "/backend/etls/"  # the list; its status paths match too, but the list is read first
_STATUS = "/status"

BMC: list[SchemaFault] = [
    SchemaFault(
        "bmc",
        _ETLS,
        _json({"etls": [{"etl_id": 101, "name": "a"}]}),
        "body (input should be a valid list)",
        "ETL list: an object instead of the array",
    ),
    SchemaFault(
        "bmc",
        _ETLS,
        _json([{"etl_id": {"id": 101}, "name": 5}]),
        "0.etl_id",
        "ETL list: every field's type changed",
    ),
    SchemaFault(
        "bmc",
        _ETLS,
        _json(
            [
                {"etl_id": 101, "name": "a"},
                {"etl_id": "102", "name": "b"},
                {"etl_id": True, "name": "c"},
            ]
        ),
        "2.etl_id (value error, expected an id",
        "ETL list: one ETL broken among good ones",
    ),
    SchemaFault(
        "bmc",
        _ETLS,
        _json([{"name": "no id"}]),
        "0.etl_id (field required)",
        "ETL list: etl_id missing",
    ),
    SchemaFault(
        "bmc",
        _ETLS,
        _json([{"etl_id": LONG_ID, "name": "long"}]),
        "0.etl_id (value error, expected an id",
        "ETL list: id of 10,000 characters",
    ),
    SchemaFault(
        "bmc",
        _ETLS,
        _json([{"etl_id": "101/../../102?x", "name": "path"}]),
        "0.etl_id (value error, expected an id",
        "ETL list: id with URL characters",
    ),
    SchemaFault(
        "bmc",
        _STATUS,
        _json({"status": 5, "last_exec_ts": "2026-11-18T17:00:00Z"}),
        "status (value error, expected a status word)",
        "ETL status: status a number",
    ),
    SchemaFault(
        "bmc",
        _STATUS,
        _json({"status": ["WAITING"], "last_exec_ts": 1_763_000_000}),
        "status (value error, expected a status word)",
        "ETL status: every field's type changed",
    ),
    SchemaFault(
        "bmc",
        "/etls/103/status",
        _json({"status": {"state": "WAITING"}}),
        "status (value error, expected a status word)",
        "ETL status: one ETL broken",
    ),
    SchemaFault(
        "bmc",
        _STATUS,
        _json({"status": "RUNNING", "last_exec_ts": "9999-12-31T23:59:59-01:00"}),
        "last_exec_ts (value error, outside the years 1970-2200)",
        "ETL status: last run after 2200",
    ),
    SchemaFault(
        "bmc",
        _STATUS,
        _json([{"status": "WAITING"}]),
        "input should be a valid dictionary",
        "ETL status: an array instead of the object",
    ),
]

# -- Huawei ------------------------------------------------------------------------------------
_APP_LIST = "/schedule-task"  # history and show match too, but the list is read first
_DESK_LIST = "/scheduled-tasks"  # shows and records match too, likewise
_DESK_SHOW = "/scheduled-tasks/"  # also the records: the bodies below carry empty records
_APP_HISTORY = "/execute-history"
_RECORDS = "/records"
_APP_TASK = {
    "id": "9a7c1d2e-0000-4000-8000-000000000001",
    "task_name": "good_restart",
    "scheduled_type": "DAY",
    "scheduled_time": "03:00:00",
    "time_zone": "Asia/Shanghai",
    "is_enable": True,
}
_APP_TASK_2 = {**_APP_TASK, "id": "9a7c1d2e-0000-4000-8000-000000000002", "task_name": "good_2"}
_DESK_TASK = {
    "id": "9a7c1d2e-0000-4000-8000-0000000000d1",
    "task_name": "good_reboot",
    "scheduled_type": "DAY",
    "enable": True,
    "time_zone": "Asia/Shanghai",
    "next_execution_time": "2026-11-19 06:00:00",
}
_NO_RECORDS = {"tasks_records": [], "total_count": 0}
_RUN = {
    "id": "h1",
    "status": "SUCCESS",
    "begin_time": "2026-11-18T01:00:00Z",
    "end_time": "2026-11-18T01:10:00Z",
}

HUAWEI: list[SchemaFault] = [
    SchemaFault(
        "huawei",
        _DESK_LIST,
        _json({"total_count": 3}),
        "scheduled_tasks (field required)",
        "desktop list: scheduled_tasks missing",
    ),
    SchemaFault(
        "huawei",
        _APP_LIST,
        _json({"count": 2}),
        "items (field required)",
        "app list: items missing",
    ),
    SchemaFault(
        "huawei",
        _DESK_LIST,
        _json(
            {
                "scheduled_tasks": [
                    {
                        "id": 12,
                        "task_name": [],
                        "enable": "true",
                        "next_execution_time": {},
                        "scheduled_type": 1,
                    }
                ],
                "total_count": "x",
            }
        ),
        "scheduled_tasks.0.id",
        "desktop list: every field's type changed",
    ),
    SchemaFault(
        "huawei",
        _APP_LIST,
        _json(
            {
                "items": [_APP_TASK, _APP_TASK_2, {**_APP_TASK, "id": "a3", "is_enable": "yes"}],
                "count": 3,
            }
        ),
        "items.2.is_enable",
        "app list: one task broken among good ones",
    ),
    SchemaFault(
        "huawei",
        _APP_LIST,
        _json({"items": [_APP_TASK, {**_APP_TASK_2, "task_type": 3}], "count": 2}),
        "items.1.task_type (input should be a valid string)",
        "app list: task type (its group) a number",
    ),
    SchemaFault(
        "huawei",
        _DESK_LIST,
        _json({"scheduled_tasks": [{**_DESK_TASK, "task_type": ["REBOOT"]}], "total_count": 1}),
        "scheduled_tasks.0.task_type (input should be a valid string)",
        "desktop list: task type (its group) a list",
    ),
    SchemaFault(
        "huawei",
        _APP_LIST,
        _json({"items": [{**_APP_TASK, "id": LONG_ID}], "count": 1}),
        "items.0.id (value error, expected an id",
        "app list: id of 10,000 characters",
    ),
    SchemaFault(
        "huawei",
        _DESK_LIST,
        _json({"scheduled_tasks": [{**_DESK_TASK, "id": "x/../../y?z"}], "total_count": 1}),
        "scheduled_tasks.0.id (value error, expected an id",
        "desktop list: id with URL characters",
    ),
    SchemaFault(
        "huawei",
        _DESK_LIST,
        _json(
            {
                "scheduled_tasks": [{**_DESK_TASK, "next_execution_time": "9999-12-31 23:59:59"}],
                "total_count": 1,
            }
        ),
        "scheduled_tasks.0.next_execution_time (value error, expected a time (iso 8601",
        "desktop list: next run after 2200",
    ),
    SchemaFault(
        "huawei",
        _APP_LIST,
        _json({"items": [{**_APP_TASK, "next_execution_time": 10**20}], "count": 1}),
        "items.0.next_execution_time (value error, expected a time (iso 8601",
        "app list: epoch next run beyond 2200",
    ),
    SchemaFault(
        "huawei",
        _DESK_LIST,
        _json({"scheduled_tasks": [], "total_count": 120}),
        "total_count says 120 but the pages hold 0",
        "desktop list: total beyond the items",
    ),
    SchemaFault(
        "huawei",
        _DESK_SHOW,
        _json({"task_name": "x", "scheduled_type": "DAY", "scheduled_time": 900, **_NO_RECORDS}),
        "scheduled_time (input should be a valid string)",
        "desktop show: scheduled_time a number",
    ),
    SchemaFault(
        "huawei",
        _DESK_SHOW,
        _json(
            {
                "task_name": 1,
                "scheduled_type": [],
                "day_interval": {},
                "week_list": {"a": 1},
                "time_zone": 8,
                "expire_time": True,
                **_NO_RECORDS,
            }
        ),
        "scheduled_type (input should be a valid string)",
        "desktop show: every field's type changed",
    ),
    SchemaFault(
        "huawei",
        _DESK_SHOW,
        _json(
            {
                "task_name": "x",
                "scheduled_type": "DAY",
                "scheduled_time": "09:00:00",
                "expire_time": 99_999_999_999_999_999,
                **_NO_RECORDS,
            }
        ),
        "expire_time (value error, expected a time (iso 8601",
        "desktop show: expiry beyond 2200",
    ),
    SchemaFault(
        "huawei",
        _APP_HISTORY,
        _json({"count": 3}),
        "items (field required)",
        "app history: items missing",
    ),
    SchemaFault(
        "huawei",
        _APP_HISTORY,
        _json({"items": [_RUN, {**_RUN, "id": "h2", "status": 5}], "count": 2}),
        "items.1.status (input should be a valid string)",
        "app history: one run broken among good ones",
    ),
    SchemaFault(
        "huawei",
        _APP_HISTORY,
        _json({"items": [{**_RUN, "begin_time": "1969-07-20T20:17:00Z"}], "count": 1}),
        "items.0.begin_time (value error, expected a time (iso 8601",
        "app history: begin before 1970",
    ),
    SchemaFault(
        "huawei",
        _RECORDS,
        _json({"total_count": 1}),
        "tasks_records (field required)",
        "desktop records: tasks_records missing",
    ),
    SchemaFault(
        "huawei",
        _RECORDS,
        _json(
            {
                "tasks_records": [{"id": {}, "start_time": [], "status": 1, "skip_num": "many"}],
                "total_count": 1,
            }
        ),
        "tasks_records.0.id",
        "desktop records: every field's type changed",
    ),
    SchemaFault(
        "huawei",
        _RECORDS,
        _json({"tasks_records": [], "total_count": 5}),
        "total_count says 5 but the pages hold 0",
        "desktop records: total beyond the items",
    ),
]

CASES: list[SchemaFault] = [*TALEND, *PYRAMID, *BMC, *HUAWEI]


def cases_for(vendor: str) -> list[SchemaFault]:
    return [c for c in CASES if c.vendor == vendor]
