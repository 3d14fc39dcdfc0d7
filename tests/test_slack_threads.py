"""Everyone who should know is told once, in one place: each window has one thread in the
alert channel, whose first message shows the window as it is now; every change to it is a
reply there, and the approval request is redrawn to the window's real state."""

from __future__ import annotations

from typing import Any

from slackclient import ALERTS, ALICE, APPROVALS, BOB, SlackWorld, blocks_text

from bot.clock import ManualClock
from bot.model import WindowState


def planned_and_approved(world: SlackWorld) -> tuple[dict[str, Any], str]:
    alice = world.user("alice")
    report = alice.slash("/maintenance check Saturday 2-4am").wait()
    alice.click("plan_window", on=report).wait()
    (request,) = world.fake.messages(APPROVALS)
    world.user("bob").click("approve", on={**request, "_ephemeral": False})
    world.fake.wait_calls("chat.update", channel=APPROVALS)
    (window,) = world.store.list_windows([WindowState.APPROVED])
    return request, window.id


def thread_of(world: SlackWorld, window_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The thread's first message as it reads now, and its replies in order."""
    ts = world.store.get_window(window_id).alert_ts
    assert ts is not None, "the window has a thread in the alert channel"
    messages = world.fake.messages(ALERTS)
    (root,) = [m for m in messages if m["_ts"] == ts]
    replies = [m for m in messages if m.get("thread_ts") == ts]
    return root, replies


def test_every_step_of_a_window_is_told_once_in_its_thread(
    world: SlackWorld, clock: ManualClock
) -> None:
    _request, window_id = planned_and_approved(world)
    root, replies = thread_of(world, window_id)
    # The first message names the window by its dates and says what it is now.
    assert "Maintenance window *Maintenance Sat 21 Nov" in blocks_text(root)
    assert "Approved; starts <!date^" in blocks_text(root)
    assert [r["text"] for r in replies] == [
        f":white_check_mark: <@{BOB}> approved <@{ALICE}>'s window: "
        + replies[0]["text"].split("window: ", 1)[1]
    ]
    assert f"<@{BOB}>" in replies[0]["text"]
    # Only one thread for the window, and it is not the channel's only top-level line
    # per change: the approval is a reply, not a new post.
    top_level = [m for m in world.fake.messages(ALERTS, replies=False)]
    assert len(top_level) == 1

    window = world.store.get_window(window_id)
    clock.set(window.start)
    world.tick()
    root, replies = thread_of(world, window_id)
    assert "Active since <!date^" in blocks_text(root)
    start = replies[-1]
    assert start.get("reply_broadcast") is True, "the window opening is shown in the channel"

    # Extended by 45 minutes from the thread's start alert, then ended early by the
    # requester: each told once in the thread, with who did it.
    world.user("alice").choose("extend_window", "45m", on={**start, "_ephemeral": False}).wait()
    world.user("alice").click("end_now", on={**start, "_ephemeral": False}).wait()
    world.tick()
    root, replies = thread_of(world, window_id)
    texts = [r["text"] for r in replies]
    extended = [t for t in texts if "extended the window by 45m" in t]
    ended = [t for t in texts if "ended the window early" in t]
    assert len(extended) == 1
    assert len(ended) == 1
    assert f"<@{ALICE}>" in extended[0]
    assert "Completed" in blocks_text(root) or "completed" in blocks_text(root).lower()
    # Nothing of it landed in the approval request's own thread.
    assert not [m for m in world.fake.messages(APPROVALS) if m.get("thread_ts")]
    # The approval request says what became of the window, not just "Approved".
    (current,) = world.fake.messages(APPROVALS, replies=False)
    text = blocks_text(current)
    assert f"Approved by <@{BOB}>" in text
    final = world.store.get_window(window_id).state
    assert final.label.capitalize() in text
    assert world.fake.violations == []


def test_a_cancelled_window_says_so_on_its_request_and_in_its_thread(
    world: SlackWorld,
) -> None:
    _request, window_id = planned_and_approved(world)
    answer = world.user("alice").slash(f"/maintenance cancel {window_id}").wait()
    assert "Cancelled maintenance window" in answer["text"]
    world.fake.wait_for(
        lambda: "Cancelled" in blocks_text(world.fake.messages(APPROVALS, replies=False)[0]),
        what="the request redrawn",
    )
    root, replies = thread_of(world, window_id)
    assert [r for r in replies if "cancelled the window" in r["text"]]
    assert ":no_entry_sign: *Cancelled" in blocks_text(root)


def test_a_thread_that_cannot_be_started_is_tried_again_and_started_once(
    world: SlackWorld, clock: ManualClock
) -> None:
    alice = world.user("alice")
    report = alice.slash("/maintenance check Saturday 2-4am").wait()
    alice.click("plan_window", on=report).wait()
    (request,) = world.fake.messages(APPROVALS)
    (window,) = world.store.list_windows([WindowState.PLANNED])
    # The approval is recorded whatever Slack says; telling it fails once.
    world.fake.fail("chat.postMessage", "channel_not_found", times=1)
    world.user("bob").click("approve", on={**request, "_ephemeral": False})
    world.fake.wait_calls("chat.update", channel=APPROVALS)
    assert world.store.get_window(window.id).state is WindowState.APPROVED
    clock.set(window.start)
    world.tick()
    _root, replies = thread_of(world, window.id)
    assert len(world.fake.messages(ALERTS, replies=False)) == 1
    assert replies, "the start alert is in the thread"
