"""Parity, tested as parity: every use case of the application that one face offers, the
other offers too. The Slack face is read from what the app registered (the registrar the
manifest test reads) and the subcommands its /maintenance listener dispatches; the CLI face
from its argparse parser. Both are mapped onto the application's use cases (methods of
``bot.service.Maintbot``); a gesture or verb that maps to nothing fails, so a new button or
verb has to say which use case it is, and then the other face has to offer it too."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.clock import ManualClock
from bot.config import Settings
from bot.service import Maintbot
from bot.slack.app import MaintbotApp, create_app
from bot.slack.listeners.commands.maintenance import SUBCOMMANDS
from bot.slack.registry import ActionId
from bot.store import Store

# Slack: button action ids, /maintenance subcommands and events → use cases.
SLACK_ACTIONS = {
    ActionId.PAGE_PREVIOUS: {"report"},
    ActionId.PAGE_NEXT: {"report"},
    ActionId.SHOW_UNKNOWN: {"report"},
    ActionId.PAUSE_NOW: {"pause_now"},
    ActionId.RESUME_NOW: {"resume_now"},
    ActionId.PLAN: {"plan"},
    ActionId.PLAN_ANYWAY: {"plan"},
    ActionId.APPROVE: {"decide"},
    ActionId.REJECT: {"decide"},
    ActionId.EXTEND: {"extend"},
    ActionId.END_NOW: {"end"},
    ActionId.RETRY_PAUSE: {"retry"},
    ActionId.RETRY_RESUME: {"retry"},
    ActionId.TAKE_OVER: {"take_over"},
    ActionId.PLAN_DIALOG: {"draft"},
    ActionId.EDIT_DIALOG: {"draft_edit"},
    ActionId.DIALOG_INPUT: {"redraft"},
}
SERIES_USE_CASES = {
    "series_list",
    "series_view",
    "skip_occurrence",
    "move_occurrence",
    "rescope_series",
    "end_series",
    "cancel_series",
}
SLACK_SUBCOMMANDS = {
    "check": {"check"},
    "list": {"windows", "series_list"},
    "suggest": {"suggest"},
    "status": {"status"},
    "audit": {"audit"},
    "cancel": {"cancel"},
    "extend": {"extend"},
    "end": {"end"},
    "plan": {"draft", "plan_series"},
    "edit": {"edit"},
    "calendar": {"calendar_url"},
    "series": SERIES_USE_CASES,
}
# The Home tab shows the windows and what is held paused.
SLACK_EVENTS = {"app_home_opened": {"windows", "status"}}

CLI_VERBS = {
    "check": {"check"},
    "suggest": {"suggest"},
    "report": {"report"},
    "pause": {"pause_now"},
    "resume": {"resume_now"},
    "plan": {"plan", "resolve_tasks", "plan_series"},
    "scope": {"candidates"},
    "approve": {"decide"},
    "reject": {"decide"},
    "cancel": {"cancel"},
    "extend": {"extend"},
    "end": {"end"},
    "edit": {"edit"},
    "retry": {"retry"},
    "take-over": {"take_over"},
    "status": {"status"},
    "windows": {"windows", "series_list"},
    "series": SERIES_USE_CASES,
    "audit": {"audit"},
    "worker": {"run_clock"},
    "calendar": {"calendar", "calendar_url", "rotate_calendar_url"},
}
# Verbs that are no use case of the application: the pure grammar, the simulators, the
# Slack face itself (which runs the clock in-process, the worker's use case) and the
# operator's store maintenance (db migrate, db copy), which Slack has no business doing.
CLI_NOT_USE_CASES = {"parse", "sandbox", "serve", "db"}
# Use cases one face reaches inside another: the clock runs inside `serve`; the Slack
# "Plan pause" button resolves its tasks from the report it was clicked on.
# The plan dialog's drafts are how a dialog holds a plan between a person's clicks; the
# command line says the same in one call (`maintbot plan` with its scope options).
ONE_FACE_BY_DESIGN = {
    "run_clock": "serve runs the clock",
    "resolve_tasks": "from the report",
    "draft": "the dialog's first step; the CLI plans in one call",
    "redraft": "the dialog redrawn; the CLI plans in one call",
    "draft_edit": "the edit dialog's first step; the CLI edits in one call (`maintbot edit`)",
    # The dialog lists a window's candidates through its draft (which keeps what it
    # offered between clicks); `maintbot scope` asks for them in one call.
    "candidates": "the plan dialog lists them through draft()",
    # Slack gives the feed's address; the feed itself is read there, from `maintbot serve`.
    "calendar": "served at its address (GET /calendar/<token>.ics); Slack gives the address",
    "rotate_calendar_url": "the operator's act on the installation's secret",
}

# design.md, "Additions of version 2": each of these verbs takes --by NAME and --json.
BY_AND_JSON = (
    "pause",
    "resume",
    "approve",
    "reject",
    "retry",
    "take-over",
    "extend",
    "end",
    "cancel",
    "edit",
)


@pytest.fixture
def app(tmp_path: Path, clock: ManualClock) -> Iterator[MaintbotApp]:
    settings = Settings(
        slack_bot_token="xoxb-test",
        slack_signing_secret="test-secret",
        slack_api_url="http://127.0.0.1:9/api/",
    )
    store = Store(tmp_path / "parity.db")
    try:
        yield create_app(Maintbot(settings, store, [], clock))
    finally:
        store.close()


def cli_verbs() -> dict[str, argparse.ArgumentParser]:
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def slack_use_cases(app: MaintbotApp) -> set[str]:
    registered = app.registrar
    assert registered.names("command") == {"/maintenance"}
    unmapped = (
        (registered.names("action") - {a.value for a in SLACK_ACTIONS})
        | (set(SUBCOMMANDS) - set(SLACK_SUBCOMMANDS))
        | (registered.names("event") - set(SLACK_EVENTS))
    )
    assert not unmapped, f"Slack gestures that map to no use case: {sorted(unmapped)}"
    found: set[str] = set()
    for action in registered.names("action"):
        found |= SLACK_ACTIONS[ActionId(action)]
    for subcommand in SUBCOMMANDS:
        found |= SLACK_SUBCOMMANDS[subcommand]
    for event in registered.names("event"):
        found |= SLACK_EVENTS[event]
    return found


def cli_use_cases() -> set[str]:
    verbs = set(cli_verbs())
    unmapped = verbs - set(CLI_VERBS) - CLI_NOT_USE_CASES
    assert not unmapped, f"CLI verbs that map to no use case: {sorted(unmapped)}"
    found: set[str] = set()
    for verb in verbs & set(CLI_VERBS):
        found |= CLI_VERBS[verb]
    return found


def test_every_use_case_has_both_faces(app: MaintbotApp) -> None:
    slack, cli = slack_use_cases(app), cli_use_cases()
    only_slack = slack - cli - set(ONE_FACE_BY_DESIGN)
    only_cli = cli - slack - set(ONE_FACE_BY_DESIGN)
    assert not only_slack, f"use cases Slack offers and the CLI does not: {sorted(only_slack)}"
    assert not only_cli, f"use cases the CLI offers and Slack does not: {sorted(only_cli)}"


def test_every_use_case_is_one_call_on_the_application(app: MaintbotApp) -> None:
    for use_case in slack_use_cases(app) | cli_use_cases():
        assert callable(getattr(Maintbot, use_case, None)), f"Maintbot has no {use_case}()"


def test_the_mappings_name_only_what_exists(app: MaintbotApp) -> None:
    # A stale line (a button or verb that went away) would hide a missing face.
    assert {a.value for a in SLACK_ACTIONS} == app.registrar.names("action")
    assert set(SLACK_SUBCOMMANDS) == set(SUBCOMMANDS)
    assert set(CLI_VERBS) | CLI_NOT_USE_CASES == set(cli_verbs())


@pytest.mark.parametrize("verb", BY_AND_JSON)
def test_gesture_verbs_take_by_and_json(verb: str) -> None:
    options = {o for a in cli_verbs()[verb]._actions for o in a.option_strings}
    assert {"--by", "--json"} <= options


def test_status_and_check_take_by_and_json_too() -> None:
    for verb in ("status", "check"):
        options = {o for a in cli_verbs()[verb]._actions for o in a.option_strings}
        assert {"--by", "--json"} <= options
