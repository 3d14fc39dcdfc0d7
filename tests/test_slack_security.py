"""Requests not signed by Slack are refused before anything happens (401, no listener, no
post to any URL the body names, no state, no error in the log), hostile command arguments
get a clear answer, and secrets never leave the process: not in Slack messages, audit rows
or logs."""

from __future__ import annotations

import json
import logging
import socket
import time

import pytest
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slackclient import (
    BOT_TOKEN,
    MARKER,
    SIGNING_SECRET,
    HookRecorder,
    SlackWorld,
    blocks_text,
    forgeries,
    payload_kinds,
    sign,
)

from bot.errors import MaintbotError
from bot.slack.app import VERIFIED_KEY, report_error

pytestmark = pytest.mark.slack_world(vendors=None)  # all four schedulers


def assert_nothing_happened(world: SlackWorld) -> None:
    time.sleep(0.3)  # anything the bot would have started after the answer has had time
    assert world.audit() == []
    assert list(world.fake) == []  # no Web API call, no response_url post
    for sim in world.simulators:
        assert sim.requests == []


@pytest.mark.parametrize(
    "forgery",
    [
        pytest.param({"secret": "not-the-signing-secret"}, id="wrong secret"),
        pytest.param({"timestamp": -301}, id="stale by 301 s"),
        pytest.param({"tamper": lambda body: body.replace("check", "audit")}, id="tampered"),
    ],
)
def test_a_forged_command_is_refused_and_does_nothing(world: SlackWorld, forgery: dict) -> None:
    if "timestamp" in forgery:  # relative to the bot's clock
        forgery = {"timestamp": int(world.clock().timestamp()) + forgery["timestamp"]}
    reply = world.user("alice").slash("/maintenance check Saturday 2-4am", **forgery)
    assert reply.status == 401
    assert_nothing_happened(world)


def test_a_forged_click_is_refused_and_does_nothing(world: SlackWorld) -> None:
    value = json.dumps({"a": "a_whatever"})
    reply = world.user("bob").click_value("approve", value, secret="guessed")
    assert reply.status == 401
    assert_nothing_happened(world)


def test_a_request_without_signature_headers_is_refused(world: SlackWorld) -> None:
    response = world.http.post(
        "/slack/events",
        content=b"command=%2Fmaintenance&text=audit&user_id=U0MALLORY",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 401
    assert_nothing_happened(world)


def test_every_unverifiable_request_of_every_kind_is_a_401_that_does_nothing(
    world: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with HookRecorder() as hook:
        tried = forgeries(hook.url, int(world.clock().timestamp()))
        answers = {f.label: world.send(f.content, f.headers).status for f in tried}
        assert_nothing_happened(world)
        assert hook.hits == []  # no post to any URL a forged body named
    assert {label: status for label, status in answers.items() if status != 401} == {}
    assert len(tried) > 150
    assert world.store.db["processed_events"].count == 0  # nothing claimed either
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert loud == []
    assert MARKER not in caplog.text  # nothing of a forged body reaches the log


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"Content-Length: 1000\r\n\r\ntext=" + MARKER.encode(), id="body cut off"),
        pytest.param(b"Transfer-Encoding: chunked\r\n\r\n5\r\nabc\r\nzz\r\n", id="bad chunks"),
        pytest.param(b"Content-Length: nine\r\n\r\n", id="bad length"),
    ],
)
def test_a_malformed_http_request_is_refused_without_an_error_in_the_log(
    world: SlackWorld, raw: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    host, port = world.bot.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"X-Slack-Request-Timestamp: 1\r\nX-Slack-Signature: v0=" + b"0" * 64 + b"\r\n" + raw
        )
        conn.shutdown(socket.SHUT_WR)  # the sender stops here
        answer = conn.recv(65536)
    assert not answer.startswith(b"HTTP/1.1 5")
    assert_nothing_happened(world)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert "abc" not in caplog.text
    assert MARKER not in caplog.text


def test_a_request_dispatched_without_verification_reaches_no_listener(
    world: SlackWorld,
) -> None:
    # Defence in depth: should any path hand Bolt a request the server did not verify,
    # the app itself refuses it before any listener or responder.
    with HookRecorder() as hook:
        body, _ = payload_kinds(hook.url)["command"]
        request = AsyncBoltRequest(
            body=body.decode(), headers={"content-type": "application/x-www-form-urlencoded"}
        )
        assert world.bot.service is not None
        response = world.bot.call(world.bot.service.app.async_dispatch(request))
        assert response.status == 401
        time.sleep(0.3)  # anything the bot would have started after the answer has had time
        assert hook.hits == []
    assert world.audit() == []
    # Bolt's own authorization step (its cached auth.test to Slack) runs before app
    # middleware; nothing else does.
    assert {c.method for c in world.fake} <= {"auth.test"}
    assert all(sim.requests == [] for sim in world.simulators)


@pytest.mark.parametrize("verified", [False, True])
def test_report_error_answers_only_a_verified_requests_response_url(
    world: SlackWorld, verified: bool
) -> None:
    with HookRecorder() as hook:
        url = f"{hook.url}/error"
        context = AsyncBoltContext({VERIFIED_KEY: True} if verified else {})
        world.bot.call(
            report_error(
                MaintbotError("That did not work; try again."),
                {"response_url": url, "command": "/maintenance"},
                AsyncRespond(response_url=url),
                context,
            )
        )
        assert hook.hits == ([("POST", "/error")] if verified else [])


def test_the_hook_recorder_sees_what_a_verified_request_answers(world: SlackWorld) -> None:
    # The counterpart of the table above: signed correctly, the same kind of body does
    # reach its response_url, so the recorder would have caught a forged one.
    with HookRecorder() as hook:
        body, content_type = payload_kinds(hook.url)["command"]
        signed = sign(body.decode(), timestamp=int(world.clock().timestamp()))
        reply = world.send(body, {"Content-Type": content_type, **signed})
        assert reply.status == 200
        world.fake.wait_for(lambda: bool(hook.hits), what="a post to the hook")
        assert hook.hits == [("POST", "/command")]


@pytest.mark.parametrize(
    "argument",
    ["²", "١٢", "٣", "-5", "0", "201", "1e3", "nan", "inf", "9" * 400, "20 rows", "0x14"],
)
def test_audit_with_a_count_that_is_not_one_gets_a_clear_message(
    world: SlackWorld, argument: str, caplog: pytest.LogCaptureFixture
) -> None:
    reply = world.user("alice").slash(f"/maintenance audit {argument}")
    assert reply.status == 200
    text = blocks_text(reply.json())
    assert "`audit` takes a number of rows from 1 to 200" in text
    assert "/maintenance audit 20" in text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert world.audit() == []


def test_audit_with_a_plain_count_lists_rows(world: SlackWorld) -> None:
    world.store.audit("U0ALICE01", "check", "ok")
    reply = world.user("alice").slash("/maintenance audit 5")
    assert "Audit trail, newest first (1 line(s), one per call" in blocks_text(reply.json())


def test_a_correctly_signed_request_is_accepted(world: SlackWorld) -> None:
    # The counterpart of the forgeries above, so they fail for the right reason.
    reply = world.user("alice").slash("/maintenance help")
    assert reply.status == 200


def test_secrets_stay_out_of_messages_audit_rows_and_logs(
    world: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    alice = world.user("alice")
    report = alice.slash("/maintenance check Saturday 2-4am").wait()
    # A vendor call through the service-account token, so a secret could leak from it.
    talend_pause = next(
        block["accessory"]["value"]
        for block in report["blocks"]
        if (block.get("accessory") or {}).get("action_id") == "pause_now"
        and "`talend`" in block["text"]["text"]
    )
    alice.click_value("pause_now", talend_pause, message=report).wait()
    alice.slash("/maintenance audit").json()
    secrets = [BOT_TOKEN, SIGNING_SECRET]
    for sim in world.simulators:
        # Passwords and secret keys; user names and key ids are not secret.
        secrets.extend(
            value
            for name, value in sim.credentials().items()
            if any(word in name for word in ("SECRET", "PASSWORD", "TOKEN"))
        )
    sent_to_slack = json.dumps([c.params for c in world.fake])
    audit = json.dumps([r.model_dump(mode="json") for r in world.audit()])
    for secret in secrets:
        assert secret not in sent_to_slack
        assert secret not in audit
        assert secret not in caplog.text
