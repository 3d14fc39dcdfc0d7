"""The calendar feed, read back by an independent reader: icalendar parses it and
recurring-ical-events expands it (RRULE, EXDATE, VTIMEZONE), and what they find is held
against the store, or against occurrences computed here with zoneinfo alone. Then the same
feed from `maintbot calendar`, from `maintbot serve` at its secret address, and from
`/maintenance calendar` in Slack."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest
import recurring_ical_events
from fakeslack import FakeSlack
from hypothesis import example, given, settings
from hypothesis import strategies as st
from slackclient import ALICE, SlackWorld, blocks_text, sign
from test_slack_serve import Served, serve_env

from bot.calendar import (
    FEED_HISTORY,
    SeriesEvent,
    build_feed,
    series_uid,
    window_in_feed,
    window_uid,
)
from bot.clock import ManualClock
from bot.config import Settings
from bot.model import TaskKind, TaskRef, Window, WindowRecord, WindowState
from bot.service import Maintbot
from bot.service.calendar import TOKEN_KEY
from bot.store import Store

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)
HOSTILE_TITLE = 'Patch, DB; "prod"\nsecond line: Ünïcödé 土曜日 \\ back\\slash ' + "long " * 30
TASKS = [
    (TaskRef(system="talend-prod", kind=TaskKind.TASK, id="t-1"), "Nightly ETL, finance; EU"),
    (TaskRef(system="pyramid", kind=TaskKind.SCHEDULE, id="s-9"), "Sales dashboard"),
]


def read(feed: bytes) -> icalendar.Calendar:
    calendar = icalendar.Calendar.from_ical(feed)
    assert isinstance(calendar, icalendar.Calendar)
    return calendar


def occurrences(feed: bytes, start: datetime, end: datetime) -> list[Any]:
    events = recurring_ical_events.of(read(feed)).between(start, end)
    return sorted(events, key=lambda e: (e["DTSTART"].dt, str(e["UID"])))


def plan(
    store: Store,
    clock: ManualClock,
    start: datetime,
    *,
    text: str = "Saturday 2-4am",
    title: str | None = None,
    hours: float = 2,
) -> WindowRecord:
    window = Window(start=start, end=start + timedelta(hours=hours), tz="Europe/Berlin", text=text)
    return store.create_window(window, requested_by="alice", tasks=TASKS, title=title)


def move(store: Store, record: WindowRecord, *states: WindowState, **fields: Any) -> WindowRecord:
    current = record.state
    for state in states:
        assert store.transition_window(record.id, current, state, **fields)
        current = state
    return store.get_window(record.id)


# -- one-off windows from the store ----------------------------------------------------------
def test_the_feed_holds_open_and_recently_closed_windows_as_the_store_has_them(
    store: Store, clock: ManualClock
) -> None:
    clock.set(NOW - FEED_HISTORY - timedelta(days=10))
    old_cancelled = move(store, plan(store, clock, NOW + timedelta(days=3)), WindowState.CANCELLED)
    old_done = plan(store, clock, clock() + timedelta(hours=1))
    old_done = move(
        store, old_done, WindowState.APPROVED, WindowState.ACTIVE, WindowState.COMPLETED,
        finished_at=clock(),
    )  # fmt: skip
    clock.set(NOW - timedelta(days=5))
    cancelled = move(store, plan(store, clock, NOW + timedelta(days=4)), WindowState.CANCELLED)
    done = plan(store, clock, clock() + timedelta(hours=1), text="tomorrow 1-2am")
    done = move(
        store, done, WindowState.APPROVED, WindowState.ACTIVE,
        WindowState.COMPLETED_WITH_EXCEPTIONS, finished_at=clock(),
    )  # fmt: skip
    clock.set(NOW)
    planned = plan(store, clock, NOW + timedelta(days=2), title=HOSTILE_TITLE)
    approved = move(store, plan(store, clock, NOW + timedelta(days=9)), WindowState.APPROVED)

    bot = Maintbot(Settings(_env_file=None), store, [], clock)  # type: ignore[call-arg]
    feed = bot.calendar()

    calendar = read(feed)
    assert str(calendar["VERSION"]) == "2.0"
    assert "maintbot" in str(calendar["PRODID"])
    assert str(calendar["X-WR-CALNAME"]) == "Maintenance windows"
    found = occurrences(feed, NOW - timedelta(days=90), NOW + timedelta(days=90))
    by_uid = {str(e["UID"]): e for e in found}
    expected = {planned: "TENTATIVE", approved: "CONFIRMED", cancelled: "CANCELLED"}
    expected[done] = "CONFIRMED"
    assert set(by_uid) == {window_uid(r.id) for r in expected}
    assert window_uid(old_cancelled.id) not in by_uid
    assert window_uid(old_done.id) not in by_uid
    for record, status in expected.items():
        record = store.get_window(record.id)
        event = by_uid[window_uid(record.id)]
        assert event["DTSTART"].dt == record.start
        assert event["DTEND"].dt == record.end
        assert str(event["STATUS"]) == status
        assert int(event["SEQUENCE"]) == record.version
        assert event["DTSTAMP"].dt == record.updated_at
        assert event["LAST-MODIFIED"].dt == record.updated_at
        assert str(event["SUMMARY"]) == f"Maintenance: {record.title or record.text}"
        description = str(event["DESCRIPTION"])
        assert f"State: {record.state.label}" in description
        for row in store.window_tasks(record.id):
            assert f"- {row.system}: {row.task_name} (id {row.task_id})" in description
    # The title came back exactly, commas, semicolons, the newline and all.
    assert str(by_uid[window_uid(planned.id)]["SUMMARY"]) == f"Maintenance: {HOSTILE_TITLE}"
    # The same store gives the same bytes: a client polling it sees no change.
    assert bot.calendar() == feed


def test_a_window_stays_in_the_feed_for_the_history_after_it_closed_and_no_longer() -> None:
    closed_at = NOW - FEED_HISTORY

    def record(state: WindowState, finished: datetime | None, updated: datetime) -> WindowRecord:
        return WindowRecord(
            id="w_1", text="Saturday 2-4am", tz="UTC", start=NOW - timedelta(days=40),
            end=NOW - timedelta(days=40, hours=-2), state=state, requested_by="alice",
            approved_by=None, created_at=NOW - timedelta(days=50), updated_at=updated,
            drain_lead_seconds=0, channel=None, thread_ts=None, version=3,
            finished_at=finished,
        )  # fmt: skip

    long_ago = NOW - timedelta(days=365)
    assert window_in_feed(record(WindowState.COMPLETED, closed_at, long_ago), NOW)
    late = closed_at - timedelta(seconds=1)
    assert not window_in_feed(record(WindowState.COMPLETED, late, late), NOW)
    # A window cancelled before it started has no finish: its last change is when.
    assert window_in_feed(record(WindowState.CANCELLED, None, closed_at), NOW)
    assert not window_in_feed(record(WindowState.CANCELLED, None, late), NOW)
    # Open ones are always in, however old their last change.
    assert window_in_feed(record(WindowState.APPROVED, None, long_ago), NOW)


@settings(max_examples=60, deadline=None)
@given(
    title=st.text(
        st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\n,;:\\\"'"),
        min_size=1,
        max_size=300,
    )
)
@example(title="\\N and \\n, typed")  # icalendar alone made the \\N a line break
def test_any_title_survives_the_round_trip(title: str) -> None:
    record = WindowRecord(
        id="w_1", text="Saturday 2-4am", tz="UTC", start=NOW, end=NOW + timedelta(hours=2),
        state=WindowState.PLANNED, requested_by="alice", approved_by=None, created_at=NOW,
        updated_at=NOW, drain_lead_seconds=0, channel=None, thread_ts=None, version=1,
        title=title, reason=title,
    )  # fmt: skip
    feed = build_feed([(record, [])], now=NOW)
    # RFC 5545 3.1: lines of at most 75 octets, CRLF; the library folds them.
    assert all(len(line) <= 75 for line in feed.split(b"\r\n"))
    (event,) = read(feed).walk("VEVENT")
    assert str(event["SUMMARY"]) == f"Maintenance: {title}"
    assert f"Reason: {title}" in str(event["DESCRIPTION"])


# -- series ----------------------------------------------------------------------------------
def saturday_series(**changes: Any) -> SeriesEvent:
    fields: dict[str, Any] = {
        "id": "s_patch",
        "title": "Patch night; Berlin",
        "text": "every Saturday 2-4am",
        "tz": "Europe/Berlin",
        "dtstart": datetime(2026, 10, 10, 2, 0, tzinfo=BERLIN),
        "duration": timedelta(hours=2),
        "rrule": "FREQ=WEEKLY;BYDAY=SA;COUNT=6",
        "exdates": (datetime(2026, 10, 31, 2, 0, tzinfo=BERLIN),),
        "state": "approved",
        "tasks": [("talend-prod", "t-1", "Nightly ETL")],
        "version": 4,
        "updated_at": datetime(2026, 10, 1, 9, 0, tzinfo=UTC),
    }
    fields.update(changes)
    return SeriesEvent(**fields)


def test_a_weekly_series_expands_to_wall_clock_0200_either_side_of_the_dst_change() -> None:
    series = saturday_series()
    feed = build_feed([], [series], now=datetime(2026, 10, 1, tzinfo=UTC))

    # Independently: six Saturdays from 10 Oct, each 02:00-04:00 on its own date in Berlin
    # (summer time until 25 Oct, winter time after), less the skipped 31 Oct.
    dates = [date(2026, 10, 10) + timedelta(weeks=k) for k in range(6)]
    expected = [
        (datetime(d.year, d.month, d.day, 2, tzinfo=BERLIN),
         datetime(d.year, d.month, d.day, 4, tzinfo=BERLIN))
        for d in dates if d != date(2026, 10, 31)
    ]  # fmt: skip
    assert [s.utcoffset() for s, _ in expected[:3]] == [timedelta(hours=2)] * 3
    assert [s.utcoffset() for s, _ in expected[3:]] == [timedelta(hours=1)] * 2

    found = occurrences(feed, datetime(2026, 9, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC))
    assert [(e["DTSTART"].dt, e["DTEND"].dt) for e in found] == expected  # instants
    assert [e["DTSTART"].dt.astimezone(BERLIN).hour for e in found] == [2] * 5
    assert {str(e["UID"]) for e in found} == {series_uid("s_patch")}
    event = found[0]
    assert str(event["STATUS"]) == "CONFIRMED"
    assert int(event["SEQUENCE"]) == 4
    assert str(event["SUMMARY"]) == "Maintenance: Patch night; Berlin"
    assert "- talend-prod: Nightly ETL (id t-1)" in str(event["DESCRIPTION"])
    assert "State: approved" in str(event["DESCRIPTION"])


def test_the_series_vtimezone_alone_gives_the_same_occurrences() -> None:
    """Outlook reads the VTIMEZONE, not the zone name: the one in the feed must be right."""
    feed = build_feed([], [saturday_series()], now=datetime(2026, 10, 1, tzinfo=UTC))
    calendar = read(feed)
    (zone,) = calendar.timezones
    assert zone.tz_name == "Europe/Berlin"
    from_vtimezone = zone.to_tz(lookup_tzid=False)
    (event,) = calendar.walk("VEVENT")
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert dict(event["RRULE"]) == {"FREQ": ["WEEKLY"], "BYDAY": ["SA"], "COUNT": [6]}
    for day in (date(2026, 10, 17), date(2026, 11, 7), date(2028, 7, 1), date(2031, 1, 4)):
        wall = datetime(day.year, day.month, day.day, 2)
        assert wall.replace(tzinfo=from_vtimezone).utcoffset() == BERLIN.utcoffset(wall)


def test_an_open_ended_series_keeps_expanding_and_a_cancelled_one_says_so() -> None:
    open_ended = saturday_series(rrule="FREQ=WEEKLY;BYDAY=SA", exdates=())
    cancelled = saturday_series(id="s_gone", state="cancelled", rrule="FREQ=DAILY;COUNT=2")
    feed = build_feed([], [open_ended, cancelled], now=datetime(2026, 10, 1, tzinfo=UTC))
    spring = occurrences(feed, datetime(2027, 3, 20, tzinfo=UTC), datetime(2027, 4, 4, tzinfo=UTC))
    weekly = [e for e in spring if str(e["UID"]) == series_uid("s_patch")]
    # 27 Mar 2027 is the Saturday before summer time; 3 Apr after it: 02:00 on both.
    assert [e["DTSTART"].dt for e in weekly] == [
        datetime(2027, 3, 20, 2, tzinfo=BERLIN),
        datetime(2027, 3, 27, 2, tzinfo=BERLIN),
        datetime(2027, 4, 3, 2, tzinfo=BERLIN),
    ]
    gone = [
        e
        for e in occurrences(
            feed, datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 20, tzinfo=UTC)
        )
        if str(e["UID"]) == series_uid("s_gone")
    ]
    assert [str(e["STATUS"]) for e in gone] == ["CANCELLED", "CANCELLED"]
    # Cancelled long enough ago, it is gone from the feed.
    later = build_feed([], [cancelled], now=cancelled.updated_at + FEED_HISTORY + timedelta(days=1))
    assert read(later).walk("VEVENT") == []


def test_a_series_in_a_fixed_offset_keeps_its_wall_clock_too() -> None:
    india = saturday_series(
        tz="+05:30",
        dtstart=datetime(2026, 10, 10, 2, 0, tzinfo=ZoneInfo("Asia/Kolkata")),
        rrule="FREQ=WEEKLY;BYDAY=SA;COUNT=3",
        exdates=(),
    )
    feed = build_feed([], [india], now=datetime(2026, 10, 1, tzinfo=UTC))
    found = occurrences(feed, datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
    kolkata = ZoneInfo("Asia/Kolkata")
    assert [e["DTSTART"].dt for e in found] == [
        datetime(2026, 10, d, 2, tzinfo=kolkata) for d in (10, 17, 24)
    ]


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"dtstart": datetime(2026, 10, 10, 2)}, "dtstart must be timezone-aware"),
        ({"exdates": (datetime(2026, 10, 31, 2),)}, "exdates must be timezone-aware"),
        ({"tz": "Mars/Olympus"}, "unknown zone 'Mars/Olympus'"),
        ({"duration": timedelta(0)}, "duration must be positive"),
        ({"state": "paused"}, "state 'paused' is not one of"),
        ({"rrule": "RRULE:FREQ=WEEKLY"}, "without its prefix, e.g. FREQ=WEEKLY;BYDAY=SA"),
        ({"rrule": "BYDAY=SA"}, "without its prefix, e.g. FREQ=WEEKLY;BYDAY=SA"),
        ({"rrule": "FREQ=WEEKLY;BYDAY=XX"}, "is not an RRULE"),
    ],
)
def test_a_series_the_feed_cannot_show_is_refused_where_it_is_made(
    changes: dict[str, Any], says: str
) -> None:
    with pytest.raises(ValueError, match="SeriesEvent s_patch: ") as raised:
        saturday_series(**changes)
    assert says in str(raised.value)


def test_build_feed_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        build_feed([], now=datetime(2026, 10, 1))


# -- maintbot calendar -----------------------------------------------------------------------
def cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MAINTBOT_"))}
    environ.update(MAINTBOT_DB=str(tmp_path / "maintbot.db"), **env)
    return subprocess.run(
        [sys.executable, "-m", "bot", "calendar", *args],
        cwd=tmp_path, env=environ, capture_output=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.fixture
def planned_store(tmp_path: Path) -> Iterator[Store]:
    """Open windows only (and one cancelled now), so the feed is the same at any real time."""
    store = Store(tmp_path / "maintbot.db")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    window = Window(start=start, end=start + timedelta(hours=2), tz="UTC", text="in 2 days")
    store.create_window(window, requested_by="alice", tasks=TASKS, title=HOSTILE_TITLE)
    gone = store.create_window(window, requested_by="bob", tasks=TASKS[:1])
    store.transition_window(gone.id, WindowState.PLANNED, WindowState.CANCELLED)
    yield store
    store.close()


def test_the_cli_writes_the_feed_to_stdout_and_atomically_to_a_file(
    tmp_path: Path, planned_store: Store
) -> None:
    from bot.clock import system_clock

    expected = Maintbot(Settings(_env_file=None), planned_store, [], system_clock).calendar()  # type: ignore[call-arg]
    printed = cli(tmp_path)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == expected
    out = tmp_path / "feeds" / "maintenance.ics"
    out.parent.mkdir()
    out.write_bytes(b"the previous feed")
    written = cli(tmp_path, "--out", str(out))
    assert written.returncode == 0, written.stderr
    assert written.stdout == b""
    assert out.read_bytes() == expected
    assert sorted(p.name for p in out.parent.iterdir()) == ["maintenance.ics"]  # no temp left
    statuses = sorted(str(e["STATUS"]) for e in read(expected).walk("VEVENT"))
    assert statuses == ["CANCELLED", "TENTATIVE"]


@pytest.mark.parametrize(
    ("out", "says"),
    [
        ("{tmp}/absent/feed.ics", "the directory {tmp}/absent does not exist"),
        ("{tmp}", "is a directory, not a file"),
        ("", "--out needs a file name"),
        # /proc takes no new files, even from root: the write itself fails.
        ("/proc/maintenance.ics", "cannot write --out /proc/maintenance.ics"),
    ],
)
def test_the_cli_refuses_an_out_it_cannot_write_and_leaves_nothing(
    tmp_path: Path, planned_store: Store, out: str, says: str
) -> None:
    before = sorted(p.name for p in tmp_path.iterdir())
    done = cli(tmp_path, "--out", out.format(tmp=tmp_path))
    assert done.returncode == 2
    stderr = done.stderr.decode()
    assert says.format(tmp=tmp_path) in stderr
    assert "e.g. --out maintenance.ics" in stderr
    assert "Traceback" not in stderr
    assert done.stdout == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_the_url_needs_the_public_address_and_rotation_replaces_it(
    tmp_path: Path, planned_store: Store
) -> None:
    unset = cli(tmp_path, "--url")
    assert unset.returncode == 2
    assert b"MAINTBOT_PUBLIC_URL is not set" in unset.stderr
    assert b"MAINTBOT_PUBLIC_URL=https://maintbot.example.com" in unset.stderr
    assert planned_store.get_kv(TOKEN_KEY) is None  # asking made no secret

    bad = cli(tmp_path, "--url", MAINTBOT_PUBLIC_URL="maintbot.example.com")
    assert bad.returncode == 2
    assert b"MAINTBOT_PUBLIC_URL (must be an http:// or https:// address" in bad.stderr

    base = "https://maintbot.example.com/"
    first = cli(tmp_path, "--url", MAINTBOT_PUBLIC_URL=base).stdout.decode().strip()
    assert first.startswith("https://maintbot.example.com/calendar/")
    assert first.endswith(".ics")
    token = first.removeprefix("https://maintbot.example.com/calendar/").removesuffix(".ics")
    assert len(token) >= 43  # 32 random bytes
    assert cli(tmp_path, "--url", MAINTBOT_PUBLIC_URL=base).stdout.decode().strip() == first

    rotated = cli(tmp_path, "--rotate-url", "--by", "carol", MAINTBOT_PUBLIC_URL=base)
    assert rotated.returncode == 0
    new = rotated.stdout.decode().splitlines()[-1]
    assert new != first
    assert new.startswith("https://maintbot.example.com/calendar/")
    assert cli(tmp_path, "--url", MAINTBOT_PUBLIC_URL=base).stdout.decode().strip() == new
    (row,) = [r for r in planned_store.audit_rows() if r.action == "calendar_rotate"]
    assert row.actor == "carol"
    assert token not in repr(row)
    assert new.split("/")[-1] not in repr(row)


# -- served: Slack world (in-process) and `maintbot serve` (a real process) -----------------
@pytest.mark.slack_world(public_url="https://maintbot.example.com")
def test_slack_gives_the_address_ephemerally_and_the_bot_serves_it(world: SlackWorld) -> None:
    alice = world.user("alice")
    plan(world.store, world.clock, world.clock() + timedelta(days=1), title="Finance DB")
    answer = alice.slash("/maintenance calendar").json()
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    text = blocks_text(answer)
    url = next(w.strip("<>") for w in text.split() if "/calendar/" in w)
    assert url.startswith("https://maintbot.example.com/calendar/")
    path = url.removeprefix("https://maintbot.example.com")

    served = world.http.get(path)
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert 'filename="maintenance.ics"' in served.headers["Content-Disposition"]
    assert world.bot.bot is not None
    assert served.content == world.bot.bot.calendar()
    (event,) = read(served.content).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Maintenance: Finance DB"
    again = world.http.get(path, headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.slack_world(public_url=None)
def test_slack_says_who_must_set_the_address_when_there_is_none(world: SlackWorld) -> None:
    text = blocks_text(world.user("alice").slash("/maintenance calendar").json())
    assert "no address yet" in text
    assert "MAINTBOT_PUBLIC_URL" in text
    assert world.store.get_kv(TOKEN_KEY) is None


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        yield f


def test_serve_answers_the_right_token_only_and_never_logs_it(
    tmp_path: Path, fake: FakeSlack, planned_store: Store
) -> None:
    base = "https://maintbot.example.com"
    env = serve_env(tmp_path, fake, MAINTBOT_LOG_LEVEL="DEBUG", MAINTBOT_PUBLIC_URL=base)
    env["MAINTBOT_DB"] = str(tmp_path / "maintbot.db")  # the store the CLI and the test use
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", "0", "--sandbox", "--no-clock"],
        cwd=tmp_path, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    served = Served(process)
    tokens: list[str] = []
    try:
        url = served.wait_for(r"serving on (http://127\.0\.0\.1:\d+)/slack/events").group(1)
        # Before any address is made, every guess is a 404 and makes none.
        guess = httpx.get(f"{url}/calendar/{'A' * 43}.ics", timeout=10)
        assert guess.status_code == 404
        assert planned_store.get_kv(TOKEN_KEY) is None

        first = cli(tmp_path, "--url", MAINTBOT_PUBLIC_URL=base).stdout.decode().strip()
        path = first.removeprefix(base)
        tokens.append(path.removeprefix("/calendar/").removesuffix(".ics"))
        ok = httpx.get(url + path, timeout=10)
        assert ok.status_code == 200
        assert ok.headers["Content-Type"] == "text/calendar; charset=utf-8"
        assert ok.content == cli(tmp_path).stdout

        counts = planned_store.table_counts()
        not_found = httpx.get(f"{url}/calendar/nope.ics", timeout=10)
        for wrong in (
            path[:-5] + "x.ics",  # one character off
            path.upper(),
            "/calendar/.ics",
            "/calendar/" + "é" * 10 + ".ics",
            path.removesuffix(".ics"),
        ):
            answer = httpx.get(url + wrong, timeout=10)
            assert answer.status_code == 404, wrong
            assert answer.content == not_found.content  # no detail to learn from
        assert planned_store.table_counts() == counts  # strangers cost no write

        rotated = cli(tmp_path, "--rotate-url", MAINTBOT_PUBLIC_URL=base)
        new_path = rotated.stdout.decode().splitlines()[-1].removeprefix(base)
        tokens.append(new_path.removeprefix("/calendar/").removesuffix(".ics"))
        assert httpx.get(url + path, timeout=10).status_code == 404
        assert httpx.get(url + new_path, timeout=10).status_code == 200

        # Slack's answer carries the address, and Bolt logs answers at DEBUG.
        form = urlencode(
            {"command": "/maintenance", "text": "calendar", "user_id": ALICE,
             "channel_id": "C0OPS0001", "response_url": fake.response_url("cal1"),
             "trigger_id": "t.cal1"}
        )  # fmt: skip
        slack = httpx.post(
            f"{url}/slack/events",
            content=form.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", **sign(form)},
            timeout=30,
        )
        assert base + new_path in slack.text

        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        served.reader.join(10)
        assert process.stderr is not None
        process.stderr.close()
    while not served.lines.empty():
        served.seen.append(served.lines.get())
    stderr = "".join(served.seen)
    assert "DEBUG" in stderr  # the log was as loud as it gets
    for token in tokens:
        assert token not in stderr
