"""`--socket-mode`: the same app over a WebSocket (aiohttp Socket Mode handler), with the
URL issued to the app-level token by apps.connections.open on the fake Slack."""

from __future__ import annotations

import pytest
from slackclient import ALICE, OPS, SlackWorld, available_vendors, blocks_text

pytestmark = pytest.mark.slack_world(vendors=None, socket_mode=True)  # all four schedulers


def test_a_slash_command_over_socket_mode(world: SlackWorld) -> None:
    (opened,) = world.fake.wait_calls("apps.connections.open")
    assert opened.headers["authorization"].startswith("Bearer xapp-")
    world.fake.socket_send(
        {
            "envelope_id": "env-1",
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": {
                "team_id": "T0FAKE",
                "channel_id": OPS,
                "user_id": ALICE,
                "user_name": "alice",
                "command": "/maintenance",
                "text": "check Saturday 2-4am",
                "api_app_id": "A0MAINTBOT",
                "response_url": world.fake.response_url("sock1"),
                "trigger_id": "t.sock1",
            },
        }
    )
    ack = world.fake.socket_ack("env-1")
    count = len(available_vendors())
    assert ack["payload"]["text"].startswith(f"Checking {count} scheduler")
    report = world.fake.wait_response("sock1")
    assert "to act on" in blocks_text(report)
    assert [r.action for r in world.audit()] == ["check"]


def test_healthz_is_served_but_not_the_events_endpoint(world: SlackWorld) -> None:
    assert world.http.get("/healthz").status_code == 200
    # Nothing reaches the bot over HTTP in Socket Mode, and without a signing secret it
    # must not pretend to verify anything there.
    assert world.http.post("/slack/events", content=b"{}").status_code == 404
