"""The lifecycle verbs of the command line: ``plan``, ``windows``, ``worker``, and ``cancel``,
``extend``, ``end`` (parity with the Slack buttons).

Each verb is a thin adapter over :mod:`bot.lifecycle`, so a window planned here is the same
record, with the same rules and audit rows, as one planned in Slack. Input is checked before
anything is written: a refused approval, an unknown task or a past window leaves the store
as it was.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from bot.approvals import ManageAction, Policy
from bot.check import Scheduler, check_window, open_schedulers
from bot.cli import _clock_from, add_config_options, bounded, open_store, scheduler_config
from bot.clock import Clock, system_clock
from bot.config import Config, Settings
from bot.errors import ConfigError, LifecycleError, MaintbotError
from bot.lifecycle import (
    LogNotifier,
    Notifier,
    WindowClock,
    approve_now,
    cancel_window,
    clock_deadlines,
    end_window_now,
    extend_window,
    plan_window,
    run_clock,
)
from bot.model import TaskKind, TaskRef, Window
from bot.render import format_instant, table
from bot.store import OPEN_WINDOW_STATES, PlannedTask, Store, WindowRecord

__all__ = ["register", "window_json"]

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    p = sub.add_parser("plan", help="record a maintenance window and the tasks to pause in it")
    p.add_argument("text", help="the window, e.g. 'Saturday 2-4am'")
    p.add_argument("--tz", help="IANA zone the text is read in (default MAINTBOT_TZ or UTC)")
    p.add_argument(
        "--tasks",
        help="'all' (every active task), or SYSTEM:ID / SYSTEM:KIND:ID items separated by "
        "commas; default: the tasks with runs that collide with the window",
    )
    p.add_argument("--requested-by", required=True, metavar="NAME")
    p.add_argument(
        "--approved-by", metavar="NAME", help="approve at once (an approver, not the requester)"
    )
    p.add_argument(
        "--drain-lead",
        # The longest window (14 days) plus the day plan_window allows beyond it.
        type=bounded(float, 0, 15 * 24 * 60, unit="minutes", example="--drain-lead 15"),
        default=0.0,
        metavar="MINUTES",
        help="pause this many minutes before the start, so runs in progress can finish",
    )
    add_config_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("windows", help="planned, active and recent maintenance windows")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--limit",
        type=bounded(int, 0, 1_000_000, example="--limit 20"),
        default=20,
        help="recent closed windows to show",
    )
    p.set_defaults(func=cmd_windows)

    p = sub.add_parser("worker", help="run the window clock: pause at starts, resume at ends")
    add_config_options(p)
    p.add_argument(
        "--interval",
        type=bounded(float, 0, 3600, low_open=True, unit="seconds", example="--interval 5"),
        default=5.0,
        metavar="SECONDS",
        help="seconds between ticks",
    )
    p.add_argument("--once", action="store_true", help="one tick, then exit")
    p.set_defaults(func=cmd_worker)

    for verb, text in (
        ("cancel", "cancel a window (an active one ends now and its tasks are resumed)"),
        ("end", "end an active window now; its tasks are resumed on the next tick"),
        ("extend", "move the end of an approved or active window later"),
    ):
        p = sub.add_parser(verb, help=text)
        p.add_argument("window_id", metavar="WINDOW_ID")
        p.add_argument("--by", required=True, metavar="NAME", help="who is doing it (audited)")
        if verb == "extend":
            p.add_argument(
                "--minutes",
                # No window is longer than 14 days; extend_window says how much room is left.
                type=bounded(float, 0, 14 * 24 * 60, low_open=True, example="--minutes 30"),
                default=30.0,
                help="how much later (30)",
            )
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=cmd_change, action=verb)


# -- plan ---------------------------------------------------------------------------------------
def cmd_plan(args: argparse.Namespace, settings: Settings) -> int:
    from bot.windows import echo_lines, parse_window

    clock = _clock_from(args)
    requested_by = args.requested_by.strip()
    if not requested_by:
        raise LifecycleError("--requested-by needs a name, e.g. --requested-by alice")
    window = parse_window(args.text, tz=args.tz or settings.maintbot_tz, now=clock())
    policy = Policy.from_settings(settings, command_line=True)
    if args.approved_by is not None:
        # Checked before anything is looked up or written: a refused approval records nothing.
        policy.check(args.approved_by.strip(), requested_by)
    with scheduler_config(
        args, settings, doing="planning against", demo_if_unconfigured=False
    ) as config:
        tasks = asyncio.run(_resolve_tasks(args.tasks, window, config, clock))
    store = open_store(settings)
    try:
        now = clock()
        # One transaction: a window is never left planned when its approval was refused.
        with store.transaction():
            record = plan_window(
                store,
                window,
                tasks,
                requested_by=requested_by,
                now=now,
                drain_lead=timedelta(minutes=args.drain_lead),
            )
            if args.approved_by is not None:
                record = approve_now(
                    store,
                    record.id,
                    requested_by=requested_by,
                    approved_by=args.approved_by.strip(),
                    policy=policy,
                    now=now,
                )
        rows = store.window_tasks(record.id)
    finally:
        store.close()
    if args.json:
        print(json.dumps(window_json(record, rows), indent=2))
        return 0
    print("\n".join(echo_lines(window)))
    print()
    if record.approved_by:
        print(f"Window {record.id} is approved by {record.approved_by}; `maintbot worker` (or")
        print("`maintbot serve`) pauses these tasks at its start and resumes them at its end:")
    else:
        print(f"Window {record.id} is planned and waits for an approval (Slack, or")
        print("`maintbot plan … --approved-by NAME` next time). It will pause:")
    print(_task_table(rows))
    return 0


async def _close(schedulers: Sequence[Scheduler]) -> None:
    await asyncio.gather(*(s.aclose() for s in schedulers))


async def _resolve_tasks(
    spec: str | None, window: Window, config: Config, clock: Clock
) -> list[tuple[TaskRef, str]]:
    """``--tasks``: the colliding tasks by default, ``all``, or named items."""
    # Connectors are bound to the event loop they are used on: open and close them here.
    schedulers = open_schedulers(config, clock)
    try:
        if spec is None:
            return await _colliding(window, schedulers, clock)
        if spec.strip().lower() == "all":
            return await _every_active(schedulers)
        return await _named(spec, schedulers)
    finally:
        await _close(schedulers)


async def _colliding(
    window: Window, schedulers: Sequence[Scheduler], clock: Clock
) -> list[tuple[TaskRef, str]]:
    report = await check_window(window, schedulers, clock)
    for system in report.systems:
        if not system.ok:
            print(
                f"warning: {system.system} could not be checked ({system.error}); its tasks "
                "are not in this window (name them with --tasks)",
                file=sys.stderr,
            )
    found = {c.ref.key: (c.ref, c.task_name) for c in report.active}
    if not found:
        raise LifecycleError(
            "No active task has a run in this window, so there is nothing to pause; name "
            "tasks with --tasks SYSTEM:ID (or --tasks all)."
        )
    return list(found.values())


async def _every_active(schedulers: Sequence[Scheduler]) -> list[tuple[TaskRef, str]]:
    found: list[tuple[TaskRef, str]] = []
    for scheduler in schedulers:
        if scheduler.connector is None:
            raise ConfigError(f"{scheduler.name}: {scheduler.error}")
        tasks = await scheduler.connector.list_tasks()
        found += [(t.ref, t.name) for t in tasks if not t.paused]
    if not found:
        raise LifecycleError("No configured scheduler has an active task to pause.")
    return found


async def _named(spec: str, schedulers: Sequence[Scheduler]) -> list[tuple[TaskRef, str]]:
    by_name = {s.name: s for s in schedulers}
    wanted: list[tuple[str, TaskKind | None, str, str]] = []
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        system, _, rest = item.partition(":")
        kind: TaskKind | None = None
        head, sep, tail = rest.partition(":")
        if sep and head in {k.value for k in TaskKind}:
            kind, rest = TaskKind(head), tail
        if not system or not rest:
            raise LifecycleError(
                f"--tasks item {item!r} is not SYSTEM:ID or SYSTEM:KIND:ID; e.g. "
                "--tasks talend:5f1c…,bmc:etl:101"
            )
        if system not in by_name:
            raise LifecycleError(
                f"--tasks item {item!r}: no scheduler named {system!r} is configured "
                f"(configured: {', '.join(sorted(by_name)) or 'none'})"
            )
        wanted.append((system, kind, rest, item))
    if not wanted:
        raise LifecycleError("--tasks is empty; give SYSTEM:ID items or 'all'")
    listed: dict[str, list[Any]] = {}
    found: list[tuple[TaskRef, str]] = []
    for system, kind, task_id, item in wanted:
        scheduler = by_name[system]
        if scheduler.connector is None:
            raise ConfigError(f"{system}: {scheduler.error}")
        if system not in listed:
            listed[system] = await scheduler.connector.list_tasks()
        matches = [
            t for t in listed[system] if t.id == task_id and (kind is None or t.kind is kind)
        ]
        if not matches:
            raise LifecycleError(
                f"--tasks item {item!r}: {system} has no task with id {task_id!r}; "
                "`maintbot check` shows task ids, or use --tasks all"
            )
        if len(matches) > 1:
            kinds = ", ".join(f"{system}:{t.kind.value}:{task_id}" for t in matches)
            raise LifecycleError(f"--tasks item {item!r} is ambiguous; write one of {kinds}")
        found.append((matches[0].ref, matches[0].name))
    return found


# -- windows ------------------------------------------------------------------------------------
def cmd_windows(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings)
    try:
        shown = store.open_windows()
        recent = [
            w
            for w in store.list_windows(None, limit=args.limit + len(shown))
            if w.state not in OPEN_WINDOW_STATES
        ][: args.limit]
        shown += recent
        rows = {w.id: store.window_tasks(w.id) for w in shown}
    finally:
        store.close()
    if args.json:
        print(json.dumps({"windows": [window_json(w, rows[w.id]) for w in shown]}, indent=2))
        return 0
    if not shown:
        print("No maintenance windows yet; `maintbot plan TEXT --requested-by NAME` makes one.")
        return 0
    print(
        table(
            ["id", "state", "start", "end", "tasks", "requested", "approved"],
            [
                [
                    w.id,
                    w.state.value,
                    format_instant(w.start, w.tz),
                    format_instant(w.end, w.tz),
                    _task_summary(rows[w.id]),
                    w.requested_by,
                    w.approved_by or "-",
                ]
                for w in shown
            ],
        )
    )
    return 0


def window_json(record: WindowRecord, rows: Sequence[PlannedTask]) -> dict[str, Any]:
    """The JSON shape of a window in ``plan --json`` and ``windows --json``."""

    def when(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": record.id,
        "state": record.state.value,
        "text": record.text,
        "tz": record.tz,
        "start": record.start.isoformat(),
        "end": record.end.isoformat(),
        "drain_lead_seconds": record.drain_lead_seconds,
        "requested_by": record.requested_by,
        "approved_by": record.approved_by,
        "created_at": record.created_at.isoformat(),
        "started_at": when(record.started_at),
        "finished_at": when(record.finished_at),
        "tasks": [
            {
                "planned_id": r.id,
                "system": r.system,
                "kind": r.kind.value,
                "task_id": r.task_id,
                "name": r.task_name,
                "state": r.state.value,
                "prior_paused": r.prior_paused,
                "attempts": r.attempts,
                "last_error": r.last_error,
                "note": r.note,
                "taken_over_by": r.taken_over_by,
                "paused_at": when(r.paused_at),
                "resumed_at": when(r.resumed_at),
                "next_attempt_at": when(r.next_attempt_at),
            }
            for r in rows
        ],
    }


def _task_summary(rows: Sequence[PlannedTask]) -> str:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.state.value] = counts.get(r.state.value, 0) + 1
    return ", ".join(f"{n} {state.replace('_', ' ')}" for state, n in sorted(counts.items()))


def _task_table(rows: Sequence[PlannedTask]) -> str:
    return table(
        ["system", "kind", "id", "name", "state"],
        [[r.system, r.kind.value, r.task_id, r.task_name, r.state.value] for r in rows],
    )


# -- cancel / end / extend ---------------------------------------------------------------------
def cmd_change(args: argparse.Namespace, settings: Settings) -> int:
    action: ManageAction = args.action
    by = args.by.strip()
    store = open_store(settings)
    try:
        record = store.find_window(args.window_id)
        if record is None:
            raise LifecycleError(
                f"There is no maintenance window with id {args.window_id!r}; "
                "`maintbot windows` lists them."
            )
        Policy.from_settings(settings, command_line=True).check_manage(
            by, record.requested_by, action
        )
        now = system_clock()
        if action == "cancel":
            result = cancel_window(store, record.id, by=by, now=now)
        elif action == "end":
            result = end_window_now(store, record.id, by=by, now=now)
        else:
            result = extend_window(
                store, record.id, by=by, delta=timedelta(minutes=args.minutes), now=now
            )
        rows = store.window_tasks(result.id)
    finally:
        store.close()
    if args.json:
        print(json.dumps(window_json(result, rows), indent=2))
        return 0
    if action == "extend":
        print(f"Window {result.id} now ends {format_instant(result.end, result.tz)}.")
    elif result.state.value == "cancelled":
        print(f"Window {result.id} is cancelled; nothing was paused.")
    else:
        print(f"Window {result.id} ends now; the worker resumes its paused tasks on its next tick.")
    return 0


# -- worker -------------------------------------------------------------------------------------
def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    # Alerts and per-tick summaries are the worker's output; show them unless asked not to.
    for name in ("bot.alerts", "bot.lifecycle"):
        if logging.getLogger(name).getEffectiveLevel() > logging.INFO:
            logging.getLogger(name).setLevel(logging.INFO)
    notifier = _notifier(settings)
    with scheduler_config(
        args, settings, doing="running against", demo_if_unconfigured=False
    ) as config:
        store = open_store(settings)
        try:
            return asyncio.run(_work(args, config, store, notifier))
        finally:
            store.close()


def _notifier(settings: Settings) -> Notifier:
    """Slack when a bot token is configured, the log otherwise."""
    if settings.slack_bot_token is None:
        return LogNotifier()
    try:
        from bot.slack.app import make_client
        from bot.slack.notifier import SlackNotifier
    except ImportError as exc:  # pragma: no cover - the Slack extra is part of the install
        raise MaintbotError(
            f"SLACK_BOT_TOKEN is set but the Slack app is unavailable: {exc}"
        ) from None
    notifier: Notifier = SlackNotifier(make_client(settings), settings.maintbot_alert_channel)
    return notifier


async def _work(args: argparse.Namespace, config: Config, store: Store, notifier: Notifier) -> int:
    if args.once:
        schedulers = open_schedulers(config, system_clock)
        try:
            connectors = {s.name: s.connector for s in schedulers if s.connector is not None}
            window_clock = WindowClock(
                store, connectors, system_clock, notifier, deadlines=clock_deadlines(config)
            )
            report = await window_clock.tick()
        finally:
            await _close(schedulers)
        print(f"maintbot worker: {report.summary()}")
        return 0
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(
        f"maintbot worker: window clock running every {args.interval:g} s; Ctrl-C to stop.",
        file=sys.stderr,
        flush=True,
    )
    await run_clock(config, store, notifier, stop, clock=system_clock, interval=args.interval)
    print("maintbot worker: stopped.", file=sys.stderr, flush=True)
    return 0
