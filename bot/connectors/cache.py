"""Answers a connector may reuse from one check to the next, within a bound the config names.

One :class:`AnswerCache` per connector, living as long as the connector does (the whole
process in ``maintbot serve``, one command in the CLI). Two kinds of entry:

* **bounded** (:meth:`AnswerCache.put`): listings, definitions, schedules, duration
  estimates, which change slowly but do change. One is served only while younger than
  ``cache_seconds`` by the injected clock; ``0`` serves nothing. A clock that went back
  makes every entry stale rather than young.
* **final** (:meth:`AnswerCache.keep`): what the vendor can never change again, such as an
  execution that finished. Kept past the bound, least recently used dropped first once
  ``max_entries`` are held, so a process that runs for months stays small. With
  ``cache_seconds = 0`` these are not kept either: 0 means the bot caches nothing.

What decides an action or says what is running now is never put here; each connector says
what it caches and how the vendor's answers invalidate it. An entry can carry a
``fingerprint``: what the vendor said about the item when it was cached (its list row,
a total). A lookup that passes a different fingerprint drops the entry, because the vendor
has said the item changed.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock

__all__ = ["DEFAULT_MAX_ENTRIES", "AnswerCache", "CacheStats"]

# Room for every task's definition and duration at enterprise scale (a few thousand each)
# several times over; a final entry is a few hundred bytes.
DEFAULT_MAX_ENTRIES = 50_000

_NO_FINGERPRINT: Any = object()


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    invalidated: int = 0  # dropped because the vendor or the bot said it changed


@dataclass
class _Entry:
    stamp: datetime
    value: Any
    fingerprint: Any
    final: bool


class AnswerCache:
    """Keys are tuples whose first element names the kind of answer (``("task", key)``),
    so a write can drop every answer of a kind at once (:meth:`drop_kind`)."""

    def __init__(
        self, clock: Clock, seconds: float, *, max_entries: int = DEFAULT_MAX_ENTRIES
    ) -> None:
        if seconds < 0:
            raise ValueError("cache_seconds must be 0 or more")
        self.clock = clock
        self.bound = timedelta(seconds=seconds)
        self.max_entries = max(1, max_entries)
        self.stats = CacheStats()
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._swept = clock()

    @property
    def enabled(self) -> bool:
        return self.bound > timedelta(0)

    def __len__(self) -> int:
        return len(self._entries)

    def fresh(self, stamp: datetime) -> bool:
        """Whether an answer read at ``stamp`` may still be served."""
        age = self.clock() - stamp
        return timedelta(0) <= age < self.bound

    def get(self, key: tuple[Hashable, ...], fingerprint: Any = _NO_FINGERPRINT) -> Any:
        """The cached answer, or ``None``: absent, older than the bound (unless final), or
        cached with another ``fingerprint`` than the vendor shows now (then dropped)."""
        entry = self._entries.get(key)
        if entry is None:
            self.stats.misses += 1
            return None
        if fingerprint is not _NO_FINGERPRINT and entry.fingerprint != fingerprint:
            del self._entries[key]
            self.stats.invalidated += 1
            self.stats.misses += 1
            return None
        if not entry.final and not self.fresh(entry.stamp):
            del self._entries[key]
            self.stats.misses += 1
            return None
        self._entries.move_to_end(key)
        self.stats.hits += 1
        return entry.value

    def put(
        self,
        key: tuple[Hashable, ...],
        value: Any,
        fingerprint: Any = None,
        *,
        most: int | None = None,
    ) -> None:
        """Cache a slow-changing answer for at most the bound; with ``most``, keep no more
        than that many answers of its kind (a large listing per window checked, say)."""
        self._store(key, value, fingerprint, final=False)
        if most is not None and key in self._entries:
            same = [k for k in self._entries if isinstance(k, tuple) and k[:1] == key[:1]]
            for old in same[: max(0, len(same) - most)]:  # least recently used first
                del self._entries[old]

    def keep(self, key: tuple[Hashable, ...], value: Any) -> None:
        """Cache an answer the vendor can never change (a finished execution)."""
        self._store(key, value, None, final=True)

    def _store(self, key: tuple[Hashable, ...], value: Any, fingerprint: Any, final: bool) -> None:
        if not self.enabled or value is None:
            return
        now = self.clock()
        if not timedelta(0) <= now - self._swept < self.bound:
            # Answers nobody asks for again would otherwise stay until the size bound.
            self._swept = now
            for old in [
                k for k, e in self._entries.items() if not e.final and not self.fresh(e.stamp)
            ]:
                del self._entries[old]
        self._entries[key] = _Entry(now, value, fingerprint, final)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def drop(self, key: tuple[Hashable, ...]) -> None:
        if self._entries.pop(key, None) is not None:
            self.stats.invalidated += 1

    def drop_kind(self, kind: Hashable) -> None:
        """Drop every answer of one kind (a write that may change all of them)."""
        for key in [k for k in self._entries if isinstance(k, tuple) and k and k[0] == kind]:
            del self._entries[key]
            self.stats.invalidated += 1

    def clear(self) -> None:
        self.stats.invalidated += len(self._entries)
        self._entries.clear()
