"""An ``httpx`` transport over one ``aiohttp.ClientSession``.

httpx stays the connectors' interface (requests, responses, auth flows, the tests' mock
transports); only the wire is aiohttp's. httpcore's pool does work proportional to its
connections each time a request enters or leaves it, and its HTTP/1.1 path runs through
h11 and anyio: measured at scale 100 (bench/bench_transports.py), 1.5-2.5 ms of client CPU
per request against about 0.3 ms through aiohttp's C parser and connector.

What the default transport guarantees holds here too: nothing is followed (a redirect is
handed back as the 3xx it is, for :class:`~bot.connectors.base.VendorHttp` to refuse), the
body is a stream the caller reads chunk by chunk and may stop reading (so its size cap
holds before the bytes are buffered), content is decoded by httpx from the headers as
sent, ``.netrc`` is never consulted (nothing but the request decides where credentials
go), and every failure is the httpx exception the default transport would raise, so
callers' handling is unchanged. Proxies are honoured as httpx's default transport honours
them: ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY`` with ``NO_PROXY`` from the environment,
read when the session opens (aiohttp's own ``trust_env`` would read ``.netrc`` too).
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.request
from collections.abc import AsyncIterator

import aiohttp
import httpx
import yarl

__all__ = ["AiohttpTransport"]

_CHUNK = 64 * 1024


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_chunked(_CHUNK):
                yield chunk
        except aiohttp.ClientPayloadError as exc:
            raise httpx.RemoteProtocolError(f"incomplete body ({type(exc).__name__})") from None
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            raise httpx.ReadError(type(exc).__name__) from None
        except aiohttp.ClientError as exc:
            raise httpx.RemoteProtocolError(type(exc).__name__) from None

    async def aclose(self) -> None:
        # Not released to the pool unless read to the end: a half-read connection would
        # hand its leftover bytes to the next request.
        if not self._response.content.at_eof():
            self._response.close()
        else:
            self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """At most ``connections`` connections per host, opened lazily in the running loop."""

    def __init__(
        self,
        *,
        connections: int = 64,
        connect_timeout: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.connections = connections
        self.connect_timeout = connect_timeout
        self.ssl_context = ssl_context
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._proxies: dict[str, str] = {}

    def _session_now(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=0,
                limit_per_host=self.connections,
                ssl=self.ssl_context if self.ssl_context is not None else True,
                enable_cleanup_closed=False,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.connect_timeout),
            )
            # aiohttp re-sends an idempotent request, uncounted, when a kept-alive connection
            # turns out closed; VendorHttp's own retries must be the only ones, so every
            # attempt is counted, backed off and bounded by the deadline. No public switch.
            if hasattr(self._session, "_retry_connection"):
                self._session._retry_connection = False
            self._loop = loop
            self._proxies = urllib.request.getproxies_environment()
        return self._session

    def _proxy_for(self, url: httpx.URL) -> str | None:
        """The proxy the environment names for ``url``'s scheme, unless NO_PROXY exempts
        its host (the same variables, and the same reading, as httpx and urllib)."""
        proxy = self._proxies.get(url.scheme) or self._proxies.get("all")
        # proxy_bypass_environment is in urllib.request though typeshed leaves it out.
        bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
        if not proxy or bypass(url.host, self._proxies):
            return None
        return proxy

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session_now()
        body = await request.aread()
        url = request.url
        if url.userinfo:
            url = url.copy_with(userinfo=b"")
        try:
            response = await session.request(
                request.method,
                # Userinfo never travels in the URL (httpx made any of it a header already),
                # and the URL goes as httpx encoded it: yarl would re-quote its path.
                yarl.URL(str(url), encoded=True),
                headers=list(request.headers.multi_items()),
                data=body or None,
                allow_redirects=False,
                compress=None,
                auto_decompress=False,
                proxy=self._proxy_for(url),
            )
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(f"cannot connect ({type(exc).__name__})") from None
        except aiohttp.ServerTimeoutError:
            raise httpx.ConnectTimeout("connect timed out") from None
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientResponseError) as exc:
            raise httpx.RemoteProtocolError(type(exc).__name__) from None
        except aiohttp.ClientError as exc:
            raise httpx.RemoteProtocolError(type(exc).__name__) from None
        return httpx.Response(
            response.status,
            headers=list(response.raw_headers),
            stream=_Body(response),
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()
