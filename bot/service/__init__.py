"""The application layer: one object, :class:`Maintbot`, that both faces (the Slack app and
the command line) call for every use case. See :mod:`bot.service.maintbot`."""

from bot.service.editing import ConflictChange, EditResult
from bot.service.maintbot import (
    ApproverSource,
    InProgress,
    Maintbot,
    PlanResult,
    ReportRow,
    ResumeAsked,
    Resumed,
    TakeOver,
    WindowView,
    open_maintbot,
)
from bot.service.pauses import ActionResult, HeldPaused, ResumeDecision
from bot.service.reports import StoredCheck
from bot.service.scope import Candidate, Candidates, Scope
from bot.service.suggest import Suggestion
from bot.service.wiring import Need

__all__ = [
    "ActionResult",
    "ApproverSource",
    "Candidate",
    "Candidates",
    "ConflictChange",
    "EditResult",
    "HeldPaused",
    "InProgress",
    "Maintbot",
    "Need",
    "PlanResult",
    "ReportRow",
    "ResumeAsked",
    "ResumeDecision",
    "Resumed",
    "Scope",
    "StoredCheck",
    "Suggestion",
    "TakeOver",
    "WindowView",
    "open_maintbot",
]
