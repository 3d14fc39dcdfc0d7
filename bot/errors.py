"""One exception tree for maintbot; every message in it is safe to show a user.

    MaintbotError                  base: ``str(err)`` is a user-safe message
    ├── WindowError                a window text was rejected (exit code 2)
    ├── ConfigError                maintbot.toml / environment is wrong (exit code 2)
    ├── ConnectorError             a scheduler call failed (system, retryable)
    │   └── AuthError              credentials were refused or missing
    ├── StoreError                 the store (SQLite or PostgreSQL) refused an operation
    ├── ApprovalError              an approval was refused by policy or already decided
    ├── LifecycleError             a window transition is not allowed in its current state
    ├── OverlapError               a window overlaps another open one (exit code 2)
    ├── FilterError                a filter names nothing there is, or a time unread (exit 2)
    └── ScopeError                 a window's scope names no system, group or task there is,
                                   or matches nothing (exit 2)

No message may contain a credential: connectors build messages from status codes and
vendor error text only, and ``redact`` scrubs anything that looks like a token before a
vendor's text is quoted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.model import Window, WindowRecord

__all__ = [
    "ApprovalError",
    "AuthError",
    "ConfigError",
    "ConnectorError",
    "FilterError",
    "LifecycleError",
    "MaintbotError",
    "OverlapError",
    "ScopeError",
    "StoreError",
    "WindowError",
    "redact",
]

# Shapes of secrets that vendor bodies sometimes echo back: auth headers, JWTs, key=value.
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9+/_\-=.]{8,}")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*")
_KEY_VALUE = re.compile(
    r"(?i)\b([\w-]*(?:secret|password|passwd|token|api_?key|access_key)[\w-]*)"
    r"(\"?\s*[:=]\s*\"?)[^\s\"',}&]+"
)
# Huawei's AK/SK Authorization value: the signature can be replayed for 15 minutes.
_SDK_SIGNATURE = re.compile(
    r"(?i)\b(SDK-HMAC-[A-Z0-9]+)\s+Access=[^\s\"']*(?:[\s,]+\w+=[^\s,\"']*)*"
)
# Slack's tokens (bot xoxb-, user xoxp-, app-level xapp-, refresh xoxe-, …).
_SLACK_TOKEN = re.compile(r"\bx(?:ox[abeoprs]|app)-[A-Za-z0-9-]{6,}")
# The userinfo of a URL ("https://user:password@host"): a base_url or a redirect's Location.
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^\s/?#@]+@")
# The calendar feed's secret address (/calendar/<token>.ics), wherever a URL is quoted:
# Slack's and Bolt's DEBUG lines carry the bodies that give it to a person.
_CALENDAR_FEED = re.compile(r"(/calendar/)[^\s/?#\"'<>|]+(\.ics)")


def redact(text: str, *secrets: str | None) -> str:
    """Remove known secrets and token-shaped strings from ``text``."""
    text = _URL_USERINFO.sub(r"\1[redacted]@", text)
    text = _CALENDAR_FEED.sub(r"\1[redacted]\2", text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    text = _BEARER.sub(r"\1 [redacted]", text)
    text = _SDK_SIGNATURE.sub(r"\1 [redacted]", text)
    text = _JWT.sub("[redacted]", text)
    text = _SLACK_TOKEN.sub("[redacted]", text)
    return _KEY_VALUE.sub(r"\1\2[redacted]", text)


class MaintbotError(Exception):
    """Base class: the message is written for the person using the bot."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class WindowError(MaintbotError):
    """A window text could not be turned into a window; the message shows a text that works."""

    exit_code = 2


class ConfigError(MaintbotError):
    """Configuration is missing or wrong; the message names the key and what to do."""

    exit_code = 2


class ConnectorError(MaintbotError):
    """A scheduler call failed.

    ``system`` is the configured instance name, ``retryable`` says whether trying again
    later may help (timeouts, 5xx, 429) as opposed to a refusal that will not change
    (403, 404, malformed data).
    """

    def __init__(
        self,
        system: str,
        message: str,
        *,
        retryable: bool = False,
        status: int | None = None,
    ) -> None:
        super().__init__(f"{system}: {message}")
        self.system = system
        self.detail = message
        self.retryable = retryable
        self.status = status


class AuthError(ConnectorError):
    """Credentials were missing, wrong or lack a role the vendor requires."""


class StoreError(MaintbotError):
    """The store could not do what was asked (unknown id, schema too new, …)."""


class ApprovalError(MaintbotError):
    """Policy refused an approval, or the request was already decided or expired."""

    exit_code = 2


class LifecycleError(MaintbotError):
    """A window transition is not allowed from the window's current state."""

    exit_code = 2


class FilterError(MaintbotError):
    """A filter (of the audit trail) names a window, person or system there is none of,
    or gives a time that cannot be read; the message says what would work."""

    exit_code = 2


class ScopeError(MaintbotError):
    """A window's scope (systems, vendor groups, a name, tasks left out or added) names a
    system, group or task there is none of, is written wrong, or matches no task; the
    message says what there is to choose from."""

    exit_code = 2


class OverlapError(MaintbotError):
    """A window would overlap another planned, approved or active one, and the person did
    not say that is fine. ``window`` is the one asked for, ``overlaps`` the windows it
    overlaps; the message names them all and says how to go ahead anyway."""

    exit_code = 2

    def __init__(self, message: str, *, window: Window, overlaps: Sequence[WindowRecord]) -> None:
        super().__init__(message)
        self.window = window
        self.overlaps = tuple(overlaps)
