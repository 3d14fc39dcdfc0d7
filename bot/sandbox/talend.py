"""A loopback simulator of the Talend Management Console APIs maintbot uses.

It serves exactly the operations the connector calls (see ``add_routes``), with Talend's
paths, bodies, paging and error shape, and, when Talend's own OpenAPI files are at hand
(``../shared/vendor-specs/talend`` beside the repository, or ``MAINTBOT_TALEND_SPECS``),
validates every request against them with openapi-core so the connector is held to the
vendor's contract rather than to this simulator's reading of it.

Facts the public material leaves open, and what this simulator does about them (the
contracts file, section 1 and gap list 6.1, marks each as INFERRED or a gap):

* ``events/search`` on a paused task: undocumented. This simulator **keeps** paused tasks'
  runs in the result (they would fire once resumed). The connector never relies on either
  reading: it takes pause state from the task itself.
* A scheduled run that comes due while the task is paused: recorded as an execution with
  status ``execution_rejected`` and ``misfiredExecutionReason`` ``TASK_IS_PAUSED`` (plans:
  ``execution_misfired`` / ``PLAN_EXECUTIONS_PAUSED``). INFERRED from the enum values.
* Execution lists come newest first. INFERRED; the spec does not say.
* ``to`` in events/search is exclusive; ``from``/``to`` on execution lists match runs that
  overlap the period, as the spec describes. Dates are UTC with a ``Z`` suffix.
* Token lifetime: 30 minutes (docs) unless a test sets ``token_ttl``; ``expires_in`` is a
  string, as the OAuth spec types it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import heapq
import itertools
import json
import logging
import os
import threading
import uuid
import zlib
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.clock import Clock, system_clock
from bot.sandbox.base import Handler, Simulator, json_response
from bot.sandbox.talend_data import Executable, catalogue

__all__ = ["TalendSimulator", "spec_dir"]

log = logging.getLogger(__name__)

_DAY_MS = 86_400_000
_MAX_LIMIT = 100

CLIENT_ID_ENV = "MAINTBOT_SANDBOX_TALEND_CLIENT_ID"
CLIENT_SECRET_ENV = "MAINTBOT_SANDBOX_TALEND_CLIENT_SECRET"


# -- request validation against Talend's OpenAPI files -----------------------------------------

_SPEC_FILES = {
    "/security/": "oauth.json",
    "/orchestration/": "orchestration.json",
    "/processing/": "processing.json",
}
# The specs' first server; openapi-core matches full URLs, so requests are presented as if
# sent there rather than to 127.0.0.1.
_SPEC_HOST = "https://api.eu.cloud.talend.com"
_openapi: dict[Path, Any] = {}
_openapi_lock = threading.Lock()
_missing_logged = False


def spec_dir() -> Path | None:
    """Where Talend's OpenAPI files are: ``MAINTBOT_TALEND_SPECS`` when set (an explicit
    setting wins, so pointing it at nothing turns validation off), else ``shared/`` beside
    the repository."""
    explicit = os.environ.get("MAINTBOT_TALEND_SPECS")
    if explicit:
        path = Path(explicit)
    else:
        repo_root = Path(__file__).resolve().parents[2]
        path = repo_root.parent / "shared" / "vendor-specs" / "talend"
    return path if path.is_dir() else None


def _validator_installed() -> bool:
    """Whether openapi-core can be imported. It is a test dependency (``pip install -e
    '.[test]'``), not a runtime one: the bot never validates, and the image leaves it out.
    Imported rather than looked up: validation follows at once when it is there."""
    try:
        import openapi_core  # noqa: F401
    except ImportError:
        return False
    return True


def _openapi_for(path: Path) -> Any:
    """The openapi-core object for one spec file, built once per process (it takes a few
    hundred milliseconds for the orchestration file)."""
    with _openapi_lock:
        api = _openapi.get(path)
        if api is None:
            from openapi_core import OpenAPI

            api = OpenAPI.from_dict(json.loads(path.read_text(encoding="utf-8")))
            _openapi[path] = api
        return api


class _SpecRequest:
    """An aiohttp request as openapi-core's ``Request`` protocol wants it."""

    def __init__(self, request: web.Request, body: bytes) -> None:
        from openapi_core.datatypes import RequestParameters

        self.parameters = RequestParameters(
            query=request.query, header=request.headers, cookie=request.cookies
        )
        self.host_url = _SPEC_HOST
        self.path = request.path
        self.method = request.method.lower()
        self.body: bytes | None = body or None
        self.content_type = request.content_type if body else "application/json"


def _describe_spec_error(exc: Exception) -> str:
    text = str(exc)
    cause = exc.__cause__
    errors = getattr(cause, "schema_errors", None)
    if errors:
        text += ": " + "; ".join(getattr(e, "message", str(e)) for e in errors)
    elif cause is not None:
        text += f": {cause}"
    return text


# -- simulated state ---------------------------------------------------------------------------


@dataclass
class _State:
    """One task or plan and what has happened to it since the simulator started."""

    exe: Executable
    paused: bool = False
    context: str | None = None
    user: str | None = None
    user_type: str | None = None
    pause_date: datetime | None = None
    # (start, end) in epoch ms of every pause, end exclusive and None while it lasts.
    pauses: list[tuple[int, int | None]] = field(default_factory=list)
    deleted: bool = False

    @property
    def max_duration(self) -> int:
        return int(self.exe.duration * 1.2) + 20_000

    def paused_at(self, t: int) -> bool:
        return any(start <= t and (end is None or t < end) for start, end in self.pauses)


@dataclass(frozen=True)
class _Run:
    status: str  # Talend's coarse status word
    start: int | None
    finish: int | None


class _Newest:
    """A newest-first view over ascending, ordered, disjoint parts (lists or lazy ranges)."""

    def __init__(self, parts: Sequence[Sequence[int]]) -> None:
        self.parts = [p for p in parts if len(p)]

    def __len__(self) -> int:
        return sum(len(p) for p in self.parts)

    def __iter__(self) -> Iterator[int]:
        for part in reversed(self.parts):
            for i in range(len(part) - 1, -1, -1):
                yield part[i]


@functools.lru_cache(maxsize=1 << 16)
def _iso(ms: int) -> str:
    # Cached: a busy check formats the same few thousand minutes over and over.
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class _BadRequest(Exception):
    def __init__(self, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


class TalendSimulator(Simulator):
    """Talend Management Console on loopback: OAuth, orchestration and processing."""

    vendor = "talend"
    client_id = "maintbot-sandbox"
    client_secret = "sandbox-talend-secret-7f3a9c"  # demo value; not a real credential
    personal_token = "sandbox-talend-pat-2b61e0d4"  # demo value; not a real credential

    def __init__(
        self,
        *,
        clock: Clock = system_clock,
        scale: int = 1,
        seed: int = 7,
        validate: bool | None = None,
    ) -> None:
        super().__init__(clock=clock, scale=scale, seed=seed)
        self.environments, self.workspace_list, executables = catalogue(seed, self.scale)
        self.workspaces = {w.id: w for w in self.workspace_list}
        # Docs: tokens last 30 minutes; the spec's example says 3600 s (contracts §1.2
        # CONFLICT). The client trusting expires_in and else assuming 30 min is INFERRED.
        self.token_ttl = timedelta(minutes=30)
        # Knobs for tests: the roles the caller has, and the CONFLICT in contracts §1.5 on
        # where a workspace carries its environment (nested object per the spec, or a flat
        # environmentId per the use-case page; which one to read first is INFERRED).
        self.can_read = True
        self.can_author = True
        self.nested_environment = True
        self._born = _ms(clock())
        self._items: dict[str, _State] = {}
        for exe in executables:
            state = _State(exe)
            if exe.paused is not None:
                since = self._born - exe.paused.ago
                state.paused = True
                state.context = exe.paused.context
                state.user = exe.paused.user
                state.user_type = exe.paused.user_type
                state.pause_date = datetime.fromtimestamp(since / 1000, UTC)
                state.pauses.append((since, None))
            self._items[exe.id] = state
        self._identities: dict[str, tuple[str, str]] = {}
        self._events_cache: OrderedDict[tuple[Any, ...], list[tuple[int, str, str]]] = OrderedDict()
        self._version = 0
        self._spec_dir = spec_dir() if validate is not False else None
        if validate and self._spec_dir is None:
            raise FileNotFoundError("Talend OpenAPI files not found; set MAINTBOT_TALEND_SPECS")
        if self._spec_dir is not None and not _validator_installed():
            message = (
                f"Talend OpenAPI files found in {self._spec_dir} but openapi-core is not "
                "installed: install the test extra (pip install -e '.[test]')"
            )
            if validate:
                raise ModuleNotFoundError(message)
            log.info("%s; requests are not validated", message)
            self._spec_dir = None

    # -- what the harness and tests use --------------------------------------------------------
    @property
    def environment_id(self) -> str:
        return next(e.id for e in self.environments if e.default)

    @property
    def validating(self) -> bool:
        return self._spec_dir is not None

    def id_of(self, name: str) -> str:
        for state in self._items.values():
            if state.exe.name == name:
                return state.exe.id
        raise KeyError(name)

    def executable(self, item_id: str) -> Executable:
        return self._items[item_id].exe

    def set_duration(self, item_id: str, duration: timedelta) -> None:
        """Make a task's or plan's runs take ``duration``, its past ones too, as if it had
        grown since it was first seen."""
        with self._lock:
            state = self._items[item_id]
            state.exe = replace(state.exe, duration=int(duration.total_seconds() * 1000))
            self._version += 1

    def delete(self, item_id: str) -> None:
        """Remove a task or plan, as if someone deleted it in TMC."""
        with self._lock:
            self._items[item_id].deleted = True
            self._version += 1

    def set_pause(
        self, item_id: str, paused: bool, *, user: str = "someone@example.com", context: str = ""
    ) -> None:
        """Pause or resume as another TMC user would, outside maintbot."""
        with self._lock:
            self._apply_pause(self._items[item_id], paused, context, (user, "HUMAN"))

    def state(self) -> dict[str, Any]:
        with self._lock:
            items = sorted(
                (s for s in self._items.values() if not s.deleted),
                key=lambda s: (s.exe.kind, s.exe.name),
            )
            return {
                "tasks": [
                    {
                        "id": s.exe.id,
                        "name": s.exe.name,
                        "type": s.exe.kind,
                        "workspace": self.workspaces[s.exe.workspace_id].name,
                        "environment": self.workspaces[s.exe.workspace_id].environment_id,
                        "schedule": s.exe.schedule.text if s.exe.schedule else None,
                        "paused": s.paused,
                        "pause_context": s.context,
                        "user": s.user,
                    }
                    for s in items
                ]
            }

    def config_entry(self) -> dict[str, Any]:
        return {
            "vendor": "talend",
            "base_url": self.base_url,
            "environment_id": self.environment_id,
            "client_id_env": CLIENT_ID_ENV,
            "client_secret_env": CLIENT_SECRET_ENV,
        }

    def credentials(self) -> dict[str, str]:
        return {CLIENT_ID_ENV: self.client_id, CLIENT_SECRET_ENV: self.client_secret}

    # -- plumbing ------------------------------------------------------------------------------
    def error_body(self, status: int, message: str, detail: str | None = None) -> web.Response:
        """Talend's ``ErrorResponse``: status, message (for users), detail (for developers)."""
        return json_response(
            {
                "status": status,
                "message": message,
                "detail": detail or message,
                "requestId": str(uuid.uuid4()),
            },
            status=status,
        )

    def make_app(self) -> web.Application:
        app = super().make_app()
        # After the base middleware, so invalid requests are still recorded and faults fire.
        app.middlewares.append(self._gatekeeper)
        return app

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_post("/security/oauth/token", self._token)
        r.add_get("/orchestration/workspaces", self._workspaces_handler)
        r.add_post("/orchestration/executables/events/search", self._events_search)
        r.add_get("/orchestration/executables/tasks", self._list_tasks)
        r.add_get("/orchestration/executables/tasks/{item_id}", self._get_task)
        r.add_put("/orchestration/executables/tasks/{item_id}/pause", self._pause_task)
        r.add_get("/orchestration/executables/plans", self._list_plans)
        r.add_get("/orchestration/executables/plans/{item_id}", self._get_plan)
        r.add_put("/orchestration/executables/plans/{item_id}/pause", self._pause_plan)
        r.add_get("/processing/executables/tasks/executions", self._task_executions_all)
        r.add_get("/processing/executables/tasks/{item_id}/executions", self._task_executions)
        r.add_get("/processing/executables/plans/executions", self._plan_executions_all)
        r.add_get("/processing/executables/plans/{item_id}/executions", self._plan_executions)

    @web.middleware
    async def _gatekeeper(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Spec validation, then the bearer token, then the handler; every refusal in
        Talend's error shape."""
        if request.path.startswith("/_sandbox/"):
            return await handler(request)
        refusal = await self._check_spec(request)
        if refusal is not None:
            return refusal
        if not request.path.startswith("/security/"):
            if self._caller(request) is None:
                return self.error_body(
                    401, "Unauthorized", "Token authorization is required for access"
                )
            if not self.can_read:
                return self._forbidden()
        try:
            return await handler(request)
        except _BadRequest as exc:
            message = "Bad Request" if exc.status == 400 else "Not Found"
            return self.error_body(exc.status, message, exc.detail)

    async def _check_spec(self, request: web.Request) -> web.Response | None:
        global _missing_logged
        if self._spec_dir is None:
            if not _missing_logged:
                _missing_logged = True
                log.info("Talend OpenAPI files not found: requests are not validated")
            return None
        name = next((f for p, f in _SPEC_FILES.items() if request.path.startswith(p)), None)
        if name is None:
            return None
        from openapi_core.exceptions import OpenAPIError
        from openapi_core.templating.paths.exceptions import PathError
        from openapi_core.validation.request.exceptions import SecurityValidationError

        api = _openapi_for(self._spec_dir / name)
        try:
            api.validate_request(_SpecRequest(request, await request.read()))
        except SecurityValidationError:
            return self.error_body(401, "Unauthorized", "Token authorization is required")
        except PathError as exc:
            return self.error_body(404, "Not Found", str(exc))
        except OpenAPIError as exc:
            return self.error_body(400, "Bad Request", _describe_spec_error(exc))
        return None

    def _forbidden(self) -> web.Response:
        return self.error_body(403, "Forbidden", "No permissions to access resource")

    def _caller(self, request: web.Request) -> tuple[str, str] | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        if token == self.personal_token:
            return ("sandbox.user@example.com", "HUMAN")
        if self.token_valid(token):
            with self._lock:
                return self._identities.get(token)
        return None

    # -- OAuth ---------------------------------------------------------------------------------
    async def _token(self, request: web.Request) -> web.Response:
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except ValueError:
            decoded = ""
        client_id, _, secret = decoded.partition(":")
        if scheme.lower() != "basic" or (client_id, secret) != (
            self.client_id,
            self.client_secret,
        ):
            return json_response({"status": 401, "detail": "Bad credentials"}, status=401)
        body = await self._json(request)
        if body.get("grant_type") != "client_credentials":
            raise _BadRequest("grant_type must be client_credentials")
        if not str(body.get("audience", "")).strip():
            raise _BadRequest("audience is required")
        token = self._jwt(client_id)
        with self._lock:
            self._tokens[token] = self.clock() + self.token_ttl
            self._identities[token] = (client_id, "SERVICE")
        return json_response(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": str(int(self.token_ttl.total_seconds())),
            }
        )

    def _jwt(self, subject: str) -> str:
        def part(data: dict[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

        expires = int((self.clock() + self.token_ttl).timestamp())
        signature = base64.urlsafe_b64encode(os.urandom(24)).decode().rstrip("=")
        header = part({"alg": "HS256", "typ": "JWT"})
        return f"{header}.{part({'sub': subject, 'exp': expires})}.{signature}"

    # -- orchestration -------------------------------------------------------------------------
    def _workspace_json(self, workspace_id: str) -> dict[str, Any]:
        ws = self.workspaces[workspace_id]
        env = next(e for e in self.environments if e.id == ws.environment_id)
        body: dict[str, Any] = {
            "id": ws.id,
            "name": ws.name,
            "owner": "admin",
            "type": ws.type,
        }
        if self.nested_environment:
            body["environment"] = {"id": env.id, "name": env.name, "default": env.default}
        else:
            body["environmentId"] = env.id
        return body

    async def _workspaces_handler(self, request: web.Request) -> web.Response:
        return json_response([self._workspace_json(w.id) for w in self.workspace_list])

    def _known_environment(self, env_id: str | None) -> None:
        if env_id is not None and all(e.id != env_id for e in self.environments):
            raise _BadRequest(f"Environment {env_id} not found", status=404)

    def _in_scope(
        self, state: _State, env_id: str | None, workspace_ids: Sequence[str] | None
    ) -> bool:
        if state.deleted:
            return False
        ws = self.workspaces[state.exe.workspace_id]
        if env_id is not None and ws.environment_id != env_id:
            return False
        return not workspace_ids or ws.id in workspace_ids

    async def _events_search(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        env_id = body.get("environmentId")
        if not isinstance(env_id, str) or "to" not in body:
            raise _BadRequest("environmentId and to are required")
        self._known_environment(env_id)
        limit, offset = self._paging(body.get("limit"), body.get("offset"))
        to_ms = self._int(body["to"], "to")
        from_ms = self._int(body.get("from", _ms(self.clock())), "from")
        if to_ms < from_ms:
            raise _BadRequest("to must not be before from")
        # workspaceIds (array, spec) rather than the 2022 note's workspaceId: INFERRED.
        workspace_ids = body.get("workspaceIds") or None
        events = self._events(env_id, from_ms, to_ms, tuple(workspace_ids or ()))
        page = events[offset : offset + limit]
        # Items carry no name or pause state, so a client must read each task (INFERRED),
        # and ``type`` may be PLAN (which is why plans have a pause endpoint: INFERRED).
        # Offset paging until offset + len(items) reaches total is INFERRED too.
        return json_response(
            {
                "items": [{"id": i, "date": _iso(t), "type": k} for t, k, i in page],
                "limit": limit,
                "offset": offset,
                "total": len(events),
            }
        )

    def _events(
        self, env_id: str, from_ms: int, to_ms: int, workspace_ids: tuple[str, ...]
    ) -> list[tuple[int, str, str]]:
        """Every fire time in ``[from, to)``, sorted; cached because a check pages through
        the same range many times at once."""
        key = (env_id, from_ms, to_ms, workspace_ids, self._version)
        with self._lock:
            cached = self._events_cache.get(key)
            if cached is not None:
                self._events_cache.move_to_end(key)
                return cached
            events: list[tuple[int, str, str]] = []
            for state in self._items.values():
                # Paused tasks keep their events: see the module docstring (gap 6.1).
                schedule = state.exe.schedule
                if schedule is None or not self._in_scope(state, env_id, workspace_ids):
                    continue
                kind, item_id = state.exe.kind, state.exe.id
                events.extend((t, kind, item_id) for t in schedule.occurrences(from_ms, to_ms))
            events.sort()
            self._events_cache[key] = events
            while len(self._events_cache) > 16:
                self._events_cache.popitem(last=False)
            return events

    def _summary(self, state: _State) -> dict[str, Any]:
        return {
            "executable": state.exe.id,
            "name": state.exe.name,
            "workspace": self._workspace_json(state.exe.workspace_id),
            "artifactId": stable_artifact(state.exe.id),
            "runtime": {"type": "CLOUD"},
        }

    def _pause_json(self, state: _State) -> dict[str, Any]:
        if not state.paused:
            return {"pause": False}
        details: dict[str, Any] = {"pause": True}
        if state.context:
            details["pauseContext"] = state.context
        if state.user:
            details["user"] = state.user
        if state.user_type:
            details["userType"] = state.user_type
        if state.pause_date:
            details["pauseDate"] = _iso(_ms(state.pause_date))
        return details

    async def _list_tasks(self, request: web.Request) -> web.Response:
        return self._list(request, "TASK", self._summary)

    async def _list_plans(self, request: web.Request) -> web.Response:
        return self._list(request, "PLAN", self._plan_json)

    def _list(self, request: web.Request, kind: str, render: Any) -> web.Response:
        q = request.query
        env_id = q.get("environmentId")
        self._known_environment(env_id)
        limit, offset = self._paging(q.get("limit"), q.get("offset"))
        workspace = q.get("workspaceId")
        name = q.get("name", "").lower()
        with self._lock:
            found = sorted(
                (
                    s
                    for s in self._items.values()
                    if s.exe.kind == kind
                    and self._in_scope(s, env_id, [workspace] if workspace else None)
                    and name in s.exe.name.lower()
                ),
                key=lambda s: (s.exe.name, s.exe.id),
            )
            items = [render(s) for s in found[offset : offset + limit]]
        return json_response(
            {"items": items, "limit": limit, "offset": offset, "total": len(found)}
        )

    def _lookup(self, request: web.Request, kind: str) -> _State:
        state = self._items.get(request.match_info["item_id"])
        if state is None or state.deleted or state.exe.kind != kind:
            noun = "Task" if kind == "TASK" else "Plan"
            raise _BadRequest(f"{noun} {request.match_info['item_id']} not found", status=404)
        return state

    async def _get_task(self, request: web.Request) -> web.Response:
        with self._lock:
            state = self._lookup(request, "TASK")
            return json_response(
                {
                    "id": state.exe.id,
                    "name": state.exe.name,
                    "description": state.exe.schedule.text if state.exe.schedule else "manual",
                    "workspace": self._workspace_json(state.exe.workspace_id),
                    "version": "0.1",
                    "artifact": {
                        "id": stable_artifact(state.exe.id),
                        "name": state.exe.name,
                        "version": "0.1.0",
                    },
                    "tags": [],
                    "taskPauseDetails": self._pause_json(state),
                }
            )

    def _plan_json(self, state: _State) -> dict[str, Any]:
        return {
            "executable": state.exe.id,
            "name": state.exe.name,
            "workspace": self._workspace_json(state.exe.workspace_id),
            "description": state.exe.schedule.text if state.exe.schedule else "manual",
            "planPauseDetails": self._pause_json(state),
        }

    async def _get_plan(self, request: web.Request) -> web.Response:
        with self._lock:
            return json_response(self._plan_json(self._lookup(request, "PLAN")))

    async def _pause_task(self, request: web.Request) -> web.Response:
        return await self._pause(request, "TASK")

    async def _pause_plan(self, request: web.Request) -> web.Response:
        return await self._pause(request, "PLAN")

    async def _pause(self, request: web.Request, kind: str) -> web.Response:
        if not self.can_author:
            return self._forbidden()
        body = await self._json(request)
        pause = body.get("pause")
        if not isinstance(pause, bool):
            raise _BadRequest("pause must be true or false")
        context = body.get("pauseContext")
        caller = self._caller(request) or ("unknown", "HUMAN")
        with self._lock:
            state = self._lookup(request, kind)
            changed = self._apply_pause(
                state, pause, context if isinstance(context, str) else None, caller
            )
        # 202: accepted (Talend applies it in the background; here it is immediate, which
        # is what the use-case pages say users observe). 204: "Nothing Change", so pausing
        # a paused task is a no-op rather than an error: INFERRED from that description.
        return web.Response(status=202 if changed else 204)

    def _apply_pause(
        self, state: _State, pause: bool, context: str | None, caller: tuple[str, str]
    ) -> bool:
        if state.paused == pause:
            return False
        now = _ms(self.clock())
        state.paused = pause
        if pause:
            state.context = context
            state.user, state.user_type = caller
            state.pause_date = self.clock()
            state.pauses.append((now, None))
        else:
            state.context = state.user = state.user_type = None
            state.pause_date = None
            if state.pauses and state.pauses[-1][1] is None:
                state.pauses[-1] = (state.pauses[-1][0], now)
        return True

    # -- processing ----------------------------------------------------------------------------
    def _run(self, state: _State, trigger: int, now: int) -> _Run:
        """What became of the run triggered at ``trigger``, deterministically."""
        exe = state.exe
        if exe.manual is not None and trigger == self._born - exe.manual.started_ago:
            if exe.manual.status == "dispatching":
                return _Run("dispatching", None, None)
            return _Run("executing", trigger + 20_000, None)
        if state.paused_at(trigger):
            # INFERRED (contracts §1.6): a trigger that fires during a pause is kept as a
            # rejected execution carrying misfiredExecutionReason TASK_IS_PAUSED.
            return _Run("execution_rejected", None, None)
        h = zlib.crc32(f"{exe.id}:{trigger}".encode())
        start = trigger + 2_000 + (h & 0x3FFF)  # dispatch takes 2-18 s
        spread = 0.8 + 0.35 * ((h >> 14) & 0xFFFF) / 0xFFFF
        failed = (h >> 30) == 3 and (h & 0x7) == 0  # about 3 % of runs fail early
        duration = int(exe.duration * (0.3 if failed else spread))
        if start > now:
            return _Run("dispatching", None, None)
        if start + duration > now:
            return _Run("executing", start, None)
        return _Run(
            "execution_failed" if failed else "execution_successful", start, start + duration
        )

    def _triggers(self, state: _State, lo: int, hi: int, now: int, status: str | None) -> _Newest:
        """Runs of one executable that overlap ``[lo, hi]`` (triggered no later than now),
        optionally only those with ``status``; newest first."""
        exe = state.exe
        hi = min(hi, now)
        if hi < lo:
            return _Newest([])
        if exe.manual is not None:
            trigger = self._born - exe.manual.started_ago
            runs = [trigger] if lo - state.max_duration <= trigger <= hi else []
            return _Newest([[t for t in runs if self._matches(state, t, lo, now, status)]])
        if exe.schedule is None:
            return _Newest([])
        if status in ("execution_rejected", "execution_misfired"):
            spans = [
                exe.schedule.occurrences(
                    max(lo, start), min(hi + 1, hi + 1 if end is None else end)
                )
                for start, end in state.pauses
            ]
            hits = sorted({t for span in spans for t in span})
            return _Newest([hits])
        head = [
            t
            for t in exe.schedule.occurrences(lo - state.max_duration, lo)
            if self._overlaps(state, t, lo, now)
        ]
        if status in ("executing", "dispatching"):
            recent = exe.schedule.occurrences(max(lo, now - state.max_duration), hi + 1)
            return _Newest(
                [[t for t in [*head, *recent] if self._run(state, t, now).status == status]]
            )
        tail = exe.schedule.occurrences(lo, hi + 1)
        if status is None:
            return _Newest([head, tail])
        return _Newest([[t for t in (*head, *tail) if self._matches(state, t, lo, now, status)]])

    def _overlaps(self, state: _State, trigger: int, lo: int, now: int) -> bool:
        run = self._run(state, trigger, now)
        if run.start is None:
            return trigger >= lo
        return (run.finish if run.finish is not None else now) >= lo

    def _matches(self, state: _State, trigger: int, lo: int, now: int, status: str | None) -> bool:
        if not self._overlaps(state, trigger, lo, now):
            return False
        if status is None:
            return True
        coarse = self._run(state, trigger, now).status
        if status == "execution_misfired":
            return coarse == "execution_rejected"
        if status == "terminated":
            return coarse.startswith("terminated")
        return coarse == status

    def _task_execution(self, state: _State, trigger: int, now: int) -> dict[str, Any]:
        run = self._run(state, trigger, now)
        fine = {
            "dispatching": "DISPATCHING_FLOW",
            "executing": "STARTING_FLOW_EXECUTION",
            "execution_rejected": "EXECUTION_REJECTED",
            "execution_successful": "EXECUTION_SUCCESS",
            "execution_failed": "EXECUTION_FAILED",
        }[run.status]
        manual = state.exe.manual is not None
        item: dict[str, Any] = {
            "executionId": _execution_id(state.exe.id, trigger),
            "taskId": state.exe.id,
            "taskVersion": "0.1",
            "executionType": "MANUAL" if manual else "SCHEDULED",
            "status": run.status,
            "executionStatus": fine,
            "triggerTimestamp": _iso(trigger),
            "userId": "ops.engineer@example.com" if manual else "scheduler",
            "userType": "HUMAN" if manual else "SERVICE",
            "runtime": {"type": "CLOUD"},
            "parallelExecutionAllowed": False,
        }
        # Timestamps appear only once a run has started / finished (release note R2025-06).
        if run.start is not None:
            item["startTimestamp"] = _iso(run.start)
        if run.finish is not None:
            item["finishTimestamp"] = _iso(run.finish)
        if run.status == "execution_rejected":
            item["misfiredExecutionReason"] = "TASK_IS_PAUSED"  # INFERRED, see _run
        if run.status == "execution_failed":
            item["errorMessage"] = "Job ended with exit code 1"
        return item

    def _plan_execution(self, state: _State, trigger: int, now: int) -> dict[str, Any]:
        run = self._run(state, trigger, now)
        coarse, fine = {
            "dispatching": ("executing", "STARTED"),
            "executing": ("executing", "STARTED"),
            "execution_rejected": ("execution_misfired", "EXECUTION_MISFIRED"),
            "execution_successful": ("execution_successful", "EXECUTION_SUCCESS"),
            "execution_failed": ("execution_failed", "EXECUTION_FAILED"),
        }[run.status]
        item: dict[str, Any] = {
            "executionId": _execution_id(state.exe.id, trigger),
            "planId": state.exe.id,
            "executionStatus": fine,
            "status": coarse,
            "executionType": "SCHEDULED",
            # startTimestamp is required by PlanExecutionStatus; a misfire never started, so
            # the trigger time stands in for it.
            "startTimestamp": _iso(run.start if run.start is not None else trigger),
            "userId": "scheduler",
            "userType": "SERVICE",
        }
        if run.finish is not None:
            item["finishTimestamp"] = _iso(run.finish)
        if coarse == "execution_misfired":
            item["misfiredExecutionReason"] = "PLAN_EXECUTIONS_PAUSED"  # INFERRED
        return item

    def _period(self, q: Mapping[str, str], now: int) -> tuple[int, int]:
        last_days = q.get("lastDays")
        if "from" in q or "to" in q:
            hi = self._int(q.get("to", now), "to")
            lo = self._int(q.get("from", hi - 60 * _DAY_MS), "from")
            if hi < lo:
                raise _BadRequest("to must not be before from")
            if hi - lo > 60 * _DAY_MS:
                raise _BadRequest("the period between from and to must not exceed 60 days")
            return lo, hi
        days = self._int(last_days if last_days is not None else 60, "lastDays")
        if not 1 <= days <= 60:
            raise _BadRequest("lastDays must be in range [1, 60]")
        return now - days * _DAY_MS, now

    async def _task_executions(self, request: web.Request) -> web.Response:
        with self._lock:
            state = self._lookup(request, "TASK")
        return self._executions(request, [state], self._task_execution)

    async def _plan_executions(self, request: web.Request) -> web.Response:
        with self._lock:
            state = self._lookup(request, "PLAN")
        return self._executions(request, [state], self._plan_execution)

    async def _task_executions_all(self, request: web.Request) -> web.Response:
        return self._executions(request, self._scoped(request, "TASK"), self._task_execution)

    async def _plan_executions_all(self, request: web.Request) -> web.Response:
        return self._executions(request, self._scoped(request, "PLAN"), self._plan_execution)

    def _scoped(self, request: web.Request, kind: str) -> list[_State]:
        env_id = request.query.get("environmentId")
        workspace = request.query.get("workspaceId")
        self._known_environment(env_id)
        with self._lock:
            return [
                s
                for s in self._items.values()
                if s.exe.kind == kind
                and self._in_scope(s, env_id, [workspace] if workspace else None)
            ]

    def _executions(
        self, request: web.Request, states: Sequence[_State], render: Any
    ) -> web.Response:
        q = request.query
        now = _ms(self.clock())
        limit, offset = self._paging(q.get("limit"), q.get("offset"))
        lo, hi = self._period(q, now)
        status = q.get("status")
        with self._lock:
            views = [(s, self._triggers(s, lo, hi, now, status)) for s in states]
            total = sum(len(v) for _, v in views)
            streams = [_tagged(s, v) for s, v in views]
            merged = heapq.merge(*streams, key=lambda pair: pair[0], reverse=True)
            page = [render(s, t, now) for t, s in itertools.islice(merged, offset, offset + limit)]
        return json_response({"items": page, "limit": limit, "offset": offset, "total": total})

    # -- small helpers -------------------------------------------------------------------------
    async def _json(self, request: web.Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.read() or b"{}")
        except ValueError:
            raise _BadRequest("the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise _BadRequest("the body must be a JSON object")
        return body

    @staticmethod
    def _int(value: Any, name: str) -> int:
        if isinstance(value, bool):
            raise _BadRequest(f"{name} must be an integer")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _BadRequest(f"{name} must be an integer") from None

    def _paging(self, limit: Any, offset: Any) -> tuple[int, int]:
        # The spec states these ranges only in prose ("Must be in range [1, 100]"), so
        # openapi-core cannot enforce them; the simulator does.
        size = self._int(limit if limit is not None else _MAX_LIMIT, "limit")
        start = self._int(offset if offset is not None else 0, "offset")
        if not 1 <= size <= _MAX_LIMIT:
            raise _BadRequest("limit must be in range [1, 100]")
        if start < 0:
            raise _BadRequest("offset must be greater than or equal to 0")
        return size, start


def _tagged(state: _State, triggers: _Newest) -> Iterator[tuple[int, _State]]:
    for trigger in triggers:
        yield trigger, state


def stable_artifact(item_id: str) -> str:
    return hashlib.sha1(f"artifact:{item_id}".encode()).hexdigest()[:24]


def _execution_id(item_id: str, trigger: int) -> str:
    return str(uuid.UUID(bytes=hashlib.md5(f"{item_id}:{trigger}".encode()).digest()))
