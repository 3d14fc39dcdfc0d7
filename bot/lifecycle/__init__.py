"""The window lifecycle: plan → approve → pause at the start → resume at the end.

Two halves share one store and nothing else:

* plain functions that people trigger (through Slack or the CLI): :func:`plan_window`,
  :func:`request_approval`, :func:`decide`, :func:`approve_now`, :func:`cancel_window`,
  :func:`extend_window`, :func:`end_window_now`. They only write the store; none of them
  calls a vendor, so a click never waits on a scheduler.
* :class:`WindowClock`, one loop that on every tick reads from the store what is due and
  does it: reminders, pausing at the start, retries, resuming at the end, alerts.

Restart safety comes from the order of writes. Every transition is claimed by a
compare-and-set (window ``approved → active``, task ``planned → pausing``,
``paused → resuming``) *before* any vendor call, and its outcome is written after. A task
claim names its owner (one per clock) and carries a lease the owner renews before each
call; a crash leaves ``pausing``/``resuming`` rows that any clock takes over once the lease
has run out, never while a live owner holds it. Because each attempt reads the vendor's
state first, a retried row never repeats a call blindly. Nothing lives only in memory:
backoff times, grace deadlines, leases, what the bot saw before pausing and what its pause
looked like are all columns.

Vendor calls run per system, each under a hard deadline, beside the tick: a scheduler that
answers slowly or not at all holds up only its own tasks, and a call it cut off is audited
``unknown`` and read back before anything else is done to that task.

Overlapping windows share one pause: the second window recognises the pause as the bot's own
(its reason names the first window, and it matches what the bot recorded right after
pausing) and holds it too; whichever window ends first hands over, and only the last one
resumes. A task someone else paused, resumed or re-paused is left alone and reported.

"""

from bot.lifecycle.base import ACTIONS, ACTOR, ClockCore, Lateness, TickReport, new_owner_id
from bot.lifecycle.loop import HEARTBEAT_KEY, Heartbeat, WindowClock, clock_deadlines
from bot.lifecycle.notify import Alert, AlertItem, AlertList, LogNotifier, Notifier, plain_text
from bot.lifecycle.ownership import pause_reason, window_id_in
from bot.lifecycle.people import (
    MAX_WINDOW,
    Decision,
    approve_now,
    cancel_window,
    decide,
    end_window_now,
    extend_window,
    plan_window,
    request_approval,
    window_refusal,
)

__all__ = [
    "ACTIONS",
    "ACTOR",
    "HEARTBEAT_KEY",
    "MAX_WINDOW",
    "Alert",
    "AlertItem",
    "AlertList",
    "ClockCore",
    "Decision",
    "Heartbeat",
    "Lateness",
    "LogNotifier",
    "Notifier",
    "TickReport",
    "WindowClock",
    "approve_now",
    "cancel_window",
    "clock_deadlines",
    "decide",
    "end_window_now",
    "extend_window",
    "new_owner_id",
    "pause_reason",
    "plain_text",
    "plan_window",
    "request_approval",
    "window_id_in",
    "window_refusal",
]
