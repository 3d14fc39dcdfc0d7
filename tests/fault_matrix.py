"""The vendor-fault matrix: one check over the four simulators with one of them broken in
one way, judged as a person reading the report would judge it.

Used by ``tests/test_vendor_faults.py`` (which asserts every case) and
``bench/bench_vendor_faults.py`` (which prints the table and the totals). A fault is a
:class:`FaultSpec`; :data:`STRUCTURAL_FAULTS` are those of the wire and the body's
structure, and other lists (schema faults: missing keys, changed types) can be run the same
way by passing them to :func:`run_case`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.check import Scheduler, check_window, open_schedulers
from bot.clock import Clock
from bot.config import Config
from bot.model import ConflictReport
from bot.sandbox.base import Simulator
from bot.windows import parse_window

__all__ = [
    "DATA_PATHS",
    "STRUCTURAL_FAULTS",
    "CaseResult",
    "FaultSpec",
    "Outcome",
    "conflict_keys",
    "matrix_config",
    "run_case",
]

# Where each simulator is broken: the paths of its data, not of its login, so that the
# fault reaches the code that reads listings, runs and task states.
DATA_PATHS: dict[str, str] = {
    "talend": "/executables",
    "pyramid": "/API3/tasks",
    "bmc": "/opt/api/",
    "huawei": "-task",  # /schedule-task (app streaming) and /scheduled-tasks (desktops)
}

# Budgets of the broken system: small for a fault bounded only by time (a trickle, an
# interim 1xx), so the case ends quickly; generous for the others, so that on a noisy
# machine they still end with their own error rather than a timeout. The healthy systems
# get a generous deadline so a noisy machine cannot make them fail.
FAULTY_DEADLINE = 1.0
FAULTY_TIMEOUT = 0.6
SELF_ENDING_DEADLINE = 15.0
HEALTHY_DEADLINE = 30.0
WINDOW_TEXT = "Saturday 2-4am"
WINDOW_TZ = "America/Los_Angeles"
# Words a person needs in a deadline error: that nothing (complete) came back in time.
DEADLINE_WORDS = ("no answer", "did not answer", "timed out", "deadline", "no complete answer")
# Never in a message shown to a user.
LEAK_MARKERS = ("Traceback", 'File "', "hunter2")


@dataclass(frozen=True)
class FaultSpec:
    """One way of breaking a vendor: a fault kind of the simulators with its parameters, or
    any ``inject(sim, path)`` for faults that are not a kind (a canned status)."""

    name: str
    kind: str = "respond"
    params: Mapping[str, Any] = field(default_factory=dict)
    # Bounded only by time: its error must say that the answer did not come in time.
    by_deadline: bool = False
    inject: Callable[[Simulator, str], None] | None = None
    # The error must contain one of these (what a person needs to know); empty: any.
    expect: tuple[str, ...] = ()

    @property
    def deadline(self) -> float:
        return FAULTY_DEADLINE if self.by_deadline else SELF_ENDING_DEADLINE

    def apply(self, sim: Simulator, path: str) -> None:
        if self.inject is not None:
            self.inject(sim, path)
        else:
            sim.faults.inject(self.kind, path_contains=path, times=10**6, **self.params)


def _status(code: int, body: str | None = None) -> Callable[[Simulator, str], None]:
    def inject(sim: Simulator, path: str) -> None:
        sim.faults.fail(code, times=10**6, path_contains=path, body=body)

    return inject


_TOO_BIG = ("larger than",)

STRUCTURAL_FAULTS: tuple[FaultSpec, ...] = (
    FaultSpec("endless body", "endless", expect=_TOO_BIG),
    FaultSpec(
        "trickle 1 byte/0.5 s",
        "trickle",
        {"interval": 0.5},
        by_deadline=True,
        expect=DEADLINE_WORDS,
    ),
    FaultSpec("deep nesting", "deep", expect=("nested too deeply",)),
    FaultSpec("huge body (declared)", "huge", expect=_TOO_BIG),
    FaultSpec("huge body (chunked)", "huge", {"declare_length": False}, expect=_TOO_BIG),
    FaultSpec("redirect elsewhere", "redirect", expect=("redirect to another host",)),
    FaultSpec(
        "redirect same host",
        "redirect",
        {"to": "same", "status": 307},
        expect=("redirect to another path on the same host",),
    ),
    FaultSpec("interim 102, then nothing", "interim", by_deadline=True, expect=DEADLINE_WORDS),
    FaultSpec("status 204", inject=_status(204, ""), expect=("HTTP 204",)),
    FaultSpec("status 304", inject=_status(304, ""), expect=("HTTP 304",)),
    FaultSpec("status 418", inject=_status(418), expect=("HTTP 418",)),
    FaultSpec("status 599", inject=_status(599), expect=("server error 599",)),
    FaultSpec("truncated JSON", "truncated", expect=("not JSON",)),
    FaultSpec(
        "truncated, connection cut",
        "truncated",
        {"cut_connection": True},
        expect=("connection broke",),
    ),
    FaultSpec("wrong content-type", "content_type", expect=("HTML page",)),
    FaultSpec("timestamps out of range", "timestamps", expect=("malformed", "out of range")),
    FaultSpec("gigantic ids", "huge_ids", expect=("malformed", "digits", "cannot send")),
)


class Outcome:
    CRASH = "crash"  # the whole check raised
    WRONG_OK = "wrong ok"  # the broken system reported ok with other conflicts
    UNCLEAR = "unclear error"  # an error, but with a leak or without the words it needs
    UNEXPECTED = "contained"  # an exception nobody foresaw, caught by the last line
    OTHERS_HURT = "others hurt"  # a healthy system's result changed
    CLEAR = "clear error"
    TOLERATED = "tolerated"  # ok, with exactly the fault-free conflicts


@dataclass
class CaseResult:
    fault: str
    vendor: str
    outcome: str
    error: str | None = None
    detail: str = ""
    bytes_read: int = 0
    peak_body_bytes: int = 0


def matrix_config(
    simulators: Sequence[Simulator],
    faulty: str | None,
    *,
    max_response_mb: float | None = None,
    faulty_deadline: float = FAULTY_DEADLINE,
) -> Config:
    """The four simulators configured, the ``faulty`` vendor with the small budgets."""
    schedulers: dict[str, Any] = {}
    env: dict[str, str] = {}
    for sim in simulators:
        entry = dict(sim.config_entry())
        if sim.vendor == faulty:
            timeout = FAULTY_TIMEOUT if faulty_deadline <= FAULTY_DEADLINE else faulty_deadline
            entry.update(deadline_seconds=faulty_deadline, timeout_seconds=timeout)
            if max_response_mb is not None:
                entry["max_response_mb"] = max_response_mb
        schedulers[sim.vendor] = entry
        env.update(sim.credentials())
    return Config.model_validate(
        {
            "maintbot": {"deadline_seconds": HEALTHY_DEADLINE},
            "schedulers": schedulers,
            "extra_env": env,
            "source": "fault matrix",
        }
    )


def conflict_keys(report: ConflictReport) -> dict[str, set[tuple[str, str, str | None]]]:
    """Per system, what a person compares between two reports: task, kind and time."""
    keys: dict[str, set[tuple[str, str, str | None]]] = {s.system: set() for s in report.systems}
    for c in report.conflicts:
        keys.setdefault(c.system, set()).add(
            (c.task_id, c.kind.value, c.at.isoformat() if c.at else None)
        )
    return keys


async def check_once(
    config: Config, clock: Clock, now: datetime | None = None
) -> tuple[ConflictReport, list[Scheduler]]:
    window = parse_window(WINDOW_TEXT, tz=WINDOW_TZ, now=now or clock())
    schedulers = open_schedulers(config, clock)
    try:
        return await check_window(window, schedulers, clock), schedulers
    finally:
        await asyncio.gather(*(s.aclose() for s in schedulers))


async def run_case(
    spec: FaultSpec,
    simulators: Sequence[Simulator],
    vendor: str,
    baseline: Mapping[str, set[tuple[str, str, str | None]]],
    clock: Clock,
    *,
    max_response_mb: float | None = None,
) -> CaseResult:
    """One check with ``vendor`` broken by ``spec``; the simulators' faults are cleared
    before and after."""
    # The secret halves of the credentials (a user name such as "maintbot" may appear).
    secrets = [
        value
        for sim in simulators
        for env, value in sim.credentials().items()
        if any(word in env for word in ("SECRET", "PASSWORD", "TOKEN"))
    ]
    for sim in simulators:
        sim.faults.clear()
    faulty = next(sim for sim in simulators if sim.vendor == vendor)
    spec.apply(faulty, DATA_PATHS[vendor])
    config = matrix_config(
        simulators, vendor, max_response_mb=max_response_mb, faulty_deadline=spec.deadline
    )
    try:
        report, schedulers = await check_once(config, clock)
    except Exception as exc:  # what the matrix exists to catch
        return CaseResult(spec.name, vendor, Outcome.CRASH, detail=f"{type(exc).__name__}: {exc}")
    finally:
        for sim in simulators:
            sim.faults.clear()
    https = [s.connector.http for s in schedulers if s.vendor == vendor and s.connector]
    result = CaseResult(
        spec.name,
        vendor,
        Outcome.CLEAR,
        bytes_read=sum(h.bytes_read for h in https),
        peak_body_bytes=max((h.peak_body_bytes for h in https), default=0),
    )
    keys = conflict_keys(report)
    for system in report.systems:
        if system.vendor == vendor:
            continue
        if not system.ok or keys.get(system.system, set()) != baseline.get(system.system):
            result.outcome = Outcome.OTHERS_HURT
            result.detail = f"{system.system}: {system.error or 'conflicts changed'}"
            return result
    mine = next(s for s in report.systems if s.vendor == vendor)
    result.error = mine.error
    if mine.ok:
        same = keys.get(mine.system, set()) == baseline.get(mine.system)
        result.outcome = Outcome.TOLERATED if same else Outcome.WRONG_OK
        return result
    error = mine.error or ""
    leaked = [m for m in (*LEAK_MARKERS, *secrets) if m and m in error]
    if not error or leaked:
        result.outcome = Outcome.UNCLEAR
        result.detail = f"leaks {leaked}" if leaked else "empty error"
    elif spec.expect and not any(w in error for w in spec.expect):
        result.outcome = Outcome.UNCLEAR
        result.detail = f"says none of {list(spec.expect)}"
    elif "could not read this scheduler's answer" in error:
        result.outcome = Outcome.UNEXPECTED
    return result
