"""The plan dialog (a modal): what it shows for a draft, and what a person entered in it.

Layout: title, reason or change number, the window as text (read again on Enter and echoed
below it), the scope (systems, the vendors' own groupings, a name filter; each redraws the
task list on change), and the matching tasks as checkboxes, ten to a block, pre-ticked
with the window's collisions. What is submitted is what is planned: the ticked tasks shown.

Inputs that keep their value across redraws keep their ``block_id``; the task blocks carry
the draft's revision in theirs, so each redraw shows exactly the ticks computed for it
(Slack keeps a person's input only where the ids stay the same).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.format import clock_time, length, window_name
from bot.service.drafts import Draft, DraftTask, Filter, shown
from bot.slack import blocks as bk
from bot.slack.registry import ActionId
from bot.zones import lookup_zone

__all__ = [
    "CALLBACK",
    "DialogInput",
    "loading_view",
    "plan_view",
    "read_input",
    "shown_keys",
]

CALLBACK = "plan_dialog"
TITLE = "Plan a window"
EDIT_TITLE = "Edit a window"
TASKS_PER_BLOCK = 10  # Slack's limit for one checkboxes element
TASK_BLOCKS = 25  # 250 tasks: beyond that the list asks for a narrower filter
_TASKS = "tasks."

_CONFLICT_WORDS = {
    "running_at_start": "running when it opens",
    "starts_in_window": "starts in the window",
    "may_overlap": "may still be running",
    "may_fire": "may fire (time unknown)",
}


@dataclass(frozen=True)
class DialogInput:
    """What the person has entered so far."""

    title: str
    reason: str
    text: str
    scope: Filter
    ticked: frozenset[str]
    overlap_ok: bool = False


def loading_view(note: str = "Asking every scheduler for its tasks…") -> dict[str, Any]:
    """Opened at once (a trigger is good for 3 seconds); the form replaces it."""
    return _modal([bk.section(f":hourglass_flowing_sand: {bk.escape(note)}")], submit=None)


def plan_view(
    draft: Draft,
    scope: Filter,
    ticked: Collection[str],
    *,
    title: str = "",
    reason: str = "",
    note: str = "",
) -> dict[str, Any]:
    """The form for ``draft``, its list narrowed by ``scope``, with ``ticked`` ticked."""
    blocks: list[bk.Block] = []
    if note:
        blocks.append(bk.section(f":information_source: {bk.escape(note)}", block_id="note"))
    if draft.editing is not None:
        blocks.append(
            bk.section(
                f"Editing window `{bk.escape(draft.editing)}`: move it, untick a task to take "
                "it out, tick one to add it. Earlier, longer or more tasks needs an approver "
                "again; the difference is shown once it is saved.",
                block_id="editing",
            )
        )
    else:
        blocks += [
            _text_input("title", "Title", title, "e.g. Database failover", optional=True),
            _text_input("reason", "Reason or change number", reason, "e.g. CHG0042", optional=True),
        ]
    blocks += [
        _text_input(
            f"{WINDOW}.{draft.when}",
            "When",
            draft.text,
            "e.g. Saturday 2-4am",
            dispatch=True,
            hint=_ENTER,
        ),
        bk.context(_echo(draft)),
        *_pickers(draft),
    ]
    blocks += _scope_inputs(draft, scope)
    tasks = shown(draft, scope)
    room = TASK_BLOCKS * TASKS_PER_BLOCK
    visible = tasks[:room]
    chosen = [t for t in visible if t.key in ticked]
    summary = f"*{len(tasks)}* task(s) match · *{len(chosen)}* ticked. " + (
        "Tasks the filter hides keep their place in the window."
        if draft.editing is not None
        else "What you submit is what is planned: the ticked tasks below, each once."
    )
    if len(tasks) > room:
        summary += f" {len(tasks) - room} more match; narrow the filter to see them."
    blocks.append(bk.context(summary))
    for warning in _unanswered(draft):
        blocks.append(bk.context(warning))
    if not visible:
        blocks.append(bk.section("_No task matches this scope; widen it._", block_id="empty"))
    for number, start in enumerate(range(0, len(visible), TASKS_PER_BLOCK)):
        chunk = visible[start : start + TASKS_PER_BLOCK]
        blocks.append(_task_block(draft, number, chunk, ticked, start, len(visible)))
    blocks.append(_overlap_box())
    editing = draft.editing is not None
    return _modal(
        blocks,
        submit="Save changes" if editing else "Ask for approval",
        title=EDIT_TITLE if editing else TITLE,
        metadata={"d": draft.id, "r": draft.revision},
    )


def _modal(
    blocks: Sequence[bk.Block],
    *,
    submit: str | None,
    title: str = TITLE,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": CALLBACK,
        "title": bk.plain(title, 24),
        "close": bk.plain("Cancel", 24),
        "blocks": list(blocks),
    }
    if submit is not None:
        view["submit"] = bk.plain(submit, 24)
    if metadata is not None:
        view["private_metadata"] = json.dumps(metadata, separators=(",", ":"))
    return bk.modal_view(view)


_ENTER = "Press Enter to read it again and see what collides."


def _text_input(
    block_id: str,
    label: str,
    initial: str,
    placeholder: str,
    *,
    optional: bool = False,
    dispatch: bool = False,
    hint: str = "",
) -> bk.Block:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": ActionId.DIALOG_INPUT.value,
        "placeholder": bk.plain(placeholder, bk.LIMITS.placeholder),
    }
    if initial:
        element["initial_value"] = initial[:3000]
    if dispatch:
        element["dispatch_action_config"] = {"trigger_actions_on": ["on_enter_pressed"]}
    block: bk.Block = {
        "type": "input",
        "block_id": block_id,
        "label": bk.plain(label, 2000),
        "element": element,
        "optional": optional,
    }
    if dispatch:
        block["dispatch_action"] = True
    if hint:
        block["hint"] = bk.plain(hint, 2000)
    return block


WINDOW, STARTS, ENDS = "window", "starts", "ends"


def _pickers(draft: Draft) -> list[bk.Block]:
    """The same window as dates and times (each person's own zone, as Slack shows them):
    picking both writes the window's text, which is then read as if typed."""
    window = draft.window()
    blocks = []
    for block, label, moment in (
        (STARTS, "Or pick the start", window.start if window else None),
        (ENDS, "and the end", window.end if window else None),
    ):
        element: dict[str, Any] = {
            "type": "datetimepicker",
            "action_id": ActionId.DIALOG_INPUT.value,
        }
        if moment is not None:
            element["initial_date_time"] = int(moment.timestamp())
        blocks.append(
            {
                "type": "input",
                "block_id": f"{block}.{draft.when}",
                "label": bk.plain(label, 2000),
                "element": element,
                "optional": True,
                "dispatch_action": True,
            }
        )
    return blocks


def picked_text(view: dict[str, Any], draft: Draft) -> str | None:
    """The window the date pickers say, as text the grammar reads in the draft's zone
    ("2026-11-21 02:00 to 2026-11-21 04:00"); ``None`` unless both are picked and the end
    is after the start."""
    values = (view.get("state") or {}).get("values") or {}
    moments = []
    for block in (STARTS, ENDS):
        raw = _value(values, f"{block}.{draft.when}").get("selected_date_time")
        if not isinstance(raw, int) or isinstance(raw, bool):
            return None
        moments.append(datetime.fromtimestamp(raw, UTC))
    start, end = moments
    if end <= start:
        return None
    found = lookup_zone(draft.tz)
    zone = found[0] if found is not None else UTC
    first, last = start.astimezone(zone), end.astimezone(zone)
    return f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M}"


def window_block(view: dict[str, Any]) -> str:
    """The block id of the view's window text (it changes as the window is read anew)."""
    for block in view.get("blocks") or []:
        block_id = str(block.get("block_id", ""))
        if block_id.split(".")[0] == WINDOW:
            return block_id
    return WINDOW


def _echo(draft: Draft) -> str:
    window = draft.window()
    if window is None:
        return f":warning: {bk.escape(draft.error or 'The window could not be read.')}"
    name = window_name(window.start, window.end, window.tz)
    return (
        f"Reads as *{bk.escape(name)}* ({length(window.end - window.start)}): "
        f"{bk.date_token(window.start)} – {bk.date_token(window.end)} in your zone."
    )


def _scope_inputs(draft: Draft, scope: Filter) -> list[bk.Block]:
    blocks: list[bk.Block] = []
    systems = [(s, s) for s in draft.systems]
    if systems:
        blocks.append(
            _multi_select(
                "systems",
                "Systems",
                [("", systems)],
                [s for s in draft.systems if s in scope.systems],
                "Every system",
            )
        )
    groups = _group_options(draft)
    if groups:
        chosen = [value for _label, options in groups for _text, value in options]
        wanted = {_group_value(draft, g) for g in scope.groups}
        blocks.append(
            _multi_select(
                "groups",
                "Groups (Talend workspaces, Huawei projects, …)",
                groups,
                [v for v in chosen if v in wanted],
                "Every group",
            )
        )
    blocks.append(
        _text_input(
            "name",
            "Name contains",
            scope.name,
            "e.g. nightly",
            optional=True,
            dispatch=True,
            hint="Press Enter to narrow the list.",
        )
    )
    return blocks


def _flat_groups(draft: Draft) -> list[tuple[str, str, str]]:
    return [
        (system, kind, value)
        for system, kinds in draft.groups().items()
        for kind, values in kinds.items()
        for value in values
    ]


def _group_value(draft: Draft, group: tuple[str, str, str]) -> str:
    flat = _flat_groups(draft)
    return f"g{flat.index(group)}" if group in flat else ""


def _group_options(draft: Draft) -> list[tuple[str, list[tuple[str, str]]]]:
    """Option groups, one per system: "workspace: Finance" → ``g<n>``."""
    by_system: dict[str, list[tuple[str, str]]] = {}
    for number, (system, kind, value) in enumerate(_flat_groups(draft)):
        by_system.setdefault(system, []).append((f"{kind}: {value}", f"g{number}"))
    return [(system, options[: bk.LIMITS.select_options]) for system, options in by_system.items()]


def _multi_select(
    block_id: str,
    label: str,
    groups: Sequence[tuple[str, Sequence[tuple[str, str]]]],
    initial: Sequence[str],
    placeholder: str,
) -> bk.Block:
    def option(text: str, value: str) -> dict[str, Any]:
        return {"text": bk.plain(text, bk.LIMITS.option_text), "value": value}

    element: dict[str, Any] = {
        "type": "multi_static_select",
        "action_id": ActionId.DIALOG_INPUT.value,
        "placeholder": bk.plain(placeholder, bk.LIMITS.placeholder),
    }
    options = {value: option(text, value) for _g, items in groups for text, value in items}
    if len(groups) == 1 and not groups[0][0]:
        element["options"] = [options[v] for _t, v in groups[0][1]]
    else:
        element["option_groups"] = [
            {
                "label": bk.plain(name, bk.LIMITS.option_text),
                "options": [options[v] for _t, v in items],
            }
            for name, items in groups[: bk.LIMITS.select_options]
        ]
    if initial:
        element["initial_options"] = [options[v] for v in initial if v in options]
    return {
        "type": "input",
        "block_id": block_id,
        "label": bk.plain(label, 2000),
        "element": element,
        "optional": True,
        "dispatch_action": True,
    }


def _unanswered(draft: Draft) -> list[str]:
    return [
        f":warning: *{bk.escape(system)}* did not answer ({bk.fit(error, 300)}); its tasks "
        "are not listed, so a window planned now leaves them running."
        for system, error in draft.unanswered
    ]


def _task_block(
    draft: Draft,
    number: int,
    chunk: Sequence[DraftTask],
    ticked: Collection[str],
    start: int,
    total: int,
) -> bk.Block:
    options = [_task_option(t, draft.tz) for t in chunk]
    element: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": ActionId.DIALOG_INPUT.value,
        "options": options,
    }
    initial = [o for o, t in zip(options, chunk, strict=True) if t.key in ticked]
    if initial:
        element["initial_options"] = initial
    label = (
        "Tasks"
        if total <= TASKS_PER_BLOCK
        else f"Tasks {start + 1}–{start + len(chunk)} of {total}"
    )
    return {
        "type": "input",
        "block_id": f"{_TASKS}{draft.revision}.{number}",
        "label": bk.plain(label, 2000),
        "element": element,
        "optional": True,
    }


OVERLAP_OK = "Plan it even though it overlaps"


def _overlap_box() -> bk.Block:
    """Ticked only by someone told the window overlaps another and fine with it."""
    return {
        "type": "input",
        "block_id": "overlap",
        "label": bk.plain("Other windows", 2000),
        "optional": True,
        "element": {
            "type": "checkboxes",
            "action_id": ActionId.DIALOG_INPUT.value,
            "options": [
                {
                    "text": bk.plain(OVERLAP_OK, bk.LIMITS.option_text),
                    "description": bk.plain(
                        "Only if another planned or active window at the same time is fine",
                        bk.LIMITS.option_text,
                    ),
                    "value": "overlap_ok",
                }
            ],
        },
    }


def _task_option(task: DraftTask, tz: str) -> dict[str, Any]:
    if task.paused:
        why = "already paused"
    elif task.conflict:
        why = _CONFLICT_WORDS.get(task.conflict, task.conflict)
        if task.at is not None and task.conflict == "starts_in_window":
            why += f" at {clock_time(datetime.fromisoformat(task.at), tz)}"
    else:
        why = "no run in the window"
    return {
        "text": bk.plain(task.name, bk.LIMITS.option_text),
        "description": bk.plain(f"{task.system} · {why}", bk.LIMITS.option_text),
        "value": task.key[: bk.LIMITS.option_value],
    }


def read_input(view: dict[str, Any], draft: Draft) -> DialogInput:
    """The form's current values, from the view Slack sent (``state.values``)."""
    values = (view.get("state") or {}).get("values") or {}

    def text(block_id: str) -> str:
        value = _value(values, block_id).get("value")
        return value.strip() if isinstance(value, str) else ""

    def picked(block_id: str) -> list[str]:
        options = _value(values, block_id).get("selected_options") or []
        return [str(o.get("value")) for o in options if isinstance(o, dict)]

    flat = _flat_groups(draft)
    groups = set()
    for value in picked("groups"):
        if value.startswith("g") and value[1:].isdecimal() and int(value[1:]) < len(flat):
            groups.add(flat[int(value[1:])])
    ticked = {
        value
        for block_id in values
        if block_id.startswith(f"{_TASKS}{draft.revision}.")
        for value in picked(block_id)
    }
    return DialogInput(
        title=text("title"),
        reason=text("reason"),
        text=text(f"{WINDOW}.{draft.when}"),
        scope=Filter(
            systems=frozenset(s for s in picked("systems") if s in draft.systems),
            groups=frozenset(groups),
            name=text("name"),
        ),
        ticked=frozenset(ticked),
        overlap_ok="overlap_ok" in picked("overlap"),
    )


def shown_keys(view: dict[str, Any]) -> set[str]:
    """The task keys the view offered (ticked or not)."""
    return {
        str(option.get("value"))
        for block in view.get("blocks") or []
        if str(block.get("block_id", "")).startswith(_TASKS)
        for option in (block.get("element") or {}).get("options") or []
    }


def first_task_block(view: dict[str, Any]) -> str:
    """Where an error about the ticks is shown: the first task block, else the window."""
    for block in view.get("blocks") or []:
        if str(block.get("block_id", "")).startswith(_TASKS):
            return str(block["block_id"])
    return window_block(view)


def _value(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    inner = values.get(block_id)
    if not isinstance(inner, dict) or not inner:
        return {}
    found = next(iter(inner.values()))
    return found if isinstance(found, dict) else {}
