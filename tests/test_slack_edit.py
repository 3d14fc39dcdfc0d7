"""Issue 10 items 2 and 7 in Slack: "Plan pause" on a window that overlaps another answers
with both windows and a "Plan anyway" button; `/maintenance edit <id> <window>` answers with
the difference and, when the window now asks for more than was approved, posts a new
approval request (the old one says it was replaced)."""

from __future__ import annotations

from datetime import UTC, datetime

from slackclient import ALERTS, ALICE, APPROVALS, CAROL, DAVE, SlackWorld, blocks_text

from bot.model import ApprovalState, WindowState


def plan_from_check(world: SlackWorld, who: str, text: str) -> tuple[dict, dict]:
    person = world.user(who)
    report = person.slash(f"/maintenance check {text}").wait()
    answer = person.click("plan_window", on=report).wait()
    return report, answer


def test_plan_pause_on_an_overlapping_window_shows_both_and_plans_anyway(
    world: SlackWorld,
) -> None:
    _, first = plan_from_check(world, "alice", "Saturday 2-4am UTC")
    assert "Asked for approval" in first["text"]
    (alices,) = world.store.list_windows([WindowState.PLANNED])

    _report, answer = plan_from_check(world, "carol", "Saturday 3-5am UTC")
    shown = blocks_text(answer)
    assert ":warning: *Maintenance Sat 21 Nov " in shown
    assert "overlaps another maintenance window:" in shown
    assert f"• `{alices.id}` *Maintenance Sat 21 Nov " in shown
    assert f"planned, requested by <@{ALICE}>" in shown
    assert "Nothing was planned. If both should run, plan it anyway" in shown
    assert len(world.store.list_windows([WindowState.PLANNED])) == 1  # nothing saved
    assert len(world.fake.messages(APPROVALS, replies=False)) == 1
    (refusal,) = [r for r in world.audit() if r.outcome == "refused"]
    assert (refusal.actor, refusal.action) == (CAROL, "plan")
    assert refusal.detail is not None
    assert refusal.detail["overlaps"] == [alices.id]

    done = world.user("carol").click("plan_window_anyway", on=answer).wait()
    assert "Asked for approval" in done["text"]
    assert "It overlaps 1 other window(s), as you said is fine." in done["text"]
    assert len(world.store.list_windows([WindowState.PLANNED])) == 2
    assert len(world.fake.messages(APPROVALS, replies=False)) == 2


def test_edit_answers_with_the_difference_and_asks_again_when_wider(world: SlackWorld) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    plan_from_check(world, "alice", "Saturday 2-4am UTC")
    (request,) = world.fake.messages(APPROVALS, replies=False)
    bob.click("approve", on={**request, "_ephemeral": False})
    world.fake.wait_calls("chat.update")
    (window,) = world.store.list_windows([WindowState.APPROVED])

    # Narrower: the approval stands, nothing new is asked.
    narrower = alice.slash(f"/maintenance edit {window.id} Saturday 2-3am UTC").wait()
    text = blocks_text(narrower)
    assert f":pencil2: Edited maintenance window `{window.id}`." in text
    assert "*Was:* <!date^" in text
    assert "*Now:* <!date^" in text
    assert "(1h)" in text
    assert ":white_check_mark: Its approval stands." in text
    assert world.store.get_window(window.id).state is WindowState.APPROVED
    assert len(world.fake.messages(APPROVALS, replies=False)) == 1

    # Wider: back to planned, a new request is posted, the old one says it was replaced.
    updates = len(
        [
            c
            for c in world.fake.calls_to("chat.update", ok_only=True)
            if c.params["channel"] == APPROVALS
        ]
    )
    wider = alice.slash(f"/maintenance edit {window.id} Saturday 1-4am UTC").wait()
    text = blocks_text(wider)
    assert "(3h)" in text
    assert (
        ":raising_hand: It asks for more than was approved, so an approver has to say yes "
        f"again. I asked in <#{APPROVALS}>."
    ) in text
    record = world.store.get_window(window.id)
    assert record.state is WindowState.PLANNED
    old, new = world.store.approvals_for(window.id)
    assert (old.state, new.state) == (ApprovalState.SUPERSEDED, ApprovalState.PENDING)
    world.fake.wait_calls("chat.update", updates + 1, channel=APPROVALS)
    replaced, fresh = world.fake.messages(APPROVALS, replies=False)
    assert ":pencil2: Replaced at <!date^" in blocks_text(replaced)
    assert f"request `{new.id}`" in blocks_text(fresh)
    # The window's people are told, in its thread in the alert channel.
    thread = world.store.get_window(window.id).alert_ts
    told = [
        blocks_text(m)
        for m in world.fake.messages(ALERTS)
        if m.get("thread_ts") == thread and "edited the window" in blocks_text(m)
    ]
    assert len(told) == 2

    # Every instant a date token: each reader sees the times in their own zone.
    def token(hour: int) -> str:
        at = datetime(2026, 11, 21, hour, tzinfo=UTC)
        return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|"

    assert told[0].startswith(f":pencil2: <@{ALICE}> edited the window: it now runs {token(2)}")
    assert f" to {token(3)}" in told[0]
    assert f"(1h; was {token(2)}" in told[0]
    assert told[0].split("\n")[0].endswith("UTC>); its approval stands.")
    assert "so it needs an approver again." in told[1]

    # The old request has no buttons left; the new one approves.
    assert '"approve"' not in str(replaced["blocks"]).replace("'", '"')
    bob.click("approve", on={**fresh, "_ephemeral": False})
    world.fake.wait_calls("chat.update", updates + 2, channel=APPROVALS)
    assert world.store.get_window(window.id).state is WindowState.APPROVED


def test_edit_refusals_are_answered_and_change_nothing(world: SlackWorld) -> None:
    alice = world.user("alice")
    plan_from_check(world, "alice", "Saturday 2-4am UTC")
    (window,) = world.store.list_windows([WindowState.PLANNED])
    usage = blocks_text(alice.slash(f"/maintenance edit {window.id}").json())
    assert (
        "`edit` needs a window id and the new window, e.g. `edit w_AbC123 Saturday 3-5am`" in usage
    )
    refused = world.user("dave").slash(f"/maintenance edit {window.id} Saturday 1-4am UTC").wait()
    assert (
        f"<@{DAVE}> may not edit this window: only the requester (<@{ALICE}>) or an approver "
        "may." in refused["text"]
    )
    bad = alice.slash(f"/maintenance edit {window.id} blorp").wait()
    assert 'I found no date or time in "blorp".' in bad["text"]
    same = alice.slash(f"/maintenance edit {window.id} Saturday 2-4am UTC").wait()
    assert f"That changes nothing: window {window.id} already runs" in same["text"]
    missing = alice.slash("/maintenance edit w_nope Saturday 1-4am UTC").wait()
    assert "There is no maintenance window with id 'w_nope'" in missing["text"]
    assert world.store.get_window(window.id) == window
    assert [r.actor for r in world.audit() if r.action == "edit"] == [ALICE, ALICE, ALICE, DAVE]
    assert {r.outcome for r in world.audit() if r.action == "edit"} == {"refused"}
