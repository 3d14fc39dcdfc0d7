"""What ``GET /metrics`` shows, in the Prometheus text format (prometheus-client).

One :class:`Metrics` per application object, each with its own registry (never the
process-global default one), so several bots in one process (the tests) keep their counts
apart. Counters are moved where things happen (connectors, the check, the window clock,
the Slack client and server); what the database knows (windows by state, the clock's
heartbeat) is read when Prometheus scrapes, from the :class:`ScrapeSource` bound to it.

Labels are bounded by construction: configured system names, the connector interface's
operation names, fixed outcome words, Slack API method names from this code base. No
label ever carries a task id, a window id, user text or anything from a request.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from bot.lifecycle.base import TickReport

__all__ = ["CONTENT_TYPE", "RESPONSE_URL", "VENDOR_OUTCOMES", "Metrics", "ScrapeSource"]

CONTENT_TYPE = CONTENT_TYPE_LATEST

# A vendor call's outcome: answered; refused for good (4xx, a malformed answer); refused
# the credentials; unavailable (5xx, timeouts, connection errors, after retries); cut off
# (its deadline, or the caller went away); or an exception nobody foresaw (a bug).
VENDOR_OUTCOMES = ("ok", "refused", "auth", "unavailable", "cancelled", "unexpected")

# The TickReport lists counted as clock outcomes (the others are per-window bookkeeping).
_TICK_RESULTS = (
    "started",
    "ended",
    "missed",
    "expired_approvals",
    "paused",
    "shared",
    "already_paused",
    "pause_retrying",
    "pause_failed",
    "resumed",
    "left_alone",
    "handed_over",
    "resume_failed",
    "unknown",
    "lost",
    "notifications",
)

# Check and vendor call durations: from a loopback simulator (ms) to a slow vendor (a minute).
_SECONDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# How late a start or end fired: the clock ticks every few seconds, a backlog takes minutes.
_LAG = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)

# The label of answers posted to a request's response_url (no Web API method is named).
RESPONSE_URL = "response_url"
_SLACK_METHOD = re.compile(r"[a-z]+(?:\.[a-zA-Z]+){1,3}")


class ScrapeSource(Protocol):
    """What is read at scrape time (the application object provides it)."""

    def window_counts(self) -> Mapping[str, int]: ...

    def clock_leader(self) -> bool: ...

    def heartbeat_age(self) -> float | None: ...


class _AtScrape(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def describe(self) -> Iterable[Metric]:
        # Described without reading anything: registering must not touch the database.
        return [
            GaugeMetricFamily("maintbot_windows", "Maintenance windows by state", labels=["state"]),
            GaugeMetricFamily("maintbot_store_up", "1 when the store answered this scrape"),
            GaugeMetricFamily("maintbot_clock_leader", "1 when this process runs the clock"),
            GaugeMetricFamily(
                "maintbot_clock_heartbeat_age_seconds",
                "Seconds since a window clock last recorded a tick",
            ),
        ]

    def collect(self) -> Iterable[Metric]:
        source = self.metrics.source
        leader = GaugeMetricFamily(
            "maintbot_clock_leader",
            "1 on the process that runs the window clock, 0 on the others",
            value=1.0 if source is not None and source.clock_leader() else 0.0,
        )
        if source is None:
            return [leader]
        windows = GaugeMetricFamily(
            "maintbot_windows", "Maintenance windows by state (read at scrape)", labels=["state"]
        )
        up = 1.0
        age: float | None = None
        try:
            for state, count in sorted(source.window_counts().items()):
                windows.add_metric([state], float(count))
            age = source.heartbeat_age()
        except Exception:  # a scrape says the store is down; it never fails itself
            up = 0.0
        found: list[Metric] = [
            leader,
            windows,
            GaugeMetricFamily(
                "maintbot_store_up", "1 when the store answered this scrape", value=up
            ),
        ]
        if age is not None and math.isfinite(age):
            found.append(
                GaugeMetricFamily(
                    "maintbot_clock_heartbeat_age_seconds",
                    "Seconds since a window clock last recorded a tick (in the store)",
                    value=age,
                )
            )
        return found


class Metrics:
    """The bot's counters, histograms and scrape-time gauges, in one registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.source: ScrapeSource | None = None
        r = self.registry
        self.checks = Counter(
            "maintbot_checks",
            "Conflict checks asked for, by outcome (ok, partial: a system failed, failed)",
            ["outcome"],
            registry=r,
        )
        self.system_checks = Counter(
            "maintbot_system_checks",
            "Schedulers asked during a check, by system and outcome (ok, error, timeout)",
            ["system", "outcome"],
            registry=r,
        )
        self.check_seconds = Histogram(
            "maintbot_check_duration_seconds",
            "Time one scheduler took to answer a check",
            ["system"],
            buckets=_SECONDS,
            registry=r,
        )
        self.vendor_calls = Counter(
            "maintbot_vendor_calls",
            "Connector operations, by system, operation and outcome",
            ["system", "operation", "outcome"],
            registry=r,
        )
        self.vendor_seconds = Histogram(
            "maintbot_vendor_call_duration_seconds",
            "Time a connector operation took (retries and waits included)",
            ["system", "operation"],
            buckets=_SECONDS,
            registry=r,
        )
        self.vendor_retries = Counter(
            "maintbot_vendor_retries",
            "HTTP requests to a scheduler sent again, by system and reason",
            ["system", "reason"],
            registry=r,
        )
        self.rate_limit_waits = Counter(
            "maintbot_rate_limit_waits",
            "Requests held back by a rate limit: ours (client) or the vendor's 429 (vendor)",
            ["system", "source"],
            registry=r,
        )
        self.rate_limit_seconds = Counter(
            "maintbot_rate_limit_wait_seconds",
            "Seconds spent waiting on rate limits",
            ["system", "source"],
            registry=r,
        )
        self.clock_ticks = Counter(
            "maintbot_clock_ticks",
            "Window clock ticks, by outcome (ok, failed)",
            ["outcome"],
            registry=r,
        )
        self.clock_results = Counter(
            "maintbot_clock_results",
            "What the window clock did, by result (paused, resumed, pause_failed, ...)",
            ["result"],
            registry=r,
        )
        self.clock_lag = Histogram(
            "maintbot_clock_lag_seconds",
            "How long after its due time a window's start or end was done",
            ["transition"],
            buckets=_LAG,
            registry=r,
        )
        self.slack_requests = Counter(
            "maintbot_slack_requests",
            "Requests to /slack/events, by outcome (handled, refused, repeated, bad_request)",
            ["outcome"],
            registry=r,
        )
        self.slack_calls = Counter(
            "maintbot_slack_api_calls",
            "Slack Web API calls (messages, updates, lookups) and answers to response_url "
            "(method response_url), by method and outcome "
            "(ok, error, ratelimited, unreachable)",
            ["method", "outcome"],
            registry=r,
        )
        self.registry.register(_AtScrape(self))

    def bind(self, source: ScrapeSource) -> None:
        self.source = source

    def render(self) -> bytes:
        return generate_latest(self.registry)

    # -- what the code reports ---------------------------------------------------------------
    def check_done(self, outcome: str) -> None:
        self.checks.labels(outcome).inc()

    def system_checked(self, system: str, outcome: str, seconds: float) -> None:
        self.system_checks.labels(system, outcome).inc()
        self.check_seconds.labels(system).observe(seconds)

    def vendor_call(self, system: str, operation: str, outcome: str, seconds: float) -> None:
        self.vendor_calls.labels(system, operation, outcome).inc()
        self.vendor_seconds.labels(system, operation).observe(seconds)

    def retry(self, system: str, reason: str) -> None:
        self.vendor_retries.labels(system, reason).inc()

    def rate_limited(self, system: str, source: str, seconds: float) -> None:
        self.rate_limit_waits.labels(system, source).inc()
        self.rate_limit_seconds.labels(system, source).inc(max(0.0, seconds))

    def tick(self, report: TickReport | None) -> None:
        """A tick done (``report``) or failed (``None``)."""
        if report is None:
            self.clock_ticks.labels("failed").inc()
            return
        self.clock_ticks.labels("ok").inc()
        for name in _TICK_RESULTS:
            done = getattr(report, name)
            if done:
                self.clock_results.labels(name).inc(len(done))
        for late in report.late:
            self.clock_lag.labels(late.transition).observe(max(0.0, late.by.total_seconds()))

    def slack_request(self, outcome: str) -> None:
        self.slack_requests.labels(outcome).inc()

    def slack_call(self, method: str, outcome: str) -> None:
        self.slack_calls.labels(slack_method(method), outcome).inc()


def slack_method(method: str) -> str:
    """A Slack API method name as a label: ``chat.postMessage``, :data:`RESPONSE_URL`, or
    ``other``."""
    if method == RESPONSE_URL:
        return method
    return method if len(method) <= 48 and _SLACK_METHOD.fullmatch(method) else "other"
