"""Huawei Cloud Workspace scheduled tasks, both families, behind :class:`Connector`.

* 4A, Application Streaming: ``/v1/{project_id}/schedule-task`` on ``appstream_url``;
  flag ``is_enable``, run history ``execute-history`` with begin and end times.
* 4B, desktops: ``/v2/{project_id}/scheduled-tasks`` on ``base_url``; flag ``enable``, run
  records with only a start time.

Auth is an AK/SK signature on every request (recommended; :mod:`.signing`, Huawei's
"SDK-HMAC-SHA256", with ``X-Security-Token`` for temporary credentials and ``X-Project-Id``),
or an IAM password token (``X-Subject-Token`` response header of
``POST {iam_url}/v3/auth/tokens``, valid 24 h) sent as ``X-Auth-Token``. Every request goes
through :class:`VendorHttp` (retries, Retry-After, deadline; one re-login on 401 for the
token, none for a signature, which has nothing to renew).

Runs in a window come from expanding each task's own schedule (:mod:`bot.schedule_rules`),
not from ``next_execution_time`` alone: a daily task fires twice in a 26-hour window and
both runs are reported. The vendor's ``next_execution_time`` is added when the expansion
did not predict it, so a misreading of a rule shows up instead of hiding a run.

Readings chosen for facts shared/contracts.md §4 marks INFERRED or a gap (the simulator in
bot/sandbox/huawei.py makes the same choices, and tests/test_huawei_*.py covers each):

* **Enabled state** is read from the list endpoints: 4A show may not carry ``is_enable``
  reliably [INFERRED from the Terraform provider], and 4B show has no ``enable`` at all
  [SEEN SDK]. A single task is looked up by its show (404 = deleted) and then in the list
  filtered by its name (a fuzzy match, so the id decides).
* **Pause/resume** read the state first and change nothing when the flag already has the
  wanted value (``False`` = no change), so a retried or repeated call is harmless and a task
  someone else disabled is reported as already paused. 4A sends ``PATCH {"is_enable": b}``
  (partial PATCH is SEEN). 4B ``PUT`` may be a full replace (gap): the connector sends
  back every field the show returned that UpdateScheduledTasksReq accepts, untouched, plus
  what only the list item has (``priority``), with only ``enable`` changed, so neither
  reading loses data; a show lacking what its kind of schedule needs is refused. Any 2xx
  is success (PATCH/PUT responses are a gap); a body that contradicts the request is not.
  Huawei has no place for a pause reason, so ``reason`` is not sent (it stays in the audit).
* **Running now**: 4A — the newest history item whose status is ``RUNNING`` or
  ``WAITING`` [SEEN]; history is only read for tasks whose list ``last_status`` is one of
  those (or missing). 4B — record statuses are a gap: ``RUNNING``, ``EXECUTING``,
  ``WAITING``, ``PENDING``, ``IN_PROGRESS`` and ``PROCESSING`` count as in progress, any
  other word (``SUCCESS``, ``FAIL``, ``SKIP``, …) as finished. 4B ``last_status`` has no
  in-progress value, so every desktop task's records are read.
* **History order** is not documented: the first page is read and, when more exist and the
  page runs oldest-first, the last page too; the newest item is chosen by time, not position.
* **Durations**: 4A ``end_time - begin_time`` of finished runs, p90 via
  :func:`estimate_duration`. 4B records have only ``start_time``, so desktop runs carry no
  expected duration (no ``may_overlap`` for them; a running one says "no history says when
  it will finish").
* **Times**: 4A history times are UTC [SEEN H7]; 4B record ``start_time`` is read as UTC
  [INFERRED: the Terraform provider parses it so]. ``next_execution_time``: 4B is
  ``yyyy-MM-dd HH:mm:ss`` read in the task's zone [INFERRED]; 4A's format is unknown, so
  any ISO form (with offset honoured), the zone-less form (task's zone) and epoch
  milliseconds are accepted. ``future-executions`` answers are wall times in the request's
  ``time_zone`` [INFERRED from the 4A response echoing it].
* **Disabled tasks** still get their runs expanded, so the report lists them apart as
  already paused (Task.paused) rather than hiding what they would do if re-enabled.
* **Event-triggered** 4B tasks (``LIFE_CYCLE``, listed only when asked for by type) fire on
  desktop events, not a clock: enabled ones are reported with an unknown time.
* **Skipped runs**: 4B records with status ``SKIP``; for both families, scheduled instants
  with no run recorded near them (from 5 min before to 1 h after, or the next run) are
  reported as skipped — the schedule expansion minus history [INFERRED].
* **Throttling** numbers for these APIs were not captured (gap): no client-side limit by
  default (set ``rate_per_minute`` to add one); 429 answers are retried after Retry-After.
* **Malformed answers**: a page without its list key (``items``, ``scheduled_tasks``,
  ``tasks_records``), a field whose type changed, a time outside 1970-2200, an id that is
  not URL-safe text, or pages that end before the total they state are an error for this
  system naming the field, never "no tasks". Totals may be absent (a short page is then the
  last); counts may be digit strings, run ids numbers.
* **Error codes** are a gap: only ``error_msg`` is quoted, ``error_code`` is not relied on.
* **403** names the IAM action the call needs (``workspace:scheduledTasks:list``, ``:get``,
  ``:update``, ``:listRecords`` [SEEN H1–H5]; the same names for 4B and ``:list`` for
  future-executions are INFERRED).

The package has one module per API family (:mod:`.app`, :mod:`.desktop`), what both share
(:mod:`.auth`, :mod:`.paging`, :mod:`.models`, :mod:`.config`), and :mod:`.connector`, which
puts them behind the Connector interface.
"""

from bot.connectors.huawei.auth import HuaweiAkSkAuth, HuaweiIamAuth
from bot.connectors.huawei.config import HuaweiConfig
from bot.connectors.huawei.connector import HuaweiConnector, from_config

__all__ = ["HuaweiAkSkAuth", "HuaweiConfig", "HuaweiConnector", "HuaweiIamAuth", "from_config"]
