"""Requests not signed by Slack are refused before anything happens, and secrets never leave
the process: not in Slack messages, audit rows or logs."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from slackclient import BOT_TOKEN, SIGNING_SECRET, SlackWorld

from bot.clock import ManualClock


@pytest.fixture
def world(tmp_path: Path, clock: ManualClock) -> Iterator[SlackWorld]:
    with SlackWorld(tmp_path, clock) as w:
        yield w
        assert w.fake.violations == []


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
        pytest.param({"timestamp": int(time.time()) - 301}, id="stale by 301 s"),
        pytest.param({"tamper": lambda body: body.replace("check", "audit")}, id="tampered"),
    ],
)
def test_a_forged_command_is_refused_and_does_nothing(world: SlackWorld, forgery: dict) -> None:
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
