"""Process-wide settings applied once, before a verb runs (``bot.cli.main``).

Only the garbage collector's thresholds for now. A check at scale turns tens of thousands
of vendor items into models, and CPython's default thresholds (700, 10, 10) run a young
collection every 700 allocations and a full one, which walks every object alive, each time
the heap has grown by a quarter. Measured on a Pyramid check at the sandbox's scale 100
(3,000 schedules, 90,000 executions), one process, this machine: 561-568 collections
taking 0.87-1.34 s of a 4.6-4.9 s check, four of them full ones of 0.2-0.36 s, each a stall
of the event loop. With (50,000, 20, 100): 8 collections, 0.23-0.24 s, no full one during
the check, peak RSS unchanged (193 MB against 196 MB with Huawei's check beside it).
Nothing in maintbot relies on prompt collection of cycles: every resource (sockets, the
store's connection) is closed explicitly.
"""

from __future__ import annotations

import gc

__all__ = ["GC_THRESHOLDS", "tune_gc"]

GC_THRESHOLDS = (50_000, 20, 100)


def tune_gc() -> None:
    """Apply :data:`GC_THRESHOLDS` to this process."""
    gc.set_threshold(*GC_THRESHOLDS)
