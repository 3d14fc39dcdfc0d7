"""Buttons on the window clock's alerts: extend, end now, retry, take over."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot import lifecycle
from bot.approvals import Policy
from bot.errors import ApprovalError, MaintbotError
from bot.slack import blocks as bk
from bot.slack import messages
from bot.slack.registry import ActionId
from bot.slack.services import Services, button_value, request_id, services
from bot.store import PlannedTaskState, WindowRecord

__all__ = ["end_now", "extend_30", "retry_pause", "retry_resume", "take_over"]

EXTENSION = timedelta(minutes=30)

# Tasks a person can take over: their resume keeps failing (the clock's rule).
_STUCK = (PlannedTaskState.RESUME_FAILED, PlannedTaskState.RESUMING)


Handler = Callable[[Services, WindowRecord, str, Policy], Awaitable[str]]


def _listener(action_id: ActionId, handler: Handler) -> Callable[..., Awaitable[None]]:
    """One thin listener per alert button: ack, then the shared checks and the handler.
    Bolt injects arguments by parameter name, so every listener keeps this signature."""

    async def listener(
        ack: AsyncAck,
        action: dict[str, Any],
        body: dict[str, Any],
        respond: AsyncRespond,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        await _run(action, body, respond, context, action_id, handler)

    listener.__name__ = listener.__qualname__ = action_id.value
    return listener


async def _run(
    action: dict[str, Any],
    body: dict[str, Any],
    respond: AsyncRespond,
    context: AsyncBoltContext,
    action_id: ActionId,
    handler: Handler,
) -> None:
    svc = services(context)
    user = str((body.get("user") or {}).get("id") or "")
    window_id = button_value(action).get("w")
    window = svc.store.find_window(window_id) if isinstance(window_id, str) else None
    if window is None:
        raise MaintbotError("That button points at a maintenance window the bot does not have.")
    policy = await svc.policy()
    try:
        text = await handler(svc, window, user, policy)
    except ApprovalError as exc:
        svc.store.audit(
            user,
            action_id.value,
            "refused",
            window_id=window.id,
            error=str(exc),
            request_id=request_id(body),
        )
        raise
    await respond(response_type="ephemeral", replace_original=False, **messages.text_message(text))


def _requester_or_approver(policy: Policy, user: str, window: WindowRecord, what: str) -> None:
    if user != window.requested_by and user not in policy.approvers:
        raise ApprovalError(
            f"{user} may not {what} for this window: only the requester "
            f"({window.requested_by}) or an approver may."
        )


async def _extend(svc: Services, window: WindowRecord, user: str, policy: Policy) -> str:
    policy.check_manage(user, window.requested_by, "extend")
    lifecycle.extend_window(svc.store, window.id, by=user, delta=EXTENSION, now=svc.clock())
    updated = svc.store.get_window(window.id)
    return (
        f":white_check_mark: Extended window `{window.id}` by 30 minutes; it now ends "
        f"{bk.date_token(updated.end)}."
    )


async def _end(svc: Services, window: WindowRecord, user: str, policy: Policy) -> str:
    policy.check_manage(user, window.requested_by, "end")
    lifecycle.end_window_now(svc.store, window.id, by=user, now=svc.clock())
    return (
        f":white_check_mark: Ending window `{window.id}` now; its tasks are resumed on the "
        "clock's next tick."
    )


def _clock(svc: Services) -> lifecycle.WindowClock:
    if svc.window_clock is None:
        raise MaintbotError(
            "The window clock is not running in this process; run `maintbot serve` or "
            "`maintbot worker`."
        )
    return svc.window_clock


async def _retry(svc: Services, window: WindowRecord, user: str, policy: Policy) -> str:
    _requester_or_approver(policy, user, window, "retry")
    _clock(svc).retry(window.id, by=user)
    return f":repeat: Retrying the tasks of window `{window.id}` now."


async def _take_over(svc: Services, window: WindowRecord, user: str, policy: Policy) -> str:
    _requester_or_approver(policy, user, window, "take over")
    clock = _clock(svc)
    stuck = [t for t in svc.store.window_tasks(window.id) if t.state in _STUCK]
    if not stuck:
        return (
            f":information_source: No task of window `{window.id}` has a failing resume to "
            "take over."
        )
    for task in stuck:
        clock.take_over(task.id, by=user)
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
