"""Schedules on the local workspace: their REST bodies checked and stored, and the scheduler that fires them.

One process of a home fires its schedules at a time: the one holding ``<home>/scheduler.lock`` (``azml server``, or
``azml schedule run`` in the foreground). Each :meth:`Scheduler.tick` (one a second, on the supervision timer) looks
at every enabled schedule: the firings due since its ``checked_at`` are claimed in one transaction that also moves
``checked_at`` (so a firing is claimed once), then each claimed firing creates its job through ``Jobs.create`` (named
``<schedule>-<due time>``: creating it twice is a no-op) and is marked ``Fired``. A firing more than ``LATE`` overdue
is recorded ``Missed`` and not run, as Azure ML does not replay what it missed: after a stop, the first tick records
what was missed meanwhile, and :meth:`Scheduler.start` returns it. A firing claimed by a process killed before it
settled it is ``Fired`` if its job exists, else run (or ``Missed``, if it is late by now).

The clock is injectable: a test drives a scheduler through minutes in a moment.
"""
from __future__ import annotations

import copy
import fcntl
import json
import logging
import os
import re
import urllib.error
import urllib.request
import uuid
from collections import deque
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ... import _firings
from ..._contract import SCHEDULE_PROPERTY, SCHEDULE_TIME_PROPERTY, substitute
from ..storage.schedules import ScheduleStore
from ..storage.sqlite import Conflict, NotFound
from . import checks
from .checks import Invalid
from .serving import JOB_NAME_HEADER, Serving

LATE = timedelta(minutes=1)  # a firing later than this is missed (a minute: the finest step of a cron expression)
MAX_MISSED = 100  # missed firings recorded per schedule and round (the count says the rest)
TRIGGER_TIME = "creation_context.trigger_time"  # a placeholder a scheduled job's literal inputs may hold
_STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"
_TRIGGER_TYPES = ("Cron", "Recurrence")
_ACTION_TYPES = ("CreateJob", "InvokeBatchEndpoint", "CreateMonitor")
# the batch endpoint an InvokeBatchEndpoint action names: azureml:<its ARM id>, as the spec's example writes it
_BATCH_ENDPOINT = re.compile(r"(?:azureml:)?/subscriptions/[^/]+/resourceGroups/[^/]+/providers/"
                             r"Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)/batchEndpoints/(?P<name>[^/]+)",
                             re.IGNORECASE)

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime(_STAMP)


def moment(text: str) -> datetime:
    return datetime.strptime(text, _STAMP).replace(tzinfo=timezone.utc)


def check_schedule(props: dict) -> dict:
    """A schedule's checked REST properties."""
    props = checks.base(props)
    enabled = checks.check(props, "isEnabled", bool)
    props["isEnabled"] = True if enabled is None else enabled  # the spec's default
    checks.check(props, "displayName", str)
    trigger = checks.check(props, "trigger", dict, required=True)
    checks.check_enum(trigger, "triggerType", _TRIGGER_TYPES, required=True, where="properties.trigger")
    zone = trigger.get("timeZone")
    if zone is not None and (not isinstance(zone, str) or _firings.zone_problem(zone)):
        raise Invalid(f"properties.trigger.timeZone: {_firings.zone_problem(str(zone))}")
    for key in ("startTime", "endTime"):
        if trigger.get(key) is not None:
            try:
                _firings.parse_time(str(trigger[key]))
            except ValueError as exc:
                raise Invalid(f"properties.trigger.{key}: {exc}") from None
    if trigger["triggerType"] == "Cron":
        expression = trigger.get("expression")
        problem = "is required" if not isinstance(expression, str) else _firings.cron_problem(expression)
        if problem:
            raise Invalid(f"properties.trigger.expression: {problem}")
    else:
        checks.check_enum(trigger, "frequency", tuple(f.capitalize() for f in _firings.FREQUENCIES), required=True,
                          where="properties.trigger")
        interval = trigger.get("interval")
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise Invalid("properties.trigger.interval: expected a whole number of at least 1")
    action = checks.check(props, "action", dict, required=True)
    checks.check_enum(action, "actionType", _ACTION_TYPES, required=True, where="properties.action")
    if action["actionType"] == "CreateJob":
        definition = checks.check(action, "jobDefinition", dict, required=True)
        if not definition.get("sourceJobId"):
            checks.check_job(dict(definition), "scheduled", ())
    elif action["actionType"] == "InvokeBatchEndpoint":
        _check_invocation(action.get("endpointInvocationDefinition"))
    return props


def _check_invocation(definition) -> None:
    where = "properties.action.endpointInvocationDefinition"
    if not isinstance(definition, dict):
        raise Invalid(f"{where} is required: an object with endpoint (azureml:<the batch endpoint's ARM id>) and "
                      "inputs")
    endpoint = definition.get("endpoint")
    if not isinstance(endpoint, str) or not _BATCH_ENDPOINT.fullmatch(endpoint):
        raise Invalid(f"{where}.endpoint: expected azureml:<a batch endpoint's ARM id> (.../workspaces/<workspace>/"
                      f"batchEndpoints/<name>), got {json.dumps(endpoint)[:200]}")
    inputs = definition.get("inputs") or {}
    if not isinstance(inputs, dict):
        raise Invalid(f"{where}.inputs: expected an object (input name -> a literal value or a data input)")
    for key, value in inputs.items():
        if isinstance(value, dict):
            if not (value.get("uri") or value.get("Uri") or "value" in value or "Value" in value):
                raise Invalid(f"{where}.inputs.{key}: a data input needs jobInputType and uri")
        elif not isinstance(value, (str, int, float, bool)):
            raise Invalid(f"{where}.inputs.{key}: expected a literal value or a data input (jobInputType, uri)")


class Scheduler:
    """Fires the schedules of a home's store through `jobs` (see the module docstring); `clock` says what time it
    is (aware, UTC)."""

    def __init__(self, store, jobs, *, clock=utc_now):
        self.schedules, self.jobs, self.clock = ScheduleStore(store), jobs, clock
        self._lock_path = Path(store.home) / "scheduler.lock"
        self._lock = None
        self._wanted = False  # start() was called: take the lock over when its holder ends

    # -- who fires

    def start(self) -> list[str]:
        """Take this home's scheduler lock and run a first round -> what was missed while no scheduler ran, one line
        per schedule. ValueError (naming the holder) when another process fires this home's schedules; later
        rounds take the lock over once it is free."""
        self._wanted = True
        if not self._take_lock():
            holder = self._lock_path.read_text().strip() or "another process"
            raise ValueError(f"the schedules of {self._lock_path.parent} are fired by process {holder}")
        return self.tick()

    def _take_lock(self) -> bool:
        lock = open(self._lock_path, "a+")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            return False
        lock.truncate(0)
        lock.write(str(os.getpid()))
        lock.flush()
        self._lock = lock
        return True

    def stop(self) -> None:
        self._wanted = False
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    @property
    def running(self) -> bool:
        return self._lock is not None

    # -- a round

    def tick(self) -> list[str]:
        """Fire what is due -> lines saying what was missed (see the module docstring)."""
        if self._lock is None and not (self._wanted and self._take_lock()):
            return []
        now = self.clock()
        for firing in self.schedules.pending():
            self._settle_pending(firing, now)
        report = []
        for schedule in self.schedules.enabled():
            missed = self._round(schedule, now)
            if missed:
                log.warning("%s", missed)
                report.append(missed)
        return report

    def _round(self, schedule: dict, now: datetime) -> str | None:
        checked = moment(schedule["checked_at"])
        if checked - now > LATE:
            # the clock was set back: count from a minute ago, not from a time that has not come (nor from now: what
            # fell due since the last tick would be lost); what was handled then is not handled twice (see claim)
            checked = now - LATE
        elif now <= checked:  # the clock went back a little (or another process is ahead): nothing due
            return None
        trigger = schedule["doc"]["trigger"]
        try:
            due = _firings.firings(trigger, checked, now, origin=moment(schedule["created_at"]))
            late, on_time, count = deque(maxlen=MAX_MISSED), [], 0
            for when in due:
                if now - when > LATE:
                    late.append(when)
                    count += 1
                else:
                    on_time.append(when)
        except ValueError:  # a trigger stored before its zone or expression was refused: nothing is due
            return None
        rows = [(stamp(t), "Missed", None) for t in late]
        rows += [(stamp(t), "Firing", job_name(schedule["name"], t)) for t in on_time]
        claimed = self.schedules.claim(schedule, stamp(now), rows)
        if claimed is None:  # another process handled this round
            return None
        for firing in claimed:
            self.fire(firing, moment(firing["due_at"]))
        if not count:
            return None
        shown = ", ".join(stamp(t)[:19] + "Z" for t in list(late)[-3:])
        more = f" (the last {min(count, 3)}: {shown})"
        return f"schedule {schedule['name']!r} (workspace {schedule['workspace']!r}) missed {count} firing" \
               f"{'s' if count > 1 else ''} while no scheduler ran{more}; they are not run now"

    def _settle_pending(self, firing: dict, now: datetime) -> None:
        try:
            self.jobs.store.get_job(firing["workspace"], firing["job"])
        except NotFound:
            if not firing["manual"] and now - moment(firing["due_at"]) > LATE:
                self.schedules.settle(firing, "Missed", "the scheduler stopped before creating its job")
            else:
                self.fire(firing, moment(firing["due_at"]))
            return
        self.schedules.settle(firing, "Fired")

    # -- firing

    def trigger(self, ws: str, name: str, when: datetime) -> dict:
        """Fire schedule `name` once now, as if it were due at `when` -> the firing (with its job)."""
        job = f"{job_name(name, when)}-{uuid.uuid4().hex[:6]}"
        firing = self.schedules.claim_manual(ws, name, stamp(when), job)
        self.fire(firing, when)
        return firing

    def fire(self, firing: dict, when: datetime) -> None:
        """Run a claimed firing's action and settle it: Fired, or Failed with the reason."""
        ws = firing["workspace"]
        action = firing["doc"]["action"]
        try:
            if action["actionType"] == "InvokeBatchEndpoint":
                self._invoke(ws, action["endpointInvocationDefinition"], firing["job"], when)
            elif action["actionType"] == "CreateJob":
                props = self._job_properties(ws, action["jobDefinition"], firing["schedule_name"], when)
                self.jobs.create(ws, firing["job"], props)
            else:
                raise Invalid(f"{action['actionType']} schedules are not supported yet on the local workspace")
        except (Invalid, Conflict, NotFound) as exc:
            log.warning("schedule %r: its firing due %s failed: %s", firing["schedule_name"], firing["due_at"], exc)
            self.schedules.settle(firing, "Failed", str(exc))
            return
        log.info("schedule %r fired: job %s", firing["schedule_name"], firing["job"])
        self.schedules.settle(firing, "Fired")

    def _invoke(self, ws: str, definition: dict, job: str, when: datetime) -> None:
        """Invoke a batch endpoint of this workspace as a client does: a POST to its scoring URI (the endpoint's
        host), whose scoring job takes the firing's job name (so that a firing is invoked once)."""
        named = _BATCH_ENDPOINT.fullmatch(definition["endpoint"])
        name = named["name"]
        if named["ws"].lower() != ws.lower():
            raise Invalid(f"batch endpoint {name!r} is in workspace {named['ws']!r}: a schedule invokes the endpoints "
                          f"of its own workspace ({ws!r})")
        self.jobs.store.get_endpoint(ws, "batch", name)  # NotFound: the firing fails, saying so
        uri = Serving(self.jobs.store, launch=False).scoring_uri(ws, "batch", name)
        if uri is None:
            raise Invalid(f"batch endpoint {name!r} is not served yet (its host starts with the workspace's "
                          "supervision: azml server)")
        trigger_time = when.astimezone(timezone.utc).isoformat()
        inputs = {key: _invocation_input(value, trigger_time)
                  for key, value in (definition.get("inputs") or {}).items()}
        request = urllib.request.Request(uri, json.dumps({"properties": {"InputData": inputs}}).encode(), method="POST",
                                         headers={"Content-Type": "application/json", JOB_NAME_HEADER: job})
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                answer.read()
        except urllib.error.HTTPError as exc:
            try:
                reason = json.loads(exc.read())["message"]
            except (ValueError, KeyError, TypeError):
                reason = exc.reason
            raise Invalid(f"batch endpoint {name!r} refused the invocation ({exc.code}): {reason}") from None
        except OSError as exc:
            raise Invalid(f"batch endpoint {name!r} could not be reached at {uri}: {exc}") from None

    def _job_properties(self, ws: str, definition: dict, schedule: str, when: datetime) -> dict:
        source = definition.get("sourceJobId")
        if source:  # a copy of an existing job, as it was submitted (its display name was its name's)
            props = copy.deepcopy(self.jobs.store.get_job(ws, source.rstrip("/").rsplit("/", 1)[-1])["doc"])
            props.pop("displayName", None)
        else:
            props = copy.deepcopy(definition)
        props["properties"] = {**(props.get("properties") or {}), SCHEDULE_PROPERTY: schedule,
                               SCHEDULE_TIME_PROPERTY: stamp(when)}
        trigger_time = when.astimezone(timezone.utc).isoformat()
        for value in (props.get("inputs") or {}).values():
            if isinstance(value, dict) and isinstance(value.get("value"), str) and "${{" in value["value"]:
                value["value"] = _with_trigger_time(value["value"], trigger_time)
        return props


def _invocation_input(value, trigger_time: str) -> dict:
    """An input of an endpoint invocation as the batch endpoint takes it (InputData): a literal, with
    ${{creation_context.trigger_time}} substituted, or a data input as given."""
    if not isinstance(value, dict):
        text = json.dumps(value) if isinstance(value, bool) else str(value)
        return {"JobInputType": "Literal", "Value": _with_trigger_time(text, trigger_time)}
    value = dict(value)
    for key in ("value", "Value"):
        if isinstance(value.get(key), str):
            value[key] = _with_trigger_time(value[key], trigger_time)
    return value


def _with_trigger_time(text: str, trigger_time: str) -> str:
    return substitute(text, lambda p: trigger_time if p.expression == TRIGGER_TIME else p.text, optional_blocks=False)


def job_name(schedule: str, when: datetime) -> str:
    """The job a schedule creates for the firing due at `when`: `<schedule>-<YYYYmmddHHMMSS>` (UTC)."""
    return f"{schedule}-{when.astimezone(timezone.utc).strftime('%Y%m%d%H%M%S')}"
