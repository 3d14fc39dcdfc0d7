"""Huawei AK/SK request signing ("SDK-HMAC-SHA256") checked against Huawei's official Python
SDK (huaweicloudsdkcore, a test dependency): requests the SDK's own signer makes are accepted
by the simulator and refused once tampered with; the connector's signatures are the ones the
SDK computes for the same request; the connector works end to end with AK/SK; no secret
reaches a log line or an error. Real HTTP on 127.0.0.1; nothing of ours is mocked."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from bot.check import check_window, open_schedulers
from bot.cli import main
from bot.clock import ManualClock, system_clock
from bot.connectors.base import RetryPolicy
from bot.connectors.huawei import HuaweiConfig, HuaweiConnector, from_config
from bot.connectors.huawei.signing import DATE_FORMAT, AkSkSigner
from bot.errors import AuthError, ConnectorError
from bot.model import TaskKind, TaskRef, Window
from bot.sandbox import sandbox_config
from bot.sandbox.base import SandboxServer
from bot.sandbox.huawei import AK_LOCK_FOR, HuaweiSimulator, TemporaryKey

# -- fixtures and helpers -------------------------------------------------------------------------


@pytest.fixture
def sim(clock: ManualClock) -> HuaweiSimulator:
    made = HuaweiSimulator(clock=clock)
    # The gateway's time is the test's clock, so skew and expiry can be walked through.
    made.gateway_clock = clock
    return made


def sign_on(connector: HuaweiConnector, clock: ManualClock) -> HuaweiConnector:
    """Stamp the connector's signatures from ``clock`` (the machine's clock in production)."""
    auth = connector.http.auth
    assert auth is not None
    assert isinstance(auth.signer, AkSkSigner)
    auth.signer.clock = clock
    return connector


@pytest.fixture
def server(sim: HuaweiSimulator) -> Iterator[SandboxServer]:
    with SandboxServer([sim]) as running:
        yield running


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(DATE_FORMAT)


def sdk_signed(
    sim: HuaweiSimulator,
    method: str,
    path: str,
    *,
    query: list[tuple[str, Any]] | None = None,
    body: bytes = b"",
    at: datetime,
    access_key: str | None = None,
    secret_key: str | None = None,
    security_token: str | None = None,
    project_id: str | None = None,
    extra_headers: dict[str, str] | None = None,
) -> SdkRequest:
    """A request signed by the official SDK's own signer, as its service clients sign one."""
    host = sim.base_url.removeprefix("http://")
    headers = {"X-Sdk-Date": stamp(at), **(extra_headers or {})}
    if body:
        headers["Content-Type"] = "application/json"
    request = SdkRequest(
        method=method,
        schema="http",
        host=host,
        resource_path=path,
        query_params=list(query or []),
        header_params=headers,
        body=body,
    )
    credentials = BasicCredentials(
        access_key or sim.access_key,
        secret_key or sim.secret_key,
        project_id or sim.projects[0].id,
    )
    if security_token is not None:
        credentials.with_security_token(security_token)
    signed: SdkRequest = credentials.sign_request(request)
    return signed


async def send(request: SdkRequest, **changes: Any) -> httpx.Response:
    """Send ``request`` as signed, with ``changes`` (url, headers, content) applied after."""
    url = changes.get("url", request.url)
    headers = changes.get("headers", dict(request.header_params))
    content = changes.get("content", request.body or b"")
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.request(request.method, url, headers=headers, content=content)


def refusal(response: httpx.Response) -> str:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error_code"] == "APIGW.0301"
    message: str = body["error_msg"]
    assert message.startswith("Incorrect IAM authentication information")
    return message


def list_path(sim: HuaweiSimulator) -> str:
    return f"/v1/{sim.projects[0].id}/schedule-task"


def make(
    sim: HuaweiSimulator, clock: ManualClock, *, secret_key: str | None = None, **overrides: Any
) -> HuaweiConnector:
    config = HuaweiConfig.model_validate({**sim.config_entry(), **overrides})
    credentials = {"access_key": sim.access_key, "secret_key": secret_key or sim.secret_key}
    connector = sign_on(from_config("hw", config, credentials, clock=clock), clock)
    connector.http.retry = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02)
    return connector


# -- (1) the official SDK's signatures against the simulator --------------------------------------


async def test_requests_signed_by_the_sdk_are_accepted(
    server: SandboxServer, sim: HuaweiSimulator, clock: ManualClock
) -> None:
    listed = await send(
        sdk_signed(sim, "GET", list_path(sim), query=[("offset", 0), ("limit", 100)], at=clock())
    )
    assert listed.status_code == 200, listed.text
    task = next(t for t in listed.json()["items"] if t["task_name"] == "nightly_restart")

    body = json.dumps({"is_enable": False}).encode()
    patched = await send(
        sdk_signed(sim, "PATCH", f"{list_path(sim)}/{task['id']}", body=body, at=clock())
    )
    assert patched.status_code == 200, patched.text
    assert sim.tasks[task["id"]].enabled is False


async def test_tampered_sdk_requests_are_refused(
    server: SandboxServer, sim: HuaweiSimulator, clock: ManualClock
) -> None:
    task = sim.find("nightly_restart")
    path = f"{list_path(sim)}/{task.id}"
    body = json.dumps({"is_enable": False}).encode()
    signed = sdk_signed(sim, "PATCH", path, body=body, at=clock())

    other_body = json.dumps({"is_enable": True}).encode()
    assert "verify aksk signature fail" in refusal(await send(signed, content=other_body))
    listing = sdk_signed(sim, "GET", list_path(sim), query=[("limit", 10)], at=clock())
    assert "signature fail" in refusal(await send(listing, url=listing.url + "0"))
    later = {**signed.header_params, "X-Sdk-Date": stamp(clock() + timedelta(minutes=1))}
    assert "signature fail" in refusal(await send(signed, headers=later))
    wrong_secret = sdk_signed(sim, "PATCH", path, body=body, at=clock(), secret_key="x" * 40)
    assert "signature fail" in refusal(await send(wrong_secret))
    # Nothing changed at the vendor.
    assert task.enabled is True


async def test_unknown_key_skew_and_missing_signed_headers_are_refused(
    server: SandboxServer, sim: HuaweiSimulator, clock: ManualClock
) -> None:
    path = list_path(sim)
    unknown = sdk_signed(sim, "GET", path, at=clock(), access_key="HPUANOSUCHKEY0000000")
    assert "ak not exist" in refusal(await send(unknown))
    # 15 minutes either side of the server's clock, as API Gateway allows.
    for minutes, accepted in ((-14, True), (14, True), (-16, False), (16, False)):
        request = sdk_signed(sim, "GET", path, at=clock() + timedelta(minutes=minutes))
        response = await send(request)
        if accepted:
            assert response.status_code == 200, (minutes, response.text)
        else:
            assert "more than 15 minutes" in refusal(response), minutes
    # A header named in SignedHeaders must arrive.
    request = sdk_signed(sim, "GET", path, at=clock(), extra_headers={"X-Trace": "t-1"})
    headers = {k: v for k, v in request.header_params.items() if k != "X-Trace"}
    assert "signed header x-trace is not in the request" in refusal(
        await send(request, headers=headers)
    )
    # X-Sdk-Date itself must be signed, and in Huawei's basic ISO form.
    request = sdk_signed(sim, "GET", path, at=clock())
    auth = request.header_params["Authorization"]
    unsigned = {
        **request.header_params,
        "Authorization": auth.replace("SignedHeaders=host;", "SignedHeaders=host,").split(",")[0]
        + ", SignedHeaders=host, Signature=00",
    }
    assert "x-sdk-date must be a signed header" in refusal(await send(request, headers=unsigned))
    iso = {**request.header_params, "X-Sdk-Date": clock().isoformat()}
    assert "yyyyMMddTHHmmssZ" in refusal(await send(request, headers=iso))
    garbled = {**request.header_params, "Authorization": "Bearer abc"}
    assert (await send(request, headers=garbled)).status_code == 401


async def test_temporary_credentials_need_their_security_token(
    server: SandboxServer, sim: HuaweiSimulator, clock: ManualClock
) -> None:
    key: TemporaryKey = sim.issue_temporary(timedelta(hours=1))
    path = list_path(sim)

    def signed(token: str | None) -> SdkRequest:
        return sdk_signed(
            sim,
            "GET",
            path,
            at=clock(),
            access_key=key.access_key,
            secret_key=key.secret_key,
            security_token=token,
        )

    assert (await send(signed(key.security_token))).status_code == 200
    assert "security token" in refusal(await send(signed(None)))
    assert "security token" in refusal(await send(signed("forged-token")))
    clock.advance(timedelta(hours=1))
    assert "security token" in refusal(await send(signed(key.security_token)))


async def test_five_refusals_in_a_row_lock_the_key_for_five_minutes(
    server: SandboxServer, sim: HuaweiSimulator, clock: ManualClock
) -> None:
    path = list_path(sim)
    for _ in range(5):
        bad = sdk_signed(sim, "GET", path, at=clock(), secret_key="not-the-secret-key")
        refusal(await send(bad))
    good = sdk_signed(sim, "GET", path, at=clock())
    assert "reach the limit" in refusal(await send(good))
    clock.advance(AK_LOCK_FOR)
    assert (await send(sdk_signed(sim, "GET", path, at=clock()))).status_code == 200


async def test_x_project_id_must_be_the_path_project(
    server: SandboxServer, sim: HuaweiSimulator, clock: ManualClock
) -> None:
    other = sdk_signed(sim, "GET", list_path(sim), at=clock(), project_id=sim.projects[1].id)
    response = await send(other)
    assert response.status_code == 403
    assert "X-Project-Id" in response.json()["error_msg"]


# -- (2) and (6) the connector's signatures are the SDK's ------------------------------------------

_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_PAIRS = st.lists(st.tuples(_TEXT, _TEXT), max_size=6)


def _sdk_authorization(request: httpx.Request, secret: str, token: str | None) -> SdkRequest:
    """The SDK's signature for the request the connector's signer produced: same wire path
    and query, same X-Sdk-Date and Content-Type, the SDK adding project and token itself."""
    headers = {"X-Sdk-Date": request.headers["x-sdk-date"], "Host": request.headers["host"]}
    if "content-type" in request.headers:
        headers["Content-Type"] = request.headers["content-type"]
    sdk = SdkRequest(
        method=request.method,
        schema="http",
        host=request.headers["host"],
        resource_path=request.url.raw_path.split(b"?")[0].decode(),
        query_params=list(request.url.params.multi_items()),
        header_params=headers,
        body=request.content,
    )
    credentials = BasicCredentials("HPUAPROPERTYKEY00001", secret, "project-7")
    if token is not None:
        credentials.with_security_token(token)
    signed: SdkRequest = credentials.sign_request(sdk)
    return signed


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
    segments=st.lists(_TEXT, min_size=1, max_size=4),
    query=_PAIRS,
    body=st.one_of(st.just(b""), st.binary(max_size=64), _TEXT.map(lambda t: json.dumps(t))),
    secret=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40),
    token=st.one_of(st.none(), st.text("ABCDEFabcdef0123456789-_=", min_size=1, max_size=60)),
    moment=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
)
def test_connector_signatures_equal_the_sdks(
    method: str,
    segments: list[str],
    query: list[tuple[str, str]],
    body: bytes | str,
    secret: str,
    token: str | None,
    moment: datetime,
) -> None:
    """Any path (spaces, unicode, reserved characters), query (repeated names, empty values)
    and body (empty, JSON, bytes) is signed exactly as the SDK signs it, and sent with the
    query in the SDK's canonical form."""
    content = body.encode() if isinstance(body, str) else body
    path = "/v1/" + "/".join(quote(s, safe="") for s in segments)
    headers = {"Content-Type": "application/json"} if isinstance(body, str) else {}
    request = httpx.Request(
        method, f"http://127.0.0.1:8443{path}", params=query, content=content, headers=headers
    )
    signer = AkSkSigner(
        access_key="HPUAPROPERTYKEY00001",
        secret_key=SecretStr(secret),
        security_token=SecretStr(token) if token is not None else None,
        project_id="project-7",
        clock=lambda: moment,
    )
    signer.sign(request)
    assert request.headers["x-sdk-date"] == stamp(moment)
    sdk = _sdk_authorization(request, secret, token)
    assert request.headers["authorization"] == sdk.header_params["Authorization"]
    wire_query = request.url.query.decode()
    assert sdk.uri == request.url.raw_path.split(b"?")[0].decode() + (
        f"?{wire_query}" if wire_query else ""
    )


async def test_the_connectors_recorded_requests_verify_with_the_sdk(
    server: SandboxServer, sim: HuaweiSimulator, clock: ManualClock
) -> None:
    """What reached the simulator, re-signed by the SDK from the wire, gives the same value."""
    async with make(sim, clock) as connector:
        task = sim.find("nightly_restart")
        ref = TaskRef(system="hw", kind=TaskKind.APP_TASK, id=task.id)
        assert await connector.pause(ref, "window") is True
    checked = 0
    for recorded in sim.requests:
        sdk = SdkRequest(
            method=recorded.method,
            schema="http",
            host=recorded.headers["host"],
            resource_path=quote(recorded.path),
            query_params=list(recorded.query.items()),
            header_params={
                "X-Sdk-Date": recorded.headers["x-sdk-date"],
                "Host": recorded.headers["host"],
                **(
                    {"Content-Type": recorded.headers["content-type"]}
                    if "content-type" in recorded.headers
                    else {}
                ),
            },
            body=recorded.body,
        )
        signed = BasicCredentials(sim.access_key, sim.secret_key, sim.projects[0].id).sign_request(
            sdk
        )
        assert recorded.headers["authorization"] == signed.header_params["Authorization"]
        assert "x-auth-token" not in recorded.headers
        checked += 1
    methods = {r.method for r in sim.requests}
    assert checked >= 3
    assert methods == {"GET", "PATCH"}


async def test_query_with_spaces_unicode_and_repeated_names_reaches_the_simulator(
    server: SandboxServer, sim: HuaweiSimulator, clock: ManualClock
) -> None:
    """The simulator checks the signature from the raw wire query: httpx's own '+' for a
    space would not verify, the canonical form the signer sends does."""
    signer = AkSkSigner(
        access_key=sim.access_key,
        secret_key=SecretStr(sim.secret_key),
        project_id=sim.projects[0].id,
        clock=clock,
    )
    query = [("task_name", "nightly restart"), ("task_name", "夜间"), ("limit", "10"), ("x", "")]
    async with httpx.AsyncClient(base_url=sim.base_url, auth=signer, timeout=5) as client:
        response = await client.get(list_path(sim), params=query)
        assert response.status_code == 200, response.text
        assert b"+" not in response.request.url.query
        posted = await client.post(
            f"{list_path(sim)}/future-executions",
            json={"scheduled_type": "DAY", "scheduled_time": "02:30:00", "day_interval": 1},
        )
        assert posted.status_code == 200, posted.text
        empty = await client.post(f"{list_path(sim)}/future-executions", content=b"")
        assert empty.status_code == 400, empty.text  # signed fine; the body is what is wrong
    plus_for_space = httpx.Request("GET", sim.base_url + list_path(sim), params=query)
    signer.sign(plus_for_space)
    raw = plus_for_space.url.copy_with(query=b"task_name=nightly+restart&limit=10")
    async with httpx.AsyncClient(timeout=5) as client:
        resent = await client.get(raw, headers=dict(plus_for_space.headers))
    refusal(resent)


# -- (3) end to end --------------------------------------------------------------------------------


async def test_the_sandbox_signs_with_aksk_and_a_check_answers(
    server: SandboxServer, sim: HuaweiSimulator, clock: ManualClock
) -> None:
    """The check runs on the test's clock (as on ``--now``); the signatures are stamped
    from the machine's clock, which is what the gateway compares them with."""
    sim.gateway_clock = system_clock
    config = sandbox_config([sim])
    assert config.schedulers["huawei"].auth_mode == "aksk"  # type: ignore[attr-defined]
    schedulers = open_schedulers(config, clock)
    try:
        window = Window(
            start=clock() + timedelta(hours=2), end=clock() + timedelta(hours=28), tz="UTC"
        )
        report = await check_window(window, schedulers, clock)
    finally:
        for scheduler in schedulers:
            await scheduler.aclose()
    assert [(s.system, s.ok) for s in report.systems] == [("huawei", True)]
    assert "nightly_restart" in {c.task_name for c in report.conflicts}
    assert not sim.requests_to("/v3/auth/tokens")
    assert all(r.headers["authorization"].startswith("SDK-HMAC-SHA256 ") for r in sim.requests)


async def test_temporary_credentials_end_to_end(
    server: SandboxServer, sim: HuaweiSimulator, clock: ManualClock
) -> None:
    key = sim.issue_temporary(timedelta(hours=1))
    config = HuaweiConfig.model_validate({**sim.config_entry(), "security_token_env": "HW_STS"})
    credentials = {
        "access_key": key.access_key,
        "secret_key": key.secret_key,
        "security_token": key.security_token,
    }
    async with sign_on(from_config("hw", config, credentials, clock=clock), clock) as connector:
        assert await connector.list_tasks()
        assert {r.headers["x-security-token"] for r in sim.requests} == {key.security_token}
        clock.advance(timedelta(hours=1))  # expired at Huawei: a clear 401, asked once
        mark = len(sim.requests)
        with pytest.raises(AuthError, match="401") as caught:
            await connector.list_tasks()
    assert "security token" in str(caught.value)
    assert key.secret_key not in str(caught.value)
    assert key.security_token not in str(caught.value)
    # Each listing's first page asked once: a refused signature is not sent again.
    sent = [(r.path, tuple(sorted(r.query.items()))) for r in sim.requests[mark:]]
    assert sent
    assert len(sent) == len(set(sent))


# -- (4) secrets stay out of logs, errors and reprs ------------------------------------------------


async def test_secrets_never_reach_logs_or_errors(
    server: SandboxServer,
    sim: HuaweiSimulator,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    key = sim.issue_temporary()
    config = HuaweiConfig.model_validate({**sim.config_entry(), "security_token_env": "HW_STS"})
    wrong_secret = "wrong/secret+key-" + key.secret_key[:10]
    credentials = {
        "access_key": key.access_key,
        "secret_key": wrong_secret,
        "security_token": key.security_token,
    }
    secrets = (wrong_secret, key.secret_key, key.security_token)
    async with sign_on(from_config("hw", config, credentials, clock=clock), clock) as connector:
        with pytest.raises(AuthError) as refused:
            await connector.list_tasks()
        # A vendor that echoes what it was sent.
        echoed = (
            f"SDK-HMAC-SHA256 Access={key.access_key}, SignedHeaders=host, "
            f"Signature={'ab' * 32} refused; secret_key={wrong_secret} token {key.security_token}"
        )
        sim.faults.fail(400, times=10, body=json.dumps({"error_code": "X", "error_msg": echoed}))
        with pytest.raises(ConnectorError) as echoing:
            await connector.list_tasks()
        shown = [
            str(refused.value),
            str(echoing.value),
            repr(connector.http.auth),
            repr(connector.http.auth.signer if connector.http.auth else None),
            caplog.text,
        ]
    for text in shown:
        for secret in secrets:
            assert secret not in text
    assert "ab" * 32 not in str(echoing.value)
    assert "unexpected HTTP 400" in str(echoing.value)
    assert "verify aksk signature fail" in str(refused.value)


# -- (5) configuration ---------------------------------------------------------------------------


def test_a_half_given_pair_exits_2_naming_the_missing_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MAINTBOT_DB", str(tmp_path / "maintbot.db"))
    (tmp_path / "maintbot.toml").write_text(
        "[schedulers.hw]\n"
        'vendor = "huawei"\n'
        'base_url = "https://workspace.ap-southeast-1.myhuaweicloud.com"\n'
        'project_id = "0123456789abcdef"\n'
        'access_key_env = "HW_AK"\n'
    )
    code = main(["check", "Saturday 2-4am", "--config", str(tmp_path / "maintbot.toml")])
    err = capsys.readouterr().err
    assert code == 2
    assert "access_key_env is given without secret_key_env" in err
    assert 'secret_key_env = "HUAWEI_SECRET_KEY"' in err
