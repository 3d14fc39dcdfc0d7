"""The plan dialog, driven as people do it: open it from a report, from `/maintenance plan`
and from App Home; narrow the scope, untick a task, submit; an approver is asked. What is
submitted is what is planned, each task once, and every refusal leaves nothing saved."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slackclient import ALICE, APPROVALS, SlackUser, SlackWorld, blocks_text

from bot.clock import ManualClock
from bot.model import WindowState

pytestmark = pytest.mark.slack_world(vendors=None)


def opened(person: SlackUser) -> dict[str, Any]:
    """The form once the "looking up" view has been replaced by it."""
    fake = person.world.fake

    def form_shown() -> bool:
        top = fake.views.top(person.id)
        return top is not None and any(b.get("type") == "input" for b in top.view["blocks"])

    fake.wait_for(form_shown, what="the plan form")
    return person.modal().view


def task_blocks(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in view["blocks"] if str(b.get("block_id", "")).startswith("tasks.")]


def labels(block: dict[str, Any]) -> list[str]:
    return [o["text"]["text"] for o in block["element"]["options"]]


def test_planned_from_a_report_with_one_task_unticked(world: SlackWorld) -> None:
    alice = world.user("alice")
    report = alice.slash("/maintenance check Saturday 2-4am").wait()
    alice.click("plan_dialog", on=report)
    view = opened(alice)
    text = "\n".join(
        e["text"] for b in view["blocks"] if b["type"] == "context" for e in b["elements"]
    )
    assert "Reads as *Maintenance Sat" in text
    assert "<!date^" in text
    blocks = task_blocks(view)
    assert blocks, "the form lists tasks"
    first = blocks[0]
    ticked = alice.ticked(first["block_id"])
    assert len(ticked) >= 2, "the report's collisions come pre-ticked"
    # Narrow to Talend only: the list is redrawn with Talend's tasks.
    alice.tick("systems", ["talend"])
    world.fake.wait_for(
        lambda: alice.modal().view["blocks"] != view["blocks"], what="the redrawn form"
    )
    view = alice.modal().view
    descriptions = {
        o["description"]["text"].split(" · ")[0]
        for b in task_blocks(view)
        for o in b["element"]["options"]
    }
    assert descriptions == {"talend"}
    first = task_blocks(view)[0]
    ticked = alice.ticked(first["block_id"])
    keep, dropped = ticked[:-1], ticked[-1]
    alice.tick(first["block_id"], keep)
    want = sorted(
        {*keep, *(label for b in task_blocks(view)[1:] for label in alice.ticked(b["block_id"]))}
    )
    submitted = alice.submit()
    assert submitted.status == 200
    assert submitted.json() == {"response_action": "clear"}
    world.fake.wait_for(lambda: bool(world.fake.messages(APPROVALS)), what="the approval request")
    (window,) = world.store.list_windows([WindowState.PLANNED])
    names = sorted(t.task_name for t in world.store.window_tasks(window.id))
    assert names == want
    assert dropped not in names
    (request,) = world.fake.messages(APPROVALS)
    assert f"{len(names)} task" in blocks_text(request)
    # The requester hears where it went, in the app's direct messages.
    world.fake.wait_for(
        lambda: any(
            "Asked for approval" in m["text"] for m in world.fake.messages("D" + ALICE[1:])
        ),
        what="the requester's direct message",
    )


def test_an_empty_scope_is_refused_in_the_dialog_and_nothing_is_saved(world: SlackWorld) -> None:
    alice = world.user("alice")
    report = alice.slash("/maintenance check Saturday 2-4am").wait()
    alice.click("plan_dialog", on=report)
    view = opened(alice)
    for block in task_blocks(view):
        alice.tick(block["block_id"], [])
    answer = alice.submit().json()
    assert answer["response_action"] == "errors"
    (message,) = answer["errors"].values()
    assert "Tick at least one task" in message
    assert alice.modal() is not None, "the dialog stays open to be fixed"
    assert world.store.list_windows(None) == []
    refused = [r for r in world.audit() if r.action == "plan" and r.outcome == "refused"]
    assert len(refused) == 1


def test_a_window_text_the_grammar_rejects_is_shown_under_the_field(world: SlackWorld) -> None:
    alice = world.user("alice")
    alice.slash("/maintenance plan")
    view = opened(alice)
    assert "Type the window" in blocks_text({"blocks": view["blocks"]}) or any(
        "Type the window" in e["text"]
        for b in view["blocks"]
        if b["type"] == "context"
        for e in b["elements"]
    )
    alice.type_in("window.0", "whenever it suits", enter=True)
    world.fake.wait_for(lambda: alice.modal().view["blocks"] != view["blocks"], what="redraw")
    answer = alice.submit().json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"window.1"}  # read anew once, so its block moved on
    assert world.store.list_windows(None) == []


def test_a_typed_window_that_was_not_read_yet_is_not_planned(world: SlackWorld) -> None:
    alice = world.user("alice")
    alice.slash("/maintenance plan Saturday 2-4am")
    opened(alice)
    alice.type_in("window.0", "Sunday 1-3am")  # no Enter: the ticks are still Saturday's
    answer = alice.submit().json()
    assert answer["response_action"] == "errors"
    assert "Press Enter" in answer["errors"]["window.0"]
    assert world.store.list_windows(None) == []


def test_a_stale_trigger_opens_nothing_and_says_so(world: SlackWorld) -> None:
    alice = world.user("alice")
    world.fake.fail("views.open", "expired_trigger_id")
    reply = alice.slash("/maintenance plan Saturday 2-4am")
    said = reply.wait()
    assert "did not open the dialog" in said["text"]
    assert alice.world.fake.modal(alice.id) is None
    assert world.store.list_windows(None) == []


def test_home_opens_the_dialog(world: SlackWorld) -> None:
    alice = world.user("alice")
    alice.open_home()
    (published,) = world.fake.wait_calls("views.publish")
    home = published.params["view"]
    home = json.loads(home) if isinstance(home, str) else home
    alice.click("plan_dialog", on={"blocks": home["blocks"], "_ephemeral": False})
    view = opened(alice)
    assert view["title"]["text"] == "Plan a window"


def test_a_vendor_grouping_narrows_the_list(world: SlackWorld) -> None:
    alice = world.user("alice")
    alice.slash("/maintenance plan Saturday 2-4am")
    view = opened(alice)
    (groups,) = [b for b in view["blocks"] if b.get("block_id") == "groups"]
    options = {
        g["label"]["text"]: [o["text"]["text"] for o in g["options"]]
        for g in groups["element"]["option_groups"]
    }
    workspaces = [o for o in options["talend"] if o.startswith("workspace: ")]
    assert len(workspaces) >= 2, "Talend's workspaces are offered"
    alice.tick("groups", [workspaces[0]])
    world.fake.wait_for(lambda: alice.modal().view["blocks"] != view["blocks"], what="redraw")
    narrowed = alice.modal().view
    systems = {
        o["description"]["text"].split(" · ")[0]
        for b in task_blocks(narrowed)
        for o in b["element"]["options"]
    }
    # Talend is narrowed to that workspace; the other systems are not touched by it.
    shown = sum(len(labels(b)) for b in task_blocks(narrowed))
    before = sum(len(labels(b)) for b in task_blocks(view))
    assert 0 < shown < before
    assert "talend" in systems


def test_an_overlap_is_shown_in_the_dialog_until_it_is_said_to_be_fine(
    world: SlackWorld,
) -> None:
    alice = world.user("alice")
    report = alice.slash("/maintenance check Saturday 2-4am").wait()
    alice.click("plan_window", on=report).wait()
    (first,) = world.store.list_windows(None)
    alice.slash("/maintenance plan Saturday 3-5am")
    opened(alice)
    answer = alice.submit().json()
    assert answer["response_action"] == "errors"
    assert first.id in answer["errors"]["overlap"]
    assert [w.id for w in world.store.list_windows(None)] == [first.id]
    alice.tick("overlap", ["Plan it even though it overlaps"])
    assert alice.submit().json() == {"response_action": "clear"}
    assert len(world.store.list_windows(None)) == 2


def test_edit_from_the_approval_request_moves_the_window_and_unticks_a_task(
    world: SlackWorld,
) -> None:
    alice = world.user("alice")
    report = alice.slash("/maintenance check Saturday 2-4am").wait()
    alice.click("plan_window", on=report).wait()
    (request,) = world.fake.messages(APPROVALS)
    (window,) = world.store.list_windows([WindowState.PLANNED])
    before = sorted(t.task_name for t in world.store.window_tasks(window.id))
    alice.click("edit_window_dialog", on={**request, "_ephemeral": False})
    view = opened(alice)
    assert view["title"]["text"] == "Edit a window"
    assert not [b for b in view["blocks"] if b.get("block_id") in ("title", "reason")]
    ticked = [label for b in task_blocks(view) for label in alice.ticked(b["block_id"])]
    assert sorted(ticked) == before, "the window's own tasks come ticked"
    # Shorter (so no new approval is needed) and one task fewer.
    alice.type_in("window.0", "Saturday 2-3am", enter=True)
    world.fake.wait_for(lambda: alice.modal().view["blocks"] != view["blocks"], what="redraw")
    view = alice.modal().view
    first = task_blocks(view)[0]
    kept = alice.ticked(first["block_id"])
    dropped = kept.pop()
    alice.tick(first["block_id"], kept)
    assert alice.submit().json() == {"response_action": "clear"}
    edited = world.store.get_window(window.id)
    assert edited.end - edited.start == timedelta(hours=1)
    assert edited.start == window.start
    names = sorted(t.task_name for t in world.store.window_tasks(window.id))
    assert dropped not in names
    # One task fewer, and none added; a schedule whose predicted runs all fall in the hour
    # cut off (Pyramid's every-2h one) no longer conflicts, so it is not offered either.
    assert set(names) < set(before)
    assert len(names) <= len(before) - 1
    assert [r.outcome for r in world.audit() if r.action == "edit"] == ["ok"]
    world.fake.wait_for(
        lambda: any("edited" in m["text"].lower() for m in world.fake.messages("D" + ALICE[1:])),
        what="the difference told to the editor",
    )
    # The request still waiting is redrawn for the window as it is now, buttons and all.
    (current,) = world.fake.messages(APPROVALS, replies=False)
    assert f"asks to pause *{len(names)}* task(s)" in blocks_text(current)
    assert f"<!date^{int(edited.end.timestamp())}^" in blocks_text(current)
    buttons = [
        e["action_id"] for b in current["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert buttons == ["approve", "reject", "edit_window_dialog"]


def test_someone_who_may_not_edit_gets_no_dialog(world: SlackWorld) -> None:
    alice = world.user("alice")
    report = alice.slash("/maintenance check Saturday 2-4am").wait()
    alice.click("plan_window", on=report).wait()
    (request,) = world.fake.messages(APPROVALS)
    mallory = world.user("mallory")
    refusal = mallory.click("edit_window_dialog", on={**request, "_ephemeral": False}).wait()
    assert "may not edit this window" in refusal["text"]
    assert world.fake.modal(mallory.id) is None
    assert [r.outcome for r in world.audit() if r.action == "edit"] == ["refused"]


def test_the_date_pickers_set_the_window_read_in_the_persons_zone(world: SlackWorld) -> None:
    alice = world.user("alice")  # America/Los_Angeles in the fake directory
    alice.slash("/maintenance plan Saturday 2-4am")
    view = opened(alice)
    (starts,) = [b for b in view["blocks"] if b.get("block_id") == "starts.0"]
    # The pickers show the window as read from the text.
    window_start = starts["element"]["initial_date_time"]
    start = datetime.fromtimestamp(window_start, UTC) + timedelta(days=1)
    alice.pick_time("starts.0", start)  # one picked: nothing is read yet
    assert alice.modal().view["blocks"] == view["blocks"]
    alice.pick_time("ends.0", start + timedelta(hours=3))
    world.fake.wait_for(lambda: alice.modal().view["blocks"] != view["blocks"], what="redraw")
    view = alice.modal().view
    (text,) = [b for b in view["blocks"] if b.get("block_id") == "window.1"]
    local = start.astimezone(ZoneInfo("America/Los_Angeles"))
    assert text["element"]["initial_value"].startswith(f"{local:%Y-%m-%d %H:%M} to ")
    echo = "\n".join(
        e["text"] for b in view["blocks"] if b["type"] == "context" for e in b["elements"]
    )
    assert f"<!date^{int(start.timestamp())}^" in echo
    assert "(3h)" in echo
    # An end before the start reads nothing: the form stays as it was.
    alice.pick_time("ends.1", start - timedelta(hours=1))
    assert alice.modal().view["blocks"] == view["blocks"]
    assert alice.submit().json() == {"response_action": "clear"}
    (window,) = world.store.list_windows([WindowState.PLANNED])
    assert window.start == start
    assert window.end == start + timedelta(hours=3)


def test_a_past_window_or_a_filter_that_matches_nothing_saves_nothing(
    world: SlackWorld, clock: ManualClock
) -> None:
    alice = world.user("alice")
    alice.slash("/maintenance plan Saturday 2-4am")
    view = opened(alice)
    # A name that no task has: the list says so, and submitting asks for a tick.
    alice.type_in("name", "no task is called this", enter=True)
    world.fake.wait_for(lambda: alice.modal().view["blocks"] != view["blocks"], what="redraw")
    narrowed = alice.modal().view
    assert not task_blocks(narrowed)
    assert "No task matches this scope; widen it." in blocks_text({"blocks": narrowed["blocks"]})
    answer = alice.submit().json()
    assert answer["response_action"] == "errors"
    assert "Tick at least one task" in next(iter(answer["errors"].values()))
    # The window passes while the dialog is open: refused under the window field.
    alice.type_in("name", "", enter=True)
    world.fake.wait_for(lambda: bool(task_blocks(alice.modal().view)), what="the list back")
    clock.advance(timedelta(days=7))
    answer = alice.submit().json()
    assert answer["response_action"] == "errors"
    assert "in the past" in answer["errors"]["window.0"]
    assert world.store.list_windows(None) == []
    refused = [r for r in world.audit() if r.action == "plan" and r.outcome == "refused"]
    assert len(refused) == 2
