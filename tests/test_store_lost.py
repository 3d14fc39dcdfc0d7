"""A replica that loses its PostgreSQL database mid-run stops acting and says so: the
store's calls fail with a clear ``StoreError``, the clock cannot renew its lead and stands
by, and nothing is done on a claim it can no longer check. When the database answers again
the store reconnects on its next call, and the replica rejoins as a standby: it leads again
only by winning the lease from the database, never from what it held before the cut."""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

import psycopg
import pytest
from pg import ADMIN_URL, fresh_database
from test_lifecycle import Recorder

from bot.clock import ManualClock
from bot.errors import StoreError
from bot.lifecycle import WindowClock
from bot.lifecycle.loop import LEAD
from bot.model import TaskKind, TaskRef, Window, WindowState
from bot.store import Store

pytestmark = pytest.mark.engines("postgresql")


def _cut(store: Store, *, keep_out: bool = False) -> None:
    """What a network cut does to the store's connection: the server ends it. With
    ``keep_out`` the cut lasts: no new connection to the database is let in (connections
    already open, another replica's, stay up) until :func:`_let_in`."""
    found = store._exec("SELECT pg_backend_pid() AS pid, current_database() AS db", {})
    pid, database = found.rows[0]["pid"], found.rows[0]["db"]
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        if keep_out:
            admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def _let_in(database: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')


def test_a_clock_that_loses_the_database_stops_leading_and_says_so(
    db_location: str, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(db_location, clock=clock)
    other = Store(db_location, clock=clock)
    try:
        wclock = WindowClock(store, {}, clock, Recorder(), owner="replica-a")
        assert wclock._lead(timedelta(seconds=30))
        assert wclock.leading
        _cut(store, keep_out=True)
        with pytest.raises(StoreError, match="lost the PostgreSQL database") as lost:
            store.get_kv("anything")
        assert "password" not in str(lost.value).lower()
        # While the database keeps it out, every turn fails to reconnect: no lead.
        caplog.set_level(logging.INFO, logger="bot.lifecycle")
        assert not wclock._lead(timedelta(seconds=30))
        assert not wclock.leading
        assert "lost the lead; standing by" in caplog.text
        with pytest.raises(StoreError, match="PostgreSQL"):
            store.get_kv("anything")
        # The other replica sees the lease run out and takes over; the cut one never
        # renewed it.
        clock.advance(timedelta(seconds=31))
        assert other.try_lead(LEAD, "replica-b", now=clock(), ttl=timedelta(seconds=30))
        holder = other.leader(LEAD)
        assert holder is not None
        assert holder[0] == "replica-b"
        # Let back in, it reconnects and stands by: the lease is the other's now.
        _let_in(db_location.rsplit("/", 1)[-1])
        assert not wclock._lead(timedelta(seconds=30))
        assert store.leader(LEAD) == holder
    finally:
        _let_in(db_location.rsplit("/", 1)[-1])
        other.close()
        with contextlib.suppress(StoreError):  # its connection may be gone already
            store.close()


def test_a_cut_replica_reconnects_and_rejoins_as_a_standby(
    db_location: str, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(db_location, clock=clock)
    other = Store(db_location, clock=clock)
    try:
        wclock = WindowClock(store, {}, clock, Recorder(), owner="replica-a")
        rival = WindowClock(other, {}, clock, Recorder(), owner="replica-b")
        assert wclock._lead(timedelta(seconds=30))
        _cut(store)
        caplog.set_level(logging.INFO)
        assert not wclock._lead(timedelta(seconds=30))  # the cut itself: stands by
        clock.advance(timedelta(seconds=31))
        assert rival._lead(timedelta(seconds=30))  # the lease ran out: the other leads
        # The next call reconnects; the replica reads the lease as it is now, the other's.
        assert not wclock._lead(timedelta(seconds=30))
        assert "reconnected to the PostgreSQL" in caplog.text
        assert not wclock.leading
        assert store.leader(LEAD) == other.leader(LEAD)
        # It works again as a store: what it writes, the other replica reads.
        ref = TaskRef(system="talend", kind=TaskKind.TASK, id="t1")
        start = clock() + timedelta(hours=1)
        made = store.create_window(
            Window(start=start, end=start + timedelta(hours=1), tz="UTC"),
            requested_by="alice",
            tasks=[(ref, "nightly load")],
        )
        assert other.get_window(made.id).state is WindowState.PLANNED
        # When the other replica stops, this one takes the lead from the database.
        other.release_lead(LEAD, "replica-b")
        assert wclock._lead(timedelta(seconds=30))
        assert wclock.leading
    finally:
        other.close()
        store.close()


def test_a_reconnection_that_fails_says_why_and_names_no_password(
    clock: ManualClock,
) -> None:
    with fresh_database() as url:
        secret_url = url.replace("postgres@", "postgres:hunter2-secret@", 1)
        store = Store(secret_url, clock=clock)
        try:
            _cut(store)
            with pytest.raises(StoreError, match="lost the PostgreSQL"):
                store.get_kv("x")
            name = url.rsplit("/", 1)[-1]
            with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            with pytest.raises(StoreError) as refused:
                store.get_kv("x")
            message = str(refused.value)
            assert name in message
            assert "127.0.0.1" in message
            assert "hunter2" not in message
            assert "does not exist" in message
        finally:
            with contextlib.suppress(StoreError):
                store.close()


def test_an_older_replica_keeps_reading_after_a_newer_one_adds_a_column(
    db_location: str, clock: ManualClock
) -> None:
    """A rolling upgrade: the new version's migration adds a column while replicas of the
    old one run the same queries they ran a hundred times before."""
    old = Store(db_location, clock=clock)
    try:
        ref = TaskRef(system="talend", kind=TaskKind.TASK, id="t1")
        start = clock() + timedelta(hours=1)
        old.create_window(
            Window(start=start, end=start + timedelta(hours=1), tz="UTC"),
            requested_by="alice",
            tasks=[(ref, "nightly load")],
        )
        for _ in range(20):  # far past psycopg's default threshold for preparing a query
            assert len(old.open_windows()) == 1
        with psycopg.connect(db_location, autocommit=True) as newer:
            newer.execute("ALTER TABLE windows ADD COLUMN from_a_newer_version TEXT")
            newer.execute("ALTER TABLE window_tasks ADD COLUMN from_a_newer_version TEXT")
        assert len(old.open_windows()) == 1
        assert len(old.window_tasks(old.open_windows()[0].id)) == 1
    finally:
        old.close()
