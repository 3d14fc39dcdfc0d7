"""Three ``maintbot serve`` processes on one PostgreSQL database, the leader SIGKILLed at a
random moment of each window's start and again of its end (a new replica started after each
kill): every task is paused once and resumed once per window, none is left paused, every
window completes, the audit trail names the replica behind each step (more than one of
them), every live replica answers signed Slack requests, and each window has exactly one
thread in the alerts channel of the fake Slack.

The replicas run on the real clock against the four simulators (in-process, one
:class:`SandboxServer`), with a 2 s clock lease and 1 s per-call deadlines (so 2 s claim
leases): a kill is taken over in about 2 s and a round lasts about 10 s. The same scenario,
with more rounds, is ``bench/soak_replicas.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO
from urllib.parse import urlencode

import httpx
import pg
from fakeslack import FakeSlack
from slackclient import ALERTS, ALICE, BOT_TOKEN, OPS, SIGNING_SECRET, sign
from test_multi_clock import sim_paused, writes
from test_soak import _steady

from bot.check import open_schedulers
from bot.cli import write_sandbox_config
from bot.lifecycle.loop import LEAD
from bot.model import PlannedTaskState, Task, Window, WindowRecord, WindowState
from bot.sandbox import SandboxServer, Simulator, make_simulators, sandbox_config
from bot.store import Store

S = PlannedTaskState
REPO = Path(__file__).resolve().parent.parent

CLOCK_LEASE = 2.0  # MAINTBOT_CLOCK_LEASE_SECONDS for the workers
DEADLINE = 1.0  # each system's deadline_seconds: claim leases of 2 s
INTERVAL = 0.2  # the workers' clock turn


@dataclass
class Replicas:
    """What a run did and what it left behind."""

    rounds: int = 0
    windows: int = 0
    tasks: int = 0
    kills: int = 0
    kills_mid_claim: int = 0  # the leader held a task claim (pausing/resuming) when killed
    takeovers: list[float] = field(default_factory=list)  # kill → another owner's lease, s
    left_paused: int = 0
    double_calls: int = 0  # vendor writes beyond one pause and one resume per task per window
    tasks_called_twice: int = 0
    recovered: int = 0  # pauses/resumes taken over from a dead clock's claim
    lost_claims: int = 0
    unresumed_rows: int = 0  # window rows not ending resumed
    writes: int = 0  # vendor pause/resume requests reaching the simulators
    final_states: Counter[str] = field(default_factory=Counter)
    owners: set[str] = field(default_factory=set)  # who paused, resumed or finished
    tracebacks: int = 0
    slack_answered: int = 0  # signed slash commands answered 200, leader or standby
    slack_asked: int = 0
    thread_roots: Counter[str] = field(default_factory=Counter)  # per window, in ALERTS
    alert_posts: int = 0  # every message the replicas posted in ALERTS, roots and replies
    output: str = ""
    seconds: float = 0.0


def _replica(
    mode: str, config: Path, url: str, home: Path, log: IO[bytes], slack_api: str | None
) -> subprocess.Popen[bytes]:
    """A ``maintbot worker`` (the clock alone, alerts to the log) or a ``maintbot serve``
    (Slack on an ephemeral port, alerts to the fake Slack, and the clock)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "PYTHONPATH": str(REPO),
        "MAINTBOT_DB": url,
        "MAINTBOT_CONFIG": str(config),
        "MAINTBOT_CLOCK_LEASE_SECONDS": f"{CLOCK_LEASE:g}",
    }
    argv = [sys.executable, "-m", "bot", mode, "--config", str(config)]
    if mode == "serve":
        assert slack_api is not None
        env.update(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=slack_api,
            MAINTBOT_ALERT_CHANNEL=ALERTS,
            MAINTBOT_TZ="UTC",
        )
        argv += ["--port", "0"]
    return subprocess.Popen(
        [*argv, "--interval", str(INTERVAL)],
        cwd=home,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _pid(owner: str) -> int:
    """The process in an owner id (host:pid:random, bot.lifecycle.base.new_owner_id)."""
    return int(owner.split(":")[-2])


async def _until(predicate: object, limit: float, what: str) -> None:
    assert callable(predicate)
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > limit:
            raise AssertionError(f"not within {limit:g} s: {what}")
        await asyncio.sleep(0.01)


async def _sleep_until(moment: datetime) -> None:
    await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


_SERVING = re.compile(rb"serving on (http://127\.0\.0\.1:\d+)/slack/events")


class Cluster:
    """The replica processes, each with its own log file."""

    def __init__(self, tmp: Path, config: Path, url: str, mode: str, slack_api: str | None) -> None:
        self.tmp, self.config, self.url = tmp, config, url
        self.mode, self.slack_api = mode, slack_api
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.logs: list[IO[bytes]] = []
        self.log_of: dict[int, int] = {}  # pid → its log's index

    def start(self) -> None:
        log = (self.tmp / f"replica{len(self.logs)}.log").open("wb")
        proc = _replica(self.mode, self.config, self.url, self.tmp, log, self.slack_api)
        self.log_of[proc.pid] = len(self.logs)
        self.logs.append(log)
        self.procs[proc.pid] = proc

    def base_url(self, pid: int) -> str | None:
        """Where a ``serve`` replica listens, once it has said so."""
        text = (self.tmp / f"replica{self.log_of[pid]}.log").read_bytes()
        found = _SERVING.search(text)
        return found.group(1).decode() if found else None

    def alive(self) -> list[int]:
        return [pid for pid, proc in self.procs.items() if proc.poll() is None]

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(10)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for log in self.logs:
            log.close()

    def output(self) -> str:
        return "".join(
            (self.tmp / f"replica{i}.log").read_text(errors="replace")
            for i in range(len(self.logs))
        )


async def _kill_leader(
    store: Store,
    cluster: Cluster,
    records: list[WindowRecord],
    rng: random.Random,
    at: datetime,
    out: Replicas,
) -> None:
    """At a random moment just after ``at`` (half the time: the moment the leader is seen
    holding a claim), SIGKILL the leader, start a new worker, and time the takeover."""
    await _sleep_until(at)
    wait_for_claim = rng.random() < 0.5
    give_up = time.monotonic() + (1.5 if wait_for_claim else rng.uniform(0.0, 0.6))
    while True:
        held = store.leader(LEAD)
        assert held is not None, "no clock leads"
        owner = held[0]
        claimed = any(
            r.claimed_by == owner and r.state in (S.PAUSING, S.RESUMING)
            for rec in records
            for r in store.window_tasks(rec.id)
        )
        if (wait_for_claim and claimed) or time.monotonic() >= give_up:
            break
        await asyncio.sleep(0.005)
    victim = cluster.procs[_pid(owner)]
    victim.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    victim.wait(5)
    out.kills += 1
    out.kills_mid_claim += claimed
    cluster.start()

    def taken_over() -> bool:
        now = store.leader(LEAD)
        return now is not None and now[0] != owner

    await _until(taken_over, 4 * CLOCK_LEASE + 5, f"a takeover from {owner}")
    out.takeovers.append(time.monotonic() - killed)


async def _ask_every_replica(cluster: Cluster, fake: FakeSlack, out: Replicas) -> None:
    """A signed ``/maintenance status`` to each live replica: leader and standbys alike
    answer Slack."""
    async with httpx.AsyncClient(timeout=15) as http:
        for pid in cluster.alive():
            base = cluster.base_url(pid)
            if base is None:  # just started, not listening yet
                continue
            out.slack_asked += 1
            form = urlencode(
                {
                    "command": "/maintenance",
                    "text": "status",
                    "user_id": ALICE,
                    "channel_id": OPS,
                    "response_url": fake.response_url(f"status-{pid}-{out.slack_asked}"),
                    "trigger_id": f"t.{pid}.{out.slack_asked}",
                }
            )
            with contextlib.suppress(httpx.TransportError):  # killed while we asked
                answer = await http.post(
                    f"{base}/slack/events",
                    content=form.encode(),
                    headers={"Content-Type": "application/x-www-form-urlencoded", **sign(form)},
                )
                out.slack_answered += answer.status_code == 200


async def run_replicas(
    tmp: Path,
    url: str,
    *,
    rounds: int,
    seed: int,
    replicas: int = 3,
    per_system: int = 2,
    mode: str = "serve",
) -> Replicas:
    """``rounds`` times: two windows over ``per_system`` tasks of each of the four systems
    (one window over the even ones, one over the odd ones, starting 0.5 s apart), the
    leader killed at the start and at the end. ``mode`` is the replicas' verb: ``serve``
    (Slack and the clock; alerts to a fake Slack) or ``worker``."""
    with FakeSlack() as fake:
        return await _run_replicas(
            tmp,
            url,
            rounds=rounds,
            seed=seed,
            replicas=replicas,
            per_system=per_system,
            mode=mode,
            fake=fake,
        )


async def _run_replicas(
    tmp: Path,
    url: str,
    *,
    rounds: int,
    seed: int,
    replicas: int,
    per_system: int,
    mode: str,
    fake: FakeSlack,
) -> Replicas:
    began = time.monotonic()
    rng = random.Random(seed)
    out = Replicas(rounds=rounds)
    sims_list = make_simulators()  # the real clock: the workers run on it
    sims: dict[str, Simulator] = {s.vendor: s for s in sims_list}
    for sim in sims_list:
        sim.faults.latency_ms = 40  # so that a claim is held long enough to be killed in
    with SandboxServer(sims_list):
        base = sandbox_config(sims_list)
        config = base.model_copy(
            update={
                "schedulers": {
                    name: cfg.model_copy(update={"deadline_seconds": DEADLINE})
                    for name, cfg in base.schedulers.items()
                }
            }
        )
        config_path = tmp / "maintbot.toml"
        write_sandbox_config(config_path, config)
        store = Store(url)
        cluster = Cluster(tmp, config_path, url, mode, fake.api_url)
        records: list[WindowRecord] = []
        try:
            schedulers = open_schedulers(config, store.clock)
            try:
                tasks: list[Task] = []
                for s in schedulers:
                    assert s.connector is not None, s.error
                    listed = await s.connector.list_tasks()
                    usable = sorted(
                        (t for t in listed if not t.paused and _steady(t, sims[t.ref.system])),
                        key=lambda t: t.id,
                    )
                    assert len(usable) >= per_system, s.name
                    tasks += usable[:per_system]
            finally:
                await asyncio.gather(*(s.aclose() for s in schedulers))
            out.tasks = len(tasks)
            for _ in range(replicas):
                cluster.start()
            await _until(lambda: store.leader(LEAD) is not None, 30, "a first leader")
            for _ in range(rounds):
                start = datetime.now(UTC) + timedelta(seconds=1.5)
                end = start + timedelta(seconds=5)
                batch = [
                    store.create_window(
                        Window(start=start + timedelta(seconds=0.5 * i), end=end, tz="UTC"),
                        requested_by="alice",
                        tasks=[(t.ref, t.name) for t in tasks[i::2]],
                        state=WindowState.APPROVED,
                        approved_by="bob",
                    )
                    for i in range(2)
                ]
                records += batch
                await _kill_leader(store, cluster, batch, rng, start, out)
                if mode == "serve":
                    await _ask_every_replica(cluster, fake, out)
                await _kill_leader(store, cluster, batch, rng, end, out)
                await _until(
                    lambda: not store.open_windows(), 30, "every window of the round ended"
                )
        finally:
            cluster.stop()
        rows = [r for rec in records for r in store.window_tasks(rec.id)]
        audit = store.audit_rows(1_000_000)
        out.windows = len(records)
        out.final_states = Counter(store.get_window(r.id).state.value for r in records)
        store.close()
        out.unresumed_rows = sum(r.state is not S.RESUMED for r in rows)
        per_task = Counter(r.ref.key for r in rows if r.paused_at is not None)
        for task in tasks:
            made = writes(sims, task)
            out.writes += made
            extra = max(0, made - 2 * per_task[task.ref.key])
            out.double_calls += extra
            out.tasks_called_twice += extra > 0
            out.left_paused += sim_paused(sims, task)
    out.recovered = len(
        {
            (a.window_id, a.task_id, a.action)
            for a in audit
            if a.detail and a.detail.get("recovering")
        }
    )
    out.lost_claims = sum(a.outcome == "lost_claim" for a in audit)
    out.owners = {
        str(a.detail["owner"])
        for a in audit
        if a.action in ("pause", "resume", "finish") and a.detail and "owner" in a.detail
    }
    if mode == "serve":
        posted = fake.messages(ALERTS)
        out.alert_posts = len(posted)
        roots = [m for m in posted if not m.get("thread_ts")]
        for record in records:
            out.thread_roots[record.id] = sum(record.id in str(m) for m in roots)
    out.output = cluster.output()
    out.tracebacks = out.output.count("Traceback")
    out.seconds = time.monotonic() - began
    return out


async def test_three_serve_replicas_on_postgresql_survive_leader_kills(tmp_path: Path) -> None:
    with pg.fresh_database() as url:
        out = await run_replicas(tmp_path, url, rounds=2, seed=20261211)
    tail = out.output[-4000:]
    # Every live replica answered Slack, and each window has one thread in the alerts
    # channel, however many replicas alerted about it.
    assert out.slack_asked >= 2 * 2, tail
    assert out.slack_answered == out.slack_asked, tail
    assert set(out.thread_roots.values()) == {1}, (out.thread_roots, tail)
    assert out.kills == 4
    assert out.final_states == Counter({WindowState.COMPLETED.value: out.windows}), tail
    assert out.left_paused == 0, tail
    assert out.double_calls == 0, tail
    assert out.tracebacks == 0, tail
    assert len(out.owners) > 1, out.owners  # the trail says which replica did what
    assert all(t < 2 * CLOCK_LEASE + 2 for t in out.takeovers), out.takeovers
    # Every task was paused and resumed by the bot in each of its windows.
    assert out.tasks == 8
    assert out.unresumed_rows == 0, tail
    assert out.writes == 2 * out.tasks * out.rounds
