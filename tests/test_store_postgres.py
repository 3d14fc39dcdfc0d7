"""The store on PostgreSQL itself: the append-only audit enforced by the server, claims
that stay exactly-once between processes, ``db copy`` and ``db migrate``, and every bad
``MAINTBOT_DB`` URL (one clear line naming the host and database, never the password; exit
2 for a URL to fix, 1 for a server out of reach; nothing written).

The store's behaviour on both engines is tests/test_store.py and the lifecycle tests."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pg
import psycopg
import pytest

from bot.cli import main
from bot.clock import ManualClock
from bot.errors import StoreError
from bot.model import PlannedTaskState, TaskKind, TaskRef, Window
from bot.store import SCHEMA_VERSION, TABLES, Store

START = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
WINDOW = Window(start=START, end=START + timedelta(hours=2), tz="UTC", text="Saturday 10-12")
REF = TaskRef(system="talend", kind=TaskKind.TASK, id="t-1")
PASSWORD = "Sup3rSecretPw-not-to-be-seen"


@pytest.fixture
def url() -> Iterator[str]:
    with pg.fresh_database() as fresh:
        yield fresh


@pytest.fixture
def pg_store(url: str, clock: ManualClock) -> Iterator[Store]:
    store = Store(url, clock=clock)
    yield store
    store.close()


def raw(url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(url, autocommit=True)


def tables(url: str) -> set[str]:
    with raw(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        ).fetchall()
    return {str(r[0]) for r in rows}


# -- the schema and the append-only audit ---------------------------------------------------
def test_new_database_gets_every_table_and_the_schema_version(pg_store: Store, url: str) -> None:
    assert pg_store.engine == "postgresql"
    assert pg_store.schema_version() == SCHEMA_VERSION
    assert tables(url) == {*TABLES, "schema_version"}
    assert PASSWORD not in pg_store.where


_ROW_REWRITES = [
    "UPDATE audit SET outcome = 'failed'",
    "DELETE FROM audit",
    "DELETE FROM audit WHERE id = 1",
    "TRUNCATE audit",
    "INSERT INTO audit (id, at, actor, action, outcome) VALUES (1, 'x', 'mallory', 'pause', 'ok') "
    "ON CONFLICT (id) DO UPDATE SET outcome = 'failed'",
    "INSERT INTO audit (id, at, actor, action, outcome) VALUES (1, 'x', 'mallory', 'pause', 'ok')",
    "MERGE INTO audit USING (SELECT 1 AS id) AS s ON audit.id = s.id "
    "WHEN MATCHED THEN UPDATE SET outcome = 'failed'",
]


@pytest.mark.parametrize("statement", _ROW_REWRITES)
def test_audit_rows_cannot_be_rewritten_on_any_connection(
    pg_store: Store, url: str, statement: str
) -> None:
    """The server refuses, whoever connects: the trigger raises for every role (the test
    role is a superuser, whom privileges do not stop)."""
    pg_store.audit("alice", "pause", "ok", system="talend", task_id="t-1")
    before = pg_store.audit_rows()
    with raw(url) as conn, pytest.raises(psycopg.Error, match=r"append-only|duplicate key"):
        conn.execute(statement)
    assert pg_store.audit_rows() == before
    pg_store.audit("bob", "resume", "ok")  # appending still works
    assert len(pg_store.audit_rows()) == 2


def test_an_ordinary_owner_role_has_no_update_delete_or_truncate_on_audit(url: str) -> None:
    """Where maintbot runs as an ordinary role owning its tables (as in production), the
    privileges are gone too: a rewrite is refused before the trigger is reached."""
    role = f"maintbot_owner_{url.rsplit('_', 1)[-1]}"
    dbname = url.rsplit("/", 1)[-1]
    with raw(url) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
        admin.execute(f'GRANT ALL ON DATABASE "{dbname}" TO "{role}"')
        admin.execute(f'GRANT ALL ON SCHEMA public TO "{role}"')
    try:
        as_owner = url.replace("postgres@", f"{role}@", 1)
        store = Store(as_owner)
        try:
            store.audit("alice", "plan", "ok")
        finally:
            store.close()
        with raw(as_owner) as conn:
            for statement in ("UPDATE audit SET outcome = 'x'", "DELETE FROM audit"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)
            conn.execute(
                "INSERT INTO audit (at, actor, action, outcome) VALUES ('x', 'b', 'c', 'ok')"
            )
    finally:
        with raw(url) as admin:
            admin.execute(f'REASSIGN OWNED BY "{role}" TO CURRENT_USER')
            admin.execute(f'DROP OWNED BY "{role}"')
            admin.execute(f'DROP ROLE "{role}"')


def test_exclusive_claims_of_two_windows_on_two_connections_have_one_winner(
    url: str, clock: ManualClock
) -> None:
    """Two replicas claim the rows two overlapping windows hold for one task, one to pause
    and one to resume, at the same instant: the per-task lock lets exactly one through."""
    stores = [Store(url, clock=clock) for _ in range(4)]
    try:
        for round_ in range(10):
            ref = TaskRef(system="talend", kind=TaskKind.TASK, id=f"race-{round_}")
            rows = []
            for _ in stores:
                record = stores[0].create_window(WINDOW, requested_by="a", tasks=[(ref, "n")])
                rows.extend(stores[0].window_tasks(record.id))
            barrier = threading.Barrier(len(stores))
            wins: list[bool] = []

            def claim(
                store: Store, seen: object, barrier: threading.Barrier, wins: list[bool]
            ) -> None:
                barrier.wait()
                wins.append(
                    store.claim_task(
                        seen,  # type: ignore[arg-type]
                        PlannedTaskState.PAUSING,
                        owner=f"clock-{id(store)}",
                        now=START,
                        lease_until=START + timedelta(minutes=1),
                    )
                )

            threads = [
                threading.Thread(target=claim, args=(s, r, barrier, wins))
                for s, r in zip(stores, rows, strict=True)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert sorted(wins) == [False] * (len(stores) - 1) + [True]
    finally:
        for s in stores:
            s.close()


# -- db copy and db migrate -----------------------------------------------------------------
@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for var in list(os.environ):
        if var.startswith(("MAINTBOT_", "SLACK_")):
            monkeypatch.delenv(var)
    monkeypatch.setenv("MAINTBOT_DB", str(tmp_path / "maintbot.db"))
    return tmp_path


def _filled_sqlite(path: Path, clock: ManualClock) -> dict[str, int]:
    store = Store(path, clock=clock)
    try:
        record = store.create_window(WINDOW, requested_by="alice", tasks=[(REF, "Nightly")])
        store.create_approval(record.id, requested_by="alice", expires_at=START)
        for i in range(5):
            store.audit("alice", "pause", "ok", window_id=record.id, detail={"i": i})
        store.claim_alert(record.id, "start")
        store.mark_event_processed("Ev1")
        store.set_kv("clock.tick", "x")
        store.save_check({"ok": True})
        return store.table_counts()
    finally:
        store.close()


def test_db_copy_moves_every_table_and_the_audit_trail(
    home: Path, url: str, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    counts = _filled_sqlite(home / "maintbot.db", clock)
    source = Store(home / "maintbot.db", clock=clock)
    audit_before = source.audit_rows(limit=100)
    source.close()

    assert main(["db", "copy", "--to", url]) == 0
    out = capsys.readouterr().out
    assert "audit" in out
    assert "5" in out

    copied = Store(url, clock=clock)
    try:
        assert copied.table_counts() == counts
        assert copied.audit_rows(limit=100) == audit_before  # ids, times and details kept
        # New rows continue after the copied ids.
        assert copied.audit("bob", "resume", "ok") == max(r.id for r in audit_before) + 1
    finally:
        copied.close()


def test_db_copy_refuses_a_target_that_holds_rows_and_writes_nothing(
    home: Path, url: str, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    _filled_sqlite(home / "maintbot.db", clock)
    target = Store(url, clock=clock)
    target.audit("someone", "plan", "ok")
    target.close()

    assert main(["db", "copy", "--to", url]) == 2
    err = capsys.readouterr().err
    assert "already holds" in err
    assert "audit 1" in err
    check = Store(url, clock=clock)
    try:
        assert sum(check.table_counts().values()) == 1
    finally:
        check.close()


def test_db_migrate_check_says_whether_the_schema_is_current(
    home: Path, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MAINTBOT_DB", url)
    assert main(["db", "migrate", "--check"]) == 1  # an empty database: nothing written
    assert tables(url) == set()
    assert main(["db", "migrate"]) == 0
    assert f"from 0 to {SCHEMA_VERSION}" in capsys.readouterr().out
    assert main(["db", "migrate", "--check"]) == 0


# -- bad MAINTBOT_DB URLs -------------------------------------------------------------------
def _bad_urls() -> list[tuple[str, str, int, tuple[str, ...]]]:
    base = pg.ADMIN_URL
    host = base.split("@", 1)[-1].split("/", 1)[0]
    return [
        ("malformed port", f"postgresql://u:{PASSWORD}@db.example:notaport/x", 2, ("not a valid",)),
        ("malformed host", f"postgresql://u:{PASSWORD}@[::1/x", 2, ("not a valid",)),
        ("no database", f"postgresql://u:{PASSWORD}@{host}", 2, ("names no database",)),
        (
            "unreachable",
            f"postgresql://u:{PASSWORD}@127.0.0.1:1/maintbot",
            1,
            ('database "maintbot" on 127.0.0.1:1', "cannot reach"),
        ),
        (
            "unknown role",
            f"postgresql://nobody_here:{PASSWORD}@{host}/postgres",
            2,
            ('database "postgres"', 'role "nobody_here" does not exist'),
        ),
        (
            "unknown database",
            pg.url_for("no_such_maintbot_db").replace("@", f":{PASSWORD}@", 1),
            2,
            ('database "no_such_maintbot_db"', "does not exist"),
        ),
    ]


@pytest.mark.parametrize(
    ("url", "code", "says"), [c[1:] for c in _bad_urls()], ids=[c[0] for c in _bad_urls()]
)
def test_a_bad_url_is_one_clear_line_without_the_password(
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    url: str,
    code: int,
    says: tuple[str, ...],
) -> None:
    pg.require()
    monkeypatch.setenv("MAINTBOT_DB", url)
    caplog.set_level(logging.DEBUG)
    assert main(["windows"]) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    for text in says:
        assert text in line
    for seen in (captured.err, caplog.text):
        assert PASSWORD not in seen
    assert not (home / "maintbot.db").exists()
    with pytest.raises(StoreError):
        Store(url)


def test_a_bad_url_in_a_process_with_debug_logs_never_shows_the_password(home: Path) -> None:
    pg.require()
    url = f"postgresql://nobody_here:{PASSWORD}@127.0.0.1:1/maintbot"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAINTBOT_", "SLACK_"))}
    env.update(MAINTBOT_DB=url, MAINTBOT_LOG_LEVEL="DEBUG")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "audit"],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "127.0.0.1:1" in done.stderr
    assert "Traceback" not in done.stderr
    assert PASSWORD not in done.stderr + done.stdout


def test_a_database_with_a_newer_schema_is_refused_and_left_alone(
    home: Path, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with raw(url) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO schema_version VALUES (99)")
    monkeypatch.setenv("MAINTBOT_DB", url.replace("postgres@", f"postgres:{PASSWORD}@", 1))
    assert main(["windows"]) == 2
    err = capsys.readouterr().err
    assert "schema version 99, newer than this maintbot understands" in err
    assert url.rsplit("/", 1)[-1] in err
    assert PASSWORD not in err
    assert tables(url) == {"schema_version"}  # nothing written


def test_a_sqlite_file_with_a_newer_schema_is_a_config_error_too(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = sqlite3.connect(home / "maintbot.db")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    assert main(["windows"]) == 2
    assert "newer than this maintbot understands" in capsys.readouterr().err
