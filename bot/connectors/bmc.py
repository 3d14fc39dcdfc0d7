"""BMC Helix Continuous Optimization connector (backend ETL API, ``/opt/api/v1/backend/etls``).

What the API gives and what it does not (contracts.md §3):

* A 15-minute JWT from the Helix Portal's ``POST /ims/api/v1/access_keys/login``
  (``json_web_token``), sent as ``Authorization: Bearer``; :class:`CachedTokenAuth` logs in
  again a minute before it runs out, and once more on any 401.
* ``GET …/etls/`` lists ETLs (no state); ``GET …/etls/{id}/status`` gives one ETL's state
  word, so states are read one ETL at a time with bounded concurrency.
* No run times and no run history: ``WAITING`` only says a next run is scheduled, so it is
  a run at an unknown time (``may_fire``); ``RUNNING`` and ``SERVICE_ON`` are runs in
  progress. ``last_exec_ts`` is the only time there is, so no durations are known and a
  run in progress is reported without an expected end. The check records every
  ``last_exec_ts`` it sees in the store (``records_history``), and once those show a
  pattern a ``WAITING`` ETL's runs are predicted from them (:mod:`bot.predict`).

Readings chosen where the contracts mark a fact INFERRED or a gap (each is covered by a test
in ``tests/test_bmc.py``):

* Paused means stopped: ``SERVICE_OFF`` (a service ETL someone stopped) and ``ENDED`` (a
  batch ETL that is not rescheduled). Neither fires on its own, and both are what
  maintbot's own pause leaves behind, so "already paused by someone else" is an ETL found in
  one of them before maintbot touched it: pausing it changes nothing and resuming it (with
  that prior state) leaves it stopped. ``ABORTED`` and an empty status are neither active
  nor paused: nothing is scheduled, so there is nothing to stop and nothing to restore.
* Pause is ``POST …/stop``. Whether stop also unschedules a ``WAITING`` batch ETL is not
  documented, so the state is read back after the stop and the pause only counts when BMC
  then reports ``SERVICE_OFF`` or ``ENDED``; anything else is an error saying it may still
  fire.
* A batch ETL that is ``RUNNING`` is not stopped: stop aborts the execution, which is more
  than a pause. The pause is refused with a message saying so.
* Resume restores exactly the state read before the pause: ``POST …/run`` for a service
  ETL that was ``SERVICE_ON`` (answers ``task_execution_request_id`` -1), ``POST
  …/schedule`` for a batch ETL that was ``WAITING``. That state comes from
  ``resume(ref, prior)``; without it, only a pause made by this same connector object is
  remembered, and otherwise the resume is refused rather than guessed (``run`` on a batch
  ETL would start an unscheduled execution, ``schedule`` on a service ETL is meaningless).
* ``request_status: ERROR`` is a failure; a 2xx without that field is checked by reading
  the state back. ``GET …/status`` may answer 200 or 204 (the docs list 204 with a body).
* The error body is undocumented: JSON ``message``-style fields or short text are quoted.
* ``last_exec_ts`` of a ``RUNNING`` ETL is taken as the start of the current execution.
* ``etl_id`` may be a number or text (both seen); ``status`` must be text when present (a
  status of another type is an error, never "never scheduled"), ``last_exec_ts`` an ISO
  8601 string within the years 1970-2200. Fields maintbot does not read (``task_id``,
  ``exit_code``, ``run_configurations``) are not checked.
* One check reads every status once: ``upcoming_runs`` and ``running_now`` share one sweep,
  and ``describe`` reuses it when it is only seconds old.
* No rate limit is published: no fixed cap; concurrency adapts (bot/connectors/pacing.py).
* Nothing is reused between checks (``cache_seconds`` changes nothing here): one status
  per ETL is both what is running now and whether the ETL is paused, and the ETL list is
  what says which statuses to read, so a new ETL would go unseen behind a cached list.
  One list and one status per ETL is the floor of the documented API.
* No groups (``Task.groups`` is empty): the ETL list answers ``name``, ``etl_id`` and
  ``run_configurations`` only. ETL custom properties can filter the list, but the
  contracts record neither the filter's syntax nor the properties in any answer, so there
  is nothing published to group by.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal, TypeVar

import httpx
from pydantic import BeforeValidator, ConfigDict, RootModel

from bot.clock import Clock, sane_instant
from bot.config import SchedulerConfig
from bot.connectors.base import (
    CachedTokenAuth,
    Connector,
    Setup,
    VendorHttp,
    connector_factory,
    gather_bounded,
)
from bot.connectors.shapes import IdOrNumber, StrictModel, url_id
from bot.errors import AuthError, ConnectorError
from bot.model import Run, RunningNow, Task, TaskKind, TaskRef

__all__ = [
    "ETLS_PATH",
    "LOGIN_PATH",
    "PAUSED_STATES",
    "TOKEN_LIFETIME",
    "BmcAuth",
    "BmcConfig",
    "BmcConnector",
    "from_config",
]


class BmcConfig(SchedulerConfig):
    vendor: Literal["bmc"]
    ims_url: str | None = None  # Helix Portal for the access-key login; default base_url
    access_key_env: str
    access_secret_key_env: str
    tenant_id: str | None = None


log = logging.getLogger(__name__)
T = TypeVar("T")

LOGIN_PATH = "/ims/api/v1/access_keys/login"
ETLS_PATH = "/opt/api/v1/backend/etls/"
TOKEN_LIFETIME = timedelta(minutes=15)
# BMC publishes no limit, so there is no fixed cap (rate_per_minute adds one): a check of
# thousands of ETLs (a list plus one status each) goes out as fast as the adaptive
# concurrency of bot/connectors/pacing.py finds the server answers.
DESCRIBE_REUSE_SECONDS = 5.0

RUNNING, SERVICE_ON, SERVICE_OFF, WAITING, ENDED, ABORTED = (
    "RUNNING",
    "SERVICE_ON",
    "SERVICE_OFF",
    "WAITING",
    "ENDED",
    "ABORTED",
)
NEVER_SCHEDULED = ""  # the API's empty or absent status: never run nor scheduled
PAUSED_STATES = frozenset({SERVICE_OFF, ENDED})
IN_PROGRESS = frozenset({RUNNING, SERVICE_ON})
INERT_STATES = frozenset({ABORTED, NEVER_SCHEDULED})
KNOWN_STATES = PAUSED_STATES | IN_PROGRESS | INERT_STATES | {WAITING}

_READ_ROLE = (
    "BMC needs capacity_optimization.admin.etls_read (or "
    "capacity_optimization.admin.admin_section_read) to read ETLs"
)
_WRITE_ROLE = (
    "BMC needs capacity_optimization.custom_etl.edit (or "
    "capacity_optimization.admin.admin_section_edit) to stop, run or schedule ETLs"
)


def _instant(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("expected an ISO-8601 string")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        # Value-free on purpose: the message may reach a user, vendor data should not.
        raise ValueError("expected an ISO-8601 string") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # documented as UTC
    return sane_instant(moment)


def _state(value: Any) -> str:
    if value is None:
        return NEVER_SCHEDULED  # documented: empty or absent means never run nor scheduled
    # Anything but text is not a state word; reading it as "never scheduled" would drop
    # the ETL from the report as if it could not run.
    if not isinstance(value, str) or len(value) > 64:
        raise ValueError("expected a status word")
    return value.strip().upper()


class _Model(StrictModel):
    pass


class _Etl(_Model):
    etl_id: IdOrNumber
    name: str | None = None


class _Etls(RootModel[list[_Etl]]):
    model_config = ConfigDict(strict=True)


class _Status(_Model):
    status: Annotated[str, BeforeValidator(_state)] = NEVER_SCHEDULED
    last_exec_ts: Annotated[datetime | None, BeforeValidator(_instant)] = None


class _RequestResult(_Model):
    task_execution_request_id: int | None = None
    request_status: str | None = None


class BmcAuth(CachedTokenAuth):
    """Access key + secret → 15-minute JWT from the Helix Portal (IMS)."""

    def __init__(
        self,
        clock: Clock,
        system: str,
        ims_url: str,
        access_key: str,
        secret_key: str,
        tenant_id: str | None,
    ) -> None:
        super().__init__(clock, (access_key, secret_key))
        self._system = system
        self._url = ims_url.rstrip("/") + LOGIN_PATH
        self._access_key = access_key
        self._secret_key = secret_key
        self._tenant_id = tenant_id

    async def login(self, http: VendorHttp) -> tuple[str, timedelta]:
        body = {"access_key": self._access_key, "access_secret_key": self._secret_key}
        if self._tenant_id:
            body["tenant_id"] = self._tenant_id
        response = await http.send(
            "POST", self._url, json_body=body, authenticated=False, what="BMC Helix login"
        )
        data = http.json(response, "BMC Helix login")
        token = data.get("json_web_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token.strip():
            raise AuthError(
                self._system,
                "BMC Helix login answered without a json_web_token; check the access key and "
                "tenant named in maintbot.toml",
            )
        return token.strip(), TOKEN_LIFETIME

    def header(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


class _Snapshot:
    """ETL list plus every ETL's status, as read at one moment."""

    def __init__(self, etls: Sequence[_Etl], statuses: Mapping[str, _Status]) -> None:
        self.etls = [e for e in etls if e.etl_id in statuses]  # vanished ones dropped
        self.statuses = statuses


class BmcConnector(Connector):
    """ETLs of one BMC Helix CO tenant, as :class:`~bot.model.TaskKind.ETL` tasks."""

    vendor: ClassVar[str] = "bmc"
    label: ClassVar[str] = "BMC Helix Continuous Optimization"
    records_history: ClassVar[bool] = True

    def __init__(
        self, system: str, http: VendorHttp, clock: Clock, *, max_concurrency: int = 10
    ) -> None:
        super().__init__(system, http, clock)
        self.max_concurrency = max_concurrency
        self._inflight: asyncio.Task[_Snapshot] | None = None
        self._last: tuple[float, _Snapshot] | None = None  # (monotonic time, snapshot)
        # State each ETL had when this object paused it; a fallback for resume without prior.
        self._paused_from: dict[str, str] = {}

    # -- plumbing ---------------------------------------------------------------------------
    async def _send(
        self, method: str, path: str, what: str, *, write: bool = False, ok: Sequence[int] = (200,)
    ) -> httpx.Response:
        try:
            return await self.http.send(
                method,
                path,
                what=what,
                ok=ok,
                # stop/run/schedule are not re-sent after a timeout: a run that did start
                # must not be started twice.
                idempotent=not write,
            )
        except AuthError as exc:
            if exc.status == 403:
                hint = _WRITE_ROLE if write else _READ_ROLE
                raise AuthError(self.system, f"{exc.detail}; {hint}", status=403) from None
            raise

    def _error(self, message: str, **kw: Any) -> ConnectorError:
        return self.http.error(message, **kw)

    async def _etls(self) -> list[_Etl]:
        response = await self._send("GET", ETLS_PATH, "BMC ETL list")
        return self.http.parse(response, _Etls, "BMC ETL list").root

    async def _status(self, etl_id: str) -> _Status | None:
        """The ETL's status; ``None`` if BMC no longer knows the ETL."""
        what = f"BMC status of ETL {etl_id}"
        path = f"{ETLS_PATH}{url_id(self.system, 'ETL', etl_id)}/status"
        try:
            response = await self._send("GET", path, what, ok=(200, 204))
        except ConnectorError as exc:
            if exc.status == 404:
                return None
            raise
        if not response.content.strip():
            # An empty answer is not "never scheduled": it says nothing, so it is an error.
            raise self._error(f"{what} came back empty (HTTP {response.status_code})")
        return self.http.parse(response, _Status, what)

    async def _fetch(self, etls: Sequence[_Etl]) -> _Snapshot:
        statuses = await gather_bounded(
            self.max_concurrency, (self._status(e.etl_id) for e in etls)
        )
        return _Snapshot(
            etls, {e.etl_id: s for e, s in zip(etls, statuses, strict=True) if s is not None}
        )

    async def _snapshot(self) -> _Snapshot:
        # upcoming_runs and running_now run concurrently within one check and need the same
        # data: the second caller joins the first one's reads instead of repeating them.
        # A finished read is never reused here (only describe may, see there), so these
        # always see BMC as it is now. Not shielded: when the check's deadline cancels the
        # callers, the reads stop with them.
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.ensure_future(self._fetch_all())
        return await self._inflight

    async def _fetch_all(self) -> _Snapshot:
        snap = await self._fetch(await self._etls())
        self._last = (time.monotonic(), snap)
        return snap

    def _task(self, etl: _Etl, status: _Status) -> Task:
        return Task(
            system=self.system,
            kind=TaskKind.ETL,
            id=etl.etl_id,
            name=etl.name or f"ETL {etl.etl_id}",
            paused=status.status in PAUSED_STATES,
            vendor_state=status.status,
        )

    # -- the Connector interface ------------------------------------------------------------
    async def list_tasks(self) -> list[Task]:
        snap = await self._snapshot()
        return [self._task(e, snap.statuses[e.etl_id]) for e in snap.etls]

    async def describe(self, refs: Sequence[TaskRef]) -> list[Task]:
        """Names and states for a check's conflicts. A check calls this right after
        upcoming_runs/running_now read every status; reading them again moments later would
        double the check's requests and could disagree with the runs just reported, so a
        snapshot younger than :data:`DESCRIBE_REUSE_SECONDS` is used. Pause, resume and
        read_state never use it."""
        wanted = {r.id for r in refs if r.system == self.system and r.kind is TaskKind.ETL}
        if self._last is not None and time.monotonic() - self._last[0] < DESCRIBE_REUSE_SECONDS:
            snap = self._last[1]
        else:
            # Only the ETLs asked about need a status read, not the whole tenant.
            snap = await self._fetch([e for e in await self._etls() if e.etl_id in wanted])
        return [self._task(e, snap.statuses[e.etl_id]) for e in snap.etls if e.etl_id in wanted]

    async def upcoming_runs(
        self, start: datetime, end: datetime, *, durations_before: datetime | None = None
    ) -> list[Run]:
        """A run at an unknown time for every ``WAITING`` ETL (and for stopped ones, whose
        conflicts carry ``paused`` so the report lists them apart). BMC exposes no run
        times, so ``start`` and ``end`` cannot narrow anything down."""
        snap = await self._snapshot()
        runs = []
        for etl in snap.etls:
            status = snap.statuses[etl.etl_id]
            state = status.status
            history: tuple[datetime, ...] = ()
            if state == WAITING:
                note = (
                    "BMC reports WAITING (a next run is scheduled) but its API exposes no run time"
                )
                # One point per check: the check keeps them (records_history), so a
                # prediction can learn the ETL's pattern over the days.
                history = (status.last_exec_ts,) if status.last_exec_ts else ()
            elif state in PAUSED_STATES:
                note = f"stopped in BMC ({state}); it runs only if someone restarts it"
            elif state not in KNOWN_STATES:
                note = f"unrecognised BMC status {state!r}; assumed it may run"
            else:
                continue
            runs.append(
                Run(task=self.ref(TaskKind.ETL, etl.etl_id), at=None, note=note, history=history)
            )
        return runs

    async def running_now(self) -> list[RunningNow]:
        snap = await self._snapshot()
        return [
            RunningNow(
                task=self.ref(TaskKind.ETL, etl.etl_id),
                # BMC keeps no run history, only last_exec_ts: no expected duration.
                started_at=snap.statuses[etl.etl_id].last_exec_ts,
            )
            for etl in snap.etls
            if snap.statuses[etl.etl_id].status in IN_PROGRESS
        ]

    async def read_state(self, ref: TaskRef) -> Task:
        url_id(self.system, "ETL", ref.id)  # before either request starts
        etls, status = await asyncio.gather(self._etls(), self._status(ref.id))
        etl = next((e for e in etls if e.etl_id == ref.id), None)
        if etl is None or status is None:
            raise self._error(f"BMC ETL {ref.id} was not found (deleted?)", status=404)
        return self._task(etl, status)

    async def _request(self, task: Task, action: str) -> None:
        self._last = None  # whatever happens next, the last snapshot no longer describes BMC
        what = f"BMC {action} of ETL '{task.name}'"
        path = f"{ETLS_PATH}{url_id(self.system, 'ETL', task.id)}/{action}"
        response = await self._send("POST", path, what, write=True, ok=(200, 201, 202, 204))
        if not response.content.strip():
            return  # accepted without a verdict: the caller reads the state back
        result = self.http.parse(response, _RequestResult, what)
        if result.request_status is not None and result.request_status.upper() != "OK":
            raise self._error(
                f"{what} was refused (request_status {result.request_status}); "
                f"the ETL is still {task.vendor_state or 'never scheduled'}"
            )
        if action == "run" and result.task_execution_request_id not in (None, -1):
            log.warning(
                "%s: run of service ETL %s answered request id %s, not -1",
                self.system,
                task.id,
                result.task_execution_request_id,
            )

    async def pause(self, ref: TaskRef, reason: str) -> bool:
        # BMC's stop takes no reason; the audit trail keeps it. stop, schedule and run are
        # targeted actions with no body, not a full replace: the ETL's configuration is
        # never written, so none can be lost (tests/test_vendor_roundtrip.py).
        task = await self.read_state(ref)
        state = task.vendor_state or NEVER_SCHEDULED
        if state in PAUSED_STATES or state in INERT_STATES:
            return False
        if state == RUNNING:
            raise self._error(
                f"ETL '{task.name}' is running a batch execution; BMC's stop would abort it, "
                "so maintbot does not stop it: let it finish, or stop it in BMC"
            )
        if state not in (SERVICE_ON, WAITING):
            raise self._error(
                f"ETL '{task.name}' is in an unrecognised state {state!r}; not stopping it"
            )
        await self._request(task, "stop")
        after = await self.read_state(ref)
        if not after.paused:
            raise self._error(
                f"BMC accepted stop for ETL '{task.name}' but it still reports "
                f"{after.vendor_state or 'no status'}; it may still run: check it in BMC"
            )
        self._paused_from[ref.id] = state
        return True

    async def resume(self, ref: TaskRef, prior: Task | None = None) -> bool:
        before = prior.vendor_state if prior is not None else self._paused_from.get(ref.id)
        if before is None:
            raise self._error(
                f"cannot resume ETL {ref.id} without the state it had before the pause: BMC "
                "restarts a service ETL with run and re-arms a batch ETL with schedule, and "
                "maintbot does not guess which; restart it in BMC"
            )
        if before not in (SERVICE_ON, WAITING):
            return False  # it was not active before the pause: leaving it stopped restores it
        task = await self.read_state(ref)
        state = task.vendor_state or NEVER_SCHEDULED
        if state == before:
            self._paused_from.pop(ref.id, None)
            return False
        if state not in PAUSED_STATES and state not in INERT_STATES:
            raise self._error(
                f"ETL '{task.name}' is {state} now, not stopped; not changing it "
                f"(it was {before} before the pause)"
            )
        action = "run" if before == SERVICE_ON else "schedule"
        await self._request(task, action)
        after = await self.read_state(ref)
        # RUNNING is accepted too: a re-armed ETL may fire at once, a service may be starting.
        expected = {before, RUNNING}
        if after.vendor_state not in expected:
            raise self._error(
                f"BMC accepted {action} for ETL '{task.name}' but it reports "
                f"{after.vendor_state or 'no status'}, not {before}: check it in BMC"
            )
        self._paused_from.pop(ref.id, None)
        return True


def _build(setup: Setup[BmcConfig]) -> BmcConnector:
    config = setup.config
    setup.require("access_key", "access_secret_key")
    auth = BmcAuth(
        setup.clock,
        setup.name,
        config.ims_url or config.base_url,
        setup.credentials["access_key"],
        setup.credentials["access_secret_key"],
        config.tenant_id,
    )
    http = setup.http(
        auth,
        rate_per_minute=config.rate_per_minute,
        max_connections=config.max_concurrency,
        headers={"Accept": "application/json", "Content-Type": "application/json"},
    )
    return BmcConnector(setup.name, http, setup.clock, max_concurrency=setup.concurrency_ceiling)


from_config = connector_factory(BmcConfig, "BMC", _build)
