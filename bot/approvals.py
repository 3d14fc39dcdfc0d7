"""Who may approve a maintenance window (or a request to resume someone else's pause), and
who may change a window once it is planned.

The policy is deliberately small and pure: Slack resolves user groups to user ids before
building it, the CLI uses the names given on its command line, and both call the same
checks, so a rule cannot hold in one surface and not the other. Every refusal is an
:class:`~bot.errors.ApprovalError` whose message tells the person what to do instead.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Literal

from bot.config import Settings
from bot.errors import ApprovalError

__all__ = ["ApproverSpec", "ManageAction", "Policy", "parse_approvers"]

log = logging.getLogger(__name__)

ManageAction = Literal["cancel", "extend", "end"]

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
_HANDLE = re.compile(r"^@?([a-z0-9._-]{1,80})$", re.IGNORECASE)
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_SUBTEAM = re.compile(r"<!subteam\^(S[A-Z0-9]+)(?:\|[^>]*)?>")


@dataclass(frozen=True)
class ApproverSpec:
    """``MAINTBOT_APPROVERS`` read once, for both faces: Slack user ids, user-group ids and
    group handles (which Slack expands to members), and ``names``, every item as typed
    (mention syntax and a leading ``@`` taken off), which the command line compares with
    the names given on it."""

    users: frozenset[str] = frozenset()
    group_ids: frozenset[str] = frozenset()
    handles: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()

    @property
    def has_groups(self) -> bool:
        return bool(self.group_ids or self.handles)

    @property
    def empty(self) -> bool:
        return not (self.users or self.has_groups)


def parse_approvers(text: str) -> ApproverSpec:
    """``"U123, @oncall S0ABC"`` → users {U123}, handles {oncall}, groups {S0ABC}.

    Comma-, semicolon- or space-separated; ``<@U123>`` and ``<!subteam^S0ABC|@oncall>``
    (what Slack pastes) are accepted too. An item that is none of these is logged and
    ignored."""
    users: set[str] = set()
    groups: set[str] = set()
    handles: set[str] = set()
    names: set[str] = set()
    for raw in re.split(r"[\s,;]+", (text or "").strip()):
        token = raw.strip()
        if not token:
            continue
        mention = _MENTION.fullmatch(token)
        subteam = _SUBTEAM.fullmatch(token)
        if mention:
            users.add(mention.group(1))
            names.add(mention.group(1))
        elif subteam:
            groups.add(subteam.group(1))
            names.add(subteam.group(1))
        elif _USER_ID.match(token):
            users.add(token)
            names.add(token)
        elif _GROUP_ID.match(token) and not token.startswith("@"):
            groups.add(token)
            names.add(token)
        elif (handle := _HANDLE.match(token)) is not None:
            # Slack handles are case-insensitive; a name on the command line is literal.
            handles.add(handle.group(1).lower())
            names.add(handle.group(1))
        else:
            log.warning("MAINTBOT_APPROVERS: ignoring %r (not a user id, group id or handle)", raw)
    return ApproverSpec(frozenset(users), frozenset(groups), frozenset(handles), frozenset(names))


@dataclass(frozen=True)
class Policy:
    """Approver rights. ``approvers`` are resolved user ids or names; empty means nobody
    has been configured, which refuses every approval rather than allowing everyone,
    unless ``any_second_person`` says a distinct second name is enough (the CLI, below)."""

    approvers: frozenset[str]
    allow_self_approval: bool = False
    any_second_person: bool = False
    # Resuming a task someone else paused undoes a colleague's decision (often tied to a
    # change of theirs), so by default a second person has to agree.
    resume_others_needs_approval: bool = True

    @classmethod
    def from_settings(cls, settings: Settings, *, command_line: bool = False) -> Policy:
        """The policy as configured in the environment, with names taken literally (the
        Slack app expands user group handles itself before building its policy).

        On the command line, with no MAINTBOT_APPROVERS set, any second name approves: the
        person at the shell already holds the database and the vendor credentials, so a
        list could not stop them, while the two-names rule still leaves a record of who
        agreed. Once approvers are configured they bind the CLI too."""
        return cls(
            approvers=parse_approvers(settings.maintbot_approvers).names,
            allow_self_approval=settings.maintbot_allow_self_approval,
            any_second_person=command_line,
            resume_others_needs_approval=settings.maintbot_resume_others_needs_approval,
        )

    def check(self, user: str, requested_by: str) -> None:
        """Raise :class:`ApprovalError` unless ``user`` may approve a window that
        ``requested_by`` asked for."""
        self._check(user, requested_by, "maintenance windows", "asked for this window")

    def check_resume(self, user: str, requested_by: str) -> None:
        """Raise :class:`ApprovalError` unless ``user`` may approve ``requested_by``'s
        request to resume a task someone else paused (the same two-person rule)."""
        self._check(user, requested_by, "resume requests", "asked to resume this task")

    def _check(self, user: str, requested_by: str, what: str, asked: str) -> None:
        if not self.approvers and not self.any_second_person:
            raise ApprovalError(
                f"Nobody is allowed to approve {what} yet: set MAINTBOT_APPROVERS "
                "to the Slack user ids (or @group handles) of the approvers, comma-separated."
            )
        if user == requested_by and not self.allow_self_approval:
            raise ApprovalError(
                f"{user} {asked}, so someone else has to approve it "
                "(ask another approver; self-approval is off: MAINTBOT_ALLOW_SELF_APPROVAL)."
            )
        if self.approvers and user not in self.approvers:
            raise ApprovalError(
                f"{user} is not an approver for {what}; ask one of "
                f"{_list(self.approvers)} (the approvers are set in MAINTBOT_APPROVERS)."
            )

    def check_manage(self, user: str, requested_by: str, action: ManageAction) -> None:
        """Raise unless ``user`` may cancel, end or extend a window ``requested_by`` asked
        for. Cancelling or ending early only shortens a pause, so the requester may do it
        too; extending keeps jobs paused for longer, so it needs approver rights."""
        if action in ("cancel", "end") and user == requested_by:
            return
        if action in ("cancel", "end") and user in self.approvers:
            return
        if action == "extend":
            self.check(user, requested_by)
            return
        raise ApprovalError(
            f"{user} may not {action} this window: only the requester ({requested_by}) or an "
            f"approver ({_list(self.approvers) or 'none configured: set MAINTBOT_APPROVERS'}) "
            "may."
        )


def _list(names: frozenset[str], limit: int = 5) -> str:
    shown = sorted(names)[:limit]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")
