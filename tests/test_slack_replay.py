"""A verified request acts once: Slack's retries and replays of a captured, validly signed
request (within its 5-minute window) are acknowledged with an empty 200 and do nothing, in
this process and in any other sharing the store."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import httpx
from slackclient import BotServer, SlackWorld, blocks_text, sign

from bot.clock import ManualClock
from bot.sandbox import sandbox_config
from bot.slack.server import DeliveryLedger
from bot.slack.verify import request_identity
from bot.store import Store


def first_active_talend_row(report: dict[str, Any]) -> tuple[dict[str, Any], str]:
    for block in report["blocks"]:
        accessory = block.get("accessory") or {}
        if accessory.get("action_id") == "pause_now" and "`talend`" in block["text"]["text"]:
            return block, block["text"]["text"].split("*")[1]
    raise AssertionError("no active Talend task on the first page")


def talend_paused(world: SlackWorld, name: str) -> bool:
    (task,) = [t for t in world.sandbox_state("talend")["tasks"] if t["name"] == name]
    return bool(task["paused"])


def vendor_writes(world: SlackWorld) -> int:
    sim = world.sandbox.by_vendor("talend")
    return len([r for r in sim.requests if r.method in ("PUT", "POST", "DELETE", "PATCH")])


def test_a_replayed_pause_now_after_a_resume_does_not_pause_again(world: SlackWorld) -> None:
    alice = world.user("alice")
    report = alice.slash("/maintenance check Saturday 2-4am").wait()
    row, name = first_active_talend_row(report)
    pause = alice.click_value("pause_now", row["accessory"]["value"], message=report)
    paused = pause.wait()
    assert f"Paused {name} (talend)." in blocks_text(paused)
    resumed = alice.click("resume_now", on=paused).wait()
    assert f"Resumed {name} (talend)." in blocks_text(resumed)
    assert talend_paused(world, name) is False
    writes, audit = vendor_writes(world), len(world.audit())

    replay = world.replay(pause)

    assert (replay.status, replay.body) == (200, "")
    # A later request, handled after the replay, so anything the replay started has had
    # its turn on the bot's loop.
    assert alice.slash("/maintenance help").status == 200
    assert talend_paused(world, name) is False
    assert vendor_writes(world) == writes
    assert len(world.audit()) == audit
    assert len(world.fake.responses(pause.response_id)) == 1  # only the original answer


def test_a_replayed_check_runs_no_second_check(world: SlackWorld) -> None:
    alice = world.user("alice")
    check = alice.slash("/maintenance check Saturday 2-4am")
    assert check.json()["text"].startswith("Checking 1 scheduler")
    check.wait()
    asked = len(world.sandbox.by_vendor("talend").requests)

    replay = world.replay(check)

    # The listener's ack would have said "Checking…": the empty body shows it never ran.
    assert (replay.status, replay.body) == (200, "")
    alice.slash("/maintenance status").json()
    assert len(world.sandbox.by_vendor("talend").requests) == asked
    assert [r.action for r in world.audit()].count("check") == 1
    assert len(world.fake.responses(check.response_id)) == 1


def test_slacks_retry_of_an_event_does_nothing(world: SlackWorld) -> None:
    alice = world.user("alice")
    first = alice.open_home(event_id="Ev0RETRY01")
    world.fake.wait_calls("views.publish")
    retry = world.replay(
        first, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    assert (retry.status, retry.body) == (200, "")
    alice.open_home(event_id="Ev0RETRY02")
    world.fake.wait_calls("views.publish", 2)
    assert len(world.fake.calls_to("views.publish")) == 2


def test_a_retry_signed_afresh_is_still_the_same_request(
    world: SlackWorld, clock: ManualClock
) -> None:
    # Slack signs each delivery anew; the command's trigger_id says it is the same one.
    alice = world.user("alice")
    first = alice.slash("/maintenance audit")
    assert first.status == 200
    assert first.body
    body, headers = first.sent
    clock.advance(timedelta(seconds=40))
    resigned = {**headers, **sign(body.decode(), timestamp=int(clock().timestamp()))}
    again = world.send(body, {**resigned, "X-Slack-Retry-Num": "1"})
    assert (again.status, again.body) == (200, "")


def test_a_replay_to_another_process_on_the_same_store_does_nothing(
    world: SlackWorld, clock: ManualClock
) -> None:
    alice = world.user("alice")
    report = alice.slash("/maintenance check Saturday 2-4am").wait()
    row, name = first_active_talend_row(report)
    pause = alice.click_value("pause_now", row["accessory"]["value"], message=report)
    alice.click("resume_now", on=pause.wait()).wait()
    writes = vendor_writes(world)

    # A second replica: its own connection to the same SQLite file, its own app and loop.
    store = Store(world.db_path, clock=clock)
    other = BotServer(world.settings, store, sandbox_config(world.simulators), clock)
    other.start()
    try:
        content, headers = pause.sent
        answer = httpx.post(f"{other.url}/slack/events", content=content, headers=headers)
        assert (answer.status_code, answer.text) == (200, "")
        # The replica itself answers what it has not seen.
        form = "command=%2Fmaintenance&text=help&trigger_id=t.other&user_id=U0ALICE01"
        help_answer = httpx.post(
            f"{other.url}/slack/events",
            content=form.encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                **sign(form, timestamp=int(clock().timestamp())),
            },
        )
        assert help_answer.status_code == 200
        assert "/maintenance" in help_answer.text
    finally:
        other.stop()
        store.close()
    assert talend_paused(world, name) is False
    assert vendor_writes(world) == writes


def test_new_clicks_on_the_same_button_still_act(world: SlackWorld) -> None:
    # Only the same delivery is refused: a second, real click carries its own trigger_id.
    alice = world.user("alice")
    report = alice.slash("/maintenance check Saturday 2-4am").wait()
    row, name = first_active_talend_row(report)
    value = row["accessory"]["value"]
    first = alice.click_value("pause_now", value, message=report).wait()
    assert f"Paused {name} (talend)." in blocks_text(first)
    second = alice.click_value("pause_now", value, message=report).wait()
    assert "already paused" in blocks_text(second).lower()


def test_the_ledger_forgets_deliveries_after_an_hour(store: Store, clock: ManualClock) -> None:
    ledger = DeliveryLedger(store, clock)
    assert ledger.first_delivery("command:t.1") is True
    assert ledger.first_delivery("command:t.1") is False
    clock.advance(DeliveryLedger.KEEP + DeliveryLedger.PRUNE_EVERY)
    assert ledger.first_delivery("command:t.2") is True  # this call prunes
    assert store.db["processed_events"].count == 1
    # Long past the 5-minute signature window, so forgetting t.1 lets no replay in.
    assert ledger.first_delivery("command:t.1") is True


def test_each_kind_of_request_is_known_by_its_own_identity() -> None:
    form = "application/x-www-form-urlencoded"
    action = {
        "type": "block_actions",
        "trigger_id": "T.1",
        "actions": [{"action_id": "pause_now", "action_ts": "1.5"}],
    }
    no_trigger = {**action, "trigger_id": None, "container": {"channel_id": "C", "message_ts": "9"}}
    cases: list[tuple[bytes, str, str | None]] = [
        (
            json.dumps({"type": "event_callback", "event_id": "Ev9"}).encode(),
            "application/json",
            "event:Ev9",
        ),
        (b"command=%2Fmaintenance&text=check&trigger_id=T.2", form, "command:T.2"),
        (b"payload=" + json.dumps(action).encode(), form, "interaction:block_actions:T.1"),
        (b"payload=" + json.dumps(no_trigger).encode(), form, "interaction:block_actions:C/9:1.5"),
        (
            json.dumps({"type": "url_verification", "challenge": "x"}).encode(),
            "application/json",
            None,
        ),
        (b"ssl_check=1&token=x", form, None),
    ]
    for body, content_type, expected in cases:
        assert request_identity(body, content_type) == expected, body
    digest = request_identity(b"\xff\xfe not a payload", form)
    assert digest is not None
    assert re.fullmatch(r"body:[0-9a-f]{64}", digest)


def test_requests_that_change_nothing_may_come_twice(world: SlackWorld) -> None:
    # Slack re-sends url_verification when the Request URL is saved again; it is answered
    # every time (and claims nothing).
    body = json.dumps({"type": "url_verification", "token": "t", "challenge": "c-1"})
    for _ in range(2):
        reply = world.post(body, "application/json")
        assert reply.status == 200
        assert reply.json() == {"challenge": "c-1"}
    assert world.store.db["processed_events"].count == 0
