"""The local workspace's REST service: a WSGI application answering Azure ML's ARM API, api-version 2024-04-01.

    app = make_app(home)   # a plain WSGI callable; `home` is created on first use

Paths are ARM paths in one subscription and resource group, ``/subscriptions/00000000-0000-0000-0000-000000000000/
resourceGroups/local/providers/Microsoft.MachineLearningServices/workspaces/{workspace}/...``; a workspace is
created on first use. Resources: codes, data, environments, models and components (containers and versions),
datastores, jobs, computes (the built-in ``local``), and the status of long-running job cancel and delete
(``operationResults/{id}`` behind ``Location``, ``operationsStatus/{id}`` behind ``Azure-AsyncOperation``).
Lists page with ``$skipToken`` (``$skip`` too, the spec's name) in ``nextLink``; errors are ARM error bodies.

A created command job starts a detached runner process (``azureml_v2.local.runner``), a sweep job its controller
(``azureml_v2.local.sweep``), unless ``run_jobs=False``. A job's REST body shows how it ran in ``properties`` (the spec
has no fields for it): ``StartTimeUtc``, ``EndTimeUtc``, ``ExitCode``, ``Error``, and what a sweep controller reports
(``best_child_run_id``, ``score``, ``azureml.sweep.summary``). A GET or list finds jobs whose runner died and marks
them Failed, except a sweep: its controller is started again and resumes the sweep. MLflow's tracking API
(``azureml_v2.local.tracking``) answers under ``/api/2.0/mlflow/``, at the root or under a workspace's ARM path.

The built-in datastores ``workspaceblobstore`` (the default) and ``workspaceartifactstore`` are folders under
``<home>/datastores/``. Their REST form, ``datastoreType: LocalFile`` with the absolute folder in ``path``,
exists only in the local workspace (Azure ML has no such type and refuses it).

Bodies are JSON dicts only, validated minimally (shape, types, discriminators, required fields); the spec files are
not read at runtime.
"""
from __future__ import annotations

import getpass
import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
import threading
import uuid
from datetime import datetime, timezone
from http import HTTPStatus
from urllib.parse import parse_qsl, quote, urlencode

from azureml_v2.entities._refs import LOCAL_SCOPE
from azureml_v2.local.store import (BUILTIN_DATASTORES, MAX_FILTER_TERMS, BadRequest, Conflict, NotFound, Page, Store,
                                    kv_filter)

API_VERSION = "2024-04-01"
# the local scope's parts, from the one string entities use for ARM ids
_, _, SUBSCRIPTION_ID, _, RESOURCE_GROUP, _, PROVIDER, _, DEFAULT_WORKSPACE = LOCAL_SCOPE.split("/")
LOCAL_COMPUTE = "local"
_SCOPE = ("subscriptions", SUBSCRIPTION_ID, "resourceGroups", RESOURCE_GROUP, "providers", PROVIDER, "workspaces")

_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9\-_]{0,254}")
_VERSION = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9\-_.]{0,254}")
_WORKSPACE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}")
_OPERATION = re.compile(r"[0-9a-f]{32}")
# MLflow's tracking API, at the root or under a workspace's ARM path (as Azure ML's tracking URI has it)
_MLFLOW_PATH = re.compile(r"^(?:/subscriptions/[^/]+/resourceGroups/[^/]+/providers/[^/]+/workspaces/[^/]+)?"
                          r"/api/2\.0/mlflow/", re.IGNORECASE)

# Fields a PUT may change on an existing version or job; any other difference is a 409.
VERSION_MUTABLE = frozenset({"description", "tags", "isArchived", "stage"})
JOB_MUTABLE = frozenset({"description", "displayName", "tags", "isArchived"})
# How a job ran, in its `properties` (the spec has no fields for these); read-only, a PUT ignores them.
RUN_PROPERTIES = ("StartTimeUtc", "EndTimeUtc", "ExitCode", "Error")
# What a sweep controller reports in `properties` of the sweep (Azure ML's names) and of a trial it stopped early;
# read-only, a PUT ignores them.
BEST_CHILD, SCORE, SWEEP_SUMMARY, EARLY_TERMINATED = ("best_child_run_id", "score", "azureml.sweep.summary",
                                                      "azureml.sweep.earlyTerminated")
SWEEP_SEED = "azureml.sweep.seed"  # the seed an unseeded sweep drew, to reproduce it
RESULT_PROPERTIES = (BEST_CHILD, SCORE, SWEEP_SUMMARY, EARLY_TERMINATED, SWEEP_SEED)
# The process that runs a created job, by jobType (python -m <module> --home H --workspace WS --job NAME)
_RUNNERS = {"Command": "azureml_v2.local.runner", "Sweep": "azureml_v2.local.sweep"}
# Read-only fields clients echo back from a GET; a PUT ignores them.
_READ_ONLY = frozenset({"provisioningState", "latestVersion", "nextVersion", "environmentType", "isDefault",
                        "status", "parameters"})
_JOB_REQUIRED = {
    "Command": ("command", "environmentId"),
    "Sweep": ("objective", "samplingAlgorithm", "searchSpace", "trial"),
    "AutoML": ("taskDetails",),
    "Spark": ("codeId", "entry"),
    "Pipeline": (),
}
_DATA_TYPES = ("uri_file", "uri_folder", "mltable")
# LocalFile (a folder on this machine) exists only here: Azure ML has no such datastore type
_DATASTORE_TYPES = ("AzureBlob", "AzureDataLakeGen1", "AzureDataLakeGen2", "AzureFile", "OneLake", "LocalFile")
_CREDENTIALS_TYPES = ("AccountKey", "Certificate", "None", "Sas", "ServicePrincipal")
_SECRETS_TYPES = ("AccountKey", "Certificate", "Sas", "ServicePrincipal")
_VIEWS = ("ActiveOnly", "ArchivedOnly", "All")

log = logging.getLogger(__name__)


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def _invalid(message: str) -> HttpError:
    return HttpError(400, "InvalidRequestContent", message)


# -- body checks: each takes the `properties` object, raises HttpError 400, and fills defaults

def _check(props: dict, key: str, kind: type, required: bool = False):
    value = props.get(key)
    if value is None:
        if required:
            raise _invalid(f"properties.{key} is required")
        return None
    if not isinstance(value, kind):
        raise _invalid(f"properties.{key}: expected {_TYPE_NAMES[kind]}, got {json.dumps(value)[:80]}")
    return value


_TYPE_NAMES = {str: "a string", dict: "an object", bool: "true or false", list: "an array"}


def _check_map(props: dict, key: str) -> None:
    value = _check(props, key, dict)
    bad = [k for k, v in (value or {}).items() if not isinstance(v, str)]
    if bad:
        raise _invalid(f"properties.{key}.{bad[0]}: expected a string value")
    props[key] = value or {}


def _check_enum(props: dict, key: str, allowed: tuple[str, ...], required: bool = False, default: str | None = None,
                where: str = "properties") -> None:
    value = props.get(key)
    if value is None:
        if required:
            raise _invalid(f"{where}.{key} is required (one of {', '.join(allowed)})")
        if default is not None:
            props[key] = default
        return
    canonical = {a.lower(): a for a in allowed}.get(value.lower()) if isinstance(value, str) else None
    if canonical is None:
        raise _invalid(f"{where}.{key}: {json.dumps(value)[:80]} is not one of {', '.join(allowed)}")
    props[key] = canonical


def _base(props: dict, flags: tuple[str, ...] = ()) -> dict:
    """ResourceBase: drop nulls and read-only fields, check description/tags/properties and boolean `flags`."""
    props = {k: v for k, v in props.items() if v is not None and k not in _READ_ONLY}
    _check(props, "description", str)
    _check_map(props, "tags")
    _check_map(props, "properties")
    for flag in flags:
        props[flag] = _check(props, flag, bool) or False
    return props


def _check_code(props):
    _check(props, "codeUri", str)


def _check_data(props):
    _check_enum(props, "dataType", _DATA_TYPES, required=True)
    _check(props, "dataUri", str, required=True)
    _check(props, "referencedUris", list)


def _check_environment(props):
    _check_enum(props, "osType", ("Linux", "Windows"), default="Linux")
    _check_enum(props, "autoRebuild", ("Disabled", "OnBaseImageUpdate"), default="Disabled")
    for key in ("image", "condaFile"):
        _check(props, key, str)
    build = _check(props, "build", dict)
    if build is not None and not isinstance(build.get("contextUri"), str):
        raise _invalid("properties.build.contextUri is required (a string)")
    if not props.get("image") and build is None:
        raise _invalid("an environment needs properties.image or properties.build")


def _check_model(props):
    for key in ("modelUri", "modelType", "jobName", "stage"):
        _check(props, key, str)
    _check(props, "flavors", dict)


def _check_component(props):
    _check(props, "componentSpec", dict, required=True)


def _datastore_props(props: dict) -> tuple[dict, dict | None]:
    """Checked datastore properties and the secret values apart (None: none sent, keep the stored ones)."""
    props = _base(props)
    _check_enum(props, "datastoreType", _DATASTORE_TYPES, required=True)
    if props["datastoreType"] == "LocalFile":
        _check(props, "path", str, required=True)
    props["credentials"] = credentials = dict(_check(props, "credentials", dict, required=True))
    _check_enum(credentials, "credentialsType", _CREDENTIALS_TYPES, required=True, where="properties.credentials")
    secrets = credentials.get("secrets")
    if secrets is None:
        return props, None
    if not isinstance(secrets, dict):
        raise _invalid("properties.credentials.secrets: expected an object")
    secrets = dict(secrets)
    _check_enum(secrets, "secretsType", _SECRETS_TYPES, required=True, where="properties.credentials.secrets")
    credentials["secrets"] = {"secretsType": secrets["secretsType"]}  # the values only through listSecrets
    if all(v is None for k, v in secrets.items() if k != "secretsType"):
        return props, None  # a GET body sent back
    return props, secrets


class _Assets:
    """Per asset kind: whether containers and versions show provisioningState, and the version check."""

    def __init__(self, stateful: bool, check):
        self.stateful, self.check = stateful, check


_ASSETS = {
    "codes": _Assets(True, _check_code),
    "data": _Assets(False, _check_data),
    "environments": _Assets(True, _check_environment),
    "models": _Assets(True, _check_model),
    "components": _Assets(True, _check_component),
}
_ASSET_KEYS = {kind.lower(): kind for kind in _ASSETS}

# (path after the workspace, {method: handler}); "{kind}" is an asset kind, other "{x}" capture a segment.
_ROUTES = [
    ((), {"GET": "get_workspace"}),
    (("{kind}",), {"GET": "list_containers"}),
    (("{kind}", "{name}"), {"GET": "get_container", "PUT": "put_container", "DELETE": "delete_container"}),
    (("{kind}", "{name}", "versions"), {"GET": "list_versions"}),
    (("{kind}", "{name}", "versions", "{version}"),
     {"GET": "get_version", "PUT": "put_version", "DELETE": "delete_version"}),
    (("datastores",), {"GET": "list_datastores"}),
    (("datastores", "{name}"), {"GET": "get_datastore", "PUT": "put_datastore", "DELETE": "delete_datastore"}),
    (("datastores", "{name}", "listSecrets"), {"POST": "list_secrets"}),
    (("jobs",), {"GET": "list_jobs"}),
    (("jobs", "{name}"), {"GET": "get_job", "PUT": "put_job", "DELETE": "delete_job"}),
    (("jobs", "{name}", "cancel"), {"POST": "cancel_job"}),
    (("computes",), {"GET": "list_computes"}),
    (("computes", "{name}"), {"GET": "get_compute"}),
    (("operationResults", "{operation}"), {"GET": "operation_result"}),
    (("operationsStatus", "{operation}"), {"GET": "operation_status"}),
]


def _route(segments: list[str]):
    for pattern, methods in _ROUTES:
        if len(pattern) != len(segments):
            continue
        params = {}
        for part, segment in zip(pattern, segments):
            if part == "{kind}":
                if segment.lower() not in _ASSET_KEYS:
                    break
                params["kind"] = _ASSET_KEYS[segment.lower()]
            elif part.startswith("{"):
                params[part[1:-1]] = segment
            elif part.lower() != segment.lower():
                break
        else:
            return methods, params
    return None, None


def _check_params(params: dict) -> None:
    for key, pattern in (("name", _NAME), ("version", _VERSION)):
        value = params.get(key)
        if value is not None and not pattern.fullmatch(value):
            raise HttpError(400, "InvalidResourceName", f"invalid {key} {value!r}: it must match ^{pattern.pattern}$")
    if "operation" in params and not _OPERATION.fullmatch(params["operation"]):
        raise HttpError(404, "ResourceNotFound", f"operation {params['operation']!r} not found")


class _Query:
    """Query parameters, names case-insensitive (ARM), the last value winning."""

    def __init__(self, text: str):
        self.pairs = parse_qsl(text, keep_blank_values=True)
        self.values: dict[str, list[str]] = {}
        for key, value in self.pairs:
            self.values.setdefault(key.lower(), []).append(value)

    def get(self, key: str) -> str | None:
        values = self.values.get(key.lower())
        return values[-1] if values else None

    def all(self, key: str) -> list[str]:
        return self.values.get(key.lower(), [])

    def integer(self, key: str, low: int, high: int | None = None) -> int | None:
        value = self.get(key)
        if value is None:
            return None
        if not (value.isascii() and value.isdigit()) or int(value) < low or high is not None and int(value) > high:
            bound = f"{low}..{high}" if high is not None else f">= {low}"
            raise _invalid(f"query parameter {key}={value!r}: expected an integer {bound}")
        return int(value)

    def boolean(self, key: str) -> bool | None:
        value = self.get(key)
        if value is None:
            return None
        if value.lower() not in ("true", "false"):
            raise _invalid(f"query parameter {key}={value!r}: expected true or false")
        return value.lower() == "true"

    def choice(self, key: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.get(key)
        if value is None:
            return default
        canonical = {a.lower(): a for a in allowed}.get(value.lower())
        if canonical is None:
            raise _invalid(f"query parameter {key}={value!r}: expected one of {', '.join(allowed)}")
        return canonical

    def view(self) -> str:
        return self.choice("listViewType", _VIEWS, "ActiveOnly")


class _Request:
    def __init__(self, environ: dict, max_body: int):
        self.environ = environ
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        self.query = _Query(environ.get("QUERY_STRING", ""))
        self.max_body = max_body

    def url(self, path: str) -> str:
        env = self.environ
        host = env.get("HTTP_HOST") or f"{env.get('SERVER_NAME', 'localhost')}:{env.get('SERVER_PORT', '80')}"
        return f"{env.get('wsgi.url_scheme', 'http')}://{host}{quote(env.get('SCRIPT_NAME', ''))}{quote(path)}"

    def body(self) -> dict:
        """The JSON body: an object with a `properties` object (returned, copied)."""
        data = self._read()
        if not data.strip():
            raise _invalid("the request needs a JSON body with a 'properties' object")
        content_type = self.environ.get("CONTENT_TYPE", "")
        if content_type and "json" not in content_type.lower():
            raise HttpError(415, "UnsupportedMediaType", f"expected application/json, got {content_type!r}")
        try:
            doc = json.loads(data, parse_constant=_reject_constant)
        except RecursionError:
            raise _invalid("the request body is nested too deeply") from None
        except ValueError as exc:
            raise _invalid(f"the request body is not valid JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise _invalid(f"the request body must be a JSON object, not {type(doc).__name__}")
        if not isinstance(doc.get("properties"), dict):
            raise _invalid("the request body needs a 'properties' object")
        return dict(doc["properties"])

    def _read(self) -> bytes:
        env = self.environ
        raw = (env.get("CONTENT_LENGTH") or "").strip()
        if raw:
            if not raw.isdigit():
                raise _invalid(f"invalid Content-Length {raw!r}")
            length = int(raw)
            if length > self.max_body:
                raise HttpError(413, "RequestEntityTooLarge",
                                f"the request body has {length} bytes; the limit is {self.max_body}")
            return env["wsgi.input"].read(length) if length else b""
        if env.get("wsgi.input_terminated"):
            data = env["wsgi.input"].read(self.max_body + 1)
            if len(data) > self.max_body:
                raise HttpError(413, "RequestEntityTooLarge", f"the request body exceeds {self.max_body} bytes")
            return data
        return b""


def _reject_constant(name: str):
    raise ValueError(f"{name} is not allowed in JSON")


def _system_data(record: dict) -> dict:
    return {"createdAt": record["created_at"], "createdBy": record["created_by"], "createdByType": "User",
            "lastModifiedAt": record["modified_at"], "lastModifiedBy": record["modified_by"],
            "lastModifiedByType": "User"}


def workspace_id(ws: str) -> str:
    return "/" + "/".join((*_SCOPE, ws))


def _resource(ws: str, path: tuple[str, ...], name: str, kind: str, props: dict, record: dict) -> dict:
    return {"id": "/".join((workspace_id(ws), *path)), "name": name,
            "type": f"{PROVIDER}/workspaces/{kind}", "properties": props, "systemData": _system_data(record)}


Response = tuple[int, "dict | None", dict]


class LocalService:
    """The WSGI application over one home folder (see the module docstring)."""

    def __init__(self, home, *, page_size: int = 100, max_body: int = 16 * 1024 * 1024, retry_after: int = 1,
                 user: str | None = None, run_jobs: bool = True):
        self.store = Store(home)
        self.page_size, self.max_body, self.retry_after = page_size, max_body, retry_after
        self.user = user or _login()
        self.run_jobs = run_jobs
        self._runners: list[subprocess.Popen] = []
        self._runners_lock = threading.Lock()
        self._tracking = None

    def close(self) -> None:
        self._reap()
        self.store.close()

    def _reap(self) -> None:
        """Collect ended runner processes so that none lingers as a zombie (they are children of this one)."""
        with self._runners_lock:
            self._runners = [p for p in self._runners if p.poll() is None]

    # -- WSGI

    def __call__(self, environ, start_response):
        if _MLFLOW_PATH.match(environ.get("PATH_INFO", "")):
            if self._tracking is None:
                from .tracking import make_tracking_app
                self._tracking = make_tracking_app(self.store.home)
            return self._tracking(environ, start_response)
        headers = {"x-ms-request-id": str(uuid.uuid4())}
        client_id = environ.get("HTTP_X_MS_CLIENT_REQUEST_ID")
        if client_id:
            headers["x-ms-client-request-id"] = client_id
        try:
            status, body, extra = self._handle(environ)
        except HttpError as exc:
            status, body, extra = exc.status, _error(exc.code, exc.message), exc.headers
        except NotFound as exc:
            status, body, extra = 404, _error("ResourceNotFound", str(exc)), {}
        except Conflict as exc:
            status, body, extra = 409, _error("Conflict", str(exc)), {}
        except BadRequest as exc:
            status, body, extra = 400, _error("BadRequest", str(exc)), {}
        except RecursionError:  # comparing or storing a body nested nearly as deep as the parser allows
            status, body, extra = 400, _error("InvalidRequestContent", "the request body is nested too deeply"), {}
        except Exception as exc:  # never a traceback to the client; the log has it
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):  # past the busy timeout
                status, body = 503, _error("ServiceUnavailable", f"the local workspace store is busy: {exc}")
                extra = {"Retry-After": str(self.retry_after)}
            else:
                log.exception("local workspace: %s %s failed", environ.get("REQUEST_METHOD"),
                              environ.get("PATH_INFO"))
                status, body, extra = 500, _error("InternalServerError", f"{type(exc).__name__}: {exc}"), {}
        headers.update(extra)
        data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        if body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        headers["Content-Length"] = str(len(data))
        start_response(f"{status} {HTTPStatus(status).phrase}", list(headers.items()))
        return [data]

    def _handle(self, environ) -> Response:
        req = _Request(environ, self.max_body)
        path = environ.get("PATH_INFO", "")
        try:  # PEP 3333: the UTF-8 bytes of the path as latin-1 code points
            path = path.encode("latin-1").decode("utf-8")
        except UnicodeError:
            pass  # not so encoded: such a path only fails name checks, as it should
        segments = path.strip("/").split("/")
        if any(s in (".", "..") for s in segments):
            raise HttpError(400, "InvalidRequestUri", f"path segments '.' and '..' are not allowed: {path!r}")
        if len(segments) < 7 or [s.lower() for s in segments[:7:2]] != [s.lower() for s in _SCOPE[::2]] \
                or segments[5].lower() != PROVIDER.lower():
            raise HttpError(404, "ResourceNotFound", f"no resource at {path!r}: the local workspace answers "
                                                     f"{workspace_id('{workspace}')}/...")
        version = req.query.get("api-version")
        if version is None:
            raise HttpError(400, "MissingApiVersionParameter",
                            f"the api-version query parameter is required (supported: '{API_VERSION}')")
        if version != API_VERSION:
            raise HttpError(400, "InvalidApiVersionParameter",
                            f"the api-version '{version}' is invalid; the supported version is '{API_VERSION}'")
        if segments[1].lower() != SUBSCRIPTION_ID:
            raise HttpError(404, "SubscriptionNotFound",
                            f"subscription '{segments[1]}' not found: the local workspace is in '{SUBSCRIPTION_ID}'")
        if segments[3].lower() != RESOURCE_GROUP:
            raise HttpError(404, "ResourceGroupNotFound",
                            f"resource group '{segments[3]}' not found: the local workspace is in '{RESOURCE_GROUP}'")
        if len(segments) == 7:
            if req.method != "GET":
                raise _method_not_allowed(req.method, ("GET",))
            self.store.ensure_workspace(DEFAULT_WORKSPACE, self.user)
            return 200, {"value": [self._workspace(r) for r in self.store.list_workspaces()]}, {}
        ws = segments[7]
        if not _WORKSPACE.fullmatch(ws):
            raise HttpError(400, "InvalidResourceName",
                            f"invalid workspace name {ws!r}: it must match ^{_WORKSPACE.pattern}$")
        methods, params = _route(segments[8:])
        if methods is None:
            raise HttpError(404, "ResourceNotFound", f"no resource type at {path!r}")
        if req.method not in methods:
            raise _method_not_allowed(req.method, tuple(methods))
        _check_params(params)
        self.store.ensure_workspace(ws, self.user)
        return getattr(self, methods[req.method])(req, ws, **params)

    # -- helpers

    def _page(self, req: _Request, ascending: bool = False, size_key: str | None = None) -> Page:
        size = (req.query.integer(size_key, 1, 1000) if size_key else None) or self.page_size
        token = req.query.get("$skipToken") or req.query.get("$skip")
        return Page(size, token, ascending, req.query.integer("$top", 1))

    def _list(self, req: _Request, values: list[dict], token: str | None, page: Page) -> Response:
        body = {"value": values}
        if token:
            pairs = [(k, v) for k, v in req.query.pairs if k.lower() not in ("$skip", "$skiptoken", "$top")]
            if page.limit is not None:
                pairs.append(("$top", str(page.limit - len(values))))
            pairs.append(("$skipToken", token))
            body["nextLink"] = req.url(req.environ.get("PATH_INFO", "")) + "?" + urlencode(pairs, safe="$,")
        return 200, body, {}

    def _operation_headers(self, req: _Request, ws: str, op: dict) -> dict:
        """Where to poll a long-running operation; Retry-After 0 when it is already done."""
        base = req.url(workspace_id(ws))
        query = f"?api-version={API_VERSION}"
        return {"Location": f"{base}/operationResults/{op['id']}{query}",
                "Azure-AsyncOperation": f"{base}/operationsStatus/{op['id']}{query}",
                "Retry-After": str(self.retry_after if op["status"] == "InProgress" else 0)}

    # -- workspaces and computes

    def _workspace(self, record: dict) -> dict:
        props = {**record["doc"], "workspaceId": record["workspace_id"], "provisioningState": "Succeeded",
                 "hbiWorkspace": False, "v1LegacyMode": False}
        return {"id": workspace_id(record["name"]), "name": record["name"], "type": f"{PROVIDER}/workspaces",
                "location": "local", "kind": "Default", "tags": {}, "properties": props,
                "systemData": _system_data(record)}

    def get_workspace(self, req, ws):
        return 200, self._workspace(self.store.get_workspace(ws)), {}

    def _compute(self, ws: str) -> dict:
        record = self.store.get_workspace(ws)
        return {"id": f"{workspace_id(ws)}/computes/{LOCAL_COMPUTE}", "name": LOCAL_COMPUTE,
                "type": f"{PROVIDER}/workspaces/computes", "location": "local", "tags": {},
                "properties": {"computeType": "VirtualMachine", "computeLocation": "local",
                               "description": "This machine: jobs run as local processes",
                               "provisioningState": "Succeeded", "createdOn": record["created_at"],
                               "modifiedOn": record["created_at"], "isAttachedCompute": True,
                               "disableLocalAuth": True, "properties": {"address": "127.0.0.1"}},
                "systemData": _system_data(record)}

    def list_computes(self, req, ws):
        return 200, {"value": [self._compute(ws)]}, {}

    def get_compute(self, req, ws, name):
        if name != LOCAL_COMPUTE:
            raise NotFound(f"compute {name!r} not found: the local workspace has the compute '{LOCAL_COMPUTE}'")
        return 200, self._compute(ws), {}

    # -- asset containers and versions

    def _container(self, ws: str, kind: str, record: dict) -> dict:
        props = dict(record["doc"])
        props["nextVersion"] = str(record["next_version"])
        if record["latest_version"] is not None:
            props["latestVersion"] = record["latest_version"]
        if _ASSETS[kind].stateful:
            props["provisioningState"] = "Succeeded"
        return _resource(ws, (kind, record["name"]), record["name"], kind, props, record)

    def _version(self, ws: str, kind: str, record: dict) -> dict:
        props = dict(record["doc"])
        if _ASSETS[kind].stateful:
            props["provisioningState"] = "Succeeded"
        if kind == "environments":
            props["environmentType"] = "UserCreated"
        return _resource(ws, (kind, record["name"], "versions", record["version"]), record["version"],
                         f"{kind}/versions", props, record)

    def list_containers(self, req, ws, kind):
        page = self._page(req, size_key="count")
        records, token = self.store.list_containers(ws, kind, page, req.query.view())
        return self._list(req, [self._container(ws, kind, r) for r in records], token, page)

    def get_container(self, req, ws, kind, name):
        return 200, self._container(ws, kind, self.store.get_container(ws, kind, name)), {}

    def put_container(self, req, ws, kind, name):
        props = _base(req.body(), ("isArchived",))
        if kind == "data":
            _check_enum(props, "dataType", _DATA_TYPES, required=True)
        record, created = self.store.put_container(ws, kind, name, props, self.user,
                                                   immutable=("dataType",) if kind == "data" else ())
        return (201 if created else 200), self._container(ws, kind, record), {}

    def delete_container(self, req, ws, kind, name):
        return (200 if self.store.delete_container(ws, kind, name) else 204), None, {}

    def list_versions(self, req, ws, kind, name):
        query = req.query
        where, args = _doc_filters(query, ("$tags", "tags"), ("tags", "tags"), ("properties", "properties"))
        if query.get("version"):
            where.append("t.version = ?")
            args.append(query.get("version"))
        if kind == "codes" and query.get("hash"):  # by content, across names (anonymous code snapshots)
            name = None
            where.append("json_extract(t.doc, '$.properties.hash_sha256') = ?")
            args.append(query.get("hash"))
            if query.get("hashVersion"):
                where.append("json_extract(t.doc, '$.properties.hash_version') = ?")
                args.append(query.get("hashVersion"))
        page = self._page(req, ascending=_ascending(query.get("$orderBy")))
        records, token = self.store.list_versions(ws, kind, name, page, query.view(), where, args)
        return self._list(req, [self._version(ws, kind, r) for r in records], token, page)

    def get_version(self, req, ws, kind, name, version):
        return 200, self._version(ws, kind, self.store.get_version(ws, kind, name, version)), {}

    def put_version(self, req, ws, kind, name, version):
        record, created = put_asset_version(self.store, ws, kind, name, version, req.body(), self.user)
        return (201 if created else 200), self._version(ws, kind, record), {}

    def delete_version(self, req, ws, kind, name, version):
        return (200 if self.store.delete_version(ws, kind, name, version) else 204), None, {}

    # -- datastores

    def _datastore(self, ws: str, record: dict) -> dict:
        name = record["name"]
        if record["builtin"]:
            props = {"datastoreType": "LocalFile", "path": str(self.store.datastore_folder(name)),
                     "credentials": {"credentialsType": "None"},
                     "description": f"Local file datastore {name} (a folder of the local workspace)"}
        else:
            props = dict(record["doc"])
        props["isDefault"] = bool(record["is_default"])
        return _resource(ws, ("datastores", name), name, "datastores", props, record)

    def list_datastores(self, req, ws):
        query = req.query
        where, args = [], []
        is_default = query.boolean("isDefault")
        if is_default is not None:
            where.append("t.is_default = ?")
            args.append(is_default)
        names = [n for value in query.all("names") for n in value.split(",") if n]
        if len(names) > MAX_FILTER_TERMS:
            raise _invalid(f"too many names ({len(names)}); the limit is {MAX_FILTER_TERMS}")
        if names:
            where.append(f"t.name IN ({', '.join('?' * len(names))})")
            args += names
        if query.get("searchText"):
            where.append("instr(lower(t.name), lower(?)) > 0")
            args.append(query.get("searchText"))
        if query.get("orderBy") and query.get("orderBy").lower() not in ("createdtime", "createdat"):
            raise _invalid(f"query parameter orderBy={query.get('orderBy')!r}: only createdtime is supported")
        page = self._page(req, ascending=bool(query.boolean("orderByAsc")), size_key="count")
        records, token = self.store.list_datastores(ws, page, where, args)
        return self._list(req, [self._datastore(ws, r) for r in records], token, page)

    def get_datastore(self, req, ws, name):
        return 200, self._datastore(ws, self.store.get_datastore(ws, name)), {}

    def put_datastore(self, req, ws, name):
        props, secrets = _datastore_props(req.body())
        if name in BUILTIN_DATASTORES:  # the same body again is fine; the store refuses a change
            current = self._datastore(ws, self.store.get_datastore(ws, name))
            if _datastore_props(current["properties"])[0] == props:
                return 200, current, {}
        record, created = self.store.put_datastore(ws, name, props, secrets, self.user)
        return (201 if created else 200), self._datastore(ws, record), {}

    def delete_datastore(self, req, ws, name):
        return (200 if self.store.delete_datastore(ws, name) else 204), None, {}

    def list_secrets(self, req, ws, name):
        record = self.store.get_datastore(ws, name)
        if not record["secrets"]:
            raise HttpError(400, "NoSecrets", f"datastore {name!r} has no stored secrets")
        return 200, json.loads(record["secrets"]), {}

    # -- jobs

    def _job(self, ws: str, record: dict) -> dict:
        if record["job_type"] == "Sweep" and self.run_jobs and self.store.take_over(record, os.getpid()):
            self.start_runner(record)  # a sweep resumes: its trials and state are in the store
            record = self.store.get_job(ws, record["name"])
        elif self.run_jobs and _never_started(record) and self.store.take_over(record, os.getpid(), rerun=True):
            self.start_runner(record)  # the submitting process died between recording the job and starting it
            record = self.store.get_job(ws, record["name"])
        record = self.store.fail_if_runner_died(record)
        run = {"StartTimeUtc": record["started_at"], "EndTimeUtc": record["ended_at"], "Error": record["error"],
               "ExitCode": None if record["exit_code"] is None else str(record["exit_code"])}
        results = json.loads(record["results"] or "{}")
        props = {**record["doc"], "status": record["status"],
                 "properties": {**record["doc"].get("properties", {}), **results,
                                **{k: v for k, v in run.items() if v}}}
        return _resource(ws, ("jobs", record["name"]), record["name"], "jobs", props, record)

    def list_jobs(self, req, ws):
        query = req.query
        where, args = _doc_filters(query, ("tag", "tags"), ("properties", "properties"))
        if query.get("jobType"):
            where.append("t.job_type = ?")
            args.append(query.choice("jobType", tuple(_JOB_REQUIRED), ""))
        page = self._page(req)
        records, token = self.store.list_jobs(ws, page, query.view(), query.get("parentJobName"), where, args)
        return self._list(req, [self._job(ws, r) for r in records], token, page)

    def get_job(self, req, ws, name):
        return 200, self._job(ws, self.store.get_job(ws, name)), {}

    def put_job(self, req, ws, name):
        record, created = self.create_job(ws, name, req.body())
        return (201 if created else 200), self._job(ws, record), {}

    def create_job(self, ws: str, name: str, props: dict) -> tuple[dict, bool]:
        """Check and record a job's REST `properties`, as a PUT does, and start its runner when it is new
        -> (record, created)."""
        props = _base(props, ("isArchived",))
        props["properties"] = {k: v for k, v in props["properties"].items()
                               if k not in RUN_PROPERTIES and k not in RESULT_PROPERTIES}
        _check_enum(props, "jobType", tuple(_JOB_REQUIRED), required=True)
        for key in _JOB_REQUIRED[props["jobType"]]:
            if props.get(key) in (None, ""):
                raise _invalid(f"properties.{key} is required for a {props['jobType']} job")
        for key in ("command", "environmentId", "codeId", "computeId", "displayName", "experimentName"):
            _check(props, key, str)
        props.setdefault("experimentName", "Default")
        props.setdefault("displayName", name)
        record, created = self.store.put_job(ws, name, props, self.user, mutable=JOB_MUTABLE)
        if created and self.run_jobs and props["jobType"] in _RUNNERS:
            self.start_runner(record)
            record = self.store.get_job(ws, name)
        return record, created

    def start_runner(self, record: dict) -> None:
        """Start the detached process that runs a job (its own session: it outlives this process)."""
        ws, name = record["workspace"], record["name"]
        logs = self.store.job_folder(ws, name) / "system_logs"
        logs.mkdir(parents=True, exist_ok=True)
        self._reap()
        try:
            with open(logs / "runner.log", "ab") as stderr:
                proc = subprocess.Popen(
                    [sys.executable, "-m", _RUNNERS[record["job_type"]], "--home", str(self.store.home),
                     "--workspace", ws, "--job", name],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, cwd=self.store.home,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
        except OSError as exc:
            self.store.set_job_status(ws, name, "Failed", expect="NotStarted",
                                      error=f"the local runner could not start: {exc}")
            return
        with self._runners_lock:
            self._runners.append(proc)
        self.store.set_runner(ws, name, proc.pid)

    def delete_job(self, req, ws, name):
        try:
            op = self.store.request_delete(ws, name)
        except NotFound:
            return 204, None, {}
        return 202, None, self._operation_headers(req, ws, op)

    def cancel_job(self, req, ws, name):
        return 202, None, self._operation_headers(req, ws, self.store.request_cancel(ws, name))

    # -- long-running operations

    def operation_result(self, req, ws, operation):
        op = self.store.get_operation(ws, operation)
        if op["status"] == "InProgress":
            headers = self._operation_headers(req, ws, op)
            return 202, None, {"Location": headers["Location"], "Retry-After": headers["Retry-After"]}
        return 200, None, {}

    def operation_status(self, req, ws, operation):
        op = self.store.get_operation(ws, operation)
        body = {"id": f"{workspace_id(ws)}/operationsStatus/{op['id']}", "name": op["id"], "status": op["status"],
                "startTime": op["started_at"]}
        if op["ended_at"]:
            body["endTime"] = op["ended_at"]
        return 200, body, {}


def put_asset_version(store: Store, ws: str, kind: str, name: str, version: str, props: dict,
                      user: str) -> tuple[dict, bool]:
    """Check and store an asset version's REST `properties` (as a PUT does) -> (record, created)."""
    props = _base(props, ("isAnonymous", "isArchived"))
    _ASSETS[kind].check(props)
    container = {"isArchived": False, "tags": {}, "properties": {}}
    if kind == "data":
        container["dataType"] = props["dataType"]
    return store.put_version(ws, kind, name, version, props, user, mutable=VERSION_MUTABLE, container_doc=container)


def _doc_filters(query: _Query, *params: tuple[str, str]) -> tuple[list[str], list]:
    """SQL for `a,b=c` query parameters on a member (tags, properties) of the stored document."""
    where, args = [], []
    for key, member in params:
        if query.get(key):
            clauses, values = kv_filter("t.doc", member, query.get(key))
            where += clauses
            args += values
    return where, args


def _ascending(order_by: str | None) -> bool:
    """`$orderBy`: createdtime [asc|desc] (newest first by default)."""
    if order_by is None:
        return False
    parts = order_by.lower().split()
    if not parts or parts[0] not in ("createdtime", "createdat") or parts[1:] not in ([], ["asc"], ["desc"]):
        raise _invalid(f"$orderBy={order_by!r}: supported are 'createdtime desc' and 'createdtime asc'")
    return parts[1:] == ["asc"]


def _error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def _method_not_allowed(method: str, allowed: tuple[str, ...]) -> HttpError:
    return HttpError(405, "MethodNotAllowed", f"{method} is not supported here; allowed: {', '.join(allowed)}",
                     {"Allow": ", ".join(allowed)})


def _login() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in a bare container
        return "local-user"


def make_app(home, **options) -> LocalService:
    """The WSGI application of the local workspace stored in folder `home` (created on first use).

    With `run_jobs=True` (the default) a created command job starts a runner process that executes it here, a sweep
    job its controller.
    """
    return LocalService(home, **options)


__all__ = ["API_VERSION", "DEFAULT_WORKSPACE", "LocalService", "make_app", "put_asset_version", "workspace_id"]


START_GRACE = 5.0  # seconds a new job may wait for the runner its submitter starts


def _never_started(record: dict) -> bool:
    """A job recorded but whose runner was never started: its submitter died in between."""
    if record["status"] != "NotStarted" or record["runner_pid"] is not None or record["job_type"] not in _RUNNERS:
        return False
    created = datetime.strptime(record["status_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return (datetime.now(timezone.utc) - created).total_seconds() > START_GRACE

