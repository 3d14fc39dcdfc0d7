"""Approver specs and the small TTL cache behind users.info and user-group lookups."""

from __future__ import annotations

import asyncio

import pytest
from fakeslack import FakeSlack
from slack_sdk.web.async_client import AsyncWebClient

from bot.approvals import parse_approvers
from bot.slack.directory import TtlCache, UserDirectory


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


async def test_the_locale_comes_with_the_zone_in_one_users_info_call() -> None:
    with FakeSlack(users={"U0AMELIE1": "Europe/Paris"}, locales={"U0AMELIE1": "fr-FR"}) as fake:
        client = AsyncWebClient(token="xoxb-test", base_url=fake.api_url)
        directory = UserDirectory(client, default_tz="UTC", approvers=parse_approvers(""))
        assert await directory.locale("U0AMELIE1") == "fr-FR"
        assert await directory.tz("U0AMELIE1") == "Europe/Paris"
        assert await directory.locale("U0NOBODY1") == "en-US"
        calls = fake.calls_to("users.info")
        assert [c.params["user"] for c in calls] == ["U0AMELIE1", "U0NOBODY1"]
        assert all(c.params["include_locale"] in (True, "true", "1") for c in calls)


async def test_without_include_locale_slack_sends_no_locale() -> None:
    with FakeSlack(locales={"U0AMELIE1": "fr-FR"}) as fake:
        client = AsyncWebClient(token="xoxb-test", base_url=fake.api_url)
        response = await client.users_info(user="U0AMELIE1")
        assert "locale" not in response["user"]
