"""Huawei Cloud Workspace scheduled tasks, both families, behind :class:`Connector`.

* 4A, Application Streaming: ``/v1/{project_id}/schedule-task`` on ``appstream_url``;
  flag ``is_enable``, run history ``execute-history`` with begin and end times.
* 4B, desktops: ``/v2/{project_id}/scheduled-tasks`` on ``base_url``; flag ``enable``, run
  records with only a start time.

Auth is an IAM password token (``X-Subject-Token`` response header of
``POST {iam_url}/v3/auth/tokens``, valid 24 h) sent as ``X-Auth-Token``. Every request goes
through :class:`VendorHttp` (retries, Retry-After, deadline, one re-login on 401).

Runs in a window come from expanding each task's own schedule (:mod:`bot.schedule_rules`),
not from ``next_execution_time`` alone: a daily task fires twice in a 26-hour window and
both runs are reported. The vendor's ``next_execution_time`` is added when the expansion
did not predict it, so a misreading of a rule shows up instead of hiding a run.

Readings chosen for facts shared/contracts.md §4 marks INFERRED or a gap (the simulator in
bot/sandbox/huawei.py makes the same choices, and tests/test_huawei_*.py covers each):

* **Enabled state** is read from the list endpoints: 4A show may not carry ``is_enable``
  reliably [INFERRED from the Terraform provider], and 4B show has no ``enable`` at all
  [SEEN SDK]. A single task is looked up by its show (404 = deleted) and then in the list
  filtered by its name (a fuzzy match, so the id decides).
* **Pause/resume** read the state first and change nothing when the flag already has the
  wanted value (``False`` = no change), so a retried or repeated call is harmless and a task
  someone else disabled is reported as already paused. 4A sends ``PATCH {"is_enable": b}``
  (partial PATCH is SEEN). 4B ``PUT`` may be a full replace (gap): the connector sends
  back every field the show returned that UpdateScheduledTasksReq accepts, untouched, plus
  what only the list item has (``priority``), with only ``enable`` changed, so neither
  reading loses data; a show lacking what its kind of schedule needs is refused. Any 2xx
  is success (PATCH/PUT responses are a gap); a body that contradicts the request is not.
  Huawei has no place for a pause reason, so ``reason`` is not sent (it stays in the audit).
* **Running now**: 4A — the newest history item whose status is ``RUNNING`` or
  ``WAITING`` [SEEN]; history is only read for tasks whose list ``last_status`` is one of
  those (or missing). 4B — record statuses are a gap: ``RUNNING``, ``EXECUTING``,
  ``WAITING``, ``PENDING``, ``IN_PROGRESS`` and ``PROCESSING`` count as in progress, any
  other word (``SUCCESS``, ``FAIL``, ``SKIP``, …) as finished. 4B ``last_status`` has no
  in-progress value, so every desktop task's records are read.
* **History order** is not documented: the first page is read and, when more exist and the
  page runs oldest-first, the last page too; the newest item is chosen by time, not position.
* **Durations**: 4A ``end_time - begin_time`` of finished runs, p90 via
  :func:`estimate_duration`. 4B records have only ``start_time``, so desktop runs carry no
  expected duration (no ``may_overlap`` for them; a running one says "no history says when
  it will finish").
* **Times**: 4A history times are UTC [SEEN H7]; 4B record ``start_time`` is read as UTC
  [INFERRED: the Terraform provider parses it so]. ``next_execution_time``: 4B is
  ``yyyy-MM-dd HH:mm:ss`` read in the task's zone [INFERRED]; 4A's format is unknown, so
  any ISO form (with offset honoured), the zone-less form (task's zone) and epoch
  milliseconds are accepted. ``future-executions`` answers are wall times in the request's
  ``time_zone`` [INFERRED from the 4A response echoing it].
* **Disabled tasks** still get their runs expanded, so the report lists them apart as
  already paused (Task.paused) rather than hiding what they would do if re-enabled.
* **Event-triggered** 4B tasks (``LIFE_CYCLE``, listed only when asked for by type) fire on
  desktop events, not a clock: enabled ones are reported with an unknown time.
* **Skipped runs**: 4B records with status ``SKIP``; for both families, scheduled instants
  with no run recorded near them (from 5 min before to 1 h after, or the next run) are
  reported as skipped — the schedule expansion minus history [INFERRED].
* **Throttling** numbers for these APIs were not captured (gap): no client-side limit by
  default (set ``rate_per_minute`` to add one); 429 answers are retried after Retry-After.
* **Malformed answers**: a page without its list key (``items``, ``scheduled_tasks``,
  ``tasks_records``), a field whose type changed, a time outside 1970-2200, an id that is
  not URL-safe text, or pages that end before the total they state are an error for this
  system naming the field, never "no tasks". Totals may be absent (a short page is then the
  last); counts may be digit strings, run ids numbers.
* **Error codes** are a gap: only ``error_msg`` is quoted, ``error_code`` is not relied on.
* **403** names the IAM action the call needs (``workspace:scheduledTasks:list``, ``:get``,
  ``:update``, ``:listRecords`` [SEEN H1–H5]; the same names for 4B and ``:list`` for
  future-executions are INFERRED).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Annotated, Any, ClassVar, TypeVar

import httpx
from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    Field,
    StrictBool,
    StrictStr,
    ValidationError,
    create_model,
)

from bot.clock import Clock, utc
from bot.config import HuaweiConfig, SchedulerConfig
from bot.conflicts import estimate_duration
from bot.connectors.base import (
    CachedTokenAuth,
    Connector,
    SkippedRun,
    VendorHttp,
    describe_validation,
    gather_all,
    gather_bounded,
    require_credentials,
)
from bot.connectors.shapes import (
    IdOrNumber,
    OptCount,
    StrictModel,
    VendorId,
    optional,
    url_id,
)
from bot.errors import AuthError, ConfigError, ConnectorError
from bot.model import Run, RunningNow, Task, TaskKind, TaskRef
from bot.schedule_rules import (
    RuleError,
    Schedule,
    parse_schedule,
    parse_vendor_time,
    resolve_zone,
)

__all__ = ["HuaweiConnector", "HuaweiIamAuth", "from_config"]

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

TOKEN_LIFETIME = timedelta(hours=24)

APP_PAGE = 100  # 4A list / execute-history: limit 1–100 [SEEN H1, H2]
DESKTOP_PAGE = 50  # 4B list: limit 0–50, offset and limit required [SEEN H8]
RECORD_PAGE = 100  # 4B records: limit 0–100 [SEEN H8]
MAX_PAGES = 500  # a runaway paging loop stops here rather than never

APP_IN_PROGRESS = frozenset({"RUNNING", "WAITING"})
DESKTOP_IN_PROGRESS = frozenset(
    {"RUNNING", "EXECUTING", "WAITING", "PENDING", "IN_PROGRESS", "PROCESSING"}
)

ACTION_LIST = "workspace:scheduledTasks:list"
ACTION_GET = "workspace:scheduledTasks:get"
ACTION_UPDATE = "workspace:scheduledTasks:update"
ACTION_RECORDS = "workspace:scheduledTasks:listRecords"

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

# A zone-less time read at the easternmost offset gives the earliest instant it could mean.
_EARLIEST_ZONE = timezone(timedelta(hours=14))
# A run recorded this close to a scheduled instant is that instant's run.
MATCH_BEFORE = timedelta(minutes=5)
MATCH_AFTER = timedelta(hours=1)
# Vendor next_execution_time within this of an expanded instant is the same run.
SAME_RUN = timedelta(seconds=60)


# -- response shapes --------------------------------------------------------------------------
# Strict about every field the connector reads: a list key that is missing, or a field whose
# type changed, is a malformed answer (an error for this system naming the field), never "no
# tasks" or a task read as something else. Counts may be digit strings (the simulator's
# ``string_numbers`` reading of the SDK's integers); run ids may be numbers. Values of the
# right type that the rules cannot use (an unknown zone, a week day 9) are judged by
# bot.schedule_rules and make that one schedule "not understood", reported as may-fire.

_TIME_RULE = "expected a time (ISO 8601, yyyy-MM-dd HH:mm:ss or epoch ms) in 1970-2200"


def _vendor_time(value: object) -> object:
    """A time field checked readable and in range; kept as sent, because the zone it is read
    in (the task's) is applied where it is used."""
    if isinstance(value, bool) or not isinstance(value, str | int) or len(str(value)) > 64:
        raise ValueError(_TIME_RULE)
    try:
        parse_vendor_time(value, UTC)
    except RuleError:
        raise ValueError(_TIME_RULE) from None
    return value


def _list_field(value: object) -> object:
    """``week_list``/``month_list``/``date_list``: a comma list, one number, or a JSON list of
    them (bot.schedule_rules reads all three); nothing else."""
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in items):
        raise ValueError("expected a comma-separated list")
    return value


VendorTime = Annotated[str | int | None, BeforeValidator(optional(_vendor_time))]
ListField = Annotated[Any, BeforeValidator(optional(_list_field))]


class _ScheduleFields(StrictModel):
    """The fields bot.schedule_rules expands, type-checked (the values are judged there)."""

    scheduled_type: StrictStr | None = None
    scheduled_time: StrictStr | None = None
    scheduled_date: StrictStr | None = None
    day_interval: OptCount = None
    week_list: ListField = None
    month_list: ListField = None
    date_list: ListField = None
    time_zone: StrictStr | None = None
    expire_time: VendorTime = None


class _AppItem(_ScheduleFields):
    """A 4A list item; it carries the schedule fields too, and they are expanded from it."""

    id: VendorId
    task_name: StrictStr = ""
    last_status: StrictStr | None = None
    next_execution_time: VendorTime = None
    is_enable: StrictBool | None = None


class _DesktopItem(StrictModel):
    id: VendorId
    task_name: StrictStr = ""
    scheduled_type: StrictStr | None = None
    life_cycle_type: StrictStr | None = None
    last_status: StrictStr | None = None
    next_execution_time: VendorTime = None
    time_zone: StrictStr | None = None
    enable: StrictBool | None = None


class _AppShow(_ScheduleFields):
    task_name: StrictStr | None = None
    is_enable: StrictBool | None = None


class _DesktopShow(_ScheduleFields):
    task_name: StrictStr | None = None
    life_cycle_type: StrictStr | None = None


class _Execution(StrictModel):
    """One 4A execute-history item (``excuting_count`` is misspelt in the SDK model)."""

    id: IdOrNumber
    status: StrictStr | None = None
    begin_time: VendorTime = None
    end_time: VendorTime = None
    create_time: VendorTime = None
    executing_count: OptCount = Field(
        default=None, validation_alias=AliasChoices("excuting_count", "executing_count")
    )


class _Record(StrictModel):
    """One 4B run record."""

    id: IdOrNumber
    start_time: VendorTime = None
    status: StrictStr | None = None
    skip_num: OptCount = None


class _FutureExecutions(StrictModel):
    future_executions: list[StrictStr]
    time_zone: StrictStr | None = None


@functools.cache
def _page_model(items_key: str, total_key: str, item: type[BaseModel]) -> type[BaseModel]:
    """One page of a listing: the list under its documented key (required: a page without it
    is malformed, never empty) and the total, which may be absent but is a count if there."""
    rows: Any = list[item]  # type: ignore[valid-type]  # built at run time, per item model
    fields: dict[str, Any] = {items_key: (rows, ...), total_key: (OptCount, None)}
    return create_model(f"{item.__name__}Page", __base__=StrictModel, **fields)


@dataclass(frozen=True)
class _Entry:
    """A task as its family's list endpoint reported it, with the raw item kept."""

    ref: TaskRef
    name: str
    enabled: bool | None
    last_status: str | None
    next_execution: Any
    zone_name: str | None
    scheduled_type: str | None
    raw: dict[str, Any]

    @property
    def active(self) -> bool:
        # An item without the flag is treated as enabled: it may fire, so it is reported.
        return self.enabled is not False


@dataclass(frozen=True)
class _Run:
    """A past run of either family, normalised."""

    id: str
    status: str
    started: datetime | None
    ended: datetime | None
    skip_num: int | None = None


class HuaweiIamAuth(CachedTokenAuth):
    """An IAM project-scoped token from the password identity [SEEN H10]."""

    def __init__(
        self,
        clock: Clock,
        *,
        iam_url: str,
        username: str,
        password: str,
        domain_name: str,
        project_id: str,
    ) -> None:
        super().__init__(clock, [password])
        base = iam_url.rstrip("/")
        self.url = (base.removesuffix("/v3")) + "/v3/auth/tokens"
        self._username = username
        self._password = password
        self._domain = domain_name
        self._project_id = project_id

    def body(self) -> dict[str, Any]:
        return {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": self._username,
                            "password": self._password,
                            "domain": {"name": self._domain},
                        }
                    },
                },
                # Scoped by id: unambiguous, and always configured (names are optional).
                "scope": {"project": {"id": self._project_id}},
            }
        }

    async def login(self, http: VendorHttp) -> tuple[str, timedelta]:
        response = await http.send(
            "POST",
            self.url,
            json_body=self.body(),
            authenticated=False,
            what="IAM token (POST /v3/auth/tokens)",
            ok=(200, 201),
        )
        token = response.headers.get("X-Subject-Token")
        if not token:
            raise AuthError(
                http.system,
                "IAM answered without an X-Subject-Token header; check that iam_url points at "
                "the IAM endpoint (https://iam.<region>.myhuaweicloud.com)",
            )
        return token, self._lifetime(response)

    def _lifetime(self, response: httpx.Response) -> timedelta:
        """Until the body's ``expires_at``, clamped to (1 min, 24 h]; 24 h if absent."""
        try:
            expires_at = response.json()["token"]["expires_at"]
            expires = parse_vendor_time(expires_at, UTC)
        except (ValueError, KeyError, TypeError):
            return TOKEN_LIFETIME
        if expires is None:
            return TOKEN_LIFETIME
        left = expires - self._clock()
        return max(timedelta(minutes=1), min(TOKEN_LIFETIME, left))

    def header(self, token: str) -> dict[str, str]:
        return {"X-Auth-Token": token}


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


class HuaweiConnector(Connector):
    """One Huawei project's scheduled tasks (the families listed in ``families``)."""

    vendor: ClassVar[str] = "huawei"
    label: ClassVar[str] = "Huawei Cloud Workspace"

    def __init__(self, system: str, http: VendorHttp, clock: Clock, config: HuaweiConfig) -> None:
        super().__init__(system, http, clock)
        self.project_id = config.project_id
        app_base = (config.appstream_url or config.base_url).rstrip("/")
        self.app_url = f"{app_base}/v1/{config.project_id}/schedule-task"
        self.desktop_url = f"{config.base_url.rstrip('/')}/v2/{config.project_id}/scheduled-tasks"
        self.families = frozenset(config.families)
        self.concurrency = config.max_concurrency

    # -- HTTP helpers -----------------------------------------------------------------------
    async def _send(
        self, method: str, url: str, *, action: str, what: str, **kw: Any
    ) -> httpx.Response:
        try:
            return await self.http.send(method, url, what=what, **kw)
        except AuthError as exc:
            if exc.status == 403:
                raise AuthError(
                    self.system,
                    f"{exc.detail}; the IAM user needs the '{action}' permission on project "
                    f"{self.project_id}",
                    status=403,
                ) from None
            raise

    def _object(self, response: httpx.Response, what: str) -> dict[str, Any]:
        data = self.http.json(response, what)
        if not isinstance(data, dict):
            raise self.http.error(f"malformed response from {what}: expected a JSON object")
        return data

    async def _page(
        self,
        url: str,
        *,
        model: type[M],
        items_key: str,
        total_key: str,
        offset: int,
        limit: int,
        params: Mapping[str, str],
        action: str,
        what: str,
    ) -> tuple[list[tuple[M, dict[str, Any]]], int | None]:
        """One page: each item validated as ``model`` (with the raw item beside it, which
        the desktop update needs whole), and the page's total when it gives one."""
        response = await self._send(
            "GET",
            url,
            params={**params, "offset": offset, "limit": limit},
            action=action,
            what=what,
        )
        data = self._object(response, what)
        page = self._validate(_page_model(items_key, total_key, model), data, what)
        items: list[M] = getattr(page, items_key)
        return list(zip(items, data[items_key], strict=True)), getattr(page, total_key)

    async def _all_pages(
        self,
        url: str,
        *,
        model: type[M],
        items_key: str,
        total_key: str,
        limit: int,
        action: str,
        what: str,
        params: Mapping[str, str] | None = None,
    ) -> list[tuple[M, dict[str, Any]]]:
        found: list[tuple[M, dict[str, Any]]] = []
        offset = 0
        for _ in range(MAX_PAGES):
            items, total = await self._page(
                url,
                model=model,
                items_key=items_key,
                total_key=total_key,
                offset=offset,
                limit=limit,
                params=params or {},
                action=action,
                what=what,
            )
            found.extend(items)
            offset += len(items)
            # The total decides when it is there (a server may cap pages below our limit);
            # without one, a short page is the last.
            if total is not None and offset >= total:
                return found
            if not items:
                if total is not None:
                    # The pages ended before the count they state: the rest are missing,
                    # and reading what arrived as everything would hide tasks.
                    raise self._count_error(what, total_key, total, offset)
                return found
            if total is None and len(items) < limit:
                return found
        raise self.http.error(
            f"{what} did not end after {MAX_PAGES} pages; narrow the scope in maintbot.toml, "
            "or report it to Huawei if the list is not that long"
        )

    def _count_error(self, what: str, total_key: str, total: int, got: int) -> ConnectorError:
        return self.http.error(
            f"malformed response from {what}: {total_key} says {total:,} but the pages hold "
            f"{got:,}; try again, and report it to Huawei if it persists"
        )

    async def _newest_runs(
        self,
        url: str,
        *,
        model: type[M],
        items_key: str,
        total_key: str,
        limit: int,
        when: Callable[[M], datetime | None],
        what: str,
    ) -> list[M]:
        """The page of run history that holds the newest runs, whatever the order."""
        pairs, total = await self._page(
            url,
            model=model,
            items_key=items_key,
            total_key=total_key,
            offset=0,
            limit=limit,
            params={},
            action=ACTION_RECORDS,
            what=what,
        )
        items = [item for item, _ in pairs]
        if total and not items:
            raise self._count_error(what, total_key, total, 0)
        if total is not None and total > len(items) >= 2:
            first, last = when(items[0]), when(items[-1])
            if first is not None and last is not None and first < last:
                tail, _ = await self._page(
                    url,
                    model=model,
                    items_key=items_key,
                    total_key=total_key,
                    offset=max(0, total - limit),
                    limit=limit,
                    params={},
                    action=ACTION_RECORDS,
                    what=what,
                )
                items = items + [item for item, _ in tail]
        return items

    def _validate(self, model: type[M], item: Mapping[str, Any], what: str) -> M:
        try:
            return model.model_validate(item)
        except ValidationError as exc:
            raise self.http.error(
                f"malformed response from {what}: {describe_validation(exc)}"
            ) from None

    def _time(self, value: object, zone: tzinfo, what: str) -> datetime | None:
        try:
            return parse_vendor_time(value, zone)
        except RuleError as exc:
            raise self.http.error(f"malformed time in {what}: {exc}") from None

    def _zone(self, name: str | None) -> tzinfo | None:
        try:
            return resolve_zone(name)
        except RuleError:
            return None

    # -- listing ----------------------------------------------------------------------------
    async def _app_entries(self, name: str | None = None) -> list[_Entry]:
        if "app" not in self.families:
            return []
        what = "list app tasks (GET /v1/{project_id}/schedule-task)"
        listed = await self._all_pages(
            self.app_url,
            model=_AppItem,
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
                _Entry(
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

    async def _desktop_entries(
        self, name: str | None = None, *, life_cycle: bool = True
    ) -> list[_Entry]:
        if "desktop" not in self.families:
            return []
        what = "list desktop tasks (GET /v2/{project_id}/scheduled-tasks)"
        base: dict[str, str] = {"task_name": name} if name else {}
        calls = [
            self._all_pages(
                self.desktop_url,
                model=_DesktopItem,
                items_key="scheduled_tasks",
                total_key="total_count",
                limit=DESKTOP_PAGE,
                action=ACTION_LIST,
                what=what,
                params=base,
            )
        ]
        if life_cycle:
            # Event-triggered tasks are only listed when asked for by type [SEEN H8].
            calls.append(
                self._all_pages(
                    self.desktop_url,
                    model=_DesktopItem,
                    items_key="scheduled_tasks",
                    total_key="total_count",
                    limit=DESKTOP_PAGE,
                    action=ACTION_LIST,
                    what=what,
                    params={**base, "scheduled_type": "LIFE_CYCLE"},
                )
            )
        pages = await gather_all(*calls)
        entries: dict[str, _Entry] = {}
        for parsed, item in (pair for page in pages for pair in page):
            entries[parsed.id] = _Entry(
                ref=self.ref(TaskKind.DESKTOP_TASK, parsed.id),
                name=parsed.task_name or parsed.id,
                enabled=parsed.enable,
                last_status=parsed.last_status,
                next_execution=parsed.next_execution_time,
                zone_name=parsed.time_zone,
                scheduled_type=parsed.scheduled_type,
                raw=item,
            )
        return list(entries.values())

    async def _entries(self) -> list[_Entry]:
        app, desktop = await gather_all(self._app_entries(), self._desktop_entries())
        return [*app, *desktop]

    def _task(self, entry: _Entry) -> Task:
        flag = "is_enable" if entry.ref.kind is TaskKind.APP_TASK else "enable"
        state = "unknown" if entry.enabled is None else str(entry.enabled).lower()
        return Task(
            system=self.system,
            kind=entry.ref.kind,
            id=entry.ref.id,
            name=entry.name,
            paused=not entry.active,
            vendor_state=f"{flag}={state}",
        )

    async def list_tasks(self) -> list[Task]:
        return [self._task(e) for e in await self._entries()]

    # -- schedules --------------------------------------------------------------------------
    def _schedule(self, kind: TaskKind, fields: Mapping[str, Any]) -> Schedule:
        return parse_schedule(fields, naive_expire_in_utc=kind is TaskKind.APP_TASK)

    async def _show(self, ref: TaskRef) -> dict[str, Any]:
        """The task's show body; a 404 is reported as the task no longer existing."""
        self._check_kind(ref)
        task_id = url_id(self.system, ref.kind.value, ref.id)
        model: type[_ScheduleFields]
        if ref.kind is TaskKind.APP_TASK:
            url, what = f"{self.app_url}/{task_id}", "show app task (GET /v1/…/schedule-task/{id})"
            model = _AppShow
        else:
            url = f"{self.desktop_url}/{task_id}"
            what = "show desktop task (GET /v2/…/scheduled-tasks/{id})"
            model = _DesktopShow
        try:
            response = await self._send("GET", url, action=ACTION_GET, what=what)
        except ConnectorError as exc:
            if exc.status == 404:
                raise ConnectorError(
                    self.system,
                    f"{ref.kind.value} {ref.id} no longer exists in project {self.project_id} "
                    "(404); it may have been deleted in the Huawei console",
                    status=404,
                ) from None
            raise
        show = self._object(response, what)
        # Checked, then returned whole: the desktop update sends the definition back as is.
        self._validate(model, show, what)
        return show

    async def _show_or_none(self, ref: TaskRef) -> dict[str, Any] | None:
        try:
            return await self._show(ref)
        except ConnectorError as exc:
            if exc.status == 404:
                return None  # deleted since it was listed: it will not fire
            raise

    async def schedule(self, ref: TaskRef) -> Schedule:
        """The task's schedule as maintbot reads it (raises ConnectorError if unreadable)."""
        try:
            return self._schedule(ref.kind, await self._show(ref))
        except RuleError as exc:
            raise self.http.error(f"{ref.kind.value} {ref.id}: {exc}") from None

    async def vendor_future_executions(self, ref: TaskRef) -> list[datetime]:
        """Huawei's own answer (``POST …/future-executions``) for the task's schedule."""
        show = await self._show(ref)
        body = {
            k: show[k]
            for k in (
                "scheduled_type",
                "scheduled_time",
                "day_interval",
                "week_list",
                "month_list",
                "date_list",
                "scheduled_date",
                "time_zone",
                "expire_time",
            )
            if show.get(k) not in (None, "")
        }
        if "day_interval" in body:
            body["day_interval"] = _int(body["day_interval"]) or body["day_interval"]
        url = (
            f"{self.app_url}/future-executions"
            if ref.kind is TaskKind.APP_TASK
            else f"{self.desktop_url}/future-executions"
        )
        what = "future-executions (POST …/future-executions)"
        response = await self._send("POST", url, json_body=body, action=ACTION_LIST, what=what)
        data = self._validate(_FutureExecutions, self._object(response, what), what)
        times = data.future_executions
        zone_name = data.time_zone or body.get("time_zone")
        zone = self._zone(zone_name if isinstance(zone_name, str) else None)
        if zone is None:
            raise self.http.error(f"{what}: time_zone {zone_name!r} is not a zone maintbot knows")
        found = [self._time(t, zone, what) for t in times]
        return sorted(t for t in found if t is not None)

    async def next_executions(self) -> dict[str, datetime | None]:
        """Huawei's ``next_execution_time`` of every listed task, as maintbot reads it
        (``TaskRef.key`` → instant, ``None`` where absent or unreadable)."""
        return {e.ref.key: self._next_execution(e) for e in await self._entries()}

    def _next_execution(self, entry: _Entry) -> datetime | None:
        zone = self._zone(entry.zone_name)
        if zone is None:
            return None
        try:
            return parse_vendor_time(entry.next_execution, zone)
        except RuleError:
            return None

    def _nothing_before(self, entry: _Entry, start: datetime, end: datetime) -> bool:
        """Whether the listed ``next_execution_time`` already proves the task has no run in
        ``[start, end)`` — then its 4B show need not be fetched. Only for an enabled task,
        a range that starts now or later, and a next time that is still ahead; a zone-less
        time is read at UTC+14, the earliest instant it could be."""
        if entry.enabled is not True or entry.next_execution in (None, ""):
            return False
        now = self.clock()
        if start < now - timedelta(seconds=1):
            return False
        try:
            earliest = parse_vendor_time(entry.next_execution, _EARLIEST_ZONE)
        except RuleError:
            return False
        return earliest is not None and earliest > now and earliest >= end

    # -- history ----------------------------------------------------------------------------
    async def _app_runs(self, ref: TaskRef) -> list[_Run]:
        what = "app task history (GET /v1/…/schedule-task/{id}/execute-history)"

        def when(item: _Execution) -> datetime | None:
            try:
                return parse_vendor_time(item.begin_time or item.create_time, UTC)
            except RuleError:
                return None

        try:
            items = await self._newest_runs(
                f"{self.app_url}/{url_id(self.system, ref.kind.value, ref.id)}/execute-history",
                model=_Execution,
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
                _Run(
                    id=parsed.id,
                    status=status,
                    started=begin or created,
                    ended=self._time(parsed.end_time, UTC, what),
                )
            )
        return runs

    async def _desktop_runs(self, ref: TaskRef) -> list[_Run]:
        what = "desktop task records (GET /v2/…/scheduled-tasks/{id}/records)"

        def when(item: _Record) -> datetime | None:
            try:
                return parse_vendor_time(item.start_time, UTC)
            except RuleError:
                return None

        try:
            items = await self._newest_runs(
                f"{self.desktop_url}/{url_id(self.system, ref.kind.value, ref.id)}/records",
                model=_Record,
                items_key="tasks_records",
                total_key="total_count",
                limit=RECORD_PAGE,
                when=when,
                what=what,
            )
        except ConnectorError as exc:
            if exc.status == 404:
                return []
            raise
        runs = []
        for parsed in items:
            runs.append(
                _Run(
                    id=parsed.id,
                    status=(parsed.status or "").upper(),
                    started=self._time(parsed.start_time, UTC, what),
                    ended=None,
                    skip_num=parsed.skip_num,
                )
            )
        return runs

    async def _runs(self, ref: TaskRef) -> list[_Run]:
        if ref.kind is TaskKind.APP_TASK:
            return await self._app_runs(ref)
        return await self._desktop_runs(ref)

    @staticmethod
    def _p90(runs: Sequence[_Run]) -> timedelta | None:
        return estimate_duration(
            r.ended - r.started for r in runs if r.started is not None and r.ended is not None
        )

    # -- the Connector interface ------------------------------------------------------------
    async def upcoming_runs(
        self, start: datetime, end: datetime, *, durations_before: datetime | None = None
    ) -> list[Run]:
        start, end = utc(start), utc(end)
        entries = await self._entries()
        scheduled = [e for e in entries if e.scheduled_type != "LIFE_CYCLE"]

        # 4B list items carry no schedule fields: fetch the show of every desktop task that
        # may fire in the range.
        desktop = [
            e
            for e in scheduled
            if e.ref.kind is TaskKind.DESKTOP_TASK and not self._nothing_before(e, start, end)
        ]
        shows = await gather_bounded(self.concurrency, (self._show_or_none(e.ref) for e in desktop))
        fields: dict[str, Mapping[str, Any] | None] = {
            e.ref.key: e.raw for e in scheduled if e.ref.kind is TaskKind.APP_TASK
        }
        fields.update({e.ref.key: show for e, show in zip(desktop, shows, strict=True)})

        planned: dict[str, tuple[_Entry, list[datetime], str | None]] = {}
        runs: list[Run] = []
        for entry in entries:
            if entry.scheduled_type == "LIFE_CYCLE":
                if entry.active:
                    life = entry.raw.get("life_cycle_type") or "a desktop event"
                    runs.append(
                        Run(
                            task=entry.ref,
                            at=None,
                            note=f"fires on {life}, not on a clock",
                        )
                    )
                continue
            if entry.ref.key not in fields:
                continue  # proven not to fire in the range
            source = fields[entry.ref.key]
            if source is None:
                continue  # deleted since it was listed
            instants, problem = self._expand(entry, source, start, end)
            if instants or problem:
                planned[entry.ref.key] = (entry, instants, problem)

        # Durations from 4A history; 4B records have no end time.
        with_history = [
            e for e, instants, _ in planned.values() if instants and e.ref.kind is TaskKind.APP_TASK
        ]
        histories = await gather_bounded(
            self.concurrency, (self._app_runs(e.ref) for e in with_history)
        )
        durations = {e.ref.key: self._p90(h) for e, h in zip(with_history, histories, strict=True)}

        for entry, instants, problem in planned.values():
            note = None if entry.active else "disabled in Huawei; would run here if re-enabled"
            if problem is not None and entry.active:
                runs.append(
                    Run(
                        task=entry.ref,
                        at=None,
                        note=f"schedule not understood ({problem}); it may fire at any time",
                    )
                )
            expected = durations.get(entry.ref.key)
            runs.extend(
                Run(task=entry.ref, at=at, expected_duration=expected, note=note) for at in instants
            )
        return runs

    def _expand(
        self,
        entry: _Entry,
        fields: Mapping[str, Any],
        start: datetime,
        end: datetime,
    ) -> tuple[list[datetime], str | None]:
        """Instants in ``[start, end)`` from the schedule, plus the vendor's
        ``next_execution_time`` when the expansion missed it; and why the schedule could not
        be read, if it could not."""
        problem = None
        try:
            instants = self._schedule(entry.ref.kind, fields).occurrences(start, end)
        except RuleError as exc:
            instants, problem = [], str(exc)
        vendor_next = self._next_execution(entry) if entry.active else None
        if (
            vendor_next is not None
            and start <= vendor_next < end
            and all(abs(vendor_next - at) > SAME_RUN for at in instants)
        ):
            log.warning(
                "%s: Huawei's next_execution_time %s for %s was not predicted from its "
                "schedule; reporting it as well",
                self.system,
                vendor_next.isoformat(),
                entry.ref.key,
            )
            instants = sorted([*instants, vendor_next])
        return instants, problem

    async def running_now(self) -> list[RunningNow]:
        entries = await self._entries()
        # 4A last_status says whether the newest run is still going [SEEN enum]; 4B's has
        # no in-progress value, so every desktop task's records are read.
        candidates = [
            e
            for e in entries
            if e.ref.kind is TaskKind.DESKTOP_TASK
            or e.last_status is None
            or e.last_status.upper() in APP_IN_PROGRESS
        ]
        histories = await gather_bounded(self.concurrency, (self._runs(e.ref) for e in candidates))
        found = []
        for entry, runs in zip(candidates, histories, strict=True):
            in_progress = (
                APP_IN_PROGRESS if entry.ref.kind is TaskKind.APP_TASK else (DESKTOP_IN_PROGRESS)
            )
            going = [r for r in runs if r.status in in_progress]
            if not going:
                continue
            latest = max(going, key=lambda r: r.started or datetime.min.replace(tzinfo=UTC))
            # A WAITING run has not begun, so when it will end is unknown, not p90 from now.
            waiting = latest.status == "WAITING"
            found.append(
                RunningNow(
                    task=entry.ref,
                    started_at=latest.started,
                    expected_duration=None if waiting else self._p90(runs),
                    execution_id=latest.id,
                )
            )
        return found

    def _check_kind(self, ref: TaskRef) -> None:
        if ref.kind not in (TaskKind.APP_TASK, TaskKind.DESKTOP_TASK):
            raise ConnectorError(
                self.system, f"{ref.kind.value} {ref.id} is not a Huawei scheduled task"
            )

    async def _state(self, ref: TaskRef) -> tuple[Task, dict[str, Any], _Entry | None]:
        """The task now: its show body, and its list entry (where the flag is read)."""
        show = await self._show(ref)
        name = str(show.get("task_name") or "")
        life_cycle = show.get("scheduled_type") == "LIFE_CYCLE"

        async def lookup(by_name: str | None) -> _Entry | None:
            if ref.kind is TaskKind.APP_TASK:
                entries = await self._app_entries(by_name)
            else:
                entries = await self._desktop_entries(by_name, life_cycle=life_cycle)
            return next((e for e in entries if e.ref.id == ref.id), None)

        # The name filter is a fuzzy match and names can change, so the id decides, and the
        # whole list is the fallback.
        entry = await lookup(name) if name else None
        if entry is None:
            entry = await lookup(None)
        if entry is not None and entry.enabled is not None:
            enabled = entry.enabled
        elif ref.kind is TaskKind.APP_TASK and isinstance(show.get("is_enable"), bool):
            enabled = show["is_enable"]
        else:
            raise self.http.error(
                f"{ref.kind.value} {ref.id} is missing from the task list, so its enabled "
                "state cannot be read; try again, or check it in the Huawei console"
            )
        flag = "is_enable" if ref.kind is TaskKind.APP_TASK else "enable"
        task = Task(
            system=self.system,
            kind=ref.kind,
            id=ref.id,
            name=name or (entry.name if entry else ref.id),
            paused=not enabled,
            vendor_state=f"{flag}={str(enabled).lower()}",
        )
        return task, show, entry

    async def read_state(self, ref: TaskRef) -> Task:
        task, _, _ = await self._state(ref)
        return task

    async def pause(self, ref: TaskRef, reason: str) -> bool:
        return await self._set_enabled(ref, False)

    async def resume(self, ref: TaskRef, prior: Task | None = None) -> bool:
        return await self._set_enabled(ref, True)

    async def _set_enabled(self, ref: TaskRef, enabled: bool) -> bool:
        task, show, entry = await self._state(ref)
        if task.paused != enabled:
            return False  # already as wanted; nothing sent
        if ref.kind is TaskKind.APP_TASK:
            flag, method, url = "is_enable", "PATCH", f"{self.app_url}/{ref.id}"
            body: dict[str, Any] = {"is_enable": enabled}
            what = f"{'resume' if enabled else 'pause'} app task (PATCH /v1/…/schedule-task/{{id}})"
        else:
            flag, method, url = "enable", "PUT", f"{self.desktop_url}/{ref.id}"
            body = self._put_body(ref, show, entry, enabled)
            what = (
                f"{'resume' if enabled else 'pause'} desktop task "
                "(PUT /v2/…/scheduled-tasks/{id})"
            )
        response = await self._send(
            method,
            url,
            json_body=body,
            action=ACTION_UPDATE,
            what=what,
            ok=(200, 201, 202, 204),
        )
        echoed = self._echoed_flag(response, flag)
        if echoed is not None and echoed != enabled:
            raise self.http.error(
                f"{what} was answered {response.status_code} but the task still shows "
                f"{flag}={str(echoed).lower()}; check it in the Huawei console"
            )
        return True

    @staticmethod
    def _echoed_flag(response: httpx.Response, flag: str) -> bool | None:
        if not response.content:
            return None
        try:
            data = response.json()
        except ValueError:
            return None
        if isinstance(data, dict):
            value = data.get(flag)
            if isinstance(value, bool):
                return value
        return None

    def _put_body(
        self, ref: TaskRef, show: Mapping[str, Any], entry: _Entry | None, enabled: bool
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
            number = _int(body[key])
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

    async def skipped_runs(self, ref: TaskRef, start: datetime, end: datetime) -> list[SkippedRun]:
        start = utc(start)
        end = min(utc(end), self.clock())
        if end <= start:
            return []
        show = await self._show(ref)
        runs = await self._all_runs(ref)
        try:
            due = self._schedule(ref.kind, show).occurrences(start, end)
        except RuleError:
            due = []
        skipped: list[SkippedRun] = []
        starts = sorted(r.started for r in runs if r.started is not None and r.status != "SKIP")
        for i, at in enumerate(due):
            limit = at + MATCH_AFTER
            if i + 1 < len(due):
                limit = min(limit, due[i + 1] - MATCH_BEFORE)
            if any(at - MATCH_BEFORE <= s < limit for s in starts):
                continue
            skip = next(
                (
                    r
                    for r in runs
                    if r.status == "SKIP"
                    and r.started is not None
                    and at - MATCH_BEFORE <= r.started < limit
                ),
                None,
            )
            if skip is not None:
                continue  # reported below from the record itself
            skipped.append(
                SkippedRun(
                    task=ref,
                    at=at,
                    reason="no run recorded for this scheduled time (the task was disabled, "
                    "or Huawei did not fire it); inferred from the schedule",
                )
            )
        for run in runs:
            if run.status == "SKIP" and run.started is not None and start <= run.started < end:
                desktops = f" ({run.skip_num} desktops)" if run.skip_num else ""
                skipped.append(
                    SkippedRun(task=ref, at=run.started, reason=f"Huawei recorded SKIP{desktops}")
                )
        return sorted(skipped, key=lambda s: s.at)

    async def _all_runs(self, ref: TaskRef) -> list[_Run]:
        """Every run history page of ``ref`` (for skipped-run accounting)."""
        task_id = url_id(self.system, ref.kind.value, ref.id)
        what = f"{ref.kind.value} run history"
        if ref.kind is TaskKind.APP_TASK:
            executions = await self._all_pages(
                f"{self.app_url}/{task_id}/execute-history",
                model=_Execution,
                items_key="items",
                total_key="count",
                limit=APP_PAGE,
                action=ACTION_RECORDS,
                what=what,
            )
            return [
                _Run(
                    e.id,
                    (e.status or "").upper(),
                    self._time(e.begin_time, UTC, what) or self._time(e.create_time, UTC, what),
                    None,
                )
                for e, _ in executions
            ]
        records = await self._all_pages(
            f"{self.desktop_url}/{task_id}/records",
            model=_Record,
            items_key="tasks_records",
            total_key="total_count",
            limit=RECORD_PAGE,
            action=ACTION_RECORDS,
            what=what,
        )
        return [
            _Run(
                r.id,
                (r.status or "").upper(),
                self._time(r.start_time, UTC, what),
                None,
                r.skip_num,
            )
            for r, _ in records
        ]


def from_config(
    name: str,
    config: SchedulerConfig,
    credentials: Mapping[str, str],
    *,
    clock: Clock,
    transport: httpx.AsyncBaseTransport | None = None,
) -> HuaweiConnector:
    if not isinstance(config, HuaweiConfig):
        raise ConfigError(f"{name}: not a Huawei scheduler configuration")
    require_credentials(name, config, credentials, "username", "password")
    auth = HuaweiIamAuth(
        clock,
        iam_url=config.iam_url,
        username=credentials["username"],
        password=credentials["password"],
        domain_name=config.domain_name,
        project_id=config.project_id,
    )
    http = VendorHttp(
        name,
        config.base_url,
        clock=clock,
        auth=auth,
        rate_per_minute=config.rate_per_minute,
        timeout=config.timeout_seconds,
        max_response_mb=config.max_response_mb,
        max_connections=max(config.max_concurrency, 4),
        transport=transport,
        headers={"Accept": "application/json"},
    )
    return HuaweiConnector(name, http, clock, config)
