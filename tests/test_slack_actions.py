""" "Pause now" and "Resume" from the report: the vendor really changes, every call is
audited before and after, and a double click acts once."""

from __future__ import annotations

import json
from typing import Any

import pytest
from slackclient import ALICE, SlackWorld, blocks_text, together


def active_talend_row(report: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The first active Talend task on the page, and its name."""
    for block in report["blocks"]:
        if not block.get("block_id", "").startswith("conflict-"):
            continue
        text = block["text"]["text"]
        if "`talend`" in text and block["accessory"]["action_id"] == "pause_now":
            return block, text.split("*")[1]
    raise AssertionError("no active Talend task on the first page")


def talend_task(world: SlackWorld, name: str) -> dict[str, Any]:
    (task,) = [t for t in world.sandbox_state("talend")["tasks"] if t["name"] == name]
    return task


def pause_requests(world: SlackWorld) -> int:
    return len(world.sandbox.by_vendor("talend").requests_to("/pause", method="PUT"))


def test_pause_now_pauses_the_vendor_task_and_resume_brings_it_back(world: SlackWorld) -> None:
    alice = world.user("alice")
    report = alice.slash("/maintenance check Saturday 2-4am").wait()
    row, name = active_talend_row(report)
    assert talend_task(world, name)["paused"] is False

    reply = alice.click_value("pause_now", row["accessory"]["value"], message=report)
    assert reply.status == 200
    result = reply.wait()
    assert result["replace_original"] is False  # the report stays
    assert f"Paused {name} (talend)." in blocks_text(result)
    assert talend_task(world, name)["paused"] is True
    rows = [r for r in world.audit() if r.action == "pause_now"]
    assert [r.outcome for r in reversed(rows)] == ["attempt", "ok"]
    assert all(r.actor == ALICE and r.system == "talend" for r in rows)

    # The result offers the way back.
    undo = alice.click("resume_now", on=result).wait()
    assert f"Resumed {name} (talend)." in blocks_text(undo)
    assert talend_task(world, name)["paused"] is False
    rows = [r for r in world.audit() if r.action == "resume_now"]
    assert [r.outcome for r in reversed(rows)] == ["attempt", "ok"]


def test_a_double_click_on_pause_now_pauses_once(world: SlackWorld) -> None:
    alice = world.user("alice")
    report = alice.slash("/maintenance check Saturday 2-4am").wait()
    row, name = active_talend_row(report)
    value = row["accessory"]["value"]
    before = pause_requests(world)
    first, second = together(
        lambda: alice.click_value("pause_now", value, message=report),
        lambda: alice.click_value("pause_now", value, message=report),
    )
    assert first.status == second.status == 200
    answers = blocks_text(first.wait()) + blocks_text(second.wait())
    assert pause_requests(world) - before == 1
    assert talend_task(world, name)["paused"] is True
    assert f"Paused {name} (talend)." in answers
    assert "already" in answers  # in progress, or already paused: either way, said


def test_someone_else_cannot_act_on_my_report(world: SlackWorld) -> None:
    report = world.user("alice").slash("/maintenance check Saturday 2-4am").wait()
    row, name = active_talend_row(report)
    answer = world.user("dave").click_value("pause_now", row["accessory"]["value"]).wait()
    assert "belongs to someone else" in answer["text"]
    assert pause_requests(world) == 0
    assert talend_task(world, name)["paused"] is False
    assert not [r for r in world.audit() if r.action == "pause_now"]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ('{"c": "c_doesnotexist", "i": 0}', "no longer stored"),
        ("talend:task:123", "not one this bot made"),
        ('{"c": null, "i": 0}', "does not name a stored report"),
    ],
)
def test_forged_button_values_act_on_nothing(world: SlackWorld, value: str, says: str) -> None:
    answer = world.user("alice").click_value("pause_now", value).wait()
    assert says in answer["text"]
    assert answer["replace_original"] is False
    assert pause_requests(world) == 0


def test_an_index_outside_the_report_is_refused(world: SlackWorld) -> None:
    alice = world.user("alice")
    report = alice.slash("/maintenance check Saturday 2-4am").wait()
    row, _ = active_talend_row(report)
    forged = {**json.loads(row["accessory"]["value"]), "i": 100_000}
    answer = alice.click_value("pause_now", json.dumps(forged)).wait()
    assert "does not have" in answer["text"]
    assert pause_requests(world) == 0


def test_a_vendor_failure_is_explained_and_audited(world: SlackWorld) -> None:
    alice = world.user("alice")
    report = alice.slash("/maintenance check Saturday 2-4am").wait()
    row, name = active_talend_row(report)
    world.sandbox.by_vendor("talend").faults.fail(403, times=100, path_contains="/pause")
    answer = alice.click_value("pause_now", row["accessory"]["value"], message=report).wait()
    assert f"Could not pause {name} (talend)" in blocks_text(answer)
    rows = [r for r in world.audit() if r.action == "pause_now"]
    assert [r.outcome for r in reversed(rows)] == ["attempt", "failed"]
    assert rows[0].error
    # The result offers to try again.
    assert answer["blocks"][0]["accessory"]["action_id"] == "pause_now"
