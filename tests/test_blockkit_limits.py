"""Block Kit as Slack enforces it: the fake Slack refuses (``invalid_blocks``) what Slack
refuses, over loopback, for every method the bot posts with; and every message kind the bot
builds, with data at its worst, passes that same check."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakeslack import FakeSlack, message_errors, view_errors
from slackclient import BOT_TOKEN

from bot import lifecycle
from bot.model import (
    ApprovalRecord,
    ApprovalState,
    AuditRow,
    Conflict,
    ConflictKind,
    ConflictReport,
    SystemResult,
    TaskKind,
    TaskRef,
    Window,
    WindowRecord,
)
from bot.series import Occurrence, Series, occurrences
from bot.service.audit import AuditFilters, read_trail
from bot.service.pauses import ActionResult, HeldPaused
from bot.service.reports import StoredCheck, load_check, save_check
from bot.service.series import SeriesView
from bot.service.suggest import Suggestion, store_candidates, warnings_of
from bot.slack import blocks as bk
from bot.slack import home, messages
from bot.store import Store
from bot.suggest import rank

START = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
NOW = START - timedelta(days=3)
# Names at their worst: markup, entities, long, and every script.
HOSTILE = "<!channel> & <@U0ALICE01> *bold* `code` " + "é漢字🙂" * 400


def button(action_id: str = "a", text: str = "Go", **extra: Any) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        **extra,
    }


def section(text: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def actions(*elements: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements), **extra}


def confirm(**sizes: int) -> dict[str, Any]:
    lengths = {"title": 10, "text": 10, "confirm": 5, "deny": 5, **sizes}
    return {key: {"type": "plain_text", "text": "c" * n} for key, n in lengths.items()}


def static_select(options: int = 3, text: int = 5, value: int = 5) -> dict[str, Any]:
    return {
        "type": "static_select",
        "action_id": "pick",
        "placeholder": {"type": "plain_text", "text": "Pick"},
        "options": [
            {"text": {"type": "plain_text", "text": "o" * text}, "value": f"{i}" + "v" * value}
            for i in range(options)
        ],
    }


def overflow(options: int) -> dict[str, Any]:
    return {
        "type": "overflow",
        "action_id": "more",
        "options": [
            {"text": {"type": "plain_text", "text": f"o{i}"}, "value": f"v{i}"}
            for i in range(options)
        ],
    }


# Each: blocks Slack refuses, and the same shape just inside the limit (which it accepts).
REFUSED: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {
    "duplicate action_id in one actions block": (
        [actions(button("page"), button("page"))],
        [actions(button("page_previous"), button("page_next"))],
    ),
    "duplicate block_id in one message": (
        [section(block_id="b"), section(block_id="b")],
        [section(block_id="b1"), section(block_id="b2")],
    ),
    "51 blocks": ([{"type": "divider"}] * 51, [{"type": "divider"}] * 50),
    "section text over 3000": ([section("s" * 3001)], [section("s" * 3000)]),
    "empty section text": ([section("")], [section("s")]),
    "11 fields": (
        [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
        [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 10}],
    ),
    "a field over 2000": (
        [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}],
        [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2000}]}],
    ),
    "header over 150": (
        [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
        [{"type": "header", "text": {"type": "plain_text", "text": "h" * 150}}],
    ),
    "mrkdwn header": (
        [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}],
        [{"type": "header", "text": {"type": "plain_text", "text": "h"}}],
    ),
    "button text over 75": (
        [actions(button(text="b" * 76))],
        [actions(button(text="b" * 75))],
    ),
    "mrkdwn button text": (
        [actions({**button(), "text": {"type": "mrkdwn", "text": "b"}})],
        [actions(button())],
    ),
    "action_id over 255": ([actions(button("a" * 256))], [actions(button("a" * 255))]),
    "block_id over 255": ([section(block_id="b" * 256)], [section(block_id="b" * 255)]),
    "button value over 2000": (
        [actions(button(value="v" * 2001))],
        [actions(button(value="v" * 2000))],
    ),
    "button url over 3000": (
        [actions(button(url="https://x.test/" + "u" * 2986))],
        [actions(button(url="https://x.test/" + "u" * 2985))],
    ),
    "button style": ([actions(button(style="green"))], [actions(button(style="primary"))]),
    "26 elements in an actions block": (
        [actions(*(button(f"a{i}") for i in range(26)))],
        [actions(*(button(f"a{i}") for i in range(25)))],
    ),
    "11 context elements": (
        [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}],
        [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 10}],
    ),
    "confirm title over 100": (
        [actions(button(confirm=confirm(title=101)))],
        [actions(button(confirm=confirm(title=100)))],
    ),
    "confirm text over 300": (
        [actions(button(confirm=confirm(text=301)))],
        [actions(button(confirm=confirm(text=300)))],
    ),
    "confirm button over 30": (
        [actions(button(confirm=confirm(confirm=31)))],
        [actions(button(confirm=confirm(confirm=30)))],
    ),
    "deny button over 30": (
        [actions(button(confirm=confirm(deny=31)))],
        [actions(button(confirm=confirm(deny=30)))],
    ),
    "101 select options": ([actions(static_select(101))], [actions(static_select(100))]),
    "option text over 75": (
        [actions(static_select(text=76))],
        [actions(static_select(text=75))],
    ),
    "option value over 150": (
        [actions(static_select(value=150))],
        [actions(static_select(value=149))],
    ),
    "6 overflow options": ([actions(overflow(6))], [actions(overflow(5))]),
    "unknown block type": ([{"type": "marquee"}], [{"type": "divider"}]),
}


@dataclass
class Wire:
    """The fake Slack, and one keep-alive connection to it for the whole module."""

    fake: FakeSlack
    http: httpx.Client


@pytest.fixture(scope="module")
def fake() -> Iterator[Wire]:
    with FakeSlack() as f, httpx.Client(timeout=10) as http:
        yield Wire(f, http)


def post(wire: Wire, method: str, payload: dict[str, Any]) -> dict[str, Any]:
    answer = wire.http.post(
        f"{wire.fake.api_url}{method}",
        json=payload,
        headers={"Authorization": f"Bearer {BOT_TOKEN}"},
    )
    assert answer.status_code == 200  # Slack refuses blocks with 200 and ok: false
    result: dict[str, Any] = answer.json()
    return result


def respond(wire: Wire, payload: dict[str, Any]) -> dict[str, Any] | str:
    answer = wire.http.post(wire.fake.response_url("rid"), json=payload)
    assert answer.status_code == 200
    return answer.json() if answer.text.startswith("{") else answer.text


@pytest.mark.parametrize("rule", list(REFUSED))
def test_the_fake_refuses_what_slack_refuses_and_accepts_the_limit(fake: Wire, rule: str) -> None:
    refused, accepted = REFUSED[rule]
    for method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
        params = {"channel": "C0OPS0001", "ts": "1.1", "user": "U0ALICE01", "text": rule}
        assert post(fake, method, {**params, "blocks": refused}) == {
            "ok": False,
            "error": "invalid_blocks",
        }, method
        assert post(fake, method, {**params, "blocks": accepted})["ok"] is True, method
    assert respond(fake, {"text": rule, "blocks": refused}) == {
        "ok": False,
        "error": "invalid_blocks",
    }
    assert respond(fake, {"text": rule, "blocks": accepted}) == "ok"


def test_the_fake_refuses_an_invalid_view(fake: Wire) -> None:
    home_view = {"type": "home", "blocks": [{"type": "divider"}] * 100}
    assert post(fake, "views.publish", {"user_id": "U1", "view": home_view})["ok"] is True
    too_many = {**home_view, "blocks": [{"type": "divider"}] * 101}
    assert post(fake, "views.publish", {"user_id": "U1", "view": too_many}) == {
        "ok": False,
        "error": "invalid_blocks",
    }
    title = {"type": "plain_text", "text": "t" * 25}
    modal = {"type": "modal", "title": title, "blocks": [section()]}
    fine = {**modal, "title": {"type": "plain_text", "text": "t" * 24}}
    # Refused for its blocks before its trigger is even looked at, so the trigger still works.
    trigger = fake.fake.issue_trigger("U1")
    assert post(fake, "views.open", {"trigger_id": trigger, "view": modal}) == {
        "ok": False,
        "error": "invalid_blocks",
    }
    opened = post(fake, "views.open", {"trigger_id": trigger, "view": fine})
    assert opened["ok"] is True
    view_id = opened["view"]["id"]
    assert post(fake, "views.update", {"view_id": view_id, "view": modal})["ok"] is False
    assert post(fake, "views.update", {"view_id": view_id, "view": fine})["ok"] is True
    trigger = fake.fake.issue_trigger("U1")
    assert post(fake, "views.push", {"trigger_id": trigger, "view": modal})["ok"] is False
    assert post(fake, "views.push", {"trigger_id": trigger, "view": fine})["ok"] is True


def test_the_same_action_id_in_different_blocks_is_accepted(fake: Wire) -> None:
    # Slack asks for unique action_ids within a block; the report relies on one
    # "pause_now" per row, each row its own section.
    rows = [section(f"row {i}", accessory=button("pause_now"), block_id=f"r{i}") for i in range(3)]
    assert post(fake, "chat.postMessage", {"channel": "C", "text": "t", "blocks": rows})["ok"]


# -- every message the bot builds passes ----------------------------------------------------
@pytest.fixture
def db(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "m.db", clock=lambda: NOW)
    yield store
    store.close()


def stored_report(store: Store, conflicts: int, *, failed_systems: int = 0) -> StoredCheck:
    window = Window(start=START, end=START + timedelta(hours=2), tz="Asia/Tokyo", text=HOSTILE)
    report = ConflictReport(
        window=window,
        checked_at=NOW,
        systems=(
            SystemResult(system="talend", vendor="talend", label=HOSTILE, ok=True),
            *(
                SystemResult(system=f"bmc-{i}", vendor="bmc", label="BMC", ok=False, error=HOSTILE)
                for i in range(failed_systems)
            ),
        ),
        conflicts=tuple(
            Conflict(
                system="talend",
                task_id=f"t{i}",
                task_kind=TaskKind.TASK,
                task_name=f"{i} {HOSTILE}",
                kind=list(ConflictKind)[i % len(ConflictKind)],
                at=START + timedelta(minutes=i) if i % 3 else None,
                paused=i % 4 == 0,
                detail=HOSTILE,
            )
            for i in range(conflicts)
        ),
    )
    saved = save_check(store, report, user="U0ALICE01", channel="C0OPS0001")
    return load_check(store, saved.id)


def worst_suggestion(store: Store) -> Suggestion:
    """Three slots over a day of hostile names, every run a conflict, systems failing."""
    day = Window(start=START, end=START + timedelta(days=1), tz="Asia/Tokyo", text=HOSTILE)
    report = ConflictReport(
        window=day,
        checked_at=NOW,
        systems=(
            SystemResult(system="talend", vendor="talend", label=HOSTILE, ok=True),
            *(
                SystemResult(
                    system=f"bmc-{i}", vendor="bmc", label=HOSTILE, ok=False, error=HOSTILE
                )
                for i in range(5)
            ),
        ),
        conflicts=tuple(
            Conflict(
                system="talend",
                task_id=f"t{i}",
                task_kind=TaskKind.TASK,
                task_name=f"{i} {HOSTILE}",
                kind=ConflictKind.MAY_FIRE if i % 7 == 0 else ConflictKind.STARTS_IN_WINDOW,
                at=None if i % 7 == 0 else START + timedelta(minutes=i * 3),
                paused=i % 5 == 0,
                expected_duration=timedelta(minutes=i),
            )
            for i in range(480)
        ),
    )
    ranking = rank(report, timedelta(hours=2), now=NOW)
    checks = store_candidates(store, ranking, report, by="U0ALICE01", channel="C0OPS0001")
    return Suggestion(ranking, checks, warnings_of(ranking))


def planned(store: Store, tasks: int) -> tuple[WindowRecord, ApprovalRecord]:
    window = Window(start=START, end=START + timedelta(hours=2), tz="UTC", text=HOSTILE)
    refs = [
        (TaskRef(system="talend", kind=TaskKind.TASK, id=f"t{i}"), HOSTILE) for i in range(tasks)
    ]
    record = lifecycle.plan_window(
        store, window, refs, requested_by="U0ALICE01", now=NOW, channel="C0APPROVE"
    )
    approval = lifecycle.request_approval(store, record.id, requested_by="U0ALICE01", now=NOW)
    return record, approval


def bot_messages(store: Store) -> Iterator[tuple[str, dict[str, Any]]]:
    """(what, payload) for every kind of message the bot sends, with hostile data."""
    many = stored_report(store, 137, failed_systems=60)
    pages = messages.page_count(many)
    assert pages >= 3, "first, middle and last pages are all covered"
    for page in range(pages):
        yield f"report page {page + 1} of {pages}", messages.report_page(many, page)
    yield "report without conflicts", messages.report_page(stored_report(store, 0), 0)
    yield "one-page report", messages.report_page(stored_report(store, 5), 0)

    ref = TaskRef(system="talend", kind=TaskKind.TASK, id="t1")
    for action in ("pause", "resume"):
        for outcome in ("ok", "no_change", "failed", "refused"):
            result = ActionResult(ref, action, outcome, HOSTILE, NOW, HOSTILE)  # type: ignore[arg-type]
            yield f"{action} {outcome}", messages.action_result(many.id, 3, result)

    window, approval = planned(store, 400)
    tasks = store.window_tasks(window.id)
    yield "approval request", messages.approval_request(window, approval, tasks)
    for state in ApprovalState:
        decided = approval.model_copy(
            update={"state": state, "decided_by": "U0BOB0001", "decided_at": NOW}
        )
        yield f"approval {state.value}", messages.approval_decided(window, decided, tasks)
        yield f"already {state.value}", messages.already_decided(decided)

    every_button = ["extend", "end_now", "retry_pause", "retry_resume", "take_over"]
    for kind in (
        "reminder",
        "start",
        "before_end",
        "end",
        "pause_failed",
        "resume_failed",
        "late",
        "resolved",
        "not_approved",
        "unknown",
    ):
        yield f"alert {kind}", messages.alert(window, kind, HOSTILE * 3, every_button)
        # The structured alert at its worst: hostile names, details and titles, long lists,
        # more lists than a message has blocks, and instants everywhere.
        worst = lifecycle.Alert(
            headline=(HOSTILE, START, HOSTILE * 3, START),
            lists=tuple(
                lifecycle.AlertList(
                    f"{HOSTILE} {n}",
                    HOSTILE,
                    tuple(
                        lifecycle.AlertItem(HOSTILE, HOSTILE, (HOSTILE, START, HOSTILE))
                        for _ in range(300)
                    ),
                    warn=n % 2 == 0,
                )
                for n in range(60)
            ),
            notes=tuple((HOSTILE, START) for _ in range(20)),
        )
        yield f"alert {kind} (structured)", messages.alert(window, kind, worst, every_button)

    held = HeldPaused(
        windows=tuple((t.model_copy(update={"paused_at": NOW}), window) for t in tasks),
        immediate=tuple(
            AuditRow(
                id=i,
                at=NOW,
                actor="U0ALICE01",
                action="pause_now",
                outcome="ok",
                system="talend",
                task_id=f"x{i}",
                window_id=None,
                reason=HOSTILE,
                error=None,
                detail={"name": HOSTILE},
                request_id=None,
            )
            for i in range(50)
        ),
    )
    yield "status", messages.status(held)
    yield "status, nothing held", messages.status(HeldPaused(windows=(), immediate=()))
    yield "windows list", messages.windows_list([(window, 400)] * 300)
    yield "audit trail", messages.audit_trail(read_trail(store, [], 200, AuditFilters()))
    yield "suggestion", messages.suggestions(worst_suggestion(store))
    yield "help", messages.help_message()
    yield "help after an error", messages.help_message(HOSTILE)
    yield "calendar", messages.calendar_link("https://m.example.com/calendar/" + "x" * 43 + ".ics")
    yield "calendar, no address", messages.calendar_link(None)
    yield "text", messages.text_message(HOSTILE * 5)
    # Recurring maintenance: the intro of a recurring check, a page numbered, the list.
    series = Series(
        rrule="FREQ=WEEKLY;BYDAY=SA",
        dtstart=START,
        tz="Asia/Tokyo",
        duration=timedelta(hours=2),
        occurrence_text="2-4am",
        title=HOSTILE,
        text=HOSTILE,
    )
    shown = occurrences(series, after=START, count=3)
    gap = Occurrence(day=START.date(), clock=START.time(), problem=HOSTILE * 3)
    yield "series intro", messages.series_intro(series, [*shown, gap])
    yield (
        "numbered page",
        messages.numbered(messages.report_page(stored_report(store, 200), 0), HOSTILE),
    )
    record = store.create_series(
        text=HOSTILE,
        title=HOSTILE,
        tz="Asia/Tokyo",
        rrule="FREQ=WEEKLY;BYDAY=SA",
        dtstart=START,
        until=None,
        count=None,
        duration=timedelta(hours=2),
        occurrence_text="2-4am",
        requested_by=HOSTILE,
        tasks={"tasks": None, "scope": None},
        plan_ahead=timedelta(days=1),
    )
    view = SeriesView(record, (window,), tuple(shown))
    yield "series list", messages.series_list([view] * 300)
    yield "windows and series", messages.windows_list([(window, 4)] * 100, [view] * 100)
    yield "no series", messages.series_list([])
    occurrence = window.model_copy(update={"series_id": record.id})
    yield "series approval", messages.approval_request(occurrence, approval, tasks)


def test_every_message_the_bot_builds_passes_slacks_rules(db: Store) -> None:
    checked = 0
    for what, payload in bot_messages(db):
        assert message_errors(payload) == [], what
        assert payload["text"], what
        checked += 1
    assert checked > 40


def test_the_middle_report_page_has_distinct_paging_ids(db: Store) -> None:
    check = stored_report(db, 40)
    middle = messages.report_page(check, 1)
    (nav,) = [b for b in middle["blocks"] if b.get("block_id") == "nav"]
    ids = [e["action_id"] for e in nav["elements"]]
    assert ids == ["report_page_previous", "report_page_next", "plan_window", "plan_dialog"]


def test_the_home_view_passes_slacks_rules(db: Store) -> None:
    for _ in range(30):
        planned(db, 3)
    for _ in range(30):
        db.create_series(
            text=HOSTILE,
            title=HOSTILE,
            tz="UTC",
            rrule="FREQ=DAILY",
            dtstart=START,
            until=None,
            count=None,
            duration=timedelta(hours=1),
            occurrence_text="2-3am",
            requested_by=HOSTILE,
            tasks={"tasks": None, "scope": None},
            plan_ahead=timedelta(days=1),
        )
    view = home.home_view(db, "U0ALICE01")
    assert view_errors(view) == []
    assert len(view["blocks"]) <= 100


def test_blocks_refuses_to_build_duplicate_action_ids_in_one_block() -> None:
    with pytest.raises(bk.BlockKitError, match="duplicate action_id"):
        bk.actions(bk.button("a", "same", "1"), bk.button("b", "same", "2"))


@pytest.mark.parametrize(
    "build",
    [
        lambda: bk.message("x", [bk.divider()] * 51),
        lambda: bk.message("x", [bk.section("a", block_id="b"), bk.section("b", block_id="b")]),
        lambda: bk.home_view([bk.divider()] * 101),
    ],
    ids=["51 blocks", "duplicate block_id", "101 blocks in a view"],
)
def test_blocks_raises_rather_than_send_what_slack_refuses(build: Callable[[], Any]) -> None:
    with pytest.raises(bk.BlockKitError):
        build()
