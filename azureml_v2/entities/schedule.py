"""Schedules: a trigger (cron or recurrence, in a time zone) and what it does when it fires: create a job (a job
definition, or a copy of an existing job), or import data.

The REST form (api-version 2024-04-01) is `{"properties": {"displayName", "description", "tags", "properties",
"isEnabled", "trigger": {"triggerType": "Cron"|"Recurrence", ...}, "action": {"actionType": "CreateJob",
"jobDefinition": <a job's properties>}}}`. That api-version has no data import action: an import schedule loads,
dumps and round-trips, and its REST form is refused with the reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from .._firings import cron_to_rest
from ..exceptions import NOT_SUPPORTED, NotSupportedError, Problem
from ._base import Resource
from ._jobs import job_from_rest
from ._rest import compact, str_map

_FREQUENCY_REST = {"minute": "Minute", "hour": "Hour", "day": "Day", "week": "Week", "month": "Month"}


def _listed(value) -> list | None:
    """azure-ai-ml takes one value or a list for each part of a recurrence pattern; the wire takes lists."""
    if value is None or isinstance(value, list):
        return value
    return [value]


@dataclass(kw_only=True)
class _Trigger:
    """When a schedule starts and stops firing (wall-clock times in `time_zone`, a Windows zone name)."""

    start_time: str | None = None
    end_time: str | None = None
    time_zone: str | None = None  # UTC when unset

    def _base_rest(self, trigger_type: str) -> dict:
        return compact({"triggerType": trigger_type, "startTime": self.start_time, "endTime": self.end_time,
                        "timeZone": self.time_zone})

    @staticmethod
    def _from_rest(body: dict) -> "CronTrigger | RecurrenceTrigger":
        times = dict(start_time=body.get("startTime"), end_time=body.get("endTime"), time_zone=body.get("timeZone"))
        if body.get("triggerType") == "Cron":
            return CronTrigger(expression=body.get("expression"), **times)
        pattern = body.get("schedule")
        return RecurrenceTrigger(
            frequency=str(body.get("frequency", "")).lower(), interval=body.get("interval"), **times,
            schedule=None if not pattern else RecurrencePattern(
                hours=pattern.get("hours"), minutes=pattern.get("minutes"),
                week_days=[d.lower() for d in pattern["weekDays"]] if pattern.get("weekDays") else None,
                month_days=pattern.get("monthDays")))


@dataclass(kw_only=True)
class CronTrigger(_Trigger):
    """Fires at the times a five-field cron expression names, read in `time_zone`."""

    type: ClassVar[str] = "cron"
    expression: str

    def _rest(self) -> dict:
        return {**self._base_rest("Cron"), "expression": cron_to_rest(self.expression)}


@dataclass(kw_only=True)
class RecurrencePattern:
    """At which hours and minutes (and on which week days or month days) a recurrence fires."""

    hours: int | list[int]
    minutes: int | list[int]
    week_days: str | list[str] | None = None
    month_days: int | list[int] | None = None

    def _rest(self) -> dict:
        return compact({"hours": _listed(self.hours), "minutes": _listed(self.minutes),
                        "weekDays": [d.capitalize() for d in _listed(self.week_days)] if self.week_days else None,
                        "monthDays": _listed(self.month_days)})


@dataclass(kw_only=True)
class RecurrenceTrigger(_Trigger):
    """Fires every `interval` minutes, hours, days, weeks or months, from its start time (or at once)."""

    type: ClassVar[str] = "recurrence"
    frequency: str
    interval: int
    schedule: RecurrencePattern | None = None

    def _rest(self) -> dict:
        return compact({**self._base_rest("Recurrence"), "frequency": _FREQUENCY_REST.get(self.frequency,
                                                                                         self.frequency),
                        "interval": self.interval, "schedule": self.schedule and self.schedule._rest()})


@dataclass(kw_only=True)
class Schedule(Resource):
    """What every schedule has. `is_enabled` and `provisioning_state` are the service's (read-only)."""

    display_name: str | None = None
    trigger: CronTrigger | RecurrenceTrigger | None = None
    is_enabled: bool | None = field(default=None, compare=False)
    provisioning_state: str | None = field(default=None, compare=False)
    created_at: str | None = field(default=None, compare=False, repr=False)  # the service's (systemData)

    def _schedule_rest(self, action: dict) -> dict:
        return {"properties": compact({
            "description": self.description, "tags": str_map(self.tags), "properties": str_map(self.properties),
            "displayName": self.display_name, "isEnabled": True if self.is_enabled is None else self.is_enabled,
            "trigger": self.trigger._rest(), "action": action})}

    @staticmethod
    def _schedule_fields(resource: dict) -> dict:
        props = resource.get("properties", {})
        return dict(name=resource.get("name"), description=props.get("description"),
                    tags=props.get("tags") or None, properties=props.get("properties") or None,
                    display_name=props.get("displayName"), trigger=_Trigger._from_rest(props.get("trigger") or {}),
                    is_enabled=props.get("isEnabled", True), provisioning_state=props.get("provisioningState"),
                    created_at=(resource.get("systemData") or {}).get("createdAt"))

    @staticmethod
    def _from_rest(resource: dict) -> "Schedule":
        """A JobSchedule (or, for another action, the schedule's common fields with the action as sent)."""
        action = resource.get("properties", {}).get("action") or {}
        if action.get("actionType") == "CreateJob":
            return JobSchedule._from_rest(resource)
        return OtherSchedule(**Schedule._schedule_fields(resource), action=action)


@dataclass(kw_only=True)
class JobSchedule(Schedule):
    """Creates a job each time it fires: `create_job` is a job (from a file or written inline) or a reference to an
    existing job (`azureml:<name>` or its ARM id), which is copied."""

    create_job: Any = None

    def _rest(self, scope: str) -> dict:
        if isinstance(self.create_job, str):
            definition = {"jobType": "Pipeline", "sourceJobId": job_arm_id(self.create_job, scope)}
        else:
            definition = self.create_job._rest(scope)["properties"]
        return self._schedule_rest({"actionType": "CreateJob", "jobDefinition": definition})

    @classmethod
    def _from_rest(cls, resource: dict) -> "JobSchedule":
        definition = resource.get("properties", {}).get("action", {}).get("jobDefinition") or {}
        job = (f"azureml:{definition['sourceJobId']}" if definition.get("sourceJobId") and not definition.get("jobs")
               else job_from_rest({"properties": definition}))
        return cls(**cls._schedule_fields(resource), create_job=job)


def job_arm_id(reference: str, scope: str) -> str:
    """`azureml:<job name>` or `azureml:<ARM id>` -> the job's ARM id under `scope`."""
    value = reference.removeprefix("azureml:")
    return value if value.startswith("/") else f"{scope}/jobs/{value}"


@dataclass(kw_only=True)
class DataImportSource:
    """Where a data import reads: a database query (or table, stored procedure) or a file system path, through a
    workspace connection."""

    type: str
    connection: str
    query: str | None = None
    table_name: str | None = None
    stored_procedure: str | None = None
    stored_procedure_params: list[dict] | None = None
    path: str | None = None


@dataclass(kw_only=True)
class DataImport(Resource):
    """A data asset filled from an external source: `path` is where its data lands (may hold `${{name}}`)."""

    version: str | None = None
    type: str | None = None
    path: str | None = None
    source: DataImportSource | None = None


@dataclass(kw_only=True)
class ImportDataSchedule(Schedule):
    """Imports data each time it fires. Azure ML's 2024-04-01 API has no such action (only preview api-versions
    do): it loads and dumps, and `to_rest` says why it cannot be sent."""

    import_data: DataImport | None = None
    source_file: str | None = field(default=None, compare=False, repr=False)

    def _rest(self, scope: str) -> dict:
        raise NotSupportedError([Problem(
            f"{NOT_SUPPORTED}: the REST API 2024-04-01 has no data import schedule action (its actions are "
            "CreateJob, InvokeBatchEndpoint and CreateMonitor); Azure ML takes ImportData only in preview "
            "api-versions", path="import_data", source=self.source_file)])


@dataclass(kw_only=True)
class OtherSchedule(Schedule):
    """A schedule read from a workspace whose action this package does not model (a monitor, a batch endpoint
    invocation): its action is kept as sent, and sent back unchanged."""

    action: dict = field(default_factory=dict)

    def _rest(self, scope: str) -> dict:
        return self._schedule_rest(self.action)


@dataclass(kw_only=True)
class ScheduleTriggerResult:
    """What triggering a schedule once started: the job it created."""

    job_name: str | None = None
    schedule_action_type: str | None = None

    @classmethod
    def _from_rest(cls, body: dict) -> "ScheduleTriggerResult":
        return cls(job_name=body.get("submissionId"), schedule_action_type=body.get("scheduleActionType"))


@dataclass(kw_only=True)
class ScheduleFiring:
    """One firing of a schedule as the local workspace recorded it: when it was due (UTC), what became of it
    (`Fired`, `Missed` while no scheduler ran, `Failed`) and the job it created."""

    time: str
    status: str
    job_name: str | None = None
    manual: bool = False
    error: str | None = None

    @classmethod
    def _from_rest(cls, body: dict) -> "ScheduleFiring":
        return cls(time=body["scheduleTime"], status=body["status"], job_name=body.get("jobName"),
                   manual=bool(body.get("manual")), error=body.get("error"))
