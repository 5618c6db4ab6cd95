"""MLflow's tracking REST API (the subset MLflow 3 clients call for runs, metrics, params, tags, inputs/outputs and
logged models) over the tracking database, as a WSGI app, and served on loopback for one job.

    app = make_tracking_app(home)                 # WSGI: /api/2.0/mlflow/...
    with serve_for_job(home, ws, job, experiment, artifact_dir) as env:   # MLFLOW_* variables for the job
        ...

As on Azure ML, a job's run id is the job name (MLflow accepts any ``[a-zA-Z0-9][\\w-]*`` id) and its experiment is
the job's experiment. Artifact URIs are ``file://`` folders, so clients write artifacts straight to disk and no
artifact proxy is needed. Paths may carry Azure ML's workspace prefix (``.../workspaces/<ws>/api/2.0/mlflow/...``);
without one a request belongs to the app's default workspace. Errors are MLflow's error JSON
(``error_code``, ``message``). This module does not import mlflow.
"""
from __future__ import annotations

import base64
import json
import logging
import re
import secrets
import socket
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, unquote

from ..._contract import DEFAULT_EXPERIMENT, LOCAL_WORKSPACE
from ..core.metrics import (MAX_BATCH, MAX_BATCH_TOTAL, MAX_RESULTS, MlflowError, TrackingStore,
                            double, ensure_run, invalid, required, tag_pair, tracking_store)
from .http import MAX_BODY, WORKSPACE_NAME, HttpError, guard_slow_clients, read_body, require_token, stop_server

# MLflow's HTTP status for each error code (mlflow/exceptions.py)
_STATUS = {"INVALID_PARAMETER_VALUE": 400, "MALFORMED_REQUEST": 400, "RESOURCE_ALREADY_EXISTS": 400,
           "INVALID_STATE": 400, "PERMISSION_DENIED": 403, "RESOURCE_DOES_NOT_EXIST": 404, "ENDPOINT_NOT_FOUND": 404,
           "INTERNAL_ERROR": 500}
# what a body whose fields have the wrong JSON types raises on its way through the API and the store
_WRONG_TYPE = (TypeError, AttributeError, KeyError, OverflowError, sqlite3.InterfaceError, sqlite3.ProgrammingError)
log = logging.getLogger(__name__)
_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error"}


# -- search filters: MLflow's search syntax, clauses joined by AND (enough for the filters clients send)

_CLAUSE = re.compile(
    r"""\s*(?P<ident>`[^`]+`|"[^"]+"|[\w.]+(?:\.`[^`]+`|\."[^"]+")?)\s*
        (?P<op>!=|>=|<=|=|>|<|\bLIKE\b|\bILIKE\b|\bIS\s+NOT\b|\bIS\b)\s*
        (?P<value>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|-?[\d.]+(?:e-?\d+)?|NULL)\s*(?:\bAND\b|$)""",
    re.IGNORECASE | re.VERBOSE)


_KINDS = {"metric": "metric", "metrics": "metric", "param": "param", "params": "param", "parameter": "param",
          "parameters": "param", "tag": "tag", "tags": "tag", "attribute": "attribute", "attributes": "attribute",
          "attr": "attribute", "run": "attribute"}


def _parse_filter(text: str | None) -> list[tuple[str, str, str, object]]:
    """'metrics.rmse < 0.5 and params.lr = "0.1"' -> [(kind, key, op, value), ...]."""
    clauses, pos, text = [], 0, (text or "").strip()
    while pos < len(text):
        match = _CLAUSE.match(text, pos)
        if not match or match.end() == pos:
            raise invalid(f"Invalid filter '{text}': could not parse at '{text[pos:]}'. Use clauses like "
                           "metrics.x > 1, params.x = 'a', tags.x = 'a', attributes.status = 'FINISHED' joined "
                           "by AND.")
        pos = match.end()
        ident = match["ident"]
        kind, _, key = ident.partition(".")
        if ident.startswith(("`", '"')) or kind.lower() not in _KINDS:
            kind, key = "attribute", ident
        raw = match["value"]
        value = None if raw.upper() == "NULL" else raw[1:-1] if raw[0] in "'\"" else float(raw)
        clauses.append((_KINDS.get(kind.lower(), kind), key.strip('`"'), " ".join(match["op"].upper().split()), value))
    return clauses


def _compare(actual, op: str, expected) -> bool:
    if op in ("IS", "IS NOT"):
        return (actual is None) == (op == "IS")
    if actual is None:
        return False
    if op in ("LIKE", "ILIKE"):
        flags = re.IGNORECASE if op == "ILIKE" else 0
        pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in str(expected))
        return re.fullmatch(pattern, str(actual), flags | re.DOTALL) is not None
    if isinstance(expected, float):
        try:
            actual = float(actual)
        except (TypeError, ValueError):
            return False
    else:
        actual = str(actual)
    return {"=": actual == expected, "!=": actual != expected, ">": actual > expected, ">=": actual >= expected,
            "<": actual < expected, "<=": actual <= expected}[op]


_RUN_ATTRIBUTES = {"run_id": "run_id", "run_name": "run_name", "status": "status", "start_time": "start_time",
                   "end_time": "end_time", "user_id": "user_id", "artifact_uri": "artifact_uri",
                   "lifecycle_stage": "lifecycle_stage", "created": "start_time", "Created": "start_time"}


def _run_field(run: dict, kind: str, key: str):
    if kind == "attribute":
        if key not in _RUN_ATTRIBUTES:
            raise invalid(f"Invalid attribute key '{key}' specified. Valid keys are {sorted(_RUN_ATTRIBUTES)}")
        return run["info"].get(_RUN_ATTRIBUTES[key])
    items = run["data"][{"metric": "metrics", "param": "params", "tag": "tags"}[kind]]
    value = next((item["value"] for item in items if item["key"] == key), None)
    return float(value) if kind == "metric" and value is not None else value


def _model_field(model: dict, kind: str, key: str):
    if kind == "attribute":
        return model["info"].get({"creation_time": "creation_timestamp_ms",
                                  "last_updated_timestamp": "last_updated_timestamp_ms"}.get(key, key))
    items = model["data"]["params"] if kind == "param" else model["info"]["tags"] if kind == "tag" else \
        model["data"]["metrics"]
    return next((item["value"] for item in reversed(items) if item["key"] == key), None)


def _page(items: list, body: dict, field: str, max_default: int) -> dict:
    """Offset paging with an opaque token."""
    try:
        size = int(body.get("max_results") or max_default)
        token = body.get("page_token")
        offset = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
    except (TypeError, ValueError):
        raise invalid("Invalid page token or max_results") from None
    if not 0 < size <= MAX_RESULTS:
        raise invalid(f"Invalid value {size} for parameter 'max_results' supplied. It must be at most "
                       f"{MAX_RESULTS}, and at least 1.")
    result = {field: items[offset:offset + size]}
    if offset + size < len(items):
        result["next_page_token"] = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
    return result


def _order(items: list, order_by: list[str], field) -> list:
    for clause in reversed(order_by or []):
        words = clause.split()
        descending = len(words) > 1 and words[-1].upper() == "DESC"
        ident = words[0] if words else ""
        kind, _, key = ident.partition(".")
        if kind.lower() not in _KINDS:
            kind, key = "attribute", ident
        kind, key = _KINDS.get(kind.lower(), kind), key.strip('`"')
        present = [i for i in items if field(i, kind, key) is not None]
        missing = [i for i in items if field(i, kind, key) is None]
        present.sort(key=lambda i: field(i, kind, key), reverse=descending)
        items = present + missing
    return items




# -- the WSGI application


class _Api:
    """One handler per MLflow REST method; each takes (workspace, request dict) and returns the response dict."""

    def __init__(self, store: TrackingStore):
        self.store = store
        s = self
        self.routes = {
            ("POST", "experiments/create"): s.create_experiment,
            ("GET", "experiments/get"): s.get_experiment,
            ("GET", "experiments/get-by-name"): s.get_experiment_by_name,
            ("POST", "experiments/search"): s.search_experiments,
            ("POST", "experiments/update"): s.update_experiment,
            ("POST", "experiments/delete"): s.delete_experiment,
            ("POST", "experiments/restore"): s.restore_experiment,
            ("POST", "experiments/set-experiment-tag"): s.set_experiment_tag,
            ("POST", "experiments/delete-experiment-tag"): s.delete_experiment_tag,
            ("POST", "runs/create"): s.create_run,
            ("GET", "runs/get"): s.get_run,
            ("POST", "runs/update"): s.update_run,
            ("POST", "runs/delete"): s.delete_run,
            ("POST", "runs/restore"): s.restore_run,
            ("POST", "runs/search"): s.search_runs,
            ("POST", "runs/log-metric"): s.log_metric,
            ("POST", "runs/log-parameter"): s.log_param,
            ("POST", "runs/set-tag"): s.set_tag,
            ("POST", "runs/delete-tag"): s.delete_tag,
            ("POST", "runs/log-batch"): s.log_batch,
            ("POST", "runs/log-model"): s.log_model,
            ("POST", "runs/log-inputs"): s.log_inputs,
            ("POST", "runs/outputs"): s.log_outputs,
            ("GET", "metrics/get-history"): s.get_metric_history,
            ("POST", "logged-models"): s.create_logged_model,
            ("POST", "logged-models/search"): s.search_logged_models,
        }
        # /logged-models/{model_id}[/tags[/{key}]|/params]
        self.model_routes = {
            ("GET", ""): s.get_logged_model, ("PATCH", ""): s.finalize_logged_model,
            ("DELETE", ""): s.delete_logged_model, ("PATCH", "tags"): s.set_logged_model_tags,
            ("DELETE", "tags"): s.delete_logged_model_tag, ("POST", "params"): s.log_logged_model_params,
        }

    # experiments
    def create_experiment(self, ws, body):
        experiment_id = self.store.create_experiment(ws, required(body, "name"), body.get("artifact_location"),
                                                     [dict(zip(("key", "value"), tag_pair(t))) for t in
                                                      body.get("tags") or []])
        return {"experiment_id": str(experiment_id)}

    def get_experiment(self, ws, body):
        return {"experiment": self.store.experiment(ws, experiment_id=required(body, "experiment_id"))}

    def get_experiment_by_name(self, ws, body):
        return {"experiment": self.store.experiment(ws, name=required(body, "experiment_name"))}

    def search_experiments(self, ws, body):
        items = self.store.experiments(ws, body.get("view_type"))
        clauses = _parse_filter(body.get("filter"))
        field = (lambda e, kind, key: e.get(key) if kind == "attribute" else
                 next((t["value"] for t in e["tags"] if t["key"] == key), None))
        items = [e for e in items if all(_compare(field(e, *c[:2]), *c[2:]) for c in clauses)]
        return _page(_order(items, _list(body.get("order_by")), field), body, "experiments", 1000)

    def update_experiment(self, ws, body):
        self.store.update_experiment(ws, required(body, "experiment_id"), name=required(body, "new_name"))
        return {}

    def delete_experiment(self, ws, body):
        self.store.update_experiment(ws, required(body, "experiment_id"), stage="deleted")
        return {}

    def restore_experiment(self, ws, body):
        self.store.update_experiment(ws, required(body, "experiment_id"), stage="active")
        return {}

    def set_experiment_tag(self, ws, body):
        key, value = tag_pair(body)
        self.store.update_experiment(ws, required(body, "experiment_id"), tags=[{"key": key, "value": value}])
        return {}

    def delete_experiment_tag(self, ws, body):
        self.store.update_experiment(ws, required(body, "experiment_id"), delete_tag=required(body, "key"))
        return {}

    # runs
    def create_run(self, ws, body):
        tags = [dict(zip(("key", "value"), tag_pair(t))) for t in body.get("tags") or []]
        run_id = self.store.create_run(ws, body.get("experiment_id") or "0", run_name=body.get("run_name"),
                                       user_id=body.get("user_id"), start_time=_int(body.get("start_time")),
                                       tags=tags)
        return {"run": self.store.run(ws, run_id)}

    def get_run(self, ws, body):
        return {"run": self.store.run(ws, _run_id(body))}

    def update_run(self, ws, body):
        info = self.store.update_run(ws, _run_id(body), status=body.get("status"),
                                     end_time=_int(body.get("end_time")), run_name=body.get("run_name"))
        return {"run_info": info}

    def delete_run(self, ws, body):
        self.store.update_run(ws, _run_id(body), stage="deleted")
        return {}

    def restore_run(self, ws, body):
        self.store.update_run(ws, _run_id(body), stage="active")
        return {}

    def search_runs(self, ws, body):
        runs = self.store.runs(ws, _list(body.get("experiment_ids")), body.get("run_view_type"))
        clauses = _parse_filter(body.get("filter"))
        runs = [r for r in runs if all(_compare(_run_field(r, *c[:2]), *c[2:]) for c in clauses)]
        return _page(_order(runs, _list(body.get("order_by")), _run_field), body, "runs", 1000)

    def log_metric(self, ws, body):
        self.store.log_batch(ws, _run_id(body), metrics_=[body])
        return {}

    def log_param(self, ws, body):
        self.store.log_batch(ws, _run_id(body), params=[body])
        return {}

    def set_tag(self, ws, body):
        self.store.log_batch(ws, _run_id(body), tags=[body])
        return {}

    def delete_tag(self, ws, body):
        self.store.delete_tag(ws, _run_id(body), required(body, "key"))
        return {}

    def log_batch(self, ws, body):
        parts = {name: body.get(name) or [] for name in MAX_BATCH}
        for name, items in parts.items():
            if len(items) > MAX_BATCH[name]:
                raise invalid(f"A batch logging request can contain at most {MAX_BATCH[name]} {name}. "
                               f"Got {len(items)} {name}.")
        if sum(map(len, parts.values())) > MAX_BATCH_TOTAL:
            raise invalid(f"A batch logging request can contain at most {MAX_BATCH_TOTAL} metrics, params "
                           "and tags in total.")
        self.store.log_batch(ws, required(body, "run_id"), parts["metrics"], parts["params"], parts["tags"])
        return {}

    def log_model(self, ws, body):
        """MLflow 2's model record: kept as the run's `mlflow.log-model.history` tag, as MLflow's stores do."""
        run_id = required(body, "run_id")
        try:
            model = json.loads(required(body, "model_json"))
        except ValueError:
            raise invalid("model_json is not valid JSON") from None
        run = self.store.run(ws, run_id)
        old = next((t["value"] for t in run["data"]["tags"] if t["key"] == "mlflow.log-model.history"), "[]")
        self.store.log_batch(ws, run_id, tags=[{"key": "mlflow.log-model.history",
                                                "value": json.dumps(json.loads(old) + [model])}])
        return {}

    def log_inputs(self, ws, body):
        self.store.log_inputs(ws, required(body, "run_id"), body.get("datasets") or [], body.get("models") or [])
        return {}

    def log_outputs(self, ws, body):
        self.store.log_outputs(ws, required(body, "run_id"), body.get("models") or [])
        return {}

    def get_metric_history(self, ws, body):
        key = required(body, "metric_key")
        points = [{"key": k, "value": double(v), "timestamp": t, "step": s}
                  for k, s, v, t in self.store.history(ws, _run_id(body), key)]
        return _page(points, body, "metrics", MAX_RESULTS)

    # logged models
    def create_logged_model(self, ws, body):
        model_id = self.store.create_logged_model(
            ws, required(body, "experiment_id"), name=body.get("name"), model_type=body.get("model_type"),
            source_run_id=body.get("source_run_id"), params=body.get("params") or [], tags=body.get("tags") or [])
        return {"model": self.store.logged_model(ws, model_id)}

    def search_logged_models(self, ws, body):
        models = self.store.logged_models(ws, _list(body.get("experiment_ids")))
        clauses = _parse_filter(body.get("filter"))
        models = [m for m in models if all(_compare(_model_field(m, *c[:2]), *c[2:]) for c in clauses)]
        order = [f"{o['field_name']} {'ASC' if o.get('ascending', True) else 'DESC'}"
                 for o in body.get("order_by") or []]
        return _page(_order(models, order, _model_field), body, "models", 1000)

    def get_logged_model(self, ws, body, model_id):
        return {"model": self.store.logged_model(ws, model_id, str(body.get("allow_deleted")).lower() == "true")}

    def finalize_logged_model(self, ws, body, model_id):
        self.store.update_logged_model(ws, model_id, status=required(body, "status"))
        return {"model": self.store.logged_model(ws, model_id)}

    def delete_logged_model(self, ws, body, model_id):
        self.store.update_logged_model(ws, model_id, delete=True)
        return {}

    def set_logged_model_tags(self, ws, body, model_id):
        self.store.update_logged_model(ws, model_id, tags=body.get("tags") or [])
        return {"model": self.store.logged_model(ws, model_id)}

    def delete_logged_model_tag(self, ws, body, model_id, key):
        self.store.update_logged_model(ws, model_id, delete_tag=key)
        return {}

    def log_logged_model_params(self, ws, body, model_id):
        self.store.update_logged_model(ws, model_id, params=body.get("params") or [])
        return {}

    def dispatch(self, method: str, path: str, ws: str, body: dict) -> dict:
        handler = self.routes.get((method, path))
        if handler:
            return handler(ws, body)
        parts = path.split("/")
        if parts[0] == "logged-models" and len(parts) >= 2 and parts[1] != "search":
            sub = parts[2] if len(parts) > 2 else ""
            handler = self.model_routes.get((method, sub))
            if handler and len(parts) == (4 if (method, sub) == ("DELETE", "tags") else 3 if sub else 2):
                return handler(ws, body, unquote(parts[1]), *map(unquote, parts[3:]))
        raise MlflowError("ENDPOINT_NOT_FOUND", f"No MLflow endpoint {method} /api/2.0/mlflow/{path} here")


def _list(value) -> list:
    return [] if value is None else value if isinstance(value, list) else [value]


def _int(value) -> int | None:
    try:
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        raise invalid(f"Expected an integer, got {value!r}") from None


def _run_id(body: dict) -> str:
    run_id = body.get("run_id") or body.get("run_uuid")
    if not run_id:
        raise invalid("Missing value for required parameter 'run_id'.")
    return run_id


_PREFIX = re.compile(r"^(?:.*/workspaces/(?P<ws>[^/]+))?/api/2\.0/mlflow/(?P<path>.*)$")
_GET_LISTS = ("experiment_ids",)


def make_tracking_app(home, *, workspace: str = LOCAL_WORKSPACE, run: str | None = None, exists=None):
    """The MLflow tracking REST API over ``<home>/tracking.db`` as a WSGI callable. With `run` (a job's own server),
    it answers for `workspace` only and writes only to run `run` and the runs created through it (nested runs).
    `exists(name)` says whether a workspace named in a path exists (the others are not found)."""
    api = _Api(tracking_store(home))
    own_runs = {run}

    def check_scope(method: str, path: str, ws: str, body: dict) -> None:
        if ws != workspace:
            raise MlflowError("PERMISSION_DENIED", f"this job's token is for workspace {workspace!r}, not {ws!r}")
        target = body.get("run_id") or body.get("run_uuid")
        if method != "GET" and not path.endswith("search") and target is not None and target not in own_runs:
            raise MlflowError("PERMISSION_DENIED", f"this job's token writes to its own run {run!r} and the runs "
                                                   f"it created, not to run {str(target)[:100]!r}")

    def app(environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET").upper()
        match = _PREFIX.match(environ.get("PATH_INFO", ""))
        try:
            if not match:
                raise MlflowError("ENDPOINT_NOT_FOUND", f"No MLflow endpoint {environ.get('PATH_INFO')} here")
            ws = unquote(match["ws"]) if match["ws"] else workspace
            if not WORKSPACE_NAME.fullmatch(ws):
                raise invalid(f"invalid workspace name {ws[:100]!r}: it must match ^{WORKSPACE_NAME.pattern}$")
            if exists is not None and not exists(ws):
                raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"workspace {ws!r} not found: create it first (`azml "
                                                             f"workspace create -n {ws}`)")
            body = _read_body(environ, method)
            path = match["path"].rstrip("/")
            if run is not None:
                check_scope(method, path, ws, body)
            status, result = 200, api.dispatch(method, path, ws, body)
            if run is not None and path == "runs/create":
                own_runs.add(result["run"]["info"]["run_id"])
        except MlflowError as exc:
            status, result = _STATUS.get(exc.code, 400), {"error_code": exc.code, "message": exc.message}
        except sqlite3.OperationalError as exc:  # busy past the timeout: a 503 makes MLflow's client retry
            status, result = 503, {"error_code": "TEMPORARILY_UNAVAILABLE", "message": str(exc)}
        except _WRONG_TYPE as exc:  # a field of the wrong type or size: a list for a string, an int past 64 bits
            status, result = 400, {"error_code": "INVALID_PARAMETER_VALUE",
                                   "message": f"a field of the request has the wrong type or size: {exc}"}
        except Exception as exc:  # never a traceback to the client; the log has it
            log.exception("local workspace: MLflow %s %s failed", method, environ.get("PATH_INFO"))
            status, result = 500, {"error_code": "INTERNAL_ERROR", "message": f"{type(exc).__name__}: {exc}"}
        data = json.dumps(result).encode()
        start_response(f"{status} {_REASONS.get(status, 'Service Unavailable')}",
                       [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    return app


def _read_body(environ, method: str) -> dict:
    if method in ("GET", "DELETE") and environ.get("QUERY_STRING"):
        query = parse_qs(environ["QUERY_STRING"], keep_blank_values=True)
        return {k: v if k in _GET_LISTS else v[-1] for k, v in query.items()}
    try:
        raw = read_body(environ, MAX_BODY)
    except HttpError as exc:  # a bad Content-Length, a body past the limit
        raise MlflowError("INVALID_PARAMETER_VALUE", exc.message) from None
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise MlflowError("MALFORMED_REQUEST", "The request body is not valid JSON") from None
    except RecursionError:
        raise MlflowError("MALFORMED_REQUEST", "The request body is nested too deeply") from None
    if not isinstance(body, dict):
        raise MlflowError("MALFORMED_REQUEST", "The request body must be a JSON object")
    return body


@contextmanager
def serve_for_job(home, workspace: str, job_name: str, experiment_name: str | None, artifact_dir,
                  *, stop_timeout: float = 5.0):
    """Serve the tracking API on loopback, behind a fresh token, while the job runs; yields the job's MLFLOW_*
    environment variables.

    The socket listens before this returns and the server starts in a thread: the job's command need not wait
    for waitress to load (a request sent meanwhile waits in the listen backlog)."""
    Path(artifact_dir).mkdir(parents=True, exist_ok=True)
    info = ensure_run(home, workspace, job_name, experiment_name, artifact_dir)
    token = secrets.token_urlsafe(32)
    listener = socket.create_server(("127.0.0.1", 0), backlog=128)
    sockets: dict = {}
    started: dict = {}
    ready = threading.Event()

    def serve():
        try:
            from waitress import create_server  # import budget: off the job's start-up path
            # waitress warns "Task queue depth is N" whenever its threads are busy: normal for a chatty script
            logging.getLogger("waitress.queue").setLevel(logging.ERROR)
            server = create_server(require_token(make_tracking_app(home, workspace=workspace, run=job_name), token), map=sockets,
                                   sockets=[listener], threads=4, ident="azureml_v2-mlflow", channel_timeout=30,
                                   connection_limit=200, cleanup_interval=5)
            guard_slow_clients(sockets)
            started["server"] = server
        finally:
            ready.set()
        server.run()

    thread = threading.Thread(target=serve, name=f"mlflow-{job_name}", daemon=True)
    thread.start()
    try:
        yield {"MLFLOW_TRACKING_URI": f"http://127.0.0.1:{listener.getsockname()[1]}",
               "MLFLOW_TRACKING_TOKEN": token,
               "MLFLOW_RUN_ID": job_name,
               "MLFLOW_EXPERIMENT_NAME": experiment_name or DEFAULT_EXPERIMENT,
               "MLFLOW_EXPERIMENT_ID": info["experiment_id"],
               # MLflow prints a link to its UI at this port, which dies with the job (the workspace's
               # mlFlowTrackingUri reads the run afterwards)
               "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"}
    finally:
        ready.wait(stop_timeout)
        server = started.get("server")
        try:
            if server is None:  # the server never started: nothing but the socket to close
                listener.close()
            else:
                stop_server(server, sockets, thread, stop_timeout)
        except Exception:  # noqa: BLE001 - the job's tracking never fails the job
            log.exception("stopping the MLflow tracking server of job %s failed", job_name)

