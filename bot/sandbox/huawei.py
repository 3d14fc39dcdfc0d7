"""Loopback simulator of Huawei Cloud Workspace scheduled tasks: AK/SK request signatures
(checked on every request by :mod:`bot.sandbox.huawei_aksk`, temporary credentials with their
security token included), IAM password tokens, the Application Streaming family (4A,
``/v1/{project_id}/schedule-task``) and the desktop family (4B,
``/v2/{project_id}/scheduled-tasks``), all on one base URL, for several projects at once.

Shapes follow shared/contracts.md §4 and the SDK models it cites. Where the contracts mark a
fact INFERRED or a gap, the reading simulated here is named in a comment at the place it
applies and the connector (bot/connectors/huawei/) makes the same choice; the tests in
tests/test_huawei_*.py pin each one. Where a reading is genuinely uncertain, a knob on
:class:`HuaweiQuirks` lets a test serve the other variant too.

Runs are not stored: a task's executions are derived on demand from its schedule (read by
:mod:`bot.sandbox.huawei_rules`, the simulator's own reading on dateutil's ``rrule``, never
the connector's :mod:`bot.schedule_rules`), the periods it was enabled, and the sim
clock, so moving a ``ManualClock`` makes runs start, finish, and be missed while disabled.
"""

from __future__ import annotations

import random
import secrets
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

from aiohttp import web

from bot.clock import Clock, system_clock
from bot.sandbox.base import Simulator, json_response
from bot.sandbox.huawei_aksk import SignatureRejected, WireRequest, access_key_of, check_signature
from bot.sandbox.huawei_rules import (
    ScheduleRejected,
    SimSchedule,
    read_schedule,
    wall_text,
    zone_of,
)

__all__ = ["HuaweiQuirks", "HuaweiSimulator", "SimProject", "SimTask", "TemporaryKey"]

Family = Literal["app", "desktop"]

USERNAME_ENV = "MAINTBOT_SANDBOX_HUAWEI_USERNAME"
PASSWORD_ENV = "MAINTBOT_SANDBOX_HUAWEI_PASSWORD"
DEMO_USERNAME = "maintbot-demo"
DEMO_PASSWORD = "sandbox-huawei-password"
DEMO_DOMAIN = "maintbot-demo-domain"
ACCESS_KEY_ENV = "MAINTBOT_SANDBOX_HUAWEI_ACCESS_KEY"
SECRET_KEY_ENV = "MAINTBOT_SANDBOX_HUAWEI_SECRET_KEY"
# Shaped like Huawei's: a 20-character key id and a 40-character secret.
DEMO_ACCESS_KEY = "HPUAMAINTBOTDEMO0001"
DEMO_SECRET_KEY = "sandbox+huawei/secret-key-0000000000000"
# Huawei locks an access key for 5 minutes after 5 refused signatures in a row [SEEN APIG FAQ].
AK_LOCK_AFTER = 5
AK_LOCK_FOR = timedelta(minutes=5)

# How much past history the simulator derives for each task.
HISTORY = timedelta(days=30)

SCHEDULE_FIELDS = (
    "scheduled_type",
    "day_interval",
    "week_list",
    "month_list",
    "date_list",
    "scheduled_date",
    "scheduled_time",
    "expire_time",
    "time_zone",
)

# 4A PATCH body: every field of UpdateScheduleTaskReq [SEEN H6]; anything else is a 400.
APP_UPDATE_FIELDS = frozenset(
    {
        *SCHEDULE_FIELDS,
        "task_name",
        "task_type",
        "schedule_task_policy",
        "description",
        "is_enable",
        "target_infos",
    }
)
# The desktop (4B) models of Huawei's SDK, written out by hand from huaweicloudsdkworkspace
# 3.1.219 (``v2/model/*.py``, each model's ``openapi_types``: field -> SDK type). The
# simulator ships with the product and the SDK is a test-only dependency, so it is not
# imported here; tests/test_huawei_roundtrip.py compares these tables with the SDK so the
# two cannot drift.
# ShowScheduledTasksResponse: what GET …/scheduled-tasks/{id} returns (no ``enable``, no
# ``priority``: those are only in the list item).
DESKTOP_SHOW_TYPES: dict[str, str] = {
    "id": "str",
    "task_type": "str",
    "task_name": "str",
    "force_execute": "bool",
    "scheduled_type": "str",
    "life_cycle_type": "str",
    "life_cycle_exec_period": "int",
    "day_interval": "int",
    "week_list": "str",
    "month_list": "str",
    "date_list": "str",
    "scheduled_date": "str",
    "scheduled_time": "str",
    "expire_time": "str",
    "description": "str",
    "extra_params": "str",
    "apply_objects": "list[ApplyObject]",
    "gray_count": "int",
    "gray_desktop_ids": "list[str]",
    "gray_fail_threshold": "int",
    "time_zone": "str",
    "wait_time": "int",
}
# ScheduledTask: one item of GET …/scheduled-tasks.
DESKTOP_LIST_TYPES: dict[str, str] = {
    "id": "str",
    "task_name": "str",
    "task_type": "str",
    "scheduled_type": "str",
    "life_cycle_type": "str",
    "life_cycle_exec_period": "int",
    "last_status": "str",
    "next_execution_time": "str",
    "expire_time": "str",
    "enable": "bool",
    "description": "str",
    "priority": "int",
    "time_zone": "str",
    "wait_time": "int",
    "extra_params": "str",
}
# UpdateScheduledTasksReq: everything a PUT may carry; any other field is refused.
DESKTOP_UPDATE_TYPES: dict[str, str] = {
    "scheduled_type": "str",
    "day_interval": "int",
    "week_list": "str",
    "month_list": "str",
    "date_list": "str",
    "scheduled_date": "str",
    "scheduled_time": "str",
    "expire_time": "str",
    "gray_count": "int",
    "gray_desktop_ids": "list[str]",
    "gray_fail_threshold": "int",
    "life_cycle_type": "str",
    "time_zone": "str",
    "task_name": "str",
    "force_execute": "bool",
    "description": "str",
    "enable": "bool",
    "extra_params": "str",
    "apply_object_update_type": "str",
    "apply_objects": "list[ApplyObject]",
    "priority": "int",
    "is_gray": "bool",
    "wait_time": "int",
    "life_cycle_exec_period": "int",
}
# ApplyObject: one item of ``apply_objects``.
APPLY_OBJECT_TYPES: dict[str, str] = {
    "object_id": "str",
    "object_type": "str",
    "object_name": "str",
}
DESKTOP_UPDATE_FIELDS = frozenset(DESKTOP_UPDATE_TYPES)
# What a desktop task keeps: every update field some read returns. The two update fields no
# read returns are instructions, not state: ``apply_object_update_type`` says how to apply
# ``apply_objects`` (FULL_COVERAGE or CLEAR_ALL), and ``is_gray`` appears in neither
# ShowScheduledTasksResponse nor ScheduledTask, so whether Huawei keeps it cannot be read
# back [gap]; the simulator checks both and keeps neither.
DESKTOP_KEPT_FIELDS = DESKTOP_UPDATE_FIELDS & {*DESKTOP_SHOW_TYPES, *DESKTOP_LIST_TYPES}
# Kept in SimTask.extra (the schedule fields live in SimTask.fields, the name and description
# in their own attributes, ``enable`` in the enabled periods).
DESKTOP_EXTRA_FIELDS = DESKTOP_KEPT_FIELDS - {
    *SCHEDULE_FIELDS,
    "task_name",
    "description",
    "enable",
}
APPLY_OBJECT_UPDATE_TYPES = frozenset({"FULL_COVERAGE", "CLEAR_ALL"})
# 触发式任务执行周期: 1 min to 10080 min (7 days) [SEEN SDK UpdateScheduledTasksReq].
LIFE_CYCLE_EXEC_PERIOD = (1, 10080)

# IAM action each operation needs [SEEN H1–H5 for 4A; INFERRED: 4B uses the same names].
ACTIONS = {
    "list": "workspace:scheduledTasks:list",
    "get": "workspace:scheduledTasks:get",
    "update": "workspace:scheduledTasks:update",
    "records": "workspace:scheduledTasks:listRecords",
    # future-executions is not in the captured action list [gap]; read as a list action.
    "future": "workspace:scheduledTasks:list",
}


@dataclass
class HuaweiQuirks:
    """Response variants for facts the contracts leave open; defaults are the readings chosen."""

    # Numbers (count, total_count, day_interval, run counters) sent as JSON strings.
    string_numbers: bool = False
    # 4A ``next_execution_time`` format is a gap: "iso_utc" (like the other 4A date-times,
    # the default), "local" (``yyyy-MM-dd HH:mm:ss`` in the task's zone) or "epoch_ms".
    app_time_format: Literal["iso_utc", "local", "epoch_ms"] = "iso_utc"
    # PATCH/PUT response is a gap: 200 with ``{}`` by default; 204 with no body is the variant.
    update_status: int = 200
    # History/record order is not documented: newest first by default.
    history_order: Literal["newest_first", "oldest_first"] = "newest_first"
    # Drop optional fields (description, last_status, task_cron, policy, create/update time).
    omit_optional: bool = False


@dataclass
class SimProject:
    id: str
    name: str


@dataclass
class SimTask:
    """One scheduled task of either family, with the periods it was enabled."""

    id: str
    project_id: str
    family: Family
    name: str
    task_type: str
    fields: dict[str, Any]
    created: datetime
    updated: datetime
    enabled_periods: list[tuple[datetime, datetime | None]]
    description: str = ""
    duration: timedelta = timedelta(minutes=20)
    queue_delay: timedelta = timedelta(0)
    fail_every: int = 0
    skip_every: int = 0
    targets: int = 3
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return bool(self.enabled_periods) and self.enabled_periods[-1][1] is None

    def set_enabled(self, enabled: bool, now: datetime) -> None:
        if enabled == self.enabled:
            return
        if enabled:
            self.enabled_periods.append((now, None))
        else:
            start, _ = self.enabled_periods[-1]
            self.enabled_periods[-1] = (start, now)


@dataclass(frozen=True)
class TemporaryKey:
    """Temporary credentials, as IAM hands out to federated users and agencies."""

    access_key: str
    secret_key: str
    security_token: str
    expires: datetime


@dataclass(frozen=True)
class SimRun:
    id: str
    fire: datetime
    begin: datetime | None
    end: datetime | None
    status: str


def _hash(*parts: object) -> int:
    return zlib.crc32("|".join(str(p) for p in parts).encode())


def _iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc_naive(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _set_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """The schedule fields that carry a value (a PUT may send nulls and empty strings)."""
    return {k: v for k, v in fields.items() if v not in (None, "")}


_TYPE_WORDS = {
    "str": "a string",
    "int": "an integer",
    "bool": "a boolean",
    "list[str]": "a list of strings",
    "list[ApplyObject]": "a list of {object_id, object_type, object_name} objects",
}


def _type_problem(sdk_type: str, value: Any) -> str | None:
    """What ``value`` should have been for the SDK type, or ``None`` if it fits (every
    UpdateScheduledTasksReq field is optional, so null fits all)."""
    if value is None:
        return None
    if sdk_type == "str":
        fits = isinstance(value, str)
    elif sdk_type == "int":
        fits = isinstance(value, int) and not isinstance(value, bool)
    elif sdk_type == "bool":
        fits = isinstance(value, bool)
    elif sdk_type == "list[str]":
        fits = isinstance(value, list) and all(isinstance(v, str) for v in value)
    else:
        fits = isinstance(value, list) and all(
            isinstance(v, dict)
            and set(v) <= set(APPLY_OBJECT_TYPES)
            and all(x is None or isinstance(x, str) for x in v.values())
            for v in value
        )
    return None if fits else _TYPE_WORDS[sdk_type]


class HuaweiSimulator(Simulator):
    """IAM + Workspace 4A + 4B on one base URL. ``projects[0]`` is the main, scaled project;
    ``projects[1]`` is a small second project for the several-instances case."""

    vendor: ClassVar[str] = "huawei"
    # IAM tokens are valid 24 h [SEEN H10].
    token_lifetime: ClassVar[timedelta] = timedelta(hours=24)

    def __init__(self, *, clock: Clock = system_clock, scale: int = 1, seed: int = 7) -> None:
        super().__init__(clock=clock, scale=scale, seed=seed)
        self.quirks = HuaweiQuirks()
        self.denied_actions: set[str] = set()
        self.username = DEMO_USERNAME
        self.password = DEMO_PASSWORD
        self.domain_name = DEMO_DOMAIN
        self.access_key = DEMO_ACCESS_KEY
        self.secret_key = DEMO_SECRET_KEY
        # API Gateway checks signatures against real time (a signer stamps the machine's
        # clock, whatever instant a check is about), so AK/SK checks, temporary credentials
        # and key locks run on this clock, not the simulated one; a test may set it.
        self.gateway_clock: Clock = system_clock
        self._temporary: dict[str, TemporaryKey] = {}
        # access key → refused signatures in a row, and until when it is locked.
        self._refusals: dict[str, int] = {}
        self._locked_until: dict[str, datetime] = {}
        self._token_projects: dict[str, str] = {}
        # (status, times left) for PATCH/PUT only: the base faults match paths, and an
        # update shares its path with the show that precedes it.
        self._update_faults: list[tuple[int, list[int], dict[str, Any] | None]] = []
        self.history = HISTORY
        self.tasks: dict[str, SimTask] = {}
        rng = random.Random(seed)
        self.projects = [
            SimProject(f"{rng.getrandbits(128):032x}", "ap-southeast-1"),
            SimProject(f"{rng.getrandbits(128):032x}", "ap-southeast-1_dr"),
        ]
        # Sample schedules are whole minutes from here, as a person would set them.
        self._anchor = self.clock().replace(second=0, microsecond=0)
        self._seed(rng)

    # -- seeded sample data ---------------------------------------------------------------------
    def _new_id(self, rng: random.Random) -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def _add(
        self,
        rng: random.Random,
        project: SimProject,
        family: Family,
        name: str,
        task_type: str,
        fields: dict[str, Any],
        *,
        disabled_ago: timedelta | None = None,
        **kw: Any,
    ) -> SimTask:
        now = self.clock()
        created = now - timedelta(days=60)
        end = now - disabled_ago if disabled_ago is not None else None
        task = SimTask(
            id=self._new_id(rng),
            project_id=project.id,
            family=family,
            name=name,
            task_type=task_type,
            fields={k: v for k, v in fields.items() if v is not None},
            created=created,
            updated=end or created,
            enabled_periods=[(created, end)],
            **kw,
        )
        if family == "desktop":
            task.extra.setdefault("force_execute", False)
            task.extra.setdefault("priority", 1)
            task.extra.setdefault("wait_time", 0)
            task.extra.setdefault(
                "apply_objects",
                [{"object_type": "DESKTOP", "object_id": self._new_id(rng), "object_name": name}],
            )
        else:
            task.extra.setdefault(
                "target_infos", [{"target_type": "SERVER_GROUP", "target_id": self._new_id(rng)}]
            )
        self.tasks[task.id] = task
        return task

    def _wall(self, offset: timedelta, zone_name: str) -> tuple[str, str]:
        """``(scheduled_date, scheduled_time)`` of ``now + offset`` in the zone."""
        local = (self._anchor + offset).astimezone(zone_of(zone_name))
        return local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S")

    def _daily(self, offset: timedelta, zone: str, interval: int = 1) -> dict[str, Any]:
        _, at = self._wall(offset, zone)
        return {
            "scheduled_type": "DAY",
            "day_interval": interval,
            "scheduled_time": at,
            "time_zone": zone,
        }

    def _weekday_number(self, offset: timedelta, zone: str) -> int:
        """Vendor ``week_list`` number (1 = Sunday … 7 = Saturday) of ``now + offset``."""
        local = (self._anchor + offset).astimezone(zone_of(zone))
        return local.isoweekday() % 7 + 1

    def _seed(self, rng: random.Random) -> None:
        h, m, d = timedelta(hours=1), timedelta(minutes=1), timedelta(days=1)
        main, dr = self.projects
        now = self._anchor
        app: Family = "app"
        desk: Family = "desktop"
        named: list[SimTask] = [
            # fires 3 h from now, every day: twice in a 26 h window
            self._add(
                rng,
                main,
                app,
                "nightly_restart",
                "RESTART_SERVER",
                self._daily(3 * h, "Asia/Shanghai"),
                duration=40 * m,
            ),
            # starts 1 h from now and usually takes about 3 h: runs into a window at +2 h
            self._add(
                rng,
                main,
                app,
                "overlap_reinstall",
                "REINSTALL_OS",
                self._daily(1 * h, "Europe/Berlin"),
                duration=150 * m,
            ),
            # started 30 min ago, takes 1.8–3.6 h: running now
            self._add(
                rng,
                main,
                app,
                "running_restart",
                "RESTART_SERVER",
                self._daily(-30 * m, "UTC"),
                duration=3 * h,
            ),
            # due 10 min ago, queued for 2 h: WAITING now
            self._add(
                rng,
                main,
                app,
                "queued_start",
                "START_SERVER",
                self._daily(-10 * m, "Coordinated Universal Time"),
                duration=20 * m,
                queue_delay=2 * h,
            ),
            # disabled by someone else three days ago
            self._add(
                rng,
                main,
                app,
                "ops_disabled_stop",
                "STOP_SERVER",
                self._daily(4 * h, "America/Los_Angeles"),
                disabled_ago=3 * d + 2 * h,
                description="disabled by the ops team",
            ),
            self._add(
                rng,
                main,
                app,
                "weekly_stop",
                "STOP_SERVER",
                {
                    "scheduled_type": "WEEK",
                    "week_list": f"{self._weekday_number(6 * h, 'Asia/Shanghai')},1",
                    "scheduled_time": self._wall(6 * h, "Asia/Shanghai")[1],
                    "time_zone": "Asia/Shanghai",
                },
            ),
            self._add(
                rng,
                main,
                app,
                "month_end_restart",
                "RESTART_SERVER",
                {
                    "scheduled_type": "MONTH",
                    "month_list": "1,2,3,4,5,6,7,8,9,10,11,12",
                    "date_list": "L",
                    "scheduled_time": "22:00:00",
                    "time_zone": "Asia/Shanghai",
                },
            ),
            self._add(
                rng,
                main,
                app,
                "fixed_reinstall",
                "REINSTALL_OS",
                {
                    "scheduled_type": "FIXED_TIME",
                    "scheduled_date": self._wall(5 * h, "America/New_York")[0],
                    "scheduled_time": self._wall(5 * h, "America/New_York")[1],
                    "time_zone": "America/New_York",
                },
            ),
            self._add(
                rng,
                main,
                app,
                "fixed_past",
                "STOP_SERVER",
                {
                    "scheduled_type": "FIXED_TIME",
                    "scheduled_date": self._wall(-2 * d, "UTC")[0],
                    "scheduled_time": self._wall(-2 * d, "UTC")[1],
                    "time_zone": "UTC",
                },
            ),
            self._add(
                rng,
                main,
                app,
                "expiring_daily",
                "RESTART_SERVER",
                {
                    **self._daily(6 * h, "UTC"),
                    # 4A expire_time is a UTC date-time [SEEN H7 "in UTC format"].
                    "expire_time": _iso_utc(now + 2 * d),
                },
            ),
            self._add(
                rng,
                main,
                app,
                "every_3_days",
                "RESTART_SERVER",
                self._daily(7 * h, "Asia/Shanghai", interval=3),
            ),
            self._add(
                rng,
                main,
                app,
                "quarterly_mid",
                "REINSTALL_OS",
                {
                    "scheduled_type": "MONTH",
                    "month_list": "1,4,7,10",
                    "date_list": "15,31",
                    "scheduled_time": "03:00:00",
                    "time_zone": "Europe/Berlin",
                },
            ),
            # -- desktops --
            self._add(
                rng,
                main,
                desk,
                "desk_daily_reboot",
                "REBOOT",
                self._daily(4 * h, "Asia/Shanghai"),
            ),
            self._add(
                rng,
                main,
                desk,
                "desk_rebuild_running",
                "REBUILD",
                self._daily(-20 * m, "Europe/Berlin"),
                duration=2 * h,
            ),
            self._add(
                rng,
                main,
                desk,
                "desk_ops_disabled",
                "STOP",
                {
                    "scheduled_type": "WEEK",
                    "week_list": "1,2,3,4,5,6,7",
                    "scheduled_time": self._wall(5 * h, "Europe/Berlin")[1],
                    "time_zone": "Europe/Berlin",
                },
                disabled_ago=2 * d + 1 * h,
            ),
            self._add(
                rng,
                main,
                desk,
                "desk_skip_script",
                "EXECUTE_SCRIPT",
                self._daily(8 * h, "UTC"),
                skip_every=2,
                description="runs the patch script on two canary desktops first",
                # A gray (canary) release: only script tasks have one [SEEN SDK].
                extra={
                    "gray_count": 2,
                    "gray_desktop_ids": [
                        "0b7c5d2e-3f41-4a8e-9c6d-1e2f3a4b5c6d",
                        "7f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f",
                    ],
                    "gray_fail_threshold": 1,
                    "extra_params": '{"script_ids": ["patch-2026-11"], "run_as": "SYSTEM"}',
                },
            ),
            self._add(
                rng,
                main,
                desk,
                "desk_month_snapshot",
                "CREATE_SNAPSHOT",
                {
                    "scheduled_type": "MONTH",
                    "month_list": "1,2,3,4,5,6,7,8,9,10,11,12",
                    "date_list": "1,L",
                    "scheduled_time": "01:30:00",
                    "time_zone": "GMT+08:00",
                },
                # Shown as an explicit null, which a PUT must send back as one.
                extra={"extra_params": None},
            ),
            self._add(
                rng,
                main,
                desk,
                "desk_sunday_stop",
                "STOP",
                {
                    "scheduled_type": "WEEK",
                    "week_list": "1",
                    "scheduled_time": "23:00:00",
                    "time_zone": "America/New_York",
                },
            ),
            self._add(
                rng,
                main,
                desk,
                "desk_fixed_start",
                "START",
                {
                    "scheduled_type": "FIXED_TIME",
                    "scheduled_date": self._wall(9 * h, "UTC")[0],
                    "scheduled_time": self._wall(9 * h, "UTC")[1],
                    "time_zone": "UTC",
                },
            ),
            self._add(
                rng,
                main,
                desk,
                "desk_expired",
                "HIBERNATE",
                {
                    **self._daily(2 * h, "Asia/Shanghai"),
                    # 4B expire_time has no zone: read in the task's zone [INFERRED].
                    "expire_time": wall_text(now - d, zone_of("Asia/Shanghai")),
                },
            ),
            self._add(
                rng,
                main,
                desk,
                "desk_hibernate_2days",
                "HIBERNATE",
                self._daily(10 * h, "America/Los_Angeles", interval=2),
            ),
            self._add(
                rng,
                main,
                desk,
                "desk_disconnect_script",
                "EXECUTE_SCRIPT",
                {"scheduled_type": "LIFE_CYCLE", "time_zone": "Asia/Shanghai"},
                description="cleans up after a user disconnects",
                # Event-triggered: runs 10 min after the event, at most once every 2 h.
                extra={
                    "life_cycle_type": "POST_DESKTOP_DISCONNECTED",
                    "life_cycle_exec_period": 120,
                    "wait_time": 10,
                    "priority": 2,
                },
            ),
        ]
        per_family = 12 * self.scale
        app_named = sum(1 for t in named if t.family == "app")
        desk_named = len(named) - app_named
        for i in range(per_family - app_named):
            self._filler(rng, main, "app", i)
        for i in range(per_family - desk_named):
            self._filler(rng, main, "desktop", i)

        # The second project: a handful of tasks with their own names.
        self._add(rng, dr, app, "dr_nightly_restart", "RESTART_SERVER", self._daily(3 * h, "UTC"))
        self._add(
            rng,
            dr,
            app,
            "dr_disabled_stop",
            "STOP_SERVER",
            self._daily(5 * h, "UTC"),
            disabled_ago=d,
        )
        self._add(rng, dr, desk, "dr_desk_reboot", "REBOOT", self._daily(4 * h, "Asia/Shanghai"))
        self._add(
            rng,
            dr,
            desk,
            "dr_desk_weekly_stop",
            "STOP",
            {
                "scheduled_type": "WEEK",
                "week_list": "2,4,6",
                "scheduled_time": "20:00:00",
                "time_zone": "Europe/Berlin",
            },
        )
        # Last, so the random ids of every task before it stay as they were.
        self._add(
            rng,
            dr,
            desk,
            "dr_desk_post_create_script",
            "EXECUTE_SCRIPT",
            {"scheduled_type": "LIFE_CYCLE", "time_zone": "Europe/Berlin"},
            description="installs the agent on every new desktop",
            extra={
                "life_cycle_type": "POST_CREATE_DESKTOP_SUCCESS",
                "life_cycle_exec_period": 1440,
                "wait_time": 30,
                "priority": 5,
                "force_execute": True,
            },
        )

    _ZONES = (
        "Asia/Shanghai",
        "Europe/Berlin",
        "America/New_York",
        "America/Los_Angeles",
        "UTC",
        "Asia/Singapore",
    )

    def _filler(self, rng: random.Random, project: SimProject, family: Family, i: int) -> None:
        zone = rng.choice(self._ZONES)
        at = f"{rng.randrange(24):02d}:{rng.randrange(0, 60, 5):02d}:00"
        roll = rng.random()
        fields: dict[str, Any]
        if roll < 0.5:
            fields = {"scheduled_type": "DAY", "day_interval": rng.choice((1, 1, 1, 2, 7))}
        elif roll < 0.75:
            days = sorted(rng.sample(range(1, 8), rng.randint(1, 3)))
            fields = {"scheduled_type": "WEEK", "week_list": ",".join(map(str, days))}
        elif roll < 0.9:
            fields = {
                "scheduled_type": "MONTH",
                "month_list": ",".join(map(str, range(1, 13))),
                "date_list": rng.choice(("1", "15", "L", "1,15", "28,L")),
            }
        else:
            date_text, _ = self._wall(timedelta(hours=rng.randrange(-48, 240)), zone)
            fields = {"scheduled_type": "FIXED_TIME", "scheduled_date": date_text}
        fields.update(scheduled_time=at, time_zone=zone)
        if family == "app":
            task_type = rng.choice(("RESTART_SERVER", "START_SERVER", "STOP_SERVER"))
        else:
            task_type = rng.choice(("START", "STOP", "REBOOT", "HIBERNATE", "EXECUTE_SCRIPT"))
        prefix = "app" if family == "app" else "desk"
        self._add(
            rng,
            project,
            family,
            f"{prefix}_{task_type.lower()}_{i:04d}",
            task_type,
            fields,
            disabled_ago=timedelta(days=rng.randint(1, 20)) if rng.random() < 0.15 else None,
            duration=timedelta(minutes=rng.choice((5, 10, 20, 45, 90))),
            fail_every=rng.choice((0, 0, 5)),
        )

    # -- derived runs -----------------------------------------------------------------------
    def schedule_of(self, task: SimTask) -> SimSchedule | None:
        try:
            return read_schedule(_set_fields(task.fields), naive_expire_in_utc=task.family == "app")
        except ScheduleRejected:
            return None

    def runs(self, task: SimTask) -> list[SimRun]:
        """Every execution of ``task`` in the history window, newest first."""
        schedule = self.schedule_of(task)
        if schedule is None:
            return []
        now = self.clock()
        horizon = max(task.created, now - self.history)
        runs: list[SimRun] = []
        for start, end in task.enabled_periods:
            lo = max(start, horizon)
            hi = min(end or now + timedelta(microseconds=1), now + timedelta(microseconds=1))
            for fire in schedule.between(lo, hi):
                runs.append(self._run(task, fire, now))
        runs.sort(key=lambda r: r.fire, reverse=True)
        return runs

    def _run(self, task: SimTask, fire: datetime, now: datetime) -> SimRun:
        h = _hash(task.id, fire.isoformat())
        duration = task.duration * (0.6 + 0.6 * (h % 1000) / 1000)
        begin = fire + task.queue_delay
        run_id = str(uuid.UUID(int=(h << 96) | _hash(fire.isoformat(), task.id), version=4))
        if task.family == "desktop" and task.skip_every and (h >> 10) % task.skip_every == 0:
            return SimRun(run_id, fire, fire, fire, "SKIP")
        if now < begin:
            return SimRun(run_id, fire, None, None, "WAITING")
        if now < begin + duration:
            # 4B record status enum is a gap: "RUNNING" is the in-progress word simulated.
            return SimRun(run_id, fire, begin, None, "RUNNING")
        failed = task.fail_every and (h >> 10) % task.fail_every == 0
        if task.family == "app":
            return SimRun(run_id, fire, begin, begin + duration, "FAILED" if failed else "SUCCESS")
        return SimRun(run_id, fire, begin, begin + duration, "FAIL" if failed else "SUCCESS")

    def next_execution(self, task: SimTask) -> datetime | None:
        schedule = self.schedule_of(task)
        if schedule is None or not task.enabled:
            return None
        found = schedule.after(self.clock(), 1)
        return found[0] if found else None

    def fail_updates(
        self, status: int = 503, *, times: int = 1, body: dict[str, Any] | None = None
    ) -> None:
        """Answer the next ``times`` PATCH/PUT requests with ``status`` (and ``body``, default
        a Huawei error body) without changing anything."""
        with self._lock:
            self._update_faults.append((status, [times], body))

    def _update_fault(self) -> web.Response | None:
        with self._lock:
            if not self._update_faults:
                return None
            status, left, body = self._update_faults[0]
            left[0] -= 1
            if left[0] <= 0:
                self._update_faults.pop(0)
        if body is not None:
            return json_response(body, status=status)
        return self.error_body(status, "injected update fault")

    # -- config -----------------------------------------------------------------------------
    def project(self, key: str | int | None = None) -> SimProject:
        if key is None:
            return self.projects[0]
        if isinstance(key, int):
            return self.projects[key]
        for project in self.projects:
            if key in (project.id, project.name):
                return project
        raise KeyError(key)

    def config_entry(
        self, project: str | int | None = None, *, auth: Literal["aksk", "password"] = "aksk"
    ) -> dict[str, Any]:
        """The table for ``project``: signing with the demo access key (the recommended way),
        or with ``auth="password"`` the IAM password sign-in."""
        chosen = self.project(project)
        entry: dict[str, Any] = {
            "vendor": "huawei",
            "base_url": self.base_url,
            "appstream_url": self.base_url,
            "project_id": chosen.id,
            "project_name": chosen.name,
        }
        if auth == "aksk":
            return {
                **entry,
                "auth": "aksk",
                "access_key_env": ACCESS_KEY_ENV,
                "secret_key_env": SECRET_KEY_ENV,
            }
        return {
            **entry,
            "auth": "password",
            "iam_url": self.base_url,
            "domain_name": self.domain_name,
            "username_env": USERNAME_ENV,
            "password_env": PASSWORD_ENV,
        }

    def credentials(self) -> dict[str, str]:
        """Both ways' demo credentials (a table names the ones it uses)."""
        return {
            ACCESS_KEY_ENV: self.access_key,
            SECRET_KEY_ENV: self.secret_key,
            USERNAME_ENV: self.username,
            PASSWORD_ENV: self.password,
        }

    def issue_temporary(self, lifetime: timedelta = timedelta(hours=1)) -> TemporaryKey:
        """New temporary credentials, valid for ``lifetime`` of the gateway clock."""
        key = TemporaryKey(
            access_key="HST" + secrets.token_hex(8).upper(),
            secret_key=secrets.token_urlsafe(30),
            security_token=secrets.token_urlsafe(96),
            expires=self.gateway_clock() + lifetime,
        )
        with self._lock:
            self._temporary[key.access_key] = key
        return key

    def state(self) -> dict[str, Any]:
        with self._lock:
            tasks = [
                {
                    "id": t.id,
                    "family": t.family,
                    "project_id": t.project_id,
                    "name": t.name,
                    "task_type": t.task_type,
                    "enabled": t.enabled,
                    "paused": not t.enabled,
                    **{k: t.fields.get(k) for k in SCHEDULE_FIELDS},
                }
                for t in self.tasks.values()
            ]
        return {
            "projects": [{"id": p.id, "name": p.name} for p in self.projects],
            "tasks": tasks,
        }

    def find(self, name: str, project: str | int | None = None) -> SimTask:
        """The task called ``name`` (in ``project``, default the main one) — for tests."""
        pid = self.project(project).id
        for task in self.tasks.values():
            if task.name == name and task.project_id == pid:
                return task
        raise KeyError(name)

    # -- HTTP -------------------------------------------------------------------------------
    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_post("/v3/auth/tokens", self._iam_tokens)
        r.add_get("/v1/{project_id}/schedule-task", self._app_list)
        r.add_post("/v1/{project_id}/schedule-task/future-executions", self._future_app)
        r.add_get("/v1/{project_id}/schedule-task/{task_id}", self._app_show)
        r.add_patch("/v1/{project_id}/schedule-task/{task_id}", self._app_patch)
        r.add_get("/v1/{project_id}/schedule-task/{task_id}/execute-history", self._app_history)
        r.add_get("/v2/{project_id}/scheduled-tasks", self._desk_list)
        r.add_post("/v2/{project_id}/scheduled-tasks/future-executions", self._future_desk)
        r.add_get("/v2/{project_id}/scheduled-tasks/{task_id}", self._desk_show)
        r.add_put("/v2/{project_id}/scheduled-tasks/{task_id}", self._desk_put)
        r.add_get("/v2/{project_id}/scheduled-tasks/{task_id}/records", self._desk_records)

    def error_body(self, status: int, message: str, code: str | None = None) -> web.Response:
        # {"error_code", "error_msg"} [SEEN H8]; the codes themselves were not captured (gap),
        # so these WKS.* values are invented and the connector only relies on error_msg.
        return json_response(
            {"error_code": code or f"WKS.{status:04d}", "error_msg": message}, status=status
        )

    def _num(self, value: int) -> int | str:
        return str(value) if self.quirks.string_numbers else value

    async def _iam_tokens(self, request: web.Request) -> web.Response:
        def refused(message: str) -> web.Response:
            # IAM's own error shape differs from Workspace's.
            return json_response(
                {"error": {"code": 401, "message": message, "title": "Unauthorized"}}, status=401
            )

        try:
            body = await request.json()
            auth = body["auth"]
            identity = auth["identity"]
            user = identity["password"]["user"]
            project_scope = auth["scope"]["project"]
        except (ValueError, KeyError, TypeError):
            return json_response(
                {"error": {"code": 400, "message": "The request body is malformed."}}, status=400
            )
        if "password" not in identity.get("methods", []):
            return refused("The authentication method is not supported.")
        domain = user.get("domain") or {}
        if (
            user.get("name") != self.username
            or user.get("password") != self.password
            or domain.get("name") != self.domain_name
        ):
            return refused("The username or password is wrong.")
        project = next(
            (
                p
                for p in self.projects
                if project_scope.get("id") == p.id or project_scope.get("name") == p.name
            ),
            None,
        )
        if project is None:
            return refused("The project in the scope does not exist.")
        token, lifetime = self.issue_token()
        with self._lock:
            self._token_projects[token] = project.id
        now = self.clock()
        return json_response(
            {
                "token": {
                    "methods": ["password"],
                    "issued_at": now.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
                    "expires_at": (now + lifetime).strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
                    "project": {"id": project.id, "name": project.name},
                    "user": {"name": self.username, "domain": {"name": self.domain_name}},
                }
            },
            status=201,
            headers={"X-Subject-Token": token},
        )

    async def _guard(self, request: web.Request, operation: str) -> str | web.Response:
        """The path's project id if the caller may act on it, else the error response."""
        project_id = request.match_info["project_id"]
        if request.headers.get("Authorization", "").startswith("SDK-"):
            refused = self._check_aksk(request, await request.read())
            if refused is not None:
                return refused
            if project_id not in {p.id for p in self.projects}:
                return self.error_body(404, f"The project {project_id} does not exist.")
            # An access key belongs to the account, so any of its projects is allowed; the
            # SDKs name the project in X-Project-Id too, and the two must agree.
            named = request.headers.get("X-Project-Id")
            if named is not None and named != project_id:
                return self.error_body(
                    403, "The project in X-Project-Id is not the project in the path."
                )
        else:
            token = request.headers.get("X-Auth-Token")
            if not self.token_valid(token):
                return self.error_body(
                    401,
                    "Incorrect IAM authentication information: token invalid or expired",
                    "APIGW.0301",
                )
            with self._lock:
                token_project = self._token_projects.get(token or "")
            if project_id not in {p.id for p in self.projects}:
                return self.error_body(404, f"The project {project_id} does not exist.")
            if token_project != project_id:
                return self.error_body(403, "The token is not scoped to the project in the path.")
        action = ACTIONS[operation]
        if action in self.denied_actions:
            return self.error_body(403, f"Policy doesn't allow {action} to be performed.")
        return project_id

    def _check_aksk(self, request: web.Request, body: bytes) -> web.Response | None:
        """``None`` if the request is signed by a known access key, else the gateway's 401."""
        wire = WireRequest(
            method=request.method,
            raw_path=request.rel_url.raw_path,
            raw_query=request.rel_url.raw_query_string,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
        )
        now = self.gateway_clock()
        access = access_key_of(wire)
        with self._lock:
            temporary = self._temporary.get(access or "")
            locked = self._locked_until.get(access or "")
        if locked is not None and now < locked:
            return self._aksk_refused(
                "Incorrect IAM authentication information: AK access failed to reach the "
                "limit,forbidden."
            )
        if access == self.access_key:
            secret = self.secret_key
        elif temporary is not None:
            secret = temporary.secret_key
        elif access is not None:
            return self._aksk_refused(
                "Incorrect IAM authentication information: Get secretKey failed,"
                "ak:******,err:ak not exist"
            )
        else:
            secret = ""
        try:
            check_signature(wire, secret, now)
        except SignatureRejected as exc:
            return self._aksk_refused(str(exc), access)
        if temporary is not None:
            token = request.headers.get("X-Security-Token")
            if token != temporary.security_token or now >= temporary.expires:
                return self._aksk_refused(
                    "Incorrect IAM authentication information: the security token is "
                    "missing, wrong or expired"
                )
        if access is not None:
            with self._lock:
                self._refusals.pop(access, None)
        return None

    def _aksk_refused(self, message: str, access: str | None = None) -> web.Response:
        if access is not None:
            with self._lock:
                count = self._refusals.get(access, 0) + 1
                self._refusals[access] = count
                if count >= AK_LOCK_AFTER:
                    self._locked_until[access] = self.gateway_clock() + AK_LOCK_FOR
                    self._refusals.pop(access)
        return self.error_body(401, message, "APIGW.0301")

    def _task(self, project_id: str, task_id: str, family: Family) -> SimTask | None:
        task = self.tasks.get(task_id)
        if task is None or task.project_id != project_id or task.family != family:
            return None
        return task

    def _paging(
        self,
        request: web.Request,
        *,
        low: int,
        high: int,
        default: int | None,
    ) -> tuple[int, int] | web.Response:
        """``(offset, limit)``; ``default=None`` means both are required (4B list)."""
        values: dict[str, int] = {}
        for name in ("offset", "limit"):
            raw = request.query.get(name)
            if raw is None:
                if default is None:
                    return self.error_body(400, f"The parameter {name} is required.")
                values[name] = 0 if name == "offset" else default
                continue
            try:
                values[name] = int(raw)
            except ValueError:
                return self.error_body(400, f"The parameter {name} must be an integer.")
        if values["offset"] < 0:
            return self.error_body(400, "The parameter offset must be at least 0.")
        if not low <= values["limit"] <= high:
            return self.error_body(400, f"The parameter limit must be between {low} and {high}.")
        return values["offset"], values["limit"]

    def _ordered(self, runs: list[SimRun]) -> list[SimRun]:
        return runs if self.quirks.history_order == "newest_first" else runs[::-1]

    # -- 4A ---------------------------------------------------------------------------------
    def _cron(self, task: SimTask) -> str:
        f = task.fields
        hh, mm, ss = (f.get("scheduled_time") or "00:00:00").split(":")
        kind = f.get("scheduled_type")
        if kind == "DAY":
            return f"{int(ss)} {int(mm)} {int(hh)} 1/{f.get('day_interval', 1)} * ?"
        if kind == "WEEK":
            return f"{int(ss)} {int(mm)} {int(hh)} ? * {f.get('week_list')}"
        if kind == "MONTH":
            return f"{int(ss)} {int(mm)} {int(hh)} {f.get('date_list')} {f.get('month_list')} ?"
        y, mo, d = (f.get("scheduled_date") or "1970-01-01").split("-")
        return f"{int(ss)} {int(mm)} {int(hh)} {int(d)} {int(mo)} ? {y}"

    def _app_next_text(self, task: SimTask, moment: datetime) -> str | int:
        style = self.quirks.app_time_format
        if style == "local":
            return wall_text(moment, zone_of(task.fields.get("time_zone")))
        if style == "epoch_ms":
            return int(moment.timestamp() * 1000)
        return _iso_utc(moment)

    def _app_item(self, task: SimTask, *, show: bool) -> dict[str, Any]:
        f = task.fields
        item: dict[str, Any] = {"id": task.id, "task_name": task.name, "task_type": task.task_type}
        runs = self.runs(task)
        if runs and not self.quirks.omit_optional:
            item["last_status"] = runs[0].status
        if not self.quirks.omit_optional:
            item["task_cron"] = self._cron(task)
            item["schedule_task_policy"] = {"enforcement_enable": False}
            item["description"] = task.description
            item["create_time"] = _iso_utc(task.created)
            item["update_time"] = _iso_utc(task.updated)
        nxt = self.next_execution(task)
        if nxt is not None:
            item["next_execution_time"] = self._app_next_text(task, nxt)
        for key in SCHEDULE_FIELDS:
            if key in f:
                item[key] = self._num(f[key]) if key == "day_interval" else f[key]
        if show:
            # Show is read as not carrying is_enable reliably [INFERRED from H7 reading it
            # from the list]: the simulator leaves it out, so only the list tells.
            item["target_infos"] = task.extra.get("target_infos", [])
        else:
            item["is_enable"] = task.enabled
        return item

    async def _app_list(self, request: web.Request) -> web.Response:
        guard = await self._guard(request, "list")
        if isinstance(guard, web.Response):
            return guard
        paging = self._paging(request, low=1, high=100, default=10)
        if isinstance(paging, web.Response):
            return paging
        offset, limit = paging
        name = request.query.get("task_name", "").lower()
        task_type = request.query.get("task_type")
        with self._lock:
            matched = [
                t
                for t in self.tasks.values()
                if t.project_id == guard
                and t.family == "app"
                and name in t.name.lower()  # task_name is a fuzzy match [SEEN H2]
                and (not task_type or t.task_type == task_type)
            ]
            items = [self._app_item(t, show=False) for t in matched[offset : offset + limit]]
        return json_response({"count": self._num(len(matched)), "items": items})

    async def _app_show(self, request: web.Request) -> web.Response:
        guard = await self._guard(request, "get")
        if isinstance(guard, web.Response):
            return guard
        with self._lock:
            task = self._task(guard, request.match_info["task_id"], "app")
            if task is None:
                return self.error_body(404, "The schedule task does not exist.")
            return json_response(self._app_item(task, show=True))

    async def _read_object(self, request: web.Request) -> dict[str, Any] | web.Response:
        try:
            body = await request.json()
        except ValueError:
            return self.error_body(400, "The request body is not valid JSON.")
        if not isinstance(body, dict):
            return self.error_body(400, "The request body must be a JSON object.")
        return body

    def _updated(self) -> web.Response:
        if self.quirks.update_status == 204:
            return web.Response(status=204)
        return json_response({}, status=self.quirks.update_status)

    async def _app_patch(self, request: web.Request) -> web.Response:
        guard = await self._guard(request, "update")
        if isinstance(guard, web.Response):
            return guard
        fault = self._update_fault()
        if fault is not None:
            return fault
        body = await self._read_object(request)
        if isinstance(body, web.Response):
            return body
        unknown = set(body) - APP_UPDATE_FIELDS
        if unknown:
            return self.error_body(400, f"Unknown parameter {sorted(unknown)[0]}.")
        if "is_enable" in body and not isinstance(body["is_enable"], bool):
            return self.error_body(400, "The parameter is_enable must be a boolean.")
        with self._lock:
            task = self._task(guard, request.match_info["task_id"], "app")
            if task is None:
                return self.error_body(404, "The schedule task does not exist.")
            # PATCH is partial [SEEN H7: Terraform sends only {"is_enable": false}].
            fields = {**task.fields, **{k: body[k] for k in SCHEDULE_FIELDS if k in body}}
            try:
                read_schedule(fields, naive_expire_in_utc=True)
            except ScheduleRejected as exc:
                return self.error_body(400, f"Invalid schedule: {exc}.")
            task.fields = fields
            task.name = body.get("task_name", task.name)
            task.description = body.get("description", task.description)
            if "is_enable" in body:
                task.set_enabled(body["is_enable"], self.clock())
            task.updated = self.clock()
        return self._updated()

    async def _app_history(self, request: web.Request) -> web.Response:
        guard = await self._guard(request, "records")
        if isinstance(guard, web.Response):
            return guard
        paging = self._paging(request, low=1, high=100, default=10)
        if isinstance(paging, web.Response):
            return paging
        offset, limit = paging
        with self._lock:
            task = self._task(guard, request.match_info["task_id"], "app")
            if task is None:
                return self.error_body(404, "The schedule task does not exist.")
            runs = self._ordered(self.runs(task))
            items = [self._app_history_item(task, r) for r in runs[offset : offset + limit]]
        return json_response({"count": self._num(len(runs)), "items": items})

    def _app_history_item(self, task: SimTask, run: SimRun) -> dict[str, Any]:
        done = run.status in ("SUCCESS", "FAILED")
        failed = task.targets if run.status == "FAILED" else 0
        item: dict[str, Any] = {
            "id": run.id,
            "task_id": task.id,
            "task_type": task.task_type,
            "status": run.status,
            "scheduled_type": task.fields.get("scheduled_type"),
            "total_count": self._num(task.targets),
            "success_count": self._num(task.targets - failed if done else 0),
            "failed_count": self._num(failed),
            # "excuting_count" is misspelt in the SDK model [SEEN H6]; simulated as spelt there.
            "excuting_count": self._num(0 if done else task.targets),
            "time_zone": task.fields.get("time_zone"),
            # History times are UTC [SEEN H7 "in UTC format"].
            "create_time": _iso_utc(run.fire),
        }
        if run.begin is not None:
            item["begin_time"] = _iso_utc(run.begin)
        if run.end is not None:
            item["end_time"] = _iso_utc(run.end)
        return item

    async def _future(self, request: web.Request, family: Family) -> web.Response:
        guard = await self._guard(request, "future")
        if isinstance(guard, web.Response):
            return guard
        body = await self._read_object(request)
        if isinstance(body, web.Response):
            return body
        for required in ("scheduled_type", "scheduled_time"):
            if not body.get(required):
                return self.error_body(400, f"The parameter {required} is required.")
        try:
            schedule = read_schedule(body, naive_expire_in_utc=family == "app")
        except ScheduleRejected as exc:
            return self.error_body(400, f"Invalid schedule: {exc}.")
        zone = schedule.zone
        # Only five times come back [SEEN H7 comment]; they are wall times in the request's
        # time_zone, the zone the 4A response echoes [INFERRED].
        times = [wall_text(t, zone) for t in schedule.after(self.clock(), 5)]
        answer: dict[str, Any] = {"future_executions": times}
        if family == "app":
            answer["time_zone"] = body.get("time_zone") or "Asia/Shanghai"
        return json_response(answer)

    async def _future_app(self, request: web.Request) -> web.Response:
        return await self._future(request, "app")

    async def _future_desk(self, request: web.Request) -> web.Response:
        return await self._future(request, "desktop")

    # -- 4B ---------------------------------------------------------------------------------
    def _desk_last_status(self, task: SimTask) -> str | None:
        # last_status enum is SUCCESS/SKIP/FAIL [SEEN H8]: the latest *finished* record.
        for run in self.runs(task):
            if run.status in ("SUCCESS", "SKIP", "FAIL"):
                return run.status
        return None

    def _desk_item(self, task: SimTask) -> dict[str, Any]:
        zone = zone_of(task.fields.get("time_zone"))
        item: dict[str, Any] = {
            "id": task.id,
            "task_name": task.name,
            "task_type": task.task_type,
            "scheduled_type": task.fields.get("scheduled_type"),
            "enable": task.enabled,
            "time_zone": task.fields.get("time_zone"),
        }
        # The rest of ScheduledTask only where the task keeps it, so a field a PUT lost is
        # missing here too rather than shown with a default.
        kept = {**task.fields, **task.extra}
        for key in ("priority", "wait_time", "life_cycle_type", "life_cycle_exec_period"):
            if key in kept:
                item[key] = self._typed(DESKTOP_LIST_TYPES[key], kept[key])
        for key in ("expire_time", "extra_params"):
            if key in kept:
                item[key] = kept[key]
        if not self.quirks.omit_optional:
            item["description"] = task.description
            status = self._desk_last_status(task)
            if status is not None:
                item["last_status"] = status
        nxt = self.next_execution(task)
        if nxt is not None:
            # yyyy-MM-dd HH:mm:ss [SEEN H8]; in the task's own zone [INFERRED].
            item["next_execution_time"] = wall_text(nxt, zone)
        return item

    async def _desk_list(self, request: web.Request) -> web.Response:
        guard = await self._guard(request, "list")
        if isinstance(guard, web.Response):
            return guard
        # offset and limit are both required, limit 0–50 [SEEN H8].
        paging = self._paging(request, low=0, high=50, default=None)
        if isinstance(paging, web.Response):
            return paging
        offset, limit = paging
        q = request.query
        name = q.get("task_name", "").lower()
        wanted_type = q.get("scheduled_type")
        with self._lock:
            matched = []
            for t in self.tasks.values():
                if t.project_id != guard or t.family != "desktop" or name not in t.name.lower():
                    continue
                kind = t.fields.get("scheduled_type")
                # Event-triggered tasks only come back when asked for by type [SEEN H8].
                if (wanted_type or "") != "LIFE_CYCLE" and kind == "LIFE_CYCLE":
                    continue
                if wanted_type and kind != wanted_type:
                    continue
                if q.get("task_type") and t.task_type != q["task_type"]:
                    continue
                if q.get("life_cycle_type") and t.extra.get("life_cycle_type") != q.get(
                    "life_cycle_type"
                ):
                    continue
                if q.get("last_status") and self._desk_last_status(t) != q["last_status"]:
                    continue
                matched.append(t)
            items = [self._desk_item(t) for t in matched[offset : offset + limit]]
        return json_response({"scheduled_tasks": items, "total_count": self._num(len(matched))})

    async def _desk_show(self, request: web.Request) -> web.Response:
        guard = await self._guard(request, "get")
        if isinstance(guard, web.Response):
            return guard
        with self._lock:
            task = self._task(guard, request.match_info["task_id"], "desktop")
            if task is None:
                return self.error_body(404, "The scheduled task does not exist.")
            return json_response(self._desk_show_body(task))

    def _desk_show_body(self, task: SimTask) -> dict[str, Any]:
        """ShowScheduledTasksResponse: every field of it the task keeps, nulls included (no
        ``enable`` and no ``priority``: the SDK model has neither)."""
        body: dict[str, Any] = {
            "id": task.id,
            "task_type": task.task_type,
            "task_name": task.name,
            "description": task.description,
        }
        for key, value in {**task.fields, **task.extra}.items():
            if key in DESKTOP_SHOW_TYPES:
                body[key] = self._typed(DESKTOP_SHOW_TYPES[key], value)
        return body

    def _typed(self, sdk_type: str, value: Any) -> Any:
        """A kept value as served: whole numbers as text under the ``string_numbers`` quirk."""
        if sdk_type == "int" and isinstance(value, int) and not isinstance(value, bool):
            return self._num(value)
        return value

    def definition(self, task: SimTask) -> dict[str, Any]:
        """Everything the task keeps, by the SDK's field names (for tests: what a pause and
        resume must leave as it was)."""
        flag = "enable" if task.family == "desktop" else "is_enable"
        return {
            "id": task.id,
            "task_type": task.task_type,
            "task_name": task.name,
            "description": task.description,
            flag: task.enabled,
            **task.fields,
            **task.extra,
        }

    async def _desk_put(self, request: web.Request) -> web.Response:
        guard = await self._guard(request, "update")
        if isinstance(guard, web.Response):
            return guard
        fault = self._update_fault()
        if fault is not None:
            return fault
        body = await self._read_object(request)
        if isinstance(body, web.Response):
            return body
        problem = self._desk_put_problem(body)
        if problem is not None:
            return self.error_body(400, problem)
        # Whether PUT replaces the whole definition is a gap; the simulator takes the strict
        # reading, a full replace: every kept field the body leaves out is lost, exactly
        # what a real task would suffer from a client that sends a subset.
        fields = {k: body[k] for k in SCHEDULE_FIELDS if k in body}
        if body["scheduled_type"] != "LIFE_CYCLE":
            try:
                read_schedule(_set_fields(fields), naive_expire_in_utc=False)
            except ScheduleRejected as exc:
                return self.error_body(400, f"Invalid schedule: {exc}.")
        extra = {k: body[k] for k in DESKTOP_EXTRA_FIELDS if k in body}
        if body.get("apply_object_update_type") == "CLEAR_ALL":
            extra["apply_objects"] = []
        with self._lock:
            task = self._task(guard, request.match_info["task_id"], "desktop")
            if task is None:
                return self.error_body(404, "The scheduled task does not exist.")
            task.fields = fields
            task.name = body["task_name"]
            task.description = body.get("description") or ""
            task.extra = extra
            # ``enable`` left out keeps the task as it is: the SDK marks it optional and no
            # reading of "full replace" says what an absent flag would mean.
            if body.get("enable") is not None:
                task.set_enabled(body["enable"], self.clock())
            task.updated = self.clock()
        return self._updated()

    def _desk_put_problem(self, body: dict[str, Any]) -> str | None:
        """Why the PUT body is not an UpdateScheduledTasksReq this simulator accepts."""
        unknown = sorted(set(body) - DESKTOP_UPDATE_FIELDS)
        if unknown:
            return f"Unknown parameter {unknown[0]}."
        for key, value in body.items():
            expected = _type_problem(DESKTOP_UPDATE_TYPES[key], value)
            if expected is not None:
                return f"The parameter {key} must be {expected}."
        # A full replace cannot leave out what a task is: its name and its kind of schedule.
        # A connector that sends only {"enable": false} fails here instead of wiping a task.
        for required in ("task_name", "scheduled_type"):
            if not body.get(required):
                return f"The parameter {required} is required."
        if body["scheduled_type"] == "LIFE_CYCLE" and not body.get("life_cycle_type"):
            return "The parameter life_cycle_type is required for a LIFE_CYCLE task."
        period = body.get("life_cycle_exec_period")
        low, high = LIFE_CYCLE_EXEC_PERIOD
        if period is not None and not low <= period <= high:
            return f"The parameter life_cycle_exec_period must be between {low} and {high}."
        how = body.get("apply_object_update_type")
        if how is not None and how not in APPLY_OBJECT_UPDATE_TYPES:
            return "The parameter apply_object_update_type must be FULL_COVERAGE or CLEAR_ALL."
        if how == "FULL_COVERAGE" and body.get("apply_objects") is None:
            return "The parameter apply_objects is required for FULL_COVERAGE."
        return None

    async def _desk_records(self, request: web.Request) -> web.Response:
        guard = await self._guard(request, "records")
        if isinstance(guard, web.Response):
            return guard
        paging = self._paging(request, low=0, high=100, default=10)
        if isinstance(paging, web.Response):
            return paging
        offset, limit = paging
        with self._lock:
            task = self._task(guard, request.match_info["task_id"], "desktop")
            if task is None:
                return self.error_body(404, "The scheduled task does not exist.")
            runs = self._ordered([r for r in self.runs(task) if r.status != "WAITING"])
            records = [self._desk_record(task, r) for r in runs[offset : offset + limit]]
        return json_response({"tasks_records": records, "total_count": self._num(len(runs))})

    def _desk_record(self, task: SimTask, run: SimRun) -> dict[str, Any]:
        n = task.targets
        record: dict[str, Any] = {
            "id": run.id,
            # Records have only start_time, yyyy-MM-dd HH:mm:ss [SEEN H8]; UTC [INFERRED:
            # the Terraform provider parses it as UTC].
            "start_time": _utc_naive(run.begin or run.fire),
            "task_type": task.task_type,
            "scheduled_type": task.fields.get("scheduled_type"),
            "status": run.status,
            "success_num": self._num(n if run.status == "SUCCESS" else 0),
            "failed_num": self._num(n if run.status == "FAIL" else 0),
            "skip_num": self._num(n if run.status == "SKIP" else 0),
            "time_zone": task.fields.get("time_zone"),
            "execute_object_type": "DESKTOP",
        }
        if task.task_type == "EXECUTE_SCRIPT":
            record["execute_task_id"] = run.id.replace("-", "")[:24]
        return record
