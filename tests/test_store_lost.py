"""A replica that loses its PostgreSQL database mid-run stops acting and says so: the
store's calls fail with a clear ``StoreError``, the clock cannot renew its lead and stands
by, and nothing is done on a claim it can no longer check."""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

import psycopg
import pytest
from pg import ADMIN_URL
from test_lifecycle import Recorder

from bot.clock import ManualClock
from bot.errors import StoreError
from bot.lifecycle import WindowClock
from bot.lifecycle.loop import LEAD
from bot.store import Store

pytestmark = pytest.mark.engines("postgresql")


def _cut(store: Store) -> None:
    """What a network cut does to the store's connection: the server ends it."""
    pid = store._exec("SELECT pg_backend_pid() AS pid", {}).rows[0]["pid"]
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_clock_that_loses_the_database_stops_leading_and_says_so(
    db_location: str, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(db_location, clock=clock)
    other = Store(db_location, clock=clock)
    try:
        wclock = WindowClock(store, {}, clock, Recorder(), owner="replica-a")
        assert wclock._lead(timedelta(seconds=30))
        assert wclock.leading
        _cut(store)
        with pytest.raises(StoreError, match="lost the PostgreSQL database") as lost:
            store.get_kv("anything")
        assert "password" not in str(lost.value).lower()
        caplog.set_level(logging.INFO, logger="bot.lifecycle")
        assert not wclock._lead(timedelta(seconds=30))
        assert not wclock.leading
        assert "lost the lead; standing by" in caplog.text
        # The other replica sees the lease run out and takes over; the cut one never
        # renewed it.
        clock.advance(timedelta(seconds=31))
        assert other.try_lead(LEAD, "replica-b", now=clock(), ttl=timedelta(seconds=30))
        holder = other.leader(LEAD)
        assert holder is not None
        assert holder[0] == "replica-b"
    finally:
        other.close()
        with contextlib.suppress(StoreError):  # its connection is gone already
            store.close()
