"""manifest.yml is a valid Slack app manifest and says exactly what the app handles."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from ci import not_here

from bot.clock import ManualClock
from bot.config import Settings
from bot.service import Maintbot
from bot.slack.app import MaintbotApp, create_app
from bot.slack.registry import BOT_SCOPES
from bot.store import Store

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "manifest.yml"
SCHEMA = ROOT.parent / "shared" / "vendor-specs" / "slack" / "manifest.schema.2.0.0.json"
EVENTS_PATH = "/slack/events"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture
def app(tmp_path: Path, clock: ManualClock) -> Iterator[MaintbotApp]:
    store = Store(tmp_path / "m.db", clock=clock)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token="xoxb-manifest-test",
        slack_signing_secret="manifest-test-secret",
        slack_api_url="http://127.0.0.1:9/api/",
    )
    try:
        yield create_app(Maintbot(settings, store, [], clock))
    finally:
        store.close()


def test_manifest_validates_against_slacks_schema(manifest: dict[str, Any]) -> None:
    if not SCHEMA.exists():
        not_here(f"{SCHEMA} is absent (it ships beside the repo in ../shared)")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(manifest), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_commands_and_events_match_what_the_app_registers(
    manifest: dict[str, Any], app: MaintbotApp
) -> None:
    commands = {c["command"] for c in manifest["features"]["slash_commands"]}
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert app.registrar.names("command") == commands
    assert app.registrar.names("event") == events
    # Every listener on the app went through the registrar (so none escapes this test).
    assert len(app._async_listeners) == len(app.registrar.registered)


def test_interactivity_and_home_tab_are_on_when_the_app_uses_them(
    manifest: dict[str, Any], app: MaintbotApp
) -> None:
    assert app.registrar.names("action"), "the app has buttons"
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    home = "app_home_opened" in app.registrar.names("event")
    assert manifest["features"]["app_home"]["home_tab_enabled"] is home
    assert manifest["features"]["bot_user"]["display_name"]


def test_every_url_is_the_one_path_the_app_serves(manifest: dict[str, Any]) -> None:
    urls = [c["url"] for c in manifest["features"]["slash_commands"]]
    urls.append(manifest["settings"]["event_subscriptions"]["request_url"])
    urls.append(manifest["settings"]["interactivity"]["request_url"])
    assert all(u.startswith("https://") and u.endswith(EVENTS_PATH) for u in urls)
    assert manifest["settings"]["socket_mode_enabled"] is False  # HTTP is the primary mode


def test_scopes_are_exactly_the_ones_the_code_uses(manifest: dict[str, Any]) -> None:
    assert manifest["oauth_config"]["scopes"]["bot"] == list(BOT_SCOPES)


def test_the_slash_command_tells_people_how_to_use_it(manifest: dict[str, Any]) -> None:
    (command,) = manifest["features"]["slash_commands"]
    assert "check Saturday 2-4am" in command["usage_hint"]
    assert command["should_escape"] is False  # the window is free text
    assert len(command["description"]) <= 2000
