"""Recurring maintenance in Slack: `/maintenance plan every Saturday 2-4am` plans a series
with one approval request, Approve on it approves the series, and `/maintenance series`
lists, shows, skips, moves, ends and cancels, refusing who may not (and auditing it)."""

from __future__ import annotations

from slackclient import ALICE, APPROVALS, DAVE, SlackWorld, blocks_text

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
