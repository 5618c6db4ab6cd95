"""The part of Azure ML's run history that azure-ai-ml's ``jobs.stream`` and ``jobs.download`` read: a run and its
details, whose log files are signed URLs of the job's folder on this server's blob endpoint (the container
``$runs``), as the service hands out SAS URLs of its log blobs; a run's children (a batch job's scoring step, a
pipeline's steps, a sweep's trials: PaginatedRunList, oldest first, ``$top`` and ``nextLink`` paging); and a run's
data, whose outputs are the assets the data planes resolve (:mod:`.dataplane`).

    GET /history/v1.0/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/
        workspaces/{workspace}/runs/{run}[/details|/children]
    POST /history/v1.0/subscriptions/{s}/.../workspaces/{workspace}/rundata      (GetRunDataRequest)
"""
from __future__ import annotations

import os
from urllib.parse import urlencode

from ..._contract import PROVIDER
from ..core.workspace import LOCAL_COMPUTE, BadRequest, Page, Store
from .blob import LOG_FOLDERS, RUNS_CONTAINER, account_path, sas_query
from .dataplane import output_assets
from .http import JsonApi, Request, arm_error, invalid, workspace_route

HISTORY_PATH = "/history/v1.0/"
CHILDREN_PAGE = 100


class HistoryApi(JsonApi):
    """The run-history subset over a home's store (see the module docstring), as a WSGI app."""

    def __init__(self, store: Store, max_body: int):
        self.store, self.max_body = store, max_body

    def _handle(self, environ):
        route = workspace_route(environ.get("PATH_INFO", ""), HISTORY_PATH, PROVIDER)
        ws, tail = route if route is not None else (None, [])
        method = environ.get("REQUEST_METHOD")
        if method == "POST" and tail == ["rundata"]:
            return 200, self._run_data(ws, Request(environ, self.max_body))
        if method != "GET" or tail[:1] != ["runs"] or len(tail) not in (2, 3) or \
                tail[2:] not in ([], ["details"], ["children"]):
            return 404, arm_error("ResourceNotFound", "the local workspace answers GET .../runs/{run}, "
                                                      ".../runs/{run}/details, .../runs/{run}/children and POST "
                                                      ".../rundata of its run history")
        record = self.store.get_job(ws, tail[1])
        if tail[2:] == ["children"]:
            return 200, self._children(Request(environ, 0), ws, record["name"])
        return 200, self._details(Request(environ, 0), ws, record) if len(tail) == 3 else self._run(ws, record)

    def _children(self, req: Request, ws: str, run: str) -> dict:
        """PaginatedRunList: the runs whose parent is `run`, oldest first; `$top` bounds them all, `nextLink` (with
        `$continuationtoken`) names the next page."""
        asked = [key for key in ("$filter", "$orderby", "$sortorder") if req.query.get(key) is not None]
        if asked:  # answered unfiltered and in another order, the list would mislead
            raise invalid(f"{', '.join(asked)}: the local workspace lists a run's children oldest first, unfiltered")
        try:
            page = Page(CHILDREN_PAGE, req.query.get("$continuationtoken"), ascending=True,
                        limit=req.query.integer("$top", 1))
        except BadRequest:
            raise invalid("invalid $continuationtoken: pass the nextLink of the previous page unchanged") from None
        records, token = self.store.list_jobs(ws, page, "All", run)
        answer = {"value": [self._run(ws, r) for r in records]}
        if token:
            pairs = [("$continuationtoken", token)]
            if page.limit is not None:
                pairs.append(("$top", str(page.limit - len(records))))
            answer["nextLink"] = req.url(req.environ.get("PATH_INFO", "")) + "?" + urlencode(pairs, safe="$")
        return answer

    def _run_data(self, ws: str, req: Request) -> dict:
        """GetRunDataResult: the run (with its outputs as assets) and, when asked, its definition (the job's REST
        properties: the local workspace has no other)."""
        ask = req.json("the request needs a JSON body (GetRunDataRequest) with a 'runId'")
        run = ask.get("runId")
        if not isinstance(run, str) or not run:
            raise invalid("GetRunDataRequest needs a 'runId' (the job's name)")
        record = self.store.get_job(ws, run)
        answer = {"runMetadata": self._run(ws, record) if ask.get("selectRunMetadata") else None,
                  "runDefinition": record["doc"] if ask.get("selectRunDefinition") else None,
                  "jobSpecification": record["doc"] if ask.get("selectJobSpecification") else None}
        return {k: v for k, v in answer.items() if v is not None}

    @staticmethod
    def _run(ws: str, record: dict) -> dict:
        doc = record["doc"]
        error = {"error": {"code": "UserError", "message": record["error"]}} if record["error"] else None
        run = {"runId": record["name"], "status": record["status"], "target": LOCAL_COMPUTE,
               "experimentId": doc.get("experimentName"), "startTimeUtc": record["started_at"],
               "endTimeUtc": record["ended_at"], "error": error, "tags": doc.get("tags") or {},
               "properties": doc.get("properties") or {}, "displayName": doc.get("displayName"),
               "parentRunId": (doc.get("properties") or {}).get("azureml.parentJobName"),
               "outputs": output_assets(ws, record["name"], doc.get("outputs") or {}) or None}
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
