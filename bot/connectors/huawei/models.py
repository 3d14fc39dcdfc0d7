"""What both API families share: the IAM actions, the response shapes (strict about every
field the connector reads) and the normalised list entry and run."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    Field,
    StrictBool,
    StrictStr,
    create_model,
)

from bot.connectors.shapes import (
    IdOrNumber,
    OptCount,
    StrictModel,
    VendorId,
    optional,
)
from bot.model import TaskRef
from bot.schedule_rules import (
    RuleError,
    parse_vendor_time,
)

__all__ = [
    "ACTION_GET",
    "ACTION_LIST",
    "ACTION_RECORDS",
    "ACTION_UPDATE",
    "AppItem",
    "AppShow",
    "DesktopItem",
    "DesktopShow",
    "Entry",
    "Execution",
    "FutureExecutions",
    "History",
    "Listing",
    "M",
    "PastRun",
    "Record",
    "ScheduleFields",
    "page_model",
    "whole_number",
]

M = TypeVar("M", bound=BaseModel)

ACTION_LIST = "workspace:scheduledTasks:list"
ACTION_GET = "workspace:scheduledTasks:get"
ACTION_UPDATE = "workspace:scheduledTasks:update"
ACTION_RECORDS = "workspace:scheduledTasks:listRecords"


# -- response shapes --------------------------------------------------------------------------
# Strict about every field the connector reads: a list key that is missing, or a field whose
# type changed, is a malformed answer (an error for this system naming the field), never "no
# tasks" or a task read as something else. Counts may be digit strings (the simulator's
# ``string_numbers`` reading of the SDK's integers); run ids may be numbers. Values of the
# right type that the rules cannot use (an unknown zone, a week day 9) are judged by
# bot.schedule_rules and make that one schedule "not understood", reported as may-fire.

_TIME_RULE = "expected a time (ISO 8601, yyyy-MM-dd HH:mm:ss or epoch ms) in 1970-2200"


def _vendor_time(value: object) -> object:
    """A time field checked readable and in range; kept as sent, because the zone it is read
    in (the task's) is applied where it is used."""
    if isinstance(value, bool) or not isinstance(value, str | int) or len(str(value)) > 64:
        raise ValueError(_TIME_RULE)
    try:
        parse_vendor_time(value, UTC)
    except RuleError:
        raise ValueError(_TIME_RULE) from None
    return value


def _list_field(value: object) -> object:
    """``week_list``/``month_list``/``date_list``: a comma list, one number, or a JSON list of
    them (bot.schedule_rules reads all three); nothing else."""
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in items):
        raise ValueError("expected a comma-separated list")
    return value


VendorTime = Annotated[str | int | None, BeforeValidator(optional(_vendor_time))]
ListField = Annotated[Any, BeforeValidator(optional(_list_field))]


class ScheduleFields(StrictModel):
    """The fields bot.schedule_rules expands, type-checked (the values are judged there)."""

    scheduled_type: StrictStr | None = None
    scheduled_time: StrictStr | None = None
    scheduled_date: StrictStr | None = None
    day_interval: OptCount = None
    week_list: ListField = None
    month_list: ListField = None
    date_list: ListField = None
    time_zone: StrictStr | None = None
    expire_time: VendorTime = None


class AppItem(ScheduleFields):
    """A 4A list item; it carries the schedule fields too, and they are expanded from it."""

    id: VendorId
    task_name: StrictStr = ""
    task_type: StrictStr | None = None
    last_status: StrictStr | None = None
    next_execution_time: VendorTime = None
    is_enable: StrictBool | None = None


class DesktopItem(StrictModel):
    id: VendorId
    task_name: StrictStr = ""
    task_type: StrictStr | None = None
    scheduled_type: StrictStr | None = None
    life_cycle_type: StrictStr | None = None
    last_status: StrictStr | None = None
    next_execution_time: VendorTime = None
    time_zone: StrictStr | None = None
    enable: StrictBool | None = None


class AppShow(ScheduleFields):
    task_name: StrictStr | None = None
    is_enable: StrictBool | None = None


class DesktopShow(ScheduleFields):
    task_name: StrictStr | None = None
    life_cycle_type: StrictStr | None = None


class Execution(StrictModel):
    """One 4A execute-history item (``excuting_count`` is misspelt in the SDK model)."""

    id: IdOrNumber
    status: StrictStr | None = None
    begin_time: VendorTime = None
    end_time: VendorTime = None
    create_time: VendorTime = None
    executing_count: OptCount = Field(
        default=None, validation_alias=AliasChoices("excuting_count", "executing_count")
    )


class Record(StrictModel):
    """One 4B run record."""

    id: IdOrNumber
    start_time: VendorTime = None
    status: StrictStr | None = None
    skip_num: OptCount = None


class FutureExecutions(StrictModel):
    future_executions: list[StrictStr]
    time_zone: StrictStr | None = None


@functools.cache
def page_model(items_key: str, total_key: str, item: type[BaseModel]) -> type[BaseModel]:
    """One page of a listing: the list under its documented key (required: a page without it
    is malformed, never empty) and the total, which may be absent but is a count if there."""
    rows: Any = list[item]  # type: ignore[valid-type]  # built at run time, per item model
    fields: dict[str, Any] = {items_key: (rows, ...), total_key: (OptCount, None)}
    return create_model(f"{item.__name__}Page", __base__=StrictModel, **fields)


@dataclass(frozen=True)
class Listing(Generic[M]):
    """One paged listing of a family, as data: the item model, the key of the list and of
    the total in a page, the page limit the API allows, and the IAM action it needs."""

    model: type[M]
    items_key: str
    total_key: str
    limit: int
    action: str


@dataclass(frozen=True)
class History(Generic[M]):
    """A family's run history of one task: the listing, its path under the task, what the
    newest-page read is called in errors, and the raw start of an item (for ordering)."""

    listing: Listing[M]
    path: str
    what: str
    started: Callable[[M], object]


@dataclass(frozen=True)
class Entry:
    """A task as its family's list endpoint reported it, with the raw item kept."""

    ref: TaskRef
    name: str
    enabled: bool | None
    last_status: str | None
    next_execution: Any
    zone_name: str | None
    scheduled_type: str | None
    raw: dict[str, Any]
    task_type: str | None = None

    @property
    def active(self) -> bool:
        # An item without the flag is treated as enabled: it may fire, so it is reported.
        return self.enabled is not False


@dataclass(frozen=True)
class PastRun:
    """A past run of either family, normalised."""

    id: str
    status: str
    started: datetime | None
    ended: datetime | None
    skip_num: int | None = None


def whole_number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None
