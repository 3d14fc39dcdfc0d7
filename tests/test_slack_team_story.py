"""Issue 10's story, as a team plays it in Slack: Alice (Los Angeles) plans with the dialog,
ticks and unticks, Bob (London) is mentioned and approves, Alice hears it; she edits the
window wider, so Bob approves again; at the start she extends it by 45 minutes from the
thread, then ends it early. Every step appears once in the window's thread, with date
tokens, counts and names, and the approval request shows what became of the window."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from slackclient import ALERTS, ALICE, APPROVALS, BOB, SlackUser, SlackWorld, blocks_text
from test_slack_dialog import opened, task_blocks

from bot.clock import ManualClock
from bot.model import WindowState


def newest_request(world: SlackWorld) -> dict[str, Any]:
    return world.fake.messages(APPROVALS, replies=False)[-1]


def approve(world: SlackWorld, bob: SlackUser, count: int) -> None:
    bob.click("approve", on={**newest_request(world), "_ephemeral": False})
    world.fake.wait_calls("chat.update", count, channel=APPROVALS)


def test_a_team_plans_edits_extends_and_ends_a_window_in_one_thread(
    world: SlackWorld, clock: ManualClock
) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    report = alice.slash("/maintenance check Saturday 2-4am").wait()
    alice.click("plan_dialog", on=report)
    view = opened(alice)
    alice.type_in("title", "Orders DB failover")
    alice.type_in("reason", "CHG0042")
    first = task_blocks(view)[0]
    ticked = alice.ticked(first["block_id"])
    alice.tick(first["block_id"], ticked[1:])  # untick one
    alice.tick(first["block_id"], ticked[1:] + ticked[:1])  # and tick it again
    alice.tick(first["block_id"], ticked[:-1])  # untick another
    assert alice.submit().json() == {"response_action": "clear"}
    world.fake.wait_for(lambda: bool(world.fake.messages(APPROVALS)), what="the request")
    (window,) = world.store.list_windows([WindowState.PLANNED])
    assert window.title == "Orders DB failover"
    assert window.reason == "CHG0042"
    planned = world.store.window_tasks(window.id)
    request = newest_request(world)
    # The approvers are mentioned; the count is the tasks planned, each once.
    assert f"<@{BOB}>" in blocks_text(request)
    assert f"asks to pause *{len(planned)}* task(s)" in blocks_text(request)

    approve(world, bob, 1)
    world.fake.wait_for(
        lambda: any("Approved by" in m["text"] for m in world.fake.messages("D" + ALICE[1:])),
        what="Alice told of the approval",
    )

    # Wider: an hour longer, so Bob has to approve again.
    alice.click("edit_window_dialog", on={**newest_request(world), "_ephemeral": False})
    edit_view = opened(alice)
    alice.type_in("window.0", "Saturday 2-5am", enter=True)
    world.fake.wait_for(
        lambda: alice.modal().view["blocks"] != edit_view["blocks"], what="the re-read window"
    )
    assert alice.submit().json() == {"response_action": "clear"}
    world.fake.wait_for(
        lambda: len(world.fake.messages(APPROVALS, replies=False)) == 2, what="a new request"
    )
    assert world.store.get_window(window.id).state is WindowState.PLANNED
    approve(world, bob, 3)  # the old request redrawn as replaced, then the new one decided
    window = world.store.get_window(window.id)
    assert window.state is WindowState.APPROVED
    assert window.end - window.start == timedelta(hours=3)

    clock.set(window.start)
    world.tick()
    thread = window.alert_ts
    assert thread is not None

    def replies() -> list[dict[str, Any]]:
        return [m for m in world.fake.messages(ALERTS) if m.get("thread_ts") == thread]

    start = next(m for m in replies() if "has started" in m["text"])
    alice.choose("extend_window", "45m", on={**start, "_ephemeral": False}).wait()
    alice.click("end_now", on={**start, "_ephemeral": False}).wait()
    world.tick()

    texts = [m["text"] for m in replies()]

    def once(words: str) -> str:
        found = [t for t in texts if words in t]
        assert len(found) == 1, f"{words!r} told {len(found)} times in {texts}"
        return found[0]

    assert (
        once(f"<@{BOB}> approved <@{ALICE}>'s window: {len(planned)} task(s)").count("<!date^") == 2
    )
    edited = once("edited the window")
    assert "needs an approver again" in edited
    assert "<!date^" in edited
    assert "Orders DB failover" in once("has started")
    extended = once("extended the window by 45m")
    assert f"<@{ALICE}>" in extended
    assert "<!date^" in extended
    once("ended the window early")
    once("has ended")
    # Two approvals: the second one is told too, once.
    assert len([t for t in texts if " approved " in t]) == 2
    # The thread's first message and the request say what became of the window.
    (root,) = [m for m in world.fake.messages(ALERTS) if m["_ts"] == thread]
    final = world.store.get_window(window.id).state
    assert final in (WindowState.COMPLETED, WindowState.COMPLETED_WITH_EXCEPTIONS)
    assert final.label.capitalize() in blocks_text(root)
    assert final.label.capitalize() in blocks_text(newest_request(world))
    assert "Orders DB failover" in blocks_text(root)
    assert "CHG0042" in blocks_text(root)
    assert world.fake.violations == []
