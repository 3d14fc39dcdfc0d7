"""Controls on the window clock's alerts: extend (a select of lengths), end now, retry,
take over. Each: ack, one call on the application (which checks who may, and audits a
refusal), render."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.errors import MaintbotError
from bot.service import Maintbot, WindowView
from bot.slack import blocks as bk
from bot.slack.registry import ActionId
from bot.slack.services import button_value, reply_text, services, user_of

__all__ = ["end_now", "extend", "retry_pause", "retry_resume", "take_over"]

Handler = Callable[[Maintbot, dict[str, Any], str], Awaitable[str]]


def _listener(action_id: ActionId, handler: Handler) -> Callable[..., Awaitable[None]]:
    """One thin listener per alert button. Bolt injects arguments by parameter name, so
    every listener keeps this signature."""

    async def listener(
        ack: AsyncAck,
        action: dict[str, Any],
        body: dict[str, Any],
        respond: AsyncRespond,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        text = await handler(services(context).bot, button_value(action), user_of(body))
        await reply_text(respond, text)

    listener.__name__ = listener.__qualname__ = action_id.value
    return listener


async def _extend(bot: Maintbot, value: dict[str, Any], user: str) -> str:
    minutes = value.get("m")
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 0 < minutes <= 1440:
        raise MaintbotError("That menu is not one this bot made; use /maintenance extend.")
    return extended_text(
        await bot.extend(value.get("w"), by=user, by_time=timedelta(minutes=minutes))
    )


def extended_text(view: WindowView) -> str:
    return (
        f":white_check_mark: Extended window `{bk.escape(view.record.id)}`; it now ends "
        f"{bk.date_token(view.record.end)}."
    )


async def _end(bot: Maintbot, value: dict[str, Any], user: str) -> str:
    return ended_text(await bot.end(value.get("w"), by=user))


def ended_text(view: WindowView) -> str:
    return (
        f":white_check_mark: Ending window `{bk.escape(view.record.id)}` now; its tasks are "
        "resumed on the clock's next tick."
    )


async def _retry(bot: Maintbot, value: dict[str, Any], user: str) -> str:
    view = await bot.retry(value.get("w"), by=user)
    return f":repeat: Retrying the tasks of window `{view.record.id}` now."


async def _take_over(bot: Maintbot, value: dict[str, Any], user: str) -> str:
    result = await bot.take_over(value.get("w"), by=user)
    window, stuck = result.window, result.taken
    if not stuck:
        return (
            f":information_source: No task of window `{window.id}` has a failing resume to "
            "take over."
        )
    names = ", ".join(f"*{bk.fit(t.task_name, 100)}*" for t in stuck[:10])
    more = f" and {len(stuck) - 10} more" if len(stuck) > 10 else ""
    return (
        f":handshake: You took over {names}{more}; the bot stops retrying them, and window "
        f"`{window.id}` will end as failed so the trail shows a person finished it."
    )


extend = _listener(ActionId.EXTEND, _extend)
end_now = _listener(ActionId.END_NOW, _end)
retry_pause = _listener(ActionId.RETRY_PAUSE, _retry)
retry_resume = _listener(ActionId.RETRY_RESUME, _retry)
take_over = _listener(ActionId.TAKE_OVER, _take_over)
