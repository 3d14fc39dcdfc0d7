"""What is decided about a Slack request before Bolt sees it: is it Slack's, and has it
been handled already.

Verification follows Slack's scheme (slack-sdk's ``SignatureVerifier``): HMAC-SHA256 of
``v0:{timestamp}:{body}`` with the signing secret, compared in constant time, the timestamp
within five minutes of now. Unlike that verifier, nothing here raises on hostile input: a
timestamp that is not ASCII digits, a signature with non-ASCII characters or the wrong
shape, a missing header or an oversize body is simply *not verified*. The reasons returned
are fixed phrases, safe to log; they never repeat what the request carried.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

__all__ = [
    "MAX_BODY_BYTES",
    "TOLERANCE",
    "request_identity",
    "signature",
    "unverified_reason",
]

# Slack documents no ceiling; its largest payloads (a block_actions carrying a 50-block
# message) stay well under 1 MiB, so 2 MiB refuses nothing real and bounds what a
# stranger can make us buffer and hash.
MAX_BODY_BYTES = 2 * 1024 * 1024
TOLERANCE = timedelta(minutes=5)

# ASCII only: ``int()`` accepts "١٢٣", " 12" and "-5", which Slack never sends.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Slack-Signature`` Slack would send for ``body`` at ``timestamp``."""
    digest = hmac.new(secret, b"v0:" + timestamp.encode("ascii") + b":" + body, hashlib.sha256)
    return "v0=" + digest.hexdigest()


def unverified_reason(
    secret: bytes,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> str | None:
    """``None`` when the request is Slack's; otherwise why not (a fixed phrase)."""
    timestamp = headers.get("X-Slack-Request-Timestamp")
    sent = headers.get("X-Slack-Signature")
    if timestamp is None or sent is None:
        return "signature headers missing"
    if not _TIMESTAMP.fullmatch(timestamp):
        return "timestamp is not a Unix time in seconds"
    if not _SIGNATURE.fullmatch(sent):
        return "signature is not of the form v0=<64 hex digits>"
    if len(body) > MAX_BODY_BYTES:
        return "body too large"
    if abs(now.timestamp() - int(timestamp)) > TOLERANCE.total_seconds():
        return "timestamp outside the 5-minute window"
    expected = signature(secret, timestamp, body)
    # Both sides are ASCII (checked above), so compare_digest cannot raise.
    if not hmac.compare_digest(expected.encode("ascii"), sent.encode("ascii")):
        return "signature does not match"
    return None


def request_identity(body: bytes, content_type: str) -> str | None:
    """What makes a verified delivery the same request as an earlier one, or ``None`` for
    requests that change nothing and may come twice (url_verification, ssl_check).

    Events carry ``event_id``; clicks, views and slash commands carry a ``trigger_id``
    unique to one gesture; anything else is known by the digest of its signed body.
    """
    digest = "body:" + hashlib.sha256(body).hexdigest()
    payload = _parse(body, content_type)
    if payload is None:
        return digest
    kind = payload.get("type")
    if kind == "url_verification" or payload.get("ssl_check") == "1":
        return None
    if kind == "event_callback":
        event_id = payload.get("event_id")
        return f"event:{event_id}" if _usable(event_id) else digest
    trigger = payload.get("trigger_id")
    if _usable(trigger):
        prefix = "command" if "command" in payload else f"interaction:{kind}"
        return f"{prefix}:{trigger}"
    stamps = [a.get("action_ts") for a in payload.get("actions") or [] if isinstance(a, dict)]
    if stamps and all(_usable(s) for s in stamps):
        container = payload.get("container") or {}
        where = (
            f"{container.get('channel_id')}/{container.get('message_ts')}"
            if isinstance(container, dict)
            else ""
        )
        return f"interaction:{kind}:{where}:{','.join(str(s) for s in stamps)}"
    return digest


def _usable(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 255


def _parse(body: bytes, content_type: str) -> dict[str, Any] | None:
    """The request as a flat dict (a command's form fields, or the JSON of an event or
    an interaction's ``payload``); ``None`` when it is neither."""
    try:
        text = body.decode("utf-8")
        if content_type == "application/json":
            loaded: object = json.loads(text)
        else:
            form = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
            loaded = json.loads(form["payload"]) if "payload" in form else form
    except (UnicodeDecodeError, ValueError, KeyError, RecursionError):
        return None
    return loaded if isinstance(loaded, dict) else None
