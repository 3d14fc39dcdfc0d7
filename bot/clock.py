"""The injected clock: code never calls ``datetime.now()`` itself."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = [
    "EARLIEST",
    "LATEST",
    "OUT_OF_RANGE",
    "Clock",
    "ManualClock",
    "epoch_instant",
    "sane_instant",
    "system_clock",
    "utc",
]

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


# Instants a vendor may sensibly report. Anything outside is garbage rather than a date, and
# refusing it before converting keeps OverflowError/OSError (fromtimestamp, astimezone near
# year 1 or 9999) from escaping as a crash instead of a clear error.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2201, 1, 1, tzinfo=UTC)  # exclusive: the year 2200 is the last one
OUT_OF_RANGE = "outside the years 1970-2200"


def sane_instant(moment: datetime) -> datetime:
    """``moment`` as UTC if it lies in the years 1970-2200; ``ValueError`` otherwise (with a
    value-free message: vendor data must not reach users through it)."""
    # The wall year first: converting a year-9999 time with an offset overflows by itself.
    if not EARLIEST.year - 1 <= moment.year <= LATEST.year:
        raise ValueError(OUT_OF_RANGE)
    result = utc(moment)
    if not EARLIEST <= result < LATEST:
        raise ValueError(OUT_OF_RANGE)
    return result


def epoch_instant(seconds: float) -> datetime:
    """The UTC instant ``seconds`` after the Unix epoch, if it is in the years 1970-2200."""
    if not (math.isfinite(seconds) and EARLIEST.timestamp() <= seconds < LATEST.timestamp()):
        raise ValueError(OUT_OF_RANGE)
    return datetime.fromtimestamp(seconds, UTC)


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
