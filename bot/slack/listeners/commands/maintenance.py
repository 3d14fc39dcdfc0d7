"""``/maintenance <subcommand>``: ack at once, then one call on the application, and render."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ConfigError, FilterError, WindowError
from bot.series import Series, occurrences
from bot.slack import blocks as bk
from bot.slack import messages
from bot.slack.listeners import dialogs
from bot.slack.listeners.actions.report import post_approval_request
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
        # The subcommands that post beyond their answer need the Web API client: plan opens
        # a dialog (or posts a series' approval request), series scope may ask again.
        await dialogs.from_command(services(context), rest, command, ack, respond, client)
    elif verb == "series" and rest.split()[:1] == ["scope"]:
        await _series_scope(services(context), rest, command, ack, respond, client)
    elif handler is not None:
        await handler(services(context), rest, command, ack, respond)
    elif verb in ("", "help"):
        await ack(**messages.help_message())
    else:
        await ack(**messages.help_message(f"I don't know `{verb}`."))


SERIES_CHECKED = 3  # occurrences a recurring `check` reports, as `maintbot check` does

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
    # The locale comes from the same (cached) users.info call as the zone.
    tz, locale = await svc.directory.zone_and_locale(user)
    languages = (locale,) if locale else ()
    needs_approval = svc.bot.settings.maintbot_resume_others_needs_approval
    series = svc.bot.parse_series(text, tz, languages)  # WindowError → the error handler
    if series is not None:
        await _check_series(svc, series, command, respond, user, needs_approval)
        return
    stored = await svc.bot.check(
        text,
        by=user,
        tz=tz,
        channel=command.get("channel_id"),
        request_id=request_id(command),
        languages=languages,
    )
    await reply(
        respond, messages.report_page(stored, 0, needs_approval=needs_approval), replace=True
    )


async def _check_series(
    svc: Services,
    series: Series,
    command: dict[str, Any],
    respond: AsyncRespond,
    user: str,
    needs_approval: bool,
) -> None:
    """A recurring text: its next occurrences checked one after another, each its own
    report (with its own buttons), after one message that says what the series is."""
    shown = occurrences(series, after=svc.bot.clock(), count=SERIES_CHECKED)
    await reply(respond, messages.series_intro(series, shown), replace=True)
    for number, occurrence in enumerate(shown, start=1):
        if occurrence.window is None:
            continue  # the intro says why this date cannot happen
        stored = await svc.bot.check(
            occurrence.window.model_copy(update={"text": series.text, "title": series.title}),
            by=user,
            channel=command.get("channel_id"),
            request_id=request_id(command),
        )
        page = messages.report_page(stored, 0, needs_approval=needs_approval)
        await reply(respond, messages.numbered(page, f"Occurrence {number} of {len(shown)}"))


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
    await ack(
        **messages.windows_list(
            [(w.record, len(w.tasks)) for w in svc.bot.windows()], svc.bot.series.list()
        )
    )


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


_SERIES_USAGE = (
    f"`{COMMAND} series` lists them; `series show s_AbC123`, `series skip s_AbC123 "
    "2026-12-12`, `series move s_AbC123 2026-12-12 Sunday 2-4am`, `series end s_AbC123`, "
    "`series scope s_AbC123 all` (or `talend:ID,pyramid:ID`), `series cancel s_AbC123`"
)


async def _series(
    svc: Services, arg: str, command: dict[str, Any], ack: AsyncAck, respond: AsyncRespond
) -> None:
    """``series [show|skip|move|end|cancel] …``: the CLI's `maintbot series` verbs."""
    words = arg.split()
    verb = words[0].lower() if words else "list"
    user = str(command.get("user_id") or "")
    if verb == "list":
        await ack(**messages.series_list(svc.bot.series_list()))
        return
    if verb not in ("show", "skip", "move", "scope", "end", "cancel") or len(words) < 2:
        await ack(**messages.help_message(_SERIES_USAGE + "."))
        return
    series_id = words[1]
    if verb == "show":
        await ack(**messages.series_list([svc.bot.series_view(series_id)]))  # errors → handler
        return
    if verb == "scope":
        if len(words) < 3:
            await ack(**messages.help_message("`series scope` needs: " + _SERIES_USAGE + "."))
            return
        await ack()
        done = await svc.bot.rescope_series(series_id, by=user, tasks=" ".join(words[2:]))
        said = (
            f"Series `{bk.escape(done.series.id)}` now pauses `{bk.fit(' '.join(words[2:]), 300)}`."
        )
        if done.reapproval and done.window is not None:
            said += (
                f" That is more than was approved: its next occurrence, window "
                f"`{bk.escape(done.window.id)}`, asks an approver again."
            )
        await reply_text(respond, said)
        return
    if verb in ("skip", "move"):
        try:
            day = date.fromisoformat(words[2]) if len(words) > 2 else None
        except ValueError:
            day = None
        if day is None or (verb == "move" and len(words) < 4):
            await ack(**messages.help_message(f"`series {verb}` needs: " + _SERIES_USAGE + "."))
            return
        await ack()
        if verb == "skip":
            record = await svc.bot.skip_occurrence(series_id, day, by=user)
            await reply_text(
                respond,
                f"Series `{bk.escape(record.id)}`: the {day.isoformat()} occurrence is skipped.",
            )
        else:
            tz = await svc.directory.tz(user)
            made = await svc.bot.move_occurrence(
                series_id, day, " ".join(words[3:]), by=user, tz=tz
            )
            await reply_text(
                respond,
                f"The {day.isoformat()} occurrence is planned as window `{bk.escape(made.id)}`: "
                f"{bk.date_token(made.start)} → {bk.date_token(made.end)}.",
            )
        return
    await ack()
    closed = (
        await svc.bot.end_series(series_id, by=user)
        if verb == "end"
        else await svc.bot.cancel_series(series_id, by=user)
    )
    await reply_text(respond, f"Series `{bk.escape(closed.id)}` is {closed.state.label}.")


async def _series_scope(
    svc: Services,
    arg: str,
    command: dict[str, Any],
    ack: AsyncAck,
    respond: AsyncRespond,
    client: AsyncWebClient,
) -> None:
    """``series scope ID TASKS``: what each occurrence pauses; more than was approved asks
    the approvers again, where windows' requests go."""
    words = arg.split()
    if len(words) < 3:
        await ack(**messages.help_message("`series scope` needs: " + _SERIES_USAGE + "."))
        return
    await ack()
    user = str(command.get("user_id") or "")
    spec = " ".join(words[2:])
    done = await svc.bot.rescope_series(words[1], by=user, tasks=spec)
    said = f"Series `{bk.escape(done.series.id)}` now pauses `{bk.fit(spec, 300)}`."
    channel = str(command.get("channel_id") or "")
    if done.edit is not None:
        asked_in = await post_edit(svc, client, done.edit, channel)
    elif done.approval is not None and done.window is not None:
        asked_in, ts = await post_approval_request(
            svc,
            client,
            svc.bot.settings.maintbot_approval_channel or done.window.channel or channel,
            done.window,
            done.approval,
            svc.bot.store.window_tasks(done.window.id),
        )
        svc.bot.approval_posted(done.approval.id, done.window.id, asked_in, ts)
    else:
        asked_in = None
    if done.reapproval and done.window is not None:
        said += (
            f" That is more than was approved: its next occurrence, window "
            f"`{bk.escape(done.window.id)}`, asks an approver again"
            + (f" in <#{bk.escape(asked_in)}>." if asked_in else ".")
        )
    await reply_text(respond, said)


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
    "series": _series,
}
# Every subcommand with a use case (help has none); the parity test reads this.
SUBCOMMANDS = (*_SUBCOMMANDS, "plan")
