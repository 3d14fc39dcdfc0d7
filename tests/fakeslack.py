"""A fake Slack Web API on 127.0.0.1:<ephemeral>, for tests and the benchmark.

It records every call, answers the methods the bot uses the way Slack does (shapes from
api.slack.com), receives ``response_url`` posts at ``/response/<id>``, and plays scripted
faults: HTTP 429 with ``Retry-After``, ``ok: false`` errors, delays. Like Slack it refuses
calls without ``Authorization: Bearer xoxb-…``. Like Slack it refuses (``invalid_blocks``)
every message, view and response_url post that breaks Block Kit's rules (duplicate ids,
the documented limits; :func:`message_errors`, written independently of the bot's own
``blocks.py``), and lists why in ``fake.violations``, so the test that sent it fails.

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
from fakeviews import OpenView, Views, input_elements, parse_view

_INVALID_BLOCKS: dict[str, Any] = {"ok": False, "error": "invalid_blocks"}


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
        locales: dict[str, str] | None = None,
    ) -> None:
        # user id → tz (None: Slack's "tz": null); unknown users get ``default_tz``.
        self.users = dict(users or {})
        self.default_tz = default_tz
        # user id → Slack locale; as in Slack, sent only when asked with include_locale.
        self.locales = dict(locales or {})
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
        self.views = Views()
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

    def wait_calls(
        self, method: str, count: int = 1, *, timeout: float = 15.0, channel: str | None = None
    ) -> list[Call]:
        """The successful calls of ``method`` (to ``channel``, when given) once there are
        ``count`` of them."""

        def found() -> list[Call]:
            return [
                c
                for c in self.calls
                if c.method == method
                and c.ok
                and (channel is None or c.params.get("channel") == channel)
            ]

        self.wait_for(
            lambda: len(found()) >= count,
            timeout=timeout,
            what=f"{count} successful {method}" + (f" in {channel}" if channel else ""),
        )
        with self._cond:
            return found()

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

    def messages(self, channel: str | None = None, *, replies: bool = True) -> list[dict[str, Any]]:
        """Channel messages as they look now: each posted message, with chat.update applied
        (``replies=False``: only those not posted in a thread)."""
        current: dict[str, dict[str, Any]] = {}
        with self._cond:
            for call in self.calls:
                if not call.ok or "_ts" not in call.params:
                    continue
                if call.method == "chat.postMessage":
                    current[call.params["_ts"]] = dict(call.params)
                elif call.method == "chat.update" and call.params["_ts"] in current:
                    current[call.params["_ts"]].update(call.params)
        found = [m for m in current.values() if replies or not m.get("thread_ts")]
        return [m for m in found if channel is None or m.get("channel") == channel]

    # -- modals -------------------------------------------------------------------------------
    def issue_trigger(self, user: str) -> str:
        """The ``trigger_id`` an interaction by ``user`` carries (good for 3 s, once)."""
        with self._cond:
            return self.views.issue_trigger(user)

    def modal(self, user: str) -> OpenView | None:
        """The modal on top of ``user``'s screen, if any."""
        with self._cond:
            return self.views.top(user)

    def modals(self, user: str) -> list[OpenView]:
        with self._cond:
            return self.views.stack(user)

    def wait_modal(self, user: str, *, timeout: float = 15.0) -> OpenView:
        self.wait_for(lambda: self.views.top(user) is not None, timeout=timeout, what="a modal")
        found = self.modal(user)
        assert found is not None
        return found

    def set_value(self, user: str, block_id: str, value: dict[str, Any]) -> OpenView:
        """``user`` types or picks ``value`` in the input ``block_id`` of their top modal."""
        with self._cond:
            top = self.views.top(user)
            if top is None:
                raise AssertionError("no modal is open")
            for block, element in input_elements(top.view):
                if block.get("block_id") == block_id:
                    top.values[block_id] = {element["action_id"]: value}
                    return top
        raise AssertionError(f"the modal has no input block {block_id!r}")

    def submitted(self, user: str, view_id: str, answer: dict[str, Any] | None) -> None:
        with self._cond:
            self.views.submitted(user, view_id, answer)
            self._cond.notify_all()

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
        message = method in ("chat.postMessage", "chat.update", "chat.postEphemeral")
        if message and self._check_message(method, params):
            return _INVALID_BLOCKS
        if method in ("views.open", "views.push", "views.update"):
            view = parse_view(params.get("view"))
            if view is None:
                return {"ok": False, "error": "invalid_arguments"}
            if self._check_view(method, view):
                return _INVALID_BLOCKS
            with self._cond:
                do = {"views.open": self.views.open, "views.push": self.views.push}
                return do.get(method, self.views.update)(params, view)
        if method == "chat.postMessage":
            ts = f"1790000000.{next(self._ts):06d}"
            params["_ts"] = ts
            channel = str(params.get("channel") or "")
            if channel[:1] in ("U", "W"):
                # A user id: Slack posts in the app's direct messages with that user.
                channel = "D" + channel[1:]
                params["channel"] = channel
            return {"ok": True, "channel": channel, "ts": ts, "message": {}}
        if method == "chat.update":
            params["_ts"] = params.get("ts")
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1790000000.{next(self._ts):06d}"}
        if method == "views.publish":
            view = params.get("view")
            if self._check_view(method, view):
                return _INVALID_BLOCKS
            view = json.loads(view) if isinstance(view, str) else view
            return {"ok": True, "view": {"id": "V0FAKE", **(view or {})}}
        if method == "users.info":
            user = params.get("user", "")
            tz = self.users.get(user, self.default_tz)
            profile: dict[str, Any] = {"id": user, "name": user.lower(), "tz": tz, "tz_offset": 0}
            if str(params.get("include_locale", "")).lower() in ("true", "1"):
                profile["locale"] = self.locales.get(user, "en-US")
            return {"ok": True, "user": profile}
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
        refused = self._check_message("response_url", payload)
        self._record(
            Call(
                "response",
                payload,
                {k.lower(): v for k, v in request.headers.items()},
                200,
                not refused,
                time.monotonic(),
                response_id=request.match_info["rid"],
            )
        )
        if refused:
            return web.json_response(_INVALID_BLOCKS)
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

    # -- Block Kit, refused as Slack refuses it ----------------------------------------------
    def _check_message(self, where: str, params: dict[str, Any]) -> bool:
        """Record what is wrong with a message; ``True`` when Slack would refuse it."""
        if params.get("delete_original"):
            return False
        if not params.get("text"):
            # Slack accepts this (and warns); it is the bot's own rule, so only recorded.
            self._violation(f"{where}: no top-level text")
        return self._refuse(where, message_errors(params))

    def _check_view(self, where: str, view: Any) -> bool:
        return self._refuse(where, view_errors(view))

    def _refuse(self, where: str, errors: list[str]) -> bool:
        for error in errors:
            self._violation(f"{where}: {error}")
        return bool(errors)

    def _violation(self, text: str) -> None:
        with self._cond:
            self.violations.append(text)


# -- Slack's Block Kit rules, independent of the bot's bot/slack/blocks.py --------------------
# From docs.slack.dev/reference/block-kit (blocks, block elements, composition objects) and
# the Web API method pages. A payload breaking any of them is refused whole: HTTP 200 with
# {"ok": false, "error": "invalid_blocks"}, for messages, views and response_url posts alike.

BLOCKS_PER_MESSAGE = 50
BLOCKS_PER_VIEW = 100  # modals and App Home
TEXT_MAX = 3000  # any text object
SECTION_TEXT = 3000
SECTION_FIELDS = 10
FIELD_TEXT = 2000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
ID_MAX = 255  # action_id, block_id, callback_id, external_id
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
BUTTON_LABEL = 75  # accessibility_label
URL_MAX = 3000
CONFIRM = {"title": 100, "text": 300, "confirm": 30, "deny": 30}
OPTIONS = 100  # static / multi-static select, option_groups
OVERFLOW_OPTIONS = (1, 5)
RADIO_CHECKBOX_OPTIONS = 10
OPTION_TEXT = 75
OPTION_VALUE = 150
OPTION_DESCRIPTION = 75
PLACEHOLDER = 150
IMAGE_ALT = 2000
VIEW_TITLE = 24  # title, submit, close
PRIVATE_METADATA = 3000
STYLES = {"primary", "danger"}

_SELECTS = {
    "static_select",
    "multi_static_select",
    "external_select",
    "multi_external_select",
    "users_select",
    "multi_users_select",
    "conversations_select",
    "multi_conversations_select",
    "channels_select",
    "multi_channels_select",
}
_ELEMENTS = _SELECTS | {
    "button",
    "overflow",
    "datepicker",
    "timepicker",
    "datetimepicker",
    "checkboxes",
    "radio_buttons",
    "plain_text_input",
    "image",
}
_BLOCKS = {"section", "divider", "header", "context", "actions", "image", "input", "rich_text"}


def message_errors(params: dict[str, Any]) -> list[str]:
    """Why Slack would refuse the message ``params`` (chat.postMessage, chat.update,
    chat.postEphemeral or a response_url post); empty when it would accept it."""
    blocks = params.get("blocks")
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return ["blocks is not JSON"]
    if blocks is None:
        return []
    return blocks_errors(blocks, limit=BLOCKS_PER_MESSAGE)


def view_errors(view: Any) -> list[str]:
    """Why Slack would refuse a view (views.publish, views.open, views.update, views.push)."""
    if isinstance(view, str):
        try:
            view = json.loads(view)
        except ValueError:
            return ["view is not JSON"]
    if not isinstance(view, dict):
        return ["view is not an object"]
    errors: list[str] = []
    kind = view.get("type")
    if kind not in ("home", "modal"):
        errors.append(f"view type {kind!r}")
    if kind == "modal":
        for key in ("title", "submit", "close"):
            if key in view or key == "title":
                errors.extend(_text(view.get(key), f"view {key}", VIEW_TITLE, plain_only=True))
        blocks = view.get("blocks") if isinstance(view.get("blocks"), list) else []
        if "submit" not in view and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        ):
            errors.append("a modal with input blocks needs a submit button")
    for key in ("callback_id", "external_id"):
        if key in view and not _id_ok(view[key]):
            errors.append(f"view {key} must be 1..{ID_MAX} characters")
    if len(str(view.get("private_metadata", ""))) > PRIVATE_METADATA:
        errors.append(f"private_metadata > {PRIVATE_METADATA}")
    errors.extend(blocks_errors(view.get("blocks"), limit=BLOCKS_PER_VIEW))
    return errors


def blocks_errors(blocks: Any, *, limit: int) -> list[str]:
    """Every rule ``blocks`` breaks, as Slack checks a message's or a view's blocks."""
    if not isinstance(blocks, list):
        return ["blocks is not a list"]
    errors: list[str] = []
    if len(blocks) > limit:
        errors.append(f"{len(blocks)} blocks > {limit}")
    block_ids: list[str] = []
    for n, block in enumerate(blocks):
        where = f"block {n}"
        if not isinstance(block, dict):
            errors.append(f"{where} is not an object")
            continue
        if "block_id" in block:
            if not _id_ok(block["block_id"]):
                errors.append(f"{where}: block_id must be 1..{ID_MAX} characters")
            else:
                block_ids.append(block["block_id"])
        errors.extend(f"{where}: {e}" for e in _block_errors(block))
    duplicates = sorted({b for b in block_ids if block_ids.count(b) > 1})
    if duplicates:
        errors.append(f"duplicate block_id {duplicates}")
    return errors


def _block_errors(block: dict[str, Any]) -> list[str]:
    kind = block.get("type")
    errors: list[str] = []
    if kind not in _BLOCKS:
        return [f"unknown block type {kind!r}"]
    if kind == "section":
        if "text" not in block and "fields" not in block:
            errors.append("a section needs text or fields")
        if "text" in block:
            errors.extend(_text(block["text"], "section text", SECTION_TEXT))
        fields = block.get("fields")
        if fields is not None:
            if not isinstance(fields, list) or not 1 <= len(fields) <= SECTION_FIELDS:
                errors.append(f"fields must be 1..{SECTION_FIELDS}")
            else:
                for field_ in fields:
                    errors.extend(_text(field_, "field", FIELD_TEXT))
        if "accessory" in block:
            errors.extend(_element_errors(block["accessory"]))
            errors.extend(_unique_action_ids([block["accessory"]]))
    elif kind == "header":
        errors.extend(_text(block.get("text"), "header", HEADER_TEXT, plain_only=True))
    elif kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= CONTEXT_ELEMENTS:
            errors.append(f"context takes 1..{CONTEXT_ELEMENTS} elements")
        else:
            for element in elements:
                if isinstance(element, dict) and element.get("type") == "image":
                    errors.extend(_image_errors(element))
                else:
                    errors.extend(_text(element, "context element", TEXT_MAX))
    elif kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= ACTIONS_ELEMENTS:
            errors.append(f"actions takes 1..{ACTIONS_ELEMENTS} elements")
        else:
            for element in elements:
                errors.extend(_element_errors(element))
            errors.extend(_unique_action_ids(elements))
    elif kind == "image":
        errors.extend(_image_errors(block))
        if "title" in block:
            errors.extend(_text(block["title"], "image title", IMAGE_ALT, plain_only=True))
    elif kind == "input":
        errors.extend(_text(block.get("label"), "input label", 2000, plain_only=True))
        errors.extend(_element_errors(block.get("element")))
    return errors


def _unique_action_ids(elements: list[Any]) -> list[str]:
    ids = [e.get("action_id") for e in elements if isinstance(e, dict) and "action_id" in e]
    duplicates = sorted({str(i) for i in ids if ids.count(i) > 1})
    return [f"duplicate action_id {duplicates} in one block"] if duplicates else []


def _element_errors(element: Any) -> list[str]:
    if not isinstance(element, dict):
        return ["element is not an object"]
    kind = element.get("type")
    if kind not in _ELEMENTS:
        return [f"unknown element type {kind!r}"]
    errors: list[str] = []
    if "action_id" in element and not _id_ok(element["action_id"]):
        errors.append(f"action_id must be 1..{ID_MAX} characters")
    if "confirm" in element:
        errors.extend(_confirm_errors(element["confirm"]))
    if "placeholder" in element:
        errors.extend(_text(element["placeholder"], "placeholder", PLACEHOLDER, plain_only=True))
    if kind == "button":
        errors.extend(_text(element.get("text"), "button text", BUTTON_TEXT, plain_only=True))
        if len(str(element.get("value", ""))) > BUTTON_VALUE:
            errors.append(f"button value > {BUTTON_VALUE}")
        if len(str(element.get("url", ""))) > URL_MAX:
            errors.append(f"button url > {URL_MAX}")
        if len(str(element.get("accessibility_label", ""))) > BUTTON_LABEL:
            errors.append(f"button accessibility_label > {BUTTON_LABEL}")
        if "style" in element and element["style"] not in STYLES:
            errors.append(f"button style {element['style']!r}")
    elif kind == "overflow":
        errors.extend(_options_errors(element.get("options"), OVERFLOW_OPTIONS, urls=True))
    elif kind in ("checkboxes", "radio_buttons"):
        errors.extend(_options_errors(element.get("options"), (1, RADIO_CHECKBOX_OPTIONS)))
    elif kind in ("static_select", "multi_static_select"):
        if "options" in element and "option_groups" in element:
            errors.append("options and option_groups both given")
        if "option_groups" in element:
            groups = element["option_groups"]
            if not isinstance(groups, list) or not 1 <= len(groups) <= OPTIONS:
                errors.append(f"option_groups must be 1..{OPTIONS}")
            else:
                for group in groups:
                    group = group if isinstance(group, dict) else {}
                    errors.extend(_text(group.get("label"), "group label", OPTION_TEXT, True))
                    errors.extend(_options_errors(group.get("options"), (1, OPTIONS)))
        else:
            errors.extend(_options_errors(element.get("options"), (1, OPTIONS)))
    elif kind == "image":
        errors.extend(_image_errors(element))
    return errors


def _options_errors(options: Any, count: tuple[int, int], *, urls: bool = False) -> list[str]:
    low, high = count
    if not isinstance(options, list) or not low <= len(options) <= high:
        return [f"options must be {low}..{high}"]
    errors: list[str] = []
    for option in options:
        if not isinstance(option, dict):
            errors.append("option is not an object")
            continue
        errors.extend(_text(option.get("text"), "option text", OPTION_TEXT))
        if not 1 <= len(str(option.get("value", ""))) <= OPTION_VALUE:
            errors.append(f"option value must be 1..{OPTION_VALUE}")
        if "description" in option:
            errors.extend(_text(option["description"], "option description", OPTION_DESCRIPTION))
        if "url" in option and (not urls or len(str(option["url"])) > URL_MAX):
            errors.append("option url")
    return errors


def _confirm_errors(confirm: Any) -> list[str]:
    if not isinstance(confirm, dict):
        return ["confirm is not an object"]
    errors: list[str] = []
    for key, size in CONFIRM.items():
        errors.extend(_text(confirm.get(key), f"confirm {key}", size, plain_only=key != "text"))
    if "style" in confirm and confirm["style"] not in STYLES:
        errors.append(f"confirm style {confirm['style']!r}")
    return errors


def _image_errors(image: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    if not 1 <= len(str(image.get("image_url", ""))) <= URL_MAX and "slack_file" not in image:
        errors.append(f"image_url must be 1..{URL_MAX}")
    if not 1 <= len(str(image.get("alt_text", ""))) <= IMAGE_ALT:
        errors.append(f"alt_text must be 1..{IMAGE_ALT}")
    return errors


def _text(obj: Any, what: str, limit: int, plain_only: bool = False) -> list[str]:
    """A text object: plain_text or mrkdwn, 1..``limit`` characters."""
    if not isinstance(obj, dict):
        return [f"{what} is not a text object"]
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if obj.get("type") not in allowed:
        return [f"{what} must be {' or '.join(allowed)}"]
    text = obj.get("text")
    if not isinstance(text, str) or not 1 <= len(text) <= limit:
        return [f"{what} must be 1..{limit} characters"]
    return []


def _id_ok(value: Any) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= ID_MAX
