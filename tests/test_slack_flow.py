"""The whole story the issue calls done, plus the other subcommands, App Home and the
window clock's alerts and their buttons."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from slackclient import (
    ALERTS,
    ALICE,
    APPROVALS,
    BOB,
    DAVE,
    SlackWorld,
    blocks_text,
)

from bot.cli import main as maintbot
from bot.clock import ManualClock
from bot.model import WindowState
from bot.slack import blocks as bk


def first_active(report: dict[str, Any]) -> tuple[dict[str, Any], str]:
    for block in report["blocks"]:
        accessory = block.get("accessory") or {}
        if accessory.get("action_id") == "pause_now":
            return block, block["text"]["text"].split("*")[1]
    raise AssertionError("nothing to pause on the first page")


def talend_paused(world: SlackWorld, name: str) -> bool:
    tasks = world.sandbox_state("talend")["tasks"]
    (task,) = [t for t in tasks if t["name"] == name]
    return bool(task["paused"])


def plan_and_approve(world: SlackWorld) -> dict[str, Any]:
    alice = world.user("alice")
    report = alice.slash("/maintenance check Saturday 2-4am").wait()
    alice.click("plan_window", on=report).wait()
    (message,) = world.fake.messages(APPROVALS)
    world.user("bob").click("approve", on={**message, "_ephemeral": False})
    # The request redrawn is the listener's last step (after telling the requester).
    world.fake.wait_calls("chat.update", channel=APPROVALS)
    return message


def test_the_done_flow(
    world: SlackWorld, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A new user (no Slack profile zone set up in the fake: Slack's default applies).
    erin = world.user("erin")
    ack = erin.slash("/maintenance check Saturday 2-4am")
    assert ack.status == 200
    assert ack.json()["text"].startswith("Checking 1 scheduler")
    report = ack.wait()

    # "Pause now" on one task: the vendor really pauses it.
    row, name = first_active(report)
    assert not talend_paused(world, name)
    erin.click_value("pause_now", row["accessory"]["value"], message=report).wait()
    assert talend_paused(world, name)

    # "Plan pause for this window" → approval request → a colleague approves.
    erin.click("plan_window", on=report).wait()
    (request,) = world.fake.messages(APPROVALS)
    world.user("bob").click("approve", on={**request, "_ephemeral": False})
    world.fake.wait_calls("chat.update", channel=APPROVALS)
    (window,) = world.store.list_windows([WindowState.APPROVED])
    assert window.approved_by == BOB

    # Both appear in /maintenance audit …
    trail = blocks_text(erin.slash("/maintenance audit 50").json())
    for expected in ("check", "pause_now", "plan", "request_approval", "approve"):
        assert f" {expected} " in trail
    assert f"<@{BOB}> approve window `{window.id}` → *ok*" in trail
    # The task by its name beside its id, the attempt and its outcome on one line.
    assert f"pause_now *{name}* (`talend:{row_task_id(world, name)}`) → *ok*" in trail
    assert trail.count(" pause_now ") == 1

    # … and in `maintbot audit`, reading the same database file.
    monkeypatch.setenv("MAINTBOT_DB", str(world.db_path))
    assert maintbot(["audit", "--json", "--limit", "50"]) == 0
    rows = json.loads(capsys.readouterr().out)
    newest = [(r["action"], r["outcome"]) for r in rows[:2]]
    assert newest == [("approve", "ok"), ("request_approval", "ok")]
    # JSON keeps every stored row; Slack shows one line per call (an attempt folded
    # into its outcome), in the same order.
    lines = [line for line in trail.splitlines() if line.startswith("<!date^")]
    outcomes = [r for r in rows if r["outcome"] != "attempt"]
    assert len(outcomes) < len(rows)
    assert len(lines) == len(outcomes)
    for line, row_ in zip(lines, outcomes, strict=True):
        assert f" {row_['action']} " in line
        assert f"→ *{row_['outcome']}*" in line  # then its error or reason, if any
    assert maintbot(["audit", "--limit", "50"]) == 0
    table = capsys.readouterr().out
    assert "pause_now" in table
    assert "approve" in table


def row_task_id(world: SlackWorld, name: str) -> str:
    tasks = world.sandbox_state("talend")["tasks"]
    return str(next(t["id"] for t in tasks if t["name"] == name))


def test_list_status_and_cancel(world: SlackWorld) -> None:
    alice = world.user("alice")
    assert "No planned or active" in blocks_text(alice.slash("/maintenance list").json())
    assert "holds nothing paused" in blocks_text(alice.slash("/maintenance status").json())

    report = alice.slash("/maintenance check Saturday 2-4am").wait()
    row, name = first_active(report)
    alice.click_value("pause_now", row["accessory"]["value"], message=report).wait()
    status = blocks_text(alice.slash("/maintenance status").json())
    assert f"*{name}* (`talend`) since <!date^" in status
    assert f"paused now by <@{ALICE}>" in status

    alice.click("plan_window", on=report).wait()
    (window,) = world.store.list_windows([WindowState.PLANNED])
    listing = blocks_text(alice.slash("/maintenance list").json())
    assert f"`{window.id}` · *planned*" in listing

    # Someone who neither asked for it nor approves may not cancel it.
    refusal = world.user("dave").slash(f"/maintenance cancel {window.id}").wait()
    assert f"<@{DAVE}> may not cancel" in refusal["text"]
    assert [r.outcome for r in world.audit() if r.action == "cancel"] == ["refused"]

    done = alice.slash(f"/maintenance cancel {window.id}").wait()
    assert f"Cancelled maintenance window `{window.id}`" in done["text"]
    assert world.store.get_window(window.id).state is WindowState.CANCELLED
    missing = alice.slash("/maintenance cancel w_nope").wait()
    assert "There is no maintenance window with id 'w_nope'" in missing["text"]


def test_app_home_shows_windows_and_pauses_once_per_event(world: SlackWorld) -> None:
    plan_and_approve(world)
    alice = world.user("alice")
    assert alice.open_home(event_id="Ev0HOME01").status == 200
    (publish,) = world.fake.wait_calls("views.publish")
    assert publish.params["user_id"] == ALICE
    view = publish.params["view"]
    assert view["type"] == "home"
    assert len(view["blocks"]) <= 100
    text = json.dumps(view)
    assert "Upcoming" in text
    assert "*approved*" in text
    # Slack redelivers the same event (it thought we timed out): published once.
    assert alice.open_home(event_id="Ev0HOME01", retry=1).status == 200
    alice.open_home(event_id="Ev0HOME02")
    world.fake.wait_calls("views.publish", 2)
    assert len(world.fake.calls_to("views.publish")) == 2


def test_window_alerts_carry_controls_that_work(world: SlackWorld, clock: ManualClock) -> None:
    plan_and_approve(world)
    (window,) = world.store.list_windows([WindowState.APPROVED])
    clock.set(window.start)
    world.tick()
    # The start alert itself offers to extend by any of several lengths, or to end now, so
    # a short window (which never gets the "ends in 10 min" alert) can be changed too.
    start = [m for m in world.fake.messages(ALERTS) if "extend_window" in json.dumps(m)]
    assert start, "the start alert offers to extend or end the window"
    assert window.id in blocks_text(start[0])
    menu = next(
        e
        for b in start[0]["blocks"]
        for e in b.get("elements", [])
        if e.get("action_id") == "extend_window"
    )
    assert [o["text"]["text"] for o in menu["options"]] == ["15m", "30m", "45m", "1h", "2h", "4h"]
    assert menu["placeholder"]["text"] == "Extend by…"

    # Someone who is neither the requester nor an approver may not.
    refusal = world.user("mallory").choose(
        "extend_window", "45m", on={**start[0], "_ephemeral": False}
    )
    assert ":no_entry:" in refusal.wait()["text"]
    assert world.store.get_window(window.id).end == window.end
    # The requester may, within the limit past the approved end.
    answer = world.user("alice").choose(
        "extend_window", "45m", on={**start[0], "_ephemeral": False}
    )
    text = answer.wait()["text"]
    assert "Extended window" in text
    extended = world.store.get_window(window.id)
    assert extended.end - window.end == timedelta(minutes=45)
    assert f"<!date^{int(extended.end.timestamp())}^" in text  # each reader's own zone
    # Beyond the limit an approver has to; the refusal says so, not "you may not approve".
    refusal = world.user("alice").choose(
        "extend_window", "30m", on={**start[0], "_ephemeral": False}
    )
    refused = refusal.wait()["text"]
    assert "past the end that was approved" in refused
    assert "may not approve" not in refused
    answer = world.user("bob").choose("extend_window", "30m", on={**start[0], "_ephemeral": False})
    assert "Extended window" in answer.wait()["text"]
    ids = {world.user(name).id: name for name in ("mallory", "alice", "bob")}
    rows = sorted((r for r in world.audit() if r.action == "extend"), key=lambda r: r.id)
    assert [(ids[r.actor], r.outcome) for r in rows] == [
        ("mallory", "refused"),
        ("alice", "ok"),
        ("alice", "refused"),
        ("bob", "ok"),
    ]

    # The requester may end it early.
    answer = world.user("alice").click("end_now", on={**start[0], "_ephemeral": False}).wait()
    assert "Ending window" in answer["text"]
    world.tick()
    assert world.store.get_window(window.id).state not in (
        WindowState.APPROVED,
        WindowState.ACTIVE,
    )


def test_extend_and_end_from_the_slash_command(world: SlackWorld, clock: ManualClock) -> None:
    plan_and_approve(world)
    (window,) = world.store.list_windows([WindowState.APPROVED])
    alice = world.user("alice")
    # Bad input: a clear answer naming what to type, and nothing changed or audited.
    for text, expected in (
        ("extend", "`extend` needs a window id and a length"),
        (f"extend {window.id}", "`extend` needs a window id and a length"),
        (f"extend {window.id} soonish", 'I can\'t read "soonish" as a length'),
        (f"extend {window.id} 0m", "A length must be more than zero"),
        ("end", "`end` needs a window id"),
    ):
        reply = alice.slash(f"/maintenance {text}")
        assert expected in reply.json()["text"], text
    assert not [r for r in world.audit() if r.action in ("extend", "end")]
    assert world.store.get_window(window.id).end == window.end

    answer = alice.slash(f"/maintenance extend {window.id} 1h30").wait()
    # 1h30 is past the requester's 1h limit: refused, audited, the window unchanged.
    assert "past the end that was approved" in answer["text"]
    assert world.store.get_window(window.id).end == window.end
    answer = alice.slash(f"/maintenance extend {window.id} 45m").wait()
    assert "Extended window" in answer["text"]
    assert world.store.get_window(window.id).end == window.end + timedelta(minutes=45)

    # Beyond the 14-day limit, even for an approver: refused, audited, the window as it was.
    answer = world.user("bob").slash(f"/maintenance extend {window.id} 15d").wait()
    assert "over the 14-day limit; it can be extended by at most" in answer["text"]
    assert world.store.get_window(window.id).end == window.end + timedelta(minutes=45)
    answer = alice.slash(f"/maintenance end {window.id}").wait()
    assert "has not started yet; cancel it instead" in answer["text"]
    clock.set(window.start)
    world.tick()
    answer = alice.slash(f"/maintenance end {window.id}").wait()
    assert "Ending window" in answer["text"]
    rows = sorted((r for r in world.audit() if r.action in ("extend", "end")), key=lambda r: r.id)
    # Every refusal is audited: the policy's, and the window's own ("over the limit",
    # "not started yet").
    assert [(r.actor, r.action, r.outcome) for r in rows] == [
        (alice.id, "extend", "refused"),
        (alice.id, "extend", "ok"),
        (BOB, "extend", "refused"),
        (alice.id, "end", "refused"),
        (alice.id, "end", "ok"),
    ]


def test_healthz_reports_the_store(world: SlackWorld) -> None:
    response = world.http.get("/healthz")
    assert response.status_code == 200
    assert response.json()["store"] == "ok"


def test_an_alert_slack_refuses_is_sent_again_on_the_next_tick(
    world: SlackWorld, clock: ManualClock
) -> None:
    plan_and_approve(world)
    (window,) = world.store.list_windows([WindowState.APPROVED])
    # The approval was told already, in the window's thread in the alert channel.
    told = {m["_ts"] for m in world.fake.messages()}
    thread = world.store.get_window(window.id).alert_ts
    assert thread is not None
    world.fake.fail("chat.postMessage", "channel_not_found", times=1)
    clock.set(window.start)
    world.tick()
    assert not [m for m in world.fake.messages(ALERTS) if m["_ts"] not in told]
    world.tick()
    alerts = [m for m in world.fake.messages(ALERTS) if m["_ts"] not in told]
    assert len(alerts) == 1
    # Once, in the window's thread, and shown in the channel too (the window opened).
    assert alerts[0]["thread_ts"] == thread
    assert alerts[0]["reply_broadcast"] is True
    # Not a second copy in the approval request's thread.
    assert not [
        m
        for m in world.fake.messages(APPROVALS)
        if m.get("thread_ts") == window.thread_ts and m["_ts"] not in told
    ]


def test_one_alert_when_the_alert_channel_is_the_approval_channel(
    tmp_path: Path, clock: ManualClock
) -> None:
    with SlackWorld(
        tmp_path, clock, vendors=["talend"], approval_channel=ALERTS, alert_channel=ALERTS
    ) as world:
        alice = world.user("alice")
        report = alice.slash("/maintenance check Saturday 2-4am").wait()
        alice.click("plan_window", on=report).wait()
        (request,) = world.fake.messages(ALERTS)
        world.user("bob").click("approve", on={**request, "_ephemeral": False})
        world.fake.wait_calls("chat.update")
        (window,) = world.store.list_windows([WindowState.APPROVED])
        # The approval is told once, in the request's thread and broadcast to the channel;
        # the requester also hears it directly.
        posts = world.fake.calls_to("chat.postMessage", ok_only=True)[1:]  # after the request
        told = [p for p in posts if p.params["channel"] == ALERTS]
        assert len(told) == 1
        assert told[0].params["thread_ts"] == window.thread_ts
        assert [p.params["channel"] for p in posts if p not in told] == ["D" + ALICE[1:]]
        clock.set(window.start)
        world.tick()
        posts = world.fake.calls_to("chat.postMessage", ok_only=True)[3:]  # after those
        assert len(posts) == 1
        assert posts[0].params["thread_ts"] == window.thread_ts
        assert posts[0].params["reply_broadcast"] is True
        assert world.fake.violations == []


def test_alerts_read_in_each_readers_zone_and_a_window_that_could_not_pause_says_so(
    world: SlackWorld, clock: ManualClock
) -> None:
    plan_and_approve(world)
    (window,) = world.store.list_windows([WindowState.APPROVED])
    planned = world.store.window_tasks(window.id)
    # Talend refuses every pause (a refusal is not retried): nothing can be held.
    world.sandbox.by_vendor("talend").faults.fail(400, times=10_000, path_contains="/pause")
    clock.set(window.start)
    world.tick()
    (start,) = [m for m in world.fake.messages(ALERTS) if "has started" in m["text"]]
    # One line for the notification, its instant a token each reader sees in their zone.
    assert "\n" not in start["text"]
    assert f"it ends {bk.date_token(window.end)}. {len(planned)} could not pause" in start["text"]
    assert "EST" not in blocks_text(start)
    assert f":warning: *Could not pause* ({len(planned)})" in blocks_text(start)

    clock.set(window.end)
    world.tick()
    assert world.store.get_window(window.id).state is WindowState.COMPLETED_WITH_EXCEPTIONS
    (end,) = [m for m in world.fake.messages(ALERTS) if "has ended" in m["text"]]
    assert f"has ended: completed with exceptions. {len(planned)} could not pause." in end["text"]
    said = blocks_text(end)
    assert f":warning: *Could not pause (ran during the window)* ({len(planned)})" in said
    first = world.store.window_tasks(window.id)[0]
    assert first.last_error is not None
    # Which task, and why.
    assert f"(`talend`): could not pause after 1 attempt(s): {bk.escape(first.last_error)}" in said
    assert world.fake.violations == []


def test_series_are_listed_and_on_app_home(world: SlackWorld) -> None:
    running = world.bot
    assert running.bot is not None
    bot = running.bot
    series = bot.parse_series("patch night every Saturday 2-4am", "UTC")
    assert series is not None
    plan = running.call(bot.series.plan(series, by=ALICE, tasks="all", approved_by=BOB))
    alice = world.user("alice")
    listing = blocks_text(alice.slash("/maintenance list").json())
    assert "and 1 series" in listing
    assert f"`{plan.series.id}` · *patch night* · *approved*" in listing
    assert "“patch night every Saturday 2-4am” in UTC · next <!date^" in listing
    assert f"`{plan.first.id}` · *approved*" in listing  # its first occurrence, a window
    alice.open_home(event_id="Ev0HOMESERIES")
    (publish,) = world.fake.wait_calls("views.publish")
    text = json.dumps(publish.params["view"])
    assert "*Recurring*" in text
    assert plan.series.id in text
