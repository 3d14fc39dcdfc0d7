"""A task someone else paused: the report shows who, when and why; Resume repeats it and, by
default, asks an approver (a resume request decided once, refused if the pause changed);
every change from a report is announced in the alert channel and audited.

All over loopback: the bot, the fake Slack and the Talend simulator, where jane pauses a
task that runs into Saturday's window (as another Talend user, with her change number)
before alice checks.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slackclient import ALERTS, ALICE, APPROVALS, BOB, CAROL, SlackUser, SlackWorld, blocks_text

from bot.clock import ManualClock
from bot.model import (
    Conflict,
    ConflictKind,
    ConflictReport,
    PlannedTaskState,
    ResumeRequestState,
    SystemResult,
    TaskKind,
    TaskRef,
    Window,
    WindowState,
)
from bot.render import PauseNote, conflict_table, plain_pause
from bot.service.pauses import RESUME_REQUEST_TTL, pause_note
from bot.store import Store

TASK = "dwh_full_reload_emea"  # in alice's Saturday 2-4am report
OWNER = "jane.doe@example.com"
REASON = "CHG-4821 supplier API migration"


def jane_pauses(world: SlackWorld) -> None:
    talend = world.sandbox.by_vendor("talend")
    talend.set_pause(talend_task(world, TASK)["id"], True, user=OWNER, context=REASON)


@pytest.fixture
def world(world: SlackWorld) -> SlackWorld:
    """The shared Talend world (tests/conftest.py), with jane's pause already made."""
    jane_pauses(world)
    return world


def every_page(user: SlackUser) -> dict[str, Any]:
    """Alice's Saturday 2-4am report as she reads it, page after page (Next): its first
    page, holding the blocks of every page. Already-paused tasks come after what is to be
    acted on, which at the sandbox's scale is past the first page."""
    first = page = user.slash("/maintenance check Saturday 2-4am").wait()
    blocks = list(first["blocks"])
    while "Next ▶" in json.dumps(page, ensure_ascii=False):
        page = user.click("report_page_next", on=page, which=lambda e: "Next" in e["text"]["text"])
        page = page.wait()
        blocks.extend(page["blocks"])
    return {**first, "blocks": blocks}


def row_of(report: dict[str, Any], name: str) -> dict[str, Any]:
    for block in report["blocks"]:
        if (
            block.get("block_id", "").startswith("conflict-")
            and f"*{name}*" in block["text"]["text"]
        ):
            return block
    raise AssertionError(f"no row for {name} in the report")


def talend_task(world: SlackWorld, name: str) -> dict[str, Any]:
    (task,) = [t for t in world.sandbox_state("talend")["tasks"] if t["name"] == name]
    return task


def pause_calls(world: SlackWorld) -> int:
    return len(world.sandbox.by_vendor("talend").requests_to("/pause", method="PUT"))


def alerts(world: SlackWorld) -> list[str]:
    return [blocks_text(m) for m in world.fake.messages(ALERTS)]


def wait_alert(world: SlackWorld, text: str) -> list[str]:
    world.fake.wait_for(
        lambda: any(text in a for a in alerts(world)), what=f"an announcement with {text!r}"
    )
    return [a for a in alerts(world) if text in a]


def ask_to_resume(world: SlackWorld, alice: SlackUser) -> dict[str, Any]:
    """Alice checks, clicks Resume on jane's pause; returns the request in the approvals
    channel."""
    report = every_page(alice)
    row = row_of(report, TASK)
    answer = alice.click_value("resume_now", row["accessory"]["value"], message=report).wait()
    assert "needs an approver" in blocks_text(answer), blocks_text(answer)
    (request,) = world.fake.messages(APPROVALS)
    return request


def decide(world: SlackWorld, who: SlackUser, message: dict[str, Any], action: str) -> Any:
    return who.click(action, on={**message, "_ephemeral": False})


# -- showing it ---------------------------------------------------------------------------------
def test_the_row_shows_who_paused_it_when_and_why(world: SlackWorld) -> None:
    report = every_page(world.user("alice"))
    text = row_of(report, TASK)["text"]["text"]
    assert f"paused by {OWNER} since <!date^" in text
    assert "UTC>" in text  # the plain fallback of the date token
    assert f"“{REASON}”" in text


def test_the_resume_confirmation_repeats_it_and_says_an_approver_decides(
    world: SlackWorld,
) -> None:
    report = every_page(world.user("alice"))
    button = row_of(report, TASK)["accessory"]
    assert button["action_id"] == "resume_now"
    dialog = button["confirm"]
    assert dialog["title"]["text"] == "Resume someone else's pause?"
    body = dialog["text"]["text"]
    assert f"paused by {OWNER} since " in body
    assert "UTC" in body
    assert REASON in body
    assert "asks an approver" in body
    assert dialog["confirm"]["text"] == "Ask an approver"


def test_vendor_text_is_escaped_in_the_row(world: SlackWorld) -> None:
    talend = world.sandbox.by_vendor("talend")
    task_id = talend_task(world, TASK)["id"]
    talend.set_pause(task_id, False)
    talend.set_pause(task_id, True, user="<!channel>", context="<@U0BOB0001> & <b>")
    report = every_page(world.user("alice"))
    text = row_of(report, TASK)["text"]["text"]
    assert "paused by &lt;!channel&gt;" in text
    assert "“&lt;@U0BOB0001&gt; &amp; &lt;b&gt;”" in text
    assert "<!channel>" not in text


# -- resuming it asks ---------------------------------------------------------------------------
def test_resume_asks_an_approver_and_only_the_approval_resumes(world: SlackWorld) -> None:
    alice, bob, carol = world.user("alice"), world.user("bob"), world.user("carol")
    request = ask_to_resume(world, alice)
    # Nothing resumed yet; the request shows whose pause it is, with Approve/Reject.
    assert talend_task(world, TASK)["paused"] is True
    assert pause_calls(world) == 0
    text = blocks_text(request)
    assert f"<@{ALICE}> asks to resume *{TASK}*" in text
    assert f"paused by {OWNER} since <!date^" in text
    assert REASON in text
    (buttons,) = [b for b in request["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in buttons["elements"]] == ["approve", "reject"]
    assert set(json.loads(buttons["elements"][0]["value"])) == {"r"}
    (asked,) = wait_alert(world, "asks to resume")
    assert f"<@{ALICE}> asks to resume *{TASK}* (`talend`)" in asked
    assert OWNER in asked

    # Alice cannot approve her own request.
    refusal = decide(world, alice, request, "approve").wait()
    assert "someone else has to approve it" in refusal["text"]
    assert talend_task(world, TASK)["paused"] is True

    # Bob approves: the task is resumed, the request updated in place, announced once.
    decide(world, bob, request, "approve")
    (update,) = world.fake.wait_calls("chat.update")
    assert (update.params["channel"], update.params["ts"]) == (APPROVALS, request["_ts"])
    (current,) = world.fake.messages(APPROVALS)
    assert f"Approved by <@{BOB}>" in blocks_text(current)
    assert "the task was resumed" in blocks_text(current)
    assert not [b for b in current["blocks"] if b["type"] == "actions"]
    assert talend_task(world, TASK)["paused"] is False
    assert pause_calls(world) == 1
    (done,) = wait_alert(world, "was resumed")
    assert f"<@{BOB}> approved <@{ALICE}>'s request" in done
    assert OWNER in done

    # Carol had the old message open: a second approval does nothing.
    late = carol.click_value("approve", buttons["elements"][0]["value"]).wait()
    assert f"Already decided: :white_check_mark: Approved by <@{BOB}>" in late["text"]
    assert pause_calls(world) == 1
    assert len(world.fake.calls_to("chat.update")) == 1
    assert len([a for a in alerts(world) if "was resumed" in a]) == 1

    trail = [(r.actor, r.action, r.outcome) for r in reversed(world.audit())]
    assert (ALICE, "resume_request", "ok") in trail
    assert (ALICE, "approve_resume", "refused") in trail
    assert (BOB, "approve_resume", "ok") in trail
    assert (CAROL, "approve_resume", "already_decided") in trail
    resume_rows = [r for r in reversed(world.audit()) if r.action == "resume_now"]
    assert [(r.actor, r.outcome) for r in resume_rows] == [(BOB, "attempt"), (BOB, "ok")]
    assert all(r.detail and r.detail["paused_by"] == OWNER for r in resume_rows)
    assert all(r.detail and r.detail["requested_by"] == ALICE for r in resume_rows)


def test_a_task_repaused_by_someone_else_meanwhile_is_not_resumed(world: SlackWorld) -> None:
    request = ask_to_resume(world, world.user("alice"))
    talend = world.sandbox.by_vendor("talend")
    task_id = talend_task(world, TASK)["id"]
    talend.set_pause(task_id, False, user=OWNER)
    talend.set_pause(task_id, True, user="dba@example.com", context="CHG-9999 index rebuild")
    answer = decide(world, world.user("bob"), request, "approve").wait()
    assert "was paused again meanwhile, paused by dba@example.com" in answer["text"]
    assert "nothing was resumed" in answer["text"]
    assert talend_task(world, TASK)["paused"] is True
    assert talend_task(world, TASK)["user"] == "dba@example.com"
    assert pause_calls(world) == 0
    world.fake.wait_calls("chat.update")
    (current,) = world.fake.messages(APPROVALS)
    assert "it was not resumed" in blocks_text(current)
    wait_alert(world, "but it was not resumed")
    outcomes = [r.outcome for r in reversed(world.audit()) if r.action == "resume_now"]
    assert outcomes == ["attempt", "refused"]
    (stored,) = world.store.db.query("SELECT state, outcome FROM resume_requests")
    assert stored == {"state": "approved", "outcome": "refused"}


def test_a_task_resumed_meanwhile_is_left_as_it_is(world: SlackWorld) -> None:
    request = ask_to_resume(world, world.user("alice"))
    talend = world.sandbox.by_vendor("talend")
    talend.set_pause(talend_task(world, TASK)["id"], False, user=OWNER)
    decide(world, world.user("bob"), request, "approve")
    world.fake.wait_calls("chat.update")
    (current,) = world.fake.messages(APPROVALS)
    assert "it was no longer paused" in blocks_text(current)
    assert pause_calls(world) == 0
    outcomes = [r.outcome for r in reversed(world.audit()) if r.action == "resume_now"]
    assert outcomes == ["attempt", "no_change"]


def test_a_second_resume_click_does_not_ask_twice(world: SlackWorld) -> None:
    alice = world.user("alice")
    ask_to_resume(world, alice)
    report = every_page(alice)
    again = alice.click_value("resume_now", row_of(report, TASK)["accessory"]["value"]).wait()
    assert "already waiting for an approver" in blocks_text(again)
    assert len(world.fake.messages(APPROVALS)) == 1
    outcomes = [r.outcome for r in world.audit() if r.action == "resume_request"]
    assert sorted(outcomes) == ["already_requested", "ok"]


def test_reject_and_withdraw_leave_the_pause(world: SlackWorld) -> None:
    alice = world.user("alice")
    request = ask_to_resume(world, alice)
    decide(world, world.user("bob"), request, "reject")
    world.fake.wait_calls("chat.update")
    assert f"Rejected by <@{BOB}>" in blocks_text(world.fake.messages(APPROVALS)[0])
    (rejected,) = wait_alert(world, "rejected")
    assert f"stays paused by {OWNER}" in rejected
    assert talend_task(world, TASK)["paused"] is True
    # A new request can be made now; its requester may withdraw it.
    report = every_page(alice)
    alice.click_value("resume_now", row_of(report, TASK)["accessory"]["value"]).wait()
    second = next(m for m in world.fake.messages(APPROVALS) if m["_ts"] != request["_ts"])
    decide(world, alice, second, "reject")
    world.fake.wait_calls("chat.update", 2)
    wait_alert(world, "withdrew their request")
    assert talend_task(world, TASK)["paused"] is True
    assert pause_calls(world) == 0


def test_an_expired_request_resumes_nothing(world: SlackWorld, clock: ManualClock) -> None:
    request = ask_to_resume(world, world.user("alice"))
    clock.advance(RESUME_REQUEST_TTL)
    answer = decide(world, world.user("bob"), request, "approve").wait()
    assert "expired" in answer["text"]
    world.fake.wait_calls("chat.update")
    assert "Expired at" in blocks_text(world.fake.messages(APPROVALS)[0])
    assert talend_task(world, TASK)["paused"] is True
    assert [r.outcome for r in world.audit() if r.action == "approve_resume"] == ["expired"]


def test_a_pause_that_could_not_be_read_at_the_click_is_not_lifted_without_an_approver(
    world: SlackWorld,
) -> None:
    alice = world.user("alice")
    report = every_page(alice)
    value = row_of(report, TASK)["accessory"]["value"]
    # The first read of the task fails; the resume's own read then sees jane's pause.
    task_id = talend_task(world, TASK)["id"]
    world.sandbox.by_vendor("talend").faults.fail(403, times=1, path_contains=task_id)
    answer = blocks_text(alice.click_value("resume_now", value).wait())
    assert f"paused by {OWNER}" in answer
    assert "needs an approver. Click Resume again to ask one." in answer
    assert talend_task(world, TASK)["paused"] is True
    assert pause_calls(world) == 0
    assert world.fake.messages(APPROVALS) == []
    outcomes = [r.outcome for r in reversed(world.audit()) if r.action == "resume_now"]
    assert outcomes == ["attempt", "refused"]


def test_forged_request_ids_are_refused(world: SlackWorld) -> None:
    bob = world.user("bob")
    answer = bob.click_value("approve", '{"r": "r_doesnotexist"}').wait()
    assert "That resume request does not exist" in answer["text"]
    answer = bob.click_value("approve", '{"r": 5}').wait()
    assert "does not name an approval request" in answer["text"]
    assert pause_calls(world) == 0
    assert not [r for r in world.audit() if r.action.endswith("_resume")]


def test_a_request_that_cannot_be_posted_is_withdrawn_and_can_be_asked_again(
    world: SlackWorld,
) -> None:
    alice = world.user("alice")
    report = every_page(alice)
    value = row_of(report, TASK)["accessory"]["value"]
    world.fake.fail("chat.postMessage", "not_in_channel")
    answer = alice.click_value("resume_now", value).wait()
    assert f"channel {APPROVALS} (not_in_channel)" in answer["text"]
    assert "nothing was resumed" in answer["text"]
    assert talend_task(world, TASK)["paused"] is True
    again = alice.click_value("resume_now", value).wait()
    assert "needs an approver" in blocks_text(again)
    assert len(world.fake.messages(APPROVALS)) == 1
    states = [r["state"] for r in world.store.db.query("SELECT state FROM resume_requests")]
    assert sorted(states) == ["expired", "pending"]


# -- policy off ---------------------------------------------------------------------------------
def test_with_the_policy_off_the_confirmation_alone_resumes_and_it_is_announced(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAINTBOT_RESUME_OTHERS_NEEDS_APPROVAL", "false")
    with SlackWorld(tmp_path, clock, vendors=["talend"]) as world:
        jane_pauses(world)
        alice = world.user("alice")
        report = every_page(alice)
        button = row_of(report, TASK)["accessory"]
        assert "Resume it now?" in button["confirm"]["text"]["text"]
        assert OWNER in button["confirm"]["text"]["text"]
        answer = alice.click_value("resume_now", button["value"], message=report).wait()
        assert f"Resumed {TASK} (talend)." in blocks_text(answer)
        assert talend_task(world, TASK)["paused"] is False
        assert world.fake.messages(APPROVALS) == []
        (said,) = wait_alert(world, "resumed")
        assert f"<@{ALICE}> resumed *{TASK}* (`talend`)" in said
        assert f"it had been paused by {OWNER}" in said
        assert REASON in said
        (ok,) = [r for r in world.audit() if r.action == "resume_now" and r.outcome == "ok"]
        assert ok.detail is not None
        assert ok.detail["pause_owner"] == "other"
        assert world.fake.violations == []


# -- announcing Pause now and Resume ----------------------------------------------------------
def test_pause_now_and_its_undo_are_announced_without_approval(world: SlackWorld) -> None:
    alice = world.user("alice")
    report = every_page(alice)
    row = next(
        b
        for b in report["blocks"]
        if b.get("block_id", "").startswith("conflict-")
        and b["accessory"]["action_id"] == "pause_now"
    )
    name = row["text"]["text"].split("*")[1]
    result = alice.click_value("pause_now", row["accessory"]["value"], message=report).wait()
    assert f"Paused {name} (talend)." in blocks_text(result)
    (paused,) = wait_alert(world, "with Pause now")
    assert f"<@{ALICE}> paused *{name}* (`talend`)" in paused
    # The row now reads as the bot's own pause, so Resume needs nobody else.
    again = every_page(alice)
    mine = row_of(again, name)
    assert f"paused by <@{ALICE}> with Pause now" in mine["text"]["text"]
    assert mine["accessory"]["confirm"]["title"]["text"] == "Resume this task now?"
    undo = alice.click("resume_now", on=result).wait()
    assert f"Resumed {name} (talend)." in blocks_text(undo)
    (resumed,) = wait_alert(world, "resumed")
    assert "it had been" not in resumed
    assert world.fake.messages(APPROVALS) == []


def test_a_failed_pause_is_not_announced(world: SlackWorld) -> None:
    alice = world.user("alice")
    report = every_page(alice)
    row = next(
        b
        for b in report["blocks"]
        if b.get("block_id", "").startswith("conflict-")
        and b["accessory"]["action_id"] == "pause_now"
    )
    world.sandbox.by_vendor("talend").faults.fail(403, times=100, path_contains="/pause")
    answer = alice.click_value("pause_now", row["accessory"]["value"]).wait()
    assert "Could not pause" in blocks_text(answer)
    assert alerts(world) == []


# -- whose pause, without Slack -------------------------------------------------------------------
NOW = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)
REF = TaskRef(system="pyramid", kind=TaskKind.SCHEDULE, id="s-1")


def test_a_silent_vendor_pause_is_someone_elses_unless_the_store_knows_it(store: Store) -> None:
    silent = {"paused_by": None, "pause_reason": None, "paused_at": None}
    assert pause_note(None, REF, **silent).owner == "unknown"
    assert pause_note(store, REF, **silent).owner == "other"
    assert plain_pause(pause_note(store, REF, **silent)) == (
        "paused (by someone else; the scheduler does not say who)"
    )
    store.audit(ALICE, "pause_now", "ok", system=REF.system, task_id=REF.id)
    mine = pause_note(store, REF, **silent)
    assert (mine.owner, mine.by) == ("pause_now", ALICE)
    store.audit(ALICE, "resume_now", "ok", system=REF.system, task_id=REF.id)
    assert pause_note(store, REF, **silent).owner == "other"


def test_a_window_holding_the_task_makes_it_the_bots(store: Store) -> None:
    window = Window(start=NOW + timedelta(hours=1), end=NOW + timedelta(hours=2), tz="UTC")
    record = store.create_window(window, requested_by=ALICE, tasks=[(REF, "Sales cube")])
    (row,) = store.window_tasks(record.id)
    assert store.transition_task(row.id, PlannedTaskState.PLANNED, PlannedTaskState.PAUSED)
    note = pause_note(store, REF, paused_by=None, pause_reason=None, paused_at=None)
    assert (note.owner, note.window_id) == ("window", record.id)
    assert not note.others
    # A vendor naming a person is someone else's pause, whatever the store remembers.
    talend = TaskRef(system="talend", kind=TaskKind.TASK, id="t")
    other = pause_note(store, talend, paused_by="x", pause_reason="y", paused_at=None)
    assert other.others
    assert store.get_window(record.id).state is WindowState.PLANNED


def test_one_pending_request_per_task_and_decisions_are_compare_and_set(store: Store) -> None:
    kwargs: dict[str, Any] = {
        "task_name": "Sales cube",
        "requested_by": ALICE,
        "paused_by": None,
        "pause_reason": None,
        "paused_at": None,
        "now": NOW,
        "expires_at": NOW + timedelta(hours=1),
    }
    first = store.create_resume_request(REF, **kwargs)
    assert first is not None
    assert store.create_resume_request(REF, **kwargs) is None
    P, A = ResumeRequestState.PENDING, ResumeRequestState.APPROVED
    assert store.transition_resume_request(first.id, P, A, unexpired_at=NOW, decided_by=BOB)
    assert not store.transition_resume_request(first.id, P, A, unexpired_at=NOW, decided_by=CAROL)
    assert store.get_resume_request(first.id).decided_by == BOB
    # Decided, so a new request may be made; one past its expiry does not block either.
    second = store.create_resume_request(REF, **kwargs)
    assert second is not None
    later = {**kwargs, "now": NOW + timedelta(hours=2), "expires_at": NOW + timedelta(hours=3)}
    third = store.create_resume_request(REF, **later)
    assert third is not None
    assert store.get_resume_request(second.id).state is ResumeRequestState.EXPIRED
    assert not store.transition_resume_request(
        third.id, P, A, unexpired_at=NOW + timedelta(hours=4)
    )
    with pytest.raises(ValueError, match="cannot set"):
        store.transition_resume_request(third.id, P, A, state="approved")


def test_the_cli_table_and_json_show_who_paused_it() -> None:
    window = Window(start=NOW + timedelta(hours=1), end=NOW + timedelta(hours=2), tz="UTC")
    conflict = Conflict(
        system="talend",
        task_id="t-1",
        task_kind=TaskKind.TASK,
        task_name="inventory_snapshot",
        kind=ConflictKind.STARTS_IN_WINDOW,
        at=NOW + timedelta(hours=1),
        paused=True,
        paused_by=OWNER,
        pause_reason=REASON,
        paused_at=NOW - timedelta(days=2),
    )
    silent = conflict.model_copy(
        update={"task_id": "t-2", "paused_by": None, "pause_reason": None, "paused_at": None}
    )
    report = ConflictReport(
        window=window,
        checked_at=NOW,
        systems=(SystemResult(system="talend", vendor="talend", label="Talend", ok=True),),
        conflicts=(conflict, silent),
    )
    table = conflict_table(report, ["echo"], pauses={silent.ref.key: PauseNote("other")})
    assert f"paused by {OWNER} since Mon 16 Nov 18:00 UTC: “{REASON}”" in table
    assert "paused (by someone else; the scheduler does not say who)" in table
    (first, second) = report.to_json()["conflicts"]
    assert (first["paused_by"], first["pause_reason"]) == (OWNER, REASON)
    assert first["paused_at"] == "2026-11-16T18:00:00+00:00"
    assert (second["paused_by"], second["paused_at"], second["pause_reason"]) == (None,) * 3
    # The binding keys of design.md's interface are all still there.
    assert {"system", "task_id", "task_name", "kind", "at", "paused"} <= set(first)


def test_the_window_start_alert_says_who_paused_a_task_it_left_alone(
    tmp_path: Path, clock: ManualClock
) -> None:
    with SlackWorld(tmp_path, clock, vendors=["talend"]) as world:
        alice = world.user("alice")
        report = every_page(alice)
        assert "Asked for approval" in blocks_text(alice.click("plan_window", on=report).wait())
        (approval,) = world.fake.messages(APPROVALS)
        decide(world, world.user("bob"), approval, "approve")
        world.fake.wait_calls("chat.update")
        (window,) = world.store.list_windows([WindowState.APPROVED])
        jane_pauses(world)  # after the plan, before the start
        clock.set(window.start)
        world.tick()
        (started,) = wait_alert(world, "has started")
        assert "Left alone (already paused by someone else, or inactive)* (1)" in started
        assert f"• *{TASK}* (`talend`): paused by {OWNER} before the window (since " in started
        assert REASON in started
        assert talend_task(world, TASK)["user"] == OWNER  # left alone
        assert world.fake.violations == []


def test_a_non_approver_cannot_approve_a_resume_request(world: SlackWorld) -> None:
    request = ask_to_resume(world, world.user("alice"))
    refusal = decide(world, world.user("dave"), request, "approve").wait()
    assert "is not an approver for resume requests" in refusal["text"]
    assert talend_task(world, TASK)["paused"] is True
    assert world.fake.calls_to("chat.update") == []
    assert [r.outcome for r in world.audit() if r.action == "approve_resume"] == ["refused"]


def test_with_no_approvers_configured_nothing_is_requested(
    tmp_path: Path, clock: ManualClock
) -> None:
    with SlackWorld(tmp_path, clock, vendors=["talend"], approvers="") as world:
        jane_pauses(world)
        alice = world.user("alice")
        report = every_page(alice)
        value = row_of(report, TASK)["accessory"]["value"]
        answer = alice.click_value("resume_now", value).wait()
        assert "none is configured: set MAINTBOT_APPROVERS" in answer["text"]
        assert world.fake.messages(APPROVALS) == []
        assert talend_task(world, TASK)["paused"] is True
        assert not list(world.store.db.query("SELECT id FROM resume_requests"))
