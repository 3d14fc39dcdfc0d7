"""The readable audit trail (issue 10 item 8): task names beside ids, one line per vendor
call, filters by window, person, system and time, times in the reader's zone; the same
from the application, the command line and Slack, and a clear answer to every bad filter."""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from slackclient import ALICE, SlackWorld, blocks_text

from bot.cli import main
from bot.clock import ManualClock
from bot.config import Settings
from bot.errors import FilterError
from bot.model import TaskKind, TaskRef, Window
from bot.service import Maintbot
from bot.store import Store

REF = TaskRef(system="talend", kind=TaskKind.TASK, id="58192a7e-0c1d")
NAME = "dwh_full_reload_emea"


def history(store: Store, clock: ManualClock) -> str:
    """A window that paused one task (attempt, then ok), a pause now by bob, a call that
    never answered, and alice's plan; the window's id."""
    start = clock() + timedelta(hours=1)
    window = Window(start=start, end=start + timedelta(hours=2), tz="UTC", text="in 1 hour")
    record = store.create_window(window, requested_by=ALICE, tasks=[(REF, NAME)])
    store.audit(ALICE, "plan", "ok", window_id=record.id)
    clock.advance(timedelta(hours=1))
    common = {"system": "talend", "task_id": REF.id, "window_id": record.id}
    store.audit("clock", "pause", "attempt", **common, detail={"attempt": 1})
    clock.advance(timedelta(seconds=2))
    store.audit("clock", "pause", "ok", **common, detail={"changed": True})
    clock.advance(timedelta(minutes=5))
    store.audit(
        "bob",
        "pause_now",
        "attempt",
        system="pyramid",
        task_id="s-9",
        detail={"name": "Board pack"},
    )
    store.audit(
        "bob",
        "pause_now",
        "failed",
        system="pyramid",
        task_id="s-9",
        error="HTTP 503",
        detail={"name": "Board pack"},
    )
    clock.advance(timedelta(minutes=5))
    store.audit("clock", "resume", "attempt", **common)  # the bot stopped mid-call
    return record.id


@pytest.fixture
def bot(store: Store, clock: ManualClock) -> Maintbot:
    return Maintbot(Settings(), store, [], clock)


def test_each_call_is_one_line_with_the_task_name(bot: Maintbot, store: Store, clock) -> None:
    window_id = history(store, clock)
    trail = bot.audit(20)
    lines = [(e.row.action, e.row.outcome, e.task_name, e.unanswered) for e in trail.entries]
    assert lines == [
        ("resume", "attempt", NAME, True),
        ("pause_now", "failed", "Board pack", False),
        ("pause", "ok", NAME, False),
        ("plan", "ok", None, False),
    ]
    (pause,) = [e for e in trail.entries if e.row.action == "pause"]
    assert pause.attempt is not None
    assert pause.attempt.outcome == "attempt"
    # The store keeps every row: iterating the trail gives all six.
    assert [r.outcome for r in trail].count("attempt") == 3
    assert len(trail) == 6
    assert {r.window_id for r in bot.audit(20, window=window_id)} == {window_id}


def test_filters_by_window_person_system_and_time(bot: Maintbot, store: Store, clock) -> None:
    window_id = history(store, clock)
    assert [e.row.action for e in bot.audit(window=window_id).entries] == [
        "resume",
        "pause",
        "plan",
    ]
    assert [e.row.action for e in bot.audit(by="bob").entries] == ["pause_now"]
    assert [e.row.actor for e in bot.audit(system="pyramid").entries] == ["bob"]
    # "since 4m": the last four minutes of the clock, read as a length ago.
    assert [e.row.action for e in bot.audit(since="4m").entries] == ["resume"]
    start = (clock() - timedelta(minutes=10, seconds=2)).isoformat()
    until = (clock() - timedelta(minutes=5)).isoformat()
    assert [e.row.action for e in bot.audit(since=start, until=until).entries] == ["pause"]
    # A time without an offset is read in the reader's zone.
    local = (clock() - timedelta(minutes=4)).astimezone(UTC).replace(tzinfo=None)
    tokyo = (local + timedelta(hours=9)).isoformat()
    assert [e.row.action for e in bot.audit(since=tokyo, tz="Asia/Tokyo").entries] == ["resume"]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"window": "w_nope"}, "There is no maintenance window w_nope; `maintbot windows`"),
        ({"by": "mallory"}, "Nobody called mallory appears in the audit trail"),
        ({"system": "sap"}, "There is no system called sap (configured: none are configured)"),
        ({"since": "last tuesday-ish"}, "since “last tuesday-ish” is not a time I can read"),
        ({"until": "2026-13-45"}, "until “2026-13-45” is not a time I can read"),
        ({"since": "1h", "until": "2h"}, "is not before until"),
    ],
)
def test_a_filter_naming_nothing_is_refused_clearly(
    bot: Maintbot, store: Store, clock, filters: dict[str, str], message: str
) -> None:
    history(store, clock)
    before = len(store.audit_rows(100))
    with pytest.raises(FilterError) as caught:
        bot.audit(**filters)
    assert message in str(caught.value)
    assert len(store.audit_rows(100)) == before  # reading writes nothing


def test_an_empty_result_says_which_filters_matched_nothing(
    bot: Maintbot, store: Store, clock
) -> None:
    window_id = history(store, clock)
    trail = bot.audit(window=window_id, by="bob")
    assert not trail.entries
    assert trail.empty_text() == f"No audit rows match window {window_id}, by bob."
    empty = Maintbot(
        Settings(), Store(Path(store.path).with_name("empty.db"), clock=clock), [], clock
    )
    assert empty.audit().empty_text() == "The audit log is empty."
    empty.store.close()


# -- the command line ----------------------------------------------------------------------
@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: ManualClock) -> str:
    monkeypatch.chdir(tmp_path)
    for var in ("MAINTBOT_CONFIG", "MAINTBOT_TZ", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MAINTBOT_DB", str(tmp_path / "cli.db"))
    db = Store(tmp_path / "cli.db", clock=clock)
    window_id = history(db, clock)
    db.close()
    return window_id


def test_cli_audit_reads_as_people_do(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--window", cli_db, "--tz", "Europe/Paris"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "when",
        "who",
        "action",
        "target",
        "outcome",
        "error",
        "or",
        "reason",
    ]
    assert len(lines) == 2 + 3  # one line per call: the attempt and its outcome are one
    pause = next(line for line in lines if " pause " in line)
    assert f"{NAME} (talend:{REF.id}) in window {cli_db}" in pause
    assert " CET " in pause  # in the reader's zone, not UTC
    assert "no answer recorded (in flight, or the bot stopped)" in lines[2]
    assert main(["audit", "--by", "bob", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    # JSON keeps the store's rows, attempts included, each with its task's name.
    assert [(r["outcome"], r["task_name"]) for r in rows] == [
        ("failed", "Board pack"),
        ("attempt", "Board pack"),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--window", "w_nope"], "There is no maintenance window w_nope"),
        (["--by", "mallory"], "Nobody called mallory appears in the audit trail"),
        (["--system", "sap"], "There is no system called sap"),
        (["--since", "soonish"], "since “soonish” is not a time I can read; give an ISO time"),
        (["--tz", "Mars/Olympus", "--since", "2026-11-18T09:00"], "--tz Mars/Olympus"),
    ],
)
def test_cli_audit_bad_filters_exit_2_with_what_to_type(
    cli_db: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["audit", *args]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err


def test_cli_audit_with_nothing_matching_says_so(
    cli_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "--by", "bob", "--since", "1m"]) == 0
    assert capsys.readouterr().out.strip().startswith("No audit rows match by bob, since ")


# -- Slack ---------------------------------------------------------------------------------
def test_slack_audit_filters_and_shows_names_and_date_tokens(world: SlackWorld, clock) -> None:
    window_id = history(world.store, clock)
    alice = world.user("alice")
    body = alice.slash(f"/maintenance audit window {window_id} by <@{ALICE}|alice>").json()
    text = blocks_text(body)
    assert f"Audit trail, window {window_id}, by {ALICE}, newest first (1 line(s)" in text
    assert f"<@{ALICE}> plan window `{window_id}` → *ok*" in text
    body = alice.slash("/maintenance audit 5 system talend").json()
    text = blocks_text(body)
    assert f"*{NAME}* (`talend:{REF.id}`) in window `{window_id}` → *ok*" in text
    assert "^{date_short} {time_secs}|" in text  # each reader's own zone
    assert "_no answer recorded (in flight, or the bot stopped)_" in text


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("audit window w_nope", "There is no maintenance window w_nope"),
        ("audit system sap", "There is no system called sap (configured: talend)"),
        ("audit by <@U0NOBODY1|nobody>", "Nobody called"),
        ("audit since whenever", "since “whenever” is not a time I can read"),
        ("audit window", "`audit`: `window` needs one value"),
        ("audit lots system talend", "`audit` takes a number of rows from 1 to 200"),
    ],
)
def test_slack_audit_bad_filters_say_what_to_type(
    world: SlackWorld, clock, command: str, message: str
) -> None:
    history(world.store, clock)
    reply = world.user("alice").slash(f"/maintenance {command}")
    assert reply.status == 200
    text = blocks_text(reply.json()) if reply.json() else ""
    if message not in text:
        text += blocks_text(reply.wait())
    assert message in text
