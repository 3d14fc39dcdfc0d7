"""Approver specs and the small TTL cache behind users.info and user-group lookups."""

from __future__ import annotations

import asyncio

import pytest

from bot.approvals import parse_approvers
from bot.slack.directory import TtlCache


def test_approvers_accept_ids_handles_group_ids_and_pasted_mentions() -> None:
    spec = parse_approvers(
        "U0BOB0001, @OnCall S0DBAS001 <@U0CAROL01|carol> <!subteam^S0NET0001|@net>"
    )
    assert spec.users == {"U0BOB0001", "U0CAROL01"}
    assert spec.handles == {"oncall"}
    assert spec.group_ids == {"S0DBAS001", "S0NET0001"}
    assert parse_approvers("").empty


async def test_the_cache_loads_once_for_concurrent_callers_and_expires() -> None:
    now = [0.0]
    cache: TtlCache[str] = TtlCache(60, monotonic=lambda: now[0])
    loads = 0

    async def load() -> str:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.01)
        return f"value {loads}"

    results = await asyncio.gather(*(cache.get("k", load) for _ in range(20)))
    assert set(results) == {"value 1"}
    assert loads == 1
    now[0] = 59
    assert await cache.get("k", load) == "value 1"
    now[0] = 61
    assert await cache.get("k", load) == "value 2"


async def test_a_failed_load_is_not_cached() -> None:
    cache: TtlCache[str] = TtlCache(60)
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("slack hiccup")
        return "ok"

    with pytest.raises(ConnectionError):
        await cache.get("k", flaky)
    assert await cache.get("k", flaky) == "ok"
