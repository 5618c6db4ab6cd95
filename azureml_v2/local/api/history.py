"""The part of Azure ML's run history that azure-ai-ml's ``jobs.stream`` reads: a run and its details, whose log files
are signed URLs of the job's folder on this server's blob endpoint (the container ``$runs``), as the service hands
out SAS URLs of its log blobs.

    GET /history/v1.0/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/
        workspaces/{workspace}/runs/{run}[/details]
"""
from __future__ import annotations

import json
import os
from http import HTTPStatus

from ..._contract import PROVIDER
from ..core.workspace import LOCAL_COMPUTE, SCOPE, NotFound, Store
from .blob import RUNS_CONTAINER, account_path, sas_query
from .http import Request, arm_error

HISTORY_PATH = "/history/v1.0/"
LOG_FOLDERS = ("user_logs", "system_logs")


class HistoryApi:
    """The run-history subset over a home's store (see the module docstring), as a WSGI app."""

    def __init__(self, store: Store):
        self.store = store

    def __call__(self, environ, start_response):
        try:
            status, body = self._handle(environ)
        except NotFound as exc:
            status, body = 404, arm_error("UserError", str(exc))
        data = json.dumps(body, separators=(",", ":")).encode()
        start_response(f"{status} {HTTPStatus(status).phrase}",
                       [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(data)))])
        return [data]

    def _handle(self, environ):
        segments = environ.get("PATH_INFO", "")[len(HISTORY_PATH):].strip("/").split("/")
        scope_ok = len(segments) >= 8 and [s.lower() for s in segments[:7:2]] == [s.lower() for s in SCOPE[::2]] \
            and segments[5].lower() == PROVIDER.lower()
        tail = segments[8:] if scope_ok else []
        if environ.get("REQUEST_METHOD") != "GET" or tail[:1] != ["runs"] or len(tail) not in (2, 3) \
                or tail[2:] not in ([], ["details"]):
            return 404, arm_error("ResourceNotFound", "the local workspace answers GET .../runs/{run} and "
                                                      ".../runs/{run}/details of its run history")
        ws, run = segments[7], tail[1]
        record = self.store.get_job(ws, run)
        return 200, self._details(Request(environ, 0), ws, record) if len(tail) == 3 else self._run(ws, record)

    @staticmethod
    def _run(ws: str, record: dict) -> dict:
        doc = record["doc"]
        error = {"error": {"code": "UserError", "message": record["error"]}} if record["error"] else None
        run = {"runId": record["name"], "status": record["status"], "target": LOCAL_COMPUTE,
               "experimentId": doc.get("experimentName"), "startTimeUtc": record["started_at"],
               "endTimeUtc": record["ended_at"], "error": error, "tags": doc.get("tags") or {},
               "properties": doc.get("properties") or {}, "displayName": doc.get("displayName"),
               "parentRunId": (doc.get("properties") or {}).get("azureml.parentJobName")}
        return {k: v for k, v in run.items() if v is not None}

    def _details(self, req: Request, ws: str, record: dict) -> dict:
        name = record["name"]
        folder = self.store.job_folder(ws, name)
        query = sas_query(self.store.home, ws, RUNS_CONTAINER, "r", prefix=name)
        logs = {}
        for part in LOG_FOLDERS:
            for base, _, files in os.walk(folder / part):
                for file in files:
                    rel = os.path.relpath(os.path.join(base, file), folder).replace(os.sep, "/")
                    logs[rel] = req.url(f"{account_path(ws)}/{RUNS_CONTAINER}/{name}/{rel}") + "?" + query
        return {**self._run(ws, record), "logFiles": dict(sorted(logs.items())), "warnings": [],
                "inputDatasets": [], "outputDatasets": []}
