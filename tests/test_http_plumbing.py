"""VendorHttp against a real loopback server: retries, Retry-After, deadline, re-auth,
rate limit, and error messages that name the system and never a secret."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, field_validator

from bot.clock import ManualClock, system_clock
from bot.connectors.base import (
    CachedTokenAuth,
    HeaderAuth,
    RateLimiter,
    RetryPolicy,
    VendorHttp,
    deadline,
    gather_bounded,
)
from bot.errors import AuthError, ConnectorError
from bot.sandbox.base import SandboxServer, Simulator, json_response

SECRET = "s3cr3t-client-secret-value"


class TinyVendor(Simulator):
    """A vendor with a login endpoint and one resource, for exercising the plumbing."""

    vendor = "tiny"

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/login", self.login)
        app.router.add_get("/thing", self.thing)
        app.router.add_get("/echo-auth", self.echo_auth)

    async def login(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("secret") != SECRET:
            return json_response({"message": "bad secret"}, status=401)
        token, life = self.issue_token()
        return json_response({"token": token, "expires_in": int(life.total_seconds())})

    async def thing(self, request: web.Request) -> web.Response:
        if not self.token_valid(request.headers.get("Authorization", "").removeprefix("Bearer ")):
            return json_response({"message": "token expired"}, status=401)
        return json_response({"value": 42})

    async def echo_auth(self, request: web.Request) -> web.Response:
        # Some vendors quote the request back in errors; secrets must not survive that.
        return json_response(
            {"message": f"rejected {request.headers.get('Authorization')} secret={SECRET}"},
            status=400,
        )

    def state(self) -> dict[str, Any]:
        return {}

    def config_entry(self) -> dict[str, Any]:
        return {}

    def credentials(self) -> dict[str, str]:
        return {}


class TinyLogin(CachedTokenAuth):
    async def login(self, http: VendorHttp) -> tuple[str, timedelta]:
        response = await http.send(
            "POST", "/login", json_body={"secret": SECRET}, authenticated=False, what="login"
        )
        body = http.json(response, "login")
        return body["token"], timedelta(seconds=body["expires_in"])

    def header(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def vendor() -> Iterator[TinyVendor]:
    sim = TinyVendor(clock=system_clock)
    with SandboxServer([sim]):
        yield sim


def client(sim: TinyVendor, **kw: Any) -> VendorHttp:
    kw.setdefault("retry", RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05))
    kw.setdefault("auth", TinyLogin(system_clock, [SECRET]))
    return VendorHttp("tiny-prod", sim.base_url, clock=system_clock, **kw)


async def test_retries_5xx_then_succeeds(vendor: TinyVendor) -> None:
    vendor.faults.fail(503, times=2, path_contains="/thing")
    http = client(vendor)
    try:
        response = await http.send("GET", "/thing", what="thing")
        assert response.json() == {"value": 42}
        assert len(vendor.requests_to("/thing")) == 3
    finally:
        await http.aclose()


async def test_persistent_5xx_is_a_retryable_error_naming_the_system(vendor: TinyVendor) -> None:
    vendor.faults.fail(502, times=10, path_contains="/thing")
    http = client(vendor)
    try:
        with pytest.raises(ConnectorError) as err:
            await http.send("GET", "/thing", what="thing lookup")
        assert err.value.retryable
        assert err.value.status == 502
        assert str(err.value).startswith("tiny-prod: thing lookup: server error 502")
        assert len(vendor.requests_to("/thing")) == 4  # the policy's attempts, no more
    finally:
        await http.aclose()


async def test_429_is_retried_after_retry_after(vendor: TinyVendor) -> None:
    vendor.faults.rate_limit(times=1, retry_after=0.05, path_contains="/thing")
    http = client(vendor)
    try:
        assert (await http.send("GET", "/thing")).json() == {"value": 42}
        assert len(vendor.requests_to("/thing")) == 2
    finally:
        await http.aclose()


async def test_retry_after_beyond_the_deadline_gives_up_at_once(vendor: TinyVendor) -> None:
    vendor.faults.rate_limit(times=5, retry_after=30, path_contains="/thing")
    http = client(vendor)
    try:
        with deadline(2.0), pytest.raises(ConnectorError, match="rate limited") as err:
            await http.send("GET", "/thing", what="thing")
        assert err.value.retryable
        assert len(vendor.requests_to("/thing")) == 1  # it did not sleep 30 s to try again
    finally:
        await http.aclose()


async def test_expired_token_is_refreshed_once_on_401(vendor: TinyVendor) -> None:
    auth = TinyLogin(system_clock, [SECRET])
    http = client(vendor, auth=auth)
    try:
        await http.send("GET", "/thing")
        vendor.expire_tokens()
        assert (await http.send("GET", "/thing")).json() == {"value": 42}
        assert auth.logins == 2
    finally:
        await http.aclose()


async def test_token_is_refreshed_before_it_expires(vendor: TinyVendor) -> None:
    clock = ManualClock(system_clock())
    auth = TinyLogin(clock, [SECRET])
    http = client(vendor, auth=auth)
    try:
        await http.send("GET", "/thing")
        await http.send("GET", "/thing")
        assert auth.logins == 1
        clock.advance(vendor.token_lifetime - timedelta(seconds=30))  # inside the margin
        await http.send("GET", "/thing")
        assert auth.logins == 2
        assert len(vendor.requests_to("/thing")) == 3  # no request was wasted on a 401
    finally:
        await http.aclose()


async def test_concurrent_requests_share_one_login(vendor: TinyVendor) -> None:
    auth = TinyLogin(system_clock, [SECRET])
    http = client(vendor, auth=auth)
    try:
        await asyncio.gather(*(http.send("GET", "/thing") for _ in range(10)))
        assert auth.logins == 1
    finally:
        await http.aclose()


async def test_wrong_credentials_are_an_auth_error(vendor: TinyVendor) -> None:
    class WrongLogin(TinyLogin):
        async def login(self, http: VendorHttp) -> tuple[str, timedelta]:
            await http.send(
                "POST", "/login", json_body={"secret": "nope"}, authenticated=False, what="login"
            )
            raise AssertionError("login must fail")

    http = client(vendor, auth=WrongLogin(system_clock, ["nope"]))
    try:
        with pytest.raises(AuthError, match="credentials were refused for login"):
            await http.send("GET", "/thing")
    finally:
        await http.aclose()


async def test_html_error_page_is_described_not_quoted(vendor: TinyVendor) -> None:
    vendor.faults.html_error(status=404, path_contains="/thing")
    http = client(vendor)
    try:
        with pytest.raises(ConnectorError) as err:
            await http.send("GET", "/thing", what="thing")
        assert "HTML page instead of an API response" in str(err.value)
        assert "<html" not in str(err.value)
    finally:
        await http.aclose()


async def test_truncated_json_is_a_clear_error(vendor: TinyVendor) -> None:
    vendor.faults.malformed(path_contains="/thing")
    http = client(vendor)
    try:
        response = await http.send("GET", "/thing")
        with pytest.raises(ConnectorError, match="thing returned a body that is not JSON"):
            http.json(response, "thing")
    finally:
        await http.aclose()


async def test_secrets_echoed_by_a_vendor_never_reach_the_message(vendor: TinyVendor) -> None:
    http = client(vendor, auth=HeaderAuth("Authorization", "Bearer pat-0123456789abcdef"))
    try:
        with pytest.raises(ConnectorError) as err:
            await http.send("GET", "/echo-auth", what="echo")
        message = str(err.value)
        assert "pat-0123456789abcdef" not in message
        assert SECRET not in message
        assert message.startswith("tiny-prod: echo: unexpected HTTP 400")
    finally:
        await http.aclose()


async def test_unreachable_host_names_the_url() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    http = VendorHttp(
        "gone",
        f"http://127.0.0.1:{port}",
        clock=system_clock,
        retry=RetryPolicy(attempts=2, base_delay=0.01),
    )
    try:
        with pytest.raises(ConnectorError, match=r"cannot reach http://127\.0\.0\.1") as err:
            await http.send("GET", "/x", what="x")
        assert err.value.retryable
        assert http.requests == 2
        assert http.unanswered == 2  # neither attempt reached anyone
    finally:
        await http.aclose()


async def test_rate_limiter_never_exceeds_the_limit_in_any_window() -> None:
    limiter = RateLimiter(limit=5, period=0.3)
    arrivals: list[float] = []

    async def one(i: int) -> None:
        await limiter.acquire()
        # A request may wait for a pooled connection after admission: the vendor sees it
        # later than the limiter let it go, which must not let N+1 into one period.
        await asyncio.sleep(0.02 * (i % 3))
        arrivals.append(time.monotonic())
        await asyncio.sleep(0.01)
        limiter.release()

    await asyncio.gather(*(one(i) for i in range(12)))
    arrivals.sort()
    # A slow machine can only spread the requests further apart, never bunch them up.
    for i in range(len(arrivals) - 5):
        assert arrivals[i + 5] - arrivals[i] >= 0.3 - 1e-3
    # The first burst goes out without waiting for a refill.
    assert arrivals[4] - arrivals[0] < 0.3


async def test_rate_limiter_waits_for_requests_in_flight() -> None:
    limiter = RateLimiter(limit=2, period=60)
    await limiter.acquire()
    await limiter.acquire()
    third = asyncio.ensure_future(limiter.acquire())
    await asyncio.sleep(0.05)
    assert not third.done()  # both slots are taken by requests still in flight
    limiter.release()
    limiter.release()
    await asyncio.sleep(0.05)
    assert not third.done()  # finished, but within the period: still counted
    third.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await third


async def test_gather_bounded_keeps_order_and_limit() -> None:
    running = 0
    peak = 0

    async def work(i: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        running -= 1
        return i * i

    assert await gather_bounded(3, [work(i) for i in range(10)]) == [i * i for i in range(10)]
    assert peak == 3


# -- answers that are not what an API sends ----------------------------------------------------
async def test_a_declared_oversized_body_is_refused_before_it_is_read(vendor: TinyVendor) -> None:
    vendor.faults.inject("huge", path_contains="/thing", mb=3)
    http = client(vendor, max_response_mb=1)
    try:
        with pytest.raises(ConnectorError, match="larger than 1 MB") as err:
            await http.send("GET", "/thing", what="thing")
        assert not err.value.retryable  # the same answer would come again
        assert http.peak_body_bytes < 1024  # only the login's answer was read
    finally:
        await http.aclose()


async def test_an_undeclared_oversized_body_is_cut_at_the_cap(vendor: TinyVendor) -> None:
    vendor.faults.inject("huge", path_contains="/thing", mb=3, declare_length=False)
    http = client(vendor, max_response_mb=1)
    try:
        with pytest.raises(ConnectorError, match="larger than 1 MB"):
            await http.send("GET", "/thing", what="thing")
        assert 2**20 < http.peak_body_bytes <= 2**20 + 2**16
        assert len(vendor.requests_to("/thing")) == 1
    finally:
        await http.aclose()


async def test_a_trickled_answer_is_cut_off_at_the_call_timeout(vendor: TinyVendor) -> None:
    vendor.faults.inject("trickle", path_contains="/thing", times=5, interval=0.2)
    http = client(vendor, timeout=0.3, retry=RetryPolicy(attempts=2, base_delay=0.01))
    try:
        with pytest.raises(ConnectorError, match="timed out waiting for thing") as err:
            await http.send("GET", "/thing", what="thing")
        assert err.value.retryable
        assert "timeout_seconds" in str(err.value)
        # A per-chunk read timeout (0.3 s) never trips on a byte every 0.2 s; the call's own
        # bound did, on each attempt.
        assert len(vendor.requests_to("/thing")) == 2
    finally:
        await http.aclose()


async def test_nothing_is_sent_once_the_deadline_has_passed(vendor: TinyVendor) -> None:
    http = client(vendor, auth=None)
    try:
        with deadline(-1.0), pytest.raises(ConnectorError, match="deadline had passed"):
            await http.send("GET", "/thing", what="thing")
        assert vendor.requests_to("/thing") == []
    finally:
        await http.aclose()


async def test_a_redirect_is_an_error_naming_only_the_target_host(vendor: TinyVendor) -> None:
    vendor.faults.inject("redirect", path_contains="/thing")
    http = client(vendor)
    try:
        with pytest.raises(ConnectorError) as err:
            await http.send("GET", "/thing", what="thing")
        message = str(err.value)
        assert "HTTP 302, a redirect to another host (http://moved.invalid)" in message
        assert "does not follow" in message
        assert "hunter2" not in message
        assert "maintbot:" not in message
        assert len(vendor.requests) == 2  # the login and the redirected call, nothing followed
    finally:
        await http.aclose()


async def test_a_3xx_without_location_is_an_unexpected_status(vendor: TinyVendor) -> None:
    vendor.faults.fail(304, path_contains="/thing", body="")
    http = client(vendor)
    try:
        with pytest.raises(ConnectorError, match="unexpected HTTP 304"):
            await http.send("GET", "/thing", what="thing")
    finally:
        await http.aclose()


async def test_an_id_too_long_for_a_url_is_an_error_and_nothing_is_sent(
    vendor: TinyVendor,
) -> None:
    http = client(vendor, auth=None)
    try:
        with pytest.raises(ConnectorError, match="cannot send thing") as err:
            await http.send("GET", "/thing/" + "x" * 70_000, what="thing")
        assert "xxxx" not in str(err.value)
        assert vendor.requests == []
        assert http.requests == 0
    finally:
        await http.aclose()


@pytest.mark.parametrize(
    ("body", "content_type", "words"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "application/json", "nested too deeply"),
        (b'{"value": "\xff\xfe"}', "application/json", "not JSON"),
        (b'{"value": 42}', "text/html", "HTML page"),
        (b'{"value": ' + b"9" * 5000 + b"}", "application/json", "more digits"),
    ],
    ids=["deep", "not-utf8", "html-type", "huge-number"],
)
async def test_an_unreadable_body_is_a_connector_error(
    vendor: TinyVendor, body: bytes, content_type: str, words: str
) -> None:
    # What VendorHttp.send hands back: the status, the headers and the whole body.
    response = httpx.Response(
        200,
        headers={"content-type": content_type},
        content=body,
        request=httpx.Request("GET", f"{vendor.base_url}/thing"),
    )
    http = client(vendor)
    try:
        with pytest.raises(ConnectorError, match=words):
            http.json(response, "thing")
    finally:
        await http.aclose()


async def test_a_deeply_nested_error_body_still_gives_the_status(vendor: TinyVendor) -> None:
    vendor.faults.fail(400, path_contains="/thing", body="[" * 100_000 + "]" * 100_000)
    http = client(vendor)
    try:
        with pytest.raises(ConnectorError, match="unexpected HTTP 400"):
            await http.send("GET", "/thing", what="thing")
    finally:
        await http.aclose()


class _Stamp(BaseModel):
    at: datetime

    @field_validator("at", mode="before")
    @classmethod
    def _epoch(cls, value: Any) -> datetime:
        # As vendor models do: raises OverflowError/OSError/ValueError past the range.
        return datetime.fromtimestamp(value, UTC)


async def test_a_value_a_validator_cannot_convert_is_a_malformed_answer(
    vendor: TinyVendor,
) -> None:
    vendor.faults.fail(200, path_contains="/thing", body='{"at": 1e300}')
    http = client(vendor)
    try:
        response = await http.send("GET", "/thing", what="thing")
        with pytest.raises(ConnectorError, match="malformed response from thing") as err:
            http.parse(response, _Stamp, "thing")
        assert "1e300" not in str(err.value)
    finally:
        await http.aclose()


_PATH_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="?#/\x00"), min_size=1, max_size=12
)


@settings(max_examples=300, deadline=None)
@given(
    base=st.sampled_from(
        ["http://127.0.0.1:8080", "https://api.example.com/", "https://h.example/v1/api"]
    ),
    segments=st.lists(_PATH_TEXT, min_size=1, max_size=4),
    params=st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.one_of(st.text(max_size=12), st.integers(), st.booleans()),
        max_size=4,
    ),
)
def test_requests_are_addressed_as_httpx_itself_would_join_them(
    base: str, segments: list[str], params: dict[str, Any]
) -> None:
    # VendorHttp joins path and query itself to spare two re-parses per request; whatever
    # the path's characters and the query's values, the URL must be httpx's own join.
    http = VendorHttp("x", base, clock=system_clock)
    path = "/" + "/".join(segments)
    try:
        theirs = http.client.build_request("GET", path, params=params or None).url
    except httpx.InvalidURL:  # a character no URL carries: refused either way
        with pytest.raises(ConnectorError, match="cannot be built"):
            http._build("GET", path, params or None, None, None, {}, "x")
        return
    ours = http._build("GET", path, params or None, None, None, {}, "x").url
    assert ours == theirs
    assert ours.raw_path == theirs.raw_path
