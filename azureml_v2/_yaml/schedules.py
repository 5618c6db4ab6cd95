"""Schemas for schedules: cron and recurrence triggers, job schedules (`create_job`) and data import schedules
(`import_data`), and the dispatch of load_schedule on which of the two a file has."""
from __future__ import annotations

import datetime
import os

from marshmallow import ValidationError, fields, post_load, validates_schema
from marshmallow.validate import Range

from .. import _firings
from .._contract import DATA_TYPES, parse_ref
from ..entities import schedule as S
from ..exceptions import NOT_SUPPORTED
from .api import _DUMPERS, _schema, load
from .base import BASE_DIR, LOADING, BaseSchema
from .fields import NAME_PATTERN, Enum, Name, StrMap, Switch, Version, shown
from .jobs import TypedSchema


class TriggerTime(fields.Field):
    """A wall-clock time in the trigger's time zone, ISO 8601 without an offset (YAML may read it as a timestamp)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, datetime.datetime):
            if value.tzinfo is not None:
                raise ValidationError("write the time without an offset: it is read in the trigger's time_zone")
            return value.isoformat()
        if isinstance(value, datetime.date):
            return value.isoformat()
        if not isinstance(value, str):
            raise ValidationError("expected a time such as 2024-05-01T09:30:00")
        try:
            _firings.parse_time(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        return value

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class TimeZone(fields.String):
    """A time zone as Azure ML names them (Windows names: `UTC`, `Pacific Standard Time`)."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        problem = _firings.zone_problem(value)
        if problem:
            raise ValidationError(problem)
        return value


class Numbers(fields.Field):
    """One whole number or a list of them, each in [low, high] (azure-ai-ml takes both forms)."""

    def __init__(self, low: int, high: int, **kwargs):
        super().__init__(**kwargs)
        self.low, self.high = low, high

    def _deserialize(self, value, attr, data, **kwargs):
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, bool) or not isinstance(item, int):
                raise ValidationError(f"expected a whole number or a list of them, got {shown(item)}")
            if not self.low <= item <= self.high:
                raise ValidationError(f"{item} is out of range: expected {self.low} to {self.high}")
        return value

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class WeekDays(fields.Field):
    """One week day or a list of them (`monday` ... `sunday`)."""

    _day = Enum(_firings.WEEK_DAYS)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, list):
            return [self._day.deserialize(v) for v in value]
        return self._day.deserialize(value)

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class _TriggerSchema(TypedSchema):
    start_time = TriggerTime()
    end_time = TriggerTime()
    time_zone = TimeZone()
    order = ("type", "expression", "frequency", "interval", "schedule", "start_time", "end_time", "time_zone")

    @validates_schema(skip_on_field_errors=True)
    def _ends_after_start(self, data, **_):
        start, end = data.get("start_time"), data.get("end_time")
        if start and end and _firings.parse_time(end) <= _firings.parse_time(start):
            raise ValidationError(f"the end time {end} is not after the start time {start}", "end_time")


class CronTriggerSchema(_TriggerSchema):
    entity = S.CronTrigger
    type = Enum(("cron",))
    expression = fields.String(required=True)

    @validates_schema(skip_on_field_errors=True)
    def _expression(self, data, **_):
        problem = _firings.cron_problem(data["expression"])
        if problem:
            raise ValidationError(problem, "expression")


class RecurrencePatternSchema(BaseSchema):
    entity = S.RecurrencePattern
    hours = Numbers(0, 23, required=True)
    minutes = Numbers(0, 59, required=True)
    week_days = WeekDays()
    month_days = Numbers(1, 31)


class RecurrenceTriggerSchema(_TriggerSchema):
    entity = S.RecurrenceTrigger
    type = Enum(("recurrence",))
    frequency = Enum(_firings.FREQUENCIES, required=True)
    interval = fields.Integer(strict=True, required=True, validate=Range(min=1, error="must be at least 1"))
    schedule = fields.Nested(RecurrencePatternSchema)

    @validates_schema(skip_on_field_errors=True)
    def _pattern(self, data, **_):
        pattern, frequency = data.get("schedule"), data["frequency"]
        if pattern is None:
            return
        if frequency in ("minute", "hour"):
            raise ValidationError(f"a {frequency} recurrence takes no schedule pattern: its hours and minutes "
                                  "apply to day, week and month recurrences", "schedule")
        if pattern.week_days and frequency != "week":
            raise ValidationError("week_days applies to a week recurrence only", "schedule")
        if pattern.month_days and frequency != "month":
            raise ValidationError("month_days applies to a month recurrence only", "schedule")


def trigger_field(**kwargs) -> Switch:
    return Switch({"cron": CronTriggerSchema, "recurrence": RecurrenceTriggerSchema}, **kwargs)


class _ScheduleSchema(BaseSchema):
    schema = fields.String(data_key="$schema")
    name = Name(required=True)
    display_name = fields.String()
    description = fields.String()
    tags = StrMap(nulls=True)
    properties = StrMap(nulls=True)
    trigger = trigger_field(required=True)
    # the service's, shown by `show` and never sent
    is_enabled = fields.Boolean(dump_only=True)
    provisioning_state = fields.String(dump_only=True)


# -- create_job ------------------------------------------------------------------------------------------------
def _dotted(updates: dict, prefix: str = "") -> dict:
    """{"inputs": {"x": 1}} -> {"inputs.x": 1}: updates to a job file, applied as overrides (a deep merge)."""
    out = {}
    for key, value in updates.items():
        if isinstance(value, dict) and value:
            out.update(_dotted(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _file_at(path: str, what: str) -> str:
    """A file named relative to the schedule's file, which must exist."""
    full = os.path.normpath(os.path.join(BASE_DIR.get(os.getcwd()), os.path.expanduser(path)))
    if not os.path.isfile(full):
        raise ValidationError(f"no such {what} file: {full} (from {shown(path)})")
    return full


class CreateJobField(fields.Field):
    """The job a schedule creates: a job file (`./job.yml`, or `{job: ./job.yml, <updates>}`), a job written inline,
    or an existing job (`azureml:<name>` or `azureml:<ARM id>`), copied each time."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and value.startswith("azureml:"):
            return self._reference(value)
        if isinstance(value, str):
            return self._file(value, {})
        if not isinstance(value, dict):
            raise ValidationError("expected a job file, azureml:<job name> or a job mapping")
        if "job" in value:
            reference = value["job"]
            if not isinstance(reference, str):
                raise ValidationError({"job": ["expected a job file or azureml:<job name>"]})
            updates = {k: v for k, v in value.items() if k != "job"}
            if reference.startswith("azureml:"):
                if updates:
                    raise ValidationError({"job": [f"{NOT_SUPPORTED}: updates to an existing job ("
                                                   f"{', '.join(sorted(updates))})"]})
                return self._reference(reference)
            return self._file(reference, updates)
        return _schema("kinds", "JobSchema").load(value)

    @staticmethod
    def _reference(value: str) -> str:
        target = value.removeprefix("azureml:")
        if "/" in target:
            try:
                parse_ref(value, "jobs")
            except ValueError as exc:
                raise ValidationError(str(exc)) from None
        elif not NAME_PATTERN.match(target):
            raise ValidationError(f"invalid job reference {shown(value)}: expected azureml:<job name> or "
                                  "azureml:<ARM id of a job>")
        return value

    @staticmethod
    def _file(path: str, updates: dict):
        full = _file_at(path, "job")
        return load("job", full, params_override=[_dotted(updates)] if updates else None)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None or isinstance(value, str):
            return value
        return _schema(*_DUMPERS[type(value).__name__]).dump(value)


class JobScheduleSchema(_ScheduleSchema):
    entity = S.JobSchedule
    create_job = CreateJobField(required=True)


# -- import_data -----------------------------------------------------------------------------------------------
class DataImportSourceSchema(BaseSchema):
    entity = S.DataImportSource
    type = Enum(("database", "file_system"), required=True)
    connection = fields.String(required=True)
    query = fields.String()
    table_name = fields.String()
    stored_procedure = fields.String()
    stored_procedure_params = fields.List(fields.Dict(keys=fields.String()))
    path = fields.String()

    @validates_schema(skip_on_field_errors=True)
    def _fits_type(self, data, **_):
        database = ("query", "table_name", "stored_procedure", "stored_procedure_params")
        wrong = ("path",) if data["type"] == "database" else database
        given = [k for k in wrong if data.get(k) is not None]
        if given:
            raise ValidationError(f"a {data['type']} source takes no {given[0]}", given[0])
        if data["type"] == "database" and not any(data.get(k) for k in database[:3]):
            raise ValidationError("a database source needs a query, a table_name or a stored_procedure", "query")


class DataImportSchema(BaseSchema):
    entity = S.DataImport
    schema = fields.String(data_key="$schema")
    name = Name(required=True)
    version = Version()
    description = fields.String()
    tags = StrMap(nulls=True)
    properties = StrMap(nulls=True)
    type = Enum(DATA_TYPES)
    path = fields.String(required=True)
    source = fields.Nested(DataImportSourceSchema, required=True)


class ImportDataField(fields.Field):
    """The data import a schedule runs: a file (`./import.yml`) or written inline."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            return load("data_import", _file_at(value, "data import"))
        if not isinstance(value, dict):
            raise ValidationError("expected a data import file or mapping")
        return _schema("schedules", "DataImportSchema").load(value)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else _schema("schedules", "DataImportSchema").dump(value)


class ImportDataScheduleSchema(_ScheduleSchema):
    entity = S.ImportDataSchedule
    import_data = ImportDataField(required=True)

    @post_load
    def _build(self, data, **_):
        loading = LOADING.get()
        return S.ImportDataSchedule(**data, source_file=loading[-1] if loading else None)


# -- the dispatch ----------------------------------------------------------------------------------------------
class ScheduleSchema:
    """A job schedule (`create_job`) or a data import schedule (`import_data`)."""

    def load(self, data):
        if "create_job" in data:
            return _schema("schedules", "JobScheduleSchema").load(data)
        if "import_data" in data:
            return _schema("schedules", "ImportDataScheduleSchema").load(data)
        if "create_monitor" in data:
            raise ValidationError({"create_monitor": [f"{NOT_SUPPORTED}: model monitoring schedules"]})
        raise ValidationError({"create_job": ["a schedule needs an action: create_job (a job file, azureml:<job "
                                              "name> or a job mapping) or import_data"]})
