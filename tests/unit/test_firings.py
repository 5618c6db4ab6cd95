"""When triggers fire: cron expressions read in a Windows-named time zone (daylight saving included), recurrences
with and without a pattern, start and end times in the trigger's zone."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from azureml_v2._firings import firings, zone


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def times(trigger, after, limit=4, until=None, origin=None):
    return [t.strftime("%Y-%m-%d %H:%M") for t in firings(trigger, after, until, origin=origin or after, limit=limit)]


def test_a_cron_expression_keeps_its_wall_clock_time_across_daylight_saving():
    trigger = {"triggerType": "Cron", "expression": "0 9 * * *", "timeZone": "W. Europe Standard Time"}
    assert times(trigger, utc(2026, 3, 27)) == [  # Europe moves its clocks on Sunday March 29th, 2026
        "2026-03-27 08:00", "2026-03-28 08:00", "2026-03-29 07:00", "2026-03-30 07:00"]


def test_start_and_end_times_are_wall_clock_times_in_the_zone():
    trigger = {"triggerType": "Cron", "expression": "30 * * * *", "timeZone": "Tokyo Standard Time",
               "startTime": "2026-05-01T10:00:00", "endTime": "2026-05-01T12:00:00"}
    assert times(trigger, utc(2026, 1, 1), limit=None) == ["2026-05-01 01:30", "2026-05-01 02:30"]


def test_a_recurrence_without_a_start_fires_at_once_then_every_interval():
    trigger = {"triggerType": "Recurrence", "frequency": "Hour", "interval": 6}
    made = utc(2026, 5, 1, 10, 17)
    assert times(trigger, utc(2026, 5, 1, 10, 16), origin=made, limit=3) == [
        "2026-05-01 10:17", "2026-05-01 16:17", "2026-05-01 22:17"]
    assert times(trigger, utc(2026, 5, 2, 0, 0), origin=made, limit=1) == ["2026-05-02 04:17"]  # same phase


def test_a_weekly_recurrence_with_a_pattern():
    trigger = {"triggerType": "Recurrence", "frequency": "Week", "interval": 2, "startTime": "2026-05-04T00:00:00",
               "schedule": {"hours": [8], "minutes": [0, 30], "weekDays": ["Monday", "Thursday"]}}
    assert times(trigger, utc(2026, 5, 1), limit=6) == [
        "2026-05-04 08:00", "2026-05-04 08:30", "2026-05-07 08:00", "2026-05-07 08:30",
        "2026-05-18 08:00", "2026-05-18 08:30"]  # every other week


def test_until_bounds_and_zones_are_windows_names():
    trigger = {"triggerType": "Cron", "expression": "*/15 * * * *"}
    assert times(trigger, utc(2026, 5, 1, 10), until=utc(2026, 5, 1, 10, 45), limit=None) == [
        "2026-05-01 10:15", "2026-05-01 10:30", "2026-05-01 10:45"]
    assert str(zone("UTC-11")) == "Etc/GMT+11" and str(zone("Kamchatka Standard Time")) == "Asia/Kamchatka"
    with pytest.raises(ValueError, match="IANA name"):
        zone("Europe/Paris")
