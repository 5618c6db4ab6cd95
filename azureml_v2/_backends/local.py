"""The local workspace: answered in this process (through a WSGI transport, no socket) or served by
`azml server` (a bearer token). It also offers what Azure ML keeps outside ARM: a job's log file (in this
process), child jobs and sweep trials, and metrics through its MLflow tracking API."""
from __future__ import annotations

import itertools
import json
from pathlib import Path
from urllib.parse import quote, urlsplit

from azure.core.exceptions import ResourceNotFoundError
from azure.core.rest import HttpRequest

from .._contract import (API_VERSION, BEST_CHILD, EARLY_TERMINATED, LOCAL_COMPUTE, PARENT_JOB_PARAM, TERMINAL_STATUSES,
                         TRIAL_PARAMS_PROPERTY, TRIAL_PROPERTY, job_error)
from .._http.inprocess import AsyncWSGITransport, WSGITransport
from .._http.pipeline import http_error
from .._trials import SweepView, Trial
from ..exceptions import ValidationError
from ..local import curated_environment, default_home, job_folder, make_app, served_certificate, served_token
from .base import Backend

# The in-process transport needs a URL to route; it never leaves this process.
IN_PROCESS_URL = "http://localhost"
LOG_POLL = 0.25  # seconds between reads of a job's log file and status, in this process
FIRST_LOOKS = (0.02, 0.04, 0.08, 0.16)
METRICS_PAGE = 1000
USER_LOGS = "user_logs"  # a job's folder of the logs it writes


def _read_folder(folder: Path) -> dict[str, bytes]:
    """The files under `folder` (path under it, with '/' -> content); none when it does not exist."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _check_endpoint(endpoint) -> None:
    """`http(s)://host[:port]`, as `azml server start` prints it; else one ValidationError before any request."""
    try:
        parts = urlsplit(endpoint)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 0) >= 0 \
            and not any(c.isspace() for c in endpoint)
    except (TypeError, ValueError, AttributeError):  # not a string, a port that is not a number or out of range
        valid = False
    if not valid:
        raise ValidationError(f"endpoint {endpoint!r}: expected http://HOST:PORT, as `azml server start` prints it")


def _home(home) -> Path:
    """The workspace folder `home` names ($AZUREML_V2_HOME or its default when None), user expanded."""
    try:
        return Path(default_home() if home is None else home).expanduser()
    except TypeError:  # not a path
        raise ValidationError(f"home {home!r}: expected the path of a local workspace folder") from None


class LocalBackend(Backend):
    """The local workspace in folder `home`, in this process, or the one served at `endpoint`."""

    where = "the local workspace"
    is_local = True
    default_polling_interval = 1
    verifies_environment_at_submit = True  # its runner would only find a missing one at run time
    builtin_computes = frozenset({LOCAL_COMPUTE})  # this machine
    # it reads assetName/assetVersion at its one api-version and registers the outputs when the job completes
    named_outputs_api_version = API_VERSION
    records_firings = True

    def __init__(self, scope: str, options: dict, *, home=None, endpoint: str | None = None,
                 token: str | None = None):
        if endpoint is None:
            self.home = _home(home).resolve()
            super().__init__(IN_PROCESS_URL, scope, options)
        else:
            _check_endpoint(endpoint)
            served = _home(home)  # whose server: its token file
            if token is None:
                token = served_token(endpoint.rstrip("/"), served)
            if token is None:
                raise ValidationError(f"endpoint {endpoint}: no server of {served} listens there, so its "
                                      "token is unknown; pass credential=<token> (`azml server token` in that "
                                      "workspace prints it)")
            if endpoint.startswith("https:") and "connection_verify" not in options:
                cafile = served_certificate(endpoint.rstrip("/"), served)  # made by `azml server start --tls`
                options = {**options, "connection_verify": cafile} if cafile else options
            super().__init__(endpoint, scope, options, token=token)
        self._app = None

    # -- transport -----------------------------------------------------------------------------------------
    def _pipeline_options(self, options: dict) -> dict:
        if self.home is None or "transport" in options:
            return options
        self._app = make_app(self.home)
        transport = AsyncWSGITransport(self._app) if self.asynchronous else WSGITransport(self._app)
        return {**options, "transport": transport}

    def close(self) -> None:
        """Release the pipeline and the workspace's store (in this process)."""
        super().close()
        self._close_app()

    async def aclose(self) -> None:
        await super().aclose()
        self._close_app()

    def _close_app(self) -> None:
        with self._lock:
            if self._app is not None:
                self._app.close()
                self._app = None

    # -- logs ----------------------------------------------------------------------------------------------
    def job_log(self, workspace: str, name: str) -> Path | None:
        if self.home is None:  # served: the job's files are the server's
            return None
        return job_folder(self.home, workspace, name) / "user_logs" / "std_log.txt"

    def user_logs(self, workspace: str, name: str) -> dict[str, bytes]:
        # the job's folder, which the artifact store leaves out: read here, or fetched as the run history lists them
        if self.home is not None:
            return self.offload(_read_folder, job_folder(self.home, workspace, name) / USER_LOGS)
        response = self.pipeline.send_request(HttpRequest(
            "GET", f"{self.endpoint}/history/v1.0{self.scope}/runs/{quote(name, safe='')}/details"))
        if response.status_code != 200:
            raise http_error(response)
        logs = {}
        for path, url in (response.json().get("logFiles") or {}).items():
            parts = path.split("/")
            if parts[0] != USER_LOGS or len(parts) < 2 or any(p in ("", ".", "..") for p in parts[1:]):
                continue  # another folder's (system_logs/), or not a path inside user_logs/
            logs["/".join(parts[1:])] = self._fetch(url)
        return logs

    def _fetch(self, url: str) -> bytes:
        """The body of GET `url` as it is: streamed, so the pipeline does not decode it by its content type."""
        response = self.pipeline.send_request(HttpRequest("GET", url), stream=True)
        content = self._bridge.await_only(response.read()) if self.asynchronous else response.read()
        if response.status_code != 200:
            raise http_error(response)
        return content

    def follow_delays(self, polling_interval: float):
        if self.home is None:
            return super().follow_delays(polling_interval)
        # a short job ends within a few looks: look soon, then every LOG_POLL (a read here costs no request)
        return itertools.chain(FIRST_LOOKS, itertools.repeat(LOG_POLL))

    # -- environments --------------------------------------------------------------------------------------
    def keeps_curated_environment(self, reference: str) -> bool:
        # not stored in the workspace: its runner maps them to local equivalents
        return curated_environment(reference) is not None

    # -- child jobs and trials -----------------------------------------------------------------------------
    def child_jobs(self, parent: str, what: str) -> dict:
        return {PARENT_JOB_PARAM: parent}

    def sweep_view(self, resource: dict, children, metrics: dict) -> SweepView:
        props = resource.get("properties", {})
        objective = props.get("objective") or {}
        key = objective.get("primaryMetric", "")
        trials = []
        for child in children:
            child_props = child.get("properties", {})
            user = child_props.get("properties") or {}
            status = child_props.get("status")
            number = user.get(TRIAL_PROPERTY, child["name"].rpartition("_")[2])
            if child["name"] in metrics:
                metric = metrics[child["name"]]
            else:
                metric = self._last_metric(child["name"], key) if status != "NotStarted" else None
                if status in TERMINAL_STATUSES:
                    metrics[child["name"]] = metric
            trials.append(Trial(number=int(number) if str(number).isdigit() else -1, name=child["name"],
                                status=status, params=json.loads(user.get(TRIAL_PARAMS_PROPERTY) or "{}"),
                                metric=metric, early_terminated=user.get(EARLY_TERMINATED) == "true",
                                error=job_error(child)))
        trials.sort(key=lambda t: t.number)
        return SweepView(name=resource["name"], status=props.get("status"),
                         goal=(objective.get("goal") or "Minimize").lower(), primary_metric=key,
                         parameters=list(props.get("searchSpace") or {}), trials=trials,
                         best_name=(props.get("properties") or {}).get(BEST_CHILD))

    def _last_metric(self, run: str, key: str) -> float | None:
        """The last value `run` logged for metric `key` (None: none yet, or the run has not started)."""
        try:
            points = self._metric_history(run, key)
        except ResourceNotFoundError:
            return None
        return points[-1][1] if points else None

    # -- metrics -------------------------------------------------------------------------------------------
    def metrics(self, run: str) -> dict[str, list[tuple[int, float, int]]]:
        found = self._mlflow("runs/get", {"run_id": run})["run"]
        return {m["key"]: self._metric_history(run, m["key"]) for m in found.get("data", {}).get("metrics", [])}

    def _metric_history(self, run: str, key: str) -> list[tuple[int, float, int]]:
        token, points = None, []
        while True:
            params = {"run_id": run, "metric_key": key, "max_results": METRICS_PAGE}
            if token:
                params["page_token"] = token
            page = self._mlflow("metrics/get-history", params)
            points += [(int(p.get("step", 0)), float(p["value"]), int(p["timestamp"]))
                       for p in page.get("metrics", [])]
            token = page.get("next_page_token")
            if not token:
                return points

    def _mlflow(self, path: str, params: dict) -> dict:
        # under the workspace's ARM path, as Azure ML's tracking URI has it: the service picks the workspace from it
        request = HttpRequest("GET", f"{self.workspace_url}/api/2.0/mlflow/{path}", params=params)
        response = self.pipeline.send_request(request)
        if response.status_code != 200:
            error = type(http_error(response))
            try:  # MLflow's error body: {"error_code": ..., "message": ...}
                message = response.json().get("message")
            except (ValueError, AttributeError):
                message = None
            exc = error(message=message or response.text())  # not response=: it would parse an ARM error body
            exc.status_code, exc.reason = response.status_code, response.reason
            raise exc
        return response.json()
