"""Loopback simulator of BMC Helix Continuous Optimization's backend ETL API and the Helix
Portal access-key login: the endpoints maintbot uses, Bearer JWT checks, role checks, and
sample ETLs whose times are computed relative to the simulator's clock.

Where contracts.md §3 leaves a gap, the simulator takes one reading and says so:

* ``stop`` on a ``WAITING`` batch ETL also removes its schedule (→ ``ENDED``); on a
  ``SERVICE_ON`` service ETL it gives ``SERVICE_OFF``; on a ``RUNNING`` batch ETL it aborts the
  execution (→ ``ENDED``). Setting ``stop_keeps_schedule`` switches to the other reading
  (stop leaves a ``WAITING`` ETL scheduled), so tests can show the connector notices.
* ``stop`` on an ETL that is not running or scheduled is a no-op answered ``request_status:
  OK`` (idempotency is undocumented); its answer has the same shape as run/schedule.
* ``schedule`` on a service ETL is refused with ``request_status: ERROR``.
* Errors are JSON ``{"status", "message"}`` (the error body is undocumented).
* A ``RUNNING`` ETL's ``last_exec_ts`` is the start of the current execution. A
  ``WAITING`` one runs daily on a hidden schedule (the API exposes none), so its
  ``last_exec_ts`` moves on as the clock does; its runs are instantaneous here.
* Edge shapes: ``task_id`` as a string for some ETLs, ``exit_code``/``last_exec_ts`` and
  ``run_configurations`` left out for others, an empty ``status`` and an absent one.
* Access keys: the demo key holds every role; ``readonly-access-key`` can read but not
  stop/run/schedule; ``norole-access-key`` can log in but read nothing (403s).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from aiohttp import web

from bot.clock import Clock, system_clock
from bot.sandbox.base import Simulator, json_response

__all__ = ["BmcSimulator"]

ACCESS_KEY_ENV = "MAINTBOT_SANDBOX_BMC_ACCESS_KEY"
SECRET_KEY_ENV = "MAINTBOT_SANDBOX_BMC_SECRET_KEY"
DEMO_ACCESS_KEY = "sandbox-access-key"
DEMO_SECRET_KEY = "bmc-sandbox-secret-key"
READONLY_ACCESS_KEY = "readonly-access-key"
READONLY_SECRET_KEY = "readonly-sandbox-secret"
NOROLE_ACCESS_KEY = "norole-access-key"
NOROLE_SECRET_KEY = "norole-sandbox-secret"
TENANT_ID = "sandbox-tenant"

LOGIN_PATH = "/ims/api/v1/access_keys/login"
ETLS_PATH = "/opt/api/v1/backend/etls/"

READ_ROLES = frozenset(
    {"capacity_optimization.admin.etls_read", "capacity_optimization.admin.admin_section_read"}
)
WRITE_ROLES = frozenset(
    {"capacity_optimization.custom_etl.edit", "capacity_optimization.admin.admin_section_edit"}
)
_STOPPED = ("SERVICE_OFF", "ENDED")


@dataclass(frozen=True)
class _Template:
    name: str
    service: bool
    state: str | None  # None: the status field is absent
    last_exec_hours: float | None = None  # hours before the simulator's start


# Twenty ETLs per unit of scale: half waiting for their next run, one batch ETL and two
# services running now, some stopped by someone else, and the inert ones.
_TEMPLATES = (
    _Template("VMware vCenter extractor (prod)", False, "WAITING", 3),
    _Template("AWS CloudWatch API ETL", False, "WAITING", 5),
    _Template("Azure Monitor API ETL", False, "WAITING", 7),
    _Template("Kubernetes Prometheus ETL", False, "RUNNING", 0.25),
    _Template("Helix Operations Management service", True, "SERVICE_ON", 72),
    _Template("Splunk connector service", True, "SERVICE_ON", 48),
    _Template("Dynatrace service ETL", True, "SERVICE_OFF", 50),
    _Template("Nutanix Prism ETL", False, "ENDED", 96),
    _Template("Oracle database agent ETL", False, "WAITING", 11),
    _Template("Windows agent ETL", False, "WAITING", 2),
    _Template("HP-UX legacy ETL", False, "ENDED", 400),
    _Template("NetApp storage ETL", False, "ABORTED", 20),
    _Template("CMDB import", False, "", None),
    _Template("What-if scenario importer", False, None, None),
    _Template("SAP HANA ETL", False, "WAITING", None),
    _Template("Google Cloud ETL", False, "WAITING", 9),
    _Template("IBM Power HMC ETL", False, "WAITING", 13),
    _Template("Business drivers CSV import", False, "ENDED", 200),
    _Template("Network SNMP ETL", False, "WAITING", 4),
    _Template("Cloud cost data ETL", False, "WAITING", 6),
)


@dataclass
class _Etl:
    etl_id: int
    name: str
    service: bool
    state: str | None
    scheduled: bool  # hidden: a batch ETL's schedule, which the API does not expose
    task_id: int
    exit_code: str | None
    last_exec: datetime | None
    run_ends: datetime | None
    style: int  # 1: task_id as a string; 2: optional fields left out
    removed: bool = False
    # Hidden, like the schedule itself: a waiting batch ETL runs daily from ``last_exec``,
    # each run a few seconds late, so ``last_exec_ts`` moves on as the clock does.
    period: timedelta | None = None
    phase: datetime | None = None

    def last_run(self, now: datetime) -> datetime | None:
        if self.period is None or self.phase is None or now < self.phase:
            return self.last_exec
        k = int((now - self.phase) / self.period)
        while k > 0:
            late = timedelta(seconds=random.Random(f"{self.etl_id}:{k}").randrange(30))
            at = self.phase + k * self.period + late
            if at <= now:
                return at
            k -= 1
        return self.phase

    @property
    def paused(self) -> bool:
        return self.state in _STOPPED


@dataclass(frozen=True)
class _Key:
    secret: str
    roles: frozenset[str]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class BmcSimulator(Simulator):
    vendor: ClassVar[str] = "bmc"
    token_lifetime: ClassVar[timedelta] = timedelta(minutes=15)  # BMC's documented JWT life

    def __init__(
        self,
        *,
        clock: Clock = system_clock,
        scale: int = 1,
        seed: int = 7,
        etls: int | None = None,
    ) -> None:
        super().__init__(clock=clock, scale=scale, seed=seed)
        self.keys: dict[str, _Key] = {
            DEMO_ACCESS_KEY: _Key(DEMO_SECRET_KEY, READ_ROLES | WRITE_ROLES),
            READONLY_ACCESS_KEY: _Key(READONLY_SECRET_KEY, READ_ROLES),
            NOROLE_ACCESS_KEY: _Key(NOROLE_SECRET_KEY, frozenset()),
        }
        self.tenant_id = TENANT_ID
        self.stop_keeps_schedule = False
        # ETL ids whose next stop/run/schedule answers request_status ERROR (once each).
        self.refuse_next: set[str] = set()
        self._token_roles: dict[str, frozenset[str]] = {}
        self._next_request = 90000
        count = etls if etls is not None else len(_TEMPLATES) * self.scale
        self.etls: list[_Etl] = self._build(count)

    def _build(self, count: int) -> list[_Etl]:
        anchor = self.clock().astimezone(UTC).replace(second=0, microsecond=0)
        result = []
        for i in range(count):
            template = _TEMPLATES[i % len(_TEMPLATES)]
            copy = i // len(_TEMPLATES)
            last = (
                None
                if template.last_exec_hours is None
                else anchor - timedelta(hours=template.last_exec_hours + (i * 7 % 60) / 60)
            )
            running = template.state == "RUNNING"
            if running:
                last = anchor - timedelta(minutes=15)
            exit_code = {"ABORTED": "ERROR", "RUNNING": None}.get(template.state or "", "OK")
            result.append(
                _Etl(
                    etl_id=101 + i,
                    name=template.name if copy == 0 else f"{template.name} #{copy + 1}",
                    service=template.service,
                    state=template.state,
                    scheduled=template.state in ("WAITING", "RUNNING"),
                    task_id=5001 + i,
                    exit_code=exit_code if last is not None else None,
                    last_exec=last,
                    run_ends=anchor + timedelta(minutes=105) if running else None,
                    style=i % 3,
                    period=timedelta(days=1)
                    if template.state == "WAITING" and last is not None
                    else None,
                    phase=last if template.state == "WAITING" else None,
                )
            )
        return result

    def _settle(self, etl: _Etl) -> None:
        """Let time pass: a batch run that is over goes back to its schedule, or ends; a
        waiting one has run whenever its hidden schedule came due."""
        if etl.state == "WAITING" and etl.scheduled:
            etl.last_exec = etl.last_run(self.clock())
        if etl.state == "RUNNING" and etl.run_ends is not None and self.clock() >= etl.run_ends:
            etl.state = "WAITING" if etl.scheduled else "ENDED"
            etl.exit_code = "OK"
            etl.run_ends = None

    # -- helpers for tests and scripts ------------------------------------------------------
    def by_name(self, name: str) -> _Etl:
        return next(e for e in self.etls if e.name == name)

    def state_of(self, etl_id: int | str) -> str | None:
        with self._lock:
            etl = self._get(str(etl_id))
            assert etl is not None
            self._settle(etl)
            return etl.state

    def set_state(self, etl_id: int | str, state: str) -> None:
        """Change an ETL as someone using BMC's console would."""
        with self._lock:
            etl = self._get(str(etl_id))
            assert etl is not None
            etl.state = state
            etl.scheduled = state in ("WAITING", "RUNNING")

    def remove(self, etl_id: int | str) -> None:
        with self._lock:
            etl = self._get(str(etl_id))
            assert etl is not None
            etl.removed = True

    def _get(self, etl_id: str) -> _Etl | None:
        for etl in self.etls:
            if str(etl.etl_id) == etl_id and not etl.removed:
                return etl
        return None

    # -- Simulator interface ----------------------------------------------------------------
    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(LOGIN_PATH, self._login)
        app.router.add_get(ETLS_PATH, self._list)
        app.router.add_get(ETLS_PATH + "{etl_id}/status", self._status)
        app.router.add_post(ETLS_PATH + "{etl_id}/{action:run|schedule|stop}", self._action)

    def state(self) -> dict[str, Any]:
        with self._lock:
            tasks = []
            for etl in self.etls:
                if etl.removed:
                    continue
                self._settle(etl)
                tasks.append(
                    {
                        "id": str(etl.etl_id),
                        "name": etl.name,
                        "state": etl.state or "",
                        "paused": etl.paused,
                        "service": etl.service,
                        "scheduled": etl.scheduled,
                    }
                )
            return {"tasks": tasks}

    def config_entry(self) -> dict[str, Any]:
        return {
            "vendor": "bmc",
            "base_url": self.base_url,
            "ims_url": self.base_url,
            "access_key_env": ACCESS_KEY_ENV,
            "access_secret_key_env": SECRET_KEY_ENV,
            "tenant_id": self.tenant_id,
        }

    def credentials(self) -> dict[str, str]:
        return {ACCESS_KEY_ENV: DEMO_ACCESS_KEY, SECRET_KEY_ENV: DEMO_SECRET_KEY}

    # -- HTTP -------------------------------------------------------------------------------
    async def _login(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
        except ValueError:
            return self.error_body(400, "The request body is not valid JSON")
        if not isinstance(body, dict):
            return self.error_body(400, "Expected {access_key, access_secret_key}")
        access_key = body.get("access_key")
        secret = body.get("access_secret_key")
        if not isinstance(access_key, str) or not isinstance(secret, str):
            return self.error_body(400, "access_key and access_secret_key are required")
        tenant = body.get("tenant_id")
        key = self.keys.get(access_key)
        if key is None or key.secret != secret or tenant not in (None, self.tenant_id):
            return self.error_body(401, "Invalid access key, secret or tenant")
        token, _ = self.issue_token()
        with self._lock:
            self._token_roles[token] = key.roles
        return json_response({"json_web_token": token})

    def _authorise(self, request: web.Request, needed: frozenset[str]) -> web.Response | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not self.token_valid(token):
            return self.error_body(401, "Missing or expired JSON web token")
        with self._lock:
            roles = self._token_roles.get(token, frozenset())
        if not roles & needed:
            return self.error_body(403, f"Forbidden: requires permission {sorted(needed)[0]}")
        return None

    async def _list(self, request: web.Request) -> web.Response:
        refusal = self._authorise(request, READ_ROLES)
        if refusal is not None:
            return refusal
        with self._lock:
            items = []
            for etl in self.etls:
                if etl.removed:
                    continue
                item: dict[str, Any] = {"name": etl.name, "etl_id": etl.etl_id}
                if etl.style != 2:
                    item["run_configurations"] = [
                        {
                            "name": "Default run configuration",
                            "active": True,
                            "run_configuration_id": etl.etl_id * 10 + 1,
                        }
                    ]
                items.append(item)
        return json_response(items)

    async def _status(self, request: web.Request) -> web.Response:
        refusal = self._authorise(request, READ_ROLES)
        if refusal is not None:
            return refusal
        with self._lock:
            etl = self._get(request.match_info["etl_id"])
            if etl is None:
                return self.error_body(404, f"ETL {request.match_info['etl_id']} not found")
            self._settle(etl)
            body: dict[str, Any] = {
                "task_id": str(etl.task_id) if etl.style == 1 else etl.task_id,
                "exit_code": etl.exit_code,
                "last_exec_ts": _iso(etl.last_exec) if etl.last_exec else None,
            }
            if etl.state is not None:
                body["status"] = etl.state
            if etl.style == 2:
                body = {k: v for k, v in body.items() if v is not None}
        return json_response(body)

    async def _action(self, request: web.Request) -> web.Response:
        refusal = self._authorise(request, WRITE_ROLES)
        if refusal is not None:
            return refusal
        raw = await request.read()
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                return self.error_body(400, "The request body is not valid JSON")
            properties = body.get("run_execution_properties", {}) if isinstance(body, dict) else 0
            if not isinstance(properties, dict):
                return self.error_body(400, "run_execution_properties must be an object")
        action = request.match_info["action"]
        with self._lock:
            etl = self._get(request.match_info["etl_id"])
            if etl is None:
                return self.error_body(404, f"ETL {request.match_info['etl_id']} not found")
            self._settle(etl)
            if str(etl.etl_id) in self.refuse_next:
                self.refuse_next.discard(str(etl.etl_id))
                return self._result(etl, ok=False)
            if action == "run":
                accepted = self._run(etl)
            elif action == "schedule":
                accepted = self._schedule(etl)
            else:
                accepted = self._stop(etl)
            return self._result(etl, ok=accepted)

    def _result(self, etl: _Etl, *, ok: bool) -> web.Response:
        if etl.service:
            request_id = -1  # BMC answers -1 for service ETLs
        else:
            self._next_request += 1
            request_id = self._next_request
        return json_response(
            {"task_execution_request_id": request_id, "request_status": "OK" if ok else "ERROR"}
        )

    def _run(self, etl: _Etl) -> bool:
        now = self.clock()
        if etl.service:
            if etl.state != "SERVICE_ON":
                etl.state, etl.last_exec = "SERVICE_ON", now
            return True
        if etl.state == "RUNNING":
            return False
        etl.state, etl.last_exec, etl.exit_code = "RUNNING", now, None
        etl.run_ends = now + timedelta(minutes=45)
        return True

    def _schedule(self, etl: _Etl) -> bool:
        if etl.service:
            return False  # a service ETL runs continuously; it has no schedule to arm
        etl.scheduled = True
        if etl.state != "RUNNING":
            etl.state = "WAITING"
        return True

    def _stop(self, etl: _Etl) -> bool:
        if etl.state == "SERVICE_ON":
            etl.state = "SERVICE_OFF"
        elif etl.state == "WAITING" and not self.stop_keeps_schedule:
            etl.state, etl.scheduled = "ENDED", False
        elif etl.state == "RUNNING":
            etl.state, etl.scheduled, etl.run_ends, etl.exit_code = "ENDED", False, None, "ERROR"
        return True
