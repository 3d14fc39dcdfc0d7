"""Pyramid Analytics connector (REST API 3.0, ``POST /API3/<section>/<method>``).

What the API gives and what it does not (contracts.md §2):

* Every call is a POST with a JSON body; the token from ``authenticateUser`` travels in the
  ``paToken`` header. Methods that take one id take it as a bare JSON string (``"abc"``),
  the way the generated 2023.12 client serialises it.
* ``findSchedule`` lists schedules, but no schedule carries a next-run time or a recurrence.
  So an active schedule whose active period overlaps the window is reported as a run at an
  unknown time (``Run.at is None``) with its past start times, from which the check
  predicts its runs where they show a pattern (:mod:`bot.predict`); one without a pattern
  becomes a ``may_fire`` conflict saying why.
* ``getExecutions`` gives a schedule's past and current executions: they say what is
  running now, how long runs usually take (p90 of ``startDate`` → ``endDate``) and when
  the trigger fired. One check reads them once, for both (:meth:`_sweep`).
* Pause is ``suspendSchedule``, resume is ``resumeSchedule``; both answer 200 with a
  ``ModifiedItemsResult`` whose ``success`` flag is the vendor's actual verdict.

Readings chosen where the contracts mark a fact INFERRED or a gap (each is covered by a test
in ``tests/test_pyramid.py``):

* Token lifetime is undocumented: the token is cached for :data:`TOKEN_CACHE_LIFETIME`
  (10 minutes, well under the 20-30 minute session timeouts web servers commonly use) and a
  401 still triggers one fresh login, so an earlier expiry costs one extra request.
* The token body may be a bare string or a JSON-quoted one: both are accepted.
* Enums may arrive as names or as ordinals in declaration order: both are parsed; requests
  send names, as the 2023.12 OpenAPI declares string enums.
* Which ``ScheduleStatus`` a suspended schedule shows is undocumented (``HOLD`` or
  ``STOPPED``): both count as paused. Neither fires, so reading either as paused can never
  hide a schedule that will run, and ``resumeSchedule`` is documented to resume "a paused or
  stopped schedule".
* Idempotency of suspend/resume is undocumented: the current state is read first and an
  already-suspended (or already-active) schedule is not sent the call again.
* Dates without an offset are taken as UTC; epoch numbers are accepted (ms when large).
  Any date outside the years 1970-2200 makes the answer malformed.
* Ids and counters may come as JSON numbers or digit strings (Java and .NET back ends
  serialise either way): both are read; any other type (an object, a list, ``true``, a
  fraction) makes the whole answer an error for this system naming the field, never a
  schedule silently read as something else.
* A ``scheduleDataType`` that is not one of the four declared values is read as one that may
  fire: only ``RUN_ONCE`` and ``ON_DEMAND`` are known to run only when someone asks.
* Executions whose only outcome is ``triggerStoppedCount``/``canceledCount`` are read as
  runs the trigger skipped (e.g. while suspended); they feed :meth:`skipped_runs` and are
  left out of durations.
* No rate limit is published: no fixed cap; concurrency adapts (bot/connectors/pacing.py).

Between checks (``cache_seconds``) almost nothing can be skipped: what is running now is
the newest execution of each schedule, and only ``getExecutions`` per schedule says it, so
``findSchedule`` (to know every schedule, a new one included) and one ``getExecutions`` per
schedule are read at every check; that is the floor the documented API allows. Only the
status of an execution that has ended (``getScheduleExecutionStatus``) is kept.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal, TypeVar

import httpx
from pydantic import BeforeValidator, ConfigDict, Field, RootModel

from bot.clock import Clock, epoch_instant, sane_instant
from bot.config import SchedulerConfig
from bot.conflicts import estimate_duration
from bot.connectors.base import (
    CachedTokenAuth,
    Connector,
    Setup,
    SkippedRun,
    VendorHttp,
    connector_factory,
    gather_bounded,
)
from bot.connectors.shapes import IdOrNumber, OptCount, StrictModel, url_id
from bot.errors import AuthError, ConnectorError, redact
from bot.model import Run, RunningNow, Task, TaskKind, TaskRef
from bot.zones import lookup_zone

__all__ = [
    "LOGIN_PATH",
    "PAUSED_STATUSES",
    "SCHEDULE_DATA_TYPES",
    "SCHEDULE_STATUSES",
    "SCHEDULE_TYPES",
    "SEARCH_MATCH_TYPES",
    "TASK_STATUSES",
    "TOKEN_CACHE_LIFETIME",
    "PyramidAuth",
    "PyramidConfig",
    "PyramidConnector",
    "enum_name",
    "from_config",
]


class PyramidConfig(SchedulerConfig):
    vendor: Literal["pyramid"]
    username_env: str
    password_env: str
    domain: str | None = None
    search_value: str = ""


log = logging.getLogger(__name__)
T = TypeVar("T")

LOGIN_PATH = "/API3/authentication/authenticateUser"
TASKS_PATH = "/API3/tasks/"
TOKEN_CACHE_LIFETIME = timedelta(minutes=10)
# How long one findSchedule serves a check's reads (see _shared_schedules).
LISTING_REUSE_SECONDS = 5.0
# Pyramid publishes no limit, so there is no fixed cap (rate_per_minute adds one). It is
# usually self-hosted and shares its server with interactive users, which is what the
# adaptive concurrency of bot/connectors/pacing.py is for: it backs off when answers slow.

# Enum declaration order from the 2023.12 model; ordinals index these tuples (INFERRED).
SCHEDULE_STATUSES = (
    "IDLE",
    "STOPPED",
    "FINISHED",
    "DELETED",
    "HOLD",
    "CANCELED",
    "DISABLED_AFTER_FAILURES",
)
SCHEDULE_DATA_TYPES = ("ONCE", "RECURRING", "RUN_ONCE", "ON_DEMAND")
SEARCH_MATCH_TYPES = ("Contains", "NotContains", "Equals", "StartsWith", "EndsWith")
TASK_STATUSES = (
    "PENDING",
    "FINISHED",
    "FINISHED_RENDERING",
    "ERROR",
    "RUNNING",
    "FINISHED_WITH_ERRORS",
    "STOPPED_WITHOUT_RUNNING",
    "DURING_LOCK",
    "CANCELED",
    "CANCELING",
    "PENDING_FOR_EVALUATION",
    "DURING_LOCK_EVALUATION",
    "RUNNING_EVALUATION",
    "STOPPED_AFTER_EVALUATION",
    "EVALUATION_CANCELED",
    "DELETED",
)
SCHEDULE_TYPES = (
    "PRINTING",
    "ETL",
    "MACHINE_LEARNING",
    "USER_GROUPS",
    "LOGS_CLEAN",
    "PROVISION",
    "RECOMMENDATION",
    "IMAGE_SNAPSHOT",
    "ALERT",
    "CLEAN_DB",
    "UPGRADE_HIERARCHY_SECURITY",
    "IMAGE_SNAPSHOT_NOW",
    "PRINT_ETL",
    "SUBSCRIPTION",
    "SCHEDULES_CLEANER",
    "CLEAN_PRESENTATION_DOCUMENTS",
    "UPGRADE_TE_OUTPUTS",
    "UPGRADE_CONTENT_SNAPSHOT_RESULTS",
    "UPDATE_PRIVATE_ROLES",
    "CLEAN_DUPLICATE_TAGS",
    "UPDATE_SYSTEM_SCHEDULES",
    "CERTIFICATES_READER",
    "HOTBOX_TEMPLATES_PER_TENANT",
    "UPGRADE_USER_PROFILES",
    "TELEMETRY",
    "COLLABORATION_EMAILS",
)

ACTIVE_STATUS = "IDLE"
PAUSED_STATUSES = frozenset({"HOLD", "STOPPED"})
# Statuses that neither fire nor count as paused: nothing to suspend, nothing to restore.
INERT_STATUSES = frozenset({"FINISHED", "CANCELED", "DISABLED_AFTER_FAILURES"})
# Data types that only run when someone asks; any other (even an unknown word) may fire.
ON_REQUEST_DATA_TYPES = frozenset({"RUN_ONCE", "ON_DEMAND"})
# Every TaskStatus that means "not finished yet": the evaluation and locking phases run
# before the task proper, CANCELING is still executing until it stops.
IN_PROGRESS_TASK_STATUSES = frozenset(
    {
        "PENDING",
        "RUNNING",
        "DURING_LOCK",
        "CANCELING",
        "PENDING_FOR_EVALUATION",
        "DURING_LOCK_EVALUATION",
        "RUNNING_EVALUATION",
    }
)

# Declared statuses an execution ends in: it never changes again.
FINAL_TASK_STATUSES = frozenset(TASK_STATUSES) - IN_PROGRESS_TASK_STATUSES

_ROLE_HINT = (
    "Pyramid lets only administrative users use the REST task methods (Enterprise Admin or "
    "Domain Admin; a Pro user only for their own content): give this user such a role"
)


def enum_name(value: Any, names: Sequence[str]) -> str | None:
    """An enum value as its declared name, whether it came as a name or an ordinal.

    An unrecognised value comes back as its text rather than failing the whole response,
    so callers can treat it conservatively instead of losing every schedule to one word.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        index = int(value)
        return names[index] if 0 <= index < len(names) else f"#{index}"
    if isinstance(value, str):
        by_upper = {n.upper(): n for n in names}
        return by_upper.get(value.strip().upper(), value.strip())
    return str(value)


_DATE = "expected an ISO 8601 date-time or epoch milliseconds"


def _instant(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, bool):
        raise ValueError(_DATE)
    elif isinstance(value, int | float) or (
        isinstance(value, str) and value.strip().isascii() and value.strip().isdigit()
    ):
        try:
            number = float(value)
        except OverflowError:
            raise ValueError(_DATE) from None
        # Epoch milliseconds are what Java back ends emit; seconds are accepted too.
        return epoch_instant(number / 1000 if number > 1e11 else number)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            # Value-free on purpose: the message may reach a user, vendor data should not.
            raise ValueError(_DATE) from None
    else:
        raise ValueError(_DATE)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # offset-less dates are read as UTC (INFERRED)
    return sane_instant(moment)


def _enum(names: Sequence[str]) -> BeforeValidator:
    def check(value: Any) -> str | None:
        # Names or ordinals (a documented reading); an object, a list, a boolean or a
        # fraction is neither, and reading it as text would invent a state.
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, str | int) or len(str(value)) > 64
        ):
            raise ValueError("expected an enum name or ordinal")
        return enum_name(value, names)

    return BeforeValidator(check)


OptInstant = Annotated[datetime | None, BeforeValidator(_instant)]


class _Model(StrictModel):
    pass


class _Schedule(_Model):
    schedule_id: IdOrNumber = Field(alias="scheduleId")
    name: str | None = None
    type: Annotated[str | None, _enum(SCHEDULE_TYPES)] = None
    start_date: OptInstant = Field(default=None, alias="startDate")
    end_date: OptInstant = Field(default=None, alias="endDate")
    data_type: Annotated[str | None, _enum(SCHEDULE_DATA_TYPES)] = Field(
        default=None, alias="scheduleDataType"
    )
    status: Annotated[str | None, _enum(SCHEDULE_STATUSES)] = None


class _Schedules(RootModel[list[_Schedule]]):
    model_config = ConfigDict(strict=True)


def _zone_text(value: Any) -> str | None:
    # Only predictions read the zone: a value of another type loses them their zone (the
    # configured one is used), not the whole answer its executions.
    return value if isinstance(value, str) and value.strip() else None


class _TaskView(_Model):
    time_zone_id: Annotated[str | None, BeforeValidator(_zone_text)] = Field(
        default=None, alias="timeZoneId"
    )


class _Execution(_Model):
    id: IdOrNumber
    start_date: OptInstant = Field(default=None, alias="startDate")
    end_date: OptInstant = Field(default=None, alias="endDate")
    success: OptCount = Field(default=None, alias="successCount")
    failed: OptCount = Field(default=None, alias="failedCount")
    partial: OptCount = Field(default=None, alias="partialSuccessCount")
    canceled: OptCount = Field(default=None, alias="canceledCount")
    pending: OptCount = Field(default=None, alias="pendingCount")
    running: OptCount = Field(default=None, alias="runningCount")
    trigger_stopped: OptCount = Field(default=None, alias="triggerStoppedCount")
    items: list[_TaskView] | None = None

    @property
    def has_counters(self) -> bool:
        counters = (
            self.success,
            self.failed,
            self.partial,
            self.canceled,
            self.pending,
            self.running,
            self.trigger_stopped,
        )
        return any(v is not None for v in counters)

    @property
    def in_progress(self) -> bool:
        return bool(self.running) or bool(self.pending)

    @property
    def skipped(self) -> bool:
        ran = (self.success or 0) + (self.failed or 0) + (self.partial or 0)
        return ran == 0 and bool(self.trigger_stopped or self.canceled) and not self.in_progress


class _Executions(RootModel[list[_Execution]]):
    model_config = ConfigDict(strict=True)


class _TaskStatus(_Model):
    status: Annotated[str | None, _enum(TASK_STATUSES)] = None


class _Modified(_Model):
    success: bool
    error_message: str | None = Field(default=None, alias="errorMessage")


class PyramidAuth(CachedTokenAuth):
    """``authenticateUser`` → token string, sent as ``paToken``."""

    def __init__(
        self, clock: Clock, system: str, username: str, password: str, domain: str | None
    ) -> None:
        super().__init__(clock, (password,))
        self._system = system
        self._username = username
        self._password = password
        self._domain = domain

    async def login(self, http: VendorHttp) -> tuple[str, timedelta]:
        body = {"username": self._username, "password": self._password}
        if self._domain:
            body["domain"] = self._domain
        response = await http.send(
            "POST",
            LOGIN_PATH,
            json_body=body,
            authenticated=False,
            what="Pyramid login (authenticateUser)",
            headers={"Accept": "text/plain, application/json"},
        )
        token = self._token_from(response.text)
        if token is None:
            raise AuthError(
                self._system,
                "Pyramid's authenticateUser answered without a token; check the username, "
                "password and domain named in maintbot.toml",
            )
        return token, TOKEN_CACHE_LIFETIME

    @staticmethod
    def _token_from(text: str) -> str | None:
        text = text.strip()
        if text.startswith('"'):
            try:
                value = json.loads(text)
            except ValueError:
                return None
            text = value.strip() if isinstance(value, str) else ""
        # A token is one opaque word; an HTML page, a JSON object or prose is not one.
        if not text or any(c.isspace() for c in text) or text[0] in "<{[":
            return None
        return text

    def header(self, token: str) -> dict[str, str]:
        return {"paToken": token}


class PyramidConnector(Connector):
    """Schedules of one Pyramid server, as :class:`~bot.model.TaskKind.SCHEDULE` tasks."""

    vendor: ClassVar[str] = "pyramid"
    label: ClassVar[str] = "Pyramid Analytics"
    reports_skipped_runs: ClassVar[bool] = True

    def __init__(
        self,
        system: str,
        http: VendorHttp,
        clock: Clock,
        *,
        search_value: str = "",
        max_concurrency: int = 10,
    ) -> None:
        super().__init__(system, http, clock)
        self.search_value = search_value
        self.max_concurrency = max_concurrency
        self._inflight: asyncio.Task[list[tuple[_Schedule, list[_Execution] | None]]] | None = None
        self._listing: asyncio.Task[list[_Schedule]] | None = None
        self._listed_at = 0.0  # monotonic time the listing was read

    # -- plumbing ---------------------------------------------------------------------------
    async def _call(self, method: str, body: Any, *, write: bool = False) -> httpx.Response:
        try:
            return await self.http.send(
                "POST",
                TASKS_PATH + method,
                json_body=body,
                what=f"Pyramid {method}",
                # A retried suspend that had in fact landed would be refused as "already
                # suspended", so writes are not re-sent after a timeout.
                idempotent=not write,
            )
        except AuthError as exc:
            if exc.status == 403:
                raise AuthError(self.system, f"{exc.detail}; {_ROLE_HINT}", status=403) from None
            raise

    def _secrets(self) -> tuple[str, ...]:
        return self.http.auth.secrets if self.http.auth else ()

    async def _schedules(self) -> list[_Schedule]:
        body = {"searchCriteria": {"searchValue": self.search_value, "searchMatchType": "Contains"}}
        response = await self._call("findSchedule", body)
        return self.http.parse(response, _Schedules, "Pyramid findSchedule").root

    async def _executions(self, schedule_id: str) -> list[_Execution] | None:
        """The schedule's executions, oldest first; ``None`` if the schedule vanished."""
        try:
            response = await self._call("getExecutions", schedule_id)
        except ConnectorError as exc:
            if exc.status == 404:
                return None
            raise
        executions = self.http.parse(response, _Executions, "Pyramid getExecutions").root
        far_past = datetime.min.replace(tzinfo=UTC)
        return sorted(executions, key=lambda e: e.start_date or far_past)

    async def _shared_schedules(self, *, reuse: bool = False) -> list[_Schedule]:
        """The listing for a check's reads: ``upcoming_runs`` and ``running_now`` run
        concurrently and need the same 1.4 MB at scale, so the second joins the first's
        findSchedule; ``describe`` right after them (``reuse``) takes the finished one if
        younger than :data:`LISTING_REUSE_SECONDS`. Nothing of what is running comes from
        it (that is getExecutions, always read); read_state, pause and resume never use
        it, and a pause or resume made here drops it."""
        listing = self._listing
        fresh = reuse and time.monotonic() - self._listed_at < LISTING_REUSE_SECONDS
        failed = (
            listing is not None
            and listing.done()
            and (listing.cancelled() or listing.exception() is not None)
        )
        if listing is None or failed or (listing.done() and not fresh):
            listing = self._listing = asyncio.ensure_future(self._read_listing())
        # Not shielded: when the check's deadline cancels its callers, the read stops too.
        return await listing

    async def _read_listing(self) -> list[_Schedule]:
        schedules = await self._schedules()
        self._listed_at = time.monotonic()
        return schedules

    async def _execution_status(self, execution_id: str) -> str | None:
        # An execution that reached an end state never leaves it, so its answer is kept
        # (size-bounded) and not asked for again at the next check; one still in progress,
        # or in a state not declared, is asked every time.
        key = ("execution status", execution_id)
        if (known := self.cache.get(key)) is not None:
            return str(known)
        response = await self._call("getScheduleExecutionStatus", execution_id)
        status = self.http.parse(response, _TaskStatus, "Pyramid getScheduleExecutionStatus").status
        if status in FINAL_TASK_STATUSES:
            self.cache.keep(key, status)
        return status

    async def _modify(self, method: str, schedule: _Schedule) -> None:
        self._listing = None  # what it said about this schedule's state is about to change
        response = await self._call(method, schedule.schedule_id, write=True)
        result = self.http.parse(response, _Modified, f"Pyramid {method}")
        if not result.success:
            reason = redact(result.error_message or "no reason given", *self._secrets())
            raise ConnectorError(
                self.system,
                f"Pyramid {method} refused schedule '{schedule.name or schedule.schedule_id}' "
                f"(ModifiedItemsResult.success=false): {reason}; its state is unchanged",
            )

    def _task(self, schedule: _Schedule) -> Task:
        return Task(
            system=self.system,
            kind=TaskKind.SCHEDULE,
            id=schedule.schedule_id,
            name=schedule.name or schedule.schedule_id,
            paused=schedule.status in PAUSED_STATUSES,
            vendor_state=schedule.status,
            # ScheduleViewObject's ``type`` is Pyramid's one grouping of schedules; it has
            # no folder (``scheduleItemName`` names the content, not where it is filed).
            groups=(("schedule type", schedule.type),) if schedule.type else (),
        )

    async def _find(self, ref: TaskRef) -> _Schedule:
        # Not a URL here (ids travel in the body), but an id no answer could hold is refused
        # before a request is spent on it, and never quoted back at length.
        url_id(self.system, "schedule", ref.id)
        for schedule in await self._schedules():
            if schedule.schedule_id == ref.id and schedule.status != "DELETED":
                return schedule
        raise ConnectorError(
            self.system,
            f"Pyramid schedule {ref.id} was not found (deleted, or outside search_value "
            f"'{self.search_value}')",
            status=404,
        )

    @staticmethod
    def _durations(executions: Sequence[_Execution]) -> timedelta | None:
        return estimate_duration(
            e.end_date - e.start_date
            for e in executions
            if e.start_date is not None and e.end_date is not None and not e.skipped
        )

    # -- the Connector interface ------------------------------------------------------------
    async def list_tasks(self) -> list[Task]:
        return [self._task(s) for s in await self._shared_schedules() if s.status != "DELETED"]

    async def describe(self, refs: Sequence[TaskRef]) -> list[Task]:
        wanted = {r.key for r in refs}
        schedules = await self._shared_schedules(reuse=True)
        return [
            task
            for task in (self._task(s) for s in schedules if s.status != "DELETED")
            if task.ref.key in wanted
        ]

    async def upcoming_runs(
        self, start: datetime, end: datetime, *, durations_before: datetime | None = None
    ) -> list[Run]:
        """A run at an unknown time for every triggered schedule active during the window,
        with the schedule's past trigger times (``Run.history``: executions, skipped ones
        included, as each marks a time the trigger came due) and usual duration, from which
        the check predicts its runs.

        Suspended schedules are included too (their conflicts carry ``paused``), so the
        report can list what someone already paused apart from what still needs pausing.
        """
        runs = []
        for schedule, executions in await self._sweep():
            status = schedule.status
            if status in INERT_STATUSES:
                continue
            if schedule.data_type in ON_REQUEST_DATA_TYPES:
                continue  # they only run when someone asks
            if schedule.start_date is not None and schedule.start_date >= end:
                continue
            if schedule.end_date is not None and schedule.end_date <= start:
                continue
            # A schedule that runs once has no pattern to learn, and its one start is past.
            recurring = schedule.data_type not in ("ONCE",)
            zone, zone_note = self._zone(schedule, executions or ())
            runs.append(
                Run(
                    task=self.ref(TaskKind.SCHEDULE, schedule.schedule_id),
                    at=None,
                    note=self._note(schedule) + zone_note,
                    zone=zone,
                    expected_duration=self._durations(executions or ()),
                    history=tuple(
                        e.start_date for e in executions or () if e.start_date is not None
                    )
                    if recurring
                    else (),
                )
            )
        return runs

    async def _sweep(self) -> list[tuple[_Schedule, list[_Execution] | None]]:
        """Every schedule that is not deleted, with its executions (``None``: it vanished
        between the list and its executions), read once for both halves of a check:
        upcoming_runs and running_now run concurrently and the second joins the first's
        reads. A finished sweep is never reused, so each check sees Pyramid as it is now.
        Not shielded: when the check's deadline cancels the callers, the reads stop too."""
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.ensure_future(self._read_sweep())
        return await self._inflight

    async def _read_sweep(self) -> list[tuple[_Schedule, list[_Execution] | None]]:
        # The listing is the one describe() reuses right after (_shared_schedules).
        schedules = [s for s in await self._shared_schedules() if s.status != "DELETED"]
        executions = await gather_bounded(
            self.max_concurrency, (self._executions(s.schedule_id) for s in schedules)
        )
        return list(zip(schedules, executions, strict=True))

    def _zone(
        self, schedule: _Schedule, executions: Sequence[_Execution]
    ) -> tuple[str | None, str]:
        """The zone the schedule's newest execution names (``TaskViewData.timeZoneId``), as
        an IANA name, and a note when it names one maintbot does not know (then ``None``:
        predictions use the configured timezone). A schedule whose zone was changed
        predicts in its new zone: the newest execution that names one decides."""
        for execution in reversed(executions):
            named = next((i.time_zone_id for i in execution.items or () if i.time_zone_id), None)
            if named is None:
                continue
            found = lookup_zone(named)
            if found is not None:
                return found[1], ""
            log.warning(
                "%s: schedule %s names the zone %r, which is not an IANA zone; its run "
                "times are predicted in the configured timezone",
                self.system,
                schedule.schedule_id,
                named[:64],
            )
            return None, (
                f"; Pyramid names its zone {named[:64]!r}, not a zone maintbot knows, so "
                "predictions use the configured timezone"
            )
        return None, ""

    @staticmethod
    def _note(schedule: _Schedule) -> str:
        def day(moment: datetime | None, default: str) -> str:
            return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else default

        period = (
            f"active from {day(schedule.start_date, 'an unknown date')} "
            f"to {day(schedule.end_date, 'no end date')}"
        )
        data_type = schedule.data_type or "(no scheduleDataType)"
        note = f"Pyramid's API exposes no next-run time; the {data_type} schedule is "
        if schedule.status in PAUSED_STATUSES:
            return note + f"{period} but suspended ({schedule.status})"
        if schedule.status != ACTIVE_STATUS:
            return note + f"{period}; unrecognised status {schedule.status}, assumed active"
        return note + period

    async def running_now(self) -> list[RunningNow]:
        swept = await self._sweep()
        found = await gather_bounded(self.max_concurrency, (self._running(s, e) for s, e in swept))
        return [r for r in found if r is not None]

    async def _running(
        self, schedule: _Schedule, executions: list[_Execution] | None
    ) -> RunningNow | None:
        if not executions:
            return None
        latest = executions[-1]
        if latest.in_progress:
            running = True
        elif latest.end_date is None and not latest.has_counters:
            # An execution without counters or an end says nothing by itself; ask for it.
            running = await self._execution_status(latest.id) in IN_PROGRESS_TASK_STATUSES
        else:
            running = False
        if not running:
            return None
        return RunningNow(
            task=self.ref(TaskKind.SCHEDULE, schedule.schedule_id),
            started_at=latest.start_date,
            expected_duration=self._durations(executions[:-1]),
            execution_id=latest.id,
        )

    async def read_state(self, ref: TaskRef) -> Task:
        return self._task(await self._find(ref))

    async def pause(self, ref: TaskRef, reason: str) -> bool:
        # suspendSchedule has no field for a reason; the audit trail keeps it. It and
        # resumeSchedule are targeted actions taking the id alone, not a full replace: no
        # part of the schedule is sent, so none can be lost (tests/test_vendor_roundtrip.py).
        schedule = await self._find(ref)
        if schedule.status in PAUSED_STATUSES:
            return False
        if schedule.status in INERT_STATUSES:
            log.info(
                "%s: schedule %s is %s and will not fire; nothing to suspend",
                self.system,
                ref.id,
                schedule.status,
            )
            return False
        await self._modify("suspendSchedule", schedule)
        return True

    async def resume(self, ref: TaskRef, prior: Task | None = None) -> bool:
        if prior is not None and prior.paused:
            return False  # it was suspended before maintbot paused it: leave it that way
        schedule = await self._find(ref)
        if schedule.status not in PAUSED_STATUSES:
            return False
        await self._modify("resumeSchedule", schedule)
        return True

    async def skipped_runs(self, ref: TaskRef, start: datetime, end: datetime) -> list[SkippedRun]:
        executions = await self._executions(ref.id)
        skipped = []
        for execution in executions or ():
            at = execution.start_date
            if at is None or not execution.skipped or not start <= at < end:
                continue
            reason = (
                "trigger stopped (the schedule was suspended)"
                if execution.trigger_stopped
                else "canceled"
            )
            skipped.append(SkippedRun(task=ref, at=at, reason=reason))
        return skipped


def _build(setup: Setup[PyramidConfig]) -> PyramidConnector:
    config, credentials = setup.config, setup.credentials
    setup.require("username", "password")
    auth = PyramidAuth(
        setup.clock, setup.name, credentials["username"], credentials["password"], config.domain
    )
    http = setup.http(
        auth,
        rate_per_minute=config.rate_per_minute,
        max_connections=config.max_concurrency,
        headers={"Accept": "application/json, text/plain"},
    )
    return PyramidConnector(
        setup.name,
        http,
        setup.clock,
        search_value=config.search_value,
        max_concurrency=setup.concurrency_ceiling,
    )


from_config = connector_factory(PyramidConfig, "Pyramid", _build)
