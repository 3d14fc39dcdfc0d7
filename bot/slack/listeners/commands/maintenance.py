"""``/maintenance <subcommand>``: ack at once, then one call on the application, and render."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ConfigError, FilterError, WindowError
from bot.slack import blocks as bk
from bot.slack import messages
from bot.slack.listeners import dialogs
from bot.slack.listeners.actions.window import ended_text, extended_text
from bot.slack.listeners.editing import post_edit
from bot.slack.registry import COMMAND
from bot.slack.services import Services, reply, reply_text, request_id, services
from bot.suggest import split_request
from bot.windows import parse_length

__all__ = ["AUDIT_DEFAULT", "AUDIT_MAX", "SUBCOMMANDS", "maintenance"]

log = logging.getLogger(__name__)

AUDIT_DEFAULT = 20
AUDIT_MAX = 200


async def maintenance(
    ack: AsyncAck,
    body: dict[str, Any],
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    verb, _, rest = (command.get("text") or "").strip().partition(" ")
    verb, rest = verb.lower(), rest.strip()
    handler = _SUBCOMMANDS.get(verb)
    if verb == "plan":
        # The one subcommand that opens a dialog, so it needs the Web API client.
        await dialogs.from_command(services(context), rest, command, ack, respond, client)
    elif handler is not None:
        await handler(services(context), rest, command, ack, respond)
    elif verb in ("", "help"):
        await ack(**messages.help_message())
    else:
        await ack(**messages.help_message(f"I don't know `{verb}`."))


Subcommand = Callable[[Services, str, dict[str, Any], AsyncAck, AsyncRespond], Awaitable[None]]


async def _check(
    svc: Services, text: str, command: dict[str, Any], ack: AsyncAck, respond: AsyncRespond
) -> None:
    if not text:
        await ack(**messages.help_message("`check` needs a window, e.g. `check Saturday 2-4am`."))
        return
    count = len(svc.bot.schedulers)
    await ack(
        text=f"Checking {count} scheduler{'s' if count != 1 else ''}…", response_type="ephemeral"
    )
    user = str(command.get("user_id") or "")
    # The locale comes from the same cached users.info call as the zone.
    locale = await svc.directory.locale(user)
    stored = await svc.bot.check(  # WindowError → the error handler
        text,
        by=user,
        tz=await svc.directory.tz(user),
        channel=command.get("channel_id"),
        request_id=request_id(command),
        languages=(locale,) if locale else (),
    )
    await reply(
        respond,
        messages.report_page(
            stored, 0, needs_approval=svc.bot.settings.maintbot_resume_others_needs_approval
        ),
        replace=True,
    )


async def _suggest(
    svc: Services, text: str, command: dict[str, Any], ack: AsyncAck, respond: AsyncRespond
) -> None:
    """``suggest LENGTH [RANGE]``: the length is the longest leading words that read as one
    (see :func:`bot.suggest.split_request`), the range the rest (default: the next 7 days)."""
    try:
        slot, within = split_request(text)
    except WindowError as exc:
        await ack(**messages.help_message(f"`suggest`: {exc}"))
        return
    count = len(svc.bot.schedulers)
    await ack(
        text=f"Looking for a quieter {slot} slot on {count} scheduler{'s' if count != 1 else ''}…",
        response_type="ephemeral",
    )
    user = str(command.get("user_id") or "")
    found = await svc.bot.suggest(  # WindowError → the error handler
        slot,
        within=within or None,
        by=user,
        tz=await svc.directory.tz(user),
        channel=command.get("channel_id"),
    )
    await reply(respond, messages.suggestions(found), replace=True)


async def _list(
    svc: Services, rest: str, command: dict[str, Any], ack: AsyncAck, respond: AsyncRespond
) -> None:
    await ack(**messages.windows_list([(w.record, len(w.tasks)) for w in svc.bot.windows()]))


async def _status(
    svc: Services, rest: str, command: dict[str, Any], ack: AsyncAck, respond: AsyncRespond
) -> None:
    await ack(**messages.status(svc.bot.status()))


# ASCII digits only: ``str.isdigit`` accepts "²" and "١٢", which ``int`` then refuses.
_COUNT = re.compile(r"[0-9]{1,4}")
# `audit` filters: a keyword, then its value up to the next keyword.
_FILTER = re.compile(r"\b(window|by|system|since|until)(?:\s+|$)", re.IGNORECASE)
# Slack sends a mention as <@U123|name> (or <@U123>); the audit records the id.
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_AUDIT_USAGE = f"e.g. `{COMMAND} audit 50 window w_AbC123 by @alice system talend since 2h`"


def _audit_filters(arg: str) -> tuple[str, dict[str, str]]:
    """``[n] [window W] [by @person] [system S] [since T] [until T]``: the count (text
    before the first keyword) and each filter given once."""
    found = list(_FILTER.finditer(arg))
    count = arg[: found[0].start()].strip() if found else arg.strip()
    filters: dict[str, str] = {}
    ends: list[re.Match[str] | None] = [*found[1:], None]
    for here, following in zip(found, ends[: len(found)], strict=True):
        key = here.group(1).lower()
        value = arg[here.end() : following.start() if following else len(arg)].strip()
        if not value or key in filters:
            raise ValueError(f"`{key}` needs one value")
        filters[key] = value
    return count, filters


async def _audit(
    svc: Services, arg: str, command: dict[str, Any], ack: AsyncAck, respond: AsyncRespond
) -> None:
    try:
        count, filters = _audit_filters(arg)
    except ValueError as exc:
        await ack(**messages.help_message(f"`audit`: {exc}, {_AUDIT_USAGE}."))
        return
    if not count:
        limit = AUDIT_DEFAULT
    elif _COUNT.fullmatch(count) and 1 <= int(count) <= AUDIT_MAX:
        limit = int(count)
    else:
        shown = count if len(count) <= 40 else count[:40] + "…"
        await ack(
            **messages.help_message(
                f"`audit` takes a number of rows from 1 to {AUDIT_MAX}, e.g. "
                f"`{COMMAND} audit {AUDIT_DEFAULT}`, and filters ({_AUDIT_USAGE}); "
                f"got “{shown}”."
            )
        )
        return
    person = filters.get("by")
    if person is not None:
        mention = _MENTION.match(person)
        person = mention.group(1) if mention else person.removeprefix("@")
    user = str(command.get("user_id") or "")
    try:
        trail = svc.bot.audit(
            limit,
            window=filters.get("window"),
            by=person,
            system=filters.get("system"),
            since=filters.get("since"),
            until=filters.get("until"),
            tz=await svc.directory.tz(user),
        )
    except FilterError as exc:
        # Answered in the ack: a reading refused for a bad filter changes nothing.
        await ack(**messages.help_message(str(exc)))
        return
    await ack(**messages.audit_trail(trail))


async def _cancel(
    svc: Services, arg: str, command: dict[str, Any], ack: AsyncAck, respond: AsyncRespond
) -> None:
    await ack()
    window_id = arg.split()[0] if arg else ""
    if not window_id:
        await reply(
            respond,
            messages.help_message(
                "`cancel` needs a window id, e.g. `cancel w_AbC123`; `/maintenance list` shows "
                "them."
            ),
        )
        return
    user = str(command.get("user_id") or "")
    cancelled = await svc.bot.cancel(window_id, by=user)  # refusals audited, then raised
    await reply_text(
        respond,
        f":white_check_mark: Cancelled maintenance window `{bk.escape(cancelled.record.id)}`.",
    )


async def _extend(
    svc: Services, arg: str, command: dict[str, Any], ack: AsyncAck, respond: AsyncRespond
) -> None:
    window_id, _, amount = arg.partition(" ")
    if not window_id or not amount.strip():
        await ack(
            **messages.help_message(
                "`extend` needs a window id and a length, e.g. `extend w_AbC123 45m`; "
                f"`{COMMAND} list` shows the windows."
            )
        )
        return
    try:
        by_time = parse_length(amount)
    except WindowError as exc:
        await ack(**messages.help_message(f"`extend`: {exc}"))
        return
    await ack()
    user = str(command.get("user_id") or "")
    view = await svc.bot.extend(window_id, by=user, by_time=by_time)  # refusals audited
    await reply_text(respond, extended_text(view))


async def _end(
    svc: Services, arg: str, command: dict[str, Any], ack: AsyncAck, respond: AsyncRespond
) -> None:
    window_id = arg.split()[0] if arg else ""
    if not window_id:
        await ack(
            **messages.help_message(
                f"`end` needs a window id, e.g. `end w_AbC123`; `{COMMAND} list` shows them."
            )
        )
        return
    await ack()
    user = str(command.get("user_id") or "")
    await reply_text(respond, ended_text(await svc.bot.end(window_id, by=user)))


_OVERLAP_OK = "--overlap-ok"


async def _edit(
    svc: Services, arg: str, command: dict[str, Any], ack: AsyncAck, respond: AsyncRespond
) -> None:
    """``edit <id> [--overlap-ok] <new window text>``: the difference, to the person; a
    wider window's new approval request is posted like Plan pause posts one."""
    window_id, _, text = arg.partition(" ")
    text = text.strip()
    overlap_ok = text.split(" ", 1)[0].lower() == _OVERLAP_OK
    if overlap_ok:
        text = text[len(_OVERLAP_OK) :].strip()
    if not window_id or not text:
        await ack(
            **messages.help_message(
                "`edit` needs a window id and the new window, e.g. `edit w_AbC123 Saturday "
                f"3-5am` (add `{_OVERLAP_OK}` before the window if it may overlap another); "
                f"`{COMMAND} list` shows the windows."
            )
        )
        return
    await ack()
    user = str(command.get("user_id") or "")
    result = await svc.bot.edit(window_id, by=user, text=text, overlap_ok=overlap_ok)
    asked_in = await post_edit(
        svc, svc.directory.client, result, str(command.get("channel_id") or "")
    )
    await reply(respond, messages.edit_result(result, asked_in=asked_in))


async def _calendar(
    svc: Services, rest: str, command: dict[str, Any], ack: AsyncAck, respond: AsyncRespond
) -> None:
    try:
        url: str | None = svc.bot.calendar_url()
    except ConfigError:  # MAINTBOT_PUBLIC_URL unset: the operator's to fix, said so
        url = None
    await ack(**messages.calendar_link(url))


_SUBCOMMANDS: dict[str, Subcommand] = {
    "check": _check,
    "suggest": _suggest,
    "list": _list,
    "status": _status,
    "audit": _audit,
    "cancel": _cancel,
    "extend": _extend,
    "end": _end,
    "edit": _edit,
    "calendar": _calendar,
}
# Every subcommand with a use case (help has none); the parity test reads this.
SUBCOMMANDS = (*_SUBCOMMANDS, "plan")
