"""Series on the command line: ``maintbot series list|show|skip|move|end|cancel`` (planning
one is ``maintbot plan`` with a recurring text; approving it, ``maintbot approve s_…``).

Each verb is parse, one call on the application (:class:`bot.service.series.SeriesDesk`),
render.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import TYPE_CHECKING, Any

from bot.cli.options import add_by, add_config_options, print_json, run_on_bot, the_name
from bot.cli.scope import add_scope_options, scope_of
from bot.errors import ConfigError
from bot.format import instant

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.model import SeriesRecord, WindowRecord
    from bot.service import Maintbot
    from bot.service.series import Rescoped, SeriesPlan, SeriesView

__all__ = ["plan_lines", "register", "series_json"]


def register(sub: Any) -> None:
    p = sub.add_parser("series", help="recurring maintenance: list, show, skip, move, end, cancel")
    verbs = p.add_subparsers(dest="series_verb", metavar="VERB", required=True)

    q = verbs.add_parser("list", help="open series and their next occurrences")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_list)

    q = verbs.add_parser("show", help="one series: its rule, occurrences planned and to come")
    q.add_argument("series_id", metavar="SERIES_ID")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_show)

    q = verbs.add_parser("skip", help="leave one occurrence out (its window is cancelled)")
    q.add_argument("series_id", metavar="SERIES_ID")
    q.add_argument("day", metavar="DATE", help="the occurrence's date, YYYY-MM-DD")
    add_by(q)
    q.set_defaults(func=cmd_skip)

    q = verbs.add_parser("move", help="plan one occurrence at another time")
    q.add_argument("series_id", metavar="SERIES_ID")
    q.add_argument("day", metavar="DATE", help="the occurrence's date, YYYY-MM-DD")
    q.add_argument("--to", required=True, metavar="TEXT", help="its window, e.g. 'Sunday 2-4am'")
    add_by(q)
    add_config_options(q)
    q.set_defaults(func=cmd_move)

    q = verbs.add_parser(
        "scope", help="change what each occurrence pauses (more than approved: approve again)"
    )
    q.add_argument("series_id", metavar="SERIES_ID")
    q.add_argument(
        "--tasks",
        help="'all', or SYSTEM:ID items separated by commas; default: each occurrence's "
        "conflicting tasks (with a scope: the matching conflicting ones)",
    )
    add_scope_options(q)
    add_by(q)
    add_config_options(q)
    q.set_defaults(func=cmd_scope)

    for verb, text in (
        ("end", "no occurrence after now (one under way finishes)"),
        ("cancel", "cancel the series and every open occurrence"),
    ):
        q = verbs.add_parser(verb, help=text)
        q.add_argument("series_id", metavar="SERIES_ID")
        add_by(q)
        q.set_defaults(func=cmd_close, action=verb)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"{text!r} is not a date; give the occurrence's date as YYYY-MM-DD, e.g. 2026-12-12"
        ) from None


# -- reading ----------------------------------------------------------------------------------
def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    shown = run_on_bot(args, settings, lambda bot: _done(bot.series_list()), need="store")
    if args.json:
        print_json({"series": [series_json(v) for v in shown]})
        return 0
    if not shown:
        print("No series; `maintbot plan 'every Saturday 2-4am' --requested-by NAME` makes one.")
        return 0
    for view in shown:
        print("\n".join(view_lines(view)))
        print()
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    view = run_on_bot(
        args, settings, lambda bot: _done(bot.series_view(args.series_id)), need="store"
    )
    if args.json:
        print_json(series_json(view))
        return 0
    print("\n".join(view_lines(view)))
    return 0


async def _done(value: Any) -> Any:
    """A value already computed, as the awaitable run_on_bot expects."""
    return value


def series_json(view: SeriesView) -> dict[str, Any]:
    """A series in ``series list/show --json`` and ``windows --json``: design.md's series
    object, and what the store knows of it."""
    r = view.record
    return {
        "id": r.id,
        "state": r.state.value,
        "text": r.text,
        "title": r.title,
        "series": {
            "rrule": r.rrule,
            "dtstart": r.dtstart.isoformat(),
            "tz": r.tz,
            "until": r.until.isoformat() if r.until else None,
            "count": r.count,
        },
        "requested_by": r.requested_by,
        "approved_by": r.approved_by,
        "plan_ahead_seconds": int(r.plan_ahead.total_seconds()),
        "skipped": [s.isoformat() for s in r.skipped],
        "windows": [
            {
                "id": w.id,
                "state": w.state.value,
                "occurrence": w.occurrence.isoformat() if w.occurrence else None,
                "start": w.start.isoformat(),
                "end": w.end.isoformat(),
            }
            for w in view.windows
        ],
        "upcoming": [
            {"start": o.window.start.isoformat(), "end": o.window.end.isoformat()}
            if o.window is not None
            else {"day": o.day.isoformat(), "problem": o.problem}
            for o in view.upcoming
        ],
    }


def view_lines(view: SeriesView) -> list[str]:
    r = view.record
    name = f" “{r.title}”" if r.title else ""
    lines = [f"Series {r.id}{name}: {r.text} ({r.tz}), {r.state.label}"]
    lines.append(f"  rule     RRULE:{r.rrule}")
    end = instant(r.until, r.tz) if r.until else f"{r.count} occurrences" if r.count else "no end"
    lines.append(f"  end      {end}")
    lines.append(f"  by       {r.requested_by}, approved by {r.approved_by or '(not yet)'}")
    for w in view.windows:
        lines.append(f"  planned  {_window_line(w, r)}")
    for day in r.skipped:
        lines.append(f"  skipped  {instant(day, r.tz)}")
    for o in view.upcoming:
        if o.window is None:
            lines.append(f"  next     {o.day.isoformat()}: cannot happen ({o.problem})")
        else:
            lines.append(
                f"  next     {instant(o.window.start, r.tz)} – {instant(o.window.end, r.tz)}"
            )
    return lines


def _window_line(w: WindowRecord, r: SeriesRecord) -> str:
    return f"{instant(w.start, r.tz)} – {instant(w.end, r.tz)}  {w.id}  {w.state.label}"


def plan_lines(result: SeriesPlan) -> list[str]:
    """What ``maintbot plan`` says of a series it recorded."""
    r, first = result.series, result.first
    lines = [f"Series {r.id}: {r.text} ({r.tz}), RRULE:{r.rrule}"]
    lines.append(
        f"First occurrence: window {first.id}, {instant(first.start, r.tz)} – "
        f"{instant(first.end, r.tz)}, {len(result.tasks)} task(s) to pause."
    )
    if r.approved_by:
        lines.append(
            f"Approved by {r.approved_by}: each later occurrence is planned "
            f"{_ahead(r)} ahead with a fresh conflict check, approved by the same person."
        )
    else:
        lines.append(
            f"The series waits for one approval (Slack, or `maintbot approve {r.id} --by "
            "NAME`); then each occurrence is planned ahead with a fresh conflict check."
        )
    for row in result.tasks:
        lines.append(f"  {row.system}:{row.task_id}  {row.task_name}")
    return lines


def _ahead(r: SeriesRecord) -> str:
    hours = r.plan_ahead.total_seconds() / 3600
    return f"{hours:g} h" if hours < 48 else f"{hours / 24:g} days"


# -- changing ---------------------------------------------------------------------------------
def cmd_skip(args: argparse.Namespace, settings: Settings) -> int:
    by, day = the_name(args), _day(args.day)
    record = run_on_bot(
        args, settings, lambda bot: bot.skip_occurrence(args.series_id, day, by=by), need="store"
    )
    print(f"Series {record.id}: the {day.isoformat()} occurrence is skipped.")
    return 0


def cmd_move(args: argparse.Namespace, settings: Settings) -> int:
    by, day = the_name(args), _day(args.day)

    made = run_on_bot(
        args,
        settings,
        lambda bot: bot.move_occurrence(args.series_id, day, args.to, by=by),
        need="configured",
        doing="checking against",
    )
    print(
        f"The {day.isoformat()} occurrence is planned as window {made.id}: "
        f"{instant(made.start, made.tz)} – {instant(made.end, made.tz)}."
    )
    return 0


def cmd_scope(args: argparse.Namespace, settings: Settings) -> int:
    by = the_name(args)
    done = run_on_bot(
        args,
        settings,
        lambda bot: bot.rescope_series(
            args.series_id, by=by, tasks=args.tasks, scope=scope_of(args)
        ),
        need="configured",
        doing="checking against",
    )
    for warning in done.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print("\n".join(rescope_lines(done)))
    return 0


def rescope_lines(done: Rescoped) -> list[str]:
    r = done.series
    lines = [f"Series {r.id} now pauses: {_spec_text(r.tasks)}."]
    if done.added:
        lines.append(f"  added   {', '.join(done.added)}")
    if done.removed:
        lines.append(f"  removed {', '.join(done.removed)}")
    if done.reapproval and done.window is not None:
        lines.append(
            f"That is more than was approved: the series waits for an approver again, through "
            f"its next occurrence (`maintbot approve {done.window.id} --by NAME`)."
        )
    return lines


def _spec_text(spec: dict[str, Any]) -> str:
    tasks, scope = spec.get("tasks"), spec.get("scope")
    said = "each occurrence's conflicting tasks" if tasks is None else str(tasks)
    if scope:
        said += " within " + ", ".join(f"{key}={value}" for key, value in scope.items() if value)
    return said


def cmd_close(args: argparse.Namespace, settings: Settings) -> int:
    by = the_name(args)

    async def close(bot: Maintbot) -> SeriesRecord:
        if args.action == "end":
            return await bot.end_series(args.series_id, by=by)
        return await bot.cancel_series(args.series_id, by=by)

    record = run_on_bot(args, settings, close, need="store")
    print(f"Series {record.id} is {record.state.label}.")
    return 0
