"""One task at once, and what is held: ``pause SYSTEM:ID``, ``resume SYSTEM:ID``,
``status`` and ``audit`` (the report's buttons and ``/maintenance status``/``audit``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from bot.cli.options import (
    add_by,
    add_config_options,
    bounded,
    print_json,
    run_on_bot,
    the_name,
)

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.service import ActionResult, HeldPaused, Maintbot, ResumeAsked, Resumed
    from bot.service.audit import AuditTrail

__all__ = ["register"]

# ok and no_change did what was asked; a refusal is the person's to change; a failure is not.
_EXIT = {"ok": 0, "no_change": 0, "refused": 2, "failed": 1}


def register(sub: Any) -> None:
    for verb, text in (
        ("pause", "pause one task now (outside any window)"),
        ("resume", "resume one task now; someone else's pause asks an approver first"),
    ):
        p = sub.add_parser(verb, help=text)
        p.add_argument("task", metavar="SYSTEM:ID", help="e.g. talend:5f1c… or bmc:etl:101")
        add_by(p)
        add_config_options(p)
        p.set_defaults(func=cmd_pause if verb == "pause" else cmd_resume)

    p = sub.add_parser("status", help="what the bot holds paused, for windows and by hand")
    add_by(p, required=False)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser(
        "audit",
        help="the audit trail, newest first, one line per vendor call",
        description="The audit trail, newest first. Filters combine; times are shown in "
        "--tz (default MAINTBOT_TZ, else UTC). --json prints the stored rows, attempts "
        "included, each with its task_name.",
    )
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=bounded(int, 1, 1_000_000, example="--limit 20"), default=50)
    p.add_argument("--window", metavar="W", help="only rows of this window (w_…)")
    p.add_argument("--by", metavar="NAME", help="only what this person (or `clock`) did")
    p.add_argument("--system", metavar="S", help="only rows of this scheduler, e.g. talend")
    p.add_argument("--since", metavar="TEXT", help="from this time: 2026-11-18T09:00, 2h, …")
    p.add_argument("--until", metavar="TEXT", help="before this time, as --since")
    p.add_argument("--tz", metavar="ZONE", help="zone the times are shown and read in")
    p.set_defaults(func=cmd_audit)


def _result_json(result: ActionResult) -> dict[str, Any]:
    return {
        "system": result.ref.system,
        "kind": result.ref.kind.value,
        "task_id": result.ref.id,
        "name": result.name,
        "action": result.action,
        "outcome": result.outcome,
        "message": result.message,
        "at": result.at.isoformat(),
    }


def cmd_pause(args: argparse.Namespace, settings: Settings) -> int:
    by = the_name(args)

    async def pause(bot: Maintbot) -> ActionResult:
        return await bot.pause_now(args.task, by=by)

    result = run_on_bot(args, settings, pause, need="configured", doing="pausing in")
    _show(args, result)
    return _EXIT[result.outcome]


def _show(args: argparse.Namespace, result: ActionResult) -> None:
    if args.json:
        print_json(_result_json(result))
    else:
        print(result.message)


def cmd_resume(args: argparse.Namespace, settings: Settings) -> int:
    from bot.service import Resumed

    by = the_name(args)

    async def resume(bot: Maintbot) -> Resumed | ResumeAsked:
        return await bot.resume_now(args.task, by=by)

    outcome = run_on_bot(args, settings, resume, need="configured", doing="resuming in")
    if isinstance(outcome, Resumed):
        _show(args, outcome.result)
        return _EXIT[outcome.result.outcome]
    request = outcome.request
    if args.json:
        print_json(
            {
                "outcome": "approval_needed",
                "new": outcome.new,
                "resume_request": request.model_dump(mode="json"),
            }
        )
        return 0
    waiting = "is waiting" if outcome.new else "was already waiting"
    print(
        f"{request.task_name} ({request.system}) is someone else's pause; nothing was resumed. "
        f"Resume request {request.id} {waiting} for an approver: "
        f"`maintbot approve {request.id} --by NAME`."
    )
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from bot.render import table

    async def status(bot: Maintbot) -> HeldPaused:
        return bot.status()

    held = run_on_bot(args, settings, status, need="store")
    if args.json:
        print_json(
            {
                "windows": [
                    {
                        "window_id": window.id,
                        "system": task.system,
                        "kind": task.kind.value,
                        "task_id": task.task_id,
                        "name": task.task_name,
                        "paused_at": task.paused_at.isoformat() if task.paused_at else None,
                    }
                    for task, window in held.windows
                ],
                "pause_now": [
                    {
                        "system": row.system,
                        "task_id": row.task_id,
                        "by": row.actor,
                        "at": row.at.isoformat(),
                    }
                    for row in held.immediate
                ],
            }
        )
        return 0
    if not len(held):
        print("The bot holds nothing paused.")
        return 0
    rows = [
        [t.system, t.task_id, t.task_name, f"window {w.id}", w.requested_by]
        for t, w in held.windows
    ] + [
        [
            r.system or "",
            r.task_id or "",
            str((r.detail or {}).get("name") or ""),
            "pause now",
            r.actor,
        ]
        for r in held.immediate
    ]
    print(table(["system", "id", "name", "held by", "who"], rows))
    return 0


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    from bot.render import audit_table

    tz = args.tz or settings.maintbot_tz

    async def audit(bot: Maintbot) -> AuditTrail:
        return bot.audit(
            args.limit,
            window=args.window,
            by=args.by,
            system=args.system,
            since=args.since,
            until=args.until,
            tz=tz,
        )

    trail = run_on_bot(args, settings, audit, need="store")
    if args.json:
        print_json([{**r.model_dump(mode="json"), "task_name": trail.name(r)} for r in trail.rows])
        return 0
    if not trail.entries:
        print(trail.empty_text())
        return 0
    print(audit_table([(e.row, e.task_name, e.unanswered) for e in trail.entries], tz))
    return 0
