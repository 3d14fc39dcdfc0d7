"""bot/format.py: the one way maintbot writes an instant and a length."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.format import instant, length, utc_instant


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(0), "0m"),
        (timedelta(seconds=45), "45s"),
        (timedelta(seconds=-45), "-45s"),
        (timedelta(minutes=45), "45m"),
        (timedelta(hours=2), "2h"),
        (timedelta(minutes=90), "1h 30m"),
        (timedelta(hours=2, minutes=5), "2h 05m"),
        (timedelta(days=1, hours=3), "1d 3h"),
        (timedelta(days=14), "14d"),
        (timedelta(hours=-1), "-1h"),
        # Rounded to the minute: 1 min 52 s is "2m", not "1m".
        (timedelta(minutes=1, seconds=52), "2m"),
        (timedelta(minutes=1, seconds=29), "1m"),
        (timedelta(hours=1, minutes=59, seconds=30), "2h"),
    ],
)
def test_length(delta: timedelta, text: str) -> None:
    assert length(delta) == text


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(minutes=1, seconds=52), "1m 52s"),
        (timedelta(days=14, seconds=1), "14d 01s"),
        (timedelta(hours=1), "1h"),
    ],
)
def test_exact_length_keeps_seconds(delta: timedelta, text: str) -> None:
    assert length(delta, exact=True) == text


def test_instant_in_a_named_zone_and_across_dst() -> None:
    winter = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 4, 1, 0, tzinfo=UTC)
    assert instant(winter, "Europe/Berlin") == "Sat 05 Dec 02:00 CET"
    assert instant(summer, "Europe/Berlin") == "Sat 04 Jul 03:00 CEST"


def test_instant_none_and_a_zone_that_is_no_iana_key() -> None:
    moment = datetime(2026, 12, 5, 3, 0, tzinfo=timezone(timedelta(hours=2)))
    assert instant(None, "UTC") == "-"
    # "PST" is a fixed offset in the grammar, not an IANA key: shown in UTC, not guessed.
    assert instant(moment, "PST") == "Sat 05 Dec 01:00 UTC"
    assert instant(moment, "") == "Sat 05 Dec 01:00 UTC"


def test_utc_instant() -> None:
    moment = datetime(2026, 12, 5, 3, 0, tzinfo=timezone(timedelta(hours=2)))
    assert utc_instant(moment) == "Sat 05 Dec 2026 01:00 UTC"
    assert utc_instant(moment, suffix=False) == "Sat 05 Dec 2026 01:00"


def test_a_window_is_named_by_its_title_and_dates_in_its_zone() -> None:
    from bot.format import window_name

    start = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)
    assert window_name(start, start + timedelta(hours=2), "Europe/Paris") == (
        "Maintenance Sat 5 Dec 02:00–04:00 CET"
    )
    assert window_name(start, start + timedelta(hours=2), "UTC", "db failover") == (
        "db failover · Sat 5 Dec 01:00–03:00 UTC"
    )
    # Ending at midnight is the same evening; longer windows name both days.
    assert window_name(start, start + timedelta(hours=22), "Europe/Paris").endswith(
        "02:00–24:00 CET"
    )
    assert window_name(start, start + timedelta(hours=30), "UTC") == (
        "Maintenance Sat 5 Dec 01:00 – Sun 6 Dec 07:00 UTC"
    )
    # A fixed offset is not a zone name: shown in UTC, as every other instant is.
    assert window_name(start, start + timedelta(hours=1), "+05:30").endswith("01:00–02:00 UTC")
