"""``suggest`` on the application object (one check over the range, planned windows left
out, unanswered systems warned about) and through ``maintbot suggest``, against the
simulators on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main, write_sandbox_config
from bot.clock import system_clock
from bot.config import Settings
from bot.errors import MaintbotError, WindowError
from bot.sandbox import SandboxServer, make_simulators, sandbox_config
from bot.service import Maintbot, Suggestion
from bot.service.suggest import read_request
from bot.store import Store

RANGE = "tomorrow 00:00 for 24h"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    # Read only (no pause, no fault): every test may share it.
    server = SandboxServer(make_simulators())
    server.start()
    yield server
    server.stop()


def bot_for(tmp_path: Path, sandbox: SandboxServer) -> Maintbot:
    return Maintbot.from_config(
        Settings(maintbot_db=str(tmp_path / "maintbot.db")),
        Store(tmp_path / "maintbot.db"),
        sandbox_config(sandbox.simulators),
        system_clock,
        command_line=True,
    )


def suggest(bot: Maintbot, *args: Any, **kw: Any) -> Suggestion:
    async def run() -> Suggestion:
        try:
            return await bot.suggest(*args, **kw)
        finally:
            await bot.aclose()

    return asyncio.run(run())


def test_one_check_ranks_the_range_and_stores_each_candidates_report(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    talend = sandbox.by_vendor("talend")
    searches = len(talend.requests_to("events/search"))
    checked = bot_for(tmp_path, sandbox)

    async def check() -> None:
        try:
            await checked.check(RANGE, by="alice", tz="America/Los_Angeles")
        finally:
            await checked.aclose()

    asyncio.run(check())
    one_check = len(talend.requests_to("events/search")) - searches
    bot = bot_for(tmp_path, sandbox)
    found = suggest(bot, "2h", within=RANGE, by="alice", tz="America/Los_Angeles")
    # One check over the whole range: Talend's run search is paged as for one check of the
    # range, not once per slot.
    assert len(talend.requests_to("events/search")) - searches == 2 * one_check
    assert len(found.ranking.candidates) == 3
    assert found.warnings == ()
    keys = [(c.score, c.start) for c in found.ranking.candidates]
    assert keys == sorted(keys)
    for candidate, check in found.best:
        assert candidate.end - candidate.start == timedelta(hours=2)
        stored = bot.report(check.id)
        assert (stored.window.start, stored.window.end) == (candidate.start, candidate.end)
        assert stored.user == "alice"
        # What the report lists is what the candidate says it would disturb.
        starting = {c.task_id for c in stored.conflicts if c.kind.value == "starts_in_window"}
        assert starting == {h.conflict.task_id for h in candidate.hits if h.how == "starts_inside"}
    (row,) = [r for r in bot.audit(10) if r.action == "suggest"]
    assert (row.actor, row.outcome) == ("alice", "ok")
    assert row.detail is not None
    assert [c["check"] for c in row.detail["candidates"]] == [c.id for c in found.checks]


def test_planned_windows_are_left_out(tmp_path: Path, sandbox: SandboxServer) -> None:
    bot = bot_for(tmp_path, sandbox)
    first = suggest(bot, "2h", within=RANGE, by="alice", tz="UTC")
    best = first.ranking.candidates[0]

    async def plan_and_suggest() -> Suggestion:
        try:
            await bot.plan(best.window.text, by="alice", tz="UTC", tasks="all")
            return await bot.suggest("2h", within=RANGE, by="alice", tz="UTC")
        finally:
            await bot.aclose()

    bot = bot_for(tmp_path, sandbox)
    again = asyncio.run(plan_and_suggest())
    assert again.ranking.excluded >= 1
    for c in again.ranking.candidates:
        assert c.end <= best.start or c.start >= best.end


def test_a_system_that_does_not_answer_is_a_warning_on_every_candidate(
    tmp_path: Path,
) -> None:
    with SandboxServer(make_simulators(vendors=["talend", "bmc"])) as server:
        server.by_vendor("bmc").faults.fail(403, times=1000)
        found = suggest(bot_for(tmp_path, server), "1h", within=RANGE, by="alice", tz="UTC")
    (warning,) = found.warnings
    assert "bmc" in warning
    assert "no slot accounts for its runs" in warning
    assert [s.system for s in found.ranking.unchecked] == ["bmc"]


def test_no_system_answering_is_an_error_not_a_quiet_week(tmp_path: Path) -> None:
    with SandboxServer(make_simulators(vendors=["bmc"])) as server:
        server.by_vendor("bmc").faults.fail(403, times=1000)
        with pytest.raises(MaintbotError, match=r"No scheduler answered.*Try again"):
            suggest(bot_for(tmp_path, server), "1h", within=RANGE, by="alice", tz="UTC")


@pytest.mark.parametrize(
    ("slot", "within", "message"),
    [
        ("0", None, r"more than zero"),
        ("20d", None, r"longer than a maintenance window can be"),
        ("3h", "tomorrow 00:00 for 2h", r"lasts only 2h, shorter than the 3h slot"),
        ("2h", "tomorrow 00:00 for 45d", r"lasts 45d; suggestions look at most 31d ahead"),
        # "Marchtember" is a title by the grammar's v2 rule; what it cannot read is named.
        ("2h", "Marchtember 5th", r'"5th" needs a month'),
    ],
)
def test_bad_requests_are_refused_before_any_scheduler_is_asked(
    tmp_path: Path, sandbox: SandboxServer, slot: str, within: str | None, message: str
) -> None:
    talend = sandbox.by_vendor("talend")
    before = len(talend.requests_to("/"))
    with pytest.raises(WindowError, match=message):
        suggest(bot_for(tmp_path, sandbox), slot, within=within, by="alice", tz="UTC")
    assert len(talend.requests_to("/")) == before


# -- the command line ---------------------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer) -> Path:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "maintbot.toml"
    write_sandbox_config(config, sandbox_config(sandbox.simulators))
    for var in ("MAINTBOT_APPROVERS", "SLACK_BOT_TOKEN", "MAINTBOT_TZ"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MAINTBOT_DB", str(tmp_path / "maintbot.db"))
    monkeypatch.setenv("MAINTBOT_CONFIG", str(config))
    return tmp_path


def test_cli_json_is_the_designed_shape_best_first(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["suggest", "90m", "--within", RANGE, "--tz", "Europe/Berlin", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    candidates = out["candidates"]
    assert len(candidates) == 3
    for c in candidates:
        assert {"start", "end", "conflicts", "score", "text", "check", "details"} <= set(c)
        assert isinstance(c["conflicts"], int)
    assert [c["score"] for c in candidates] == sorted(c["score"] for c in candidates)
    assert out["step_minutes"] == 30
    assert out["time_unknown"]["note"] == "the same for every slot, so they rank none"
    # The text each candidate gives plans exactly it.
    first = candidates[0]
    code = main(["parse", first["text"], "--tz", "Europe/Berlin", "--json"])
    parsed = json.loads(capsys.readouterr().out)
    assert code == 0
    read = [datetime.fromisoformat(parsed[k]) for k in ("start", "end")]
    assert read == [datetime.fromisoformat(first[k]) for k in ("start", "end")]


def test_cli_text_lists_the_slots_and_how_to_plan_them(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["suggest", "2h", "--within", RANGE, "--tz", "UTC", "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert "The 2 least disturbing 2h slots" in out
    assert out.count("plan it: maintbot plan ") == 2
    assert "the same for every slot, so they rank none" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["suggest", "0"], "more than zero"),
        (["suggest", "2h", "--within", "tomorrow 00:00 for 1h"], "shorter than the 2h slot"),
        (["suggest", "2h", "--within", "now for 40d"], "suggestions look at most 31d ahead"),
        (["suggest", "soon"], 'can\'t read "soon" as a length'),
    ],
)
def test_cli_bad_input_exits_2_with_what_to_type(
    home: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("words", ["this week", "the rest of the week", "This  Week"])
def test_this_week_is_from_now_to_the_weeks_end_in_the_users_zone(words: str) -> None:
    # Wednesday 18 Nov 2026 18:00 UTC is 10:00 in Los Angeles; its week ends Monday 23 Nov
    # 00:00 there (08:00 UTC).
    now = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)
    slot, span = read_request("2h", words, tz="America/Los_Angeles", now=now)
    assert slot == timedelta(hours=2)
    assert span.start == now
    assert span.end == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
