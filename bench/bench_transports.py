"""Transports side by side: the same requests through VendorHttp over each candidate.

    python bench/bench_transports.py [--requests 3000] [--concurrency 64] [--latency-ms 40]

One Pyramid simulator (scale 100, in a child process so its CPU is not the client's)
answers ``getExecutions`` for each of its schedules; the client sends them ``--concurrency``
at a time through VendorHttp over: httpx's own pool (one pool of that size), httpx pools of
8 in shards (what the Talend connector did), the aiohttp-backed transport of
bot/connectors/transport.py, and the ``httpx-aiohttp`` package if it is installed. Printed:
wall time and client CPU per request (process CPU time / requests). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import multiprocessing
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import httpx

from bot.clock import system_clock
from bot.connectors.base import VendorHttp, gather_bounded
from bot.connectors.pyramid import PyramidAuth
from bot.connectors.transport import AiohttpTransport
from bot.sandbox.pyramid import DEMO_PASSWORD, DEMO_USERNAME


def serve(latency_ms: float, conn: Connection) -> None:
    from bot.sandbox import SandboxServer
    from bot.sandbox.pyramid import PyramidSimulator

    sim = PyramidSimulator(scale=100)
    sim.faults.latency_ms = latency_ms
    with SandboxServer([sim]):
        ids = [s.id for s in sim.schedules]
        conn.send((sim.config_entry()["base_url"], ids, sim.credentials()))
        with contextlib.suppress(EOFError):
            conn.recv()


def httpx_pool(size: int) -> httpx.AsyncBaseTransport:
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    return httpx.AsyncHTTPTransport(limits=limits)


async def measure(
    name: str,
    base_url: str,
    ids: list[str],
    token: str,
    shards: int,
    make: Callable[[int], httpx.AsyncBaseTransport],
    concurrency: int,
) -> None:
    per_shard = max(1, concurrency // shards)
    clients = [
        VendorHttp(
            "bench",
            base_url,
            clock=system_clock,
            max_connections=per_shard,
            transport=make(per_shard),
            headers={"paToken": token},
        )
        for _ in range(shards)
    ]
    rotation = itertools.cycle(clients)

    async def one(schedule_id: str) -> Any:
        return await next(rotation).send(
            "POST", "/API3/tasks/getExecutions", json_body=schedule_id, authenticated=False
        )

    try:
        await gather_bounded(concurrency, (one(i) for i in ids[:50]))  # connections, warm
        cpu, wall = time.process_time(), time.perf_counter()
        await gather_bounded(concurrency, (one(i) for i in ids))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    print(f"  {name:36} {wall:7.2f} s  {cpu / len(ids) * 1000:6.3f} ms CPU/request", flush=True)


async def main(requests: int, concurrency: int, latency_ms: float) -> None:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=serve, args=(latency_ms, child), daemon=True)
    process.start()
    try:
        base_url, ids, _ = parent.recv()
        ids = (ids * (requests // len(ids) + 1))[:requests]
        # The token endpoint is not what is measured: log in once, through the connector's
        # own sign-in, and send the token as a fixed header.
        auth = PyramidAuth(system_clock, "bench", DEMO_USERNAME, DEMO_PASSWORD, None)
        login = VendorHttp("bench", base_url, clock=system_clock)
        try:
            token = (await auth.headers(login))["paToken"]
        finally:
            await login.aclose()
        print(f"{requests} getExecutions, {concurrency} at a time, {latency_ms:g} ms latency")
        candidates: list[tuple[str, int, Callable[[int], httpx.AsyncBaseTransport]]] = [
            (f"httpx pool of {concurrency}", 1, httpx_pool),
            (
                f"httpx pools of 8 x {max(1, concurrency // 8)}",
                max(1, concurrency // 8),
                httpx_pool,
            ),
            ("AiohttpTransport (bot/connectors)", 1, lambda n: AiohttpTransport(connections=n)),
        ]
        with contextlib.suppress(ImportError):
            import httpx_aiohttp  # type: ignore[import-not-found]

            candidates.append(
                ("httpx-aiohttp package", 1, lambda n: httpx_aiohttp.AiohttpTransport())
            )
        for name, shards, make in candidates:
            await measure(name, base_url, ids, token, shards, make, concurrency)
    finally:
        with contextlib.suppress(OSError):
            parent.send("stop")
        parent.close()
        process.join(timeout=30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=40.0)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.concurrency, args.latency_ms))
