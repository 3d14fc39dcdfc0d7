"""Every small bad input to the command line is one clear message, exit 2 (or 1 where the
input is fine but the world is not), no traceback, and nothing written: no database created
or changed, no window planned, no simulator started.

Most cases run ``bot.cli.main`` in-process (the same code ``python -m bot`` runs); the ones
that must prove a whole process stops before doing anything run it as a subprocess."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.store import Store

SECRET = "xoxb-1234567890-not-to-be-seen"
NO_CONFIG_HINTS = ("maintbot sandbox --write-config maintbot.toml", "--sandbox", "README")


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory with no maintbot.toml, no .env and no database; nothing from the shell."""
    monkeypatch.chdir(tmp_path)
    for var in list(os.environ):
        if var.startswith(("MAINTBOT_", "SLACK_")):
            monkeypatch.delenv(var)
    monkeypatch.setenv("MAINTBOT_DB", str(tmp_path / "maintbot.db"))
    return tmp_path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def process(home: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MAINTBOT_", "SLACK_"))}
    clean.update(MAINTBOT_DB=str(home / "maintbot.db"), **env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *argv],
        cwd=home,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def files(home: Path) -> set[str]:
    return {p.name for p in home.iterdir()}


# -- no silent simulators -------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--port", "0"],
        ["worker", "--once"],
        ["plan", "tomorrow 2-4am", "--tasks", "all", "--requested-by", "alice"],
    ],
    ids=["serve", "worker", "plan"],
)
def test_serve_worker_plan_without_a_config_stop_before_doing_anything(
    home: Path, argv: list[str]
) -> None:
    done = process(
        home, *argv, SLACK_BOT_TOKEN=SECRET, SLACK_SIGNING_SECRET="s3cret-signing-secret"
    )
    assert done.returncode == 2
    assert "no scheduler is configured" in done.stderr
    for hint in NO_CONFIG_HINTS:
        assert hint in done.stderr
    assert "Traceback" not in done.stderr
    assert "built-in sandbox (" not in done.stderr  # no simulator was started
    assert "serving on" not in done.stderr  # no port was opened
    assert SECRET not in done.stderr + done.stdout
    assert files(home) == set()  # no database, nothing else


def test_a_missing_maintbot_config_is_an_error_even_for_check(home: Path) -> None:
    done = process(home, "check", "Saturday 2-4am", MAINTBOT_CONFIG="/missing.toml")
    assert done.returncode == 2
    assert "config file /missing.toml does not exist (MAINTBOT_CONFIG names it)" in done.stderr
    assert "sandbox" not in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "Saturday 2-4am"],
        ["plan", "tomorrow 2-4am", "--requested-by", "alice"],
        ["worker", "--once"],
        ["serve", "--port", "0"],
    ],
    ids=["check", "plan", "worker", "serve"],
)
@pytest.mark.parametrize("named_by", ["MAINTBOT_CONFIG", "--config"])
def test_a_named_config_that_does_not_exist_is_an_error_everywhere(
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    named_by: str,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", SECRET)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s3cret-signing-secret")
    missing = home / "volume" / "maintbot.toml"
    if named_by == "--config":
        argv = [*argv, "--config", str(missing)]
    else:
        monkeypatch.setenv("MAINTBOT_CONFIG", str(missing))
    code, out, err = run(argv, capsys)
    assert code == 2
    assert f"config file {missing} does not exist ({named_by} names it)" in err
    assert out == ""
    assert "sandbox" not in err
    assert files(home) == set()


def test_sandbox_and_config_together_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["worker", "--sandbox", "--config", "maintbot.toml", "--once"], capsys)
    assert code == 2
    assert "argument --config: not allowed with argument --sandbox" in err


def test_plan_and_worker_run_against_the_simulators_with_sandbox(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        [
            "plan",
            "in 2 hours for 1 hour",
            "--sandbox",
            "--tasks",
            "all",
            "--requested-by",
            "alice",
            "--approved-by",
            "bob",
            "--json",
        ],
        capsys,
    )
    assert code == 0, err
    assert err.startswith("--sandbox: planning against the built-in sandbox (talend http://")
    window = json.loads(out)
    assert window["state"] == "approved"
    assert {t["system"] for t in window["tasks"]} >= {"talend", "bmc"}

    code, out, err = run(["worker", "--sandbox", "--once"], capsys)
    assert code == 0, err
    assert "--sandbox: running against the built-in sandbox" in err
    assert out.startswith("maintbot worker: ")
    code, out, _ = run(["windows", "--json"], capsys)
    assert [w["id"] for w in json.loads(out)["windows"]] == [window["id"]]


# -- numbers on the command line --------------------------------------------------------------
HUGE = "9" * 5000  # longer than int() reads by default


@pytest.mark.parametrize(
    ("argv", "option", "example"),
    [
        (["audit"], "--limit", "--limit 20"),
        (["windows"], "--limit", "--limit 20"),
        (["sandbox"], "--port", "--port 8000"),
        (["sandbox"], "--latency-ms", "--latency-ms 40"),
        (["sandbox"], "--scale", "--scale 10"),
        (["plan", "tomorrow 2-4am", "--requested-by", "a"], "--drain-lead", "--drain-lead 15"),
        (["worker", "--once"], "--interval", "--interval 5"),
        (["extend", "w_1", "--by", "b"], "--minutes", "--minutes 30"),
        (["serve"], "--port", "--port 3000"),
    ],
    ids=lambda v: v if isinstance(v, str) and v.startswith("--") and " " not in v else None,
)
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "1e999", HUGE, "x", "²", ""])
def test_bad_numbers_are_exit_2_saying_what_to_type(
    home: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    option: str,
    example: str,
    value: str,
) -> None:
    # "--limit=-inf": argparse reads a separate "-inf" as an option, not as a value.
    code, out, err = run([*argv, f"{option}={value}"], capsys)
    assert code == 2
    assert out == ""
    assert f"argument {option}: " in err
    assert "is not a" in err
    assert f"e.g. {example}" in err
    assert "Traceback" not in err
    assert len(err) < 2000  # a 5,000-digit value is not echoed whole
    assert files(home) == set()


def test_a_negative_number_given_the_usual_way_is_read_as_a_value(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(["audit", "--limit", "-5"], capsys)
    assert code == 2
    assert "argument --limit: '-5' is not a whole number from 1" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["audit", "--limit", "0"], "'0' is not a whole number from 1 to 1000000"),
        (["audit", "--limit", "2.5"], "'2.5' is not a whole number"),
        (["sandbox", "--port", "65533"], "from 0 to 65532"),  # four ports from the first
        (["worker", "--interval", "0"], "more than 0"),
        (["extend", "w_1", "--by", "b", "--minutes", "0"], "more than 0"),
        (["extend", "w_1", "--by", "b", "--minutes", "1e6"], "to 20160"),
    ],
)
def test_out_of_range_numbers_name_the_range(
    home: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = run(argv, capsys)
    assert code == 2
    assert message in err
    assert files(home) == set()


def test_good_numbers_still_work(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["audit", "--limit", " 20 "], capsys)[0] == 0
    assert run(["windows", "--limit", "0"], capsys)[0] == 0


# -- config numbers and inline credentials, through the CLI --------------------------------
TALEND = (
    '[schedulers.talend-prod]\nvendor = "talend"\nbase_url = "http://127.0.0.1:9"\n'
    'token_env = "TALEND_TOKEN"\n'
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"[maintbot]\ndeadline_seconds = inf\n{TALEND}", "deadline_seconds in [maintbot]"),
        (f"[maintbot]\ndeadline_seconds = nan\n{TALEND}", "deadline_seconds in [maintbot]"),
        (f"{TALEND}lookback_hours = inf\n", "lookback_hours in [schedulers.talend-prod]"),
        (f"{TALEND}rate_per_minute = nan\n", "rate_per_minute in [schedulers.talend-prod]"),
        (f"{TALEND}timeout_seconds = 1e999\n", "timeout_seconds in [schedulers.talend-prod]"),
        (f"{TALEND}max_concurrency = 100000\n", "max_concurrency in [schedulers.talend-prod]"),
    ],
)
def test_config_numbers_must_be_finite_and_in_range(
    home: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    (home / "maintbot.toml").write_text(text)
    code, out, err = run(["check", "Saturday 2-4am", "--now", "2026-11-18T10:00:00-08:00"], capsys)
    assert code == 2
    assert f"maintbot check: maintbot.toml: {message}" in err
    assert "Traceback" not in err
    assert out == ""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            f'extra_env = {{ TALEND_TOKEN = "{SECRET}" }}\n{TALEND}',
            "unknown top-level key 'extra_env'",
        ),
        (f'{TALEND}token = "{SECRET}"\n', "token in [schedulers.talend-prod] looks like a"),
        (TALEND.replace('"TALEND_TOKEN"', f'"{SECRET}"'), "must be the name of an environment"),
        (f'{TALEND}environment_id = "Bearer {SECRET}"\n', "environment_id in [schedulers"),
    ],
)
def test_inline_credentials_are_refused_and_never_repeated(
    home: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    (home / "maintbot.toml").write_text(text)
    code, out, err = run(["plan", "tomorrow 2-4am", "--requested-by", "a"], capsys)
    assert code == 2
    assert message in err
    assert "environment variable" in err  # says what to do instead
    assert SECRET not in err + out
    assert files(home) == {"maintbot.toml"}  # no window planned, no database


# -- the database file -----------------------------------------------------------------------
def _db_bytes(path: Path) -> bytes:
    return path.read_bytes()


@pytest.mark.parametrize("verb", [["audit"], ["windows"], ["cancel", "w_1", "--by", "b"]])
def test_database_in_a_missing_directory(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], verb: list[str]
) -> None:
    db = home / "data" / "maintbot.db"
    monkeypatch.setenv("MAINTBOT_DB", str(db))
    code, _, err = run(verb, capsys)
    assert code == 2
    assert f"cannot create the database {db}: the directory {db.parent} does not exist" in err
    assert "MAINTBOT_DB" in err
    assert files(home) == set()  # the directory was not created either


def test_database_path_that_is_a_directory(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (home / "data").mkdir()
    monkeypatch.setenv("MAINTBOT_DB", str(home / "data"))
    code, _, err = run(["audit"], capsys)
    assert code == 2
    assert f"{home / 'data'} is a directory" in err
    assert list((home / "data").iterdir()) == []


def test_a_file_that_is_not_a_database_is_left_alone(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = home / "notes.txt"
    notes.write_text("shopping list: milk, eggs\n" * 50)
    before = _db_bytes(notes)
    monkeypatch.setenv("MAINTBOT_DB", str(notes))
    code, _, err = run(["windows"], capsys)
    assert code == 2
    assert f"{notes} is not a SQLite database" in err
    assert "Traceback" not in err
    assert _db_bytes(notes) == before
    assert files(home) == {"notes.txt"}  # no -wal or -shm beside it


def _database(home: Path) -> Path:
    db = home / "maintbot.db"
    store = Store(db)
    store.audit("alice", "plan", "ok", window_id="w_1")
    store.close()
    return db


def test_a_damaged_database_is_exit_1_and_unchanged(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _database(home)
    damaged = bytearray(_db_bytes(db))
    damaged[100:] = b"\xff" * (len(damaged) - 100)  # the header survives, the pages do not
    db.write_bytes(bytes(damaged))
    code, _, err = run(["audit"], capsys)
    assert code == 1
    assert f"the database {db} is damaged" in err
    assert ".recover" in err
    assert _db_bytes(db) == damaged


def test_a_read_only_database_is_refused_at_open(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _database(home)
    # SQLite treats a file whose format write-version is above 2 as read-only, whatever
    # the permissions say (chmod would not stop a test running as root).
    header = bytearray(_db_bytes(db))
    header[18] = 3
    db.write_bytes(bytes(header))
    code, _, err = run(["audit"], capsys)
    assert code == 1
    assert f"the database {db} is read-only" in err
    assert "writable by the user running maintbot" in err
    assert _db_bytes(db) == header


def test_a_locked_database_says_so_after_the_busy_timeout(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = home / "maintbot.db"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("CREATE TABLE theirs (x)")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO theirs VALUES (1)")
    monkeypatch.setenv("MAINTBOT_DB_BUSY_TIMEOUT", "0.2")
    try:
        code, _, err = run(["audit"], capsys)
        assert code == 1
        assert f"the database {db} stayed locked by another program for more than 0.2 s" in err
        assert "MAINTBOT_DB_BUSY_TIMEOUT" in err
        holder.execute("COMMIT")
    finally:
        holder.close()
    # Nothing of ours was half-written, and the lock holder's work is intact.
    check = sqlite3.connect(db)
    try:
        assert check.execute("SELECT x FROM theirs").fetchall() == [(1,)]
        assert check.execute("PRAGMA user_version").fetchone() == (0,)
    finally:
        check.close()
    assert run(["audit"], capsys)[0] == 0  # once the lock is gone it opens as usual


# -- the environment, and anything unexpected -----------------------------------------------
@pytest.mark.parametrize(
    ("var", "value", "message"),
    [
        ("MAINTBOT_LOG_LEVEL", "chatty", "MAINTBOT_LOG_LEVEL is not a log level"),
        ("MAINTBOT_ALLOW_SELF_APPROVAL", "perhaps", "MAINTBOT_ALLOW_SELF_APPROVAL (Input"),
        ("MAINTBOT_DB_BUSY_TIMEOUT", "nan", "MAINTBOT_DB_BUSY_TIMEOUT (Input should be a finite"),
        ("MAINTBOT_DB_BUSY_TIMEOUT", "-1", "MAINTBOT_DB_BUSY_TIMEOUT (Input should be greater"),
    ],
)
def test_bad_environment_variables_are_named_never_quoted(
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    var: str,
    value: str,
    message: str,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", SECRET)
    monkeypatch.setenv(var, value)
    code, out, err = run(["audit"], capsys)
    assert code == 2
    assert message in err
    assert SECRET not in err + out
    assert "Traceback" not in err
    assert files(home) == set()


def test_anything_unexpected_is_one_line_with_a_reference_and_the_details_at_debug(
    home: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # A window row edited by hand into a state maintbot has never heard of.
    db = _database(home)
    raw = sqlite3.connect(db)
    with raw:
        raw.execute(
            "INSERT INTO windows (id, text, tz, start_at, end_at, state, requested_by, "
            "created_at, updated_at) VALUES ('w_x', 't', 'UTC', '2026-01-01T00:00:00+00:00', "
            "'2026-01-01T01:00:00+00:00', 'haunted', 'a', '2026-01-01T00:00:00+00:00', "
            "'2026-01-01T00:00:00+00:00')"
        )
    raw.close()
    caplog.set_level(logging.DEBUG, logger="bot")
    code, out, err = run(["windows"], capsys)
    assert code == 1
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("maintbot windows: unexpected ")
    assert "MAINTBOT_LOG_LEVEL=DEBUG" in lines[0]
    reference = lines[0].split("(reference ")[1].split(")")[0]
    assert len(reference) == 8
    logged = [r for r in caplog.records if reference in r.getMessage()]
    assert len(logged) == 1
    assert logged[0].levelno == logging.DEBUG
    assert logged[0].exc_info is not None  # the traceback is in the log, not on the screen


# -- ports -------------------------------------------------------------------------------------
@pytest.fixture
def busy_port() -> Iterator[int]:
    import socket

    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    try:
        yield holder.getsockname()[1]
    finally:
        holder.close()


def test_sandbox_on_a_port_in_use_says_so(
    home: Path, capsys: pytest.CaptureFixture[str], busy_port: int
) -> None:
    code, out, err = run(["sandbox", "--port", str(busy_port)], capsys)
    assert code == 2
    assert f"cannot listen on --host 127.0.0.1 --port {busy_port}" in err
    assert "choose another --port, or 0" in err
    assert out == ""
    assert files(home) == set()


def test_serve_on_a_port_in_use_says_so(home: Path, busy_port: int) -> None:
    done = process(
        home,
        "serve",
        "--sandbox",
        "--port",
        str(busy_port),
        SLACK_BOT_TOKEN=SECRET,
        SLACK_SIGNING_SECRET="s3cret-signing-secret",
        SLACK_API_URL="http://127.0.0.1:9/api/",
    )
    assert done.returncode == 2
    assert f"cannot listen on --host 127.0.0.1 --port {busy_port}" in done.stderr
    assert "Traceback" not in done.stderr
    assert SECRET not in done.stderr
