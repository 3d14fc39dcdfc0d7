"""Sample data of the Talend simulator: environments, workspaces, tasks and plans with
recurring schedules, seeded and deterministic.

Schedules are fixed UTC recurrences (``period``, ``phase``) measured from a Monday 00:00 UTC
epoch, so every occurrence is plain integer arithmetic and the answer for any range does not
depend on when the simulator started. What does depend on the simulator's clock is history:
which runs have finished, which are running, and which were rejected while paused.

Scale 1 is a few dozen executables chosen so that any two-hour window, in any zone, has runs
starting in it (minute and hourly tasks), runs that started before it and may still be going
(three staggered two-hourly reloads that take about 1h40), tasks already paused by someone
else, and runs in progress now (a stuck manual backfill with no history, a run still being
dispatched). ``scale`` N adds (N - 1) / 2 tasks that run every minute: scale 100 puts about
6,100 runs in any two-hour window while distinct tasks stay near 80, so the per-task
lookups a check needs stay bounded however dense the schedule.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "EPOCH_MS",
    "Environment",
    "Executable",
    "ManualRun",
    "PriorPause",
    "Schedule",
    "Workspace",
    "catalogue",
    "daily",
    "every",
    "every_hours",
    "extra_tasks",
    "hourly",
    "stable_id",
    "weekly",
]

# Monday 1970-01-05 00:00 UTC: weekly phases count from a Monday.
EPOCH_MS = 4 * 86_400_000
_MINUTE = 60_000
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
_WEEK = 7 * _DAY

Kind = Literal["TASK", "PLAN"]


@dataclass(frozen=True)
class Schedule:
    """Fires at ``EPOCH_MS + phase + k * period`` for every integer k (milliseconds)."""

    period: int
    phase: int
    text: str

    def occurrences(self, start_ms: int, end_ms: int) -> range:
        """Fire times in ``[start_ms, end_ms)``, ascending, as a lazy range."""
        base = EPOCH_MS + self.phase
        k = -((base - start_ms) // self.period)  # ceil((start - base) / period)
        first = base + k * self.period
        return range(first, max(first, end_ms), self.period)


def every(minutes: int, offset: int = 0) -> Schedule:
    return Schedule(minutes * _MINUTE, offset * _MINUTE, f"every {minutes} min")


def hourly(minute: int) -> Schedule:
    return Schedule(_HOUR, minute * _MINUTE, f"hourly at :{minute:02d}")


def every_hours(hours: int, hour: int, minute: int) -> Schedule:
    return Schedule(
        hours * _HOUR,
        hour * _HOUR + minute * _MINUTE,
        f"every {hours}h from {hour:02d}:{minute:02d}",
    )


def daily(hour: int, minute: int = 0) -> Schedule:
    return Schedule(_DAY, hour * _HOUR + minute * _MINUTE, f"daily {hour:02d}:{minute:02d} UTC")


def weekly(weekday: int, hour: int, minute: int = 0) -> Schedule:
    """``weekday`` 0 = Monday … 6 = Sunday."""
    names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    return Schedule(
        _WEEK,
        weekday * _DAY + hour * _HOUR + minute * _MINUTE,
        f"weekly {names[weekday]} {hour:02d}:{minute:02d} UTC",
    )


@dataclass(frozen=True)
class PriorPause:
    """A pause someone else set before the simulator started, ``ago`` ms before it."""

    user: str
    user_type: Literal["HUMAN", "SERVICE"]
    context: str
    ago: int


@dataclass(frozen=True)
class ManualRun:
    """A manual run in progress when the simulator starts (not from a schedule)."""

    status: Literal["executing", "dispatching"]
    started_ago: int


@dataclass(frozen=True)
class Environment:
    id: str
    name: str
    default: bool


@dataclass(frozen=True)
class Workspace:
    id: str
    name: str
    environment_id: str
    type: Literal["shared", "personal", "custom"] = "shared"


@dataclass(frozen=True)
class Executable:
    id: str
    name: str
    kind: Kind
    workspace_id: str
    schedule: Schedule | None
    duration: int  # typical run length, ms
    paused: PriorPause | None = None
    manual: ManualRun | None = None
    history: bool = True  # False: no finished runs on record (a first-ever run)


def stable_id(seed: int, name: str) -> str:
    """A 24-hex id (Talend ids look like MongoDB ObjectIds), stable for a seed and name."""
    return hashlib.sha1(f"{seed}:{name}".encode()).hexdigest()[:24]


_Spec = tuple[str, str, Schedule | None, int]  # name, workspace key, schedule, minutes

_TASKS: tuple[_Spec, ...] = (
    ("kafka_offsets_checkpoint", "platform", every(5), 1),
    ("iot_sensor_ingest", "platform", every(5, 2), 2),
    ("clickstream_sessionizer", "platform", every(5, 4), 2),
    ("crm_contacts_incremental_sync", "crm", every(10, 3), 3),
    ("orders_to_dwh_microbatch", "finance", every(15), 6),
    ("inventory_snapshot", "platform", every(15, 7), 2),
    ("payment_reconciliation_feed", "finance", every(20, 5), 4),
    ("web_analytics_ingest", "crm", every(30, 12), 12),
    ("hourly_revenue_rollup", "finance", hourly(0), 8),
    ("sap_material_master_sync", "finance", hourly(5), 14),
    ("log_archive_to_s3", "platform", hourly(20), 3),
    ("salesforce_opportunity_export", "crm", hourly(30), 5),
    ("customer_360_refresh", "crm", hourly(45), 22),
    # Staggered 40 min apart and lasting ~1h40, so some reload is always under way and one
    # started before any window opens: may_overlap in every zone.
    ("dwh_full_reload_emea", "platform", every_hours(2, 0, 15), 100),
    ("dwh_full_reload_amer", "platform", every_hours(2, 0, 55), 100),
    ("dwh_full_reload_apac", "platform", every_hours(2, 1, 35), 100),
    ("gdpr_erasure_batch", "platform", every_hours(4, 0, 10), 25),
    ("ml_feature_store_refresh", "platform", every_hours(6, 0, 40), 50),
    ("finance_daily_close", "finance", daily(0, 30), 120),
    ("nightly_backup_export", "platform", daily(2, 0), 45),
    ("dwh_index_rebuild", "platform", daily(3, 15), 30),
    ("daily_kpi_mail", "crm", daily(6, 0), 4),
    ("midday_stock_update", "finance", daily(12, 0), 10),
    ("eod_sales_report", "crm", daily(18, 30), 15),
    ("hr_payroll_extract", "finance", daily(22, 0), 35),
    ("weekly_cube_rebuild", "finance", weekly(5, 2, 30), 180),
    ("weekly_archive_purge", "platform", weekly(5, 1, 0), 40),
    ("weekly_data_quality_audit", "platform", weekly(6, 4, 0), 60),
    ("weekly_partner_invoices", "finance", weekly(0, 5, 0), 25),
    ("supplier_catalog_sync", "crm", every_hours(3, 1, 50), 20),
    ("currency_rates_refresh", "finance", every(30, 1), 1),
    ("adhoc_data_fix", "platform", None, 10),
    ("dwh_backfill_2019", "platform", None, 600),
    ("customer_merge_tool", "crm", None, 15),
    ("legacy_ftp_import", "finance", None, 20),
)

_PLANS: tuple[_Spec, ...] = (
    ("Nightly DWH plan", "platform", daily(1, 0), 110),
    ("Hourly marketing plan", "crm", hourly(10), 15),
    ("Weekly finance plan", "finance", weekly(5, 3, 0), 90),
    ("Quarter-end plan", "finance", None, 240),
)

_DEV_TASKS: tuple[_Spec, ...] = (
    ("dev_smoke_test", "sandbox", every(30), 2),
    ("dev_orders_pipeline", "sandbox", hourly(15), 9),
)

_PRIOR_PAUSES: dict[str, PriorPause] = {
    "inventory_snapshot": PriorPause(
        "jane.doe@example.com", "HUMAN", "Supplier API migration (CHG-4821)", 2 * _DAY
    ),
    "log_archive_to_s3": PriorPause(
        "svc-ops-automation", "SERVICE", "Archive bucket migration", 5 * _HOUR
    ),
    "legacy_ftp_import": PriorPause(
        "mark.lee@example.com", "HUMAN", "FTP server decommissioned", 30 * _DAY
    ),
    "Weekly finance plan": PriorPause(
        "alex.murphy@example.com", "HUMAN", "Quarter-end freeze", 3 * _DAY
    ),
}

_MANUAL: dict[str, ManualRun] = {
    "dwh_backfill_2019": ManualRun("executing", 2 * _HOUR + 13 * _MINUTE),
    "customer_merge_tool": ManualRun("dispatching", 45_000),
}

_NO_HISTORY = {"dwh_backfill_2019", "customer_merge_tool"}

_DOMAINS = ("sales", "billing", "logistics", "marketing", "support", "risk", "hr", "iot")
_OBJECTS = ("orders", "events", "accounts", "tickets", "shipments", "leads", "metrics")
_VERBS = ("sync", "ingest", "export", "rollup", "dedupe", "enrich")


def extra_tasks(scale: int) -> int:
    """Every-minute tasks added for ``scale``: 120 runs each in a two-hour window."""
    return (max(1, scale) - 1 + 1) // 2


def catalogue(seed: int, scale: int) -> tuple[list[Environment], list[Workspace], list[Executable]]:
    """The sample environments, workspaces and executables for ``seed`` and ``scale``."""
    prod = Environment(stable_id(seed, "env:production"), "Production", True)
    dev = Environment(stable_id(seed, "env:development"), "Development", False)
    workspaces = {
        key: Workspace(stable_id(seed, f"ws:{key}"), name, env.id)
        for key, name, env in (
            ("platform", "Data Platform", prod),
            ("finance", "Finance", prod),
            ("crm", "Sales & CRM", prod),
            ("sandbox", "Sandbox", dev),
        )
    }
    executables: list[Executable] = []

    def add(spec: _Spec, kind: Kind) -> None:
        name, ws, schedule, minutes = spec
        executables.append(
            Executable(
                id=stable_id(seed, f"{kind}:{name}"),
                name=name,
                kind=kind,
                workspace_id=workspaces[ws].id,
                schedule=schedule,
                duration=minutes * _MINUTE,
                paused=_PRIOR_PAUSES.get(name),
                manual=_MANUAL.get(name),
                history=name not in _NO_HISTORY,
            )
        )

    for spec in _TASKS + _DEV_TASKS:
        add(spec, "TASK")
    for spec in _PLANS:
        add(spec, "PLAN")

    prod_keys = ("platform", "finance", "crm")
    for n in range(extra_tasks(scale)):
        name = (
            f"{_DOMAINS[n % len(_DOMAINS)]}_{_OBJECTS[n % len(_OBJECTS)]}_"
            f"{_VERBS[n % len(_VERBS)]}_{n:04d}"
        )
        paused = (
            PriorPause("jane.doe@example.com", "HUMAN", "Upstream outage", 6 * _HOUR)
            if n % 20 == 19
            else None
        )
        executables.append(
            Executable(
                id=stable_id(seed, f"TASK:{name}"),
                name=name,
                kind="TASK",
                workspace_id=workspaces[prod_keys[n % 3]].id,
                schedule=every(1),
                # Well under the period, so runs of one task never overlap.
                duration=(20 + 5 * (n % 6)) * 1000,
                paused=paused,
            )
        )
    return [prod, dev], list(workspaces.values()), executables
