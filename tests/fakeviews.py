"""Modals the way Slack keeps them, for :mod:`fakeslack`: trigger ids, each person's stack of
open views, their input state, and what ``views.open``/``push``/``update`` refuse.

The rules, from Slack's pages on modals (docs.slack.dev surfaces/modals and the
``views.*`` method references):

* ``views.open`` and ``views.push`` need a ``trigger_id`` from an interaction; it can be
  exchanged once, within 3 seconds (``invalid_trigger_id``, ``expired_trigger_id``,
  ``exchanged_trigger_id``). ``open`` starts a new stack, ``push`` adds to the open one,
  and a stack holds at most 3 views (``push_limit_reached``).
* ``views.update`` names the view by ``view_id`` or ``external_id`` (``not_found``), and a
  ``hash`` that is not the view's current one means someone updated it since
  (``hash_conflict``). Each change gets a new hash.
* Input a person typed survives an update where the block keeps its ``block_id`` and the
  element its ``action_id``; a block with a new id starts from its ``initial_*`` value.
* The answer to a ``view_submission`` decides what happens to the stack: ``errors`` keeps
  it open and shows each message under its block, ``update`` replaces the top view,
  ``push`` adds one, ``clear`` closes them all, and an empty answer closes the top one.
"""

from __future__ import annotations

import copy
import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

TRIGGER_SECONDS = 3.0
STACK_MAX = 3

_INPUT_ELEMENTS = {
    "plain_text_input",
    "checkboxes",
    "radio_buttons",
    "static_select",
    "multi_static_select",
    "datepicker",
    "timepicker",
    "datetimepicker",
}


@dataclass
class OpenView:
    id: str
    user: str
    view: dict[str, Any]
    hash: str
    root_id: str
    previous_id: str | None
    # block_id → action_id → the element's value, in view_submission's shape.
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def as_slack(self) -> dict[str, Any]:
        """The view object as Slack returns it and sends it in payloads."""
        return {
            **copy.deepcopy(self.view),
            "id": self.id,
            "team_id": "T0FAKE",
            "app_id": "A0MAINTBOT",
            "bot_id": "B0BOT",
            "hash": self.hash,
            "root_view_id": self.root_id,
            "previous_view_id": self.previous_id,
            "private_metadata": self.view.get("private_metadata", ""),
            "callback_id": self.view.get("callback_id", ""),
            "state": {"values": copy.deepcopy(self.values)},
        }


class Views:
    """Trigger ids and open modals. Not thread-safe on its own: FakeSlack holds its lock."""

    def __init__(self) -> None:
        self._triggers: dict[str, tuple[str, float, bool]] = {}  # id → (user, issued, used)
        self._stacks: dict[str, list[OpenView]] = {}
        self._ids = itertools.count(1)
        self._hashes = itertools.count(1)

    # -- what interactions carry -----------------------------------------------------------
    def issue_trigger(self, user: str) -> str:
        trigger = f"{next(self._ids)}.1790000000.{secrets.token_hex(8)}"
        self._triggers[trigger] = (user, time.monotonic(), False)
        return trigger

    def _exchange(self, trigger: Any) -> tuple[str | None, str | None]:
        """(user, None) for a good trigger, now used; (None, error) otherwise."""
        if not isinstance(trigger, str) or not trigger:
            return None, "invalid_arguments"
        found = self._triggers.get(trigger)
        if found is None:
            return None, "invalid_trigger_id"
        user, issued, used = found
        if used:
            return None, "exchanged_trigger_id"
        if time.monotonic() - issued > TRIGGER_SECONDS:
            return None, "expired_trigger_id"
        self._triggers[trigger] = (user, issued, True)
        return user, None

    # -- the Web API -----------------------------------------------------------------------
    def open(self, params: dict[str, Any], view: dict[str, Any]) -> dict[str, Any]:
        user, error = self._exchange(params.get("trigger_id"))
        if user is None:
            return {"ok": False, "error": error}
        opened = self._new(user, view, root=None, previous=None)
        self._stacks[user] = [opened]
        return {"ok": True, "view": opened.as_slack()}

    def push(self, params: dict[str, Any], view: dict[str, Any]) -> dict[str, Any]:
        user, error = self._exchange(params.get("trigger_id"))
        if user is None:
            return {"ok": False, "error": error}
        stack = self._stacks.get(user) or []
        if not stack:
            # Slack pushes only onto a modal the person has open.
            return {"ok": False, "error": "not_found"}
        if len(stack) >= STACK_MAX:
            return {"ok": False, "error": "push_limit_reached"}
        pushed = self._new(user, view, root=stack[0].id, previous=stack[-1].id)
        stack.append(pushed)
        return {"ok": True, "view": pushed.as_slack()}

    def update(self, params: dict[str, Any], view: dict[str, Any]) -> dict[str, Any]:
        target = self._find(params.get("view_id"), params.get("external_id"))
        if target is None:
            return {"ok": False, "error": "not_found"}
        wanted = params.get("hash")
        if wanted and wanted != target.hash:
            return {"ok": False, "error": "hash_conflict"}
        if view.get("type") != target.view.get("type"):
            return {"ok": False, "error": "invalid_arguments"}
        self._replace(target, view)
        return {"ok": True, "view": target.as_slack()}

    # -- what a person does ----------------------------------------------------------------
    def top(self, user: str) -> OpenView | None:
        stack = self._stacks.get(user) or []
        return stack[-1] if stack else None

    def stack(self, user: str) -> list[OpenView]:
        return list(self._stacks.get(user) or [])

    def submitted(self, user: str, view_id: str, answer: dict[str, Any] | None) -> None:
        """Apply the bot's answer to a view_submission of ``view_id``."""
        stack = self._stacks.get(user) or []
        if not stack or stack[-1].id != view_id:
            return
        action = (answer or {}).get("response_action")
        top = stack[-1]
        top.errors = {}
        if action == "errors":
            top.errors = dict((answer or {}).get("errors") or {})
        elif action == "update":
            self._replace(top, (answer or {})["view"])
        elif action == "push" and len(stack) < STACK_MAX:
            stack.append(self._new(user, (answer or {})["view"], root=stack[0].id, previous=top.id))
        elif action == "clear":
            stack.clear()
        else:
            stack.pop()

    def closed(self, user: str) -> None:
        """The person pressed Close (or Esc): the whole stack goes."""
        self._stacks.pop(user, None)

    # -- internals -------------------------------------------------------------------------
    def _new(
        self, user: str, view: dict[str, Any], *, root: str | None, previous: str | None
    ) -> OpenView:
        view_id = f"V{next(self._ids):09d}"
        opened = OpenView(
            id=view_id,
            user=user,
            view=copy.deepcopy(view),
            hash=self._hash(),
            root_id=root or view_id,
            previous_id=previous,
        )
        opened.values = _initial_values(opened.view, {})
        return opened

    def _replace(self, target: OpenView, view: dict[str, Any]) -> None:
        target.view = copy.deepcopy(view)
        target.hash = self._hash()
        target.values = _initial_values(target.view, target.values)

    def _find(self, view_id: Any, external_id: Any) -> OpenView | None:
        for stack in self._stacks.values():
            for opened in stack:
                if view_id and opened.id == view_id:
                    return opened
                if external_id and opened.view.get("external_id") == external_id:
                    return opened
        return None

    def _hash(self) -> str:
        return f"1790000000.{next(self._hashes):08d}"


def parse_view(raw: Any) -> dict[str, Any] | None:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    return raw if isinstance(raw, dict) else None


def input_elements(view: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(block, element) of each input block's element."""
    return [
        (block, block["element"])
        for block in view.get("blocks") or []
        if block.get("type") == "input" and isinstance(block.get("element"), dict)
    ]


def _initial_values(
    view: dict[str, Any], kept: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Each input's value: what the person typed where the block and element kept their
    ids, else the element's initial value (Slack's rule for updates)."""
    values: dict[str, dict[str, Any]] = {}
    for block, element in input_elements(view):
        block_id, action_id = block.get("block_id"), element.get("action_id")
        if not block_id or not action_id or element.get("type") not in _INPUT_ELEMENTS:
            continue
        previous = kept.get(block_id, {}).get(action_id)
        values[block_id] = {action_id: previous if previous is not None else initial(element)}
    return values


def initial(element: dict[str, Any]) -> dict[str, Any]:
    """An element's value before anyone touches it, in view_submission's shape."""
    kind = element["type"]
    if kind == "plain_text_input":
        return {"type": kind, "value": element.get("initial_value")}
    if kind in ("checkboxes", "multi_static_select"):
        return {"type": kind, "selected_options": list(element.get("initial_options") or [])}
    if kind in ("radio_buttons", "static_select"):
        return {"type": kind, "selected_option": element.get("initial_option")}
    if kind == "datepicker":
        return {"type": kind, "selected_date": element.get("initial_date")}
    if kind == "datetimepicker":
        return {"type": kind, "selected_date_time": element.get("initial_date_time")}
    return {"type": kind, "selected_time": element.get("initial_time")}
