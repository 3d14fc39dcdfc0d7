"""Drive the real Slack app the way people do: ``alice.slash("/maintenance check …")``,
``bob.click("approve")``.

:class:`SlackWorld` starts everything on loopback: the fake Slack Web API
(:mod:`fakeslack`), the sandbox schedulers, a fresh SQLite store and the bot itself, served
by aiohttp on 127.0.0.1:<ephemeral> from its own event loop, wired exactly as
``maintbot serve`` wires it (the window clock is ticked by hand). Requests are signed as Slack
signs them; every reply records how long the bot took to answer (never asserted on).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import hmac
import http.server
import itertools
import json
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
from fakeslack import FakeSlack
from fakeviews import OpenView, input_elements
from slack_sdk.signature import SignatureVerifier

from bot.clock import Clock
from bot.config import Settings
from bot.model import AuditRow
from bot.sandbox import SIMULATORS, SandboxServer, make_simulators, sandbox_config
from bot.sandbox.base import Simulator
from bot.service import Maintbot
from bot.slack.app import SlackWiring
from bot.slack.server import SlackService
from bot.store import Store

T = TypeVar("T")

SIGNING_SECRET = "test-signing-secret-4f9d2c7e1a"
BOT_TOKEN = "xoxb-test-maintbot-0001"
APP_TOKEN = "xapp-1-test-maintbot-0001"

# Realistic Slack ids (upper-case letters and digits).
ALICE, BOB, CAROL, DAVE, NOTZ = "U0ALICE01", "U0BOB0001", "U0CAROL01", "U0DAVE001", "U0NOTZ001"
OPS, APPROVALS, ALERTS = "C0OPS0001", "C0APPROVE", "C0ALERTS1"
USERS = {"alice": ALICE, "bob": BOB, "carol": CAROL, "dave": DAVE, "notz": NOTZ}


def available_vendors() -> list[str]:
    """Every vendor the sandbox simulates (all four have a simulator and a connector)."""
    return list(SIMULATORS)


def sign(
    body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """The two headers Slack adds to every request (v0 HMAC-SHA256 over ts:body)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


@dataclass
class Reply:
    """The bot's HTTP answer to one request, and where its later responses arrive."""

    status: int
    body: str
    elapsed: float  # seconds from sending to the complete HTTP answer
    response_id: str
    fake: FakeSlack
    # Exactly what went over the wire, so a test can deliver it again (a replay).
    sent: tuple[bytes, dict[str, str | bytes]] = (b"", {})

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def wait(self, count: int = 1, timeout: float = 20.0) -> dict[str, Any]:
        """The ``count``-th message posted to this request's ``response_url``."""
        return self.fake.wait_response(self.response_id, count, timeout=timeout)


class BotServer:
    """The bot on its own thread and event loop (its connectors' clients live there)."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        config: Any,
        clock: Clock,
        *,
        socket_mode: bool = False,
    ) -> None:
        self.socket_mode = socket_mode
        self.settings = settings
        self.store = store
        self.config = config
        self.clock = clock
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.service: SlackService | None = None
        self.bot: Maintbot | None = None

    def start(self) -> None:
        self._thread.start()
        self.call(self._start())

    async def _start(self) -> None:
        # Wired as `maintbot serve` wires it: the Slack face's ports, then the application.
        slack = SlackWiring.from_settings(self.settings)
        self.bot = Maintbot.from_config(
            self.settings,
            self.store,
            self.config,
            self.clock,
            notifier=slack.notifier,
            approvers=slack.directory.approvers,
        )
        self.service = SlackService(self.bot, slack, run_clock=False, socket_mode=self.socket_mode)
        await self.service.start()

    @property
    def url(self) -> str:
        assert self.service is not None
        return self.service.url

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run ``coro`` on the bot's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def tick(self) -> Any:
        assert self.bot is not None
        return self.call(self.bot.tick())

    def stop(self) -> None:
        try:
            self.call(self._stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()

    async def _stop(self) -> None:
        if self.service is not None:
            await self.service.stop()
        # Listeners still running after their ack (Bolt runs them as tasks) finish first,
        # so nothing is destroyed while pending.
        current = asyncio.current_task()
        pending = [t for t in asyncio.all_tasks() if t is not current]
        if pending:
            await asyncio.wait(pending, timeout=20)
        for task in pending:
            task.cancel()
        if self.bot is not None:
            await self.bot.aclose()


@dataclass
class SlackWorld:
    """Fake Slack + sandbox schedulers + store + the bot, for one test."""

    tmp_path: Path
    clock: Clock
    approvers: str = f"{BOB} {CAROL}"
    allow_self_approval: bool = False
    approval_channel: str | None = APPROVALS
    alert_channel: str | None = ALERTS
    default_tz: str = "Europe/Berlin"
    user_tz: dict[str, str | None] = field(
        default_factory=lambda: {
            ALICE: "America/Los_Angeles",
            BOB: "Europe/London",
            CAROL: "Asia/Tokyo",
            DAVE: "America/New_York",
            NOTZ: None,
        }
    )
    groups: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    # user id → Slack locale (users.info with include_locale); en-US for anyone else.
    user_locale: dict[str, str] = field(default_factory=lambda: {CAROL: "ja-JP", DAVE: "fr-FR"})
    vendors: Sequence[str] | None = None
    scale: int = 1
    latency_ms: float = 0.0
    tune: Callable[[list[Simulator]], None] | None = None
    socket_mode: bool = False
    public_url: str | None = None

    def __post_init__(self) -> None:
        self.fake = FakeSlack(users=self.user_tz, groups=self.groups, locales=self.user_locale)
        self.db_path = self.tmp_path / "maintbot.db"
        self._users: dict[str, SlackUser] = {}
        self._ids = itertools.count(1)

    def __enter__(self) -> SlackWorld:
        self.fake.start()
        vendors = list(self.vendors) if self.vendors is not None else available_vendors()
        self.simulators = make_simulators(clock=self.clock, scale=self.scale, vendors=vendors)
        for sim in self.simulators:
            sim.faults.latency_ms = self.latency_ms
        if self.tune is not None:
            self.tune(self.simulators)
        self.sandbox = SandboxServer(self.simulators)
        self.sandbox.start()
        self.store = Store(self.db_path, clock=self.clock)
        self.settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            slack_bot_token=BOT_TOKEN,
            # Socket Mode: Slack signs nothing, so the bot gets no secret to check with.
            slack_signing_secret=None if self.socket_mode else SIGNING_SECRET,
            slack_app_token=APP_TOKEN if self.socket_mode else None,
            slack_api_url=self.fake.api_url,
            maintbot_db=str(self.db_path),
            maintbot_config=str(self.tmp_path / "absent.toml"),
            maintbot_tz=self.default_tz,
            maintbot_alert_channel=self.alert_channel,
            maintbot_approval_channel=self.approval_channel,
            maintbot_approvers=self.approvers,
            maintbot_allow_self_approval=self.allow_self_approval,
            maintbot_public_url=self.public_url,
        )
        self.bot = BotServer(
            self.settings,
            self.store,
            sandbox_config(self.simulators),
            self.clock,
            socket_mode=self.socket_mode,
        )
        self.bot.start()
        self.http = httpx.Client(base_url=self.bot.url, timeout=60)
        self.timings: list[tuple[str, float]] = []
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.http.close()
            self.bot.stop()
        finally:
            self.store.close()
            self.sandbox.stop()
            self.fake.stop()

    # -- people --------------------------------------------------------------------------------
    def user(self, name: str) -> SlackUser:
        if name not in self._users:
            self._users[name] = SlackUser(self, USERS.get(name, f"U0{name.upper()[:7]}"), name)
        return self._users[name]

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):04d}"

    # -- raw requests ----------------------------------------------------------------------------
    def post(
        self,
        body: str,
        content_type: str,
        *,
        response_id: str = "",
        secret: str = SIGNING_SECRET,
        timestamp: int | None = None,
        tamper: Callable[[str], str] | None = None,
        headers: dict[str, str] | None = None,
        label: str = "request",
    ) -> Reply:
        # Signed at the bot's own (injected) time, which is what it checks the 5 minutes
        # against.
        when = int(self.clock().timestamp()) if timestamp is None else timestamp
        signed = sign(body, secret=secret, timestamp=when)
        sent = (tamper(body) if tamper is not None else body).encode()
        all_headers: dict[str, str | bytes] = {
            "Content-Type": content_type,
            **signed,
            **(headers or {}),
        }
        return self.send(sent, all_headers, response_id=response_id, label=label)

    def send(
        self,
        content: bytes,
        headers: dict[str, str | bytes],
        *,
        response_id: str = "",
        label: str = "request",
    ) -> Reply:
        """POST exactly these bytes and headers to the bot (raw, for replays and forgeries)."""
        started = time.perf_counter()
        response = self.http.post("/slack/events", content=content, headers=headers)
        elapsed = time.perf_counter() - started
        self.timings.append((label, elapsed))
        return Reply(
            response.status_code,
            response.text,
            elapsed,
            response_id,
            self.fake,
            sent=(content, headers),
        )

    def replay(self, reply: Reply, *, headers: dict[str, str | bytes] | None = None) -> Reply:
        """Deliver the request behind ``reply`` again, byte for byte (as an attacker who
        captured it would, or as Slack retries with ``headers`` such as X-Slack-Retry-Num)."""
        content, sent_headers = reply.sent
        return self.send(
            content, {**sent_headers, **(headers or {})}, response_id=reply.response_id
        )

    # -- what can be observed --------------------------------------------------------------------
    def audit(self, limit: int = 500) -> list[AuditRow]:
        return self.store.audit_rows(limit)

    def sandbox_state(self, vendor: str) -> dict[str, Any]:
        sim = self.sandbox.by_vendor(vendor)
        return dict(httpx.get(f"{sim.base_url}/_sandbox/state", timeout=10).json())

    def tick(self) -> Any:
        return self.bot.tick()


class SlackUser:
    """One person in Slack. Remembers the ephemeral messages the bot sent them."""

    def __init__(self, world: SlackWorld, user_id: str, name: str, channel: str = OPS) -> None:
        self.world = world
        self.id = user_id
        self.name = name
        self.channel = channel
        self._seen: list[str] = []  # response ids of this user's requests

    def slash(self, text: str, *, channel: str | None = None, **signing: Any) -> Reply:
        """``alice.slash("/maintenance check Saturday 2-4am")``."""
        command, _, rest = text.partition(" ")
        rid = self.world.new_id("cmd")
        form = {
            "token": "legacy-verification-token",
            "team_id": "T0FAKE",
            "team_domain": "fake",
            "channel_id": channel or self.channel,
            "channel_name": "ops",
            "user_id": self.id,
            "user_name": self.name,
            "command": command,
            "text": rest,
            "api_app_id": "A0MAINTBOT",
            "is_enterprise_install": "false",
            "response_url": self.world.fake.response_url(rid),
            "trigger_id": self.world.fake.issue_trigger(self.id),
        }
        self._seen.append(rid)
        return self.world.post(
            urlencode(form),
            "application/x-www-form-urlencoded",
            response_id=rid,
            label="slash",
            **signing,
        )

    def click(
        self,
        action_id: str,
        *,
        on: dict[str, Any] | None = None,
        which: Callable[[dict[str, Any]], bool] | int = 0,
        **signing: Any,
    ) -> Reply:
        """Click the button ``action_id`` on a message (by default the newest one this person
        can see that has such a button); ``which`` picks among several (index or test)."""
        message, ephemeral = (on, on.get("_ephemeral", True)) if on else self.find(action_id)
        buttons = [
            (block, element)
            for block in message.get("blocks") or []
            for element in _elements(block)
            if element.get("action_id") == action_id
        ]
        if callable(which):
            buttons = [(b, e) for b, e in buttons if which(e)]
            index = 0
        else:
            index = which
        if not buttons or index >= len(buttons):
            raise AssertionError(f"{self.name} sees no {action_id!r} button (#{which})")
        block, element = buttons[index]
        return self.click_value(
            action_id,
            element.get("value", ""),
            block_id=block.get("block_id", "b"),
            message=message,
            ephemeral=ephemeral,
            **signing,
        )

    def choose(self, action_id: str, label: str, *, on: dict[str, Any], **signing: Any) -> Reply:
        """Pick the option shown as ``label`` in the select ``action_id`` on a message, as
        Slack sends it (``selected_option``, no ``value``)."""
        ephemeral = on.get("_ephemeral", True)
        found = [
            (block, element)
            for block in on.get("blocks") or []
            for element in _elements(block)
            if element.get("action_id") == action_id and element.get("type") == "static_select"
        ]
        if not found:
            raise AssertionError(f"{self.name} sees no {action_id!r} menu")
        block, element = found[0]
        options = [o for o in element["options"] if o["text"]["text"] == label]
        if not options:
            shown = [o["text"]["text"] for o in element["options"]]
            raise AssertionError(f"{action_id!r} offers no {label!r}; it offers {shown}")
        return self.click_value(
            action_id,
            "",
            block_id=block.get("block_id", "b"),
            message=on,
            ephemeral=ephemeral,
            selected=options[0],
            **signing,
        )

    def click_value(
        self,
        action_id: str,
        value: str,
        *,
        block_id: str = "b",
        message: dict[str, Any] | None = None,
        ephemeral: bool = True,
        selected: dict[str, Any] | None = None,
        **signing: Any,
    ) -> Reply:
        """Send a ``block_actions`` payload for a button with this exact value (also how
        a forged value is sent); with ``selected``, for a select and its chosen option."""
        rid = self.world.new_id("act")
        channel = (message or {}).get("channel") or self.channel
        ts = (message or {}).get("_ts") or "1790000000.000001"
        payload = {
            "type": "block_actions",
            "team": {"id": "T0FAKE", "domain": "fake"},
            "user": {"id": self.id, "username": self.name, "name": self.name},
            "api_app_id": "A0MAINTBOT",
            "token": "legacy-verification-token",
            "container": {
                "type": "message",
                "message_ts": ts,
                "channel_id": channel,
                "is_ephemeral": ephemeral,
            },
            "trigger_id": self.world.fake.issue_trigger(self.id),
            "channel": {"id": channel, "name": "ops"},
            "message": {"ts": ts, "blocks": (message or {}).get("blocks", [])},
            "response_url": self.world.fake.response_url(rid),
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": block_id,
                    "value": value,
                    "action_ts": f"{time.time():.6f}",
                }
                if selected is None
                else {
                    "type": "static_select",
                    "action_id": action_id,
                    "block_id": block_id,
                    "selected_option": selected,
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        self._seen.append(rid)
        return self.world.post(
            urlencode({"payload": json.dumps(payload)}),
            "application/x-www-form-urlencoded",
            response_id=rid,
            label="click",
            **signing,
        )

    # -- modals --------------------------------------------------------------------------------
    def modal(self) -> OpenView:
        """The modal on top of this person's screen (it must be open)."""
        top = self.world.fake.modal(self.id)
        if top is None:
            raise AssertionError(f"{self.name} has no modal open")
        return top

    def wait_modal(self, *, timeout: float = 15.0) -> OpenView:
        return self.world.fake.wait_modal(self.id, timeout=timeout)

    def type_in(self, block_id: str, text: str, *, enter: bool = False) -> Reply | None:
        """Type ``text`` in a text input; with ``enter``, press Enter (which Slack sends as
        a ``block_actions`` when the block dispatches actions)."""
        self.world.fake.set_value(
            self.id, block_id, {"type": "plain_text_input", "value": text or None}
        )
        return self._dispatch(block_id, {"type": "plain_text_input", "value": text}, enter)

    def tick(self, block_id: str, labels: Sequence[str]) -> Reply | None:
        """Leave exactly the options labelled ``labels`` ticked in a checkboxes or
        multi-select input (what a person ends with after ticking and unticking)."""
        element = self._input(block_id)
        options = _all_options(element)
        by_label = {o["text"]["text"]: o for o in options}
        missing = [label for label in labels if label not in by_label]
        if missing:
            raise AssertionError(f"{block_id!r} offers no {missing}; it offers {list(by_label)}")
        value = {"type": element["type"], "selected_options": [by_label[x] for x in labels]}
        self.world.fake.set_value(self.id, block_id, value)
        return self._dispatch(block_id, value, True)

    def pick_time(self, block_id: str, moment: datetime) -> Reply | None:
        """Pick ``moment`` in a date-and-time picker (Slack sends it as a Unix time)."""
        value = {"type": "datetimepicker", "selected_date_time": int(moment.timestamp())}
        self.world.fake.set_value(self.id, block_id, value)
        return self._dispatch(block_id, value, True)

    def ticked(self, block_id: str) -> list[str]:
        """The labels ticked now in a checkboxes or multi-select input."""
        top = self.modal()
        action = self._input(block_id)["action_id"]
        value = top.values.get(block_id, {}).get(action) or {}
        return [o["text"]["text"] for o in value.get("selected_options") or []]

    def submit(self, **signing: Any) -> Reply:
        """Press the modal's submit button: a ``view_submission``, and the bot's answer
        applied to the stack as Slack applies it."""
        top = self.modal()
        payload = {
            "type": "view_submission",
            "team": {"id": "T0FAKE", "domain": "fake"},
            "user": {"id": self.id, "username": self.name, "name": self.name},
            "api_app_id": "A0MAINTBOT",
            "token": "legacy-verification-token",
            "trigger_id": self.world.fake.issue_trigger(self.id),
            "view": top.as_slack(),
            "response_urls": [],
            "is_enterprise_install": False,
        }
        reply = self.world.post(
            urlencode({"payload": json.dumps(payload)}),
            "application/x-www-form-urlencoded",
            label="submit",
            **signing,
        )
        if reply.status == 200:
            self.world.fake.submitted(self.id, top.id, reply.json())
        return reply

    def _input(self, block_id: str) -> dict[str, Any]:
        for block, element in input_elements(self.modal().view):
            if block.get("block_id") == block_id:
                return element
        raise AssertionError(f"{self.name}'s modal has no input {block_id!r}")

    def _dispatch(self, block_id: str, value: dict[str, Any], enter: bool) -> Reply | None:
        top = self.modal()
        block = next(b for b, _ in input_elements(top.view) if b.get("block_id") == block_id)
        if not (block.get("dispatch_action") and enter):
            return None
        action = {
            **value,
            "action_id": block["element"]["action_id"],
            "block_id": block_id,
            "action_ts": f"{time.time():.6f}",
        }
        payload = {
            "type": "block_actions",
            "team": {"id": "T0FAKE", "domain": "fake"},
            "user": {"id": self.id, "username": self.name, "name": self.name},
            "api_app_id": "A0MAINTBOT",
            "token": "legacy-verification-token",
            "container": {"type": "view", "view_id": top.id},
            "trigger_id": self.world.fake.issue_trigger(self.id),
            "view": top.as_slack(),
            "actions": [action],
        }
        return self.world.post(
            urlencode({"payload": json.dumps(payload)}),
            "application/x-www-form-urlencoded",
            label="view action",
        )

    def open_home(self, *, event_id: str | None = None, retry: int | None = None) -> Reply:
        body = {
            "token": "legacy-verification-token",
            "team_id": "T0FAKE",
            "api_app_id": "A0MAINTBOT",
            "type": "event_callback",
            "event_id": event_id or self.world.new_id("Ev"),
            "event_time": int(time.time()),
            "event": {
                "type": "app_home_opened",
                "user": self.id,
                "channel": "D0HOME001",
                "tab": "home",
                "event_ts": f"{time.time():.6f}",
            },
        }
        headers = {}
        if retry is not None:
            headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return self.world.post(json.dumps(body), "application/json", headers=headers, label="event")

    # -- what this person sees -------------------------------------------------------------------
    def screen(self) -> dict[str, Any]:
        """The newest message the bot sent this person privately."""
        seen = set(self._seen)
        for call in reversed(list(self.world.fake)):
            if call.response_id in seen:
                return {**call.params, "_ephemeral": True}
        raise AssertionError(f"the bot has not answered {self.name} yet")

    def find(self, action_id: str) -> tuple[dict[str, Any], bool]:
        seen = set(self._seen)
        for call in reversed(list(self.world.fake)):
            if call.response_id in seen and _has_button(call.params, action_id):
                return call.params, True
        for message in reversed(self.world.fake.messages()):
            if _has_button(message, action_id):
                return message, False
        raise AssertionError(f"{self.name} sees no message with a {action_id!r} button")


def _all_options(element: dict[str, Any]) -> list[dict[str, Any]]:
    groups = element.get("option_groups") or []
    return [o for g in groups for o in g["options"]] or list(element.get("options") or [])


def _elements(block: dict[str, Any]) -> list[dict[str, Any]]:
    if block.get("type") == "actions":
        return list(block.get("elements") or [])
    accessory = block.get("accessory")
    return [accessory] if isinstance(accessory, dict) else []


def _has_button(message: dict[str, Any], action_id: str) -> bool:
    return any(
        element.get("action_id") == action_id
        for block in message.get("blocks") or []
        for element in _elements(block)
    )


def together(*actions: Callable[[], T]) -> list[T]:
    """Run ``actions`` at the same moment from separate threads (released by one barrier)."""
    barrier = threading.Barrier(len(actions))

    def run(action: Callable[[], T]) -> T:
        barrier.wait()
        return action()

    with concurrent.futures.ThreadPoolExecutor(len(actions)) as pool:
        return list(pool.map(run, actions))


def blocks_text(message: dict[str, Any]) -> str:
    """Every piece of text in a message's blocks, one per line (for assertions)."""
    out = [message.get("text", "")]
    for block in message.get("blocks") or []:
        for key in ("text",):
            if isinstance(block.get(key), dict):
                out.append(block[key]["text"])
        for item in block.get("fields") or []:
            out.append(item["text"])
        for element in block.get("elements") or []:
            if element.get("type") in ("mrkdwn", "plain_text"):
                out.append(element["text"])
    return "\n".join(out)


# -- hostile requests ---------------------------------------------------------------------------
class HookRecorder:
    """A ``response_url`` server of the test's own on 127.0.0.1: records every request it
    gets, so a test can prove the bot never posted to a URL taken from a forged body."""

    def __init__(self) -> None:
        self.hits: list[tuple[str, str]] = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                recorder.hits.append(("POST", self.path))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_PUT = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the test reads ``hits``

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> HookRecorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


MARKER = "MALLORY-7f3c"  # in every forged body, so a test can see none of it is logged


@dataclass(frozen=True)
class Forgery:
    label: str
    content: bytes
    headers: dict[str, str | bytes]


def payload_kinds(hook: str) -> dict[str, tuple[bytes, str]]:
    """One body of every kind Slack sends to the request URL, each naming ``hook`` as its
    response URL where that kind has one: (body, content type)."""
    form = "application/x-www-form-urlencoded"

    def interaction(payload: dict[str, Any]) -> tuple[bytes, str]:
        return urlencode({"payload": json.dumps(payload)}).encode(), form

    base = {
        "team": {"id": "T0FAKE"},
        "user": {"id": ALICE, "name": MARKER},
        "api_app_id": "A0MAINTBOT",
        "trigger_id": f"{MARKER}.trigger",
    }
    return {
        "command": (
            urlencode(
                {
                    "command": "/maintenance",
                    "text": f"cancel w_{MARKER}",
                    "user_id": ALICE,
                    "channel_id": OPS,
                    "response_url": f"{hook}/command",
                    "trigger_id": f"{MARKER}.cmd",
                }
            ).encode(),
            form,
        ),
        "block_actions": interaction(
            {
                **base,
                "type": "block_actions",
                "response_url": f"{hook}/block_actions",
                "container": {"type": "message", "channel_id": OPS, "message_ts": "1.1"},
                "actions": [
                    {
                        "type": "button",
                        "action_id": "pause_now",
                        "block_id": "conflict-0",
                        "value": json.dumps({"c": f"c_{MARKER}", "i": 0}),
                        "action_ts": "1790000000.000001",
                    }
                ],
            }
        ),
        "view_submission": interaction(
            {
                **base,
                "type": "view_submission",
                "view": {"id": "V0", "callback_id": MARKER, "state": {"values": {}}},
                "response_urls": [{"response_url": f"{hook}/view", "channel_id": OPS}],
            }
        ),
        "message_action": interaction(
            {
                **base,
                "type": "message_action",
                "callback_id": MARKER,
                "response_url": f"{hook}/message_action",
                "channel": {"id": OPS},
                "message": {"ts": "1.1", "text": MARKER},
            }
        ),
        "shortcut": interaction({**base, "type": "shortcut", "callback_id": MARKER}),
        "event": (
            json.dumps(
                {
                    "type": "event_callback",
                    "team_id": "T0FAKE",
                    "api_app_id": "A0MAINTBOT",
                    "event_id": f"Ev{MARKER}",
                    "event": {"type": "app_home_opened", "user": ALICE, "tab": "home"},
                }
            ).encode(),
            "application/json",
        ),
        "url_verification": (
            json.dumps({"type": "url_verification", "challenge": MARKER}).encode(),
            "application/json",
        ),
        "ssl_check": (urlencode({"ssl_check": "1", "token": MARKER}).encode(), form),
    }


def _hmac(body: bytes, ts: str, secret: str = SIGNING_SECRET) -> str:
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    return "v0=" + digest.hexdigest()


def _signed(stamp: str | bytes, signature: str | bytes) -> dict[str, str | bytes]:
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


def forgeries(hook: str, now: int) -> list[Forgery]:
    """Every way a request can fail verification, for every payload kind: signed with the
    wrong secret, unsigned, stale or future, malformed headers (non-numeric, non-ASCII,
    negative or huge timestamps; non-ASCII, wrong-shape signatures), a tampered body, a
    valid signature over a different request, and an oversize body."""
    kinds = payload_kinds(hook)
    ts = str(now)
    arabic = ts.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    other_body, _ = kinds["command"]
    found: list[Forgery] = []
    for kind, (body, content_type) in kinds.items():
        good = _hmac(body, ts)
        cases: list[tuple[str, dict[str, str | bytes], bytes]] = [
            ("unsigned", {}, body),
            ("no signature", {"X-Slack-Request-Timestamp": ts}, body),
            ("no timestamp", {"X-Slack-Signature": good}, body),
            ("wrong secret", _signed(ts, _hmac(body, ts, "guessed-secret")), body),
            ("stale by 301 s", _signed(str(now - 301), _hmac(body, str(now - 301))), body),
            ("future by 301 s", _signed(str(now + 301), _hmac(body, str(now + 301))), body),
            ("non-numeric timestamp", _signed("yesterday", good), body),
            ("empty timestamp", _signed("", good), body),
            ("fractional timestamp", _signed(f"{ts}.0", _hmac(body, f"{ts}.0")), body),
            ("negative timestamp", _signed("-1", _hmac(body, "-1")), body),
            ("huge timestamp", _signed("9" * 40, _hmac(body, "9" * 40)), body),
            ("timestamp with a space", _signed(f"{ts[:5]} {ts[5:]}", good), body),
            ("non-ASCII digits", _signed(arabic.encode(), good), body),
            ("non-ASCII signature", _signed(ts, ("v0=" + "é" * 64).encode()), body),
            ("upper-case signature", _signed(ts, "v0=" + good[3:].upper()), body),
            ("v1 signature", _signed(ts, "v1=" + good[3:]), body),
            ("truncated signature", _signed(ts, good[:-1]), body),
            ("empty signature", _signed(ts, ""), body),
            ("signature of another timestamp", _signed(str(now - 1), good), body),
            ("tampered body", _signed(ts, good), body.replace(b"A", b"B", 1) + b"&x=1"),
            ("forged retry", {**_signed(ts, "v0=" + "0" * 64), "X-Slack-Retry-Num": "1"}, body),
            ("invalid UTF-8", _signed(ts, good), body + b"\xff\xfe"),
        ]
        if body != other_body:
            cases.append(("another request's signature", _signed(ts, _hmac(other_body, ts)), body))
        found.extend(
            Forgery(f"{kind}: {label}", content, {"Content-Type": content_type, **headers})
            for label, headers, content in cases
        )
    big = b"payload=" + b"x" * (3 * 1024 * 1024)
    found.append(
        Forgery(
            "oversize body, correctly signed",
            big,
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": _hmac(big, ts),
            },
        )
    )
    return found
