"""The calendar feed's store side: which records go in (for :func:`bot.calendar.build_feed`)
and the feed's secret address.

The address is ``/calendar/<token>.ics`` with one token per installation (one store, one
workspace), kept in the store's ``kv`` table and made on first need. Whoever has the
address reads the feed, so the token is treated as a credential: never logged, never
audited, compared in constant time, and replaced by :func:`rotate_token` when it leaked.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime

from bot.calendar import FEED_HISTORY, SeriesEvent, build_feed
from bot.errors import ConfigError
from bot.model import WindowRecord, WindowState
from bot.store import Store

__all__ = [
    "FEED_PREFIX",
    "FEED_SUFFIX",
    "TOKEN_KEY",
    "feed",
    "feed_path",
    "feed_token",
    "public_base",
    "rotate_token",
    "token_matches",
]

TOKEN_KEY = "calendar_feed_token"
FEED_PREFIX = "/calendar/"
FEED_SUFFIX = ".ics"


def feed(store: Store, now: datetime, series: Sequence[SeriesEvent] = ()) -> bytes:
    """The feed of what the store holds now: open windows and those closed within
    :data:`FEED_HISTORY`, each with its tasks, and ``series``."""
    records = store.open_windows() + store.closed_windows_since(now - FEED_HISTORY)
    # A series' occurrence is one of its RRULE's dates: only one moved off its date is an
    # event of its own (its usual date is an EXDATE of the series).
    shown = [r for r in records if r.series_id is None or _moved(r)]
    return build_feed(((r, store.window_tasks(r.id)) for r in shown), series, now=now)


def _moved(record: WindowRecord) -> bool:
    return (
        record.occurrence is not None
        and record.start != record.occurrence
        and record.state is not WindowState.CANCELLED
    )


def feed_token(store: Store) -> str:
    """The installation's token, made now if there is none yet. Two processes making the
    first one at once agree on one (the first write wins)."""
    held = store.get_kv(TOKEN_KEY)
    if held is not None:
        return held
    store.claim_kv(TOKEN_KEY, secrets.token_urlsafe(32))
    held = store.get_kv(TOKEN_KEY)
    assert held is not None  # claimed by this call or by a racing one
    return held


def rotate_token(store: Store) -> str:
    """A new token: the old address stops working at once."""
    token = secrets.token_urlsafe(32)
    store.set_kv(TOKEN_KEY, token)
    return token


def token_matches(store: Store, candidate: str) -> bool:
    """Whether ``candidate`` is the token, in constant time; reads only (a stranger's
    guesses cost no write, and no token is made for them)."""
    held = store.get_kv(TOKEN_KEY)
    if held is None:
        return False
    return hmac.compare_digest(candidate.encode("utf-8"), held.encode("utf-8"))


def feed_path(token: str) -> str:
    return f"{FEED_PREFIX}{token}{FEED_SUFFIX}"


def public_base(setting: str | None) -> str:
    """``MAINTBOT_PUBLIC_URL`` (validated by Settings), or a ConfigError that says to set it."""
    if not setting:
        raise ConfigError(
            "MAINTBOT_PUBLIC_URL is not set, so the calendar feed has no address to give; "
            "set it to where `maintbot serve` is reached from outside, e.g. "
            "MAINTBOT_PUBLIC_URL=https://maintbot.example.com"
        )
    return setting.rstrip("/")
