"""What every loopback simulator shares: an aiohttp app with request recording, injected
latency and faults, token bookkeeping, ``GET /_sandbox/state``, and a server that runs any
number of simulators on 127.0.0.1 in a background thread.

Faults can be set from Python (``sim.faults.fail(503, times=2)``) or over HTTP
(``POST /_sandbox/faults`` with the same fields), so tests, benchmarks and a person poking at
``maintbot sandbox`` use one mechanism.

Besides canned answers (a status with a body), a fault can be one of the :data:`FAULT_KINDS`
that break the wire or the vendor's own answer: an endless or huge body, a trickle, deep
nesting, a redirect, an interim 1xx with nothing after it, the real answer truncated, sent
with the wrong content type, with its times out of range or its ids gigantic. Those that
change the real answer run the vendor's handler first, so each simulator breaks its own API
without knowing about faults::

    sim.faults.inject("trickle", path_contains="/tasks", times=100, interval=0.5)
    POST /_sandbox/faults {"inject": [{"kind": "trickle", "interval": 0.5}]}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
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

__all__ = [
    "FAULT_KINDS",
    "Faults",
    "RecordedRequest",
    "SandboxServer",
    "Simulator",
    "json_response",
]

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


# kind → its parameters and their defaults (what ``inject`` and POST /_sandbox/faults take).
FAULT_KINDS: dict[str, dict[str, Any]] = {
    # 200 JSON that never ends, streamed as fast as the client reads.
    "endless": {"chunk_kb": 64},
    # The real answer, one byte every ``interval`` seconds.
    "trickle": {"interval": 0.5},
    # 200 JSON nested ``depth`` arrays deep.
    "deep": {"depth": 100_000},
    # 200 valid JSON of ``mb`` megabytes, with or without a Content-Length saying so.
    "huge": {"mb": 30.0, "declare_length": True},
    # ``to``: "elsewhere" (another host, with credentials in the Location) or "same".
    "redirect": {"status": 302, "to": "elsewhere"},
    # An interim 1xx status line and then nothing, the connection held open.
    "interim": {"status": 102},
    # The real answer cut in half; ``cut_connection`` declares the full length and hangs up.
    "truncated": {"cut_connection": False},
    # The real answer under another content type.
    "content_type": {"value": "text/html; charset=utf-8"},
    # The real answer with every time-like value out of range (epochs and ISO texts).
    "timestamps": {"number": 10**19, "text": "9999-12-31T23:59:59Z"},
    # The real answer with every id-like value ``length`` characters long: strings longer
    # than any URL httpx will build, numbers with more digits than Python will read.
    "huge_ids": {"length": 70_000},
}

_TIME_KEY = re.compile(r"(?i)(time|date|(^|_)ts$|(^|_)at$|start|(^|_)end)|[a-z]At$")
_ISO_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_HUGE_NUMBER = "sandbox:huge-number"  # json.dumps writes it as is; no vendor id looks so
_ID_KEY = re.compile(r"(?i)(^|_)(id|uuid)$|[a-z]Id$")


@dataclass
class _Rule:
    status: int
    times: int
    path_contains: str | None
    body: str
    content_type: str
    headers: dict[str, str]
    kind: str = "respond"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Faults:
    """Scripted misbehaviour. Each rule fires ``times`` times on requests whose path contains
    ``path_contains`` (any path when ``None``), then disappears."""

    latency_ms: float = 0.0
    _rules: list[_Rule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    injected: int = 0
    # Fault answers whose client hung up before the end (an endless body cut off, a trickle
    # abandoned at the client's deadline): proof from the vendor's side that the client
    # closed the connection rather than leaving it to drain.
    abandoned: int = 0
    streamed_bytes: int = 0

    def inject(
        self, kind: str, *, times: int = 1, path_contains: str | None = None, **params: Any
    ) -> None:
        """Add a fault of one of :data:`FAULT_KINDS` with its parameters."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(FAULT_KINDS)}")
        unknown = set(params) - set(FAULT_KINDS[kind])
        if unknown:
            raise ValueError(f"fault {kind!r} takes no {', '.join(sorted(unknown))}")
        with self._lock:
            self._rules.append(
                _Rule(
                    200,
                    times,
                    path_contains,
                    "",
                    "application/json",
                    {},
                    kind,
                    {**FAULT_KINDS[kind], **params},
                )
            )

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

    def count_stream(self, size: int) -> None:
        with self._lock:
            self.streamed_bytes += size

    def count_abandoned(self) -> None:
        with self._lock:
            self.abandoned += 1


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

    def live_tokens(self) -> list[datetime]:
        """When each token still valid now runs out, soonest first: after
        :meth:`expire_tokens`, its length is the number of logins since, and its last entry
        is when the newest token expires (for tests of renewal before expiry)."""
        now = self.clock()
        with self._lock:
            return sorted(expires for expires in self._tokens.values() if now < expires)

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
                return await self._misbehave(rule, request, handler)
            return await handler(request)
        finally:
            with self._lock:
                self.in_flight -= 1

    async def _misbehave(
        self, rule: _Rule, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        kind, params = rule.kind, rule.params
        if kind == "respond":
            return web.Response(
                text=rule.body,
                status=rule.status,
                content_type=rule.content_type,
                headers=rule.headers,
            )
        if kind == "redirect":
            if params["to"] == "same":
                location = f"{request.path}?moved=1"
            else:
                location = f"http://maintbot:hunter2-in-location@moved.invalid{request.path}"
            return web.Response(status=int(params["status"]), headers={"Location": location})
        if kind == "deep":
            depth = int(params["depth"])
            return web.Response(text="[" * depth + "]" * depth, content_type="application/json")
        if kind == "endless":
            return await self._endless(request, int(params["chunk_kb"]) * 1024)
        if kind == "huge":
            return await self._huge(request, int(float(params["mb"]) * 2**20), params)
        if kind == "interim":
            return await self._interim(request, int(params["status"]))
        real = await handler(request)
        body = real.body if isinstance(real, web.Response) else None
        if not isinstance(body, bytes):
            return real
        headers = {
            k: v
            for k, v in real.headers.items()
            if k.lower() not in ("content-length", "content-type", "transfer-encoding")
        }
        content_type = real.content_type
        if kind == "trickle":
            return await self._trickle(request, real.status, headers, content_type, body, params)
        if kind == "truncated":
            return await self._truncated(request, real.status, headers, content_type, body, params)
        if kind == "content_type":
            content_type = str(params["value"])
        elif kind in ("timestamps", "huge_ids"):
            with contextlib.suppress(ValueError):
                text = json.dumps(_rewrite(json.loads(body), kind, params))
                # json cannot write a 70,000-digit number; a marker stands in for it.
                digits = "9" * int(params.get("length", 1))
                body = text.replace(f'"{_HUGE_NUMBER}"', digits).encode()
        response = web.Response(body=body, status=real.status, headers=headers)
        response.headers["Content-Type"] = content_type
        return response

    async def _stream(
        self,
        request: web.Request,
        response: web.StreamResponse,
        pieces: Iterator[bytes],
        interval: float = 0.0,
    ) -> web.StreamResponse:
        """Write ``pieces`` until they run out or the client hangs up (counted)."""
        await response.prepare(request)
        try:
            for piece in pieces:
                await response.write(piece)
                self.faults.count_stream(len(piece))
                if interval:
                    await asyncio.sleep(interval)
                elif request.transport is None or request.transport.is_closing():
                    raise ConnectionResetError
                else:
                    await asyncio.sleep(0)  # let the other simulators' requests in
            await response.write_eof()
        except ConnectionError:
            self.faults.count_abandoned()
        return response

    async def _endless(self, request: web.Request, chunk: int) -> web.StreamResponse:
        record = b'{"id": "endless", "name": "' + b"x" * max(1, chunk - 32) + b'"},'

        def pieces() -> Iterator[bytes]:
            yield b'{"items": ['
            while True:
                yield record

        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        return await self._stream(request, response, pieces())

    async def _huge(
        self, request: web.Request, size: int, params: dict[str, Any]
    ) -> web.StreamResponse:
        head, tail = b'{"items": [], "pad": "', b'"}'
        pad = max(0, size - len(head) - len(tail))

        def pieces() -> Iterator[bytes]:
            yield head
            left = pad
            while left > 0:
                step = min(left, 1 << 16)
                yield b"x" * step
                left -= step
            yield tail

        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        if params["declare_length"]:
            response.content_length = len(head) + pad + len(tail)
        return await self._stream(request, response, pieces())

    async def _interim(self, request: web.Request, status: int) -> web.StreamResponse:
        transport = request.transport
        if transport is not None:
            transport.write(f"HTTP/1.1 {status} Processing\r\n\r\n".encode())
            # aiohttp gives a handler no event for "the client hung up"; polling is the way.
            while not transport.is_closing():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        self.faults.count_abandoned()
        # Nothing can be written any more; aiohttp drops a response to a closed transport.
        return web.Response(status=500)

    async def _trickle(
        self,
        request: web.Request,
        status: int,
        headers: dict[str, str],
        content_type: str,
        body: bytes,
        params: dict[str, Any],
    ) -> web.StreamResponse:
        response = web.StreamResponse(status=status, headers=headers)
        response.content_type = content_type
        response.content_length = len(body)
        pieces = (body[i : i + 1] for i in range(len(body)))
        return await self._stream(request, response, pieces, float(params["interval"]))

    async def _truncated(
        self,
        request: web.Request,
        status: int,
        headers: dict[str, str],
        content_type: str,
        body: bytes,
        params: dict[str, Any],
    ) -> web.StreamResponse:
        half = body[: len(body) // 2]
        if not params["cut_connection"]:
            response = web.Response(body=half, status=status, headers=headers)
            response.headers["Content-Type"] = content_type
            return response
        stream = web.StreamResponse(status=status, headers=headers)
        stream.content_type = content_type
        stream.content_length = len(body)
        await stream.prepare(request)
        await stream.write(half)
        if request.transport is not None:
            request.transport.close()
        return stream

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
        for rule in spec.get("inject", []):
            try:
                self.faults.inject(**rule)
            except (TypeError, ValueError) as exc:
                return json_response({"ok": False, "error": str(exc)}, status=400)
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


def _rewrite(node: Any, kind: str, params: dict[str, Any], key: str = "") -> Any:
    """The real answer with its time-like or id-like values replaced (``kind``)."""
    if isinstance(node, dict):
        return {k: _rewrite(v, kind, params, k) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite(v, kind, params, key) for v in node]
    if kind == "timestamps" and _TIME_KEY.search(key) and not isinstance(node, bool):
        if isinstance(node, int | float) and abs(node) >= 1e8:
            return params["number"]
        if isinstance(node, str) and _ISO_LIKE.match(node):
            return params["text"]
    if kind == "huge_ids" and _ID_KEY.search(key) and not isinstance(node, bool):
        length = int(params["length"])
        if isinstance(node, int):
            return _HUGE_NUMBER
        if isinstance(node, str):
            return (node + "x" * length)[:length]
    return node


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
