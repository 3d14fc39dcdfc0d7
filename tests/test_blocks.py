"""The Block Kit module and the messages built on it, without Slack: limits, escaping,
paging, whatever the data."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.model import (
    Conflict,
    ConflictKind,
    ConflictReport,
    SystemResult,
    TaskKind,
    Window,
)
from bot.service.reports import StoredCheck, load_check, save_check
from bot.slack import blocks as bk
from bot.slack import messages
from bot.store import Store

START = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
HOSTILE = "<!channel> & co"


def report(
    names: list[str], *, failed: str | None = None, broken_systems: int = 0
) -> ConflictReport:
    window = Window(start=START, end=START + timedelta(hours=2), tz="UTC", text="sat 10-12")
    conflicts = tuple(
        Conflict(
            system="talend",
            task_id=f"t{i}",
            task_kind=TaskKind.TASK,
            task_name=name,
            kind=ConflictKind.STARTS_IN_WINDOW,
            at=START + timedelta(minutes=i),
            paused=i % 7 == 0,
            detail=f"{i} runs & <more>",
        )
        for i, name in enumerate(names)
    )
    systems = [SystemResult(system="talend", vendor="talend", label="Talend", ok=True)]
    if failed:
        systems.append(
            SystemResult(system="bmc", vendor="bmc", label="BMC", ok=False, error=failed)
        )
    systems.extend(
        SystemResult(system=f"bmc-{i}", vendor="bmc", label="BMC", ok=False, error="e" * 2000)
        for i in range(broken_systems)
    )
    return ConflictReport(
        window=window,
        checked_at=START - timedelta(days=3),
        systems=tuple(systems),
        conflicts=conflicts,
    )


def stored(store: Store, names: list[str], **kw: Any) -> StoredCheck:
    saved = save_check(store, report(names, **kw), user="U0ALICE01", channel="C0OPS0001")
    return load_check(store, saved.id)


def all_pages(check: StoredCheck) -> list[dict]:
    return [messages.report_page(check, p) for p in range(messages.page_count(check))]


def texts(message: dict) -> list[str]:
    found = [message["text"]]
    for block in message.get("blocks", []):
        if isinstance(block.get("text"), dict):
            found.append(block["text"]["text"])
        found.extend(
            e["text"]
            for e in block.get("elements", [])
            if "text" in e and isinstance(e["text"], str)
        )
    return found


# -- the primitives -------------------------------------------------------------------------
def test_escape_covers_the_three_control_characters() -> None:
    assert bk.escape(HOSTILE) == "&lt;!channel&gt; &amp; co"


@given(st.text(alphabet="ab&<>", max_size=60), st.integers(min_value=2, max_value=40))
def test_fit_never_exceeds_the_limit_nor_splits_an_entity(text: str, limit: int) -> None:
    out = bk.fit(text, limit)
    assert len(out) <= limit
    assert not re.search(r"&(?!amp;|lt;|gt;)", out)
    assert "<" not in out
    assert ">" not in out
    if len(bk.escape(text)) <= limit:
        assert out == bk.escape(text)
    else:
        assert out.endswith("…")


def test_a_message_always_has_text_and_at_most_50_blocks() -> None:
    assert bk.message("")["text"]
    with pytest.raises(bk.BlockKitError, match="51 blocks"):
        bk.message("x", [bk.divider()] * 51)
    with pytest.raises(bk.BlockKitError, match="duplicate block_id"):
        bk.message("x", [bk.section("a", block_id="b"), bk.section("b", block_id="b")])


def test_field_and_element_limits() -> None:
    long = "y" * 5000
    assert len(bk.header(long)["text"]["text"]) == 150
    assert len(bk.section(long)["text"]["text"]) == 3000
    assert all(len(f["text"]) == 2000 for f in bk.section(fields=[long] * 10)["fields"])
    with pytest.raises(bk.BlockKitError):
        bk.section(fields=["a"] * 11)
    button = bk.button(long, "act", {"c": "c_1"}, confirm_dialog=bk.confirm(long, long, ok=long))
    assert len(button["text"]["text"]) == 75
    dialog = button["confirm"]
    assert (len(dialog["title"]["text"]), len(dialog["text"]["text"])) == (100, 300)
    assert len(dialog["confirm"]["text"]) == 30
    with pytest.raises(bk.BlockKitError):
        bk.button("b", "act", "v" * 2001)
    with pytest.raises(bk.BlockKitError):
        bk.button("b", "a" * 256, "v")
    with pytest.raises(bk.BlockKitError):
        bk.actions(*[bk.button("b", "a", "v")] * 26)
    with pytest.raises(bk.BlockKitError):
        bk.home_view([bk.divider()] * 101)


def test_mrkdwn_cut_never_ends_inside_a_token() -> None:
    text = "a" * 2990 + bk.date_token(START)
    cut = bk.section(text)["text"]["text"]
    assert len(cut) <= 3000
    assert "<!date" not in cut
    assert cut.endswith("…")


def test_date_token_renders_in_each_readers_zone_with_a_utc_fallback() -> None:
    token = bk.date_token(START)
    unix = int(START.timestamp())
    assert token == f"<!date^{unix}^{{date_short_pretty}} {{time}}|Sat 21 Nov 2026 10:00 UTC>"


# -- the report -----------------------------------------------------------------------------
def test_report_pages_hold_every_conflict_once_within_the_limits(tmp_path) -> None:
    store = Store(tmp_path / "s.db")
    names = [f"job {i}" for i in range(137)] + [HOSTILE, "z" * 5000]
    check = stored(store, names, failed="HTTP 503 <html>&nbsp;</html> " + "e" * 4000)
    pages = all_pages(check)
    indices = []
    for page in pages:
        assert len(page["blocks"]) <= 50
        for block in page["blocks"]:
            if block.get("block_id", "").startswith("conflict-"):
                indices.append(int(block["block_id"].split("-")[1]))
                assert len(block["text"]["text"]) <= 3000
                value = json.loads(block["accessory"]["value"])
                assert value == {"c": check.id, "i": indices[-1]}
    # Grouped: what to act on in time order, then what is already paused.
    active = [i for i in range(len(names)) if i % 7]
    assert indices == active + [i for i in range(len(names)) if not i % 7]
    raw = json.dumps(pages, ensure_ascii=False)
    assert "<!channel>" not in raw
    assert "&lt;!channel&gt; &amp; co" in raw
    assert "<html>" not in raw  # the vendor's error text is escaped too
    store.close()


def test_page_navigation_buttons_carry_only_the_check_id_and_page(tmp_path) -> None:
    store = Store(tmp_path / "s.db")
    check = stored(store, [f"job {i}" for i in range(40)])
    middle = messages.report_page(check, 1)
    (nav,) = [b for b in middle["blocks"] if b.get("block_id") == "nav"]
    values = {e["text"]["text"]: json.loads(e["value"]) for e in nav["elements"]}
    assert values["◀ Previous"] == {"c": check.id, "p": 0}
    assert values["Next ▶"] == {"c": check.id, "p": 2}
    assert values["Plan pause for this window"] == {"c": check.id}
    # Out-of-range pages (a forged value) clamp to a real page.
    assert messages.report_page(check, 99)["text"] == messages.report_page(check, 2)["text"]
    store.close()


def test_a_report_without_conflicts_says_so(tmp_path) -> None:
    store = Store(tmp_path / "s.db")
    page = messages.report_page(stored(store, []), 0)
    assert any("No task run collides" in t for t in texts(page))
    # Nothing to plan from the report, but the dialog can still plan other tasks.
    (nav,) = [b for b in page["blocks"] if b.get("block_id") == "nav"]
    assert [e["action_id"] for e in nav["elements"]] == ["plan_dialog"]
    store.close()


def test_the_echo_has_tokens_the_zone_utc_length_and_dst_notes() -> None:
    window = Window(
        start=datetime(2026, 11, 1, 5, 0, tzinfo=UTC),
        end=datetime(2026, 11, 1, 7, 0, tzinfo=UTC),
        tz="America/New_York",
        text="Nov 1 1-2am",
        notes=("The window touches a DST change: it lasts 2h of real time.",),
    )
    echo = messages.echo(window)
    assert "<!date^1793509200^" in echo
    assert "America/New_York" in echo
    assert "in UTC: Sun 01 Nov 2026 05:00 → Sun 01 Nov 2026 07:00" in echo
    assert "(2h)" in echo
    assert ":warning: The window touches a DST change" in echo


def test_long_listings_are_counted_not_dropped() -> None:
    lines = [f"line {i} " + "w" * 200 for i in range(2000)]
    message = messages._listing("many", lines)
    assert len(message["blocks"]) <= 50
    assert "more not shown" in message["blocks"][-1]["elements"][0]["text"]


def test_many_failing_systems_still_fit_and_are_counted(tmp_path) -> None:
    store = Store(tmp_path / "s.db")
    check = stored(store, [f"job {i}" for i in range(40)], broken_systems=80)
    first = messages.report_page(check, 0)
    assert len(first["blocks"]) <= 50
    shown = sum(t.count("(`bmc-") for t in texts(first))
    hidden = re.search(r"…and (\d+) more system\(s\)", json.dumps(first, ensure_ascii=False))
    assert hidden
    assert shown + int(hidden.group(1)) == 80
    assert len([b for b in first["blocks"] if b.get("block_id", "").startswith("conflict-")]) == 15
    store.close()


# -- a report that leads with what to do (issue 10) ----------------------------------------
def mixed_report(*, bmc_down: bool = False) -> ConflictReport:
    """A Talend run starting in the window and one running at its start, three Pyramid
    schedules with no known time, and a BMC ETL that is stopped."""
    window = Window(start=START, end=START + timedelta(hours=2), tz="UTC", text="in 1 minute")

    def conflict(system: str, task_id: str, kind: ConflictKind, **kw: Any) -> Conflict:
        task_kind = {"talend": TaskKind.TASK, "pyramid": TaskKind.SCHEDULE}.get(
            system, TaskKind.ETL
        )
        return Conflict(
            system=system,
            task_id=task_id,
            task_kind=task_kind,
            task_name=kw.pop("name", task_id),
            kind=kind,
            at=kw.pop("at", None),
            paused=kw.pop("paused", False),
            **kw,
        )

    conflicts = [
        conflict("talend", "run", ConflictKind.RUNNING_AT_START, at=START - timedelta(hours=1)),
        conflict("talend", "late", ConflictKind.STARTS_IN_WINDOW, at=START + timedelta(hours=1)),
        *(
            conflict(
                "pyramid",
                f"p{i}",
                ConflictKind.MAY_FIRE,
                detail=f"Pyramid's API exposes no next-run time; schedule {i}",
            )
            for i in range(3)
        ),
    ]
    if not bmc_down:
        conflicts.append(
            conflict(
                "bmc",
                "etl",
                ConflictKind.MAY_FIRE,
                name="Nutanix ETL",
                paused=True,
                detail="stopped in BMC (ENDED); it runs only if someone restarts it",
            )
        )
    systems = (
        SystemResult(system="talend", vendor="talend", label="Talend", ok=True),
        SystemResult(system="pyramid", vendor="pyramid", label="Pyramid", ok=True),
        SystemResult(
            system="bmc",
            vendor="bmc",
            label="BMC",
            ok=not bmc_down,
            error="HTTP 503" if bmc_down else None,
        ),
    )
    return ConflictReport(
        window=window, checked_at=START, systems=systems, conflicts=tuple(conflicts)
    )


def saved(store: Store, report: ConflictReport) -> StoredCheck:
    return load_check(store, save_check(store, report, user="U0ALICE01", channel=None).id)


def rows_by_id(page: dict) -> dict[str, str]:
    return {
        b["block_id"]: b["text"]["text"]
        for b in page["blocks"]
        if b.get("block_id", "").startswith(("conflict-", "unknown-"))
    }


def test_the_report_is_grouped_by_system_with_unknown_times_in_one_line(tmp_path) -> None:
    store = Store(tmp_path / "s.db")
    check = saved(store, mixed_report())
    page = messages.report_page(check, 0)
    order = list(rows_by_id(page))
    # Running at the start first, then what starts in the window; Pyramid's three are one
    # line; the stopped BMC ETL comes with the paused ones, not as "may fire".
    assert order == ["conflict-0", "conflict-1", "unknown-pyramid", "conflict-5"]
    rows = rows_by_id(page)
    since = int((START - timedelta(hours=1)).timestamp())
    assert f"running at start · since <!date^{since}^" in rows["conflict-0"]
    assert "starts in window · <!date^" in rows["conflict-1"]
    assert rows["unknown-pyramid"].startswith(
        ":grey_question: *3 Pyramid schedules may fire at an unknown time*"
    )
    assert "_Pyramid's API exposes no next-run time_" in rows["unknown-pyramid"]
    stopped = rows["conflict-5"]
    assert "may fire" not in stopped
    assert "runs only if someone restarts it" in stopped
    headings = [t for t in texts(page) if " · " in t and t.startswith("*")]
    assert "*Talend* · to act on (2)" in headings
    assert any(h.startswith("*BMC* · already paused or stopped") for h in headings)
    # The window is named by its dates, not by the text typed ("in 1 minute").
    assert page["blocks"][0]["text"]["text"] == "Maintenance Sat 21 Nov 10:00–12:00 UTC"
    assert page["text"].startswith("Maintenance Sat 21 Nov 10:00–12:00 UTC: 5 to act on")
    store.close()


def test_no_label_is_said_twice(tmp_path) -> None:
    store = Store(tmp_path / "s.db")
    check = saved(store, mixed_report())
    page = messages.report_page(check, 0, expanded={"pyramid"})
    for text in rows_by_id(page).values():
        assert "time unknown" not in text
        for label in ("may fire", "starts in window", "running at start"):
            assert text.count(label) <= 1, text
    store.close()


def test_show_them_lists_a_systems_unknown_runs_in_place(tmp_path) -> None:
    store = Store(tmp_path / "s.db")
    check = saved(store, mixed_report())
    collapsed = messages.report_page(check, 0)
    (line,) = [b for b in collapsed["blocks"] if b.get("block_id") == "unknown-pyramid"]
    assert line["accessory"]["action_id"] == "report_show_unknown"
    assert json.loads(line["accessory"]["value"]) == {"c": check.id, "p": 0, "x": ["pyramid"]}
    shown = messages.report_page(check, 0, expanded={"pyramid"})
    assert list(rows_by_id(shown)) == [f"conflict-{i}" for i in (0, 1, 2, 3, 4, 5)]
    assert rows_by_id(shown)["conflict-2"].endswith(
        "may fire at an unknown time\n_Pyramid's API exposes no next-run time; schedule 0_"
    )
    assert "*Pyramid* · may fire at an unknown time (3)" in texts(shown)
    store.close()


def test_a_scheduler_down_is_said_beside_plan(tmp_path) -> None:
    store = Store(tmp_path / "s.db")
    check = saved(store, mixed_report(bmc_down=True))
    page = messages.report_page(check, 0)
    blocks = page["blocks"]
    (nav,) = [i for i, b in enumerate(blocks) if b.get("block_id") == "nav"]
    warning = blocks[nav - 1]["elements"][0]["text"]
    assert warning == (
        ":warning: BMC (bmc) did not answer: its tasks are missing from this report, and a "
        "plan made from it would not pause them."
    )
    (plan,) = [e for e in blocks[nav]["elements"] if e["action_id"] == "plan_window"]
    assert "BMC (bmc) did not answer" in plan["confirm"]["text"]["text"]
    store.close()
