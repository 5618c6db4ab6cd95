"""The ARM routes of schedules (a mixin of :class:`~azureml_v2.local.api.arm.ArmApi`): create or update (a
long-running operation, finished at once), get, list (``listViewType``), delete, trigger once (Azure ML's preview
route), and, on the local workspace only, ``GET .../schedules/{name}/firings``: every firing recorded."""
from __future__ import annotations

from datetime import datetime, timezone

from ..core.schedules import Scheduler, check_schedule, moment
from ..core.workspace import Store
from .http import invalid

_VIEWS = {"EnabledOnly": True, "DisabledOnly": False, "All": None}


class ScheduleRoutes:
    store: Store
    resource = None  # arm._resource: a resource's ARM body (set by ArmApi)

    @property
    def _scheduler(self) -> Scheduler:
        scheduler = self.__dict__.get("_schedules_firer")
        if scheduler is None:
            scheduler = self.__dict__["_schedules_firer"] = Scheduler(self.store, self.jobs)
        return scheduler

    def _schedule(self, ws: str, record: dict) -> dict:
        props = {**record["doc"], "isEnabled": bool(record["enabled"]), "provisioningState": "Succeeded"}
        return self.resource(ws, ("schedules", record["name"]), record["name"], "schedules", props, record)

    def list_schedules(self, req, ws):
        view = req.query.choice("listViewType", tuple(_VIEWS), "EnabledOnly")
        page = self._page(req)
        records, token = self._scheduler.schedules.list(ws, page, _VIEWS[view])
        return self._list(req, [self._schedule(ws, r) for r in records], token, page)

    def get_schedule(self, req, ws, name):
        return 200, self._schedule(ws, self._scheduler.schedules.get(ws, name)), {}

    def put_schedule(self, req, ws, name):
        body = req.json("the request needs a JSON body with properties")
        props = body.get("properties") if isinstance(body, dict) else None
        if not isinstance(props, dict):
            raise invalid("properties is required (an object with trigger and action)")
        record, created, op = self._scheduler.schedules.put(ws, name, check_schedule(props), self.user,
                                                            self.store._operation)
        return (201 if created else 200), self._schedule(ws, record), self._operation_headers(req, ws, op)

    def delete_schedule(self, req, ws, name):
        return (200 if self._scheduler.schedules.delete(ws, name) else 204), None, {}

    def trigger_schedule(self, req, ws, name):
        body = req.json() or {}
        when = body.get("scheduleTime") if isinstance(body, dict) else None
        try:
            due = datetime.fromisoformat(when) if when else datetime.now(timezone.utc)
        except (TypeError, ValueError):
            raise invalid(f"scheduleTime: {when!r} is not an ISO 8601 time") from None
        due = due if due.tzinfo else due.replace(tzinfo=timezone.utc)
        self._scheduler.schedules.get(ws, name)  # 404 before anything is recorded
        firing = self._scheduler.trigger(ws, name, due)
        return 200, {"submissionId": firing["job"], "scheduleActionType": firing["doc"]["action"]["actionType"]}, {}

    def list_schedule_firings(self, req, ws, name):
        rows = self._scheduler.schedules.firings(ws, name)
        return 200, {"value": [{"scheduleTime": moment(r["due_at"]).isoformat(), "status": r["status"],
                                "jobName": r["job"], "manual": bool(r["manual"]), "error": r["error"]}
                               for r in rows]}, {}
