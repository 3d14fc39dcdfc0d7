"""Block Kit building blocks, and the one place Slack's size limits are enforced.

Every block the bot sends is built here, and every message or view passes through
:func:`message` or :func:`home_view` on its way out. Two promises follow:

* nothing we send can be refused by Slack for size: text is fitted to each field's limit
  with a visible "…", never cut silently at a point Slack chooses;
* nothing taken from vendor data can act as markup: ``&``, ``<`` and ``>`` are escaped in
  every text object, so a task called ``<!channel>`` cannot ping a channel.

slack-sdk's models check some of these limits, but not blocks per message nor per-field
length, and only when ``to_dict()`` runs; plain dicts and one module are simpler to audit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = [
    "LIMITS",
    "Block",
    "BlockKitError",
    "Limits",
    "actions",
    "button",
    "confirm",
    "context",
    "date_token",
    "divider",
    "escape",
    "fit",
    "header",
    "home_view",
    "message",
    "modal_view",
    "mrkdwn",
    "plain",
    "section",
]

Block = dict[str, Any]
Style = Literal["primary", "danger"]


@dataclass(frozen=True)
class Limits:
    """Slack's documented limits (docs.slack.dev reference/block-kit), in characters."""

    blocks_per_message: int = 50
    blocks_per_view: int = 100
    message_text: int = 4000  # Slack truncates above 40k; 4k is its own advice for `text`
    section_text: int = 3000
    fields: int = 10
    field_text: int = 2000
    header_text: int = 150
    context_elements: int = 10
    context_text: int = 3000
    actions_elements: int = 25
    button_text: int = 75
    button_value: int = 2000
    action_id: int = 255
    block_id: int = 255
    confirm_title: int = 100
    confirm_text: int = 300
    confirm_button: int = 30
    select_options: int = 100
    option_text: int = 75
    option_value: int = 150
    placeholder: int = 150


LIMITS = Limits()

_ELLIPSIS = "…"
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


class BlockKitError(ValueError):
    """A message was built that Slack would refuse; a bug in the caller, not user input."""


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control sequences."""
    return "".join(_ENTITIES.get(ch, ch) for ch in text)


def fit(text: str, limit: int, *, escaped: bool = True) -> str:
    """``text`` escaped (unless ``escaped=False``) and cut to at most ``limit`` characters.

    The cut happens on the raw text, so an entity such as ``&amp;`` is never split in half;
    a cut text ends with "…" so a reader can see something is missing.
    """
    out = escape(text) if escaped else text
    if len(out) <= limit:
        return out
    budget = limit - len(_ELLIPSIS)
    pieces: list[str] = []
    used = 0
    for ch in text:
        piece = _ENTITIES.get(ch, ch) if escaped else ch
        if used + len(piece) > budget:
            break
        pieces.append(piece)
        used += len(piece)
    return "".join(pieces) + _ELLIPSIS


def _cut(text: str, limit: int) -> str:
    """Cut already-formatted mrkdwn (escaping done by the caller) to ``limit``.

    Never ends inside an entity or a ``<…>`` token, which Slack would render as garbage.
    """
    if len(text) <= limit:
        return text
    head = text[: limit - len(_ELLIPSIS)]
    amp, lt = head.rfind("&"), head.rfind("<")
    if amp > head.rfind(";"):
        head = head[:amp]
    if lt > head.rfind(">"):
        head = head[:lt]
    return head + _ELLIPSIS


def mrkdwn(text: str, limit: int = LIMITS.section_text) -> dict[str, str]:
    """A mrkdwn text object from text the caller has already escaped (see :func:`escape`)."""
    return {"type": "mrkdwn", "text": _cut(text, limit) or " "}


def plain(text: str, limit: int) -> dict[str, Any]:
    """A plain_text object from raw text (escaped here)."""
    return {"type": "plain_text", "text": fit(text, limit) or " ", "emoji": True}


def date_token(moment: datetime, *, fmt: str = "{date_short_pretty} {time}") -> str:
    """``<!date^…>``: each reader sees ``moment`` in their own zone; the fallback (shown
    where Slack cannot render the token) is UTC so it is never silently wrong."""
    fallback = moment.astimezone(UTC).strftime("%a %d %b %Y %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{fmt}|{fallback}>"


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, LIMITS.header_text)}


def divider() -> Block:
    return {"type": "divider"}


def section(
    text: str | None = None,
    *,
    fields: Sequence[str] = (),
    accessory: dict[str, Any] | None = None,
    block_id: str | None = None,
) -> Block:
    """A section; ``text`` and ``fields`` are mrkdwn the caller has already escaped."""
    if text is None and not fields:
        raise BlockKitError("a section needs text or fields")
    if len(fields) > LIMITS.fields:
        raise BlockKitError(f"a section takes at most {LIMITS.fields} fields, got {len(fields)}")
    block: Block = {"type": "section"}
    if text is not None:
        block["text"] = mrkdwn(text, LIMITS.section_text)
    if fields:
        block["fields"] = [mrkdwn(f, LIMITS.field_text) for f in fields]
    if accessory is not None:
        block["accessory"] = accessory
    if block_id is not None:
        block["block_id"] = _id(block_id, LIMITS.block_id)
    return block


def context(*elements: str) -> Block:
    """A context block of mrkdwn elements (already escaped)."""
    if not elements or len(elements) > LIMITS.context_elements:
        raise BlockKitError(f"a context block takes 1..{LIMITS.context_elements} elements")
    return {"type": "context", "elements": [mrkdwn(e, LIMITS.context_text) for e in elements]}


def confirm(
    title: str, text: str, *, ok: str = "Yes", deny: str = "Cancel", style: Style | None = None
) -> dict[str, Any]:
    """A confirm dialog. It runs only in the Slack client: the server re-checks everything."""
    dialog: dict[str, Any] = {
        "title": plain(title, LIMITS.confirm_title),
        "text": plain(text, LIMITS.confirm_text),
        "confirm": plain(ok, LIMITS.confirm_button),
        "deny": plain(deny, LIMITS.confirm_button),
    }
    if style is not None:
        dialog["style"] = style
    return dialog


def button(
    text: str,
    action_id: str,
    value: dict[str, Any] | str,
    *,
    style: Style | None = None,
    confirm_dialog: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A button whose ``value`` carries only opaque ids (never what to act on)."""
    raw = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    if len(raw) > LIMITS.button_value:
        # Values hold ids only; one this long means a caller put data in it.
        raise BlockKitError(f"button value of {len(raw)} chars exceeds {LIMITS.button_value}")
    element: dict[str, Any] = {
        "type": "button",
        "text": plain(text, LIMITS.button_text),
        "action_id": _id(action_id, LIMITS.action_id),
        "value": raw,
    }
    if style is not None:
        element["style"] = style
    if confirm_dialog is not None:
        element["confirm"] = confirm_dialog
    return element


def select(
    placeholder: str, action_id: str, options: Sequence[tuple[str, dict[str, Any] | str]]
) -> dict[str, Any]:
    """A static select; each option's value, like a button's, carries only ids."""
    if not 1 <= len(options) <= LIMITS.select_options:
        raise BlockKitError(f"a select takes 1..{LIMITS.select_options} options")
    rendered = []
    for label, value in options:
        raw = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        if len(raw) > LIMITS.option_value:
            raise BlockKitError(f"option value of {len(raw)} chars exceeds {LIMITS.option_value}")
        rendered.append({"text": plain(label, LIMITS.option_text), "value": raw})
    return {
        "type": "static_select",
        "placeholder": plain(placeholder, LIMITS.placeholder),
        "action_id": _id(action_id, LIMITS.action_id),
        "options": rendered,
    }


def actions(*elements: dict[str, Any], block_id: str | None = None) -> Block:
    if not elements or len(elements) > LIMITS.actions_elements:
        raise BlockKitError(f"an actions block takes 1..{LIMITS.actions_elements} elements")
    ids = [e["action_id"] for e in elements if "action_id" in e]
    if len(ids) != len(set(ids)):
        # Slack refuses the whole message (invalid_blocks), not just this block.
        raise BlockKitError(f"duplicate action_id in one actions block: {sorted(ids)}")
    block: Block = {"type": "actions", "elements": list(elements)}
    if block_id is not None:
        block["block_id"] = _id(block_id, LIMITS.block_id)
    return block


def _id(value: str, limit: int) -> str:
    if not value or len(value) > limit:
        raise BlockKitError(f"id {value[:40]!r}… must be 1..{limit} characters")
    return value


def _check_unique_block_ids(blocks: Sequence[Block]) -> None:
    seen: set[str] = set()
    for block in blocks:
        block_id = block.get("block_id")
        if block_id is None:
            continue
        if block_id in seen:
            raise BlockKitError(f"duplicate block_id {block_id!r}")
        seen.add(block_id)


def message(text: str, blocks: Sequence[Block] = ()) -> dict[str, Any]:
    """A message payload: a top-level ``text`` (notifications and screen readers use it,
    and it is what shows where blocks cannot) plus at most 50 blocks.

    ``text`` is mrkdwn the caller has escaped, like section text (it may carry ``<@U…>``
    and ``<!date^…>`` tokens). Callers paginate; more than 50 blocks is a bug, so it raises
    rather than dropping the tail.
    """
    if len(blocks) > LIMITS.blocks_per_message:
        raise BlockKitError(
            f"{len(blocks)} blocks in one message; Slack allows {LIMITS.blocks_per_message}"
        )
    _check_unique_block_ids(blocks)
    payload: dict[str, Any] = {"text": _cut(text, LIMITS.message_text) or "maintbot"}
    if blocks:
        payload["blocks"] = list(blocks)
    return payload


def home_view(blocks: Sequence[Block]) -> dict[str, Any]:
    """An App Home view (100 blocks at most)."""
    if not blocks:
        raise BlockKitError("a Home view needs at least one block")
    if len(blocks) > LIMITS.blocks_per_view:
        raise BlockKitError(f"{len(blocks)} blocks in a view; Slack allows 100")
    _check_unique_block_ids(blocks)
    return {"type": "home", "blocks": list(blocks)}


def modal_view(view: dict[str, Any]) -> dict[str, Any]:
    """A modal (100 blocks at most, block ids unique, titles within 24 characters)."""
    blocks = view.get("blocks") or []
    if not blocks:
        raise BlockKitError("a modal needs at least one block")
    if len(blocks) > LIMITS.blocks_per_view:
        raise BlockKitError(f"{len(blocks)} blocks in a view; Slack allows 100")
    _check_unique_block_ids(blocks)
    return view
