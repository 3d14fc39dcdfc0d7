"""A window's scope on the command line: the options ``plan`` and ``scope`` share, and the
read-only ``maintbot scope TEXT`` that prints the candidates (ticked: would be planned) and
the groups each system has, as the plan dialog shows them.

``maintbot scope --json`` prints (stable; README, "maintbot scope")::

    {"window": {"start", "end", "tz", "text", "notes", "title" (when the text names one)},
     "scope": {"systems": [...], "groups": [...], "name": "", "exclude": [...], "include": [...]},
     "mode": "conflicts" | "all",
     "tasks": [{"key", "system", "kind", "task_id", "name", "groups": [{"kind", "value"}],
                "paused", "conflict", "included", "planned"}],
     "planned": N,
     "groups": {SYSTEM: {KIND: [VALUE, ...]}},
     "warnings": [...]}
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from bot.cli.options import add_config_options, print_json, run_on_bot

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.service import Candidates, Maintbot, Scope

__all__ = ["add_scope_options", "register", "scope_of"]


def add_scope_options(parser: argparse.ArgumentParser) -> None:
    """``--system``, ``--group``, ``--name``, ``--exclude``, ``--include``."""
    parser.add_argument(
        "--system",
        action="append",
        default=[],
        metavar="SYSTEM",
        help="only this scheduler (repeatable; default: every configured one)",
    )
    parser.add_argument(
        "--group",
        action="append",
        default=[],
        metavar="KIND=VALUE",
        help="only tasks in this vendor grouping, e.g. workspace=Finance or "
        "talend:environment=Production (repeatable: a task in any of them matches)",
    )
    parser.add_argument("--name", default="", metavar="TEXT", help="only names containing TEXT")
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="SYSTEM:ID",
        help="leave this task out (repeatable)",
    )
    parser.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="SYSTEM:ID",
        help="add this task even if no filter matches it (repeatable)",
    )


def scope_of(args: argparse.Namespace) -> Scope | None:
    """The scope the options give; ``None`` when none was given (the plan as before)."""
    from bot.service import Scope

    scope = Scope(
        systems=tuple(args.system),
        groups=tuple(args.group),
        name=args.name or "",
        exclude=tuple(args.exclude),
        include=tuple(args.include),
    )
    return None if scope == Scope() else scope


def register(sub: Any) -> None:
    p = sub.add_parser(
        "scope",
        help="the tasks a window's scope matches, and the groups each system has (reads only)",
    )
    p.add_argument("text", help="the window, e.g. 'Saturday 2-4am'")
    p.add_argument("--tz", help="IANA zone the text is read in (default MAINTBOT_TZ or UTC)")
    p.add_argument("--now", help="pretend it is this ISO-8601 instant (for scripts and tests)")
    p.add_argument(
        "--tasks",
        choices=["all"],
        help="'all': tick every matching active task, as `plan --tasks all` would pause",
    )
    p.add_argument(
        "--conflicts-only",
        action="store_true",
        help="list only the tasks with a run in the window (and the included ones)",
    )
    add_scope_options(p)
    add_config_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_scope)


def cmd_scope(args: argparse.Namespace, settings: Settings) -> int:
    from bot.render import table
    from bot.service import Scope

    scope = scope_of(args) or Scope()
    every = args.tasks == "all"

    async def candidates(bot: Maintbot) -> tuple[Any, Candidates]:
        window = bot.parse(args.text, args.tz)
        return window, await bot.candidates(window, scope, conflicts_only=args.conflicts_only)

    window, found = run_on_bot(args, settings, candidates, need="demo", doing="scoping")
    for warning in found.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        shown = found.to_json(every_active=every)
        print_json(
            {
                "window": {
                    "start": window.start.isoformat(),
                    "end": window.end.isoformat(),
                    "tz": window.tz,
                    "text": window.text,
                    "notes": list(window.notes),
                    **({"title": window.title} if window.title else {}),
                },
                **shown,
            }
        )
        return 0
    from bot.windows import echo_lines

    print("\n".join(echo_lines(window)))
    print()
    planned = found.planned(every_active=every)
    what = "every matching active task" if every else "the conflicting ones and any included"
    print(f"{len(found.tasks)} task(s) in scope; [x] = planned ({what}): {len(planned)}")
    print(
        table(
            ["", "system", "kind", "id", "name", "groups", "note"],
            [
                [
                    "[x]" if c.planned(every_active=every) else "[ ]",
                    c.ref.system,
                    c.ref.kind.value,
                    c.ref.id,
                    c.name,
                    ", ".join(f"{k}={v}" for k, v in c.groups) or "-",
                    _note(c.conflict, c.paused, c.included),
                ]
                for c in found.tasks
            ],
        )
    )
    print()
    print("Groups (--group KIND=VALUE, or SYSTEM:KIND=VALUE):")
    for system, kinds in found.groups.items():
        if not kinds:
            print(f"  {system}: none (its API gives no groupings)")
        for kind, values in kinds.items():
            print(f"  {system}: {kind} = {', '.join(values)}")
    return 0


def _note(conflict: bool, paused: bool, included: bool) -> str:
    if paused:
        return "already paused"
    notes = ["conflicts" if conflict else "no run in the window"]
    if included:
        notes.append("included")
    return ", ".join(notes)
