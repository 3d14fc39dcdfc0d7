"""Windows on the command line: ``plan``, ``windows``, ``approve``/``reject``, and ``cancel``,
``extend``, ``end``, ``retry``, ``take-over`` (the Slack buttons' verbs).

Each verb is parse, one call on the application, render: a window planned here is the same
record, with the same rules and audit rows (refusals too), as one planned in Slack.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.cli.options import add_by, add_config_options, bounded, print_json, run_on_bot, the_name
from bot.cli.scope import add_scope_options, scope_of
from bot.cli.series import plan_lines, series_json, view_lines
from bot.errors import ConfigError, WindowError
from bot.format import instant

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.lifecycle import Decision
    from bot.model import Conflict, PlannedTask, WindowRecord
    from bot.series import Series
    from bot.service import EditResult, Maintbot, PlanResult, ResumeDecision, TakeOver, WindowView
    from bot.service.series import SeriesPlan, SeriesView
    from bot.service.wiring import Need

__all__ = ["edit_json", "edit_lines", "register", "window_json"]


def register(sub: Any) -> None:
    p = sub.add_parser("plan", help="record a maintenance window and the tasks to pause in it")
    p.add_argument("text", help="the window, e.g. 'Saturday 2-4am'")
    p.add_argument("--tz", help="IANA zone the text is read in (default MAINTBOT_TZ or UTC)")
    p.add_argument(
        "--tasks",
        help="'all' (every active task), or SYSTEM:ID / SYSTEM:KIND:ID items separated by "
        "commas; default: the tasks with runs that collide with the window. With a scope "
        "(--system, --group, --name, --exclude, --include) only 'all' is allowed: every "
        "matching active task instead of the matching conflicting ones",
    )
    add_scope_options(p)
    p.add_argument("--title", help="what to call the window, e.g. 'Finance DB patch'")
    p.add_argument("--reason", help="why, or a change number, e.g. CHG-1234")
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
    p.add_argument(
        "--overlap-ok",
        action="store_true",
        help="plan it even though it overlaps another planned, approved or active window",
    )
    p.add_argument(
        "--plan-ahead",
        metavar="LENGTH",
        help="for a recurring text: how long before each occurrence it is planned and "
        "checked (default 1d, e.g. 12h)",
    )
    add_config_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser(
        "edit", help="move a window that has not started, change its length or its tasks"
    )
    p.add_argument("window_id", metavar="WINDOW_ID")
    p.add_argument("--window", metavar="TEXT", help="the new window, e.g. 'Saturday 3-5am'")
    p.add_argument("--tz", help="IANA zone --window is read in (default: the window's own)")
    p.add_argument(
        "--add", action="append", default=[], metavar="SYSTEM:ID", help="a task to pause too"
    )
    p.add_argument(
        "--remove", action="append", default=[], metavar="SYSTEM:ID", help="a task to leave be"
    )
    p.add_argument(
        "--overlap-ok",
        action="store_true",
        help="edit it even though it then overlaps another planned, approved or active window",
    )
    add_by(p)
    add_config_options(p)
    p.set_defaults(func=cmd_edit)

    p = sub.add_parser("windows", help="planned, active and recent maintenance windows")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--limit",
        type=bounded(int, 0, 1_000_000, example="--limit 20"),
        default=20,
        help="recent closed windows to show",
    )
    p.set_defaults(func=cmd_windows)

    for verb, text in (
        ("approve", "approve a window's approval request (w_… or a_…) or a resume request (r_…)"),
        ("reject", "reject (or, as its requester, withdraw) an approval or resume request"),
    ):
        p = sub.add_parser(verb, help=text)
        p.add_argument("request", metavar="ID")
        if verb == "reject":
            p.add_argument("--reason", help="why (kept in the audit trail of a resume request)")
        add_by(p)
        # A resume request's approval resumes the task: that needs its scheduler.
        add_config_options(p)
        p.set_defaults(func=cmd_decide, approve=verb == "approve")

    for verb, text in (
        ("cancel", "cancel a window (an active one ends now and its tasks are resumed)"),
        ("end", "end an active window now; its tasks are resumed on the next tick"),
        ("extend", "move the end of an approved or active window later"),
        ("retry", "retry now a window's failed pauses and resumes"),
        ("take-over", "take over a window's tasks whose resume keeps failing (stop retrying)"),
    ):
        p = sub.add_parser(verb, help=text)
        p.add_argument("window_id", metavar="WINDOW_ID")
        add_by(p)
        if verb == "extend":
            p.add_argument(
                "--minutes",
                # No window is longer than 14 days; extend_window says how much room is left.
                type=bounded(float, 0, 14 * 24 * 60, low_open=True, example="--minutes 30"),
                default=30.0,
                help="how much later (30)",
            )
        p.set_defaults(func=cmd_change, action=verb)


# -- plan ---------------------------------------------------------------------------------------
def cmd_plan(args: argparse.Namespace, settings: Settings) -> int:
    from bot.service.editing import overlap_lines
    from bot.service.series import SeriesPlan, SeriesView
    from bot.windows import echo_lines

    async def plan(bot: Maintbot) -> PlanResult | SeriesPlan:
        series = bot.parse_series(args.text, args.tz)
        if series is not None:
            return await _plan_series(args, bot, series)
        if args.plan_ahead is not None:
            raise ConfigError(
                "--plan-ahead is for a recurring text (e.g. 'every Saturday 2-4am'); this "
                "one is a single window"
            )
        return await bot.plan(
            args.text,
            by=args.requested_by,
            tz=args.tz,
            tasks=args.tasks,
            approved_by=args.approved_by,
            drain_lead=timedelta(minutes=args.drain_lead),
            scope=scope_of(args),
            title=args.title,
            reason=args.reason,
            overlap_ok=args.overlap_ok,
        )

    result = run_on_bot(args, settings, plan, need="configured", doing="planning against")
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if isinstance(result, SeriesPlan):
        if args.json:
            print_json(
                {
                    "series": series_json(SeriesView(result.series, (result.first,), ())),
                    "window": window_json(result.first, result.tasks),
                }
            )
        else:
            print("\n".join(plan_lines(result)))
        return 0
    record, rows = result.window.record, result.window.tasks
    if args.json:
        print_json(window_json(record, rows))
        return 0
    if result.parsed is not None:
        print("\n".join(echo_lines(result.parsed)))
        print()
    if record.approved_by:
        print(f"Window {record.id} is approved by {record.approved_by}; `maintbot worker` (or")
        print("`maintbot serve`) pauses these tasks at its start and resumes them at its end:")
    else:
        print(f"Window {record.id} is planned and waits for an approval (Slack, or")
        print(f"`maintbot approve {record.id} --by NAME`). It will pause:")
    if result.overlaps:
        print()
        print("It overlaps (planned anyway, --overlap-ok):")
        for line in overlap_lines(result.overlaps):
            print(f"  {line}")
    print(_task_table(rows))
    return 0


async def _plan_series(args: argparse.Namespace, bot: Maintbot, series: Series) -> SeriesPlan:
    from bot.service.series import PLAN_AHEAD
    from bot.windows import parse_length

    refused = [
        option
        for option, given in (
            ("--drain-lead", args.drain_lead),
            ("--reason", args.reason),
            ("--overlap-ok", args.overlap_ok),
        )
        if given
    ]
    if refused:
        raise ConfigError(
            f"{', '.join(refused)} cannot be given for a series yet; plan it without, or plan "
            "one occurrence as a single window"
        )
    ahead = PLAN_AHEAD
    if args.plan_ahead is not None:
        try:
            ahead = parse_length(args.plan_ahead)
        except WindowError as exc:
            raise ConfigError(f"--plan-ahead: {exc}") from None
    return await bot.plan_series(
        series,
        by=args.requested_by,
        tasks=args.tasks,
        scope=scope_of(args),
        approved_by=args.approved_by,
        plan_ahead=ahead,
        title=args.title,
    )


# -- edit ---------------------------------------------------------------------------------------
def cmd_edit(args: argparse.Namespace, settings: Settings) -> int:
    by = the_name(args)

    async def edit(bot: Maintbot) -> EditResult:
        return await bot.edit(
            args.window_id,
            by=by,
            text=args.window,
            tz=args.tz,
            add=args.add,
            remove=args.remove,
            overlap_ok=args.overlap_ok,
        )

    result = run_on_bot(args, settings, edit, need="configured", doing="editing against")
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        print_json(edit_json(result))
        return 0
    print("\n".join(edit_lines(result)))
    return 0


def edit_json(result: EditResult) -> dict[str, Any]:
    """``maintbot edit --json``: the window as it is now and what changed."""

    def conflict(c: Conflict) -> dict[str, Any]:
        return {
            "system": c.system,
            "task_id": c.task_id,
            "task_name": c.task_name,
            "kind": c.kind.value,
            "at": c.at.isoformat() if c.at else None,
            "paused": c.paused,
        }

    def task(r: PlannedTask) -> dict[str, Any]:
        return {"system": r.system, "kind": r.kind.value, "task_id": r.task_id, "name": r.task_name}

    before = result.before
    return {
        "window": window_json(result.record, result.tasks),
        "old": {"start": before.start.isoformat(), "end": before.end.isoformat(),
                "state": before.state.value},
        "new": {"start": result.record.start.isoformat(), "end": result.record.end.isoformat(),
                "state": result.record.state.value},
        "added": [task(r) for r in result.added],
        "removed": [task(r) for r in result.removed],
        "conflicts": {
            "appeared": [conflict(c) for c in result.conflicts.appeared],
            "disappeared": [conflict(c) for c in result.conflicts.disappeared],
            "uncovered": [conflict(c) for c in result.conflicts.uncovered],
        },
        "reapproval": result.reapproval,
        "approval": result.approval.id if result.approval is not None else None,
        "overlaps": [window_json(o, []) for o in result.overlaps],
    }  # fmt: skip


def edit_lines(result: EditResult) -> list[str]:
    """The difference an edit made, for people reading a terminal."""
    from bot.service.editing import overlap_lines

    before, record = result.before, result.record
    tz = record.tz
    lines = [f"Window {record.id} edited: {result.summary()}."]
    lines.append(
        f"  start  {instant(before.start, tz)}  →  {instant(record.start, tz)}"
        if result.moved
        else f"  start  {instant(record.start, tz)} (unchanged)"
    )
    lines.append(
        f"  end    {instant(before.end, tz)}  →  {instant(record.end, tz)}"
        if result.moved
        else f"  end    {instant(record.end, tz)} (unchanged)"
    )
    for label, rows in (("added", result.added), ("removed", result.removed)):
        for r in rows:
            lines.append(f"  {label} {r.task_name} ({r.system}:{r.task_id})")
    change = result.conflicts
    for label, found in (
        ("new conflict", change.appeared),
        ("conflict gone", change.disappeared),
        ("not paused, runs in the window", change.uncovered),
    ):
        for c in found:
            at = instant(c.at, tz) if c.at else "at an unknown time"
            lines.append(
                f"  {label}: {c.task_name} ({c.system}) {c.kind.value.replace('_', ' ')} {at}"
            )
    for line in overlap_lines(result.overlaps):
        lines.append(f"  overlaps {line}")
    if result.reapproval:
        lines.append(
            f"It needs an approver again: `maintbot approve {record.id} --by NAME` (or the "
            "new request in Slack)."
        )
    return lines


# -- windows ------------------------------------------------------------------------------------
def cmd_windows(args: argparse.Namespace, settings: Settings) -> int:
    from bot.render import table

    async def windows(bot: Maintbot) -> tuple[list[WindowView], list[SeriesView]]:
        return bot.windows(recent=args.limit), bot.series_list(recent=args.limit)

    shown, series = run_on_bot(args, settings, windows, need="store")
    if args.json:
        print_json(
            {
                "windows": [window_json(w.record, w.tasks) for w in shown],
                "series": [series_json(v) for v in series],
            }
        )
        return 0
    for view in series:
        print("\n".join(view_lines(view)))
        print()
    if not shown:
        if not series:
            print("No maintenance windows yet; `maintbot plan TEXT --requested-by NAME` makes one.")
        return 0
    print(
        table(
            ["id", "state", "start", "end", "tasks", "requested", "approved"],
            [
                [
                    w.record.id,
                    w.record.state.value,
                    instant(w.record.start, w.record.tz),
                    instant(w.record.end, w.record.tz),
                    _task_summary(w.tasks),
                    w.record.requested_by,
                    w.record.approved_by or "-",
                ]
                for w in shown
            ],
        )
    )
    return 0


def window_json(record: WindowRecord, rows: Sequence[PlannedTask]) -> dict[str, Any]:
    """The JSON shape of a window in ``plan --json``, ``windows --json`` and the verbs
    that change one."""

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
        "title": record.title,
        "reason": record.reason,
        "series_id": record.series_id,
        "occurrence": when(record.occurrence),
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
                # Run times the plan's check predicted from run history (never a vendor
                # fact), and what the end of the window found of them.
                "predicted": [
                    {"at": p.at.isoformat(), "basis": p.basis, "runs": p.runs} for p in r.predicted
                ],
                "prediction_outcome": r.prediction_outcome,
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
    from bot.render import table

    return table(
        ["system", "kind", "id", "name", "state"],
        [[r.system, r.kind.value, r.task_id, r.task_name, r.state.value] for r in rows],
    )


# -- approve / reject ---------------------------------------------------------------------------
def cmd_decide(args: argparse.Namespace, settings: Settings) -> int:
    from bot.service import ResumeDecision

    by = the_name(args)
    is_resume = args.request.startswith("r_")

    async def decide(bot: Maintbot) -> Decision | ResumeDecision:
        return await bot.decide(
            args.request, by=by, approve=args.approve, reason=getattr(args, "reason", None)
        )

    # Only a resume request calls a scheduler; a window's decision needs none configured.
    need: Need = "optional" if is_resume else "store"
    decision = run_on_bot(args, settings, decide, need=need, doing="resuming against")
    if isinstance(decision, ResumeDecision):
        request, result = decision.request, decision.result
        if args.json:
            print_json(
                {
                    "resume_request": request.model_dump(mode="json"),
                    "acted": decision.acted,
                    "message": result.message if result is not None else None,
                }
            )
        elif not decision.acted:
            print(f"Resume request {request.id} is already {request.state.value}.")
        else:
            print(f"Resume request {request.id} is {request.state.value} by {by}.")
            if result is not None:
                print(result.message)
        return 1 if result is not None and result.outcome == "failed" else 0
    approval, window = decision.approval, decision.window
    if args.json:
        print_json(
            {
                "approval": approval.model_dump(mode="json"),
                "acted": decision.acted,
                "window": window_json(window, []),
            }
        )
    elif not decision.acted:
        print(f"The approval request {approval.id} is already {approval.state.value}.")
    else:
        print(f"Window {window.id} is {window.state.value} ({approval.state.value} by {by}).")
    return 0


# -- cancel / end / extend / retry / take-over --------------------------------------------------
def cmd_change(args: argparse.Namespace, settings: Settings) -> int:
    from bot.service import TakeOver, WindowView

    by = the_name(args)
    change: dict[str, Callable[[Maintbot], Awaitable[WindowView | TakeOver]]] = {
        "cancel": lambda bot: bot.cancel(args.window_id, by=by),
        "end": lambda bot: bot.end(args.window_id, by=by),
        "extend": lambda bot: bot.extend(
            args.window_id, by=by, by_time=timedelta(minutes=getattr(args, "minutes", 30.0))
        ),
        "retry": lambda bot: bot.retry(args.window_id, by=by),
        "take-over": lambda bot: bot.take_over(args.window_id, by=by),
    }

    async def act(bot: Maintbot) -> tuple[WindowView | TakeOver, WindowView]:
        done = await change[args.action](bot)
        record = done.window if isinstance(done, TakeOver) else done.record
        return done, WindowView(record, tuple(bot.store.window_tasks(record.id)))

    done, view = run_on_bot(args, settings, act, need="store")
    record = view.record
    if args.json:
        shown = window_json(record, view.tasks)
        if isinstance(done, TakeOver):
            shown["taken_over"] = [t.id for t in done.taken]
        print_json(shown)
        return 0
    if args.action == "extend":
        print(f"Window {record.id} now ends {instant(record.end, record.tz)}.")
    elif args.action == "retry":
        print(f"Retrying the failed tasks of window {record.id}; the worker acts on its next tick.")
    elif isinstance(done, TakeOver):
        if not done.taken:
            print(f"No task of window {record.id} has a failing resume to take over.")
        else:
            print(f"{by} took over {len(done.taken)} task(s) of window {record.id}:")
            print(_task_table(done.taken))
    elif record.state.value == "cancelled":
        print(f"Window {record.id} is cancelled; nothing was paused.")
    else:
        print(f"Window {record.id} ends now; the worker resumes its paused tasks on its next tick.")
    return 0
