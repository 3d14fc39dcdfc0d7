"""Loopback simulator of Pyramid Analytics REST API 3.0: the methods maintbot uses, with the
vendor's conventions (POST only, ``paToken`` header, bare-string bodies for single ids,
plain-text errors) and sample schedules computed relative to the simulator's clock.

Where contracts.md §2 leaves a gap, the simulator takes one reading and says so; the
connector is written to work with either reading where it can:

* Suspended schedules show ``HOLD`` (the connector reads ``HOLD`` and ``STOPPED`` alike;
  one sample schedule was stopped by someone else and shows ``STOPPED``).
* Single-id methods accept only the bare JSON string (``"abc"``), as the generated client
  sends it; a wrapped object ``{"scheduleId": …}`` is a 400, which holds the connector to
  the documented shape.
* ``suspendSchedule`` on a schedule that is not active, and ``resumeSchedule`` on one that
  is not suspended, answer 200 with ``success: false`` (the strict reading of the
  undocumented idempotency), so a connector that does not read first is caught.
* While a schedule is suspended, each trigger that comes due is recorded as an execution
  with ``triggerStoppedCount: 1`` and nothing run (INFERRED from the counters' names).
* Executions start up to ``START_JITTER_SECONDS`` after their trigger, and the history
  keeps the last ``HISTORY`` of ``HISTORY_AGE``, like a server's retention. Most schedules
  fire at a fixed period; two per unit of scale fire irregularly (event-driven, 1 to 9
  hours apart) and one moved its time of day two days ago, so predicted run times meet
  all three kinds of history.
* A schedule may follow a wall clock in a zone (``add_daily``: 02:30 in Europe/Berlin every
  day). Its executions then carry task items (``TaskViewData``) with ``timeZoneId``, the one
  place API 3.0 names a zone; the sample schedules fire at fixed periods and carry no items.
  A wall time that does not exist on a day (a spring-forward 02:30) fires at that time with
  the offset before the change (03:30 new time), a repeated one at its first occurrence
  (zoneinfo's ``fold=0``, RFC 5545's reading).
* Enums are sent as names for some schedules and as ordinals (declaration order) for
  others; counters are JSON numbers for some and strings for others; optional fields are
  sometimes left out. The schedule's trigger times (its hidden recurrence) are not exposed,
  as in the real API.
* ``authenticateUser`` accepts ``username`` or ``userName`` (the docs' samples disagree)
  and answers the token as plain text, or JSON-quoted when ``token_format = "quoted"``.
* A user without an administrative role can log in but gets 403 from the task methods.
"""

from __future__ import annotations

import bisect
import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.clock import Clock, system_clock
from bot.sandbox.base import Simulator, json_response

__all__ = ["PyramidSimulator"]


def _enum(declared: str) -> tuple[str, ...]:
    return tuple(word.strip() for word in declared.split(","))


# The simulator's own copy of the enums, in declaration order (the ordinals index them),
# written from shared/contracts.md §2.4 rather than taken from the connector: a simulator
# that shared the client's tables would agree with it by construction.
SEARCH_MATCH_TYPES = _enum("Contains, NotContains, Equals, StartsWith, EndsWith")
SCHEDULE_TYPES = _enum(
    "PRINTING, ETL, MACHINE_LEARNING, USER_GROUPS, LOGS_CLEAN, PROVISION, RECOMMENDATION, "
    "IMAGE_SNAPSHOT, ALERT, CLEAN_DB, UPGRADE_HIERARCHY_SECURITY, IMAGE_SNAPSHOT_NOW, "
    "PRINT_ETL, SUBSCRIPTION, SCHEDULES_CLEANER, CLEAN_PRESENTATION_DOCUMENTS, "
    "UPGRADE_TE_OUTPUTS, UPGRADE_CONTENT_SNAPSHOT_RESULTS, UPDATE_PRIVATE_ROLES, "
    "CLEAN_DUPLICATE_TAGS, UPDATE_SYSTEM_SCHEDULES, CERTIFICATES_READER, "
    "HOTBOX_TEMPLATES_PER_TENANT, UPGRADE_USER_PROFILES, TELEMETRY, COLLABORATION_EMAILS"
)
SCHEDULE_DATA_TYPES = _enum("ONCE, RECURRING, RUN_ONCE, ON_DEMAND")
SCHEDULE_STATUSES = _enum(
    "IDLE, STOPPED, FINISHED, DELETED, HOLD, CANCELED, DISABLED_AFTER_FAILURES"
)
TASK_STATUSES = _enum(
    "PENDING, FINISHED, FINISHED_RENDERING, ERROR, RUNNING, FINISHED_WITH_ERRORS, "
    "STOPPED_WITHOUT_RUNNING, DURING_LOCK, CANCELED, CANCELING, PENDING_FOR_EVALUATION, "
    "DURING_LOCK_EVALUATION, RUNNING_EVALUATION, STOPPED_AFTER_EVALUATION, "
    "EVALUATION_CANCELED, DELETED"
)

USERNAME_ENV = "MAINTBOT_SANDBOX_PYRAMID_USERNAME"
PASSWORD_ENV = "MAINTBOT_SANDBOX_PYRAMID_PASSWORD"
DEMO_USERNAME = "maintbot"
DEMO_PASSWORD = "pyramid-sandbox-password"
VIEWER_USERNAME = "viewer"
VIEWER_PASSWORD = "viewer-sandbox-password"

# Executions kept per schedule, newest last: at most this many, none older than the age
# (real servers keep what their retention settings say; the API pages nothing).
HISTORY = 30
HISTORY_AGE = timedelta(days=35)
# How late an execution starts after its trigger (queueing on the server).
START_JITTER_SECONDS = 45
# When a "moved" schedule's trigger moved to a later time of day, and by how much.
MOVED_DAYS_AGO = 2
MOVED_BY = timedelta(minutes=90)
_PAUSED = ("HOLD", "STOPPED")


@dataclass(frozen=True)
class _Template:
    name: str
    type: str
    data_type: str
    status: str
    period_hours: float
    duration_minutes: float
    start_days: float  # startDate relative to the simulator's start
    end_days: float | None = None
    special: str = ""
    # "": a fixed period; "irregular": triggered by events, 1 to 9 hours apart; "moved":
    # its time of day moved later MOVED_DAYS_AGO days ago (a schedule someone edited).
    pattern: str = ""


# Thirty schedules per unit of scale: most active, some suspended by someone else, two
# running now, and the odd ones that must not be reported (future, expired, finished,
# deleted, disabled, on demand).
_TEMPLATES = (
    _Template("Sales dashboard refresh", "ETL", "RECURRING", "IDLE", 1, 12, -90),
    _Template("Finance cube rebuild", "ETL", "RECURRING", "IDLE", 24, 95, -200, 365),
    _Template("Weekly KPI pack", "PRINTING", "RECURRING", "IDLE", 168, 25, -60),
    _Template("Inventory model load", "ETL", "RECURRING", "IDLE", 24, 180, -50, None, "running"),
    _Template(
        "Customer churn scoring",
        "MACHINE_LEARNING",
        "RECURRING",
        "IDLE",
        24,
        150,
        -50,
        None,
        "running-no-counters",
    ),
    _Template("Executive briefing mail", "SUBSCRIPTION", "RECURRING", "IDLE", 24, 6, -30),
    _Template("Stock level alert", "ALERT", "RECURRING", "IDLE", 1, 2, -30, None, "", "irregular"),
    _Template("Marketing mart sync", "ETL", "RECURRING", "HOLD", 4, 40, -120, None, "held"),
    _Template(
        "HR headcount export", "PRINT_ETL", "RECURRING", "STOPPED", 24, 15, -70, None, "held"
    ),
    _Template("Year-end close load", "ETL", "ONCE", "IDLE", 0, 200, 30),
    _Template("Logistics cube", "ETL", "RECURRING", "IDLE", 6, 50, -400, -10),
    _Template("Migration one-off", "ETL", "ONCE", "FINISHED", 0, 45, -20, None, "finished"),
    _Template("Old sales report", "PRINTING", "RECURRING", "DELETED", 24, 10, -300, None, "gone"),
    _Template(
        "Supplier feed", "ETL", "RECURRING", "DISABLED_AFTER_FAILURES", 12, 5, -40, None, "failing"
    ),
    _Template("Ad-hoc extract", "ETL", "ON_DEMAND", "IDLE", 0, 30, -15),
    _Template("Snapshot images", "IMAGE_SNAPSHOT", "RUN_ONCE", "IDLE", 0, 3, -5),
    _Template("Regional sales mail", "SUBSCRIPTION", "RECURRING", "IDLE", 24, 8, -100),
    _Template("Warehouse nightly load", "ETL", "RECURRING", "IDLE", 24, 120, -365),
    _Template("Budget vs actual", "PRINTING", "RECURRING", "HOLD", 24, 20, -80, None, "held"),
    _Template("Pipeline alerts", "ALERT", "RECURRING", "IDLE", 1, 3, -25),
    _Template("Procurement mart", "ETL", "RECURRING", "IDLE", 12, 35, -150),
    _Template("Board pack", "PRINTING", "RECURRING", "IDLE", 168, 30, -200),
    _Template("Clickstream load", "ETL", "RECURRING", "IDLE", 2, 20, -45),
    _Template("Forecast model retrain", "MACHINE_LEARNING", "RECURRING", "IDLE", 168, 240, -90),
    _Template(
        "Service desk digest", "SUBSCRIPTION", "RECURRING", "IDLE", 24, 5, -60, None, "", "moved"
    ),
    _Template("Partner data import", "ETL", "ONCE", "IDLE", 0, 60, 1 / 48, 2),
    _Template("Ops cube refresh", "ETL", "RECURRING", "HOLD", 6, 30, -70, None, "held"),
    _Template("Quality alerts", "ALERT", "RECURRING", "IDLE", 4, 4, -35, None, "", "irregular"),
    _Template("Treasury positions", "ETL", "RECURRING", "IDLE", 1, 8, -20),
    _Template("Log cleanup", "LOGS_CLEAN", "RECURRING", "IDLE", 24, 10, -400),
)


@dataclass
class _Schedule:
    id: str
    name: str
    type: str
    data_type: str
    created: datetime
    start: datetime
    end: datetime | None
    first_fire: datetime
    period: timedelta
    duration: timedelta
    log: list[tuple[datetime, str]]
    style: int  # 0: names; 1: enum ordinals; 2: string counters, optional fields left out
    special: str
    item_id: str
    seed: str
    pattern: str = ""
    moved_at: datetime | None = None
    removed: bool = False
    moved_by: timedelta = MOVED_BY
    # A wall-clock schedule: fires daily at ``wall`` in ``zone`` (first_fire's day first).
    wall: time | None = None
    zone: str | None = None
    # What its task items say as ``timeZoneId`` (``None``: no items, as an older server).
    zone_id: Any = None

    def record(self, at: datetime, status: str) -> None:
        """Add a status change in time order: the seeded log holds future-dated entries
        (e.g. a FINISHED at the end of a one-off run), and ``status_at`` stops at the first
        entry after the moment asked about."""
        bisect.insort(self.log, (at, status), key=lambda entry: entry[0])

    def status_at(self, moment: datetime) -> str:
        status = self.log[0][1]
        for at, value in self.log:
            if at > moment:
                break
            status = value
        return status

    def jitter(self, k: int) -> float:
        return random.Random(f"{self.seed}:{k}").random()

    def run_length(self, k: int) -> timedelta:
        return self.duration * (0.6 + 0.8 * self.jitter(k))

    def lateness(self, k: int) -> timedelta:
        """How long after its trigger execution ``k`` started (the two schedules meant to
        be running now started exactly on time, for tests that say when)."""
        if self.special.startswith("running"):
            return timedelta(0)
        return timedelta(seconds=int(self.jitter(-k - 1) * START_JITTER_SECONDS))

    def triggers(self, limit: datetime) -> list[tuple[int, datetime]]:
        """(k, instant) of the triggers up to ``limit`` that the history still keeps."""
        oldest = limit - HISTORY_AGE
        if self.pattern == "irregular":
            fires, k, at = [], 0, self.first_fire
            while at <= limit:
                if at >= oldest:
                    fires.append((k, at))
                k += 1
                at += timedelta(minutes=60 + int(self.jitter(10_000 + k) * 480))
            return fires[-HISTORY:]
        if self.wall is not None:
            return self._wall_triggers(limit)[-HISTORY:]
        last = int((limit - self.first_fire) / self.period)
        fires = []
        for k in range(max(0, last - HISTORY + 1), last + 1):
            at = self.first_fire + k * self.period
            if self.moved_at is not None and at >= self.moved_at:
                at += self.moved_by
                if at > limit:
                    continue
            if at >= oldest:
                fires.append((k, at))
        return fires

    def _wall_triggers(self, limit: datetime) -> list[tuple[int, datetime]]:
        assert self.wall is not None
        assert self.zone is not None
        zone = ZoneInfo(self.zone)
        first_day = self.first_fire.astimezone(zone).date()
        day = max(first_day, (limit - HISTORY_AGE).astimezone(zone).date())
        # A day past the limit's own: a trigger moved earlier may still fall before it.
        last_day = limit.astimezone(zone).date() + timedelta(days=1)
        fires = []
        while day <= last_day:
            at = datetime.combine(day, self.wall, tzinfo=zone).astimezone(UTC)
            if self.moved_at is not None and at >= self.moved_at:
                at += self.moved_by
            if limit - HISTORY_AGE <= at <= limit:
                fires.append(((day - first_day).days, at))
            day += timedelta(days=1)
        return fires


@dataclass(frozen=True)
class _Execution:
    id: str
    k: int
    start: datetime
    end: datetime | None  # None while running
    outcome: str  # RUNNING, FINISHED, ERROR, STOPPED_WITHOUT_RUNNING


@dataclass(frozen=True)
class _User:
    password: str
    admin: bool


def _matches(match_type: str, name: str, value: str) -> bool:
    if match_type == "NotContains":
        return value not in name
    if match_type == "Equals":
        return name == value
    if match_type == "StartsWith":
        return name.startswith(value)
    if match_type == "EndsWith":
        return name.endswith(value)
    return value in name


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class PyramidSimulator(Simulator):
    vendor: ClassVar[str] = "pyramid"
    # Undocumented for the real server; long enough that the connector's own 10-minute
    # cache, not the server, decides when it logs in again.
    token_lifetime: ClassVar[timedelta] = timedelta(minutes=30)

    def __init__(
        self,
        *,
        clock: Clock = system_clock,
        scale: int = 1,
        seed: int = 7,
        schedules: int | None = None,
    ) -> None:
        super().__init__(clock=clock, scale=scale, seed=seed)
        self.users: dict[str, _User] = {
            DEMO_USERNAME: _User(DEMO_PASSWORD, admin=True),
            VIEWER_USERNAME: _User(VIEWER_PASSWORD, admin=False),
        }
        self.token_format = "plain"  # or "quoted": the token as a JSON string
        # schedule id → errorMessage: the next suspend/resume of it answers success=false.
        self.refuse_next: dict[str, str] = {}
        self._token_users: dict[str, str] = {}
        count = schedules if schedules is not None else len(_TEMPLATES) * self.scale
        self.schedules: list[_Schedule] = self._build(count)

    # -- sample data ------------------------------------------------------------------------
    def _build(self, count: int) -> list[_Schedule]:
        anchor = self.clock().astimezone(UTC).replace(second=0, microsecond=0)
        result = []
        for i in range(count):
            template = _TEMPLATES[i % len(_TEMPLATES)]
            copy = i // len(_TEMPLATES)
            rng = random.Random(f"{self.seed}:pyramid:{i}")
            schedule_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            period = timedelta(hours=template.period_hours)
            duration = timedelta(minutes=template.duration_minutes)
            start = anchor + timedelta(days=template.start_days)
            if template.special.startswith("running"):
                # The latest trigger fired 25 minutes ago and its run lasts well over an hour.
                first = anchor - timedelta(minutes=25) - 40 * period
                start = first
            elif period:
                first = start + timedelta(minutes=rng.randrange(int(period.total_seconds() // 60)))
                # Keep every other schedule idle right now, so "running now" stays the two
                # schedules meant to be running rather than whatever the dice gave.
                busy = duration * 1.4 + timedelta(minutes=5)
                since = (anchor - first) % period
                if first < anchor and since < busy:
                    first -= busy - since
            else:
                first = start
            end = None if template.end_days is None else anchor + timedelta(days=template.end_days)
            created = start - timedelta(days=3)
            log = [(created, "IDLE")]
            if template.special == "held":
                log.append((anchor - timedelta(days=2, hours=i % 5), template.status))
            elif template.special == "finished":
                log.append((first + duration * 1.5, "FINISHED"))
            elif template.special == "gone":
                log.append((anchor - timedelta(days=5), "DELETED"))
            elif template.special == "failing":
                log.append((anchor - timedelta(days=3), "DISABLED_AFTER_FAILURES"))
            if template.pattern == "irregular":
                first = anchor - timedelta(days=3, minutes=rng.randrange(600))
            result.append(
                _Schedule(
                    id=schedule_id,
                    name=template.name if copy == 0 else f"{template.name} #{copy + 1}",
                    type=template.type,
                    data_type=template.data_type,
                    created=created,
                    start=start,
                    end=end,
                    first_fire=first,
                    period=period,
                    duration=duration,
                    log=log,
                    style=i % 3,
                    special=template.special,
                    item_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    seed=f"{self.seed}:{schedule_id}",
                    pattern=template.pattern,
                    moved_at=anchor - timedelta(days=MOVED_DAYS_AGO)
                    if template.pattern == "moved"
                    else None,
                )
            )
        return result

    def _executions(self, schedule: _Schedule, now: datetime) -> list[_Execution]:
        if schedule.data_type == "ON_DEMAND" or now < schedule.first_fire:
            return []
        limit = now if schedule.end is None else min(now, schedule.end)
        if schedule.data_type in ("ONCE", "RUN_ONCE") or not schedule.period:
            fires = [(0, schedule.first_fire)] if schedule.first_fire <= limit else []
        else:
            fires = schedule.triggers(limit)
        executions = []
        for k, trigger in fires:
            status = schedule.status_at(trigger)
            ident = f"{schedule.id}x{k}"
            if status in _PAUSED:
                # A trigger that came due while suspended is recorded at its own time.
                executions.append(_Execution(ident, k, trigger, trigger, "STOPPED_WITHOUT_RUNNING"))
            elif status == "IDLE":
                at = trigger + schedule.lateness(k)
                if at > now:
                    continue  # triggered, not started yet
                end = at + schedule.run_length(k)
                if end > now:
                    executions.append(_Execution(ident, k, at, None, "RUNNING"))
                else:
                    failed = schedule.special == "failing" or schedule.jitter(k) > 0.93
                    executions.append(
                        _Execution(ident, k, at, end, "ERROR" if failed else "FINISHED")
                    )
        return executions

    # -- helpers for tests and scripts ------------------------------------------------------
    def add_daily(
        self,
        name: str,
        at: time,
        zone: str,
        *,
        since: timedelta = timedelta(days=20),
        zone_id: Any = "",
    ) -> _Schedule:
        """A RECURRING ETL schedule firing every day at ``at`` in ``zone`` (a wall clock),
        created ``since`` ago; its executions name ``zone`` as their ``timeZoneId``, or
        ``zone_id`` when given (``None``: no task items at all; anything else as it is, for
        the answers a connector must survive)."""
        now = self.clock()
        rng = random.Random(f"{self.seed}:pyramid:daily:{name}")
        schedule_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        created = now - since - timedelta(days=1)
        schedule = _Schedule(
            id=schedule_id,
            name=name,
            type="ETL",
            data_type="RECURRING",
            created=created,
            start=created,
            end=None,
            first_fire=now - since,
            period=timedelta(days=1),
            duration=timedelta(minutes=20),
            log=[(created, "IDLE")],
            style=0,
            special="",
            item_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            seed=f"{self.seed}:{schedule_id}",
            wall=at,
            zone=zone,
            zone_id=zone if zone_id == "" else zone_id,
        )
        with self._lock:
            self.schedules.append(schedule)
        return schedule

    def retime(self, schedule_id: str, by: timedelta, *, at: datetime | None = None) -> None:
        """Someone moves the schedule's trigger ``by`` later from ``at`` on (default: now),
        as in Pyramid's UI; an ``at`` in the past rewrites the history kept since."""
        with self._lock:
            schedule = self._get(schedule_id)
            assert schedule is not None
            schedule.moved_at, schedule.moved_by = at or self.clock(), by

    def by_name(self, name: str) -> _Schedule:
        return next(s for s in self.schedules if s.name == name)

    def status_of(self, schedule_id: str) -> str:
        with self._lock:
            schedule = self._get(schedule_id)
            assert schedule is not None
            return schedule.status_at(self.clock())

    def set_status(self, schedule_id: str, status: str) -> None:
        """Change a schedule as someone using Pyramid's UI would."""
        with self._lock:
            schedule = self._get(schedule_id)
            assert schedule is not None
            schedule.record(self.clock(), status)

    def remove(self, schedule_id: str) -> None:
        """Make a schedule disappear altogether (404 from then on)."""
        with self._lock:
            schedule = self._get(schedule_id)
            assert schedule is not None
            schedule.removed = True

    def _get(self, schedule_id: str) -> _Schedule | None:
        for schedule in self.schedules:
            if schedule.id == schedule_id and not schedule.removed:
                return schedule
        return None

    # -- Simulator interface ----------------------------------------------------------------
    def add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/API3/{section}/{method}", self._dispatch)

    def state(self) -> dict[str, Any]:
        now = self.clock()
        with self._lock:
            return {
                "tasks": [
                    {
                        "id": s.id,
                        "name": s.name,
                        "type": s.type,
                        "dataType": s.data_type,
                        "state": s.status_at(now),
                        "paused": s.status_at(now) in _PAUSED,
                    }
                    for s in self.schedules
                    if not s.removed
                ]
            }

    def config_entry(self) -> dict[str, Any]:
        return {
            "vendor": "pyramid",
            "base_url": self.base_url,
            "username_env": USERNAME_ENV,
            "password_env": PASSWORD_ENV,
        }

    def credentials(self) -> dict[str, str]:
        return {USERNAME_ENV: DEMO_USERNAME, PASSWORD_ENV: DEMO_PASSWORD}

    def error_body(self, status: int, message: str) -> web.Response:
        # Pyramid answers errors as plain text, not JSON (contracts §2.5).
        return web.Response(text=message, status=status, content_type="text/plain")

    # -- HTTP -------------------------------------------------------------------------------
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        if request.method != "POST":
            return self.error_body(405, "Method Not Allowed: the REST API accepts POST only")
        section = request.match_info["section"]
        method = request.match_info["method"]
        raw = await request.read()
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            return self.error_body(400, "The request body is not valid JSON")
        if (section, method) == ("authentication", "authenticateUser"):
            return self._authenticate(body)
        handler = {
            "findSchedule": self._find_schedule,
            "getExecutions": self._get_executions,
            "getScheduleExecutionStatus": self._execution_status,
            "suspendSchedule": self._suspend,
            "resumeSchedule": self._resume,
        }.get(method)
        if section != "tasks" or handler is None:
            return self.error_body(404, f"Unknown method {section}/{method}")
        token = request.headers.get("paToken")
        user = self._token_users.get(token or "") if self.token_valid(token) else None
        if user is None:
            return self.error_body(401, "Invalid or expired token")
        if not self.users[user].admin:
            return self.error_body(
                403, f"Access denied: user '{user}' has no administrative role for the REST API"
            )
        with self._lock:
            return handler(body)

    def _authenticate(self, body: Any) -> web.Response:
        if not isinstance(body, dict):
            return self.error_body(400, "Expected UserCredentials {username, password}")
        # The docs' samples send userName, the model username: accept either.
        username = body.get("username", body.get("userName"))
        password = body.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            return self.error_body(400, "username and password are required")
        if "domain" in body and not isinstance(body["domain"], str):
            return self.error_body(400, "domain must be a string")
        user = self.users.get(username)
        if user is None or user.password != password:
            return self.error_body(401, "Invalid username or password")
        token, _ = self.issue_token()
        with self._lock:
            self._token_users[token] = username
        if self.token_format == "quoted":
            return json_response(token)
        return web.Response(text=token, content_type="text/plain")

    def _enum(self, schedule: _Schedule, value: str, names: tuple[str, ...]) -> str | int:
        return names.index(value) if schedule.style == 1 else value

    def _view(self, schedule: _Schedule, now: datetime) -> dict[str, Any]:
        view: dict[str, Any] = {
            "scheduleId": schedule.id,
            "name": schedule.name,
            "description": f"{schedule.name} ({schedule.data_type.lower()})",
            "type": self._enum(schedule, schedule.type, SCHEDULE_TYPES),
            "createdDate": _iso(schedule.created),
            "createdBy": "admin",
            "startDate": _iso(schedule.start),
            "endDate": _iso(schedule.end) if schedule.end else None,
            "scheduleDataType": self._enum(schedule, schedule.data_type, SCHEDULE_DATA_TYPES),
            "status": self._enum(schedule, schedule.status_at(now), SCHEDULE_STATUSES),
            "scheduleItemId": schedule.item_id,
            "scheduleItemName": f"/Shared/{schedule.name}",
            "tenantId": "00000000-0000-0000-0000-000000000001",
        }
        if schedule.style == 2:
            del view["description"]
            if schedule.end is None:
                del view["endDate"]
        return view

    @staticmethod
    def _enum_arg(value: Any, names: tuple[str, ...]) -> str | None:
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return names[value] if 0 <= value < len(names) else None
        if isinstance(value, str):
            return value if value in names else None
        return None

    def _find_schedule(self, body: Any) -> web.Response:
        criteria = body.get("searchCriteria") if isinstance(body, dict) else None
        if not isinstance(criteria, dict) or not isinstance(criteria.get("searchValue"), str):
            return self.error_body(
                400, "ScheduleSearchCriteria.searchCriteria.searchValue (string) is required"
            )
        match_type = "Contains"
        if criteria.get("searchMatchType") is not None:
            parsed = self._enum_arg(criteria["searchMatchType"], SEARCH_MATCH_TYPES)
            if parsed is None:
                return self.error_body(400, "Invalid searchMatchType")
            match_type = parsed
        schedule_type = None
        if body.get("scheduleType") is not None:
            schedule_type = self._enum_arg(body["scheduleType"], SCHEDULE_TYPES)
            if schedule_type is None:
                return self.error_body(400, "Invalid scheduleType")
        value = criteria["searchValue"].lower()
        now = self.clock()
        return json_response(
            [
                self._view(s, now)
                for s in self.schedules
                if not s.removed
                and _matches(match_type, s.name.lower(), value)
                and (schedule_type is None or s.type == schedule_type)
            ]
        )

    def _id_arg(self, body: Any, what: str) -> str | web.Response:
        if not isinstance(body, str) or not body:
            return self.error_body(400, f'Expected the {what} as a JSON string, e.g. "abc"')
        return body

    def _get_executions(self, body: Any) -> web.Response:
        schedule_id = self._id_arg(body, "scheduleId")
        if isinstance(schedule_id, web.Response):
            return schedule_id
        schedule = self._get(schedule_id)
        if schedule is None:
            return self.error_body(404, f"Schedule {schedule_id} was not found")
        return json_response(
            [self._execution_view(schedule, e) for e in self._executions(schedule, self.clock())]
        )

    def _execution_view(self, schedule: _Schedule, execution: _Execution) -> dict[str, Any]:
        counters = {
            "successCount": int(execution.outcome == "FINISHED"),
            "failedCount": int(execution.outcome == "ERROR"),
            "partialSuccessCount": 0,
            "canceledCount": 0,
            "pendingCount": 0,
            "runningCount": int(execution.outcome == "RUNNING"),
            "triggerStoppedCount": int(execution.outcome == "STOPPED_WITHOUT_RUNNING"),
        }
        view: dict[str, Any] = {
            "id": execution.id,
            "startDate": _iso(execution.start),
            "endDate": _iso(execution.end) if execution.end else None,
            "error": "Source database unreachable" if execution.outcome == "ERROR" else None,
            "items": [self._task_view(schedule, execution)] if schedule.zone_id is not None else [],
            "outputType": "None",
        }
        if schedule.special == "running-no-counters" and execution.outcome == "RUNNING":
            # Counters and end left out: only getScheduleExecutionStatus can tell.
            del view["endDate"]
            return view
        for key, count in counters.items():
            view[key] = str(count) if schedule.style == 2 else count
            view[key.replace("Count", "Pct")] = 100.0 * count
        return view

    @staticmethod
    def _task_view(schedule: _Schedule, execution: _Execution) -> dict[str, Any]:
        """One ``TaskViewData`` of an execution (contracts §2.4): the fields the real one
        carries that say when and in which zone it ran."""
        return {
            "id": f"{execution.id}t0",
            "scheduleId": schedule.id,
            "scheduleName": schedule.name,
            "scheduleItemId": schedule.item_id,
            "scheduleType": schedule.type,
            "status": execution.outcome,
            "startDate": _iso(execution.start),
            "endDate": _iso(execution.end) if execution.end else None,
            "createdDate": _iso(execution.start),
            "createdBy": "admin",
            "timeZoneId": schedule.zone_id,
        }

    def _execution_status(self, body: Any) -> web.Response:
        execution_id = self._id_arg(body, "executionId")
        if isinstance(execution_id, web.Response):
            return execution_id
        schedule_id, _, k = execution_id.rpartition("x")
        schedule = self._get(schedule_id)
        executions = self._executions(schedule, self.clock()) if schedule else []
        found = next((e for e in executions if str(e.k) == k), None)
        if schedule is None or found is None:
            return self.error_body(404, f"Execution {execution_id} was not found")
        return json_response({"status": self._enum(schedule, found.outcome, TASK_STATUSES)})

    def _modify(self, body: Any, allowed: tuple[str, ...], to: str, verb: str) -> web.Response:
        schedule_id = self._id_arg(body, "scheduleId")
        if isinstance(schedule_id, web.Response):
            return schedule_id
        schedule = self._get(schedule_id)
        if schedule is None:
            return self.error_body(404, f"Schedule {schedule_id} was not found")
        refusal = self.refuse_next.pop(schedule.id, None)
        now = self.clock()
        status = schedule.status_at(now)
        if refusal is None and status not in allowed:
            refusal = f"Schedule '{schedule.name}' cannot be {verb} in status {status}"
        if refusal is not None:
            return json_response({"success": False, "errorMessage": refusal, "modifiedList": []})
        schedule.record(now, to)
        return json_response(
            {
                "success": True,
                "errorMessage": None,
                "modifiedList": [{"id": schedule.id, "name": schedule.name}],
            }
        )

    def _suspend(self, body: Any) -> web.Response:
        return self._modify(body, ("IDLE",), "HOLD", "suspended")

    def _resume(self, body: Any) -> web.Response:
        return self._modify(body, _PAUSED, "IDLE", "resumed")
