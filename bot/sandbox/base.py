"""What every loopback simulator shares: an aiohttp app with request recording, injected
latency and faults, token bookkeeping, ``GET /_sandbox/state``, and a server that runs any
number of simulators on 127.0.0.1 in a background thread.

Faults can be set from Python (``sim.faults.fail(503, times=2)``) or over HTTP
(``POST /_sandbox/faults`` with the same fields), so tests, benchmarks and a person poking at
``maintbot sandbox`` use one mechanism.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from aiohttp import web

from bot.clock import Clock, system_clock

__all__ = ["Faults", "RecordedRequest", "SandboxServer", "Simulator", "json_response"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    # Monotonic arrival time: lets a benchmark prove a client's rate limit from the
    # vendor's side of the wire.
    received: float = 0.0

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class _Rule:
    status: int
    times: int
    path_contains: str | None
    body: str
    content_type: str
    headers: dict[str, str]


@dataclass
class Faults:
    """Scripted misbehaviour. Each rule fires ``times`` times on requests whose path contains
    ``path_contains`` (any path when ``None``), then disappears."""

    latency_ms: float = 0.0
    _rules: list[_Rule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    injected: int = 0

    def fail(
        self,
        status: int = 503,
        *,
        times: int = 1,
        path_contains: str | None = None,
        body: str | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        text = (
            body
            if body is not None
            else json.dumps({"status": status, "message": "injected fault"})
        )
        with self._lock:
            self._rules.append(
                _Rule(status, times, path_contains, text, content_type, headers or {})
            )

    def rate_limit(
        self, *, times: int = 1, retry_after: float = 1, path_contains: str | None = None
    ) -> None:
        self.fail(
            429,
            times=times,
            path_contains=path_contains,
            body=json.dumps({"status": 429, "message": "Too Many Requests"}),
            headers={"Retry-After": f"{retry_after:g}"},
        )

    def html_error(
        self, *, status: int = 502, times: int = 1, path_contains: str | None = None
    ) -> None:
        self.fail(
            status,
            times=times,
            path_contains=path_contains,
            body="<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>",
            content_type="text/html",
        )

    def malformed(
        self, *, times: int = 1, path_contains: str | None = None, body: str = '{"items": ['
    ) -> None:
        """A 200 whose body is not what the API documents (truncated JSON by default)."""
        self.fail(200, times=times, path_contains=path_contains, body=body)

    def take(self, path: str) -> _Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.path_contains is None or rule.path_contains in path:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
                    self.injected += 1
                    return rule
        return None

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self.latency_ms = 0.0


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        text=json.dumps(data, default=str),
        status=status,
        content_type="application/json",
        headers=headers,
    )


class Simulator(ABC):
    """Base of the four vendor simulators.

    Subclasses add their routes in :meth:`add_routes`, report their tasks in :meth:`state`
    and say how maintbot should be configured against them in :meth:`config_entry`.
    """

    vendor: ClassVar[str]
    token_lifetime: ClassVar[timedelta] = timedelta(minutes=30)

    def __init__(self, *, clock: Clock = system_clock, scale: int = 1, seed: int = 7) -> None:
        self.clock = clock
        self.scale = max(1, scale)
        self.seed = seed
        self.faults = Faults()
        self.requests: list[RecordedRequest] = []
        self._tokens: dict[str, datetime] = {}
        self._lock = threading.RLock()
        self.base_url = ""
        self.in_flight = 0
        self.peak_in_flight = 0  # most requests being served at once, as the vendor saw it

    # -- what subclasses provide ------------------------------------------------------------
    @abstractmethod
    def add_routes(self, app: web.Application) -> None: ...

    @abstractmethod
    def state(self) -> dict[str, Any]:
        """``GET /_sandbox/state``: the tasks with their current paused/enabled state."""

    @abstractmethod
    def config_entry(self) -> dict[str, Any]:
        """The ``[schedulers.<name>]`` table (without credentials' values) for this simulator."""

    @abstractmethod
    def credentials(self) -> dict[str, str]:
        """Environment variable name → value of the sandbox credentials ``config_entry`` names."""

    def error_body(self, status: int, message: str) -> web.Response:
        """The vendor's error shape; subclasses override to match their API."""
        return json_response({"status": status, "message": message}, status=status)

    # -- tokens -----------------------------------------------------------------------------
    def issue_token(self, lifetime: timedelta | None = None) -> tuple[str, timedelta]:
        life = lifetime or self.token_lifetime
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = self.clock() + life
        return token, life

    def token_valid(self, token: str | None) -> bool:
        if not token:
            return False
        with self._lock:
            expires = self._tokens.get(token)
        return expires is not None and self.clock() < expires

    def expire_tokens(self) -> None:
        """Invalidate every issued token, as if they had all run out."""
        with self._lock:
            self._tokens.clear()

    # -- the app ----------------------------------------------------------------------------
    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/_sandbox/state", self._state_handler)
        app.router.add_post("/_sandbox/faults", self._faults_handler)
        self.add_routes(app)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_sandbox/"):
            return await handler(request)
        body = await request.read()
        with self._lock:
            self.requests.append(
                RecordedRequest(
                    request.method,
                    request.path,
                    dict(request.query),
                    {k.lower(): v for k, v in request.headers.items()},
                    body,
                    time.monotonic(),
                )
            )
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            if self.faults.latency_ms:
                await asyncio.sleep(self.faults.latency_ms / 1000)
            # A request whose client has already hung up (cancelled after a sibling failed)
            # must not use up a fault meant for the next real request.
            gone = request.transport is None or request.transport.is_closing()
            rule = None if gone else self.faults.take(request.path)
            if rule is not None:
                return web.Response(
                    text=rule.body,
                    status=rule.status,
                    content_type=rule.content_type,
                    headers=rule.headers,
                )
            return await handler(request)
        finally:
            with self._lock:
                self.in_flight -= 1

    async def _state_handler(self, request: web.Request) -> web.Response:
        return json_response(self.state())

    async def _faults_handler(self, request: web.Request) -> web.Response:
        spec = await request.json()
        if "latency_ms" in spec:
            self.faults.latency_ms = float(spec["latency_ms"])
        if spec.get("expire_tokens"):
            self.expire_tokens()
        for rule in spec.get("fail", []):
            self.faults.fail(**rule)
        if spec.get("clear"):
            self.faults.clear()
        return json_response({"ok": True})

    def requests_to(self, path_contains: str, method: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [
                r
                for r in self.requests
                if path_contains in r.path and (method is None or r.method == method)
            ]


class SandboxServer:
    """Runs simulators on 127.0.0.1 in a daemon thread with its own event loop.

    ``port=0`` gives every simulator an ephemeral port; ``port=N`` gives them N, N+1, ….
    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self, simulators: Sequence[Simulator], *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.simulators = list(simulators)
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runners: list[web.AppRunner] = []
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __iter__(self) -> Iterator[Simulator]:
        return iter(self.simulators)

    def by_vendor(self, vendor: str) -> Simulator:
        for sim in self.simulators:
            if sim.vendor == vendor:
                return sim
        raise KeyError(vendor)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="maintbot-sandbox", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=30)
        if self._error is not None:
            raise self._error
        if not self._ready.is_set():
            raise RuntimeError("sandbox did not start within 30 s")

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._start_sites())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(self._cleanup())
        loop.close()

    async def _start_sites(self) -> None:
        for offset, sim in enumerate(self.simulators):
            runner = web.AppRunner(sim.make_app(), access_log=None, handle_signals=False)
            await runner.setup()
            port = 0 if self.port == 0 else self.port + offset
            site = web.TCPSite(runner, self.host, port, backlog=512)
            await site.start()
            self._runners.append(runner)
            bound = runner.addresses[0][1]  # the real port when 0 asked for an ephemeral one
            sim.base_url = f"http://{self.host}:{bound}"

    async def _cleanup(self) -> None:
        for runner in self._runners:
            await runner.cleanup()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop = None
