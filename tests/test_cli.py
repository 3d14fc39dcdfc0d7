"""The maintbot command line: output shapes and exit codes (0 ok, 2 bad input, 1 other)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.store import Store
from bot.vendors import VENDORS

NOW = "2026-11-18T10:00:00-08:00"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test runs in its own directory with no config, .env or database around."""
    monkeypatch.chdir(tmp_path)
    for var in ("MAINTBOT_CONFIG", "MAINTBOT_DB", "MAINTBOT_TZ", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MAINTBOT_DB", str(tmp_path / "maintbot.db"))
    return tmp_path


def test_parse_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["parse", "Saturday 2-4am", "--tz", "America/Los_Angeles", "--now", NOW, "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out) == {
        "start": "2026-11-21T10:00:00+00:00",
        "end": "2026-11-21T12:00:00+00:00",
        "tz": "America/Los_Angeles",
        "notes": [],
    }


def test_parse_rejection_is_json_on_stdout_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["parse", "5/12 1-2am", "--tz", "UTC", "--now", NOW, "--json"])
    assert code == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert "ambiguous" in error
    assert "Dec 5" in error


def test_parse_human_echo(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "Friday 11pm-1am", "--tz", "America/Los_Angeles", "--now", NOW]) == 0
    out = capsys.readouterr().out
    assert "Fri 20 Nov 2026 23:00 – Sat 21 Nov 2026 01:00 PST" in out
    assert "Sat 21 Nov 2026 07:00 – 09:00 UTC" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["parse", "Saturday 2-4am", "--now", "yesterday"], "--now 'yesterday' is not an ISO-8601"),
        (["parse", "Saturday 2-4am", "--now", "2026-11-18T10:00:00"], "has no offset"),
        (["parse", "Saturday 2-4am", "--tz", "Mars/Olympus", "--now", NOW], "Mars/Olympus"),
        (["parse", "", "--now", NOW], "Saturday 2-4am"),
        (["audit", "--limit", "0"], "--limit: '0' is not a whole number from 1"),
        (
            ["check", "Saturday 2-4am", "--now", NOW, "--config", "nope.toml"],
            "nope.toml does not exist",
        ),
    ],
)
def test_bad_input_exits_2_with_what_to_type(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_check_with_bad_config_key_exits_2_and_names_it(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (isolated / "maintbot.toml").write_text(
        '[schedulers.t]\nvendor = "talend"\nbase_url = "http://127.0.0.1:9"\n'
        'token_env = "T"\ncolour = "red"\n'
    )
    assert main(["check", "Saturday 2-4am", "--now", NOW]) == 2
    assert "unknown key 'colour' in [schedulers.t]" in capsys.readouterr().err


def test_audit_shows_the_trail_newest_first(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store(isolated / "maintbot.db")
    store.audit("alice", "plan", "ok", window_id="w_1")
    store.audit("maintbot", "pause", "failed", system="talend", task_id="t-1", error="503")
    store.close()
    assert main(["audit", "--json", "--limit", "5"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["actor"], r["action"], r["outcome"]) for r in rows] == [
        ("maintbot", "pause", "failed"),
        ("alice", "plan", "ok"),
    ]
    assert main(["audit"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == [
        "when",
        "who",
        "action",
        "target",
        "outcome",
        "error",
        "or",
        "reason",
    ]
    assert "talend:t-1" in table[2]
    assert " UTC " in table[2]  # MAINTBOT_TZ unset: UTC


def test_empty_audit(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit"]) == 0
    assert capsys.readouterr().out.strip() == "The audit log is empty."


def test_console_entry_point_runs_as_a_module(isolated: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "parse", "every 0 days 1-2am", "--json", "--now", NOW],
        capture_output=True,
        text=True,
        cwd=isolated,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "repeats nothing" in json.loads(result.stdout)["error"]


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``code`` run by a fresh interpreter: what a process loads and sets is its own."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "argv",
    [["--version"], ["--help"], ["check", "--help"], ["suggest", "--help"], ["db", "--help"]],
)
def test_version_and_help_load_none_of_the_application(isolated: Path, argv: list[str]) -> None:
    # The help and the version answer from the parser alone: no pydantic, no store, no
    # HTTP stack, no simulators, none of the application.
    probe = (
        "import sys\n"
        "from bot.cli import main\n"
        "try:\n"
        f"    code = main({argv!r})\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "heavy = ('httpx', 'aiohttp', 'pydantic', 'pydantic_settings', 'sqlite_utils',"
        " 'psycopg', 'bot.sandbox', 'bot.service', 'bot.store', 'bot.config', 'slack_bolt')\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy)\n"
        "print('LOADED', loaded)\n"
        "sys.exit(code)\n"
    )
    result = _python(probe, isolated)
    assert result.returncode == 0, result.stderr
    *shown, loaded = result.stdout.splitlines()
    assert loaded == "LOADED []"
    if argv == ["--version"]:
        assert shown[0].startswith("maintbot ")
    else:
        assert shown[0].startswith("usage: maintbot")
    if argv == ["suggest", "--help"]:
        assert "(default 3)" in "\n".join(shown)  # the defaults still reach the help


def test_check_reports_a_failing_scheduler_in_one_line_and_still_shows_the_others(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import write_sandbox_config
    from bot.sandbox import SandboxServer, make_simulators, sandbox_config

    sims = make_simulators()
    with SandboxServer(sims) as server:
        broken = server.by_vendor("pyramid")
        broken.faults.malformed(
            times=1000, path_contains="findSchedule", body='{"this is": "not a schedule list"}'
        )
        write_sandbox_config(isolated / "maintbot.toml", sandbox_config(sims))
        code = main(["check", "Saturday 2-4am", "--tz", "UTC", "--json"])
        captured = capsys.readouterr()
        assert code == 1  # the report is printed, and the exit code says it is partial
        report = json.loads(captured.out)
        systems = {s["system"]: s for s in report["systems"]}
        assert systems["pyramid"]["ok"] is False
        assert "malformed response" in systems["pyramid"]["error"]
        assert "\n" not in systems["pyramid"]["error"]
        assert all(systems[v]["ok"] for v in ("talend", "bmc", "huawei"))
        assert {c["system"] for c in report["conflicts"]} >= {"talend", "bmc", "huawei"}
        assert "Traceback" not in captured.err

        assert main(["check", "Saturday 2-4am", "--tz", "UTC"]) == 1
        table = capsys.readouterr().out
        assert "Pyramid Analytics (pyramid): ERROR: malformed response" in table
        # Said plainly at the top: a plan made from this report would miss its tasks.
        assert (
            "WARNING: Pyramid Analytics (pyramid) did not answer: its tasks are missing from "
            "this report, and a plan made from it would not pause them." in table
        )


def test_check_with_sandbox_uses_the_simulators_even_beside_a_config(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A config whose only scheduler cannot be reached: --sandbox must not read it at all.
    (isolated / "maintbot.toml").write_text(
        '[schedulers.t]\nvendor = "talend"\nbase_url = "http://127.0.0.1:9"\ntoken_env = "T"\n'
    )
    code = main(["check", "Saturday 2-4am", "--tz", "UTC", "--sandbox", "--json"])
    captured = capsys.readouterr()
    assert captured.err.startswith("--sandbox: checking the built-in sandbox (talend http://")
    report = json.loads(captured.out)
    assert {s["system"] for s in report["systems"]} == set(VENDORS)
    assert report["conflicts"]
    assert code == (0 if all(s["ok"] for s in report["systems"]) else 1)
    assert "title" not in report["window"]


def test_check_json_names_the_title_of_the_text(capsys: pytest.CaptureFixture[str]) -> None:
    main(["check", "db failover Saturday 2-4am", "--tz", "UTC", "--sandbox", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["window"]["title"] == "db failover"
    assert report["window"]["start"].endswith("T02:00:00+00:00")


def test_serve_no_clock_serves_slack_without_the_window_clock(tmp_path: Path) -> None:
    import signal

    import httpx
    from fakeslack import FakeSlack
    from test_slack_serve import Served, serve_env

    with FakeSlack() as fake:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--port", "0", "--sandbox", "--no-clock"],
            cwd=tmp_path,
            env=serve_env(tmp_path, fake),
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        served = Served(process)
        try:
            served.wait_for(r"--no-clock: the window clock is off in this process")
            url = served.wait_for(r"serving on (http://127\.0\.0\.1:\d+)/slack/events").group(1)
            health = httpx.get(f"{url}/healthz", timeout=10)
            assert health.status_code == 200
            assert health.json() == {
                "ok": True,
                "store": "ok",
                "clock": "not running in this process",
            }
            process.send_signal(signal.SIGTERM)
            assert process.wait(30) == 0
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(10)
            served.reader.join(10)
            assert process.stderr is not None
            process.stderr.close()


def test_check_leads_with_what_to_do_and_all_lists_the_unknown_times(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # No config: the built-in sandbox, whose Pyramid exposes no run times and whose BMC
    # has stopped ETLs.
    args = ["check", "Saturday 2-4am", "--tz", "UTC", "--now", NOW]
    main(args)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "Maintenance Sat 21 Nov 02:00–04:00 UTC"
    (pyramid,) = [line for line in lines if "Pyramid Analytics schedules may fire" in line]
    assert pyramid.strip().startswith(tuple("123456789"))
    check_id = lines[-1].removeprefix("report ")
    assert f"`maintbot report {check_id} --all` lists them." in pyramid
    assert "may fire (time unknown)" not in out
    assert "running at start · since " in out
    # Stopped BMC ETLs are listed with the paused ones, never as "may fire".
    bmc = out[out.index("BMC Helix") :].split("\n\n")[0]
    held = bmc[bmc.index("Already paused or stopped") :]
    assert "stopped in BMC" in held
    assert "may fire" not in held
    assert "stopped in BMC" not in bmc[: bmc.index("Already paused or stopped")]
    # --all on the stored report lists every schedule that line stood for.
    count = int(pyramid.split()[0])
    assert main(["report", check_id, "--all"]) == 0
    listed = capsys.readouterr().out
    block = listed[listed.index("Pyramid Analytics schedules may fire") :]
    block = block[: block.index("Already paused or stopped")]
    rows = block.splitlines()[3:]  # after the line, the header and the rule
    assert len([r for r in rows if "Pyramid's API exposes no next-run time" in r]) == count


def test_a_verb_runs_with_maintbots_collector_thresholds(isolated: Path) -> None:
    # A large check allocates so much that CPython's default thresholds cost a fifth of it
    # in collections (bot/runtime.py); every verb runs with maintbot's own.
    probe = (
        "import gc, sys\n"
        "from bot.cli import main\n"
        "from bot.runtime import GC_THRESHOLDS\n"
        "before = gc.get_threshold()\n"
        "code = main(['parse', 'Saturday 2-4am', '--tz', 'UTC', '--now', "
        "'2026-11-18T10:00:00+00:00'])\n"
        "print('THRESHOLDS', before != GC_THRESHOLDS, gc.get_threshold() == GC_THRESHOLDS)\n"
        "sys.exit(code)\n"
    )
    result = _python(probe, isolated)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "THRESHOLDS True True"
