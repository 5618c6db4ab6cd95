"""Schedules, as azure-ai-ml's `schedules`: create or update (long-running), get, list, enable, disable, trigger
once, delete; and what Azure ML does not show: when a schedule fires next (from its trigger, on any workspace) and,
on the local workspace, every firing it recorded with the job it created."""
from __future__ import annotations

import copy
from datetime import datetime, timezone
from pathlib import Path

from azure.core.paging import ItemPaged
from azure.core.polling import LROPoller

from .. import _firings
from .._contract import DEFAULT_EXPERIMENT
from ..entities.job import Job
from ..entities.schedule import (JobSchedule, Schedule, ScheduleFiring, ScheduleTriggerResult)
from ..exceptions import ValidationError
from ._base import Operations

# Azure ML answers a trigger-once request from this api-version on (2024-04-01 has no such route)
TRIGGER_API_VERSION = "2024-01-01-preview"
LIST_VIEWS = ("EnabledOnly", "DisabledOnly", "All")


class ScheduleOperations(Operations):
    """begin_create_or_update, get, list, begin_enable, begin_disable, trigger, begin_delete, next_firings and
    firings."""

    def begin_create_or_update(self, schedule: Schedule) -> LROPoller:
        """Create or update a schedule; the poller's result is the schedule once provisioned. A job written in the
        schedule has its local code and data uploaded and its environment created first, as a job submitted."""
        if not schedule.name:
            raise ValidationError(f"{type(schedule).__name__}: name is required")
        if isinstance(schedule, JobSchedule) and isinstance(schedule.create_job, Job):
            schedule = copy.copy(schedule)
            job = schedule.create_job = copy.deepcopy(schedule.create_job)
            job.experiment_name = job.experiment_name or Path.cwd().name.replace(" ", "") or DEFAULT_EXPERIMENT
            jobs = self._ml_client.jobs
            jobs.validate(job, raise_on_failure=True)
            jobs._resolve_dependencies(job)
        body = schedule.to_rest(scope=self._ml_client._scope)
        return self._begin("PUT", "schedules", schedule.name, json=body, ok=(200, 201),
                           from_rest=Schedule._from_rest)

    def get(self, name: str) -> Schedule:
        return Schedule._from_rest(self._get("schedules", name))

    def list(self, *, list_view_type: str = "EnabledOnly") -> ItemPaged:
        """The workspace's schedules: EnabledOnly (the default, as Azure ML), DisabledOnly or All."""
        view = {v.lower(): v for v in LIST_VIEWS}.get(str(list_view_type).lower())
        if view is None:
            raise ValidationError(f"list_view_type: {list_view_type!r} is not one of {', '.join(LIST_VIEWS)}")
        return self._paged(Schedule._from_rest, "schedules", params={"listViewType": view})

    def begin_enable(self, name: str) -> LROPoller:
        return self._set_enabled(name, True)

    def begin_disable(self, name: str) -> LROPoller:
        """Stop a schedule firing (it is kept, and `begin_enable` starts it again)."""
        return self._set_enabled(name, False)

    def _set_enabled(self, name: str, enabled: bool) -> LROPoller:
        # the schedule as the service holds it goes back with the one change, as azure-ai-ml sends it
        resource = self._get("schedules", name)
        props = {k: v for k, v in resource.get("properties", {}).items() if k != "provisioningState"}
        props["isEnabled"] = enabled
        return self._begin("PUT", "schedules", name, json={"properties": props}, ok=(200, 201),
                           from_rest=Schedule._from_rest)

    def begin_delete(self, name: str) -> LROPoller:
        return self._begin("DELETE", "schedules", name)

    def trigger(self, name: str, *, schedule_time: str | None = None) -> ScheduleTriggerResult:
        """Fire a schedule once now (its action runs as if `schedule_time`, default now, were a firing)."""
        when = schedule_time or datetime.now(timezone.utc).isoformat()
        body = self._send("POST", "schedules", name, "trigger", json={"scheduleTime": when},
                          api_version=TRIGGER_API_VERSION).json()
        return ScheduleTriggerResult._from_rest(body)

    def next_firings(self, schedule: Schedule | str, count: int = 5) -> list[datetime]:
        """When the schedule fires next (UTC), at most `count` times; [] when it is disabled or has ended."""
        if isinstance(schedule, str):
            schedule = self.get(schedule)
        if schedule.is_enabled is False or schedule.trigger is None:
            return []
        now = datetime.now(timezone.utc)
        # a recurrence without a start time counts its intervals from when the schedule was made
        origin = datetime.fromisoformat(schedule.created_at.replace("Z", "+00:00")) if schedule.created_at else now
        try:
            return list(_firings.firings(schedule.trigger._rest(), now, None, origin=origin, limit=count))
        except ValueError:  # a trigger that never fires (February 31st) or that this package cannot read
            return []

    def firings(self, name: str) -> list[ScheduleFiring]:
        """Every firing the local workspace recorded for schedule `name`, newest first: fired (with its job), missed
        while no scheduler ran, or failed (with why)."""
        if not self._backend.records_firings:
            raise self._backend.not_available("a schedule's past firings", "Azure ML lists the jobs a schedule "
                                              "created in the studio (the schedule's page), not through ARM")
        body = self._get("schedules", name, "firings")
        return [ScheduleFiring._from_rest(item) for item in body.get("value", [])]
