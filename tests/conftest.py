"""Fixtures shared by every test module: an injected clock, a fresh SQLite file and the Slack
world (fake Slack, sandbox schedulers, store and the bot over loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot.clock import ManualClock
from bot.store import Store

if TYPE_CHECKING:
    from slackclient import SlackWorld

# Wednesday 18 Nov 2026 10:00 in Los Angeles: the reference "now" of window-conventions.md.
REFERENCE_NOW = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)

# Most Slack tests need one scheduler only; Talend is the one with every task kind.
SLACK_WORLD_DEFAULTS: dict[str, Any] = {"vendors": ["talend"]}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(REFERENCE_NOW)


ENGINES = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests (or modules) marked ``engines(...)`` run once per engine named: their
    ``db_location`` (and so their ``store``) is a SQLite file or a fresh PostgreSQL
    database. Unmarked tests use SQLite alone."""
    marker = metafunc.definition.get_closest_marker("engines")
    if marker is None or "db_location" not in metafunc.fixturenames:
        return
    unknown = set(marker.args) - set(ENGINES)
    if unknown:
        raise ValueError(f"unknown engines {sorted(unknown)}")
    metafunc.parametrize("db_location", marker.args, indirect=True)


@pytest.fixture
def db_location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where the test's store lives: ``tmp_path/maintbot.db``, or (engine ``postgresql``)
    the URL of a database created for this test and dropped after it."""
    engine = getattr(request, "param", "sqlite")
    if engine == "sqlite":
        yield str(tmp_path / "maintbot.db")
        return
    import pg

    with pg.fresh_database() as url:
        yield url


@pytest.fixture
def store(db_location: str, clock: ManualClock) -> Iterator[Store]:
    db = Store(db_location, clock=clock)
    yield db
    db.close()


@pytest.fixture
def world(
    request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock
) -> Iterator[SlackWorld]:
    """The Slack world with Talend only; a module or test that needs another one says so with
    `@pytest.mark.slack_world(**SlackWorld fields)`, e.g. `vendors=None` for all four
    schedulers or `socket_mode=True`. Fake Slack's protocol violations fail the test."""
    # Imported here, not at the top, so modules that never touch Slack do not depend on the
    # Slack test client importing cleanly.
    from slackclient import SlackWorld

    marker = request.node.get_closest_marker("slack_world")
    options = {**SLACK_WORLD_DEFAULTS, **(marker.kwargs if marker is not None else {})}
    with SlackWorld(tmp_path, clock, **options) as w:
        yield w
        assert w.fake.violations == []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the figures a test adds to `request.node.user_properties` as ("figures", text),
    the soak run's: printed by the test itself they would be lost under pytest-xdist, whose
    workers' output is not shown."""
    reports = [*terminalreporter.stats.get("passed", []), *terminalreporter.stats.get("failed", [])]
    for report in reports:
        for name, value in getattr(report, "user_properties", []):
            if name == "figures":
                terminalreporter.write_line(str(value))
