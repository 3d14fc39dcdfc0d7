"""Recurring maintenance in Slack: `/maintenance plan every Saturday 2-4am` plans a series
with one approval request, Approve on it approves the series, and `/maintenance series`
lists, shows, skips, moves, ends and cancels, refusing who may not (and auditing it)."""

from __future__ import annotations

from datetime import timedelta

from slackclient import ALERTS, ALICE, APPROVALS, DAVE, SlackWorld, blocks_text

from bot.clock import ManualClock
from bot.model import SeriesState, WindowState


def _plan(world: SlackWorld) -> str:
    alice = world.user("alice")
    answer = alice.slash("/maintenance plan patch night every Saturday 2-4am").wait()
    assert ":repeat: Series `s_" in answer["text"], answer
    (record,) = world.store.list_series()
    assert record.state is SeriesState.PLANNED
    assert record.title == "patch night"
    assert record.tz == "America/Los_Angeles"  # read in Alice's own zone
    return record.id


def test_a_series_planned_in_slack_is_approved_once_by_its_first_occurrence(
    world: SlackWorld,
) -> None:
    sid = _plan(world)
    (message,) = world.fake.messages(APPROVALS)
    text = blocks_text(message)
    assert f"first occurrence of series `{sid}`" in text
    assert "approving it approves the series" in text
    world.user("bob").click("approve", on={**message, "_ephemeral": False})
    world.fake.wait_calls("chat.update", channel=APPROVALS)
    record = world.store.get_series(sid)
    assert record.state is SeriesState.APPROVED
    (first,) = world.store.series_windows(sid)
    assert first.state is WindowState.APPROVED
    assert first.channel == APPROVALS  # its alerts go into the approval's thread


def test_the_series_subcommand_lists_skips_moves_and_ends(world: SlackWorld) -> None:
    sid = _plan(world)
    (message,) = world.fake.messages(APPROVALS)
    world.user("bob").click("approve", on={**message, "_ephemeral": False})
    world.fake.wait_calls("chat.update", channel=APPROVALS)
    alice = world.user("alice")
    listing = blocks_text(alice.slash("/maintenance series").json())
    assert f"`{sid}` · *patch night* · *approved*" in listing
    shown = blocks_text(alice.slash(f"/maintenance series show {sid}").json())
    assert sid in shown

    # Someone who neither asked for it nor approves may not change it.
    refused = world.user("dave").slash(f"/maintenance series skip {sid} 2026-11-28").wait()
    assert f"<@{DAVE}>" in refused["text"]
    assert [(r.actor, r.outcome) for r in world.audit() if r.action == "cancel_series"] == [
        (DAVE, "refused")
    ]
    assert world.store.get_series(sid).skipped == ()

    done = alice.slash(f"/maintenance series skip {sid} 2026-11-28").wait()
    assert "the 2026-11-28 occurrence is skipped" in done["text"]
    moved = alice.slash(f"/maintenance series move {sid} 2026-12-05 Dec 5 4-6am").wait()
    assert "The 2026-12-05 occurrence is planned as window `w_" in moved["text"]
    bad = alice.slash(f"/maintenance series skip {sid} next-week").json()
    assert "`series skip` needs" in blocks_text(bad)
    missing = alice.slash("/maintenance series end s_nope").wait()
    assert "No series with id 's_nope'" in missing["text"]

    ended = alice.slash(f"/maintenance series end {sid}").wait()
    assert f"Series `{sid}` is ended." in ended["text"]
    assert world.store.get_series(sid).state is SeriesState.ENDED
    windows = {w.start.date().isoformat(): w.state for w in world.store.series_windows(sid)}
    assert windows["2026-12-05"] is WindowState.CANCELLED  # planned, not started: dropped
    assert ALICE in {r.actor for r in world.audit() if r.action == "end_series"}


def test_a_bad_recurring_text_is_explained_and_nothing_is_planned(world: SlackWorld) -> None:
    answer = world.user("alice").slash("/maintenance plan every 0 days 2-4am").wait()
    assert ":warning:" in answer["text"]
    assert "every 0 days" in answer["text"]
    assert world.store.list_series() == []
    assert world.fake.messages(APPROVALS) == []


def test_a_series_keeps_one_thread_in_the_alert_channel(
    world: SlackWorld, clock: ManualClock
) -> None:
    sid = _plan(world)
    (message,) = world.fake.messages(APPROVALS)
    world.user("bob").click("approve", on={**message, "_ephemeral": False})
    world.fake.wait_calls("chat.update", channel=APPROVALS)
    (first,) = world.store.series_windows(sid)
    clock.set(first.start)
    world.tick()  # the first occurrence starts: its alert opens the thread
    clock.set(first.end)
    world.tick()
    roots = world.fake.messages(ALERTS, replies=False)
    assert len(roots) == 1
    root = roots[0]["_ts"]
    # A day before the second occurrence it is planned, and says so in the same thread.
    clock.set(first.start + timedelta(days=6))
    world.tick()
    windows = world.store.series_windows(sid)
    assert len(windows) == 2
    second = windows[1]
    assert second.state is WindowState.APPROVED
    assert second.channel == APPROVALS
    assert second.thread_ts == first.thread_ts  # the series' approval thread
    clock.set(second.start)
    world.tick()
    assert len(world.fake.messages(ALERTS, replies=False)) == 1  # still one thread
    replies = [m for m in world.fake.messages(ALERTS) if m.get("thread_ts") == root]
    texts = " ".join(blocks_text(m) for m in replies)
    assert "Occurrence planned" in texts
    assert world.store.get_window(second.id).state is WindowState.ACTIVE


def test_widening_a_series_in_slack_asks_the_approvers_again(world: SlackWorld) -> None:
    sid = _plan(world)
    (message,) = world.fake.messages(APPROVALS)
    world.user("bob").click("approve", on={**message, "_ephemeral": False})
    world.fake.wait_calls("chat.update", channel=APPROVALS)
    answer = world.user("alice").slash(f"/maintenance series scope {sid} all").wait()
    assert f"Series `{sid}` now pauses `all`." in answer["text"]
    assert "asks an approver again in <#" in answer["text"]
    assert world.store.get_series(sid).state is SeriesState.PLANNED
    asking = [m for m in world.fake.messages(APPROVALS) if "Approval needed" in m.get("text", "")]
    assert [m["_ts"] for m in asking] != [message["_ts"]]  # a new request, the first decided
    assert len(asking) == 1
    bad = world.user("alice").slash(f"/maintenance series scope {sid}").json()
    assert "`series scope` needs" in blocks_text(bad)
