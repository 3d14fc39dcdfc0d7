"""Conflict finding is pure: these tests feed it runs and check every rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.conflicts import SystemSnapshot, estimate_duration, find_conflicts
from bot.model import (
    ConflictKind,
    Run,
    RunningNow,
    SystemResult,
    Task,
    TaskKind,
    TaskRef,
    Window,
)

NOW = datetime(2026, 11, 18, 18, 0, tzinfo=UTC)
WINDOW = Window(
    start=datetime(2026, 11, 21, 10, 0, tzinfo=UTC),
    end=datetime(2026, 11, 21, 12, 0, tzinfo=UTC),
    tz="America/Los_Angeles",
    text="Saturday 2-4am",
)


def ref(task_id: str, system: str = "talend", kind: TaskKind = TaskKind.TASK) -> TaskRef:
    return TaskRef(system=system, kind=kind, id=task_id)


def task(task_id: str, name: str, *, paused: bool = False, system: str = "talend") -> Task:
    return Task(system=system, kind=TaskKind.TASK, id=task_id, name=name, paused=paused)


def ok(system: str = "talend") -> SystemResult:
    return SystemResult(system=system, vendor="talend", label="Talend", ok=True)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 21, hour, minute, tzinfo=UTC)


def kinds(report_conflicts: object) -> list[tuple[str, ConflictKind]]:
    return [(c.task_id, c.kind) for c in report_conflicts]  # type: ignore[attr-defined]


def test_start_is_inclusive_and_end_exclusive() -> None:
    snap = SystemSnapshot(
        ok(),
        tasks=[task("a", "A"), task("b", "B"), task("c", "C")],
        runs=[
            Run(task=ref("a"), at=at(10)),  # exactly at start: in
            Run(task=ref("b"), at=at(12)),  # exactly at end: out
            Run(task=ref("c"), at=at(11, 59)),
        ],
    )
    report = find_conflicts(WINDOW, NOW, [snap])
    assert kinds(report.conflicts) == [
        ("a", ConflictKind.STARTS_IN_WINDOW),
        ("c", ConflictKind.STARTS_IN_WINDOW),
    ]


def test_runs_in_other_zones_compare_as_instants() -> None:
    # 02:30 in Los Angeles (PST, -08:00) is 10:30 UTC: inside the window.
    from zoneinfo import ZoneInfo

    local = datetime(2026, 11, 21, 2, 30, tzinfo=ZoneInfo("America/Los_Angeles"))
    snap = SystemSnapshot(ok(), tasks=[task("a", "A")], runs=[Run(task=ref("a"), at=local)])
    report = find_conflicts(WINDOW, NOW, [snap])
    assert [c.at for c in report.conflicts] == [at(10, 30)]


def test_many_runs_of_one_task_collapse_to_the_first_with_a_count() -> None:
    runs = [Run(task=ref("hourly"), at=at(h)) for h in (11, 10)]
    snap = SystemSnapshot(ok(), tasks=[task("hourly", "Hourly sync")], runs=runs)
    report = find_conflicts(WINDOW, NOW, [snap])
    assert len(report.conflicts) == 1
    assert report.conflicts[0].at == at(10)
    assert report.conflicts[0].detail == "2 runs in the window"
    assert report.conflicts[0].runs_in_window == 2


def test_run_before_window_with_long_history_may_overlap() -> None:
    snap = SystemSnapshot(
        ok(),
        tasks=[task("long", "Long ETL"), task("short", "Short ETL")],
        runs=[
            Run(task=ref("long"), at=at(9), expected_duration=timedelta(hours=1, minutes=30)),
            Run(task=ref("short"), at=at(9), expected_duration=timedelta(minutes=30)),
        ],
    )
    report = find_conflicts(WINDOW, NOW, [snap])
    assert kinds(report.conflicts) == [("long", ConflictKind.MAY_OVERLAP)]
    assert "1h 30m" in report.conflicts[0].detail


def test_run_ending_exactly_at_window_start_does_not_overlap() -> None:
    snap = SystemSnapshot(
        ok(),
        tasks=[task("x", "X")],
        runs=[Run(task=ref("x"), at=at(9), expected_duration=timedelta(hours=1))],
    )
    assert find_conflicts(WINDOW, NOW, [snap]).conflicts == ()


def test_unknown_time_is_may_fire_and_sorts_last() -> None:
    snap = SystemSnapshot(
        ok(),
        tasks=[task("p", "Pyramid schedule"), task("a", "A")],
        runs=[
            Run(task=ref("p"), at=None, note="no next-run time in the API"),
            Run(task=ref("a"), at=at(11)),
        ],
    )
    report = find_conflicts(WINDOW, NOW, [snap])
    assert kinds(report.conflicts) == [
        ("a", ConflictKind.STARTS_IN_WINDOW),
        ("p", ConflictKind.MAY_FIRE),
    ]
    assert report.conflicts[1].detail == "no next-run time in the API"


def test_running_now_when_window_starts_now() -> None:
    window = Window(start=NOW, end=NOW + timedelta(hours=1), tz="UTC")
    snap = SystemSnapshot(
        ok(),
        tasks=[task("r", "Running")],
        running=[RunningNow(task=ref("r"), started_at=NOW - timedelta(minutes=5))],
    )
    report = find_conflicts(window, NOW, [snap])
    assert kinds(report.conflicts) == [("r", ConflictKind.RUNNING_AT_START)]
    assert report.conflicts[0].detail == "running now"


@pytest.mark.parametrize(
    ("started_minutes_before_now", "duration", "expected"),
    [
        (10, timedelta(minutes=30), False),  # finishes long before a window days away
        (10, timedelta(days=3), True),  # expected to run past the window's start
        (10, None, True),  # unknown: reported, conservatively
    ],
)
def test_running_now_for_a_future_window_uses_expected_duration(
    started_minutes_before_now: int, duration: timedelta | None, expected: bool
) -> None:
    snap = SystemSnapshot(
        ok(),
        tasks=[task("r", "R")],
        running=[
            RunningNow(
                task=ref("r"),
                started_at=NOW - timedelta(minutes=started_minutes_before_now),
                expected_duration=duration,
            )
        ],
    )
    report = find_conflicts(WINDOW, NOW, [snap])
    assert bool(report.conflicts) is expected


def test_paused_tasks_are_listed_apart() -> None:
    snap = SystemSnapshot(
        ok(),
        tasks=[task("a", "Active"), task("p", "Paused", paused=True)],
        runs=[Run(task=ref("a"), at=at(10)), Run(task=ref("p"), at=at(11))],
    )
    report = find_conflicts(WINDOW, NOW, [snap])
    assert [c.task_id for c in report.active] == ["a"]
    assert [c.task_id for c in report.already_paused] == ["p"]
    assert [c["paused"] for c in report.to_json()["conflicts"]] == [False, True]


def test_failed_system_is_reported_and_others_still_shown() -> None:
    failed = SystemSnapshot(
        SystemResult(system="pyramid", vendor="pyramid", label="Pyramid", ok=False, error="down")
    )
    good = SystemSnapshot(ok(), tasks=[task("a", "A")], runs=[Run(task=ref("a"), at=at(10))])
    report = find_conflicts(WINDOW, NOW, [failed, good])
    assert [(s.system, s.ok, s.error) for s in report.systems] == [
        ("pyramid", False, "down"),
        ("talend", True, None),
    ]
    assert [c.task_id for c in report.conflicts] == ["a"]


def test_task_missing_from_details_is_named_by_id() -> None:
    snap = SystemSnapshot(ok(), tasks=[], runs=[Run(task=ref("gone"), at=at(10))])
    report = find_conflicts(WINDOW, NOW, [snap])
    assert report.conflicts[0].task_name == "gone"
    assert report.conflicts[0].paused is False


def test_json_shape_matches_the_design_interface() -> None:
    snap = SystemSnapshot(ok(), tasks=[task("a", "A")], runs=[Run(task=ref("a"), at=at(10))])
    data = find_conflicts(WINDOW, NOW, [snap]).to_json()
    assert set(data) == {"window", "systems", "conflicts"}
    assert {"start", "end", "tz"} <= set(data["window"])
    assert {"system", "name", "ok", "error"} <= set(data["systems"][0])
    assert {"system", "task_id", "task_name", "kind", "at", "paused"} <= set(data["conflicts"][0])
    assert data["conflicts"][0]["at"] == "2026-11-21T10:00:00+00:00"


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        ([], None),
        ([10], 10),
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 100], 9),  # one hung run does not dominate
        ([60, 1, 60, 60, 60, 60, 60, 60, 60, 60], 60),  # one quick failure does not either
        ([-5, 20], 20),  # negative durations (vendor clock skew) are ignored
    ],
)
def test_estimate_duration_is_p90(minutes: list[int], expected: int | None) -> None:
    result = estimate_duration(timedelta(minutes=m) for m in minutes)
    assert result == (None if expected is None else timedelta(minutes=expected))


def test_naive_datetimes_are_refused_by_the_model() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Run(task=ref("a"), at=datetime(2026, 11, 21, 10, 0))
