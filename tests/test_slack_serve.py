"""`maintbot serve` as a real process: the sandbox when asked (--sandbox), /healthz,
signed requests to /slack/events, a clean stop on SIGTERM, and refusal without secrets."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from fakeslack import FakeSlack
from slackclient import ALICE, BOT_TOKEN, SIGNING_SECRET, available_vendors, sign


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        yield f


def serve_env(tmp_path: Path, fake: FakeSlack, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "MAINTBOT_"))  # nothing from the developer's shell
    }
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake.api_url,
        MAINTBOT_DB=str(tmp_path / "serve.db"),
        MAINTBOT_CONFIG=str(tmp_path / "absent.toml"),
        MAINTBOT_TZ="UTC",
        MAINTBOT_LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


class Served:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = 60.0) -> re.Match[str]:
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {pattern!r} on stderr; saw {self.seen}") from None
            self.seen.append(line)
            found = re.search(pattern, line)
            if found:
                return found


@pytest.fixture
def served(tmp_path: Path, fake: FakeSlack) -> Iterator[Served]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", "0", "--sandbox"],
        cwd=tmp_path,
        env=serve_env(tmp_path, fake),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    served = Served(process)
    try:
        yield served
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        served.reader.join(10)
        assert process.stderr is not None
        process.stderr.close()


def test_serve_runs_the_app_and_the_clock_and_stops_cleanly(
    served: Served, fake: FakeSlack
) -> None:
    served.wait_for(r"--sandbox: serving against the built-in sandbox")
    url = served.wait_for(r"serving on (http://127\.0\.0\.1:\d+)/slack/events").group(1)

    health = httpx.get(f"{url}/healthz", timeout=10)
    assert health.status_code == 200
    assert health.json() == {"ok": True, "store": "ok", "clock": "running"}

    form = urlencode(
        {
            "command": "/maintenance",
            "text": "check tomorrow 2-4am",
            "user_id": ALICE,
            "channel_id": "C0OPS0001",
            "response_url": fake.response_url("serve1"),
            "trigger_id": "t.serve1",
        }
    )
    answer = httpx.post(
        f"{url}/slack/events",
        content=form.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", **sign(form)},
        timeout=30,
    )
    assert answer.status_code == 200
    count = len(available_vendors())
    assert answer.json()["text"].startswith(f"Checking {count} scheduler")
    report = fake.wait_response("serve1", timeout=60)
    assert report["blocks"][0]["text"]["text"].startswith("Maintenance ")  # the window's name

    forged = httpx.post(
        f"{url}/slack/events",
        content=form.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", **sign(form, secret="x")},
        timeout=30,
    )
    assert forged.status_code == 401

    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(30) == 0


@pytest.mark.parametrize(
    ("args", "unset", "needs"),
    [
        (["serve", "--port", "0"], "SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET"),
        (["serve", "--port", "0"], "SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN"),
        (["serve", "--socket-mode", "--port", "0"], None, "SLACK_APP_TOKEN"),
    ],
)
def test_serve_refuses_to_start_without_what_slack_needs(
    tmp_path: Path, fake: FakeSlack, args: list[str], unset: str | None, needs: str
) -> None:
    env = serve_env(tmp_path, fake)
    if unset:
        env.pop(unset)
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert needs in done.stderr
    assert "Traceback" not in done.stderr
    assert SIGNING_SECRET not in done.stderr


def test_served_window_clock_bounds_each_scheduler_by_its_own_deadline(
    tmp_path: Path, fake: FakeSlack
) -> None:
    """The clock inside serve gets the per-scheduler deadlines (and so leases) that a
    separate worker gets; it used to run every vendor at the 60 s default."""
    import asyncio

    from bot.clock import system_clock
    from bot.config import Settings
    from bot.service import Maintbot
    from bot.slack.app import SlackWiring
    from bot.slack.server import SlackService
    from bot.store import Store

    settings = Settings(
        slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_api_url=fake.api_url
    )
    store = Store(tmp_path / "deadlines.db")

    async def build() -> tuple[float, float]:
        slack = SlackWiring.from_settings(settings)
        bot = Maintbot(
            settings,
            store,
            [],
            system_clock,
            notifier=slack.notifier,
            deadlines={"talend-prod": 3.0},
        )
        SlackService(bot, slack, run_clock=False)
        clock = bot.window_clock
        return clock.deadline_for("talend-prod"), clock.deadline_for("other")

    try:
        assert asyncio.run(build()) == (3.0, 60.0)
    finally:
        store.close()
