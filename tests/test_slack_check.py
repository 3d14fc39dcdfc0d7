"""`/maintenance check` end to end: signed slash command → ack → report via response_url,
against the sandbox schedulers and a fake Slack, all on loopback."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from slackclient import ALICE, NOTZ, SlackWorld, available_vendors, blocks_text, together

from bot.clock import ManualClock

# Saturday 2-4am read in Los Angeles (alice's Slack zone) from Wed 18 Nov 2026 10:00 PST.
LA_START = int(datetime(2026, 11, 21, 10, 0, tzinfo=UTC).timestamp())
LA_END = int(datetime(2026, 11, 21, 12, 0, tzinfo=UTC).timestamp())
# The same text read in Europe/Berlin (MAINTBOT_TZ in these tests).
BERLIN_START = int(datetime(2026, 11, 21, 1, 0, tzinfo=UTC).timestamp())


pytestmark = pytest.mark.slack_world(vendors=None)  # all four schedulers


def conflict_blocks(message: dict) -> list[dict]:
    return [b for b in message["blocks"] if b.get("block_id", "").startswith("conflict-")]


def total_conflicts(message: dict) -> int:
    found = re.search(r"\((\d+) conflicts in all\)", blocks_text(message))
    assert found, "the page says how many conflicts there are"
    return int(found.group(1))


def test_check_acks_with_the_real_scheduler_count_then_replaces_it_with_the_report(
    world: SlackWorld,
) -> None:
    alice = world.user("alice")
    reply = alice.slash("/maintenance check Saturday 2-4am")
    assert reply.status == 200
    count = len(available_vendors())
    assert reply.json()["text"] == f"Checking {count} scheduler{'s' if count != 1 else ''}…"

    report = reply.wait()
    assert report["replace_original"] is True
    assert report["response_type"] == "ephemeral"
    text = blocks_text(report)
    # The window, echoed as <!date> tokens (each reader's own zone) with UTC fallbacks.
    assert f"<!date^{LA_START}^{{date_short_pretty}} {{time}}|Sat 21 Nov 2026 10:00 UTC>" in text
    assert f"<!date^{LA_END}^" in text
    assert "America/Los_Angeles" in text
    assert "in UTC: Sat 21 Nov 2026 10:00 → Sat 21 Nov 2026 12:00" in text
    # One section per system with its state (or its error).
    for vendor in available_vendors():
        assert re.search(rf"\* \(`{vendor}`\): ", text)
    assert "): answered" in text
    assert len(report["blocks"]) <= 50
    # Every conflict row: kind, time, paused or not, and a Pause now or Resume button.
    rows = conflict_blocks(report)
    assert rows
    for row in rows:
        assert row["accessory"]["action_id"] in ("pause_now", "resume_now")
        assert "confirm" in row["accessory"]
        value = json.loads(row["accessory"]["value"])
        assert set(value) == {"c", "i"}  # only ids, never what to act on
    # The check and its outcome are on the audit trail.
    (row,) = [r for r in world.audit() if r.action == "check"]
    assert row.actor == ALICE
    assert row.outcome == "ok"


def test_a_users_slack_locale_says_which_language_their_window_is_read_in(
    world: SlackWorld,
) -> None:
    # Dave's Slack is in French (fr-FR), Carol's in Japanese: their own words, the same
    # window as the English text in their zones.
    dave, carol = world.user("dave"), world.user("carol")
    french = blocks_text(dave.slash("/maintenance check samedi 2h-4h").wait())
    english = blocks_text(dave.slash("/maintenance check Saturday 2-4am").wait())
    assert "in UTC: Sat 21 Nov 2026 07:00 → Sat 21 Nov 2026 09:00" in french
    assert french.split("in UTC:")[1].split("\n")[0] == english.split("in UTC:")[1].split("\n")[0]
    assert "“samedi 2h-4h”" in french  # the echo says what they typed
    japanese = blocks_text(carol.slash("/maintenance check 土曜日 2時から4時").wait())
    assert "in UTC: Fri 20 Nov 2026 17:00 → Fri 20 Nov 2026 19:00" in japanese
    # A word no language knows is named, not guessed.
    refused = dave.slash("/maintenance check samedi 2h-4h peut-être").wait()
    assert "peut" in blocks_text(refused)
    # One users.info per user, locale and zone together.
    asked = [c.params.get("user") for c in world.fake.calls_to("users.info")]
    assert asked.count(world.user("dave").id) == 1


def test_a_recurring_check_reports_each_of_the_next_occurrences(world: SlackWorld) -> None:
    alice = world.user("alice")  # America/Los_Angeles
    reply = alice.slash("/maintenance check patch night every Saturday 2-4am")
    intro = reply.wait(1)
    assert intro["replace_original"] is True
    text = blocks_text(intro)
    assert (
        "*patch night* · *Recurring:* every Saturday (no end), read in America/Los_Angeles" in text
    )
    assert "`RRULE:FREQ=WEEKLY;BYDAY=SA`" in text
    assert "The next 3 occurrence(s)" in text
    reports = [reply.wait(n) for n in (2, 3, 4)]
    for number, report in enumerate(reports, start=1):
        assert report.get("replace_original") is not True  # each its own message
        first = report["blocks"][0]["text"]["text"]
        assert first.startswith(f"Occurrence {number} of 3 · ")
        assert len(report["blocks"]) <= 50
    # Saturdays 21 and 28 Nov and 5 Dec, 02:00 in Los Angeles: 10:00 UTC.
    for report, day in zip(reports, ("Sat 21 Nov", "Sat 28 Nov", "Sat 05 Dec"), strict=True):
        assert f"in UTC: {day} 2026 10:00" in blocks_text(report)
    # Each is a stored check of its own, so its buttons act on that occurrence.
    checks = [r for r in world.audit() if r.action == "check"]
    assert len(checks) == 3
    assert len({(r.detail or {}).get("check") for r in checks}) == 3


def test_users_info_is_cached_per_user(world: SlackWorld) -> None:
    alice = world.user("alice")
    alice.slash("/maintenance check Saturday 2-4am").wait()
    alice.slash("/maintenance check Sunday 2-4am").wait()
    calls = world.fake.calls_to("users.info")
    assert [c.params["user"] for c in calls] == [ALICE]


def test_a_user_without_a_slack_time_zone_gets_maintbot_tz(world: SlackWorld) -> None:
    report = world.user("notz").slash("/maintenance check Saturday 2-4am").wait()
    text = blocks_text(report)
    assert "Europe/Berlin" in text
    assert f"<!date^{BERLIN_START}^" in text
    assert [c.params["user"] for c in world.fake.calls_to("users.info")] == [NOTZ]


def test_a_long_report_is_paged_with_nothing_dropped(tmp_path: Path, clock: ManualClock) -> None:
    with SlackWorld(tmp_path, clock, scale=3) as world:
        _page_through(world)
        assert world.fake.violations == []


def _page_through(world: SlackWorld) -> None:
    alice = world.user("alice")
    first = alice.slash("/maintenance check Saturday 2-4am").wait()
    total = total_conflicts(first)
    assert total > 50, "the sandbox data should need more than 50 blocks"
    collapsed, pages = _pages(alice, first)
    # The runs with no known time are one line per system, each with a "Show them" button.
    assert collapsed, "the sandbox has runs with no known time"
    seen = [i for page in pages for i in conflict_indices(page)]
    assert len(seen) == len(set(seen)) < total
    assert len(pages) > 1
    # Previous goes back one page.
    back = alice.click("report_page_previous").wait()
    assert f"page {len(pages) - 1} of {len(pages)}" in blocks_text(back)
    # Show them: the button lists one system's runs in place, and the pages keep it shown.
    with_line = next(p for p in pages if _unknown_blocks(p))
    line = _unknown_blocks(with_line)[0]
    system = line["block_id"].removeprefix("unknown-")
    count = int(line["text"]["text"].split("*")[1].split()[0])
    shown = alice.click("report_show_unknown", on=with_line).wait()
    assert shown["replace_original"] is True
    assert f"unknown-{system}" not in {b.get("block_id") for b in _unknown_blocks(shown)}
    assert f"· may fire at an unknown time ({count})" in blocks_text(shown)
    check_id = json.loads(line["accessory"]["value"])["c"]
    expanded = json.dumps({"c": check_id, "p": 0, "x": sorted(collapsed)})
    everything = alice.click_value("report_show_unknown", expanded).wait()
    _, pages = _pages(alice, everything)
    seen = [i for page in pages for i in conflict_indices(page)]
    assert sorted(seen) == list(range(total))  # every conflict exactly once


def conflict_indices(page: dict) -> list[int]:
    return [int(b["block_id"].split("-")[1]) for b in conflict_blocks(page)]


def _unknown_blocks(page: dict) -> list[dict]:
    return [b for b in page["blocks"] if b.get("block_id", "").startswith("unknown-")]


def _pages(alice, page: dict) -> tuple[set[str], list[dict]]:
    """Every page from ``page`` on (by Next), and the systems whose lines are collapsed."""
    pages, collapsed = [], set()
    while True:
        assert len(page["blocks"]) <= 50
        pages.append(page)
        for block in page["blocks"]:
            if block.get("block_id", "").startswith("unknown-"):
                assert block["accessory"]["text"]["text"] == "Show them"
                assert "may fire at an unknown time" in block["text"]["text"]
                collapsed.add(block["block_id"].removeprefix("unknown-"))
        if "Next ▶" not in json.dumps(page, ensure_ascii=False):
            return collapsed, pages
        page = alice.click(
            "report_page_next", on=page, which=lambda e: "Next" in e["text"]["text"]
        ).wait()
        assert page["replace_original"] is True


def test_conflicts_are_in_time_order(world: SlackWorld) -> None:
    report = world.user("alice").slash("/maintenance check Saturday 2-4am").wait()
    stamps = [
        int(m.group(1))
        for b in conflict_blocks(report)
        if (m := re.search(r"<!date\^(\d+)\^", b["text"]["text"]))
    ]
    assert stamps == sorted(stamps)


def test_a_failing_scheduler_shows_its_error_and_the_others_still_report(
    tmp_path: Path, clock: ManualClock
) -> None:
    vendors = available_vendors()
    broken = vendors[-1]

    def break_one(sims: list) -> None:
        for sim in sims:
            if sim.vendor == broken:
                sim.faults.html_error(status=503, times=10_000)

    with SlackWorld(tmp_path, clock, tune=break_one) as world:
        report = world.user("alice").slash("/maintenance check Saturday 2-4am").wait()
        text = blocks_text(report)
        assert re.search(rf":x: \*[^*]+\* \(`{broken}`\): .+", text)
        assert "did not answer" in text
        others = [v for v in vendors if v != broken]
        assert any(f"(`{v}`): answered" in text for v in others)
        assert conflict_blocks(report), "the other systems' conflicts are listed"
        (row,) = [r for r in world.audit() if r.action == "check"]
        assert row.outcome == "partial"
        assert world.fake.violations == []


def test_vendor_names_cannot_break_or_ping(tmp_path: Path, clock: ManualClock) -> None:
    hostile = "<!channel> & co"
    huge = "x" * 5000

    def rename(sims: list) -> None:
        # Sandbox data, not our code: give two of Talend's busiest tasks awkward names.
        talend = next(s for s in sims if s.vendor == "talend")
        for old, new in (("kafka_offsets_checkpoint", hostile), ("iot_sensor_ingest", huge)):
            state = talend._items[talend.id_of(old)]
            state.exe = dataclasses.replace(state.exe, name=new)

    with SlackWorld(tmp_path, clock, tune=rename, vendors=["talend"]) as world:
        report = world.user("alice").slash("/maintenance check Saturday 2-4am").wait()
        raw = json.dumps(report, ensure_ascii=False)
        assert "<!channel>" not in raw
        assert "&lt;!channel&gt; &amp; co" in raw
        rows = [b["text"]["text"] for b in conflict_blocks(report)]
        (long_row,) = [r for r in rows if "xxxxxxxx" in r]
        assert len(long_row) <= 3000
        assert "…" in long_row
        for block in report["blocks"]:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= 3000
        assert world.fake.violations == []


def test_a_window_that_does_not_parse_is_explained(world: SlackWorld) -> None:
    reply = world.user("alice").slash("/maintenance check every 0 days 2-4am")
    assert reply.status == 200
    answer = reply.wait()
    assert answer["replace_original"] is True
    assert ":warning:" in answer["text"]
    assert not [r for r in world.audit() if r.action == "check"]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("/maintenance", None),
        ("/maintenance help", None),
        ("/maintenance frobnicate", "I don't know `frobnicate`."),
        ("/maintenance check", "`check` needs a window"),
    ],
)
def test_help_for_empty_unknown_or_incomplete_subcommands(
    world: SlackWorld, text: str, error: str | None
) -> None:
    reply = world.user("alice").slash(text)
    assert reply.status == 200
    body = reply.json()
    shown = blocks_text(body)
    assert "/maintenance check Saturday 2-4am" in shown
    assert "cancel &lt;window id&gt;" in shown
    if error:
        assert error in shown


def test_audit_subcommand_rejects_a_bad_count(world: SlackWorld) -> None:
    body = world.user("alice").slash("/maintenance audit lots").json()
    assert "`audit` takes a number of rows from 1 to 200" in blocks_text(body)


def test_an_unexpected_failure_gets_a_generic_message_with_a_reference(
    world: SlackWorld,
) -> None:
    # A stored report the bot cannot read (say, written by a broken build): a bug, so the
    # user gets a reference to quote, not a traceback.
    check_id = world.store.save_check({"v": 2, "report": {}}, user_id=ALICE)
    value = json.dumps({"c": check_id, "p": 1})
    answer = world.user("alice").click_value("report_page_next", value).wait()
    assert re.search(r"reference [0-9a-f]{8}", answer["text"])
    assert "KeyError" not in json.dumps(answer)


def test_the_same_window_checked_at_once_asks_the_schedulers_once(
    tmp_path: Path, clock: ManualClock
) -> None:
    with SlackWorld(tmp_path, clock, vendors=["talend"], latency_ms=50) as world:
        alice, bob = world.user("alice"), world.user("bob")
        bob.slash("/maintenance check Sunday 2-4am").wait()  # logins, users.info cached
        alice.slash("/maintenance check Sunday 3-5am").wait()
        talend = world.sandbox.by_vendor("talend")

        def searches() -> int:
            return len(talend.requests_to("/events/search"))

        alice.slash("/maintenance check Saturday 10am-noon UTC").wait()
        # A repeat of a window already read costs its first page only (cache_seconds):
        # that is the cost of one check here, and two at once must cost no more.
        before = searches()
        alice.slash("/maintenance check Saturday 10am-noon UTC").wait()
        one = searches() - before
        assert one >= 1
        before = searches()
        first, second = together(
            lambda: alice.slash("/maintenance check Saturday 10am-noon UTC"),
            lambda: bob.slash("/maintenance check Saturday 10:00-12:00 UTC"),
        )
        mine, theirs = first.wait(), second.wait()
        assert searches() - before == one
        # Each person still gets their own report, echoing their own words.
        assert "“Saturday 10am-noon UTC”" in blocks_text(mine)
        assert "“Saturday 10:00-12:00 UTC”" in blocks_text(theirs)
        assert len([r for r in world.audit() if r.action == "check"]) == 6
        assert world.fake.violations == []


def test_a_failed_users_info_falls_back_to_maintbot_tz(world: SlackWorld) -> None:
    world.fake.fail("users.info", "user_not_found")
    report = world.user("alice").slash("/maintenance check Saturday 2-4am").wait()
    assert f"<!date^{BERLIN_START}^" in blocks_text(report)
    # Not cached: the next command asks Slack again and gets alice's own zone.
    again = world.user("alice").slash("/maintenance check Saturday 2-4am").wait()
    assert f"<!date^{LA_START}^" in blocks_text(again)


def test_show_them_with_a_forged_value_expands_only_what_the_report_has(
    world: SlackWorld,
) -> None:
    alice = world.user("alice")
    first = alice.slash("/maintenance check Saturday 2-4am").wait()
    (row, *_) = conflict_blocks(first)
    check_id = json.loads(row["accessory"]["value"])["c"]
    forged = json.dumps({"c": check_id, "p": "x", "x": ["nowhere", 7, "<!channel>"]})
    page = alice.click_value("report_show_unknown", forged).wait()
    # Nothing expanded, page 1: the same first page as the check gave.
    assert [b.get("block_id") for b in page["blocks"]] == [
        b.get("block_id") for b in first["blocks"]
    ]
    assert world.fake.violations == []


def test_predicted_times_are_marked_as_predicted_and_vendor_times_are_not(
    world: SlackWorld,
) -> None:
    report = world.user("alice").slash("/maintenance check Saturday 2-4am").wait()
    text = blocks_text(report)
    # Pyramid gives no run times: its hourly schedules' runs are predicted from history,
    # and the system's line says how many of its rows are predictions.
    assert re.search(r"\(`pyramid`\): answered; \d+ to act on \(\d+ at times predicted", text)
    _, pages = _pages(world.user("alice"), report)
    rows = [blocks_text({"blocks": [b]}) for page in pages for b in conflict_blocks(page)]
    predicted = [r for r in rows if "(predicted)" in r]
    assert predicted
    for row in predicted:
        assert "likely starts in window" in row or "may overlap · likely starts" in row
        assert "predicted from run history" in row
        assert re.search(r"likely \d\d:\d\d \((hourly|every [^,]+|daily), from \d+ runs\)", row)
    # Talend gives its run times: never marked as predictions.
    talend = [r for r in rows if "`talend`" in r]
    assert talend
    assert not any("predicted" in r or "likely" in r for r in talend)
