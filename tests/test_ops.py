"""Operations basics over real I/O: /metrics scraped from the served bot after real checks,
/readyz failing on a stale clock heartbeat and on a store that is gone, JSON log lines
parsed back (secrets redacted), and `maintbot serve` refusing a token Slack refuses."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import httpx
import pytest
from fakeslack import FakeSlack
from prometheus_client.parser import text_string_to_metric_families
from slack_bolt.context.respond.async_respond import AsyncRespond
from slackclient import ALICE, BOB, BOT_TOKEN, CAROL, SIGNING_SECRET, SlackWorld
from test_slack_serve import Served, serve_env

from bot.clock import ManualClock
from bot.config import Settings
from bot.lifecycle import HEARTBEAT_KEY, Heartbeat
from bot.lifecycle.loop import LEAD
from bot.logs import JsonFormatter
from bot.metrics import Metrics
from bot.service import Maintbot
from bot.slack.app import MeteredRespond, SlackWiring
from bot.slack.server import SlackService
from bot.store import Store

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    answer = httpx.get(f"{url}/metrics", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return parse(answer.content)


def parse(exposition: bytes) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(exposition.decode()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


# -- /metrics ------------------------------------------------------------------------------------
def test_a_check_moves_the_check_vendor_and_slack_counters_by_one(world: SlackWorld) -> None:
    alice = world.user("alice")
    alice.slash("/maintenance check tomorrow 2-4am").wait()  # warm: users.info is cached after
    before = scrape(world.bot.url)

    alice.slash("/maintenance check tomorrow 3-5am").wait()
    after = scrape(world.bot.url)

    assert moved(before, after, "maintbot_checks_total", outcome="ok") == 1
    assert moved(before, after, "maintbot_system_checks_total", system="talend", outcome="ok") == 1
    assert moved(before, after, "maintbot_check_duration_seconds_count", system="talend") == 1
    for operation in ("upcoming_runs", "running_now"):
        assert (
            moved(
                before,
                after,
                "maintbot_vendor_calls_total",
                system="talend",
                operation=operation,
                outcome="ok",
            )
            == 1
        ), operation
    # Nested calls (describe over list_tasks, one shard over another) count once, as the
    # outer operation: nothing else moved.
    calls = {
        dict(labels)["operation"]
        for (name, labels), count in after.items()
        if name == "maintbot_vendor_calls_total" and count != value(before, name, **dict(labels))
    }
    assert calls <= {"upcoming_runs", "running_now", "describe"}
    assert moved(before, after, "maintbot_slack_requests_total", outcome="handled") == 1
    # The report went to the command's response_url: a delivery, counted as one.
    assert (
        moved(before, after, "maintbot_slack_api_calls_total", method="response_url", outcome="ok")
        == 1
    )
    assert (
        moved(before, after, "maintbot_vendor_retries_total", system="talend", reason="connect")
        == 0
    )
    # Scrape-time gauges: no window yet, the clock is ticked by hand (not this process's).
    assert value(after, "maintbot_clock_leader") == 0
    assert value(after, "maintbot_store_up") == 1
    # Every label value is a bounded word: no ids, no user text.
    for _name, labels in after:
        for _label, text in labels:
            assert "2-4am" not in text
            assert "3-5am" not in text
            assert not text.startswith("U0")


def test_retries_rate_limits_and_refusals_are_counted(world: SlackWorld) -> None:
    sim = world.sandbox.by_vendor("talend")
    before = scrape(world.bot.url)
    sim.faults.fail(503, times=1)
    sim.faults.rate_limit(times=1, retry_after=0.05)
    world.user("alice").slash("/maintenance check tomorrow 2-4am").wait()
    after = scrape(world.bot.url)

    assert (
        moved(before, after, "maintbot_vendor_retries_total", system="talend", reason="http_503")
        == 1
    )
    assert (
        moved(before, after, "maintbot_vendor_retries_total", system="talend", reason="http_429")
        == 1
    )
    assert (
        moved(before, after, "maintbot_rate_limit_waits_total", system="talend", source="vendor")
        == 1
    )
    waited = moved(
        before, after, "maintbot_rate_limit_wait_seconds_total", system="talend", source="vendor"
    )
    assert waited == pytest.approx(0.05)
    assert moved(before, after, "maintbot_checks_total", outcome="ok") == 1  # retried through

    # A forged request is refused and counted as such, never handled.
    forged = world.post(
        "command=%2Fmaintenance&text=check", "application/x-www-form-urlencoded", secret="x"
    )
    assert forged.status == 401
    again = scrape(world.bot.url)
    assert moved(after, again, "maintbot_slack_requests_total", outcome="refused") == 1
    assert moved(after, again, "maintbot_slack_requests_total", outcome="handled") == 0


async def test_answers_to_response_url_that_fail_are_counted_by_outcome(
    fake: FakeSlack,
) -> None:
    metrics = Metrics()
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}/response/x"
    cases = [
        (fake.response_url("fine"), "ok"),
        (f"{fake.url}/no-such-path", "error"),  # what an expired response_url gets: 404
        (nowhere, "unreachable"),
    ]
    for url, _ in cases:
        respond = MeteredRespond(AsyncRespond(response_url=url), metrics)
        with contextlib.suppress(aiohttp.ClientError, OSError):
            await respond(text="the report")
    counted = {
        dict(labels)["outcome"]: count
        for (name, labels), count in parse(metrics.render()).items()
        if name == "maintbot_slack_api_calls_total" and dict(labels)["method"] == "response_url"
    }
    assert counted == {"ok": 1.0, "error": 1.0, "unreachable": 1.0}
    assert fake.responses("fine") == [{"text": "the report"}]


def test_windows_by_state_are_read_from_the_store_at_scrape(world: SlackWorld) -> None:
    assert world.bot.bot is not None
    bot = world.bot.bot
    world.bot.call(bot.plan("tomorrow 2-4am", by=ALICE, tasks="all", tz="UTC"))
    world.bot.call(bot.plan("tomorrow 6-7am", by=ALICE, tasks="all", tz="UTC", approved_by=BOB))
    samples = scrape(world.bot.url)
    assert value(samples, "maintbot_windows", state="planned") == 1
    assert value(samples, "maintbot_windows", state="approved") == 1
    # Nothing is cached: the next scrape reads the store again.
    world.bot.call(bot.plan("tomorrow 8-9am", by=CAROL, tasks="all", tz="UTC"))
    assert value(scrape(world.bot.url), "maintbot_windows", state="planned") == 2


def test_two_bots_in_one_process_keep_their_own_counts() -> None:
    first, second = Metrics(), Metrics()
    first.check_done("ok")
    assert b'maintbot_checks_total{outcome="ok"} 1.0' in first.render()
    assert b"maintbot_checks_total{" not in second.render()


# -- /readyz -------------------------------------------------------------------------------------
@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        yield f


def _settings(fake: FakeSlack, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake.api_url,
        maintbot_db=str(tmp_path / "ready.db"),
    )


async def _ready(client: httpx.AsyncClient) -> tuple[int, dict[str, object]]:
    answer = await client.get("/readyz")
    return answer.status_code, answer.json()


async def test_readyz_fails_on_a_stale_heartbeat_where_the_clock_runs(
    fake: FakeSlack, tmp_path: Path, clock: ManualClock
) -> None:
    store = Store(tmp_path / "ready.db", clock=clock)
    settings = _settings(fake, tmp_path)
    slack = SlackWiring.from_settings(settings)
    bot = Maintbot(settings, store, [], clock, notifier=slack.notifier)
    service = SlackService(bot, slack, run_clock=True, clock_interval=0.05)
    await service.verify_token()
    await service.start()
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=10) as client:
            for _ in range(200):  # the first tick writes the heartbeat
                status, body = await _ready(client)
                if status == 200:
                    break
                await asyncio.sleep(0.02)
            assert status == 200, body
            assert body["failing"] == []
            assert body["checks"]["clock"] == "ok"  # type: ignore[index]
            metrics = (await client.get("/metrics")).text
            assert "maintbot_clock_leader 1.0" in metrics
            assert "maintbot_clock_heartbeat_age_seconds 0.0" in metrics

            # The clock still ticks, but its heartbeat is written at most every 30 s of
            # ticking; ten minutes of the injected clock without one is a stuck clock.
            clock.advance(timedelta(minutes=10))
            status, body = await _ready(client)
            assert status == 503
            assert body["failing"] == ["clock"]
            assert "heartbeat stale: last tick 600 s ago" in str(body["checks"])
            # Alive all the same: /healthz is not readiness.
            assert (await client.get("/healthz")).status_code == 200
    finally:
        await service.stop()
        await bot.aclose()
        store.close()


async def test_a_standby_is_ready_and_says_which_replica_leads(
    fake: FakeSlack, tmp_path: Path, clock: ManualClock
) -> None:
    store = Store(tmp_path / "ready.db", clock=clock)
    # Another replica's clock leads and has ticked: its lease and heartbeat are in the store.
    assert store.try_lead(LEAD, "host-b:4242:ab12", now=clock(), ttl=timedelta(minutes=10))
    store.set_kv(
        HEARTBEAT_KEY, Heartbeat(clock() - timedelta(seconds=7), "host-b:4242:ab12").encode()
    )
    settings = _settings(fake, tmp_path)
    slack = SlackWiring.from_settings(settings)
    bot = Maintbot(settings, store, [], clock, notifier=slack.notifier)
    service = SlackService(bot, slack, run_clock=True, clock_interval=0.05)
    await service.verify_token()
    await service.start()
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=10) as client:
            status, body = await _ready(client)
            for _ in range(100):  # the clock's first turn finds the lease taken
                if "standby" in str(body["checks"]):
                    break
                await asyncio.sleep(0.02)
                status, body = await _ready(client)
            assert status == 200, body
            assert body["checks"]["clock"] == (  # type: ignore[index]
                "ok (standby: host-b:4242:ab12 leads; last tick 7 s ago by host-b:4242:ab12)"
            )
            assert "maintbot_clock_leader 0.0" in (await client.get("/metrics")).text
    finally:
        await service.stop()
        await bot.aclose()
        store.close()


def test_a_heartbeat_says_whose_clock_ticked_and_an_unreadable_one_is_none() -> None:
    at = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)
    beat = Heartbeat(at, "host-a:1:ff")
    assert Heartbeat.decode(beat.encode()) == beat
    # As maintbot wrote it before owners were recorded: the instant alone.
    assert Heartbeat.decode(at.isoformat()) == Heartbeat(at, None)
    for unreadable in (None, "", "{", '{"owner": "x"}', '{"at": "2026-12-04T20:00:00"}', "soon"):
        assert Heartbeat.decode(unreadable) is None, unreadable


async def test_readyz_fails_when_the_store_is_gone_or_the_token_unchecked(
    fake: FakeSlack, tmp_path: Path, clock: ManualClock
) -> None:
    store = Store(tmp_path / "ready.db", clock=clock)
    settings = _settings(fake, tmp_path)
    slack = SlackWiring.from_settings(settings)
    bot = Maintbot(settings, store, [], clock, notifier=slack.notifier)
    service = SlackService(bot, slack, run_clock=False)
    await service.start()
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=10) as client:
            status, body = await _ready(client)
            assert status == 503
            assert body["failing"] == ["slack"]  # auth.test has not run

            await service.verify_token()
            status, body = await _ready(client)
            assert status == 200
            assert body == {
                "ok": True,
                "checks": {
                    "store": "ok",
                    "migrations": "ok",
                    "clock": "ok (not run by this process)",
                    "slack": "ok",
                },
                "failing": [],
            }

            store.close()
            status, body = await _ready(client)
            assert status == 503
            assert body["failing"] == ["store", "migrations"]
            assert str(body["checks"]).count("unreachable") == 1  # type: ignore[union-attr]
            samples = {
                s.name: s.value
                for f in text_string_to_metric_families((await client.get("/metrics")).text)
                for s in f.samples
            }
            assert samples["maintbot_store_up"] == 0
    finally:
        await service.stop()
        await bot.aclose()


async def test_readyz_fails_once_slack_refuses_the_token_at_run_time(
    fake: FakeSlack, tmp_path: Path, clock: ManualClock
) -> None:
    store = Store(tmp_path / "ready.db", clock=clock)
    settings = _settings(fake, tmp_path)
    slack = SlackWiring.from_settings(settings)
    bot = Maintbot(settings, store, [], clock, notifier=slack.notifier)
    service = SlackService(bot, slack, run_clock=False)
    await service.verify_token()
    await service.start()
    try:
        fake.fail("users.info", "token_revoked")
        with pytest.raises(Exception, match="token_revoked"):
            await slack.client.users_info(user="U0ALICE01")
        async with httpx.AsyncClient(base_url=service.url, timeout=10) as client:
            status, body = await _ready(client)
            assert status == 503
            assert body["failing"] == ["slack"]
            assert "token_revoked" in str(body["checks"])
            metrics = (await client.get("/metrics")).text
            assert (
                'maintbot_slack_api_calls_total{method="users.info",outcome="error"} 1.0' in metrics
            )
            assert 'maintbot_slack_api_calls_total{method="auth.test",outcome="ok"} 1.0' in metrics
    finally:
        await service.stop()
        await bot.aclose()
        store.close()


# -- JSON logs -----------------------------------------------------------------------------------
def test_json_log_lines_carry_ids_and_never_a_secret() -> None:
    formatter = JsonFormatter(secrets=["s3cr3t-signing-value"])
    logger = logging.getLogger("bot.test_ops")
    record = logger.makeRecord(
        "bot.test_ops",
        logging.WARNING,
        __file__,
        1,
        "talend answered %s with token=%s and %s (signing s3cr3t-signing-value)",
        ("Bearer abcdefghijklmnop", "tok-123456789", "xoxb-1234-5678-abcdefgh"),
        None,
        extra={"window_id": "win_abc", "request_id": "slack:command:t.1"},
    )
    line = json.loads(formatter.format(record))
    assert set(line) == {"time", "level", "logger", "message", "window_id", "request_id"}
    assert line["level"] == "WARNING"
    assert line["logger"] == "bot.test_ops"
    assert line["window_id"] == "win_abc"
    assert line["request_id"] == "slack:command:t.1"
    for secret in ("abcdefghijklmnop", "tok-123456789", "xoxb-1234", "s3cr3t-signing-value"):
        assert secret not in line["message"]
    assert line["message"].count("[redacted]") == 4
    assert line["time"].endswith("+00:00")


def test_serve_logs_json_lines_with_the_config_summary_and_probes(
    tmp_path: Path, fake: FakeSlack
) -> None:
    env = serve_env(tmp_path, fake, MAINTBOT_LOG_FORMAT="json", MAINTBOT_LOG_LEVEL="INFO")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", "0", "--sandbox"],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    served = Served(process)
    try:
        found = served.wait_for(r"serving on (http://127\.0\.0\.1:\d+)/slack/events")
        url = found.group(1)
        lines = [json.loads(line) for line in served.seen]  # every line is JSON
        messages = [line["message"] for line in lines]
        assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
        (summary,) = [m for m in messages if m.startswith("maintbot serve: systems:")]
        assert "talend (talend)" in summary
        assert "zone: UTC" in summary
        assert "window clock: runs in this process" in summary
        assert "team Fake as maintbot" in summary
        warned = [line for line in lines if "MAINTBOT_ALERT_CHANNEL is not set" in line["message"]]
        assert warned
        assert warned[0]["level"] == "WARNING"
        assert BOT_TOKEN not in "".join(served.seen)
        assert SIGNING_SECRET not in "".join(served.seen)

        for _ in range(100):
            ready = httpx.get(f"{url}/readyz", timeout=10)
            if ready.status_code == 200:
                break
        assert ready.status_code == 200, ready.text
        metrics = httpx.get(f"{url}/metrics", timeout=10).text
        assert "maintbot_clock_leader 1.0" in metrics
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        served.reader.join(10)
        assert process.stderr is not None
        process.stderr.close()


# -- start-up ------------------------------------------------------------------------------------
def test_serve_exits_non_zero_when_slack_refuses_the_token(tmp_path: Path, fake: FakeSlack) -> None:
    fake.fail("auth.test", "invalid_auth")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--port", "0", "--sandbox"],
        cwd=tmp_path,
        env=serve_env(tmp_path, fake),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Slack refused SLACK_BOT_TOKEN (auth.test: invalid_auth)" in done.stderr
    assert "Traceback" not in done.stderr
    assert BOT_TOKEN not in done.stderr
    assert "serving on" not in done.stderr
    assert [c.method for c in fake.calls] == ["auth.test"]  # nothing else was tried


def test_serve_exits_non_zero_when_slack_cannot_be_reached(tmp_path: Path, fake: FakeSlack) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = serve_env(tmp_path, fake, SLACK_API_URL=f"http://127.0.0.1:{port}/api/")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--port", "0", "--sandbox"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 1
    assert "cannot reach Slack" in done.stderr
    assert "Traceback" not in done.stderr


def test_json_lines_take_the_request_and_window_ids_from_their_context() -> None:
    import contextvars

    from bot.logs import REQUEST_ID, WINDOW_ID

    formatter = JsonFormatter()
    record = logging.getLogger("bot.lifecycle").makeRecord(
        "bot.lifecycle", logging.INFO, __file__, 1, "paused %s", ("talend:t1",), None
    )

    def inside() -> dict[str, str]:
        REQUEST_ID.set("slack:command:t.42")
        WINDOW_ID.set("win_0042")
        return dict(json.loads(formatter.format(record)))

    line = contextvars.copy_context().run(inside)
    assert line["request_id"] == "slack:command:t.42"
    assert line["window_id"] == "win_0042"
    assert "window_id" not in json.loads(formatter.format(record))  # outside: none
