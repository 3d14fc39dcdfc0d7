""":class:`HuaweiConnector`: both families behind the Connector interface; schedules expanded
by bot.schedule_rules, running-now, pause/resume and skipped runs.

Between checks (``cache_seconds``): the list pages are read at every check (4A's
``last_status`` decides whose run history says what is running now, and a new task must
be seen), and so are the run records behind running-now. A desktop task's show (its
schedule) and an app task's recent runs (its p90) are reused while younger than the bound
and while the task's list row is exactly as when they were read; a pause or resume made
here drops them. The floor is the list pages plus one record read per desktop task and
per app task whose ``last_status`` says it may be running."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar

import httpx

from bot.clock import utc
from bot.conflicts import estimate_duration
from bot.connectors.base import (
    Authenticator,
    Setup,
    SkippedRun,
    connector_factory,
    gather_all,
    gather_bounded,
)
from bot.connectors.huawei.app import APP_IN_PROGRESS, AppTasks
from bot.connectors.huawei.auth import HuaweiAkSkAuth, HuaweiIamAuth
from bot.connectors.huawei.config import HuaweiConfig
from bot.connectors.huawei.desktop import DESKTOP_IN_PROGRESS, DesktopTasks
from bot.connectors.huawei.models import (
    ACTION_GET,
    ACTION_LIST,
    ACTION_UPDATE,
    AppShow,
    DesktopShow,
    Entry,
    FutureExecutions,
    PastRun,
    ScheduleFields,
    whole_number,
)
from bot.connectors.shapes import (
    url_id,
)
from bot.errors import ConnectorError
from bot.model import Run, RunningNow, Task, TaskKind, TaskRef
from bot.schedule_rules import (
    RuleError,
    Schedule,
    parse_schedule,
    parse_vendor_time,
)

log = logging.getLogger(__name__)

__all__ = ["HuaweiConnector", "from_config"]

# A zone-less time read at the easternmost offset gives the earliest instant it could mean.
_EARLIEST_ZONE = timezone(timedelta(hours=14))
# A run recorded this close to a scheduled instant is that instant's run.
MATCH_BEFORE = timedelta(minutes=5)
MATCH_AFTER = timedelta(hours=1)
# How long one listing serves a check's reads (see HuaweiConnector._entries).
LISTING_REUSE_SECONDS = 5.0
# Vendor next_execution_time within this of an expanded instant is the same run.
SAME_RUN = timedelta(seconds=60)


class HuaweiConnector(AppTasks, DesktopTasks):
    """One Huawei project's scheduled tasks (the families listed in ``families``)."""

    vendor: ClassVar[str] = "huawei"
    label: ClassVar[str] = "Huawei Cloud Workspace"
    reports_skipped_runs: ClassVar[bool] = True

    _listing: asyncio.Task[list[Entry]] | None = None
    _listed_at = 0.0

    async def _entries(self, *, reuse: bool = False) -> list[Entry]:
        """Both families' lists, shared by a check's reads: upcoming_runs and running_now
        run concurrently, so the second joins the first's read; describe right after them
        (``reuse``) takes the finished one if younger than :data:`LISTING_REUSE_SECONDS`.
        What is running comes from run histories, always read; read_state, pause and
        resume list afresh, and a change made here drops it."""
        listing = self._listing
        failed = (
            listing is not None
            and listing.done()
            and (listing.cancelled() or listing.exception() is not None)
        )
        stale = not reuse or time.monotonic() - self._listed_at >= LISTING_REUSE_SECONDS
        if listing is None or failed or (listing.done() and stale):
            listing = self._listing = asyncio.ensure_future(self._read_entries())
        # Not shielded: when the check's deadline cancels its callers, the read stops too.
        return await listing

    async def _read_entries(self) -> list[Entry]:
        app, desktop = await gather_all(self._app_entries(), self._desktop_entries())
        self._listed_at = time.monotonic()
        return [*app, *desktop]

    def _groups(self, task_type: str | None) -> tuple[tuple[str, str], ...]:
        """Huawei's groupings of a task: its ``task_type`` (list item) and its project."""
        found = [("task type", task_type)] if task_type else []
        return (*found, ("project", self.project_label))

    def _task(self, entry: Entry) -> Task:
        flag = "is_enable" if entry.ref.kind is TaskKind.APP_TASK else "enable"
        state = "unknown" if entry.enabled is None else str(entry.enabled).lower()
        return Task(
            system=self.system,
            kind=entry.ref.kind,
            id=entry.ref.id,
            name=entry.name,
            paused=not entry.active,
            vendor_state=f"{flag}={state}",
            groups=self._groups(entry.task_type),
        )

    async def list_tasks(self) -> list[Task]:
        return [self._task(e) for e in await self._entries()]

    async def describe(self, refs: Sequence[TaskRef]) -> list[Task]:
        wanted = {r.key for r in refs}
        return [self._task(e) for e in await self._entries(reuse=True) if e.ref.key in wanted]

    # -- schedules --------------------------------------------------------------------------
    def _schedule(self, kind: TaskKind, fields: Mapping[str, Any]) -> Schedule:
        return parse_schedule(fields, naive_expire_in_utc=kind is TaskKind.APP_TASK)

    async def _show(self, ref: TaskRef) -> dict[str, Any]:
        """The task's show body; a 404 is reported as the task no longer existing."""
        self._check_kind(ref)
        task_id = url_id(self.system, ref.kind.value, ref.id)
        model: type[ScheduleFields]
        if ref.kind is TaskKind.APP_TASK:
            url, what = f"{self.app_url}/{task_id}", "show app task (GET /v1/…/schedule-task/{id})"
            model = AppShow
        else:
            url = f"{self.desktop_url}/{task_id}"
            what = "show desktop task (GET /v2/…/scheduled-tasks/{id})"
            model = DesktopShow
        try:
            response = await self._send("GET", url, action=ACTION_GET, what=what)
        except ConnectorError as exc:
            if exc.status == 404:
                raise ConnectorError(
                    self.system,
                    f"{ref.kind.value} {ref.id} no longer exists in project {self.project_id} "
                    "(404); it may have been deleted in the Huawei console",
                    status=404,
                ) from None
            raise
        show = self._object(response, what)
        # Checked, then returned whole: the desktop update sends the definition back as is.
        self._validate(model, show, what)
        return show

    async def _show_or_none(self, ref: TaskRef) -> dict[str, Any] | None:
        try:
            return await self._show(ref)
        except ConnectorError as exc:
            if exc.status == 404:
                return None  # deleted since it was listed: it will not fire
            raise

    async def schedule(self, ref: TaskRef) -> Schedule:
        """The task's schedule as maintbot reads it (raises ConnectorError if unreadable)."""
        try:
            return self._schedule(ref.kind, await self._show(ref))
        except RuleError as exc:
            raise self.http.error(f"{ref.kind.value} {ref.id}: {exc}") from None

    async def vendor_future_executions(self, ref: TaskRef) -> list[datetime]:
        """Huawei's own answer (``POST …/future-executions``) for the task's schedule."""
        show = await self._show(ref)
        body = {
            k: show[k]
            for k in (
                "scheduled_type",
                "scheduled_time",
                "day_interval",
                "week_list",
                "month_list",
                "date_list",
                "scheduled_date",
                "time_zone",
                "expire_time",
            )
            if show.get(k) not in (None, "")
        }
        if "day_interval" in body:
            body["day_interval"] = whole_number(body["day_interval"]) or body["day_interval"]
        url = (
            f"{self.app_url}/future-executions"
            if ref.kind is TaskKind.APP_TASK
            else f"{self.desktop_url}/future-executions"
        )
        what = "future-executions (POST …/future-executions)"
        response = await self._send("POST", url, json_body=body, action=ACTION_LIST, what=what)
        data = self._validate(FutureExecutions, self._object(response, what), what)
        times = data.future_executions
        zone_name = data.time_zone or body.get("time_zone")
        zone = self._zone(zone_name if isinstance(zone_name, str) else None)
        if zone is None:
            raise self.http.error(f"{what}: time_zone {zone_name!r} is not a zone maintbot knows")
        found = [self._time(t, zone, what) for t in times]
        return sorted(t for t in found if t is not None)

    async def next_executions(self) -> dict[str, datetime | None]:
        """Huawei's ``next_execution_time`` of every listed task, as maintbot reads it
        (``TaskRef.key`` → instant, ``None`` where absent or unreadable)."""
        return {e.ref.key: self._next_execution(e) for e in await self._entries()}

    def _next_execution(self, entry: Entry) -> datetime | None:
        zone = self._zone(entry.zone_name)
        if zone is None:
            return None
        try:
            return parse_vendor_time(entry.next_execution, zone)
        except RuleError:
            return None

    def _nothing_before(self, entry: Entry, start: datetime, end: datetime) -> bool:
        """Whether the listed ``next_execution_time`` already proves the task has no run in
        ``[start, end)`` — then its 4B show need not be fetched. Only for an enabled task,
        a range that starts now or later, and a next time that is still ahead; a zone-less
        time is read at UTC+14, the earliest instant it could be."""
        if entry.enabled is not True or entry.next_execution in (None, ""):
            return False
        now = self.clock()
        if start < now - timedelta(seconds=1):
            return False
        try:
            earliest = parse_vendor_time(entry.next_execution, _EARLIEST_ZONE)
        except RuleError:
            return False
        return earliest is not None and earliest > now and earliest >= end

    # -- history ----------------------------------------------------------------------------

    async def _runs(self, ref: TaskRef) -> list[PastRun]:
        if ref.kind is TaskKind.APP_TASK:
            return await self._app_runs(ref)
        return await self._desktop_runs(ref)

    @staticmethod
    def _p90(runs: Sequence[PastRun]) -> timedelta | None:
        return estimate_duration(
            r.ended - r.started for r in runs if r.started is not None and r.ended is not None
        )

    # -- the Connector interface ------------------------------------------------------------
    async def upcoming_runs(
        self, start: datetime, end: datetime, *, durations_before: datetime | None = None
    ) -> list[Run]:
        start, end = utc(start), utc(end)
        entries = await self._entries()
        scheduled = [e for e in entries if e.scheduled_type != "LIFE_CYCLE"]

        # 4B list items carry no schedule fields: fetch the show of every desktop task that
        # may fire in the range.
        desktop = [
            e
            for e in scheduled
            if e.ref.kind is TaskKind.DESKTOP_TASK and not self._nothing_before(e, start, end)
        ]
        shows = await gather_bounded(self.concurrency, (self._cached_show(e) for e in desktop))
        fields: dict[str, Mapping[str, Any] | None] = {
            e.ref.key: e.raw for e in scheduled if e.ref.kind is TaskKind.APP_TASK
        }
        fields.update({e.ref.key: show for e, show in zip(desktop, shows, strict=True)})

        planned: dict[str, tuple[Entry, list[datetime], str | None]] = {}
        runs: list[Run] = []
        for entry in entries:
            if entry.scheduled_type == "LIFE_CYCLE":
                if entry.active:
                    life = entry.raw.get("life_cycle_type") or "a desktop event"
                    runs.append(
                        Run(
                            task=entry.ref,
                            at=None,
                            note=f"fires on {life}, not on a clock",
                        )
                    )
                continue
            if entry.ref.key not in fields:
                continue  # proven not to fire in the range
            source = fields[entry.ref.key]
            if source is None:
                continue  # deleted since it was listed
            instants, problem = self._expand(entry, source, start, end)
            if instants or problem:
                planned[entry.ref.key] = (entry, instants, problem)

        # Durations from 4A history; 4B records have no end time.
        with_history = [
            e for e, instants, _ in planned.values() if instants and e.ref.kind is TaskKind.APP_TASK
        ]
        histories = await gather_bounded(
            self.concurrency, (self._cached_history(e) for e in with_history)
        )
        durations = {e.ref.key: self._p90(h) for e, h in zip(with_history, histories, strict=True)}

        for entry, instants, problem in planned.values():
            note = None if entry.active else "disabled in Huawei; would run here if re-enabled"
            if problem is not None and entry.active:
                runs.append(
                    Run(
                        task=entry.ref,
                        at=None,
                        note=f"schedule not understood ({problem}); it may fire at any time",
                    )
                )
            expected = durations.get(entry.ref.key)
            runs.extend(
                Run(task=entry.ref, at=at, expected_duration=expected, note=note) for at in instants
            )
        return runs

    async def _cached_show(self, entry: Entry) -> dict[str, Any] | None:
        """A desktop task's definition, reused between checks while younger than
        cache_seconds and while its list row (read afresh every check) is unchanged: an
        edited schedule changes the row's ``next_execution_time``, a rename its name, a
        pause its flag. A 404 drops it."""
        key = ("show", entry.ref.key)
        show = self.cache.get(key, _fingerprint(entry))
        if show is None:
            show = await self._show_or_none(entry.ref)
            if show is None:
                self.cache.drop(key)
            else:
                self.cache.put(key, show, _fingerprint(entry))
        return show  # type: ignore[no-any-return]

    async def _cached_history(self, entry: Entry) -> list[PastRun]:
        """An app task's recent runs for its p90, reused on the same terms as a show: a run
        that starts or ends moves the row's ``last_status`` or ``next_execution_time``.
        Never used for what is running now (running_now reads histories live)."""
        key = ("history", entry.ref.key)
        runs = self.cache.get(key, _fingerprint(entry))
        if runs is None:
            runs = await self._app_runs(entry.ref)
            self.cache.put(key, runs, _fingerprint(entry))
        return runs  # type: ignore[no-any-return]

    def _expand(
        self,
        entry: Entry,
        fields: Mapping[str, Any],
        start: datetime,
        end: datetime,
    ) -> tuple[list[datetime], str | None]:
        """Instants in ``[start, end)`` from the schedule, plus the vendor's
        ``next_execution_time`` when the expansion missed it; and why the schedule could not
        be read, if it could not."""
        problem = None
        try:
            instants = self._schedule(entry.ref.kind, fields).occurrences(start, end)
        except RuleError as exc:
            instants, problem = [], str(exc)
        vendor_next = self._next_execution(entry) if entry.active else None
        if (
            vendor_next is not None
            and start <= vendor_next < end
            and all(abs(vendor_next - at) > SAME_RUN for at in instants)
        ):
            log.warning(
                "%s: Huawei's next_execution_time %s for %s was not predicted from its "
                "schedule; reporting it as well",
                self.system,
                vendor_next.isoformat(),
                entry.ref.key,
            )
            instants = sorted([*instants, vendor_next])
        return instants, problem

    async def running_now(self) -> list[RunningNow]:
        entries = await self._entries()
        # 4A last_status says whether the newest run is still going [SEEN enum]; 4B's has
        # no in-progress value, so every desktop task's records are read.
        candidates = [
            e
            for e in entries
            if e.ref.kind is TaskKind.DESKTOP_TASK
            or e.last_status is None
            or e.last_status.upper() in APP_IN_PROGRESS
        ]
        histories = await gather_bounded(self.concurrency, (self._runs(e.ref) for e in candidates))
        found = []
        for entry, runs in zip(candidates, histories, strict=True):
            in_progress = (
                APP_IN_PROGRESS if entry.ref.kind is TaskKind.APP_TASK else (DESKTOP_IN_PROGRESS)
            )
            going = [r for r in runs if r.status in in_progress]
            if not going:
                continue
            latest = max(going, key=lambda r: r.started or datetime.min.replace(tzinfo=UTC))
            # A WAITING run has not begun, so when it will end is unknown, not p90 from now.
            waiting = latest.status == "WAITING"
            found.append(
                RunningNow(
                    task=entry.ref,
                    started_at=latest.started,
                    expected_duration=None if waiting else self._p90(runs),
                    execution_id=latest.id,
                )
            )
        return found

    def _check_kind(self, ref: TaskRef) -> None:
        if ref.kind not in (TaskKind.APP_TASK, TaskKind.DESKTOP_TASK):
            raise ConnectorError(
                self.system, f"{ref.kind.value} {ref.id} is not a Huawei scheduled task"
            )

    async def _state(self, ref: TaskRef) -> tuple[Task, dict[str, Any], Entry | None]:
        """The task now: its show body, and its list entry (where the flag is read)."""
        show = await self._show(ref)
        name = str(show.get("task_name") or "")
        life_cycle = show.get("scheduled_type") == "LIFE_CYCLE"

        async def lookup(by_name: str | None) -> Entry | None:
            if ref.kind is TaskKind.APP_TASK:
                entries = await self._app_entries(by_name)
            else:
                entries = await self._desktop_entries(by_name, life_cycle=life_cycle)
            return next((e for e in entries if e.ref.id == ref.id), None)

        # The name filter is a fuzzy match and names can change, so the id decides, and the
        # whole list is the fallback.
        entry = await lookup(name) if name else None
        if entry is None:
            entry = await lookup(None)
        if entry is not None and entry.enabled is not None:
            enabled = entry.enabled
        elif ref.kind is TaskKind.APP_TASK and isinstance(show.get("is_enable"), bool):
            enabled = show["is_enable"]
        else:
            raise self.http.error(
                f"{ref.kind.value} {ref.id} is missing from the task list, so its enabled "
                "state cannot be read; try again, or check it in the Huawei console"
            )
        flag = "is_enable" if ref.kind is TaskKind.APP_TASK else "enable"
        task = Task(
            system=self.system,
            kind=ref.kind,
            id=ref.id,
            name=name or (entry.name if entry else ref.id),
            paused=not enabled,
            vendor_state=f"{flag}={str(enabled).lower()}",
            groups=self._groups(entry.task_type if entry else None),
        )
        return task, show, entry

    async def read_state(self, ref: TaskRef) -> Task:
        task, _, _ = await self._state(ref)
        return task

    async def pause(self, ref: TaskRef, reason: str) -> bool:
        return await self._set_enabled(ref, False)

    async def resume(self, ref: TaskRef, prior: Task | None = None) -> bool:
        if prior is not None and prior.paused:
            # Disabled before maintbot touched it: someone else's pause is theirs to lift.
            return False
        return await self._set_enabled(ref, True)

    async def _set_enabled(self, ref: TaskRef, enabled: bool) -> bool:
        self._listing = None  # its enabled flags are about to be out of date
        self.cache.drop(("show", ref.key))
        self.cache.drop(("history", ref.key))
        task, show, entry = await self._state(ref)
        if task.paused != enabled:
            return False  # already as wanted; nothing sent
        if ref.kind is TaskKind.APP_TASK:
            flag, method, url = "is_enable", "PATCH", f"{self.app_url}/{ref.id}"
            body: dict[str, Any] = {"is_enable": enabled}
            what = f"{'resume' if enabled else 'pause'} app task (PATCH /v1/…/schedule-task/{{id}})"
        else:
            flag, method, url = "enable", "PUT", f"{self.desktop_url}/{ref.id}"
            body = self._put_body(ref, show, entry, enabled)
            what = (
                f"{'resume' if enabled else 'pause'} desktop task "
                "(PUT /v2/…/scheduled-tasks/{id})"
            )
        response = await self._send(
            method,
            url,
            json_body=body,
            action=ACTION_UPDATE,
            what=what,
            ok=(200, 201, 202, 204),
        )
        echoed = self._echoed_flag(response, flag)
        if echoed is not None and echoed != enabled:
            raise self.http.error(
                f"{what} was answered {response.status_code} but the task still shows "
                f"{flag}={str(echoed).lower()}; check it in the Huawei console"
            )
        return True

    @staticmethod
    def _echoed_flag(response: httpx.Response, flag: str) -> bool | None:
        if not response.content:
            return None
        try:
            data = response.json()
        except ValueError:
            return None
        if isinstance(data, dict):
            value = data.get(flag)
            if isinstance(value, bool):
                return value
        return None

    async def skipped_runs(self, ref: TaskRef, start: datetime, end: datetime) -> list[SkippedRun]:
        start = utc(start)
        end = min(utc(end), self.clock())
        if end <= start:
            return []
        show = await self._show(ref)
        runs = await self._all_runs(ref)
        try:
            due = self._schedule(ref.kind, show).occurrences(start, end)
        except RuleError:
            due = []
        skipped: list[SkippedRun] = []
        starts = sorted(r.started for r in runs if r.started is not None and r.status != "SKIP")
        for i, at in enumerate(due):
            limit = at + MATCH_AFTER
            if i + 1 < len(due):
                limit = min(limit, due[i + 1] - MATCH_BEFORE)
            if any(at - MATCH_BEFORE <= s < limit for s in starts):
                continue
            skip = next(
                (
                    r
                    for r in runs
                    if r.status == "SKIP"
                    and r.started is not None
                    and at - MATCH_BEFORE <= r.started < limit
                ),
                None,
            )
            if skip is not None:
                continue  # reported below from the record itself
            skipped.append(
                SkippedRun(
                    task=ref,
                    at=at,
                    reason="no run recorded for this scheduled time (the task was disabled, "
                    "or Huawei did not fire it); inferred from the schedule",
                )
            )
        for run in runs:
            if run.status == "SKIP" and run.started is not None and start <= run.started < end:
                desktops = f" ({run.skip_num} desktops)" if run.skip_num else ""
                skipped.append(
                    SkippedRun(task=ref, at=run.started, reason=f"Huawei recorded SKIP{desktops}")
                )
        return sorted(skipped, key=lambda s: s.at)

    async def _all_runs(self, ref: TaskRef) -> list[PastRun]:
        """Every run history page of ``ref`` (for skipped-run accounting)."""
        if ref.kind is TaskKind.APP_TASK:
            return await self._app_all_runs(ref)
        return await self._desktop_all_runs(ref)


def _fingerprint(entry: Entry) -> str:
    """The task's list row as Huawei sent it: any change to it means the task changed."""
    return json.dumps(entry.raw, sort_keys=True, default=str)


def _auth(setup: Setup[HuaweiConfig]) -> Authenticator:
    config = setup.config
    if config.auth_mode == "aksk":
        roles = ["access_key", "secret_key"]
        if config.security_token_env:
            roles.append("security_token")
        setup.require(*roles)
        # Stamped from the machine's clock, never the check's reference instant (``--now``
        # is a what-if, and Huawei refuses a signature more than 15 minutes off its time).
        return HuaweiAkSkAuth(
            access_key=setup.credentials["access_key"],
            secret_key=setup.credentials["secret_key"],
            security_token=setup.credentials.get("security_token"),
            project_id=config.project_id,
        )
    setup.require("username", "password")
    # HuaweiConfig refuses a password table without these.
    assert config.iam_url is not None
    assert config.domain_name is not None
    return HuaweiIamAuth(
        setup.clock,
        iam_url=config.iam_url,
        username=setup.credentials["username"],
        password=setup.credentials["password"],
        domain_name=config.domain_name,
        project_id=config.project_id,
    )


def _build(setup: Setup[HuaweiConfig]) -> HuaweiConnector:
    config = setup.config
    http = setup.http(
        _auth(setup),
        rate_per_minute=config.rate_per_minute,
        max_connections=max(config.max_concurrency, 4),
        headers={"Accept": "application/json"},
    )
    connector = HuaweiConnector(setup.name, http, setup.clock, config)
    # Fan-outs are bounded by the adaptive concurrency of the client, not a fixed 10.
    connector.concurrency = setup.concurrency_ceiling
    return connector


from_config = connector_factory(HuaweiConfig, "Huawei", _build)
