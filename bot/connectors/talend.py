"""Talend Management Console (Qlik Talend Cloud): orchestration and processing APIs, 2021-03.

What a check costs, and why it is shaped this way. ``events/search`` returns only ``{id,
date, type}`` per run, so names and pause state need one ``GET`` per distinct task, and
expected durations one history request per distinct task. Done in sequence that is
search → pages → details → history; here the first page is read, the other pages go out
together, and every task id starts its detail and history lookups the moment a page
reveals it, while the other pages are still in flight. ``describe`` then finds the details
already fetched (or in flight) instead of starting a fourth round trip. Every request goes
through one gate of ``concurrency`` slots (listing pages first), spread over a few HTTP
clients of eight connections each (see ``from_config``) that share one token and one rate
limiter, which keeps a check within Talend's 1,800 requests a minute.

Between checks (``cache_seconds``, :mod:`bot.connectors.cache`): the events pages of a
window are reused while the first page, read every time, comes back the same (``total``
and items); task details for runs that are upcoming, and durations, are reused while
younger than the bound. The running-executions queries are read at every check and the
details of a running task with them. A pause or resume made here drops the task's details
and every cached events listing. The floor is then one events page plus the running
queries (three pages per scope), plus details of whatever is running.

Facts taken from ``shared/contracts.md`` §1 that the vendor does not state (INFERRED or
gaps) and how this module reads them, choosing the reading that fails safe:

* Whether ``events/search`` omits paused tasks is undocumented: pause state is always read
  from the task itself, never from presence in the search.
* A run discarded during a pause is recognised by ``misfiredExecutionReason`` alone
  (``TASK_IS_PAUSED`` / ``PLAN_EXECUTIONS_PAUSED``), whatever its ``status``: the contracts
  infer ``execution_rejected``, but the spec's own table gives that status another meaning.
* A ``date`` without an offset is read as UTC (Talend documents its timestamps as UTC).
* ``to`` may be inclusive at the vendor; runs at exactly ``end`` are dropped here.
* Executions are assumed newest first, so the first ``HISTORY_RUNS`` are the recent ones.
* A run still dispatching has no start time (R2025-06); it is reported with none rather
  than with its trigger time, which could make a queued run look nearly finished.
* The workspace's environment is ``environment.id`` (spec), else ``environmentId`` (docs).
* A task's groups (``Task.groups``) are its workspace's name and its environment's name, as
  TaskV21 and PlanExecutableDetails carry them in ``workspace``; a name left out is no
  group, a name of another type makes the answer malformed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import heapq
import itertools
import json
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, RootModel, model_validator

from bot.clock import Clock, sane_instant, utc
from bot.config import PerMinute, SchedulerConfig
from bot.conflicts import estimate_duration
from bot.connectors.base import (
    CachedTokenAuth,
    Connector,
    HeaderAuth,
    Setup,
    SkippedRun,
    VendorHttp,
    connector_factory,
    gather_all,
    gather_bounded,
    shared_ssl_context,
)
from bot.connectors.shapes import OptVendorId, StrictModel, VendorId, url_id
from bot.connectors.transport import AiohttpTransport
from bot.errors import AuthError, ConfigError, ConnectorError, redact
from bot.model import Run, RunningNow, Task, TaskKind, TaskRef

__all__ = ["TalendConfig", "TalendConnector", "TalendTokenAuth", "from_config"]


class TalendConfig(SchedulerConfig):
    """Talend Management Console. Either ``token_env`` (personal access token) or
    ``client_id_env`` + ``client_secret_env`` (service account) must be given."""

    vendor: Literal["talend"]
    rate_per_minute: PerMinute | None = 1800.0  # Talend's published limit
    environment_id: str | None = None
    workspace_ids: tuple[str, ...] = ()
    token_env: str | None = None
    client_id_env: str | None = None
    client_secret_env: str | None = None
    audience: str | None = None

    @model_validator(mode="after")
    def _one_auth(self) -> TalendConfig:
        service = bool(self.client_id_env or self.client_secret_env)
        if service and not (self.client_id_env and self.client_secret_env):
            raise ValueError("a service account needs both client_id_env and client_secret_env")
        if service == bool(self.token_env):
            raise ValueError(
                "give either token_env (personal access token) or client_id_env and "
                "client_secret_env (service account)"
            )
        return self


log = logging.getLogger(__name__)

PAGE_SIZE = 100  # Talend's maximum ``limit``
MAX_PAGES = 1_000  # 100,000 runs: beyond that a check would eat most of a minute's quota
DEFAULT_CONCURRENCY = 48
SHARD_CONNECTIONS = 8
HISTORY_DAYS = 60  # the longest history the processing API serves
# Recent runs read per task for its p90: enough for a stable estimate, and a fifth of the
# bytes (and of the vendor's work) of a full page, times every distinct task in a check.
HISTORY_RUNS = 20
DEFAULT_TOKEN_LIFETIME = timedelta(minutes=30)  # docs; the spec's example says 3600 s
MAX_TOKEN_LIFETIME = timedelta(hours=24)
# Windows whose events pages are kept between checks (one holds ~43,000 events at scale 100).
EVENTS_LISTINGS_KEPT = 4
# How long a detail lookup started for a check waits for that check's describe.
PREFETCH_TTL = timedelta(seconds=60)

_READ_ROLE = "the TMC_OPERATOR role and READ permission on the workspace"
_AUTHOR_ROLE = "the TMC_OPERATOR role and AUTHOR permission on the workspace"
_TOKEN_ROLE = "the 'Service Account - Manage' permission (TMC_SERVICE_ACCOUNT_MANAGEMENT)"
_PAUSED_REASONS = {TaskKind.TASK: "TASK_IS_PAUSED", TaskKind.PLAN: "PLAN_EXECUTIONS_PAUSED"}

T = TypeVar("T")
U = TypeVar("U")
M = TypeVar("M", bound=BaseModel)


# -- response shapes (only the fields maintbot reads; extra fields are Talend's business) -----


def _instant(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        # Value-free on purpose: the message may reach a user, the vendor's data should not.
        raise ValueError("expected an ISO 8601 date-time string")
    # No offset: Talend documents its timestamps as UTC (contracts gap 6.1 for events).
    return sane_instant(parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC))


Instant = Annotated[datetime, BeforeValidator(_instant)]


class _Model(StrictModel):
    pass


class _TokenResponse(_Model):
    access_token: str = Field(min_length=1)
    token_type: str = "Bearer"
    expires_in: str | int | None = None  # a string in the spec; integers seen elsewhere


class _Event(_Model):
    id: VendorId
    date: Instant
    type: Literal["TASK", "PLAN"]


class _Paged(_Model):
    limit: int | None = Field(default=None, ge=1)
    offset: int | None = Field(default=None, ge=0)
    total: int | None = Field(default=None, ge=0)


class _EventsPage(_Paged):
    items: list[_Event]
    total: int = Field(ge=0)  # paging is planned from it, so it is required here


class _PauseDetails(_Model):
    pause: bool  # required in TaskPauseDetails; details without it say nothing
    pauseContext: str | None = None
    user: str | None = None
    userType: str | None = None
    pauseDate: Instant | None = None


class _EnvironmentInfo(_Model):
    id: VendorId
    name: str | None = None
    default: bool = False


class _WorkspaceInfo(_Model):
    id: OptVendorId = None
    name: str | None = None
    environment: _EnvironmentInfo | None = None
    environmentId: OptVendorId = None

    @property
    def groups(self) -> tuple[tuple[str, str], ...]:
        """Talend's own groupings of what lives in this workspace: its name and its
        environment's (``WorkspaceInfo.name``, ``environment.name`` in TaskV21 and
        PlanExecutableDetails); a name the answer leaves out is no group."""
        found: list[tuple[str, str]] = []
        if self.name:
            found.append(("workspace", self.name))
        if self.environment is not None and self.environment.name:
            found.append(("environment", self.environment.name))
        return tuple(found)


class _TaskDetails(_Model):
    id: VendorId
    name: str
    workspace: _WorkspaceInfo | None = None
    taskPauseDetails: _PauseDetails | None = None


class _WorkspaceRef(_Model):
    id: OptVendorId = None


class _PlanDetails(_Model):
    executable: VendorId
    name: str
    workspace: _WorkspaceInfo | None = None
    planPauseDetails: _PauseDetails | None = None


class _Workspaces(RootModel[list[_WorkspaceInfo]]):
    model_config = ConfigDict(strict=True)


class _TaskSummary(_Model):
    executable: VendorId
    name: str | None = None
    workspace: _WorkspaceRef | None = None


class _TaskPage(_Paged):
    items: list[_TaskSummary]
    total: int = Field(ge=0)  # required in PageTask


class _PlanPage(_Paged):
    items: list[_PlanDetails]


class _Execution(_Model):
    executionId: OptVendorId = None
    taskId: OptVendorId = None
    planId: OptVendorId = None
    status: str | None = None
    triggerTimestamp: Instant | None = None
    startTimestamp: Instant | None = None
    finishTimestamp: Instant | None = None
    misfiredExecutionReason: str | None = None


class _ExecutionPage(_Paged):
    items: list[_Execution]


# -- authentication ---------------------------------------------------------------------------


class TalendTokenAuth(CachedTokenAuth):
    """Service-account token from ``POST /security/oauth/token`` (client credentials)."""

    def __init__(self, clock: Clock, client_id: str, client_secret: str, audience: str) -> None:
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        super().__init__(clock, secrets=(client_secret, basic))
        self._basic = basic
        self._audience = audience

    async def login(self, http: VendorHttp) -> tuple[str, timedelta]:
        what = "the service-account token request"
        try:
            response = await http.send(
                "POST",
                "/security/oauth/token",
                json_body={"grant_type": "client_credentials", "audience": self._audience},
                headers={"Authorization": f"Basic {self._basic}"},
                authenticated=False,
                what=what,
            )
        except AuthError as exc:
            if exc.status == 403:
                raise _forbidden(http, exc, _TOKEN_ROLE) from None
            raise
        body = http.parse(response, _TokenResponse, what)
        lifetime = _lifetime(body.expires_in)
        # A short-lived token must not be "about to expire" from the moment it arrives.
        self.refresh_margin = min(timedelta(seconds=60), lifetime / 4)
        return body.access_token, lifetime

    def header(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


def _lifetime(expires_in: str | int | None) -> timedelta:
    """``expires_in`` when it is a positive number of seconds, else the documented 30 min;
    never more than :data:`MAX_TOKEN_LIFETIME` (an absurd answer must not pin a token)."""
    try:
        seconds = float(expires_in) if expires_in is not None else 0.0
    except (ValueError, OverflowError):
        seconds = 0.0
    if not math.isfinite(seconds) or seconds <= 0:
        return DEFAULT_TOKEN_LIFETIME
    return min(timedelta(seconds=min(seconds, 1e9)), MAX_TOKEN_LIFETIME)


def _forbidden(http: VendorHttp, exc: ConnectorError, needs: str) -> AuthError:
    secrets = http.auth.secrets if http.auth else ()
    return AuthError(
        http.system,
        redact(f"{exc.detail}; Talend requires {needs}", *secrets),
        status=403,
    )


# -- the connector ----------------------------------------------------------------------------


def _ms(moment: datetime) -> int:
    return int(utc(moment).timestamp() * 1000)


async def _all(aws: Iterable[Awaitable[T]], limit: int | None = None) -> list[T]:
    """Await all (at most ``limit`` at a time), results in order; the first failure cancels
    and awaits the rest, so no request outlives the call that needed it."""
    return await (gather_bounded(limit, aws) if limit else gather_all(*aws))


async def _both(first: Awaitable[T], second: Awaitable[U]) -> tuple[T, U]:
    """Two differently typed awaitables with ``_all``'s cancel-on-failure."""
    a, b = asyncio.ensure_future(first), asyncio.ensure_future(second)
    await _all([a, b])
    return a.result(), b.result()


def _failed(future: asyncio.Future[Any]) -> bool:
    """Done without a result: a later check should try again rather than reuse it."""
    return future.done() and (future.cancelled() or future.exception() is not None)


async def _ready(value: T) -> T:
    return value


def _kind(value: str) -> TaskKind:
    return TaskKind.PLAN if value == "PLAN" else TaskKind.TASK


class _Gate:
    """At most ``size`` requests in flight; waiters with a lower ``rank`` go first.

    Listing pages outrank per-task lookups: every page can reveal tasks whose lookups
    are still to start, so finishing the pages early shortens the check's last round trip.
    """

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @contextlib.asynccontextmanager
    async def slot(self, rank: int) -> AsyncIterator[None]:
        if self._free > 0 and not self._waiters:
            self._free -= 1
        else:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiters, (rank, next(self._order), waiter))
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._release()  # handed a slot while being cancelled: pass it on
                raise
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        while self._waiters:
            _, _, waiter = heapq.heappop(self._waiters)
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1


class _LoopState:
    """Per event loop: asyncio primitives and futures cannot cross loops."""

    def __init__(self, concurrency: int) -> None:
        self.loop = asyncio.get_running_loop()
        self.gate = _Gate(concurrency)
        self.env_lock = asyncio.Lock()
        self.details: dict[str, tuple[datetime, asyncio.Future[Task | None]]] = {}
        self.durations: dict[str, tuple[datetime, asyncio.Future[timedelta | None]]] = {}
        self.background: set[asyncio.Future[Any]] = set()


class TalendConnector(Connector):
    vendor = "talend"
    label = "Talend Management Console"
    reports_skipped_runs = True

    def __init__(
        self,
        system: str,
        http: VendorHttp,
        clock: Clock,
        *,
        environment_id: str | None = None,
        workspace_ids: Sequence[str] = (),
        concurrency: int = DEFAULT_CONCURRENCY,
        shards: Sequence[VendorHttp] = (),
    ) -> None:
        super().__init__(system, http, clock)
        self.environment_id = environment_id
        self.workspace_ids = tuple(workspace_ids)
        self.concurrency = max(1, concurrency)
        self.shards = [http, *shards]
        self._next_shard = itertools.cycle(self.shards)
        self._state: _LoopState | None = None

    @property
    def requests(self) -> int:
        """HTTP attempts sent so far, over every shard."""
        return sum(h.requests for h in self.shards)

    # -- plumbing --------------------------------------------------------------------------
    def _loop(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        if self._state is None or self._state.loop is not loop:
            self._state = _LoopState(self.concurrency)
        return self._state

    async def _call(
        self,
        method: str,
        url: str,
        *,
        what: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        ok: Iterable[int] = (200,),
        needs: str = _READ_ROLE,
        rank: int = 1,
    ) -> httpx.Response:
        async with self._loop().gate.slot(rank):
            try:
                return await next(self._next_shard).send(
                    method, url, params=params, json_body=json_body, ok=ok, what=what
                )
            except AuthError as exc:
                if exc.status == 403:
                    raise _forbidden(self.http, exc, needs) from None
                raise

    def _spawn(self, coro: Awaitable[T]) -> asyncio.Future[T]:
        state = self._loop()
        future: asyncio.Future[T] = asyncio.ensure_future(coro)
        state.background.add(future)

        def done(f: asyncio.Future[T]) -> None:
            state.background.discard(f)
            if not f.cancelled():
                f.exception()  # retrieved here; whoever awaits it gets it again

        future.add_done_callback(done)
        return future

    async def aclose(self) -> None:
        state = self._state
        if state is not None and state.loop is asyncio.get_running_loop():
            pending = list(state.background)
            for future in pending:
                future.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.gather(*pending, return_exceptions=True)
        await asyncio.gather(*(h.aclose() for h in self.shards))

    def _path(self, ref: TaskRef) -> str:
        if ref.kind is TaskKind.TASK:
            return f"tasks/{quote(url_id(self.system, 'task', ref.id), safe='')}"
        if ref.kind is TaskKind.PLAN:
            return f"plans/{quote(url_id(self.system, 'plan', ref.id), safe='')}"
        raise ConnectorError(self.system, f"{ref.key} is not a Talend task or plan")

    @staticmethod
    def _noun(ref: TaskRef) -> str:
        return "plan" if ref.kind is TaskKind.PLAN else "task"

    async def _pages(
        self,
        method: str,
        url: str,
        model: type[M],
        what: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        on_page: Any = None,
        known: Sequence[M] | None = None,
    ) -> list[M]:
        """Every page of an offset/limit listing: the first, then the rest at once (bounded
        by the gate) using its ``total``; without a total, page by page until a short one.

        ``known`` is the same listing as read by an earlier check: when the first page comes
        back exactly as it did then (same ``total``, same items), the rest of ``known`` is
        taken instead of read again. A total that differs is Talend saying the listing
        changed, and every page is read afresh."""

        async def fetch(offset: int) -> M:
            paging = {"offset": offset, "limit": PAGE_SIZE}
            if body is not None:
                response = await self._call(
                    method, url, what=what, json_body={**body, **paging}, rank=0
                )
            else:
                response = await self._call(
                    method, url, what=what, params={**(params or {}), **paging}, rank=0
                )
            page = self.http.parse(response, model, what)
            if on_page is not None:
                on_page(page)
            return page

        first = await fetch(0)
        step = min(PAGE_SIZE, getattr(first, "limit", None) or PAGE_SIZE)
        total = getattr(first, "total", None)
        if known and total is not None and first == known[0]:
            for page in known[1:]:
                if on_page is not None:
                    on_page(page)
            return [first, *known[1:]]
        if total is None:
            pages = [first]
            offset = step
            while len(getattr(pages[-1], "items", ())) >= step:
                if len(pages) >= MAX_PAGES:
                    raise self._too_many(what)
                pages.append(await fetch(offset))
                offset += step
            return pages
        offsets = range(step, total, step)
        if len(offsets) >= MAX_PAGES:
            raise self._too_many(what, total)
        rest = await _all((fetch(o) for o in offsets), self.concurrency)
        pages = [first, *rest]
        # Every page restates the total; the smallest is the listing after any shrink while
        # it was read. Fewer items than even that means pages were cut short, and reading
        # the runs that did arrive as "all of them" would hide conflicts.
        items = sum(len(getattr(p, "items", ())) for p in pages)
        least = min(t for p in pages if (t := getattr(p, "total", None)) is not None)
        if items < least:
            raise self.http.error(
                f"malformed response from {what}: total says {least:,} items but the pages "
                f"held {items:,}; try again, and report it to Talend if it persists"
            )
        return pages

    def _too_many(self, what: str, total: int | None = None) -> ConnectorError:
        count = f"{total:,} items" if total is not None else "too many pages"
        return self.http.error(
            f"{what} reports {count}, more than one check reads (at most "
            f"{MAX_PAGES * PAGE_SIZE:,}); narrow it with workspace_ids in maintbot.toml"
        )

    # -- environment -----------------------------------------------------------------------
    async def environment(self) -> str:
        """The configured environment, else the one the credentials' workspaces point to."""
        if self.environment_id:
            return self.environment_id
        async with self._loop().env_lock:
            if not self.environment_id:
                self.environment_id = await self._discover_environment()
                log.info("%s: using Talend environment %s", self.system, self.environment_id)
        return self.environment_id

    async def _discover_environment(self) -> str:
        what = "workspaces (GET /orchestration/workspaces)"
        response = await self._call("GET", "/orchestration/workspaces", what=what)
        workspaces = self.http.parse(response, _Workspaces, what).root
        names: dict[str, str] = {}
        defaults: set[str] = set()
        for ws in workspaces:
            if self.workspace_ids and ws.id not in self.workspace_ids:
                continue
            env_id = ws.environment.id if ws.environment else ws.environmentId
            if not env_id:
                continue
            names[env_id] = (ws.environment.name if ws.environment else None) or env_id
            if ws.environment is not None and ws.environment.default:
                defaults.add(env_id)
        if len(names) == 1:
            return next(iter(names))
        if len(defaults) == 1:
            return next(iter(defaults))
        if not names:
            raise self.http.error(
                "the credentials see no workspace with an environment; set environment_id "
                "in maintbot.toml"
            )
        listed = ", ".join(f"{env_id} ({name})" for env_id, name in sorted(names.items()))
        raise self.http.error(
            f"the credentials see {len(names)} environments and none is marked default; "
            f"set environment_id in maintbot.toml to one of: {listed}"
        )

    # -- lookups shared by the check -------------------------------------------------------
    def _prefetch(
        self, ref: TaskRef, *, history: bool = True, live: bool = True
    ) -> asyncio.Future[timedelta | None] | None:
        """Start the detail (and, with ``history``, run-history) lookups for ``ref`` unless
        fresh ones exist; returns the history lookup. Without ``live``, details an earlier
        check read within cache_seconds will do (they name the task and say whether it is
        paused, for a run that is upcoming); a running task's are always read now."""
        state = self._loop()
        now = self.clock()
        entry = state.details.get(ref.key)
        stale = entry is None or now - entry[0] > PREFETCH_TTL
        if stale and (live or self.cache.get(("task", ref.key)) is None):
            state.details[ref.key] = (now, self._spawn(self._fetch_task(ref)))
        return self._duration_lookup(ref) if history else None

    @staticmethod
    def _shielded(future: asyncio.Future[T]) -> asyncio.Future[T]:
        """Several checks may await one lookup, and one of them being cancelled (its
        deadline, a sibling's failure) must not cancel it for the others."""
        return asyncio.shield(future)

    def _duration_lookup(self, ref: TaskRef) -> asyncio.Future[timedelta | None]:
        """The history lookup of ``ref``: one in flight is joined; a finished one serves
        while younger than cache_seconds (runs finish every day, so the p90 drifts)."""
        state = self._loop()
        entry = state.durations.get(ref.key)
        if (
            entry is None
            or entry[1].cancelled()
            or (entry[1].done() and entry[1].exception() is not None)
            or (entry[1].done() and not self.cache.fresh(entry[0]))
        ):
            entry = (self.clock(), self._spawn(self._fetch_duration(ref)))
            state.durations[ref.key] = entry
        return entry[1]

    def _forget(self, ref: TaskRef) -> None:
        """After a write to ``ref``: its details, and every cached upcoming-runs listing
        (Talend may leave a paused task's triggers out of events/search), are out of date."""
        self.cache.drop(("task", ref.key))
        self.cache.drop_kind("events")
        if self._state is not None:
            self._state.details.pop(ref.key, None)

    async def _fetch_task(self, ref: TaskRef) -> Task | None:
        """The task or plan now, or ``None`` if Talend no longer has it."""
        noun = self._noun(ref)
        what = f"{noun} {ref.id} (GET /orchestration/executables/{noun}s/{{id}})"
        try:
            response = await self._call(
                "GET", f"/orchestration/executables/{self._path(ref)}", what=what
            )
        except ConnectorError as exc:
            if exc.status == 404:
                self.cache.drop(("task", ref.key))
                return None
            raise
        if ref.kind is TaskKind.PLAN:
            plan = self.http.parse(response, _PlanDetails, what)
            found = self._task(ref, plan.name, plan.planPauseDetails, plan.workspace)
        else:
            task = self.http.parse(response, _TaskDetails, what)
            found = self._task(ref, task.name, task.taskPauseDetails, task.workspace)
        self.cache.put(("task", ref.key), found)
        return found

    def _task(
        self,
        ref: TaskRef,
        name: str,
        details: _PauseDetails | None,
        workspace: _WorkspaceInfo | None = None,
    ) -> Task:
        paused = bool(details and details.pause)
        return Task(
            system=self.system,
            kind=ref.kind,
            id=ref.id,
            name=name or ref.id,
            paused=paused,
            paused_by=details.user if details and paused else None,
            pause_reason=details.pauseContext if details and paused else None,
            paused_at=details.pauseDate if details and paused else None,
            vendor_state="paused" if paused else "active",
            groups=workspace.groups if workspace is not None else (),
        )

    async def _fetch_duration(self, ref: TaskRef) -> timedelta | None:
        """p90 of the recent finished runs, or ``None`` without history."""
        noun = self._noun(ref)
        what = f"run history of {noun} {ref.id}"
        try:
            response = await self._call(
                "GET",
                f"/processing/executables/{self._path(ref)}/executions",
                params={"lastDays": HISTORY_DAYS, "limit": HISTORY_RUNS, "offset": 0},
                what=what,
            )
        except ConnectorError as exc:
            if exc.status == 404:
                return None
            raise
        page = self.http.parse(response, _ExecutionPage, what)
        return estimate_duration(
            e.finishTimestamp - e.startTimestamp
            for e in page.items
            if e.startTimestamp is not None and e.finishTimestamp is not None
        )

    # -- the Connector interface -----------------------------------------------------------
    async def upcoming_runs(
        self, start: datetime, end: datetime, *, durations_before: datetime | None = None
    ) -> list[Run]:
        start, end = utc(start), utc(end)
        if end <= start:
            return []
        env = await self.environment()
        body: dict[str, Any] = {"environmentId": env, "from": _ms(start), "to": _ms(end)}
        if self.workspace_ids:
            body["workspaceIds"] = list(self.workspace_ids)
        refs: dict[str, TaskRef] = {}
        needs_history: dict[str, asyncio.Future[timedelta | None]] = {}

        def discover(page: _EventsPage) -> None:
            for event in page.items:
                key = f"{event.type}:{event.id}"
                if key not in refs:
                    refs[key] = self.ref(_kind(event.type), event.id)
                    self._prefetch(refs[key], history=False, live=False)
                if key not in needs_history and (
                    durations_before is None or event.date < durations_before
                ):
                    # Only a run before the window can overlap it by its length: a history
                    # request per task is spent only where the answer can change the report.
                    needs_history[key] = self._duration_lookup(refs[key])

        what = "events/search"
        # The trigger times of a window change when someone edits a schedule: an earlier
        # check's pages serve while younger than cache_seconds and while the first page,
        # read every time, still shows the same total and items.
        cache_key = ("events", json.dumps(body, sort_keys=True))
        pages = await self._pages(
            "POST",
            "/orchestration/executables/events/search",
            _EventsPage,
            what,
            body=body,
            on_page=discover,
            known=self.cache.get(cache_key),
        )
        # Kept for the few windows being discussed, not every window anyone checked.
        self.cache.put(cache_key, pages, most=EVENTS_LISTINGS_KEPT)
        wanted = list(needs_history)
        durations: dict[str, timedelta | None] = dict.fromkeys(refs)
        durations.update(
            zip(
                wanted,
                await _all(self._shielded(needs_history[k]) for k in wanted),
                strict=True,
            )
        )
        seen: set[tuple[str, str, datetime]] = set()
        runs: list[Run] = []
        for page in pages:
            for event in page.items:
                at = event.date.astimezone(UTC)
                mark = (event.type, event.id, at)
                if mark in seen or not start <= at < end:
                    continue  # pages can overlap when the schedule changes mid-listing
                seen.add(mark)
                key = f"{event.type}:{event.id}"
                runs.append(Run(task=refs[key], at=at, expected_duration=durations[key]))
        runs.sort(key=lambda r: (r.at, r.task.key))
        return runs

    async def running_now(self) -> list[RunningNow]:
        env = await self.environment()
        scopes: list[dict[str, Any]] = (
            [{"environmentId": env, "workspaceId": w} for w in self.workspace_ids]
            if self.workspace_ids
            else [{"environmentId": env}]
        )
        queries: list[tuple[TaskKind, str, dict[str, Any]]] = []
        for scope in scopes:
            for status in ("executing", "dispatching"):
                queries.append(
                    (
                        TaskKind.TASK,
                        "/processing/executables/tasks/executions",
                        {**scope, "status": status},
                    )
                )
            queries.append(
                (
                    TaskKind.PLAN,
                    "/processing/executables/plans/executions",
                    {**scope, "status": "executing"},
                )
            )

        found: dict[str, tuple[TaskRef, _Execution]] = {}
        histories: dict[str, asyncio.Future[timedelta | None]] = {}

        def collect(kind: TaskKind) -> Any:
            def on_page(page: _ExecutionPage) -> None:
                for item in page.items:
                    item_id = item.planId if kind is TaskKind.PLAN else item.taskId
                    # The server filters by status; checking again keeps a finished run
                    # from being reported as running if a filter is ever ignored.
                    if not item_id or item.status not in ("executing", "dispatching"):
                        continue
                    ref = self.ref(kind, item_id)
                    mark = item.executionId or f"{ref.key}@{item.startTimestamp}"
                    if mark not in found:
                        found[mark] = (ref, item)
                        lookup = self._prefetch(ref)
                        assert lookup is not None
                        histories.setdefault(ref.key, lookup)

            return on_page

        await _all(
            (
                self._pages(
                    "GET",
                    path,
                    _ExecutionPage,
                    f"{params['status']} {kind.value}s ({path})",
                    params=params,
                    on_page=collect(kind),
                )
                for kind, path, params in queries
            )
        )
        refs = {ref.key: ref for ref, _ in found.values()}
        durations = dict(
            zip(refs, await _all(self._shielded(histories[k]) for k in refs), strict=True)
        )
        return [
            RunningNow(
                task=ref,
                started_at=item.startTimestamp,  # absent while dispatching (R2025-06)
                expected_duration=durations[ref.key],
                execution_id=item.executionId,
            )
            for ref, item in found.values()
        ]

    async def describe(self, refs: Sequence[TaskRef]) -> list[Task]:
        state = self._loop()
        now = self.clock()
        unique = list({r.key: r for r in refs}.values())
        lookups: list[Awaitable[Task | None]] = []
        for ref in unique:
            entry = state.details.pop(ref.key, None)  # a prefetch serves one describe
            if entry is not None and now - entry[0] <= PREFETCH_TTL:
                lookups.append(entry[1])
            elif (cached := self.cache.get(("task", ref.key))) is not None:
                # Only left unread by upcoming_runs (running tasks are always prefetched).
                lookups.append(_ready(cached))
            else:
                lookups.append(self._fetch_task(ref))
        found = await _all(lookups, self.concurrency)
        return [t for t in found if t is not None]

    async def list_tasks(self) -> list[Task]:
        env = await self.environment()
        task_pages, plan_pages = await _both(
            self._pages(
                "GET",
                "/orchestration/executables/tasks",
                _TaskPage,
                "task list (GET /orchestration/executables/tasks)",
                params={"environmentId": env},
            ),
            self._pages(
                "GET",
                "/orchestration/executables/plans",
                _PlanPage,
                "plan list (GET /orchestration/executables/plans)",
                params={"environmentId": env},
            ),
        )

        def wanted(workspace: _WorkspaceRef | _WorkspaceInfo | None) -> bool:
            return not self.workspace_ids or (
                workspace is not None and workspace.id in self.workspace_ids
            )

        # The task list carries no pause flag (TaskExtract), so each task is read once more.
        task_refs = list(
            {
                s.executable: self.ref(TaskKind.TASK, s.executable)
                for page in task_pages
                for s in page.items
                if wanted(s.workspace)
            }.values()
        )
        tasks = await _all((self._fetch_task(r) for r in task_refs), self.concurrency)
        # The plan list already holds planPauseDetails.
        plans = {
            p.executable: self._task(
                self.ref(TaskKind.PLAN, p.executable), p.name, p.planPauseDetails, p.workspace
            )
            for page in plan_pages
            for p in page.items
            if wanted(p.workspace)
        }
        return [t for t in tasks if t is not None] + list(plans.values())

    async def read_state(self, ref: TaskRef) -> Task:
        task = await self._fetch_task(ref)
        if task is None:
            raise ConnectorError(
                self.system,
                f"Talend has no {self._noun(ref)} {ref.id} (404); it may have been deleted",
                status=404,
            )
        return task

    async def pause(self, ref: TaskRef, reason: str) -> bool:
        return await self._set_pause(ref, True, reason)

    async def resume(self, ref: TaskRef, prior: Task | None = None) -> bool:
        if prior is not None and prior.paused:
            # Paused before maintbot touched it: someone else's pause is theirs to lift.
            return False
        return await self._set_pause(ref, False, None)

    async def _set_pause(self, ref: TaskRef, pause: bool, reason: str | None) -> bool:
        noun = self._noun(ref)
        verb = "pause" if pause else "resume"
        # A targeted action, not a full replace: the PUT is on the ``/pause`` sub-resource
        # and TaskPauseDetails holds only the pause, so the task's definition is never sent
        # and cannot be lost (tests/test_vendor_roundtrip.py).
        body: dict[str, Any] = {"pause": pause}
        if reason:
            body["pauseContext"] = reason
        self._forget(ref)
        try:
            response = await self._call(
                "PUT",
                f"/orchestration/executables/{self._path(ref)}/pause",
                json_body=body,
                ok=(202, 204),
                what=f"{verb} {noun} {ref.id}",
                needs=_AUTHOR_ROLE,
            )
        except ConnectorError as exc:
            if exc.status == 404:
                raise ConnectorError(
                    self.system,
                    f"cannot {verb} {noun} {ref.id}: Talend has no such {noun} (404); it "
                    "may have been deleted since it was listed",
                    status=404,
                ) from None
            raise
        finally:
            self._forget(ref)
        # 202: accepted, state changes; 204: "Nothing Change" (already in that state).
        return response.status_code == 202

    async def skipped_runs(self, ref: TaskRef, start: datetime, end: datetime) -> list[SkippedRun]:
        start, end = utc(start), utc(end)
        reason = _PAUSED_REASONS.get(ref.kind)
        if reason is None or end <= start:
            return []
        url = f"/processing/executables/{self._path(ref)}/executions"
        # The processing API serves periods of at most 60 days.
        spans: list[tuple[datetime, datetime]] = []
        cursor = start
        while cursor < end:
            spans.append((cursor, min(end, cursor + timedelta(days=HISTORY_DAYS))))
            cursor = spans[-1][1]
        what = f"run history of {self._noun(ref)} {ref.id}"
        results = await asyncio.gather(
            *(
                self._pages(
                    "GET",
                    url,
                    _ExecutionPage,
                    what,
                    params={"from": _ms(lo), "to": _ms(hi)},
                )
                for lo, hi in spans
            )
        )
        skipped: dict[str, SkippedRun] = {}
        for pages in results:
            for page in pages:
                for item in page.items:
                    at = item.triggerTimestamp or item.startTimestamp
                    if item.misfiredExecutionReason != reason or at is None:
                        continue
                    at = at.astimezone(UTC)
                    if start <= at < end:
                        skipped[item.executionId or at.isoformat()] = SkippedRun(
                            task=ref, at=at, reason=reason
                        )
        return sorted(skipped.values(), key=lambda s: s.at)


def _transport(connections: int) -> AiohttpTransport:
    return AiohttpTransport(connections=connections, ssl_context=shared_ssl_context())


def _build(setup: Setup[TalendConfig]) -> TalendConnector:
    """Build the connector for ``[schedulers.<name>]``; ``credentials`` maps the roles
    ``token`` or ``client_id`` + ``client_secret`` to their values."""
    name, config, credentials = setup.name, setup.config, setup.credentials
    auth: HeaderAuth | TalendTokenAuth
    if config.token_env:
        token = credentials.get("token")
        if not token:
            raise ConfigError(f"{name}: the personal access token ({config.token_env}) is empty")
        auth = HeaderAuth("Authorization", f"Bearer {token}")
        auth.secrets = (f"Bearer {token}", token)
    else:
        client_id, secret = credentials.get("client_id"), credentials.get("client_secret")
        if not client_id or not secret:
            raise ConfigError(
                f"{name}: the service account needs {config.client_id_env} and "
                f"{config.client_secret_env}"
            )
        audience = config.audience or config.base_url.rstrip("/")
        auth = TalendTokenAuth(setup.clock, client_id, secret, audience)
    # The shared default (10) suits vendors that publish no limit; Talend allows 1,800 a
    # minute, and a check fans out to hundreds of lookups, so an unset value gets more.
    concurrency = (
        config.max_concurrency
        if "max_concurrency" in config.model_fields_set
        else DEFAULT_CONCURRENCY
    )
    # httpcore's pool scans every connection for every queued request, so its cost per
    # request grows with the square of the pool: measured on loopback at 40 ms latency, 32
    # connections in one pool cost 2.9 ms of CPU per request, four pools of 8 cost 0.65 ms.
    # Hence several clients of at most SHARD_CONNECTIONS each, sharing one authenticator
    # (one token, one refresh) and one rate limiter (Talend's limit is per caller).
    shard_count = -(-concurrency // SHARD_CONNECTIONS)
    per_shard = min(concurrency, SHARD_CONNECTIONS)
    shards = [
        setup.http(
            auth,
            rate_per_minute=config.rate_per_minute,
            max_connections=per_shard,
            headers={"Accept": "application/json"},
            transport=setup.transport or _transport(per_shard),
        )
        for _ in range(shard_count)
    ]
    for shard in shards[1:]:
        shard.limiter = shards[0].limiter
    return TalendConnector(
        name,
        shards[0],
        setup.clock,
        environment_id=config.environment_id,
        workspace_ids=config.workspace_ids,
        concurrency=concurrency,
        shards=shards[1:],
    )


from_config = connector_factory(TalendConfig, "Talend", _build)
