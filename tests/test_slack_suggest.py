"""`/maintenance suggest` end to end: the slash command over loopback, the three slots as
Block Kit the fake Slack accepts, and "Plan this" opening the plan dialog on the slot."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from slackclient import SlackUser, SlackWorld, blocks_text

from bot.clock import ManualClock

pytestmark = pytest.mark.slack_world(vendors=None)  # all four schedulers


def slots(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in message["blocks"] if str(b.get("block_id", "")).startswith("suggest-")]


def opened(person: SlackUser) -> dict[str, Any]:
    fake = person.world.fake

    def form_shown() -> bool:
        top = fake.views.top(person.id)
        return top is not None and any(b.get("type") == "input" for b in top.view["blocks"])

    fake.wait_for(form_shown, what="the plan form")
    return person.modal().view


def test_suggest_lists_three_slots_each_with_a_plan_this_button(world: SlackWorld) -> None:
    alice = world.user("alice")
    reply = alice.slash("/maintenance suggest 2h tomorrow 00:00 for 24h")
    assert reply.status == 200
    assert reply.json()["text"].startswith("Looking for a quieter 2h slot on 4 schedulers")
    answer = reply.wait()
    assert answer["replace_original"] is True
    rows = slots(answer)
    assert len(rows) == 3
    for row in rows:
        button = row["accessory"]
        assert (button["action_id"], button["text"]["text"]) == ("plan_dialog", "Plan this")
        assert set(json.loads(button["value"])) == {"c"}  # a stored report's id, no data
        assert "<!date^" in row["text"]["text"]
    text = blocks_text(answer)
    assert "the same for every slot, so they rank none" in text
    assert world.fake.violations == []
    (row,) = [r for r in world.audit() if r.action == "suggest"]
    assert row.outcome == "ok"


def test_plan_this_opens_the_plan_dialog_on_that_slot(world: SlackWorld) -> None:
    alice = world.user("alice")
    answer = alice.slash("/maintenance suggest 90m tomorrow 00:00 for 24h").wait()
    second = slots(answer)[1]
    check_id = json.loads(second["accessory"]["value"])["c"]
    stored = world.store.get_check(check_id)
    start = stored["report"]["window"]["start"]
    text = stored["report"]["window"]["text"]
    alice.click("plan_dialog", on=answer, which=1)
    view = opened(alice)
    window_input = next(
        b for b in view["blocks"] if str(b.get("block_id", "")).startswith("window")
    )
    assert window_input["element"]["initial_value"] == text
    assert text.endswith("for 1h30")
    context = "\n".join(
        e["text"] for b in view["blocks"] if b["type"] == "context" for e in b["elements"]
    )
    stamp = int(datetime.fromisoformat(start).timestamp())
    assert f"<!date^{stamp}^" in context, "the dialog reads the slot's own window"


def test_the_length_is_needed_first(world: SlackWorld) -> None:
    reply = world.user("alice").slash("/maintenance suggest tomorrow 00:00 for 24h")
    text = blocks_text(reply.json())
    assert "can't read \"tomorrow\" as the slot's length" in text
    assert "suggest 2h tomorrow 00:00 for 24h" in text


def test_a_range_shorter_than_the_length_is_explained(world: SlackWorld) -> None:
    answer = world.user("alice").slash("/maintenance suggest 3h tomorrow 00:00 for 2h").wait()
    text = blocks_text(answer)
    assert "shorter than the 3h slot" in text
    assert "tomorrow 00:00 for 24h" in text
    assert [r for r in world.audit() if r.action == "suggest"] == []


def test_a_failing_scheduler_is_named_on_the_suggestion(tmp_path: Path, clock: ManualClock) -> None:
    def break_bmc(sims: list[Any]) -> None:
        for sim in sims:
            if sim.vendor == "bmc":
                sim.faults.html_error(status=503, times=10_000)

    with SlackWorld(tmp_path, clock, tune=break_bmc) as world:
        answer = world.user("alice").slash("/maintenance suggest 2h").wait()
        text = blocks_text(answer)
        assert "did not answer" in text
        assert "no slot accounts for its runs" in text
        for row in slots(answer):
            assert "not counting bmc: no answer" in row["text"]["text"]
        assert world.fake.violations == []
