"""What an edit shows in Slack once it is saved, whichever face asked for it
(``/maintenance edit`` or the edit dialog): a wider window's new approval request, posted
where Plan pause posts one, and the requests it replaced redrawn without their buttons."""

from __future__ import annotations

import logging

from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import MaintbotError
from bot.service import EditResult
from bot.slack import messages
from bot.slack.errors import SLACK_ERRORS
from bot.slack.listeners.actions.report import post_approval_request
from bot.slack.services import Services

__all__ = ["post_edit"]

log = logging.getLogger(__name__)


async def post_edit(
    svc: Services, client: AsyncWebClient, result: EditResult, fallback_channel: str
) -> str | None:
    """Post the edit's new approval request, if it needs one; the channel it went to."""
    if result.approval is None:
        return None
    channel = (
        svc.bot.settings.maintbot_approval_channel
        or result.approval.channel
        or result.record.channel
        or fallback_channel
    )
    try:
        asked_in, ts = await post_approval_request(
            svc, client, channel, result.record, result.approval, result.tasks
        )
    except SLACK_ERRORS as exc:
        # The edit stands (it is audited); approvers can still decide from the CLI.
        raise MaintbotError(
            f"The window was edited, but its new approval request could not be posted in "
            f"channel {channel} ({type(exc).__name__}); an approver can run `maintbot "
            f"approve {result.record.id} --by NAME`, or invite the bot there."
        ) from None
    svc.bot.approval_posted(result.approval.id, result.record.id, asked_in, ts)
    await _replace_old_requests(svc, client, result)
    return asked_in


async def _replace_old_requests(svc: Services, client: AsyncWebClient, result: EditResult) -> None:
    """The superseded requests lose their buttons and say they were replaced (best effort:
    a click on one is refused anyway)."""
    added = {t.id for t in result.added}
    old_tasks = [t for t in result.tasks if t.id not in added] + list(result.removed)
    for approval_id in result.superseded:
        approval = svc.bot.store.get_approval(approval_id)
        if not (approval.channel and approval.message_ts):
            continue
        try:
            await client.chat_update(
                channel=approval.channel,
                ts=approval.message_ts,
                **messages.approval_decided(result.before, approval, old_tasks),
            )
        except SLACK_ERRORS:
            log.warning("could not mark approval request %s as replaced", approval_id)
