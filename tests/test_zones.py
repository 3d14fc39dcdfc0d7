"""bot/zones.py: the one zone lookup behind the grammar and the vendors' task zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import WindowError
from bot.schedule_rules import RuleError
from bot.schedule_rules import resolve_zone as task_zone
from bot.windows import resolve_zone as window_zone
from bot.zones import lookup_zone


@pytest.mark.parametrize(
    ("name", "label", "offset_minutes"),
    [
        ("UTC", "UTC", 0),
        ("z", "UTC", 0),
        ("Coordinated Universal Time", "UTC", 0),
        ("+05:30", "+05:30", 330),
        ("UTC-3", "-03:00", -180),
        ("GMT+8", "+08:00", 480),
        ("UTC +08:00", "+08:00", 480),
        ("europe/berlin", "Europe/Berlin", 60),  # any letter case, the canonical key back
        ("Asia/Kolkata", "Asia/Kolkata", 330),
    ],
)
def test_lookup(name: str, label: str, offset_minutes: int) -> None:
    found = lookup_zone(name)
    assert found is not None
    zone, canonical = found
    assert canonical == label
    assert datetime(2026, 12, 1, tzinfo=UTC).astimezone(zone).utcoffset() == timedelta(
        minutes=offset_minutes
    )


@pytest.mark.parametrize("name", ["Mars/Olympus", "+15:00", "+05:75", "", "x" * 80, "PST"])
def test_names_that_are_no_zone(name: str) -> None:
    assert lookup_zone(name) is None


def test_the_grammar_reads_abbreviations_and_a_vendor_zone_does_not() -> None:
    # "CST" is US Central in the window contract; in a Huawei task it would be China's,
    # so only the grammar reads abbreviations, and each side fails in its own words.
    assert window_zone("CST").utcoffset(None) == timedelta(hours=-6)
    with pytest.raises(RuleError, match="time_zone 'CST' is not a zone maintbot knows"):
        task_zone("CST")
    with pytest.raises(WindowError, match='I don\'t know the time zone "Mars/Olympus"'):
        window_zone("Mars/Olympus")


def test_a_vendor_zone_defaults_to_shanghai() -> None:
    assert task_zone(None) == task_zone("") == task_zone("Asia/Shanghai")
