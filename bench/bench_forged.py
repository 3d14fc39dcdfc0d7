"""Forged and malformed Slack requests against a served bot (prints figures, asserts nothing).

Run from the repository root::

    python bench/bench_forged.py [--requests 2000] [--concurrency 20]

Everything runs on loopback in this process: the real bot served by aiohttp, the fake Slack
Web API and the sandbox schedulers (``tests/slackclient.py``), and a ``response_url``
server of the bench's own that every forged body names. The forgeries are the catalogue
``tests/test_slack_security.py`` uses (``slackclient.forgeries``): every payload kind
(command, block_actions, view_submission, message_action, shortcut, event,
url_verification, ssl_check) times every way a signature can fail (wrong secret, unsigned,
stale, future, non-numeric / non-ASCII / negative / huge timestamps, non-ASCII or
wrong-shape signatures, tampered body, another request's signature, oversize body),
cycled to ``--requests``; then 300 requests with broken HTTP framing (a body cut off by
its sender, bad chunked encoding, a non-numeric Content-Length) over raw sockets.

Figures: requests tried, how many got a 5xx (goal 0), how many reached a URL taken from
their body or any Slack API (goal 0), the status codes seen, and the latency of a 401
(p50 / p95 / max), one at a time and then ``--concurrency`` at once.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import socket
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from slackclient import Forgery, HookRecorder, SlackWorld, forgeries  # noqa: E402

from bot.clock import ManualClock  # noqa: E402

NOW = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


def fire(world: SlackWorld, forgery: Forgery) -> tuple[int, float]:
    started = time.perf_counter()
    status = world.send(forgery.content, forgery.headers).status
    return status, time.perf_counter() - started


RAW_HEAD = (
    b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\n"
    b"X-Slack-Request-Timestamp: 1\r\nX-Slack-Signature: v0=" + b"0" * 64 + b"\r\n"
)
MALFORMED = [  # HTTP framing no client library will send: a body cut off, bad chunks
    b"Content-Length: 1000\r\n\r\ntext=cut",
    b"Transfer-Encoding: chunked\r\n\r\n5\r\nabc\r\nzz\r\n",
    b"Content-Length: nine\r\n\r\n",
]


def fire_raw(world: SlackWorld, raw: bytes) -> tuple[int, float]:
    host, port = world.bot.url.removeprefix("http://").split(":")
    started = time.perf_counter()
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(RAW_HEAD + raw)
        conn.shutdown(socket.SHUT_WR)
        answer = conn.recv(65536)
    elapsed = time.perf_counter() - started
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, elapsed


def report(label: str, results: list[tuple[int, float]]) -> None:
    statuses = collections.Counter(status for status, _ in results)
    refused = [elapsed for status, elapsed in results if status == 401]
    print(f"{label}: tried {len(results)}")
    print(f"  status codes      {dict(sorted(statuses.items()))}")
    print(f"  5xx               {sum(n for s, n in statuses.items() if s >= 500)}")
    if refused:
        print(
            f"  401 latency       p50 {ms(statistics.median(refused))}  "
            f"p95 {ms(pct(refused, 0.95))}  max {ms(max(refused))}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as tmp,
        HookRecorder() as hook,
        SlackWorld(Path(tmp), ManualClock(NOW)) as world,
    ):
        catalogue = forgeries(hook.url, int(world.clock().timestamp()))
        batch = [catalogue[i % len(catalogue)] for i in range(args.requests)]
        print(f"{len(catalogue)} distinct forgeries, cycled to {len(batch)} requests\n")
        for forgery in catalogue[:20]:
            fire(world, forgery)  # warm-up: connections, first-request costs
        world.timings.clear()

        report("one at a time", [fire(world, f) for f in batch])
        with concurrent.futures.ThreadPoolExecutor(args.concurrency) as pool:
            burst = list(pool.map(lambda f: fire(world, f), batch))
        report(f"\n{args.concurrency} at once", burst)
        raw = [fire_raw(world, MALFORMED[i % len(MALFORMED)]) for i in range(300)]
        report("\nmalformed HTTP framing (status 0: connection closed, no answer)", raw)

        time.sleep(0.5)  # anything the bot would have started afterwards has had time
        reached = len(hook.hits) + len(list(world.fake))
        print(f"\nreached a URL from the body or a Slack API: {reached}")
        print(f"  response_url posts {len(hook.hits)}, Slack Web API calls {len(list(world.fake))}")
        print(
            f"  audit rows {len(world.audit())}, deliveries claimed "
            f"{world.store.db['processed_events'].count}"
        )
        asked = sum(len(s.requests) for s in world.simulators)
        print(f"  scheduler requests {asked}")


if __name__ == "__main__":
    main()
