"""``/maintenance <subcommand>``: ack at once, then call the domain and render."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot import lifecycle
from bot.actions import held_paused
from bot.errors import ApprovalError, MaintbotError
from bot.slack import blocks as bk
from bot.slack import messages
from bot.slack.registry import COMMAND
from bot.slack.services import Services, request_id, services
from bot.slack.stored import save_check
from bot.store import OPEN_WINDOW_STATES

__all__ = ["maintenance"]

AUDIT_DEFAULT = 20
AUDIT_MAX = 200


async def maintenance(
    ack: AsyncAck,
    body: dict[str, Any],
    command: dict[str, Any],
    respond: AsyncRespond,
    context: AsyncBoltContext,
) -> None:
    svc = services(context)
    verb, _, rest = (command.get("text") or "").strip().partition(" ")
    verb, rest = verb.lower(), rest.strip()
    user = str(command.get("user_id") or "")
    if verb == "check":
        if not rest:
            await ack(
                **messages.help_message("`check` needs a window, e.g. `check Saturday 2-4am`.")
            )
            return
        count = len(svc.schedulers)
        await ack(
            text=f"Checking {count} scheduler{'s' if count != 1 else ''}…",
            response_type="ephemeral",
        )
        await _check(svc, rest, command, respond)
    elif verb == "list":
        await ack(**_list(svc))
    elif verb == "status":
        await ack(**_status(svc))
    elif verb == "audit":
        await ack(**_audit(svc, rest))
    elif verb == "cancel":
        await ack()
        await respond(response_type="ephemeral", **await _cancel(svc, rest, user, command))
    elif verb in ("", "help"):
        await ack(**messages.help_message())
    else:
        await ack(**messages.help_message(f"I don't know `{verb}`."))


async def _check(svc: Services, text: str, command: dict[str, Any], respond: AsyncRespond) -> None:
    from bot.windows import parse_window

    user = str(command.get("user_id") or "")
    tz = await svc.directory.tz(user)
    window = parse_window(text, tz=tz, now=svc.clock())  # WindowError → the error handler
    report = await svc.check(window)
    stored = save_check(svc.store, report, user=user, channel=command.get("channel_id"))
    failed = [s.system for s in report.systems if not s.ok]
    svc.store.audit(
        user,
        "check",
        "partial" if failed else "ok",
        request_id=request_id(command),
        error=f"no answer from {', '.join(failed)}" if failed else None,
        detail={
            "check": stored.id,
            "text": text,
            "tz": tz,
            "start": window.start.isoformat(),
            "end": window.end.isoformat(),
            "conflicts": len(report.conflicts),
        },
    )
    await respond(
        response_type="ephemeral",
        replace_original=True,
        **messages.report_page(
            stored, 0, needs_approval=svc.settings.maintbot_resume_others_needs_approval
        ),
    )


def _list(svc: Services) -> dict[str, Any]:
    windows = svc.store.list_windows(OPEN_WINDOW_STATES)
    return messages.windows_list([(w, len(svc.store.window_tasks(w.id))) for w in windows])


def _status(svc: Services) -> dict[str, Any]:
    return messages.status(held_paused(svc.store))


# ASCII digits only: ``str.isdigit`` accepts "²" and "١٢", which ``int`` then refuses.
_COUNT = re.compile(r"[0-9]{1,4}")


def _audit(svc: Services, arg: str) -> dict[str, Any]:
    if not arg:
        limit = AUDIT_DEFAULT
    elif _COUNT.fullmatch(arg) and 1 <= int(arg) <= AUDIT_MAX:
        limit = int(arg)
    else:
        shown = arg if len(arg) <= 40 else arg[:40] + "…"
        return messages.help_message(
            f"`audit` takes a number of rows from 1 to {AUDIT_MAX}, e.g. "
            f"`{COMMAND} audit {AUDIT_DEFAULT}`; got “{shown}”."
        )
    return messages.audit_trail(svc.store.audit_rows(limit))


async def _cancel(svc: Services, arg: str, user: str, command: dict[str, Any]) -> dict[str, Any]:
    window_id = arg.split()[0] if arg else ""
    if not window_id:
        return messages.help_message(
            "`cancel` needs a window id, e.g. `cancel w_AbC123`; `/maintenance list` shows them."
        )
    window = svc.store.find_window(window_id)
    if window is None:
        raise MaintbotError(
            f"There is no maintenance window {window_id}; `/maintenance list` shows them."
        )
    policy = await svc.policy()
    try:
        policy.check_manage(user, window.requested_by, "cancel")
    except ApprovalError as exc:
        svc.store.audit(
            user,
            "cancel",
            "refused",
            window_id=window.id,
            error=str(exc),
            request_id=request_id(command),
        )
        raise
    lifecycle.cancel_window(svc.store, window.id, by=user, now=svc.clock())
    return messages.text_message(
        f":white_check_mark: Cancelled maintenance window `{bk.escape(window.id)}`."
    )
