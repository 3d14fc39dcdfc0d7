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
from datetime import timedelta
from typing import Literal

from bot.config import Settings
from bot.errors import ApprovalError
from bot.format import length

__all__ = ["ApproverSpec", "ManageAction", "Policy", "parse_approvers"]

log = logging.getLogger(__name__)

ManageAction = Literal["cancel", "extend", "end"]
# Who may end or extend a window besides the approvers.
ManageRight = Literal["requester_or_approver", "approver"]

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
    # Ending early only shortens a pause, so by default the requester may; extending keeps
    # jobs paused for longer, so the requester may only up to ``extend_limit`` past the
    # approved end in total, and beyond it an approver has to.
    end_by: ManageRight = "requester_or_approver"
    extend_by: ManageRight = "requester_or_approver"
    extend_limit: timedelta = timedelta(hours=1)

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
            end_by=settings.maintbot_end_by,
            extend_by=settings.maintbot_extend_by,
            extend_limit=timedelta(minutes=settings.maintbot_extend_limit_minutes),
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

    def is_approver(self, user: str) -> bool:
        """``user`` holds approver rights (on the command line with no approvers configured,
        any name does: see :meth:`from_settings`)."""
        return user in self.approvers or (not self.approvers and self.any_second_person)

    def check_manage(
        self,
        user: str,
        requested_by: str,
        action: ManageAction,
        *,
        past_approved_end: timedelta = timedelta(0),
    ) -> bool:
        """Raise unless ``user`` may cancel, end or extend a window ``requested_by`` asked
        for; ``past_approved_end`` is how far past its approved end an extension would take
        it. Returns whether ``user`` acted with approver rights (an approver's extension
        becomes the new approved end)."""
        approver = self.is_approver(user)
        requester = user == requested_by
        right = self.extend_by if action == "extend" else self.end_by
        verb = "extend" if action == "extend" else f"{action} early"
        if approver and requester and action == "extend" and not self.allow_self_approval:
            # An approver extending their own window is a requester for the limit.
            approver = False
        if approver:
            return True
        if not requester or right == "approver":
            who = (
                "an approver"
                if right == "approver"
                else f"the requester ({requested_by}) or an approver"
            )
            raise ApprovalError(
                f"{user} may not {verb} this window: only {who} may ({self._approvers_text()})."
            )
        if action == "extend" and past_approved_end > self.extend_limit:
            raise ApprovalError(
                f"That would keep the window {length(past_approved_end)} past the end that was "
                f"approved; {user} may extend it by up to {length(self.extend_limit)} in total "
                f"(MAINTBOT_EXTEND_LIMIT_MINUTES), beyond that an approver has to "
                f"({self._approvers_text()})."
            )
        return False

    def _approvers_text(self) -> str:
        if self.approvers:
            return f"approvers: {_list(self.approvers)}"
        return "no approvers are configured: set MAINTBOT_APPROVERS"


def _list(names: frozenset[str], limit: int = 5) -> str:
    shown = sorted(names)[:limit]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")
