""" "Plan pause for this window" → approval request → Approve/Reject, with the policy, the
exactly-once guarantees, and the pauses the window clock makes once it is approved."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from slackclient import (
    ALERTS,
    ALICE,
    APPROVALS,
    BOB,
    CAROL,
    DAVE,
    SlackUser,
    SlackWorld,
    blocks_text,
    together,
)

from bot.clock import ManualClock
from bot.model import WindowState


def plan(world: SlackWorld, who: SlackUser) -> dict[str, Any]:
    """``who`` checks Saturday 2-4am and asks for approval; returns the approval message."""
    report = who.slash("/maintenance check Saturday 2-4am").wait()
    reply = who.click("plan_window", on=report)
    confirmation = reply.wait()
    assert "Asked for approval" in blocks_text(confirmation), blocks_text(confirmation)
    (message,) = world.fake.messages(APPROVALS)
    return message


def approval_value(message: dict[str, Any]) -> str:
    for block in message["blocks"]:
        for element in block.get("elements") or []:
            if element.get("action_id") == "approve":
                return str(element["value"])
    raise AssertionError("no Approve button")


def pause_requests(world: SlackWorld) -> int:
    return len(world.sandbox.by_vendor("talend").requests_to("/pause", method="PUT"))


def test_planning_posts_an_approval_request_listing_the_tasks(world: SlackWorld) -> None:
    message = plan(world, world.user("alice"))
    assert message["channel"] == APPROVALS
    text = blocks_text(message)
    assert f"<@{ALICE}> asks to pause" in text
    assert "`talend`" in text
    actions = [b for b in message["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in actions[0]["elements"]] == [
        "approve",
        "reject",
        "edit_window_dialog",
    ]
    assert set(json.loads(approval_value(message))) == {"a"}  # an opaque id, nothing else
    (window,) = world.store.list_windows([WindowState.PLANNED])
    assert window.channel == APPROVALS
    assert window.thread_ts == message["_ts"]  # the clock's alerts go into this thread
    assert {r.action for r in world.audit()} >= {"check", "plan", "request_approval"}


def test_planning_twice_from_one_report_asks_once(world: SlackWorld) -> None:
    alice = world.user("alice")
    report = alice.slash("/maintenance check Saturday 2-4am").wait()
    first, second = together(
        lambda: alice.click("plan_window", on=report),
        lambda: alice.click("plan_window", on=report),
    )
    answers = blocks_text(first.wait()) + blocks_text(second.wait())
    assert "already requested" in answers
    assert len(world.fake.messages(APPROVALS)) == 1
    assert len(world.store.list_windows([WindowState.PLANNED])) == 1


def test_a_non_approver_is_refused_privately_and_the_refusal_is_audited(
    world: SlackWorld,
) -> None:
    message = plan(world, world.user("alice"))
    reply = world.user("dave").click("approve", on={**message, "_ephemeral": False})
    assert reply.status == 200
    refusal = reply.wait()
    assert refusal["response_type"] == "ephemeral"
    assert refusal["replace_original"] is False
    assert f"<@{DAVE}> is not an approver" in refusal["text"]
    assert world.fake.calls_to("chat.update") == []
    (row,) = [r for r in world.audit() if r.action == "approve"]
    assert (row.actor, row.outcome) == (DAVE, "refused")
    assert world.store.list_windows([WindowState.PLANNED])


def test_the_requester_cannot_approve_their_own_request(tmp_path: Path, clock: ManualClock) -> None:
    with SlackWorld(tmp_path, clock, vendors=["talend"], approvers=f"{ALICE} {BOB}") as world:
        message = plan(world, world.user("alice"))
        refusal = world.user("alice").click("approve", on={**message, "_ephemeral": False}).wait()
        assert "someone else has to approve it" in refusal["text"]
        assert [r.outcome for r in world.audit() if r.action == "approve"] == ["refused"]
        assert world.store.list_windows([WindowState.PLANNED])


def test_self_approval_when_allowed(tmp_path: Path, clock: ManualClock) -> None:
    with SlackWorld(
        tmp_path, clock, vendors=["talend"], approvers=ALICE, allow_self_approval=True
    ) as world:
        message = plan(world, world.user("alice"))
        world.user("alice").click("approve", on={**message, "_ephemeral": False})
        world.fake.wait_calls("chat.update", channel=APPROVALS)
        assert world.store.list_windows([WindowState.APPROVED])


def test_approval_updates_the_request_in_place_and_a_second_click_sees_who_won(
    world: SlackWorld,
) -> None:
    message = plan(world, world.user("alice"))
    assert world.user("bob").click("approve", on={**message, "_ephemeral": False}).status == 200
    (update,) = world.fake.wait_calls("chat.update", channel=APPROVALS)
    assert update.params["channel"] == APPROVALS
    assert update.params["ts"] == message["_ts"]
    (current,) = world.fake.messages(APPROVALS, replies=False)
    assert f"Approved by <@{BOB}> at <!date^" in blocks_text(current)
    # Approve and Reject give way to who decided; the window can still be edited.
    buttons = [
        e["action_id"] for b in current["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert buttons == ["edit_window_dialog"]
    # Carol had the old message open and clicks too.
    late = world.user("carol").click_value("approve", approval_value(message)).wait()
    assert f"Already approved by <@{BOB}> at <!date^" in late["text"]
    assert late["response_type"] == "ephemeral"
    updates = world.fake.calls_to("chat.update")
    assert len([c for c in updates if c.params["channel"] == APPROVALS]) == 1
    (window,) = world.store.list_windows([WindowState.APPROVED])
    assert window.approved_by == BOB


def test_two_approvers_at_once_act_once_and_the_window_pauses_each_task_once(
    world: SlackWorld, clock: ManualClock
) -> None:
    message = plan(world, world.user("alice"))
    value = approval_value(message)
    bob, carol = world.user("bob"), world.user("carol")
    replies = together(
        lambda: bob.click_value("approve", value, message=message, ephemeral=False),
        lambda: carol.click_value("approve", value, message=message, ephemeral=False),
        lambda: bob.click_value("approve", value, message=message, ephemeral=False),
    )
    assert [r.status for r in replies] == [200, 200, 200]
    world.fake.wait_calls("chat.update", channel=APPROVALS)
    approved = [r for r in world.audit() if r.action == "approve" and r.outcome == "ok"]
    assert len(approved) == 1
    others = [r for r in world.audit() if r.action == "approve" and r.outcome != "ok"]
    assert len(others) == 2
    winner = approved[0].actor
    for reply in replies:
        if reply.fake.responses(reply.response_id):
            assert f"Already approved by <@{winner}>" in reply.wait()["text"]
    updates = world.fake.calls_to("chat.update")
    assert len([c for c in updates if c.params["channel"] == APPROVALS]) == 1

    # At the window's start the clock pauses every planned task, once each.
    (window,) = world.store.list_windows([WindowState.APPROVED])
    planned = world.store.window_tasks(window.id)
    before = pause_requests(world)
    clock.set(window.start)
    world.tick()
    world.tick()
    assert pause_requests(world) - before == len(planned)
    state = {t["id"]: t for t in world.sandbox_state("talend")["tasks"]}
    assert all(state[t.task_id]["paused"] for t in planned)
    # The start alert went into the window's thread in the alert channel, shown in the
    # channel too; the approval request's thread stays quiet.
    thread = world.store.get_window(window.id).alert_ts
    world.fake.wait_for(
        lambda: any(
            m.get("thread_ts") == thread and m.get("reply_broadcast")
            for m in world.fake.messages(ALERTS)
        ),
        what="the start alert in the window's thread",
    )
    assert not [m for m in world.fake.messages(APPROVALS) if m.get("thread_ts")]


def test_reject_asks_why_and_tells_the_reason(world: SlackWorld) -> None:
    plan(world, world.user("alice"))
    (window,) = world.store.list_windows([WindowState.PLANNED])
    bob = world.user("bob")
    bob.click("reject")  # the newest message Bob can see with a Reject button
    dialog = bob.wait_modal()
    assert dialog.view["title"]["text"] == "Reject this window"
    # Nothing is decided by opening the dialog, nor by submitting it without a reason.
    assert world.store.list_windows([WindowState.PLANNED])
    answer = bob.submit().json()
    assert answer == {"response_action": "errors", "errors": {"reason": "Say why, in a few words."}}
    assert world.store.list_windows([WindowState.PLANNED])
    bob.type_in("reason", "clashes with the year-end freeze")
    assert bob.submit().json() == {"response_action": "clear"}
    world.fake.wait_calls("chat.update", channel=APPROVALS)
    (current,) = world.fake.messages(APPROVALS, replies=False)
    assert f"Rejected by <@{BOB}>" in blocks_text(current)
    assert "clashes with the year-end freeze" in blocks_text(current)
    assert world.store.list_windows([WindowState.CANCELLED])
    # The requester hears it with the reason; so does the window's thread.
    world.fake.wait_for(
        lambda: bool(world.fake.messages("D" + ALICE[1:])), what="the requester's message"
    )
    (dm,) = world.fake.messages("D" + ALICE[1:])
    assert "clashes with the year-end freeze" in dm["text"]
    thread = world.store.get_window(window.id).alert_ts
    told = [m for m in world.fake.messages(ALERTS) if m.get("thread_ts") == thread]
    assert [m for m in told if "rejected" in m["text"] and "year-end freeze" in m["text"]]


def test_the_requester_withdraws_without_a_dialog(world: SlackWorld) -> None:
    message = plan(world, world.user("alice"))
    world.user("alice").click("reject", on={**message, "_ephemeral": False})
    world.fake.wait_calls("chat.update", channel=APPROVALS)
    assert world.fake.modal(ALICE) is None
    assert world.store.list_windows([WindowState.CANCELLED])


def test_someone_who_may_not_decide_is_refused_before_any_dialog(world: SlackWorld) -> None:
    message = plan(world, world.user("alice"))
    refusal = world.user("mallory").click("reject", on={**message, "_ephemeral": False}).wait()
    assert "is not an approver" in refusal["text"]
    assert world.fake.modal(world.user("mallory").id) is None
    assert world.store.list_windows([WindowState.PLANNED])
    assert [r.outcome for r in world.audit() if r.action == "reject"] == ["refused"]


def test_group_approvers_are_resolved_through_usergroups(
    tmp_path: Path, clock: ManualClock
) -> None:
    with SlackWorld(
        tmp_path,
        clock,
        vendors=["talend"],
        approvers="@oncall",
        groups={"oncall": ("S0ONCALL1", [CAROL])},
    ) as world:
        message = plan(world, world.user("alice"))
        refusal = world.user("bob").click("approve", on={**message, "_ephemeral": False}).wait()
        assert "is not an approver" in refusal["text"]
        world.user("carol").click("approve", on={**message, "_ephemeral": False})
        world.fake.wait_calls("chat.update", channel=APPROVALS)
        assert world.store.list_windows([WindowState.APPROVED])
        # Cached: one lookup of each kind for both clicks.
        assert len(world.fake.calls_to("usergroups.list")) == 1
        assert len(world.fake.calls_to("usergroups.users.list")) == 1
        assert world.fake.violations == []


def test_a_429_on_chat_post_message_is_retried_after_retry_after(world: SlackWorld) -> None:
    world.fake.rate_limit("chat.postMessage", retry_after=1)
    message = plan(world, world.user("alice"))
    attempts = world.fake.calls_to("chat.postMessage")
    assert [c.status for c in attempts] == [429, 200]
    # The retry waited for Retry-After (a lower bound from the protocol, not a speed test).
    assert attempts[1].at - attempts[0].at >= 1.0
    assert len(world.fake.messages(APPROVALS)) == 1
    assert message["channel"] == APPROVALS


def test_an_approval_channel_the_bot_cannot_post_to_withdraws_the_window(
    world: SlackWorld,
) -> None:
    alice = world.user("alice")
    report = alice.slash("/maintenance check Saturday 2-4am").wait()
    world.fake.fail("chat.postMessage", "not_in_channel")
    answer = alice.click("plan_window", on=report).wait()
    assert f"channel {APPROVALS} (not_in_channel)" in answer["text"]
    assert world.store.list_windows([WindowState.CANCELLED])
    assert not world.store.list_windows([WindowState.PLANNED])


def test_a_task_held_by_an_active_window_is_not_resumed_by_hand(
    world: SlackWorld, clock: ManualClock
) -> None:
    alice = world.user("alice")
    message = plan(world, alice)
    world.user("bob").click("approve", on={**message, "_ephemeral": False})
    world.fake.wait_calls("chat.update", channel=APPROVALS)
    (window,) = world.store.list_windows([WindowState.APPROVED])
    clock.set(window.start)
    world.tick()
    # Alice checks again: the window's tasks now show as paused, with a Resume button.
    report = alice.slash("/maintenance check Saturday 2-4am").wait()
    refusal = alice.click("resume_now", on=report).wait()
    assert "held paused by maintenance window" in blocks_text(refusal)
    assert next(r.outcome for r in world.audit() if r.action == "resume_now") == "refused"


def test_a_plan_that_fails_can_be_tried_again(world: SlackWorld, clock: ManualClock) -> None:
    alice = world.user("alice")
    report = alice.slash("/maintenance check Saturday 2-4am").wait()
    clock.advance(timedelta(days=4))  # the window is over before anyone asks
    first = alice.click("plan_window", on=report).wait()
    assert "in the past" in first["text"]
    again = alice.click("plan_window", on=report).wait()
    assert "in the past" in again["text"]  # not "already requested": nothing was recorded
    assert world.store.list_windows() == []
    assert world.fake.messages(APPROVALS) == []


def test_an_expired_request_says_so_and_loses_its_buttons(
    world: SlackWorld, clock: ManualClock
) -> None:
    message = plan(world, world.user("alice"))
    (window,) = world.store.list_windows([WindowState.PLANNED])
    clock.set(window.start)  # approvals expire at the window's start at the latest
    answer = world.user("bob").click("approve", on={**message, "_ephemeral": False}).wait()
    assert "expired before anyone decided" in answer["text"]
    world.fake.wait_calls("chat.update", channel=APPROVALS)
    (current,) = world.fake.messages(APPROVALS)
    assert "Expired at" in blocks_text(current)
    assert not [b for b in current["blocks"] if b["type"] == "actions"]
    assert not world.store.list_windows([WindowState.APPROVED])


def test_approvers_are_mentioned_and_people_are_told_of_the_decision(
    tmp_path: Path, clock: ManualClock
) -> None:
    with SlackWorld(
        tmp_path,
        clock,
        vendors=["talend"],
        approvers=f"{BOB} @oncall",
        groups={"oncall": ("S0ONCALL1", [CAROL])},
    ) as world:
        message = plan(world, world.user("alice"))
        # The request pings every approver: the user and the group, as Slack mentions.
        assert f"Approvers: <@{BOB}> <!subteam^S0ONCALL1>, please decide." in blocks_text(message)
        assert f"<@{BOB}> <!subteam^S0ONCALL1>" in message["text"]  # and in the notification

        world.user("bob").click("approve", on={**message, "_ephemeral": False})
        world.fake.wait_calls("chat.update", channel=APPROVALS)
        (window,) = world.store.list_windows([WindowState.APPROVED])
        # The requester hears it in a direct message (a user id as the channel).
        world.fake.wait_for(
            lambda: bool(world.fake.messages("D" + ALICE[1:])),
            what="the requester's direct message",
        )
        dm = world.fake.messages("D" + ALICE[1:])
        assert len(dm) == 1
        text = dm[0]["text"]
        assert f"Your maintenance window “Saturday 2-4am” (`{window.id}`," in text
        assert f"Approved by <@{BOB}> at <!date^" in text

        # The window's people are told once in its thread, with who decided as mentions.
        def in_thread() -> list[dict[str, Any]]:
            thread = world.store.get_window(window.id).alert_ts
            return [
                m
                for m in world.fake.messages()
                if " approved " in m["text"] and thread and m.get("thread_ts") == thread
            ]

        world.fake.wait_for(lambda: bool(in_thread()), what="the approval in the thread")
        told = in_thread()
        assert len(told) == 1
        assert told[0]["text"].startswith(
            f":white_check_mark: <@{BOB}> approved <@{ALICE}>'s window"
        )
        assert world.fake.violations == []


def test_a_rejection_tells_the_requester_and_the_thread_why(world: SlackWorld) -> None:
    plan(world, world.user("alice"))
    (window,) = world.store.list_windows([WindowState.PLANNED])
    # Slack's Reject button has no reason yet; the CLI (maintbot reject --reason) gives one,
    # through the same use case, on the same running bot.
    server = world.bot
    assert server.bot is not None
    server.call(
        server.bot.decide(window.id, by=BOB, approve=False, reason="clashes with the freeze")
    )

    def rejections() -> list[dict[str, Any]]:
        return [m for m in world.fake.messages() if " rejected " in m["text"]]

    world.fake.wait_for(lambda: bool(rejections()), what="the rejection told")
    assert "clashes with the freeze" in rejections()[0]["text"]
    (approval,) = world.store.approvals_for(window.id)
    assert approval.reason == "clashes with the freeze"
