"""Buttons on the window clock's alerts: extend, end now, retry, take over. Each: ack, one
call on the application (which checks who may, and audits a refusal), render."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.service import Maintbot
from bot.slack import blocks as bk
from bot.slack.registry import ActionId
from bot.slack.services import button_value, reply_text, services, user_of

__all__ = ["end_now", "extend_30", "retry_pause", "retry_resume", "take_over"]

EXTENSION = timedelta(minutes=30)

Handler = Callable[[Maintbot, object, str], Awaitable[str]]


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
        text = await handler(services(context).bot, button_value(action).get("w"), user_of(body))
        await reply_text(respond, text)

    listener.__name__ = listener.__qualname__ = action_id.value
    return listener


async def _extend(bot: Maintbot, window_id: object, user: str) -> str:
    view = await bot.extend(window_id, by=user, by_time=EXTENSION)
    return (
        f":white_check_mark: Extended window `{view.record.id}` by 30 minutes; it now ends "
        f"{bk.date_token(view.record.end)}."
    )


async def _end(bot: Maintbot, window_id: object, user: str) -> str:
    view = await bot.end(window_id, by=user)
    return (
        f":white_check_mark: Ending window `{view.record.id}` now; its tasks are resumed on the "
        "clock's next tick."
    )


async def _retry(bot: Maintbot, window_id: object, user: str) -> str:
    view = await bot.retry(window_id, by=user)
    return f":repeat: Retrying the tasks of window `{view.record.id}` now."


async def _take_over(bot: Maintbot, window_id: object, user: str) -> str:
    result = await bot.take_over(window_id, by=user)
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


extend_30 = _listener(ActionId.EXTEND_30, _extend)
end_now = _listener(ActionId.END_NOW, _end)
retry_pause = _listener(ActionId.RETRY_PAUSE, _retry)
retry_resume = _listener(ActionId.RETRY_RESUME, _retry)
take_over = _listener(ActionId.TAKE_OVER, _take_over)
