"""The clock's alerts as readers see them: an :class:`Alert` written as Block Kit (each
instant a ``<!date>`` token, so New York, London and Tokyo each read their own zone; lists
as sections, cut with "and N more"), and as plain text for the log (the window's zone with
UTC beside it). A plain ``str`` still goes through every notifier."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import lifecycle
from bot.format import instant_with_utc
from bot.lifecycle import Alert, AlertItem, AlertList, LogNotifier, plain_text
from bot.lifecycle.alerts import not_approved_alert, resume_failed_alert
from bot.model import OPEN_WINDOW_STATES, TaskKind, TaskRef, Window, WindowRecord, WindowState
from bot.slack import messages
from bot.store import Store

START = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)  # Tue 23:00 in New York, Wed 13:00 in Tokyo
END = START + timedelta(hours=2)
SINCE = START - timedelta(minutes=14)


def token(moment: datetime) -> str:
    unix = int(moment.timestamp())
    fallback = moment.strftime("%a %d %b %Y %H:%M UTC")
    return f"<!date^{unix}^{{date_short_pretty}} {{time}}|{fallback}>"


@pytest.fixture
def window(tmp_path: Path) -> WindowRecord:
    store = Store(tmp_path / "maintbot.db")
    try:
        span = Window(start=START, end=END, tz="America/New_York", text="tue 11pm-1am")
        ref = TaskRef(system="talend", kind=TaskKind.TASK, id="t1")
        return lifecycle.plan_window(
            store, span, [(ref, "Nightly <orders> & co")], requested_by="U0ALICE01", now=SINCE
        )
    finally:
        store.close()


def started(items: int = 2) -> Alert:
    paused = tuple(AlertItem(f"job {n}", "talend") for n in range(items))
    running = (AlertItem("Nightly <orders> & co", "talend", ("since ", SINCE)),)
    lists = (
        AlertList("Paused", "paused", paused),
        AlertList("Could not pause", "could not pause", (), warn=True),
        AlertList("Running now (a pause lets runs in progress finish)", "running now", running),
    )
    return Alert(
        headline=("Maintenance window “tue 11pm-1am” (w_1) has started; it ends ", END, "."),
        lists=lists,
        notes=(("Could not ask what is running: bmc: 503.",),),
    )


def test_instants_in_plain_text_carry_utc_beside_the_windows_zone() -> None:
    assert (
        instant_with_utc(SINCE, "America/New_York") == "Tue 01 Dec 22:46 EST (Wed 02 Dec 03:46 UTC)"
    )
    assert instant_with_utc(START, "Asia/Tokyo") == "Wed 02 Dec 13:00 JST (04:00 UTC)"
    assert instant_with_utc(START, "UTC") == "Wed 02 Dec 04:00 UTC"


def test_slack_shows_every_instant_as_a_date_token_and_each_list_as_a_section(
    window: WindowRecord,
) -> None:
    payload = messages.alert(window, "start", started(), ["extend", "end_now"])
    # The notification line: the headline alone, one line, in each reader's own zone.
    assert payload["text"] == (
        f":construction: Maintenance window “tue 11pm-1am” (w_1) has started; it ends {token(END)}."
    )
    texts = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert texts == [
        payload["text"],
        "*Paused* (2)\n• *job 0* (`talend`)\n• *job 1* (`talend`)",
        # Escaped names; the run's start as a token, not "since 03:46 UTC".
        "*Running now (a pause lets runs in progress finish)* (1)\n"
        f"• *Nightly &lt;orders&gt; &amp; co* (`talend`): since {token(SINCE)}",
        "Could not ask what is running: bmc: 503.",
    ]
    # No zone written out anywhere a reader sees: the tokens' fallbacks are UTC only.
    seen = "\n".join(texts)
    assert "EST" not in seen
    assert "JST" not in seen
    (context,) = [b for b in payload["blocks"] if b["type"] == "context"]
    assert context["elements"][0]["text"] == f"Window `{window.id}` · {token(START)} → {token(END)}"
    (buttons,) = [b for b in payload["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in buttons["elements"]] == ["extend_window", "end_now"]


def test_a_long_list_is_cut_with_and_n_more(window: WindowRecord) -> None:
    payload = messages.alert(window, "start", started(items=40), [])
    (paused,) = [b for b in payload["blocks"] if "*Paused*" in b.get("text", {}).get("text", "")]
    lines = paused["text"]["text"].split("\n")
    assert lines[0] == "*Paused* (40)"
    assert lines[1:16] == [f"• *job {n}* (`talend`)" for n in range(15)]
    assert lines[16:] == ["…and 25 more"]


def test_warnings_are_marked(window: WindowRecord) -> None:
    alert = Alert(
        headline=("x",),
        lists=(AlertList("Could not pause", "could not pause", (AlertItem("a", "bmc"),), True),),
    )
    sections = [b["text"]["text"] for b in messages.alert(window, "end", alert, [])["blocks"][1:2]]
    assert sections == [":warning: *Could not pause* (1)\n• *a* (`bmc`)"]


def test_plain_text_writes_the_windows_zone_with_utc(window: WindowRecord) -> None:
    assert plain_text(started(), window.tz) == "\n".join(
        [
            "Maintenance window “tue 11pm-1am” (w_1) has started; it ends "
            "Wed 02 Dec 01:00 EST (06:00 UTC).",
            "Paused (2): job 0 (talend), job 1 (talend).",
            "Running now (a pause lets runs in progress finish) (1): Nightly <orders> & co "
            "(talend): since Tue 01 Dec 22:46 EST (Wed 02 Dec 03:46 UTC).",
            "Could not ask what is running: bmc: 503.",
        ]
    )
    assert plain_text("already plain", window.tz) == "already plain"


def test_the_headline_counts_the_lists() -> None:
    assert started().counts() == "2 paused, 1 running now"


async def test_the_log_gets_the_plain_text(
    window: WindowRecord, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bot.alerts"):
        await LogNotifier().notify(window, "not_approved", not_approved_alert(window))
    (line,) = [r.getMessage() for r in caplog.records]
    assert line == (
        f"not_approved (window {window.id}): Maintenance window Tue 1 Dec 23:00 – Wed 2 Dec "
        f"01:00 EST ({window.id}) "
        "was not approved before its start (Tue 01 Dec 23:00 EST (Wed 02 Dec 04:00 UTC)), so "
        "it was cancelled; nothing was paused."
    )


def test_a_failing_resume_says_when_it_retries_in_each_readers_zone(
    window: WindowRecord, tmp_path: Path
) -> None:
    store = Store(tmp_path / "maintbot.db")
    try:
        (row,) = store.window_tasks(window.id)
    finally:
        store.close()
    retry_at = END + timedelta(minutes=2)
    alert = resume_failed_alert(window, row, "503 from TMC", 2, retry_at)
    payload = messages.alert(window, "resume_failed", alert, ["retry_resume", "take_over"])
    assert payload["text"] == (
        f":rotating_light: Could not resume Nightly &lt;orders&gt; &amp; co (talend) after "
        f"maintenance window Tue 1 Dec 23:00 – Wed 2 Dec 01:00 EST ({window.id}) (attempt 2). "
        "It is STILL PAUSED."
    )
    notes = payload["blocks"][1]["text"]["text"]
    assert notes == (
        "The scheduler said: 503 from TMC\n"
        f"maintbot retries at {token(retry_at)}; retry now, or take it over to resume it by hand."
    )


def test_completed_with_exceptions_reads_as_words() -> None:
    assert WindowState.COMPLETED_WITH_EXCEPTIONS.value == "completed_with_exceptions"
    assert WindowState.COMPLETED_WITH_EXCEPTIONS.label == "completed with exceptions"
    assert WindowState.COMPLETED_WITH_EXCEPTIONS not in OPEN_WINDOW_STATES  # closed
