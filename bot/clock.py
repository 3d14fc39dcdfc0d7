"""The injected clock: code never calls ``datetime.now()`` itself."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["Clock", "ManualClock", "system_clock", "utc"]

Clock = Callable[[], datetime]
"""A zero-argument callable returning the current instant as an aware datetime."""


def system_clock() -> datetime:
    """The real time, in UTC."""
    return datetime.now(UTC)


def utc(moment: datetime) -> datetime:
    """``moment`` as UTC; refuses naive datetimes so wall-clock bugs fail loudly."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: every instant in maintbot must carry a zone")
    return moment.astimezone(UTC)


class ManualClock:
    """A clock tests and simulations move by hand. Thread-safe."""

    def __init__(self, start: datetime) -> None:
        self._now = utc(start)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now = self._now + delta
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = utc(moment)
