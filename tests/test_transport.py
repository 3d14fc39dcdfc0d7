"""The aiohttp-backed httpx transport honours proxies from the environment as httpx's own
does (HTTP_PROXY and NO_PROXY), so a bot behind an enterprise proxy still reaches its
vendors; a forward proxy and a vendor, both real servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import httpx
import pytest
from aiohttp import web

from bot.connectors.transport import AiohttpTransport


@dataclass
class Servers:
    vendor_url: str
    proxy_url: str
    proxied: list[str] = field(default_factory=list)


async def _start(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def servers() -> AsyncIterator[Servers]:
    async def answer(request: web.Request) -> web.Response:
        return web.json_response({"path": request.path})

    vendor = web.Application()
    vendor.router.add_get("/{tail:.*}", answer)
    made = Servers("", "")

    async def forward(request: web.Request) -> web.Response:
        # A forward proxy gets the absolute URL in the request line.
        made.proxied.append(str(request.url))
        async with aiohttp.ClientSession() as session, session.get(str(request.url)) as got:
            return web.Response(
                status=got.status, body=await got.read(), content_type=got.content_type
            )

    proxy = web.Application()
    proxy.router.add_route("*", "/{tail:.*}", forward)
    vendor_runner, made.vendor_url = await _start(vendor)
    proxy_runner, made.proxy_url = await _start(proxy)
    try:
        yield made
    finally:
        await proxy_runner.cleanup()
        await vendor_runner.cleanup()


async def _get(url: str) -> httpx.Response:
    transport = AiohttpTransport()
    async with httpx.AsyncClient(transport=transport) as client:
        answer = await client.get(url)
        await answer.aread()
    return answer


async def test_http_proxy_from_the_environment_is_used(
    servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", servers.proxy_url)
    answer = await _get(f"{servers.vendor_url}/api/tasks")
    assert answer.status_code == 200
    assert answer.json() == {"path": "/api/tasks"}
    assert servers.proxied == [f"{servers.vendor_url}/api/tasks"]


async def test_no_proxy_exempts_a_host_and_no_variable_means_direct(
    servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", servers.proxy_url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert (await _get(f"{servers.vendor_url}/a")).status_code == 200
    monkeypatch.delenv("HTTP_PROXY")
    monkeypatch.delenv("http_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY")
    assert (await _get(f"{servers.vendor_url}/b")).status_code == 200
    assert servers.proxied == []
