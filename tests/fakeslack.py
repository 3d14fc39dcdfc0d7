"""A fake Slack Web API on 127.0.0.1:<ephemeral>, for tests and the benchmark.

It records every call, answers the methods the bot uses the way Slack does (shapes from
api.slack.com), receives ``response_url`` posts at ``/response/<id>``, and plays scripted
faults: HTTP 429 with ``Retry-After``, ``ok: false`` errors, delays. Like Slack it refuses
calls without ``Authorization: Bearer xoxb-…``. It also checks every message and view it
receives against Slack's Block Kit limits, independently of the bot's own ``blocks.py``
(``fake.violations``), so a payload Slack would refuse fails the test that sent it.

The bot reaches it through its client's ``base_url`` (``SLACK_API_URL``); nothing is patched.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web


@dataclass(frozen=True)
class Call:
    method: str  # "chat.postMessage", or "response" for a response_url post
    params: dict[str, Any]
    headers: dict[str, str]
    status: int
    ok: bool  # what Slack would have said in "ok"
    at: float  # time.monotonic() when it arrived
    response_id: str | None = None


@dataclass
class _Fault:
    method: str
    times: int
    status: int = 200
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class FakeSlack:
    """Start with ``with FakeSlack(...) as fake:``; point the bot at ``fake.api_url``."""

    def __init__(
        self,
        *,
        users: dict[str, str | None] | None = None,
        groups: dict[str, tuple[str, list[str]]] | None = None,
        default_tz: str | None = "America/Los_Angeles",
    ) -> None:
        # user id → tz (None: Slack's "tz": null); unknown users get ``default_tz``.
        self.users = dict(users or {})
        self.default_tz = default_tz
        # handle → (group id, member user ids)
        self.groups = dict(groups or {})
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self._faults: list[_Fault] = []
        self._cond = threading.Condition()
        self._ts = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._sockets: list[web.WebSocketResponse] = []
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------------------
    def __enter__(self) -> FakeSlack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, response_id: str) -> str:
        return f"{self.url}/response/{response_id}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="fake-slack", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake Slack did not start")

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{rid}", self._response)
        app.router.add_get("/link/", self._socket)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=512)
        loop.run_until_complete(site.start())
        self.port = int(self._runner.addresses[0][1])
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(self._runner.cleanup())
        loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            if self._sockets:
                asyncio.run_coroutine_threadsafe(self._close_sockets(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None

    async def _close_sockets(self) -> None:
        for ws in self._sockets:
            await ws.close()

    # -- scripting ------------------------------------------------------------------------------
    def rate_limit(self, method: str, *, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with 429 and ``Retry-After``."""
        self._add(_Fault(method, times, 429, "ratelimited", {"Retry-After": str(retry_after)}))

    def fail(self, method: str, error: str, *, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with ``{"ok": false, "error": …}``."""
        self._add(_Fault(method, times, 200, error))

    def slow(self, method: str, seconds: float, *, times: int = 1_000_000) -> None:
        self._add(_Fault(method, times, 200, None, delay=seconds))

    def _add(self, fault: _Fault) -> None:
        with self._cond:
            self._faults.append(fault)

    def _take(self, method: str) -> _Fault | None:
        with self._cond:
            for fault in self._faults:
                if fault.method == method:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # -- reading what happened -----------------------------------------------------------------
    def calls_to(self, method: str, *, ok_only: bool = False) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method and (c.ok or not ok_only)]

    def responses(self, response_id: str) -> list[dict[str, Any]]:
        with self._cond:
            return [c.params for c in self.calls if c.response_id == response_id]

    def wait_for(
        self,
        predicate: Callable[[], bool],
        *,
        timeout: float = 15.0,
        what: str = "condition",
    ) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"fake Slack: timed out after {timeout}s waiting for {what}; calls: "
                        f"{[c.method for c in self.calls]}"
                    )
                self._cond.wait(left)

    def wait_calls(self, method: str, count: int = 1, *, timeout: float = 15.0) -> list[Call]:
        self.wait_for(
            lambda: len([c for c in self.calls if c.method == method and c.ok]) >= count,
            timeout=timeout,
            what=f"{count} successful {method}",
        )
        return self.calls_to(method, ok_only=True)

    def wait_response(
        self, response_id: str, count: int = 1, *, timeout: float = 15.0
    ) -> dict[str, Any]:
        """The ``count``-th payload posted to ``/response/<response_id>``."""
        self.wait_for(
            lambda: len([c for c in self.calls if c.response_id == response_id]) >= count,
            timeout=timeout,
            what=f"{count} post(s) to response_url {response_id}",
        )
        return self.responses(response_id)[count - 1]

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Channel messages as they look now: each posted message, with chat.update applied."""
        current: dict[str, dict[str, Any]] = {}
        with self._cond:
            for call in self.calls:
                if not call.ok or "_ts" not in call.params:
                    continue
                if call.method == "chat.postMessage":
                    current[call.params["_ts"]] = dict(call.params)
                elif call.method == "chat.update" and call.params["_ts"] in current:
                    current[call.params["_ts"]].update(call.params)
        found = list(current.values())
        return [m for m in found if channel is None or m.get("channel") == channel]

    # -- Socket Mode --------------------------------------------------------------------------
    def socket_send(self, envelope: dict[str, Any], *, timeout: float = 15.0) -> None:
        """Deliver an envelope to the bot over its Socket Mode connection."""
        self.wait_for(lambda: bool(self._sockets), timeout=timeout, what="a Socket Mode client")
        assert self._loop is not None
        ws = self._sockets[-1]
        asyncio.run_coroutine_threadsafe(ws.send_json(envelope), self._loop).result(timeout)

    def socket_ack(self, envelope_id: str, *, timeout: float = 15.0) -> dict[str, Any]:
        """The bot's acknowledgement of an envelope (its ``payload`` is the ack body)."""

        def acked() -> list[Call]:
            return [
                c
                for c in self.calls
                if c.method == "socket" and c.params.get("envelope_id") == envelope_id
            ]

        self.wait_for(lambda: bool(acked()), timeout=timeout, what=f"ack of {envelope_id}")
        return acked()[0].params

    def __iter__(self) -> Iterator[Call]:
        with self._cond:
            return iter(list(self.calls))

    # -- the server -----------------------------------------------------------------------------
    def _record(self, call: Call) -> None:
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        raw = await request.read()
        if raw:
            if request.content_type == "application/json":
                params.update(json.loads(raw))
            else:
                params.update(parse_qsl(raw.decode(), keep_blank_values=True))
        headers = {k.lower(): v for k, v in request.headers.items()}
        auth = headers.get("authorization", "")
        fault = self._take(method)
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        # Socket Mode's URL is issued to the app-level token; everything else to the bot's.
        token_kind = "xapp-" if method == "apps.connections.open" else "xoxb-"
        if not auth.startswith(f"Bearer {token_kind}"):
            self._record(Call(method, params, headers, 200, False, time.monotonic()))
            return web.json_response({"ok": False, "error": "not_authed"})
        if fault is not None and fault.status != 200:
            self._record(Call(method, params, headers, fault.status, False, time.monotonic()))
            return web.json_response(
                {"ok": False, "error": fault.error}, status=fault.status, headers=fault.headers
            )
        if fault is not None and fault.error:
            self._record(Call(method, params, headers, 200, False, time.monotonic()))
            return web.json_response({"ok": False, "error": fault.error})
        body = self._answer(method, params)
        self._record(Call(method, params, headers, 200, bool(body["ok"]), time.monotonic()))
        return web.json_response(body)

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://fake.slack.test/",
                "team": "Fake",
                "user": "maintbot",
                "team_id": "T0FAKE",
                "user_id": "U0BOT",
                "bot_id": "B0BOT",
            }
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link/?ticket=fake"}
        if method == "chat.postMessage":
            self._check_message(method, params)
            ts = f"1790000000.{next(self._ts):06d}"
            params["_ts"] = ts
            return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": {}}
        if method == "chat.update":
            self._check_message(method, params)
            params["_ts"] = params.get("ts")
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}
        if method == "chat.postEphemeral":
            self._check_message(method, params)
            return {"ok": True, "message_ts": f"1790000000.{next(self._ts):06d}"}
        if method == "views.publish":
            view = params.get("view")
            view = json.loads(view) if isinstance(view, str) else view
            self._check_blocks("views.publish", (view or {}).get("blocks") or [], limit=100)
            return {"ok": True, "view": {"id": "V0FAKE", **(view or {})}}
        if method == "users.info":
            user = params.get("user", "")
            tz = self.users.get(user, self.default_tz)
            return {
                "ok": True,
                "user": {"id": user, "name": user.lower(), "tz": tz, "tz_offset": 0},
            }
        if method == "usergroups.list":
            return {
                "ok": True,
                "usergroups": [
                    {"id": gid, "handle": handle, "name": handle}
                    for handle, (gid, _members) in self.groups.items()
                ],
            }
        if method == "usergroups.users.list":
            for gid, members in self.groups.values():
                if gid == params.get("usergroup"):
                    return {"ok": True, "users": list(members)}
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True}

    async def _response(self, request: web.Request) -> web.Response:
        payload = await request.json()
        self._check_message("response_url", payload)
        self._record(
            Call(
                "response",
                payload,
                {k.lower(): v for k, v in request.headers.items()},
                200,
                True,
                time.monotonic(),
                response_id=request.match_info["rid"],
            )
        )
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0MAINTBOT"}}
        )
        with self._cond:
            self._sockets.append(ws)
            self._cond.notify_all()
        async for message in ws:
            if message.type.name == "TEXT":
                data = json.loads(message.data)
                self._record(Call("socket", data, {}, 200, True, time.monotonic()))
        return ws

    # -- Block Kit limits, checked independently of the bot ------------------------------------
    def _check_message(self, where: str, params: dict[str, Any]) -> None:
        blocks = params.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if params.get("delete_original"):
            return
        if not params.get("text"):
            self._violation(f"{where}: no top-level text")
        if blocks is not None:
            self._check_blocks(where, blocks, limit=50)

    def _check_blocks(self, where: str, blocks: list[dict[str, Any]], *, limit: int) -> None:
        if len(blocks) > limit:
            self._violation(f"{where}: {len(blocks)} blocks > {limit}")
        block_ids = [b["block_id"] for b in blocks if "block_id" in b]
        if len(block_ids) != len(set(block_ids)):
            self._violation(f"{where}: duplicate block_id")
        for block in blocks:
            kind = block.get("type")
            if kind == "section":
                if len(block.get("text", {}).get("text", "")) > 3000:
                    self._violation(f"{where}: section text > 3000")
                fields = block.get("fields") or []
                if len(fields) > 10 or any(len(f.get("text", "")) > 2000 for f in fields):
                    self._violation(f"{where}: fields over the limit")
                if "accessory" in block:
                    self._check_element(where, block["accessory"])
            elif kind == "header":
                if len(block["text"]["text"]) > 150:
                    self._violation(f"{where}: header > 150")
            elif kind == "actions":
                if len(block["elements"]) > 25:
                    self._violation(f"{where}: actions > 25 elements")
                for element in block["elements"]:
                    self._check_element(where, element)
            elif kind == "context" and len(block["elements"]) > 10:
                self._violation(f"{where}: context > 10 elements")

    def _check_element(self, where: str, element: dict[str, Any]) -> None:
        if element.get("type") != "button":
            return
        if len(element["text"]["text"]) > 75 or element["text"]["type"] != "plain_text":
            self._violation(f"{where}: button text")
        if len(element.get("value", "")) > 2000 or len(element["action_id"]) > 255:
            self._violation(f"{where}: button value or action_id too long")
        confirm = element.get("confirm")
        if confirm:
            sizes = {"title": 100, "text": 300, "confirm": 30, "deny": 30}
            for key, size in sizes.items():
                if len(confirm[key]["text"]) > size:
                    self._violation(f"{where}: confirm {key} > {size}")

    def _violation(self, text: str) -> None:
        with self._cond:
            self.violations.append(text)
