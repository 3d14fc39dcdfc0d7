"""Fixtures shared by every test module: an injected clock and a fresh SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.store import Store

# Wednesday 18 Nov 2026 10:00 in Los Angeles: the reference "now" of window-conventions.md.
REFERENCE_NOW = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(REFERENCE_NOW)


@pytest.fixture
def store(tmp_path: Path, clock: ManualClock) -> Iterator[Store]:
    db = Store(tmp_path / "maintbot.db", clock=clock)
    yield db
    db.close()
