"""``suggest``: the least disturbing slots of a length within a range (see
:mod:`bot.suggest` for how they are ranked)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from bot.cli.options import add_by, add_config_options, bounded, clock_from, run_on_bot, the_name
from bot.defaults import DEFAULT_TOP, MAX_TOP
from bot.format import instant, instant_with_utc, length

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.service import Maintbot, Suggestion
    from bot.suggest import Hit

__all__ = ["cmd_suggest", "register", "suggestion_json"]


def register(sub: Any) -> None:
    p = sub.add_parser("suggest", help="the least disturbing slots of a length within a range")
    p.add_argument("length", help="how long the window must be, e.g. 2h or 45m")
    p.add_argument(
        "--within",
        metavar="TEXT",
        help="the range, a window text, e.g. 'tomorrow 00:00 for 24h' (default: the next 7 days)",
    )
    p.add_argument("--tz", help="IANA zone slots are aligned in (default MAINTBOT_TZ or UTC)")
    p.add_argument("--now")
    p.add_argument(
        "--top",
        type=bounded(int, 1, MAX_TOP, example="--top 3"),
        default=DEFAULT_TOP,
        metavar="N",
        help=f"how many slots to show (default {DEFAULT_TOP})",
    )
    add_config_options(p)
    add_by(p, required=False)
    p.set_defaults(func=cmd_suggest)


def cmd_suggest(args: argparse.Namespace, settings: Settings) -> int:
    from bot.service.suggest import read_request

    by = the_name(args)
    tz = args.tz or settings.maintbot_tz
    # Read before any scheduler or the store is opened: a bad length or range costs nothing.
    slot, _ = read_request(args.length, args.within, tz=tz, now=clock_from(args)())

    async def suggest(bot: Maintbot) -> Suggestion:
        return await bot.suggest(slot, within=args.within, by=by, tz=tz, top=args.top)

    found = run_on_bot(args, settings, suggest, need="demo", doing="checking")
    if args.json:
        print(json.dumps(suggestion_json(found), indent=2))
    else:
        print("\n".join(suggestion_lines(found)))
    return 1 if found.warnings else 0


def _hit_json(hit: Hit) -> dict[str, Any]:
    c = hit.conflict
    return {
        "system": c.system,
        "task_id": c.task_id,
        "task_kind": c.task_kind.value,
        "task_name": c.task_name,
        "how": hit.how.value,
        "at": c.at.isoformat() if c.at else None,
        "runs": hit.runs,
        "overlap_minutes": hit.overlap.total_seconds() / 60,
        "predicted": hit.predicted,
        "paused": c.paused,
    }


def suggestion_json(found: Suggestion) -> dict[str, Any]:
    """design.md's ``{"candidates": [{"start", "end", "conflicts": N, ...}]}``, best first;
    ``conflicts`` counts the tasks each would disturb (already paused ones left out)."""
    ranking = found.ranking
    unchecked = [s.system for s in ranking.unchecked]
    return {
        "candidates": [
            {
                "start": c.start.isoformat(),
                "end": c.end.isoformat(),
                "tz": c.window.tz,
                "text": c.window.text,
                "conflicts": len(c.active),
                "score": round(c.score, 6),
                "systems": list(c.systems),
                "check": check.id,
                "not_accounted_for": unchecked,
                "details": [_hit_json(h) for h in c.hits],
            }
            for c, check in found.best
        ],
        "range": {
            "start": ranking.range.start.isoformat(),
            "end": ranking.range.end.isoformat(),
            "tz": ranking.range.tz,
        },
        "length_minutes": ranking.length.total_seconds() / 60,
        "step_minutes": ranking.step.total_seconds() / 60,
        "considered": ranking.considered,
        "excluded_by_planned": ranking.excluded,
        "time_unknown": {
            "count": len(ranking.unknown),
            "note": "the same for every slot, so they rank none",
            "conflicts": [
                {
                    "system": c.system,
                    "task_id": c.task_id,
                    "task_name": c.task_name,
                    "kind": c.kind.value,
                    "detail": c.detail,
                }
                for c in ranking.unknown
            ],
        },
        "warnings": list(found.warnings),
    }


def suggestion_lines(found: Suggestion) -> list[str]:
    from bot.render import hit_line

    ranking = found.ranking
    tz = ranking.range.tz
    out = [
        f"The {len(ranking.candidates)} least disturbing {length(ranking.length)} slots "
        f"from {instant_with_utc(ranking.range.start, tz)} to {instant(ranking.range.end, tz)}",
        f"({ranking.considered} slots on a {length(ranking.step)} grid ranked"
        + (f", {ranking.excluded} left out for planned windows" if ranking.excluded else "")
        + ")",
    ]
    out.extend(f"WARNING: {w}" for w in found.warnings)
    for number, (c, check) in enumerate(found.best, start=1):
        active = len(c.active)
        out.append("")
        out.append(
            f"{number}. {instant(c.start, tz)} – {instant(c.end, tz)}: "
            + (f"{active} conflict{'s' if active != 1 else ''}" if active else "no known conflict")
            + (f" on {', '.join(c.systems)}" if c.systems else "")
            + f" (score {c.score:.2f})"
        )
        out.extend(f"   - {hit_line(h, tz)}" for h in c.hits)
        out.append(f'   plan it: maintbot plan "{c.window.text}" --tz {tz} (report {check.id})')
    if ranking.unknown:
        out.append("")
        out.append(
            f"{len(ranking.unknown)} task(s) may fire at a time the schedulers do not expose: "
            "the same for every slot, so they rank none ("
            + ", ".join(sorted({f"{c.task_name} ({c.system})" for c in ranking.unknown})[:10])
            + (", …" if len(ranking.unknown) > 10 else "")
            + ")."
        )
    return out
