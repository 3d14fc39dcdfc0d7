"""The connector interface every scheduler implements, and the HTTP plumbing they share.

A connector speaks one vendor's API through one ``httpx.AsyncClient`` wrapped by
:class:`VendorHttp`, which adds what every vendor needs and none documents the same way:
timeouts, retries with exponential backoff and full jitter on connect errors, 5xx and 429
(honouring ``Retry-After``), a client-side rate limiter, auth headers from an
:class:`Authenticator` that refreshes before expiry and once more on 401, and a per-check
deadline that retries never overrun. Every failure leaves as :class:`ConnectorError`, whose
message names the system and says what to check, and never contains a credential.

No vendor answer is trusted to be small, quick or well formed: a body is read as a stream
and refused past ``max_response_mb``; one call (sending, waiting *and* reading the body) has
an overall bound, because httpx's read timeout restarts with every chunk and a vendor that
trickles a byte at a time would never trip it; a redirect is an error, never followed; and
whatever goes wrong while building a request or reading an answer (an id too long for a
URL, JSON nested past Python's recursion limit, bytes that are not UTF-8) is a
:class:`ConnectorError` for that system rather than an exception that ends the check.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import json
import logging
import random
import ssl
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from bot.clock import Clock
from bot.config import DEFAULT_MAX_RESPONSE_MB, SchedulerConfig
from bot.connectors.cache import AnswerCache
from bot.connectors.pacing import DEFAULT_CEILING, Concurrency, concurrency_for
from bot.connectors.transport import AiohttpTransport
from bot.errors import AuthError, ConfigError, ConnectorError, redact
from bot.model import Run, RunningNow, Task, TaskRef

__all__ = [
    "DEFAULT_MAX_RESPONSE_MB",
    "Authenticator",
    "CachedTokenAuth",
    "Connector",
    "FromConfig",
    "HeaderAuth",
    "RateLimiter",
    "RetryPolicy",
    "Setup",
    "SkippedRun",
    "VendorHttp",
    "VendorObserver",
    "connector_factory",
    "deadline",
    "describe_validation",
    "gather_all",
    "gather_bounded",
    "remaining_time",
    "require_credentials",
]

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
C = TypeVar("C", bound=SchedulerConfig)
K = TypeVar("K", bound="Connector", covariant=True)

# Headers that describe the body as it crossed the wire; the body handed on is decoded and
# complete, so they would describe something it no longer is.
_FRAMING_HEADERS = frozenset({b"content-encoding", b"content-length", b"transfer-encoding"})
# The exceptions a hostile or broken answer can raise from code that reads it, beyond the
# ValueError family: json's C scanner raises RecursionError on deep nesting, and datetime
# conversions of absurd epochs raise OverflowError or OSError.
_READ_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    RecursionError,
    ArithmeticError,
    OSError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
)
_REQUEST_ERRORS: tuple[type[Exception], ...] = (
    httpx.InvalidURL,
    httpx.UnsupportedProtocol,
    *_READ_ERRORS,
)

# Monotonic instant after which no new attempt or backoff sleep may start; set per check.
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("deadline", default=None)


# Set while a metered connector operation runs, so one that calls another (``describe``
# over ``list_tasks``, an override calling ``super()``) is counted once, as the outer one.
_METERED: contextvars.ContextVar[bool] = contextvars.ContextVar("metered", default=False)

# The interface's operations, as ``maintbot_vendor_calls_total{operation}`` names them.
OPERATIONS = (
    "list_tasks",
    "upcoming_runs",
    "describe",
    "running_now",
    "read_state",
    "pause",
    "resume",
    "skipped_runs",
)


class VendorObserver(Protocol):
    """Where connectors report what they did (:class:`bot.metrics.Metrics` is one)."""

    def vendor_call(self, system: str, operation: str, outcome: str, seconds: float) -> None: ...

    def retry(self, system: str, reason: str) -> None: ...

    def rate_limited(self, system: str, source: str, seconds: float) -> None: ...


def _outcome(exc: BaseException | None) -> str:
    if exc is None:
        return "ok"
    if isinstance(exc, AuthError):
        return "auth"
    if isinstance(exc, ConnectorError):
        return "unavailable" if exc.retryable else "refused"
    if isinstance(exc, asyncio.CancelledError | TimeoutError):
        return "cancelled"
    return "unexpected"


def _metered(operation: str, method: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
    async def metered(self: Connector, *args: Any, **kwargs: Any) -> Any:
        observer = self.observer
        if observer is None or _METERED.get():
            return await method(self, *args, **kwargs)
        token = _METERED.set(True)
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            return await method(self, *args, **kwargs)
        except BaseException as exc:
            error = exc
            raise
        finally:
            _METERED.reset(token)
            observer.vendor_call(
                self.system, operation, _outcome(error), time.perf_counter() - started
            )

    metered.__name__ = method.__name__
    metered.__qualname__ = method.__qualname__
    metered.__doc__ = method.__doc__
    metered.__dict__.update(method.__dict__)  # keeps __isabstractmethod__
    metered.__dict__["_maintbot_metered"] = True
    return metered


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Bound every retry loop inside the block to ``seconds`` from now (``None``: no bound)."""
    token = _DEADLINE.set(None if seconds is None else time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def remaining_time() -> float | None:
    end = _DEADLINE.get()
    return None if end is None else end - time.monotonic()


@dataclass(frozen=True)
class SkippedRun:
    """A run the vendor reports as not executed (e.g. discarded because the task was paused)."""

    task: TaskRef
    at: datetime
    reason: str


class Connector(ABC):
    """One configured scheduler instance, behind the interface the domain uses.

    Implementations must: return only what the vendor confirmed; raise
    :class:`ConnectorError` (never ``httpx`` or ``pydantic`` errors) on any failure; treat
    pause and resume as idempotent (pausing a paused task is success with ``changed=False``).
    """

    vendor: ClassVar[str]
    label: ClassVar[str]
    # Where each operation's outcome and duration go (set by the application, see observe).
    observer: VendorObserver | None = None
    # The vendor keeps no run history the bot can read back (BMC: one last_exec_ts): the
    # check records the starts it sees in the store, for predicted run times.
    records_history: ClassVar[bool] = False
    # The vendor can say which runs were due while a task was paused (skipped_runs); without
    # it an empty answer means "cannot say", never "no run was due".
    reports_skipped_runs: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Every implementation of an interface operation is metered, inherited ones too:
        # a connector cannot forget to count its calls.
        super().__init_subclass__(**kwargs)
        for name in OPERATIONS:
            method = getattr(cls, name)
            if not getattr(method, "_maintbot_metered", False):
                setattr(cls, name, _metered(name, method))

    def __init__(self, system: str, http: VendorHttp, clock: Clock) -> None:
        self.system = system
        self.http = http
        self.clock = clock
        # Between checks; from_config sizes it from cache_seconds. A connector built by hand
        # (tests, tools) caches nothing unless given one.
        self.cache = AnswerCache(clock, 0)

    def observe(self, observer: VendorObserver | None) -> None:
        """Report operations, retries and rate-limit waits to ``observer`` from now on."""
        self.observer = observer
        for http in self.http_clients():
            http.observer = observer

    def http_clients(self) -> list[VendorHttp]:
        """Every :class:`VendorHttp` this connector sends through (some hold several)."""
        found: dict[int, VendorHttp] = {}
        for value in vars(self).values():
            items = value if isinstance(value, list | tuple) else [value]
            for item in items:
                if isinstance(item, VendorHttp):
                    found[id(item)] = item
        return list(found.values())

    @abstractmethod
    async def list_tasks(self) -> list[Task]:
        """Every pausable unit the credentials can see, with its pause state."""

    @abstractmethod
    async def upcoming_runs(
        self, start: datetime, end: datetime, *, durations_before: datetime | None = None
    ) -> list[Run]:
        """Runs that will start in ``[start, end)``.

        ``Run.at is None`` where the vendor exposes no run times for an active task.
        ``expected_duration`` only matters for runs that start before ``durations_before``
        (the window's start: a run inside the window conflicts however long it takes), so a
        connector that pays a request per task for history may skip it for the others."""

    async def describe(self, refs: Sequence[TaskRef]) -> list[Task]:
        """The tasks behind ``refs`` (names, pause state). Vendors whose list is cheap use it;
        Talend overrides this with bounded concurrent per-task lookups. A task that vanished
        since its run was listed is simply absent from the result."""
        wanted = {r.key for r in refs}
        return [t for t in await self.list_tasks() if t.ref.key in wanted]

    @abstractmethod
    async def running_now(self) -> list[RunningNow]:
        """Runs in progress right now."""

    @abstractmethod
    async def read_state(self, ref: TaskRef) -> Task:
        """The task as the vendor reports it now (pause state, vendor state word)."""

    @abstractmethod
    async def pause(self, ref: TaskRef, reason: str) -> bool:
        """Pause ``ref``; ``True`` if the vendor changed something, ``False`` if already paused."""

    @abstractmethod
    async def resume(self, ref: TaskRef, prior: Task | None = None) -> bool:
        """Undo a pause; ``prior`` is the state read before pausing, for vendors whose resume
        depends on it (BMC restores ``SERVICE_ON`` with run, ``WAITING`` with schedule)."""

    async def skipped_runs(self, ref: TaskRef, start: datetime, end: datetime) -> list[SkippedRun]:
        """Runs of ``ref`` that were due in ``[start, end)`` but did not execute. Vendors that
        do not report this (``reports_skipped_runs`` false) return an empty list."""
        return []

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Connector:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def ref(self, kind: Any, task_id: str) -> TaskRef:
        return TaskRef(system=self.system, kind=kind, id=task_id)


class Authenticator(ABC):
    """Supplies auth headers; ``invalidate`` is called after a 401 so the next call refreshes.

    A credential that is a signature over each request (Huawei's AK/SK) cannot be a header
    fixed before the request exists: its ``signer`` signs every request as it is sent,
    after any rate-limit wait, so the signed time is the time it leaves. Such a credential
    has nothing to renew, so ``renewable`` is false and a 401 is not tried again (Huawei
    locks an access key after five refused signatures in a row)."""

    secrets: tuple[str, ...] = ()
    signer: httpx.Auth | None = None
    renewable: bool = True

    @abstractmethod
    async def headers(self, http: VendorHttp) -> dict[str, str]: ...

    def invalidate(self) -> None:  # noqa: B027 - static credentials have nothing to drop
        """Forget any cached token."""


class HeaderAuth(Authenticator):
    """A fixed credential in a header (e.g. a Talend personal access token)."""

    def __init__(self, name: str, value: str) -> None:
        self._name = name
        self._value = value
        self.secrets = (value,)

    async def headers(self, http: VendorHttp) -> dict[str, str]:
        return {self._name: self._value}


class CachedTokenAuth(Authenticator):
    """A token fetched from a login endpoint, cached until ``refresh_margin`` before expiry.

    Concurrent callers share one refresh (a lock), so a burst of requests after expiry
    costs one login, not one per request.
    """

    refresh_margin = timedelta(seconds=60)

    def __init__(self, clock: Clock, secrets: Iterable[str]) -> None:
        self._clock = clock
        self._token: str | None = None
        self._expires: datetime | None = None
        self._lock = asyncio.Lock()
        self.secrets = tuple(s for s in secrets if s)
        self.logins = 0

    @abstractmethod
    async def login(self, http: VendorHttp) -> tuple[str, timedelta]:
        """Fetch a new token; return it with its lifetime."""

    @abstractmethod
    def header(self, token: str) -> dict[str, str]: ...

    def _fresh(self) -> bool:
        return (
            self._token is not None
            and self._expires is not None
            and self._clock() < self._expires - self.refresh_margin
        )

    async def headers(self, http: VendorHttp) -> dict[str, str]:
        if not self._fresh():
            async with self._lock:
                if not self._fresh():
                    token, lifetime = await self.login(http)
                    self.logins += 1
                    self._token = token
                    self._expires = self._clock() + lifetime
                    self.secrets = (*self.secrets, token)
        assert self._token is not None
        return self.header(self._token)

    def invalidate(self) -> None:
        self._token = None
        self._expires = None


class RateLimiter:
    """At most ``limit`` requests in any sliding ``period`` (vendors publish "N per minute").

    A sliding log rather than a token bucket: it allows the full burst a vendor permits
    (a check's first 100 requests go out at once) while never exceeding N in any window,
    which a bucket that refills continuously can do by up to 2x.

    A slot is stamped when its request *finishes*, not when it is admitted: a request may
    wait in the connection pool after admission, so it reaches the vendor at some moment
    between the two, and only the later stamp guarantees that no N+1 requests arrive
    within one period as the vendor counts them. Slots of requests still in flight count
    as occupied.
    """

    def __init__(self, limit: int, period: float = 60.0) -> None:
        self.limit = max(1, limit)
        self.period = period
        self._done: deque[float] = deque()  # finish stamps, in order
        self._in_flight = 0
        self._freed = asyncio.Event()

    async def acquire(self) -> float:
        """Take a slot, waiting for one if need be; returns the seconds waited."""
        started: float | None = None
        while True:
            now = time.monotonic()
            while self._done and self._done[0] <= now - self.period:
                self._done.popleft()
            if len(self._done) + self._in_flight < self.limit:
                self._in_flight += 1
                return 0.0 if started is None else now - started
            if started is None:
                started = now
            # Wait until the oldest stamp leaves the period, or a request in flight
            # finishes (when every slot is in flight there is no stamp to wait for).
            wait = self._done[0] + self.period - now if self._done else None
            self._freed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._freed.wait(), wait)

    def release(self) -> None:
        """Stamp the slot taken by :meth:`acquire` with the time its request finished."""
        self._in_flight -= 1
        self._done.append(time.monotonic())
        self._freed.set()


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_delay: float = 0.2
    max_delay: float = 5.0
    retry_statuses: frozenset[int] = field(
        default_factory=lambda: frozenset({429, 500, 502, 503, 504})
    )

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max, base * 2**attempt)]."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


def _retry_after(response: httpx.Response, clock: Clock) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - clock()).total_seconds())


class VendorHttp:
    """One ``httpx.AsyncClient`` per connector plus retries, rate limit, auth and deadline."""

    def __init__(
        self,
        system: str,
        base_url: str,
        *,
        clock: Clock,
        auth: Authenticator | None = None,
        rate_per_minute: float | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 10.0,
        max_connections: int = 20,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        max_response_mb: float = DEFAULT_MAX_RESPONSE_MB,
        concurrency: Concurrency | None = None,
    ) -> None:
        self.system = system
        # Requests in flight, adapted to how the vendor answers; ``None``: only the pool's
        # size bounds them (tests that build a client by hand).
        self.concurrency = concurrency
        self.clock = clock
        self.auth = auth
        self.retry = retry or RetryPolicy()
        self.limiter = RateLimiter(int(rate_per_minute)) if rate_per_minute else None
        self.timeout = timeout
        self.max_response_mb = max_response_mb
        self.max_response_bytes = int(max_response_mb * 1024 * 1024)
        self.observer: VendorObserver | None = None
        self.requests = 0  # attempts actually sent, for benchmarks and tests
        # Attempts that got no HTTP answer (refused, broken, timed out): the vendor may
        # never have seen them, so a test comparing our count with the vendor's allows these.
        self.unanswered = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        # Decoded body bytes taken off the wire, in total and for the largest single answer:
        # lets a test prove the cap from the client's side without timing anything.
        self.bytes_read = 0
        self.peak_body_bytes = 0
        self.client = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport
            or AiohttpTransport(
                connections=max_connections,
                connect_timeout=min(timeout, 5.0),
                ssl_context=shared_ssl_context(),
            ),
            headers=dict(headers or {}),
            follow_redirects=False,
        )
        # base_url as text, for joining paths without httpx re-parsing (see _build); only
        # a plain one (no query or fragment, which a join would have to merge).
        parsed = self.client.base_url
        plain = parsed.is_absolute_url and not parsed.query and not parsed.fragment
        text = str(parsed)
        self._base: str | None = (text if text.endswith("/") else text + "/") if plain else None

    async def aclose(self) -> None:
        await self.client.aclose()

    def error(self, message: str, **kw: Any) -> ConnectorError:
        secrets = self.auth.secrets if self.auth else ()
        return ConnectorError(self.system, redact(message, *secrets), **kw)

    async def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        authenticated: bool = True,
        what: str | None = None,
        ok: Iterable[int] = (200,),
        idempotent: bool = True,
    ) -> httpx.Response:
        """Send with retries; return the response if its status is in ``ok``.

        ``what`` names the operation in error messages ("events/search"). A 401 drops the
        cached token and retries once; other 4xx raise at once with the vendor's message.
        """
        what = what or f"{method} {url}"
        ok_statuses = frozenset(ok)
        reauthed = False
        attempt = 0
        while True:
            request_headers = dict(headers or {})
            if authenticated and self.auth is not None:
                request_headers.update(await self.auth.headers(self))
            # Built before a rate-limit slot is taken: a request that cannot be built is
            # never sent and must not count against the vendor's limit.
            request = self._build(method, url, params, json_body, content, request_headers, what)
            limiter = self.limiter
            if limiter is not None:
                waited = await limiter.acquire()
                if waited > 0 and self.observer is not None:
                    self.observer.rate_limited(self.system, "client", waited)
            pacing = self.concurrency
            number = 0
            if pacing is not None:
                try:
                    number = await pacing.acquire()
                except BaseException:
                    if limiter is not None:
                        limiter.release()
                    raise
            sent = time.monotonic()
            self.requests += 1
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            try:
                signer = self.auth.signer if authenticated and self.auth is not None else None
                response = await self._exchange(request, what, signer)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
                self.unanswered += 1
                delay = self._next_delay(attempt, None)
                if delay is None:
                    if isinstance(exc, httpx.RemoteProtocolError):
                        # Reached, but it hung up mid-answer or did not speak HTTP.
                        raise self.error(
                            f"{what}: the connection broke or the answer was not valid HTTP "
                            f"({type(exc).__name__}); check base_url points at the API and "
                            "that the service is healthy",
                            retryable=True,
                        ) from None
                    raise self.error(
                        f"cannot reach {self.client.base_url} ({type(exc).__name__}) "
                        f"for {what}; check base_url and that the service is up",
                        retryable=True,
                    ) from None
                log.info("%s: %s failed to connect, retrying in %.2fs", self.system, what, delay)
                self._retrying("connect")
                attempt += 1
                await asyncio.sleep(delay)
                continue
            except (httpx.TimeoutException, _CallTimedOut) as exc:
                self.unanswered += 1
                if pacing is not None:
                    pacing.answered(number, 503, time.monotonic() - sent)
                delay = self._next_delay(attempt, None) if idempotent else None
                if delay is None:
                    reason = str(exc) if isinstance(exc, _CallTimedOut) else f"{type(exc).__name__}"
                    raise self.error(
                        f"timed out waiting for {what}: no complete answer ({reason}); the "
                        "scheduler is slow or stuck (raise timeout_seconds in maintbot.toml "
                        "if it is just slow)",
                        retryable=True,
                    ) from None
                self._retrying("timeout")
                attempt += 1
                await asyncio.sleep(delay)
                continue
            except httpx.HTTPError as exc:
                self.unanswered += 1
                raise self.error(f"{what} failed: {type(exc).__name__}", retryable=True) from None
            finally:
                self.in_flight -= 1
                if limiter is not None:
                    limiter.release()
                if pacing is not None:
                    pacing.release()

            status = response.status_code
            if pacing is not None:
                pacing.answered(number, status, time.monotonic() - sent)
            if status in ok_statuses:
                return response
            if (
                status == 401
                and authenticated
                and self.auth is not None
                and self.auth.renewable
                and not reauthed
            ):
                # Tokens expire early or get revoked; one fresh login settles which it is.
                self.auth.invalidate()
                reauthed = True
                self._retrying("reauth")
                continue
            if status in self.retry.retry_statuses:
                delay = self._next_delay(attempt, _retry_after(response, self.clock))
                if delay is not None:
                    log.info(
                        "%s: %s answered %s, retrying in %.2fs", self.system, what, status, delay
                    )
                    self._retrying(f"http_{status}")
                    if status == 429 and self.observer is not None:
                        self.observer.rate_limited(self.system, "vendor", delay)
                    attempt += 1
                    await asyncio.sleep(delay)
                    continue
            raise self.status_error(response, what)

    def _retrying(self, reason: str) -> None:
        if self.observer is not None:
            self.observer.retry(self.system, reason)

    def _build(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json_body: Any,
        content: bytes | None,
        headers: Mapping[str, str],
        what: str,
    ) -> httpx.Request:
        """The request, or a ConnectorError when vendor data (an id or a name put into the
        path, a query value) cannot be sent: too long for a URL, or not encodable."""
        try:
            target: str | httpx.URL = url
            if self._base is not None and url.startswith("/") and not any(c in url for c in "?#"):
                # Joined and queried here so that httpx parses the URL once: joining a path
                # to base_url and merging params each re-parse it, 1.2 s of the 15 s of CPU
                # a check of all four systems took at scale 100 (cProfile, this machine).
                # The same join (base_url ends in "/") and the same query encoding.
                target = self._base + url.lstrip("/")
                if params:
                    query = str(httpx.QueryParams(params))
                    if query:
                        target += "?" + query
                params = None
            return self.client.build_request(
                method, target, params=params, json=json_body, content=content, headers=headers
            )
        except _REQUEST_ERRORS as exc:
            # Not the URL itself: it may be tens of kilobytes of vendor data.
            raise self.error(
                f"cannot send {what}: the request cannot be built from what the scheduler "
                f"returned ({type(exc).__name__}; an id or name too long or with characters "
                "a URL cannot carry)"
            ) from None

    async def _exchange(
        self, request: httpx.Request, what: str, signer: httpx.Auth | None = None
    ) -> httpx.Response:
        """Send ``request`` and read its whole body, within one bound for both.

        The bound is the call's timeout, shortened to what is left of the enclosing
        :func:`deadline`. On expiry the streamed response is closed in the ``finally``,
        which makes httpcore drop the half-read connection rather than return it to the pool.
        """
        budget = self.timeout
        left = remaining_time()
        if left is not None:
            budget = min(budget, left)
        if budget <= 0:
            raise _CallTimedOut("the check's deadline had passed before it could be sent")
        try:
            async with asyncio.timeout(budget):
                response = await self.client.send(request, stream=True, auth=signer)
                try:
                    body = await self._read_body(response, what)
                finally:
                    await response.aclose()
        except TimeoutError:
            limit = "timeout_seconds" if budget == self.timeout else "the check's deadline"
            raise _CallTimedOut(f"still incomplete after {budget:.3g} s, {limit}") from None
        headers = [(k, v) for k, v in response.headers.raw if k.lower() not in _FRAMING_HEADERS]
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=body,
            request=request,
            extensions=response.extensions,
        )

    async def _read_body(self, response: httpx.Response, what: str) -> bytes:
        limit = self.max_response_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise self._too_large(what)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            self.bytes_read += len(chunk)
            self.peak_body_bytes = max(self.peak_body_bytes, size)
            if size > limit:
                raise self._too_large(what)
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, what: str) -> ConnectorError:
        return self.error(
            f"{what}: the answer is larger than {self.max_response_mb:g} MB, so maintbot "
            "stopped reading it; check base_url points at the API, or raise max_response_mb "
            "in maintbot.toml if the listing really is that large"
        )

    def _next_delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` when retries are used up or
        the wait would overrun the deadline."""
        if attempt + 1 >= self.retry.attempts:
            return None
        delay = retry_after if retry_after is not None else self.retry.backoff(attempt)
        left = remaining_time()
        if left is not None and delay >= left:
            return None
        return delay

    def status_error(self, response: httpx.Response, what: str) -> ConnectorError:
        status = response.status_code
        vendor_text = self.vendor_message(response)
        suffix = f": {vendor_text}" if vendor_text else ""
        if status == 401:
            return AuthError(
                self.system,
                redact(
                    f"credentials were refused for {what} (401){suffix}; check the "
                    "credentials named in maintbot.toml",
                    *(self.auth.secrets if self.auth else ()),
                ),
                status=401,
            )
        if status == 403:
            return AuthError(
                self.system,
                redact(
                    f"permission denied for {what} (403){suffix}",
                    *(self.auth.secrets if self.auth else ()),
                ),
                status=403,
            )
        if 300 <= status < 400 and response.headers.get("location"):
            return self.error(
                f"{what}: answered HTTP {status}, a redirect{_redirect_target(response)}, "
                "which maintbot does not follow; set base_url to the address the API "
                "itself answers on",
                status=status,
            )
        if status == 404:
            return self.error(f"{what}: not found (404){suffix}", status=404)
        if status == 429:
            return self.error(
                f"{what}: rate limited (429) after retries{suffix}", retryable=True, status=429
            )
        if status >= 500:
            return self.error(
                f"{what}: server error {status}{suffix}", retryable=True, status=status
            )
        return self.error(f"{what}: unexpected HTTP {status}{suffix}", status=status)

    @staticmethod
    def vendor_message(response: httpx.Response) -> str:
        """The vendor's own error words, from a JSON error body or short plain text; an
        HTML page is reported as such rather than quoted."""
        content_type = response.headers.get("content-type", "")
        text = response.text.strip()
        if not text:
            return ""
        if "html" in content_type or text.lstrip().lower().startswith(("<!doctype", "<html")):
            return "the server sent an HTML page instead of an API response"
        try:
            body = json.loads(text)
        except RecursionError:
            return ""
        except ValueError:
            return text[:200]
        if isinstance(body, dict):
            for key in (
                "message",
                "error_msg",
                "errorMessage",
                "detail",
                "error",
                "error_description",
            ):
                value = body.get(key)
                if isinstance(value, str) and value:
                    return value[:200]
        if isinstance(body, str):
            return body[:200]
        return ""

    def parse(self, response: httpx.Response, model: type[M], what: str) -> M:
        """Validate a JSON body into ``model``; malformed bodies become ConnectorError.

        Validators convert vendor values (epochs, durations) and may raise what pydantic
        does not wrap (OverflowError, OSError from ``datetime.fromtimestamp``); those are
        a malformed answer too."""
        data = self.json(response, what)
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise self.error(
                f"malformed response from {what}: {describe_validation(exc)}"
            ) from None
        except _READ_ERRORS as exc:
            raise self.error(
                f"malformed response from {what}: a value maintbot cannot read "
                f"({type(exc).__name__}, e.g. a time out of range)"
            ) from None

    def json(self, response: httpx.Response, what: str) -> Any:
        content_type = response.headers.get("content-type", "").lower()
        # The opening bytes only: decoding a 1.4 MB listing to text to look at 200
        # characters cost as much as parsing it.
        opening = response.content[:200].decode("utf-8", errors="replace").lower()
        if "html" in content_type or "<html" in opening:
            # A 200 from a proxy or login portal in front of the API, not the API.
            raise self.error(
                f"{what} returned an HTML page instead of an API answer; check base_url "
                "points at the API and no proxy or login page is in between"
            )
        try:
            return response.json()
        except RecursionError:
            raise self.error(
                f"{what} returned JSON nested too deeply to read; the scheduler's answer is broken"
            ) from None
        except ValueError as exc:  # includes UnicodeDecodeError
            if "digits" in str(exc):  # Python's int-length guard (CVE-2020-10735)
                raise self.error(
                    f"{what} returned a number with more digits than maintbot reads; the "
                    "scheduler's answer is broken"
                ) from None
            raise self.error(
                f"{what} returned a body that is not JSON; check base_url points at the API"
            ) from None


class _CallTimedOut(Exception):
    """One call's overall bound expired (sending, waiting or reading the body)."""


def _redirect_target(response: httpx.Response) -> str:
    """Where a redirect points, as scheme and host only: a Location may carry credentials
    in its userinfo or tokens in its query, and neither may reach a message."""
    location = response.headers.get("location", "")
    if not location:
        return ""
    try:
        target = response.request.url.join(location)
    except _REQUEST_ERRORS:
        return " to an address that is not a valid URL"
    if target.host == response.request.url.host and target.port == response.request.url.port:
        return " to another path on the same host"
    host = target.host[:100]
    return f" to another host ({target.scheme}://{host})"


def require_credentials(
    system: str, config: Any, credentials: Mapping[str, str], *roles: str
) -> None:
    """Refuse to build a connector without every credential ``roles`` names, saying which
    environment variable (from maintbot.toml) should hold each; never a value."""
    missing = [role for role in roles if not credentials.get(role)]
    if missing:
        named = ", ".join(
            f"{role} ({getattr(config, role + '_env', None) or role + '_env'})" for role in missing
        )
        raise ConfigError(f"{system}: credential {named} is missing; set it in the environment")


class FromConfig(Protocol[K]):
    """A vendor module's ``from_config``: the one signature the registry calls."""

    def __call__(
        self,
        name: str,
        config: SchedulerConfig,
        credentials: Mapping[str, str],
        *,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> K: ...


@dataclass(frozen=True)
class Setup(Generic[C]):
    """A ``[schedulers.<name>]`` table checked to be its vendor's, with what building its
    connector takes."""

    name: str
    config: C
    credentials: Mapping[str, str]
    clock: Clock
    transport: httpx.AsyncBaseTransport | None

    def require(self, *roles: str) -> None:
        require_credentials(self.name, self.config, self.credentials, *roles)

    @property
    def concurrency_ceiling(self) -> int:
        """How far this system's adaptive concurrency may grow: ``max_concurrency`` when
        the table sets it, else :data:`~bot.connectors.pacing.DEFAULT_CEILING`."""
        if "max_concurrency" in self.config.model_fields_set:
            return self.config.max_concurrency
        return DEFAULT_CEILING

    def http(
        self,
        auth: Authenticator,
        *,
        rate_per_minute: float | None,
        max_connections: int,
        headers: Mapping[str, str],
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> VendorHttp:
        """A client for the table's ``base_url``, timeout and response cap; ``transport``
        stands in for the one given to ``from_config`` (the tests' and the sandbox's)."""
        ceiling = self.concurrency_ceiling
        return VendorHttp(
            self.name,
            self.config.base_url,
            clock=self.clock,
            auth=auth,
            rate_per_minute=rate_per_minute,
            timeout=self.config.timeout_seconds,
            max_response_mb=self.config.max_response_mb,
            # The pool never holds back what the controller lets through.
            max_connections=max(max_connections, ceiling),
            transport=transport or self.transport,
            headers=headers,
            concurrency=concurrency_for(self.name, self.config.base_url, ceiling),
        )


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle takes ~25 ms; every client would otherwise load its own.
    return httpx.create_ssl_context()


def connector_factory(model: type[C], label: str, build: Callable[[Setup[C]], K]) -> FromConfig[K]:
    """The ``from_config`` of a vendor whose tables are ``model``: a table of another vendor
    is refused, naming it, before ``build`` sees it."""

    def from_config(
        name: str,
        config: SchedulerConfig,
        credentials: Mapping[str, str],
        *,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> K:
        if not isinstance(config, model):
            raise ConfigError(f"{name}: not a {label} configuration (vendor {config.vendor})")
        connector = build(Setup(name, config, credentials, clock, transport))
        connector.cache = AnswerCache(clock, config.cache_seconds)
        return connector

    from_config.__doc__ = build.__doc__
    return from_config


def describe_validation(exc: ValidationError, limit: int = 3) -> str:
    """A short, value-free description of what was wrong (values may hold vendor data)."""
    parts = []
    for err in exc.errors()[:limit]:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        # "field (problem)" rather than "field: problem": a field named like a secret
        # ("access_token: Field required") would otherwise read as key=value to redact().
        parts.append(f"{where} ({err['msg'].lower()})")
    more = len(exc.errors()) - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


async def gather_all(*aws: Awaitable[T]) -> list[T]:
    """Like ``asyncio.gather``, but when one fails the others are cancelled and awaited
    before the first error propagates, so nothing is left running against a client that
    the caller is about to close (which would leak sockets)."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def gather_bounded(limit: int, aws: Iterable[Awaitable[T]]) -> list[T]:
    """:func:`gather_all` with at most ``limit`` in flight; results in input order."""
    semaphore = asyncio.Semaphore(limit)
    pending = list(aws)

    async def one(aw: Awaitable[T]) -> T:
        async with semaphore:
            return await aw

    try:
        return await gather_all(*(one(a) for a in pending))
    finally:
        # A task cancelled before its first step (a sibling failed) never runs ``one``, so
        # the coroutine it wraps is never started, not even to be cancelled: close those,
        # or Python warns that they were never awaited.
        for aw in pending:
            if inspect.iscoroutine(aw) and inspect.getcoroutinestate(aw) == inspect.CORO_CREATED:
                aw.close()
