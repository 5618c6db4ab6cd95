"""When a schedule fires: Azure ML's time zones and its cron and recurrence triggers, read in their REST form
(`triggerType`, `expression` or `frequency`/`interval`/`schedule`, `startTime`, `endTime`, `timeZone`).

Azure ML names time zones the Windows way ("Pacific Standard Time", "UTC"); each is the IANA zone CLDR maps it to
(tzlocal's table), read with zoneinfo. Cron expressions (NCronTab, five fields) are croniter's to step through;
recurrences are dateutil rrules. Start and end times are wall-clock times in the trigger's zone, without an offset.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .exceptions import suggest

UTC_NAME = "UTC"
# Two retired Windows zones that Azure ML's clients still offer; CLDR no longer maps them
_RETIRED = {"Kamchatka Standard Time": "Asia/Kamchatka", "Mid-Atlantic Standard Time": "Etc/GMT+2"}
FREQUENCIES = ("minute", "hour", "day", "week", "month")
WEEK_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S.%f",
                "%Y-%m-%d")


def windows_zones() -> dict[str, str]:
    """Azure ML's time zone names -> IANA zone names."""
    from tzlocal.windows_tz import win_tz  # import budget: read when a schedule is

    return {**win_tz, **_RETIRED}


def zone_problem(name: str) -> str | None:
    """Why `name` is not a time zone Azure ML takes (None when it is one)."""
    zones = windows_zones()
    if name in zones:
        return None
    from tzlocal.windows_tz import tz_win  # import budget: as above

    if name in tz_win:
        return f"{name!r} is an IANA name; Azure ML takes Windows time zone names: {tz_win[name]!r}"
    folded = {z.lower(): z for z in zones}
    if name.lower() in folded:
        return f"unknown time zone {name!r} (did you mean {folded[name.lower()]}?)"
    return f"unknown time zone {name!r}: use a Windows time zone name such as 'UTC' or 'Pacific Standard Time'" + \
        suggest(name, zones)


def zone(name: str | None):
    """The tzinfo of Azure ML time zone `name` (UTC when None); ValueError when there is no such zone."""
    from zoneinfo import ZoneInfo  # import budget: as above

    problem = zone_problem(name or UTC_NAME)
    if problem:
        raise ValueError(problem)
    return ZoneInfo(windows_zones()[name or UTC_NAME])


def parse_time(text: str) -> datetime:
    """A trigger's start or end time (ISO 8601 without an offset) -> a naive datetime; ValueError otherwise."""
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(f"invalid time {text!r}: expected an ISO 8601 time without an offset, such as "
                     "2024-05-01T09:30:00 (it is read in the trigger's time_zone)")


def cron_problem(expression: str) -> str | None:
    """Why `expression` is not a cron expression Azure ML takes (five fields: minute hour day month weekday)."""
    from croniter import croniter  # import budget: as above

    if len(expression.split()) != 5:
        return (f"invalid cron expression {expression!r}: expected five fields (minute hour day-of-month month "
                "day-of-week), such as '0 9 * * 1'")
    if not croniter.is_valid(expression):
        return f"invalid cron expression {expression!r}"
    return None


def cron_to_rest(expression: str) -> str:
    """`expression` as the spec's pattern for it admits it. The pattern, `[a-zA-Z0-9_]` (the spec's mark of a
    required string that is not blank, on 30 of its strings), wants one letter, digit or '_' somewhere: stars
    only (`* * * * *`, which azure-ai-ml sends as written) go out as the same times with a step, `*/1 * * * *`."""
    if any(c.isascii() and (c.isalnum() or c == "_") for c in expression):
        return expression
    first, *rest = expression.split()
    return " ".join([f"{first}/1" if first == "*" else first, *rest])


def firings(trigger: dict, after: datetime, until: datetime, *, origin: datetime, limit: int | None = None):
    """The times (aware, UTC) at which `trigger` fires in (after, until], in order, at most `limit` of them.

    `origin` (aware) is when the schedule was made: a trigger without a start time starts then (a recurrence fires
    at once, as on Azure ML). `until` may be None: no bound but `limit` (and the trigger's end).
    """
    tz = zone(trigger.get("timeZone"))
    start = (parse_time(trigger["startTime"]).replace(tzinfo=tz) if trigger.get("startTime")
             else origin.astimezone(tz))
    end = parse_time(trigger["endTime"]).replace(tzinfo=tz) if trigger.get("endTime") else None
    bound = min((t for t in (until, end) if t is not None), default=None)
    count = 0
    for moment in _times(trigger, start, max(after, start - timedelta(microseconds=1)).astimezone(tz)):
        if bound is not None and moment > bound:
            return
        if limit is not None and count >= limit:
            return
        count += 1
        yield moment.astimezone(timezone.utc)


def _times(trigger: dict, start: datetime, after: datetime):
    """Every firing strictly after `after` (aware, in the trigger's zone), from `start` on."""
    if trigger.get("triggerType") == "Cron":
        from croniter import croniter  # import budget: as above

        steps = croniter(trigger["expression"], after)
        while True:
            yield steps.get_next(datetime)
    from dateutil import rrule  # import budget: as above

    pattern = trigger.get("schedule") or {}
    frequency = {"minute": rrule.MINUTELY, "hour": rrule.HOURLY, "day": rrule.DAILY, "week": rrule.WEEKLY,
                 "month": rrule.MONTHLY}[str(trigger["frequency"]).lower()]
    days = [getattr(rrule, d[:2].upper()) for d in pattern.get("weekDays") or ()] or None
    options = dict(byhour=pattern.get("hours"), byminute=pattern.get("minutes"), bysecond=0) if pattern else {}
    rule = rrule.rrule(frequency, interval=int(trigger["interval"]), dtstart=start, byweekday=days,
                       bymonthday=pattern.get("monthDays") or None, **options)
    yield from rule.xafter(after, inc=False)
