"""How many requests one vendor gets at once, learnt from how it answers (AIMD).

Pyramid and BMC publish no limit, and a fixed guess is wrong both ways: too low and a
check of thousands of requests waits for hundreds of round trips one after another, too
high and a small self-hosted server shared with interactive users is swamped. So each
vendor endpoint gets a :class:`Concurrency` that starts small, doubles per round trip
while answers stay fast (slow start), then grows by one per round trip; a 429 or 503, or
answers markedly slower than the fastest seen, halve it. At most one halving per round
trip: the requests already in flight when it halved were sent under the old limit, and
their answers say nothing about the new one.

One controller per endpoint and process (:func:`concurrency_for`), so every check, the
clock and the Slack server share what was learnt; the waiting itself belongs to the event
loop it happens in, so a CLI that runs one loop per command reuses the learnt limit only.
"""

from __future__ import annotations

import asyncio
import collections
import weakref
from dataclasses import dataclass, field

__all__ = ["DEFAULT_CEILING", "Concurrency", "concurrency_for"]

# Where growth stops when the config names no max_concurrency: well past the point where
# a loopback check stops getting faster, well short of a server's worker pool.
DEFAULT_CEILING = 64
# Where a new controller starts: what the fixed default used to be, safe for any vendor.
INITIAL = 8
# An answer this much slower than the fastest one seen, and by at least SLOW_MARGIN
# seconds (loopback answers take a millisecond, so a ratio alone would fire on noise),
# means queueing at the vendor. At 0.25 s this process's own busy loop (four vendors at
# scale 100) tripped it a dozen times per check and left 5,670 of 7,990 requests sent
# by the deadline; at 1 s it fired once at most.
SLOW_RATIO = 4.0
SLOW_MARGIN = 1.0
# Smoothing of the latency signal: one large listing among small lookups must not count
# as congestion on its own.
EWMA_WEIGHT = 0.1
OVERLOAD_STATUSES = frozenset({429, 503})


@dataclass
class _Gate:
    in_flight: int = 0
    waiters: collections.deque[asyncio.Future[None]] = field(default_factory=collections.deque)


class Concurrency:
    """An AIMD limit on requests in flight to one endpoint."""

    def __init__(self, ceiling: int = DEFAULT_CEILING, initial: int = INITIAL) -> None:
        self.ceiling = max(1, ceiling)
        self.limit = float(min(self.ceiling, max(1, initial)))
        self.slow_start = True
        self.fastest: float | None = None
        self.smoothed: float | None = None
        self.halvings = 0
        self.peak = self.limit
        # Requests are numbered as they start; a halving ignores overload reported by
        # requests that started before the previous halving (the same round trip).
        self._started = 0
        self._halved_at = -1
        # Counting and waiting per event loop: a future belongs to one loop, and a loop
        # in another thread (the Slack server's, a test's simulator) must never be woken
        # from this one or lose its waiters. The learnt limit is shared by all.
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Gate] = (
            weakref.WeakKeyDictionary()
        )

    def _gate(self) -> _Gate:
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = _Gate()
        return gate

    @property
    def in_flight(self) -> int:
        return sum(g.in_flight for g in list(self._gates.values()))

    async def acquire(self) -> int:
        """Take one of the ``limit`` slots for one request; returns its sequence number,
        for :meth:`answered`. Every acquire is matched by one :meth:`release`."""
        gate = self._gate()
        while gate.in_flight >= int(self.limit):
            waiter = asyncio.get_running_loop().create_future()
            gate.waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                # A wake-up handed to a cancelled waiter would be lost: pass it on.
                if waiter.done() and not waiter.cancelled():
                    self._wake()
                raise
        gate.in_flight += 1
        self._started += 1
        return self._started

    def release(self) -> None:
        gate = self._gate()
        gate.in_flight = max(0, gate.in_flight - 1)
        self._wake()

    def _wake(self) -> None:
        gate = self._gate()
        free = int(self.limit) - gate.in_flight
        while free > 0 and gate.waiters:
            waiter = gate.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1

    def answered(self, started: int, status: int, seconds: float) -> None:
        """Adjust to one answer: the request numbered ``started`` took ``seconds``."""
        if status in OVERLOAD_STATUSES:
            self._halve(started)
            return
        self.smoothed = (
            seconds
            if self.smoothed is None
            else self.smoothed + EWMA_WEIGHT * (seconds - self.smoothed)
        )
        if self.fastest is None or seconds < self.fastest:
            self.fastest = seconds
        slow = self.smoothed > max(self.fastest * SLOW_RATIO, self.fastest + SLOW_MARGIN)
        if slow and self.limit > self.latency_floor:
            # Slowness alone halves no lower than where a controller starts: answers also
            # slow down when this process's own loop is busy (four vendors' parsing at
            # once), and measured at scale 100 that alone drove limits to 2 and the check
            # past its deadline. Only the vendor's own 429/503 takes it lower.
            self._halve(started, floor=self.latency_floor)
            return
        # Slow start adds one per answer (doubling per round trip), then one per round trip.
        step = 1.0 if self.slow_start else 1.0 / self.limit
        self.limit = min(float(self.ceiling), self.limit + step)
        self.peak = max(self.peak, self.limit)
        self._wake()

    @property
    def latency_floor(self) -> float:
        return float(min(INITIAL, self.ceiling))

    def _halve(self, started: int, floor: float = 1.0) -> None:
        if started <= self._halved_at:
            return
        self._halved_at = self._started
        self.slow_start = False
        self.limit = max(floor, self.limit / 2)
        self.halvings += 1
        # What counted as slow before the halving is the new normal to improve on.
        self.smoothed = self.fastest


_CONTROLLERS: dict[tuple[str, str], Concurrency] = {}


def concurrency_for(system: str, base_url: str, ceiling: int) -> Concurrency:
    """The process's controller for ``system`` at ``base_url`` (created on first use; a
    new ``ceiling`` from a reloaded config applies to the existing one)."""
    key = (system, base_url)
    found = _CONTROLLERS.get(key)
    if found is None:
        found = _CONTROLLERS[key] = Concurrency(ceiling)
    elif found.ceiling != ceiling:
        found.ceiling = max(1, ceiling)
        found.limit = min(found.limit, float(found.ceiling))
    return found
