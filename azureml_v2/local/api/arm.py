"""The ARM API of the local workspace: Azure ML's REST resources, api-version 2024-04-01, as a WSGI app.

Paths are ARM paths in one subscription and resource group, ``/subscriptions/00000000-0000-0000-0000-000000000000/
resourceGroups/local/providers/Microsoft.MachineLearningServices/workspaces/{workspace}/...``; a workspace is
created on first use. Resources: codes, data, environments, models and components (containers and versions),
datastores, jobs, computes (the built-in ``local`` and those created: start, stop, restart), online and batch endpoints with their deployments (keys, tokens,
logs), and the status of long-running operations: job cancel and delete, endpoint and deployment create, update and
delete (``operationResults/{id}`` behind ``Location``, ``operationsStatus/{id}`` behind ``Azure-AsyncOperation``).
Lists page with ``$skipToken`` (``$skip`` too, the spec's name) in ``nextLink``; errors are ARM error bodies. Every
api-version azure-ai-ml and ``az ml`` send is answered, in the 2024-04-01 shape; links (``nextLink``, ``Location``)
use the server's own address, never the request's ``Host`` header.

A job's REST body shows how it ran in ``properties`` (the spec has no fields for it): ``StartTimeUtc``,
``EndTimeUtc``, ``ExitCode``, ``Error``, and what a sweep controller reports (``best_child_run_id``, ``score``,
``azureml.sweep.summary``). Rendering only reads the store: it never starts a process or changes a job.

The built-in datastores ``workspaceblobstore`` (the default) and ``workspaceartifactstore`` are folders under
``<home>/datastores/``. They go on the wire as the spec's ``AzureBlob`` type (account ``local``, container: the
name), with the absolute folder in the property ``azureml.localFolder``, so that every client reads them.
"""
from __future__ import annotations

import errno
import json
import logging
import re
import shutil
import sqlite3
import uuid
from http import HTTPStatus
from urllib.parse import quote, unquote, urlencode

from ..._contract import (API_VERSION, LOCAL_FOLDER_PROPERTY, LOCAL_RESOURCE_GROUP, LOCAL_SUBSCRIPTION, LOCAL_WORKSPACE, PARENT_JOB_PARAM,
                          PROVIDER, SERVED_API_VERSIONS, VERSION)
from ..core.assets import ASSETS, put_asset_version, put_container
from ..core.computes import POWER, Computes, local_compute, rendered
from ..core.checks import JOB_REQUIRED, Invalid, datastore_props
from ..core.workspaces import workspace_doc
from ..core.connections import connection_props
from ..core.endpoints import Endpoints
from ..core.registries import copy_in, forget_files, registry_props
from ..core.jobs import Jobs
from ..core.workspace import (BUILTIN_DATASTORES, ENDPOINT_COLLECTIONS, LOCAL_COMPUTE, MAX_FILTER_TERMS, REGISTRY_PREFIX,
                              SCOPE, BadRequest, Conflict, Exists, NotFound, Page, Store, disk_full, kv_filter,
                              registry_key, scope_id, workspace_id)
from .blob import BLOB_PATH, account_path, datastore_uri, pending_container, sas_query
from .http import MAX_BODY, WORKSPACE_NAME, HttpError, Query, Request, arm_error, invalid, method_not_allowed
from .schedules import ScheduleRoutes


_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9\-_]{0,254}")
_REGISTRY_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9\-_]{2,32}")  # the spec's registryName and connectionName
_OPERATION = re.compile(r"[0-9a-f]{32}")
_ASSET_KEYS = {kind.lower(): kind for kind in ASSETS}
_URI_KEYS = {"codes": "codeUri", "data": "dataUri", "models": "modelUri"}
_OWN_SERVICES = ("Studio", "Tracking")
_ENDPOINT_KEYS = {collection.lower(): kind for kind, collection in ENDPOINT_COLLECTIONS.items()}

# Where clients find the workspace's other services (run history, MLflow, ...): all of them are this server.
DISCOVERY_PATH = "/discovery"
_DISCOVERED = ("api", "catalog", "experimentation", "history", "hyperdrive", "modelmanagement", "pipelines")

log = logging.getLogger(__name__)

# (path after the workspace, {method: handler}); "{kind}" is an asset kind, other "{x}" capture a segment.
_ROUTES = [
    ((), {"GET": "get_workspace", "PUT": "put_workspace", "PATCH": "patch_workspace",
          "DELETE": "delete_workspace"}),
    (("{kind}",), {"GET": "list_containers"}),
    (("{kind}", "{name}"), {"GET": "get_container", "PUT": "put_container", "DELETE": "delete_container"}),
    (("{kind}", "{name}", "versions"), {"GET": "list_versions"}),
    (("{kind}", "{name}", "versions", "{version}"),
     {"GET": "get_version", "PUT": "put_version", "DELETE": "delete_version"}),
    (("codes", "{name}", "versions", "{version}", "startPendingUpload"), {"POST": "start_pending_upload"}),
    (("datastores",), {"GET": "list_datastores"}),
    (("datastores", "{name}"), {"GET": "get_datastore", "PUT": "put_datastore", "DELETE": "delete_datastore"}),
    (("datastores", "{name}", "listSecrets"), {"POST": "list_secrets"}),
    (("connections",), {"GET": "list_connections"}),
    (("connections", "{name}"), {"GET": "get_connection", "PUT": "put_connection", "DELETE": "delete_connection"}),
    (("connections", "{name}", "listsecrets"), {"POST": "list_connection_secrets"}),
    (("jobs",), {"GET": "list_jobs"}),
    (("jobs", "{name}"), {"GET": "get_job", "PUT": "put_job", "DELETE": "delete_job"}),
    (("jobs", "{name}", "cancel"), {"POST": "cancel_job"}),
    (("computes",), {"GET": "list_computes"}),
    (("computes", "{name}"), {"GET": "get_compute", "PUT": "put_compute", "DELETE": "delete_compute"}),
    (("computes", "{name}", "{power}"), {"POST": "power_compute"}),
    (("{endpoints}",), {"GET": "list_endpoints"}),
    (("{endpoints}", "{name}"),
     {"GET": "get_endpoint", "PUT": "put_endpoint", "PATCH": "patch_endpoint", "DELETE": "delete_endpoint"}),
    (("{endpoints}", "{name}", "listKeys"), {"POST": "list_keys"}),
    (("{endpoints}", "{name}", "regenerateKeys"), {"POST": "regenerate_keys"}),
    (("{endpoints}", "{name}", "token"), {"POST": "endpoint_token"}),
    (("{endpoints}", "{name}", "deployments"), {"GET": "list_deployments"}),
    (("{endpoints}", "{name}", "deployments", "{deployment}"),
     {"GET": "get_deployment", "PUT": "put_deployment", "PATCH": "patch_deployment", "DELETE": "delete_deployment"}),
    (("{endpoints}", "{name}", "deployments", "{deployment}", "getLogs"), {"POST": "deployment_logs"}),
    (("schedules",), {"GET": "list_schedules"}),
    (("schedules", "{name}"), {"GET": "get_schedule", "PUT": "put_schedule", "DELETE": "delete_schedule"}),
    (("schedules", "{name}", "trigger"), {"POST": "trigger_schedule"}),
    (("schedules", "{name}", "firings"), {"GET": "list_schedule_firings"}),
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
            elif part == "{endpoints}":
                if segment.lower() not in _ENDPOINT_KEYS:
                    break
                params["kind"] = _ENDPOINT_KEYS[segment.lower()]
            elif part.startswith("{"):
                params[part[1:-1]] = segment
            elif part.lower() != segment.lower():
                break
        else:
            return methods, params
    return None, None


def _check_params(params: dict) -> None:
    for key, pattern in (("name", _NAME), ("version", VERSION), ("deployment", _NAME)):
        value = params.get(key)
        if value is not None and not pattern.fullmatch(value):
            raise HttpError(400, "InvalidResourceName", f"invalid {key} {value!r}: it must match ^{pattern.pattern}$")
    if "operation" in params and not _OPERATION.fullmatch(params["operation"]):
        raise HttpError(404, "ResourceNotFound", f"operation {params['operation']!r} not found")


def _system_data(record: dict) -> dict:
    return {"createdAt": record["created_at"], "createdBy": record["created_by"], "createdByType": "User",
            "lastModifiedAt": record["modified_at"], "lastModifiedBy": record["modified_by"],
            "lastModifiedByType": "User"}


def _resource(ws: str, path: tuple[str, ...], name: str, kind: str, props: dict, record: dict) -> dict:
    parent = "registries" if ws.startswith(REGISTRY_PREFIX) else "workspaces"
    return {"id": "/".join((scope_id(ws), *path)), "name": name,
            "type": f"{PROVIDER}/{parent}/{kind}", "properties": props, "systemData": _system_data(record)}


Response = tuple[int, "dict | None", dict]


class ArmApi(ScheduleRoutes):
    """The ARM API of the local workspace over a home's store, as a WSGI app (see the module docstring)."""

    resource = staticmethod(_resource)

    def __init__(self, store: Store, jobs: Jobs, endpoints: Endpoints | None = None, *, page_size: int = 100,
                 max_body: int = MAX_BODY, retry_after: int = 1):
        self.store, self.jobs = store, jobs
        self.endpoints = endpoints or Endpoints(store, jobs.user)
        self.computes = Computes(store, jobs.user)
        self.page_size, self.max_body, self.retry_after = page_size, max_body, retry_after

    @property
    def user(self) -> str:
        return self.jobs.user

    def __call__(self, environ, start_response):
        headers = {"x-ms-request-id": str(uuid.uuid4())}
        client_id = environ.get("HTTP_X_MS_CLIENT_REQUEST_ID")
        if client_id:
            headers["x-ms-client-request-id"] = client_id
        try:
            status, body, extra = self._handle(environ)
        except HttpError as exc:
            status, body, extra = exc.status, arm_error(exc.code, exc.message), exc.headers
        except Invalid as exc:
            status, body, extra = 400, arm_error("InvalidRequestContent", str(exc)), {}
        except NotFound as exc:
            status, body, extra = 404, arm_error("ResourceNotFound", str(exc)), {}
        except Conflict as exc:
            status, body, extra = 409, arm_error("Conflict", str(exc)), {}
        except Exists as exc:  # If-None-Match: *
            status, body, extra = 412, arm_error("PreconditionFailed", str(exc)), {}
        except BadRequest as exc:
            status, body, extra = 400, arm_error("BadRequest", str(exc)), {}
        except RecursionError:  # comparing or storing a body nested nearly as deep as the parser allows
            status, body, extra = 400, arm_error("InvalidRequestContent", "the request body is nested too deeply"), {}
        except Exception as exc:  # never a traceback to the client; the log has it
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):  # past the busy timeout
                status, body = 503, arm_error("ServiceUnavailable", f"the local workspace store is busy: {exc}")
                extra = {"Retry-After": str(self.retry_after)}
            elif (isinstance(exc, sqlite3.OperationalError) and ("full" in str(exc) or disk_full(self.store.home))) \
                    or (isinstance(exc, OSError) and exc.errno == errno.ENOSPC):  # the transaction was rolled back
                status, extra = 507, {}
                body = arm_error("InsufficientStorage", f"the local workspace cannot write to {self.store.home}: "
                                                        f"its disk is full ({exc}); free some space and retry")
            else:
                log.exception("local workspace: %s %s failed", environ.get("REQUEST_METHOD"),
                              environ.get("PATH_INFO"))
                status, body, extra = 500, arm_error("InternalServerError", f"{type(exc).__name__}: {exc}"), {}
        headers.update(extra)
        data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        if body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        headers["Content-Length"] = str(len(data))
        start_response(f"{status} {HTTPStatus(status).phrase}", list(headers.items()))
        return [data]

    def _handle(self, environ) -> Response:
        req = Request(environ, self.max_body)
        path = environ.get("PATH_INFO", "")
        try:  # PEP 3333: the UTF-8 bytes of the path as latin-1 code points
            path = path.encode("latin-1").decode("utf-8")
        except UnicodeError:
            pass  # not so encoded: such a path only fails name checks, as it should
        if path.rstrip("/") == DISCOVERY_PATH and req.method == "GET":
            return 200, {service: req.url("") for service in _DISCOVERED}, {}
        segments = path.strip("/").split("/")
        if any(s in (".", "..") for s in segments):
            raise HttpError(400, "InvalidRequestUri", f"path segments '.' and '..' are not allowed: {path!r}")
        if len(segments) < 7 or [s.lower() for s in segments[:5:2]] != [s.lower() for s in SCOPE[:5:2]] \
                or segments[5].lower() != PROVIDER.lower() or segments[6].lower() not in ("workspaces", "registries"):
            raise HttpError(404, "ResourceNotFound", f"no resource at {path!r}: the local workspace answers "
                                                     f"{workspace_id('{workspace}')}/...")
        version = req.query.get("api-version")
        if version is None:
            raise HttpError(400, "MissingApiVersionParameter",
                            f"the api-version query parameter is required (supported: '{API_VERSION}')")
        if version not in SERVED_API_VERSIONS:
            raise HttpError(400, "InvalidApiVersionParameter",
                            f"the api-version '{version}' is invalid; the supported versions are "
                            + ", ".join(f"'{v}'" for v in sorted(SERVED_API_VERSIONS)))
        if segments[1].lower() != LOCAL_SUBSCRIPTION:
            raise HttpError(404, "SubscriptionNotFound",
                            f"subscription '{segments[1]}' not found: the local workspace is in '{LOCAL_SUBSCRIPTION}'")
        if segments[3].lower() != LOCAL_RESOURCE_GROUP:
            raise HttpError(404, "ResourceGroupNotFound", f"resource group '{segments[3]}' not found: the local "
                                                          f"workspace is in '{LOCAL_RESOURCE_GROUP}'")
        if segments[6].lower() == "registries":
            return self._registry_request(req, segments[7:])
        if len(segments) == 7:
            if req.method != "GET":
                raise method_not_allowed(req.method, ("GET",))
            self.store.ensure_workspace(LOCAL_WORKSPACE, self.user)
            return 200, {"value": [self._workspace(req, r) for r in self.store.list_workspaces()]}, {}
        ws = segments[7]
        if not WORKSPACE_NAME.fullmatch(ws):
            raise HttpError(400, "InvalidResourceName",
                            f"invalid workspace name {ws!r}: it must match ^{WORKSPACE_NAME.pattern}$")
        methods, params = _route(segments[8:])
        if methods is None:
            raise HttpError(404, "ResourceNotFound", f"no resource type at {path!r}")
        if req.method not in methods:
            raise method_not_allowed(req.method, tuple(methods))
        _check_params(params)
        if (segments[8:] or req.method == "GET") and not self.store.open_workspace(ws, self.user):
            # only a workspace's own PUT makes it (its PATCH and DELETE answer 404 themselves)
            hint = f"create it first (`azml workspace create -n {ws}`, ml_client.workspaces.begin_create)"
            if not segments[8:]:
                raise HttpError(404, "ResourceNotFound", f"workspace {ws!r} not found: {hint}")
            action = {"GET": "read", "DELETE": "delete", "POST": "action"}.get(req.method, "write")
            raise HttpError(404, "ParentResourceNotFound",  # as Resource Manager answers for a missing parent
                            f"Failed to perform '{action}' on resource(s) of type 'workspaces/{segments[8]}', because "
                            f"the parent resource '{workspace_id(ws)}' could not be found: {hint}")
        return getattr(self, methods[req.method])(req, ws, **params)

    def _registry_request(self, req: Request, segments: list[str]) -> Response:
        """`registries`, `registries/<r>` and the asset collections of a registry."""
        if not segments:
            if req.method != "GET":
                raise method_not_allowed(req.method, ("GET",))
            return 200, {"value": [self._registry(req, r) for r in self.store.list_workspaces(registries=True)]}, {}
        name = segments[0]
        if not _REGISTRY_NAME.fullmatch(name):
            raise HttpError(400, "InvalidResourceName",
                            f"invalid registry name {name!r}: it must match ^{_REGISTRY_NAME.pattern}$")
        if len(segments) == 1:
            methods = {"GET": "get_registry", "PUT": "put_registry", "PATCH": "patch_registry",
                       "DELETE": "delete_registry"}
            if req.method not in methods:
                raise method_not_allowed(req.method, tuple(methods))
            return getattr(self, methods[req.method])(req, name)
        methods, params = _route(segments[1:]) if segments[1].lower() in _ASSET_KEYS else (None, None)
        if methods is None:
            raise HttpError(404, "ResourceNotFound", f"no resource type at {'/'.join(segments)!r}: a registry holds "
                                                     "codes, components, data, environments and models")
        if req.method not in methods:
            raise method_not_allowed(req.method, tuple(methods))
        _check_params(params)
        key = registry_key(name)
        self.store.get_workspace(key)  # 404 for a registry that does not exist
        return getattr(self, methods[req.method])(req, key, **params)

    # -- helpers

    def _page(self, req: Request, ascending: bool = False, size_key: str | None = None) -> Page:
        size = (req.query.integer(size_key, 1, 1000) if size_key else None) or self.page_size
        token = req.query.get("$skipToken") or req.query.get("$skip")
        return Page(size, token, ascending, req.query.integer("$top", 1))

    def _list(self, req: Request, values: list[dict], token: str | None, page: Page) -> Response:
        body = {"value": values}
        if token:
            pairs = [(k, v) for k, v in req.query.pairs if k.lower() not in ("$skip", "$skiptoken", "$top")]
            if page.limit is not None:
                pairs.append(("$top", str(page.limit - len(values))))
            pairs.append(("$skipToken", token))
            body["nextLink"] = req.url(req.environ.get("PATH_INFO", "")) + "?" + urlencode(pairs, safe="$,")
        return 200, body, {}

    def _operation_headers(self, req: Request, ws: str, op: dict) -> dict:
        """Where to poll a long-running operation; Retry-After 0 when it is already done."""
        base = req.url(workspace_id(ws))
        query = f"?api-version={API_VERSION}"
        return {"Location": f"{base}/operationResults/{op['id']}{query}",
                "Azure-AsyncOperation": f"{base}/operationsStatus/{op['id']}{query}",
                "Retry-After": str(self.retry_after if op["status"] == "InProgress" else 0)}

    # -- workspaces and computes

    def _workspace(self, req: Request, record: dict) -> dict:
        # MLflow's tracking API is served under the workspace's own path; the discovery document names this
        # server for every regional service
        doc = record["doc"]
        props = {"friendlyName": record["name"], "hbiWorkspace": False, "v1LegacyMode": False, **doc["properties"],
                 "workspaceId": record["workspace_id"], "provisioningState": "Succeeded",
                 "discoveryUrl": req.url(DISCOVERY_PATH), "mlFlowTrackingUri": req.url(workspace_id(record["name"]))}
        body = {"id": workspace_id(record["name"]), "name": record["name"], "type": f"{PROVIDER}/workspaces",
                "location": doc.get("location", "local"), "kind": doc.get("kind", "Default"),
                "tags": doc.get("tags", {})}
        body.update((k, doc[k]) for k in ("identity", "sku") if k in doc)
        body.update(properties=props, systemData=_system_data(record))
        return body

    def _registry(self, req: Request, record: dict) -> dict:
        doc = record["doc"]
        name = record["name"][len(REGISTRY_PREFIX):]
        props = {**doc.get("properties", {}), "discoveryUrl": req.url(DISCOVERY_PATH),
                 "mlFlowRegistryUri": req.url(scope_id(record["name"]))}
        props.setdefault("regionDetails", [{"location": doc["location"]}])
        body = {"id": scope_id(record["name"]), "name": name, "type": f"{PROVIDER}/registries",
                "location": doc["location"], "tags": doc.get("tags", {})}
        body.update((k, doc[k]) for k in ("identity", "sku", "kind") if k in doc)
        body.update(properties=props, systemData=_system_data(record))
        return body

    def get_registry(self, req, name):
        return 200, self._registry(req, self.store.get_workspace(registry_key(name))), {}

    def put_registry(self, req, name):
        record, created = self.store.put_workspace(registry_key(name), registry_props(req.json("the request needs "
                                                                                             "a JSON body")), self.user)
        return (201 if created else 200), self._registry(req, record), {}

    def patch_registry(self, req, name):
        patch = req.json("the request needs a JSON body")
        record = self.store.get_workspace(registry_key(name))
        doc = {**record["doc"], **{k: v for k, v in (patch if isinstance(patch, dict) else {}).items()
                                   if k in ("tags", "identity", "sku")}}
        record, _ = self.store.put_workspace(registry_key(name), registry_props(doc), self.user)
        return 200, self._registry(req, record), {}

    def delete_registry(self, req, name):
        if not self.store.delete_workspace(registry_key(name)):
            return 204, None, {}
        forget_files(self.store, name)
        return 200, None, {}

    def get_workspace(self, req, ws):
        return 200, self._workspace(req, self.store.get_workspace(ws)), {}

    def put_workspace(self, req, ws):
        if not _REGISTRY_NAME.fullmatch(ws):
            raise HttpError(400, "InvalidResourceName",
                            f"invalid workspace name {ws!r}: a new one must match ^{_REGISTRY_NAME.pattern}$")
        doc = workspace_doc({"location": "local", **req.json("the request needs a JSON body")})
        record, _ = self.store.put_workspace(ws, doc, self.user)
        return 200, self._workspace(req, record), {}

    def patch_workspace(self, req, ws):
        doc = self.store.get_workspace(ws)["doc"]
        patch = workspace_doc({"location": doc.get("location", "local"), "properties": {},
                               **req.json("the request needs a JSON body")})
        doc = {**doc, **{k: v for k, v in patch.items() if k != "properties"},
               "properties": {**doc["properties"], **patch["properties"]}}
        record, _ = self.store.put_workspace(ws, doc, self.user)
        return 200, self._workspace(req, record), {}

    def delete_workspace(self, req, ws):
        """A workspace goes with everything recorded in it, once nothing runs there."""
        running = [j["name"] for j in self.store.active_jobs() if j["workspace"].lower() == ws.lower()]
        if running:
            raise Conflict(f"workspace {ws!r} has jobs that have not ended ({', '.join(running[:5])}): cancel them "
                           "first")
        if any(w.lower() == ws.lower() for kind in ENDPOINT_COLLECTIONS for w, _ in self.store.endpoint_names(kind)):
            raise Conflict(f"workspace {ws!r} has endpoints: delete them first")
        if not self.store.delete_workspace(ws):
            return 204, None, {}
        shutil.rmtree(self.store.job_folder(ws, "-").parent, ignore_errors=True)
        return 200, None, {}

    def _compute(self, ws: str, name: str, record: dict, props: dict) -> dict:
        doc = record.get("doc", {})
        body = _resource(ws, ("computes", name), name, "computes", props, record)
        body.update({"location": doc.get("location") or "local", "tags": doc.get("tags", {})})
        body.update((k, doc[k]) for k in ("identity", "sku") if k in doc)
        return body

    def _local_compute(self, ws: str) -> dict:
        record = {**self.store.get_workspace(ws), "doc": {}}  # the built-in compute has no tags or region of its own
        return self._compute(ws, LOCAL_COMPUTE, record, local_compute(record["created_at"]))

    def list_computes(self, req, ws):
        page = self._page(req, ascending=True)
        records, token = self.store.list_computes(ws, page)
        first = [] if page.after is not None else [self._local_compute(ws)]  # the built-in compute heads the first page
        return self._list(req, first + [self._compute(ws, r["name"], r, rendered(r, self.store.home))
                                        for r in records], token, page)

    def get_compute(self, req, ws, name):
        if name.lower() == LOCAL_COMPUTE:
            return 200, self._local_compute(ws), {}
        record = self.store.get_compute(ws, name)
        return 200, self._compute(ws, record["name"], record, rendered(record, self.store.home)), {}

    def put_compute(self, req, ws, name):
        record, created, op = self.computes.put(ws, name, req.resource())
        body = self._compute(ws, record["name"], record, rendered(record, self.store.home))
        return self._accepted(req, ws, created, body, op)

    def delete_compute(self, req, ws, name):
        try:
            op = self.computes.delete(ws, name)
        except NotFound:
            return 204, None, {}
        return 202, None, self._operation_headers(req, ws, op)

    def power_compute(self, req, ws, name, power):
        if power not in POWER:
            raise HttpError(404, "ResourceNotFound", f"no action {power!r} on computes: use start, stop or restart")
        return 202, None, self._operation_headers(req, ws, self.computes.power(ws, name, power))

    # -- asset containers and versions

    def _container(self, ws: str, kind: str, record: dict) -> dict:
        props = dict(record["doc"])
        props["nextVersion"] = str(record["next_version"])
        if record["latest_version"] is not None:
            props["latestVersion"] = record["latest_version"]
        if ASSETS[kind].stateful:
            props["provisioningState"] = "Succeeded"
        return _resource(ws, (kind, record["name"]), record["name"], kind, props, record)

    def _version(self, ws: str, kind: str, record: dict) -> dict:
        props = dict(record["doc"])
        if ASSETS[kind].stateful:
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
        record, created = put_container(self.store, ws, kind, name, req.body(), self.user)
        return (201 if created else 200), self._container(ws, kind, record), {}

    def delete_container(self, req, ws, kind, name):
        deleted = self.store.delete_container(ws, kind, name)
        if deleted and ws.startswith(REGISTRY_PREFIX):
            forget_files(self.store, ws[len(REGISTRY_PREFIX):], kind, name)
        return (200 if deleted else 204), None, {}

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
        create_only = req.environ.get("HTTP_IF_NONE_MATCH", "").strip() == "*"
        props = req.body()
        key = _URI_KEYS.get(kind)
        own = req.url(BLOB_PATH)
        if key and isinstance(props.get(key), str) and props[key].startswith(own):
            # uploaded to this server's blob endpoint (startPendingUpload): kept as the datastore path it landed in,
            # which stays true when the server's port changes
            props[key] = datastore_uri(unquote(props[key][len(own) - len(BLOB_PATH):].split("?", 1)[0])) or props[key]
        if ws.startswith(REGISTRY_PREFIX):  # the files of a workspace's asset are copied in
            props = copy_in(self.store, ws[len(REGISTRY_PREFIX):], kind, name, version, props)
        record, created = put_asset_version(self.store, ws, kind, name, version, props, self.user,
                                            create_only=create_only)
        return (201 if created else 200), self._version(ws, kind, record), {}

    def start_pending_upload(self, req, ws, name, version):
        """A container on this server's blob endpoint that a code version's files may be uploaded to, with a SAS
        for it (PendingUploadResponseDto); the code version then names the upload by its blob URI."""
        if ws.startswith(REGISTRY_PREFIX):
            raise HttpError(404, "ResourceNotFound", "startPendingUpload is answered for workspaces' code versions")
        body = req.json()
        unknown = sorted(set(body) - {"pendingUploadId", "pendingUploadType"})
        if unknown:
            raise invalid(f"unknown properties {', '.join(unknown)}: a pending upload request has pendingUploadId "
                          "and pendingUploadType")
        kind = body.get("pendingUploadType", "TemporaryBlobReference")
        if kind != "TemporaryBlobReference":
            raise invalid(f"pendingUploadType {kind!r}: TemporaryBlobReference is the only supported type")
        upload_id = body.get("pendingUploadId")
        if upload_id is not None and not isinstance(upload_id, str):
            raise invalid("pendingUploadId: expected a string")
        container, _ = pending_container(upload_id)
        url = req.url(f"{account_path(ws)}/{container}")
        return 200, {"blobReferenceForConsumption": {
            "blobUri": url, "credential": {"credentialType": "SAS",
                                           "sasUri": f"{url}?{sas_query(self.store.home, ws, container)}"}},
            "pendingUploadId": upload_id or container.partition("-")[2],
            "pendingUploadType": "TemporaryBlobReference"}, {}

    def delete_version(self, req, ws, kind, name, version):
        deleted = self.store.delete_version(ws, kind, name, version)
        if deleted and ws.startswith(REGISTRY_PREFIX):
            forget_files(self.store, ws[len(REGISTRY_PREFIX):], kind, name, version)
        return (200 if deleted else 204), None, {}

    # -- datastores

    def _datastore(self, ws: str, record: dict, req: Request | None = None) -> dict:
        """A datastore's body; a local one's account is this server's blob endpoint for the workspace when `req`
        says where the server is (azure-ai-ml uploads to `https://<accountName>.blob.<storage suffix>`)."""
        name = record["name"]
        if record["builtin"]:
            props = {"datastoreType": "AzureBlob", "accountName": "local", "containerName": name,
                     "credentials": {"credentialsType": "None"},
                     "properties": {LOCAL_FOLDER_PROPERTY: str(self.store.datastore_folder(name))},
                     "description": f"Local file datastore {name} (a folder of the local workspace)"}
        else:
            props = dict(record["doc"])
        if req is not None and LOCAL_FOLDER_PROPERTY in (props.get("properties") or {}):
            props["accountName"] = req.url(account_path(ws)).partition("://")[2]
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
            raise invalid(f"too many names ({len(names)}); the limit is {MAX_FILTER_TERMS}")
        if names:
            where.append(f"t.name IN ({', '.join('?' * len(names))})")
            args += names
        if query.get("searchText"):
            where.append("instr(lower(t.name), lower(?)) > 0")
            args.append(query.get("searchText"))
        if query.get("orderBy") and query.get("orderBy").lower() not in ("createdtime", "createdat"):
            raise invalid(f"query parameter orderBy={query.get('orderBy')!r}: only createdtime is supported")
        page = self._page(req, ascending=bool(query.boolean("orderByAsc")), size_key="count")
        records, token = self.store.list_datastores(ws, page, where, args)
        return self._list(req, [self._datastore(ws, r, req) for r in records], token, page)

    def get_datastore(self, req, ws, name):
        return 200, self._datastore(ws, self.store.get_datastore(ws, name), req), {}

    def put_datastore(self, req, ws, name):
        props, secrets = datastore_props(req.body())
        if name in BUILTIN_DATASTORES:  # the same body again is fine; the store refuses a change
            current = self._datastore(ws, self.store.get_datastore(ws, name))["properties"]
            if datastore_props({**current, "accountName": props.get("accountName")})[0] == props:
                return 200, self._datastore(ws, self.store.get_datastore(ws, name), req), {}
        record, created = self.store.put_datastore(ws, name, props, secrets, self.user)
        return (201 if created else 200), self._datastore(ws, record, req), {}

    def delete_datastore(self, req, ws, name):
        return (200 if self.store.delete_datastore(ws, name) else 204), None, {}

    def list_secrets(self, req, ws, name):
        record = self.store.get_datastore(ws, name)
        if not record["secrets"]:
            raise HttpError(400, "NoSecrets", f"datastore {name!r} has no stored secrets")
        return 200, json.loads(record["secrets"]), {}

    # -- connections

    def _connection(self, ws: str, record: dict, secrets: bool = False) -> dict:
        props = dict(record["doc"])
        if secrets and record["secrets"]:
            props["credentials"] = {**props.get("credentials", {}), **json.loads(record["secrets"])}
        elif not props.get("credentials"):
            props.pop("credentials", None)
        props["createdByWorkspaceArmId"] = workspace_id(ws)
        return _resource(ws, ("connections", record["name"]), record["name"], "connections", props, record)

    def list_connections(self, req, ws):
        where, args = [], []
        for param, member in (("target", "target"), ("category", "category")):
            if req.query.get(param):
                where.append(f"json_extract(t.doc, '$.{member}') = ?")
                args.append(req.query.get(param))
        page = self._page(req, ascending=True)
        records, token = self.store.list_connections(ws, page, where, args)
        return self._list(req, [self._connection(ws, r) for r in records], token, page)

    def get_connection(self, req, ws, name):
        return 200, self._connection(ws, self.store.get_connection(ws, name)), {}

    def put_connection(self, req, ws, name):
        if not _REGISTRY_NAME.fullmatch(name):
            raise HttpError(400, "InvalidResourceName",
                            f"invalid connection name {name!r}: it must match ^{_REGISTRY_NAME.pattern}$")
        props, secrets = connection_props(req.body())
        record, _ = self.store.put_connection(ws, name, props, secrets, self.user)
        return 200, self._connection(ws, record), {}  # the spec answers a create 200 too

    def delete_connection(self, req, ws, name):
        return (200 if self.store.delete_connection(ws, name) else 204), None, {}

    def list_connection_secrets(self, req, ws, name):
        return 200, self._connection(ws, self.store.get_connection(ws, name), secrets=True), {}

    # -- jobs

    def _job(self, ws: str, record: dict, req: Request) -> dict:
        run = {"StartTimeUtc": record["started_at"], "EndTimeUtc": record["ended_at"], "Error": record["error"],
               "ExitCode": None if record["exit_code"] is None else str(record["exit_code"])}
        results = json.loads(record["results"] or "{}")
        props = {**record["doc"], "status": record["status"],
                 "properties": {**record["doc"].get("properties", {}), **results,
                                **{k: v for k, v in run.items() if v}}}
        # as the service adds them: where the job is shown (its studio page) and where its MLflow run is (the
        # workspace's tracking URI)
        props["services"] = {**(props.get("services") or {}),
                             "Tracking": {"jobServiceType": "Tracking", "endpoint": req.url(workspace_id(ws))},
                             "Studio": {"jobServiceType": "Studio",
                                        "endpoint": req.url(f"/studio/{ws}/jobs/{quote(record['name'])}")}}
        return _resource(ws, ("jobs", record["name"]), record["name"], "jobs", props, record)

    def list_jobs(self, req, ws):
        query = req.query
        where, args = _doc_filters(query, ("tag", "tags"), ("properties", "properties"))
        if query.get("jobType"):
            where.append("t.job_type = ?")
            args.append(query.choice("jobType", tuple(JOB_REQUIRED), ""))
        page = self._page(req)
        records, token = self.store.list_jobs(ws, page, query.view(), query.get(PARENT_JOB_PARAM), where, args)
        return self._list(req, [self._job(ws, r, req) for r in records], token, page)

    def get_job(self, req, ws, name):
        return 200, self._job(ws, self.store.get_job(ws, name), req), {}

    def put_job(self, req, ws, name):
        props = req.body()
        if isinstance(props.get("services"), dict):  # the ones this service adds (see _job) are not the user's
            props["services"] = {k: v for k, v in props["services"].items()
                                 if not (isinstance(v, dict) and v.get("jobServiceType") in _OWN_SERVICES)} or None
        record, created = self.jobs.create(ws, name, props)
        return (201 if created else 200), self._job(ws, record, req), {}

    def delete_job(self, req, ws, name):
        try:
            op = self.jobs.delete(ws, name)
        except NotFound:
            return 204, None, {}
        return 202, None, self._operation_headers(req, ws, op)

    def cancel_job(self, req, ws, name):
        return 202, None, self._operation_headers(req, ws, self.jobs.cancel(ws, name))

    # -- online and batch endpoints, their deployments

    def _tracked(self, ws: str, path: tuple[str, ...], name: str, kind: str, record: dict, props: dict) -> dict:
        doc = record["doc"]
        body = _resource(ws, path, name, kind, props, record)
        body.update((k, doc[k]) for k in ("location", "tags", "identity", "kind", "sku") if k in doc)
        body["tags"] = doc.get("tags", {})
        return body

    def _endpoint(self, ws: str, kind: str, record: dict) -> dict:
        collection, name = ENDPOINT_COLLECTIONS[kind], record["name"]
        props = {**record["doc"]["properties"], "provisioningState": record["state"]}
        for key, uri in (("scoringUri", self.endpoints.provisioner.scoring_uri(ws, kind, name)),
                         ("swaggerUri", kind == "online" and self.endpoints.provisioner.swagger_uri(ws, kind, name))):
            if uri:
                props[key] = uri
        return self._tracked(ws, (collection, name), name, collection, record, props)

    def _deployment(self, ws: str, kind: str, record: dict) -> dict:
        collection = ENDPOINT_COLLECTIONS[kind]
        props = {**record["doc"]["properties"], "provisioningState": record["state"]}
        return self._tracked(ws, (collection, record["endpoint_name"], "deployments", record["name"]), record["name"],
                             f"{collection}/deployments", record, props)

    def _accepted(self, req: Request, ws: str, created: bool, body: dict, op: dict) -> Response:
        """A PUT of a long-running resource: 201 or 200, with where to follow its provisioning."""
        return (201 if created else 200), body, self._operation_headers(req, ws, op)

    def list_endpoints(self, req, ws, kind):
        page = self._page(req, size_key="count")
        records, token = self.store.list_endpoints(ws, kind, page)
        return self._list(req, [self._endpoint(ws, kind, r) for r in records], token, page)

    def get_endpoint(self, req, ws, kind, name):
        return 200, self._endpoint(ws, kind, self.store.get_endpoint(ws, kind, name)), {}

    def put_endpoint(self, req, ws, kind, name):
        record, created, op = self.endpoints.put_endpoint(ws, kind, name, req.resource())
        return self._accepted(req, ws, created, self._endpoint(ws, kind, record), op)

    def patch_endpoint(self, req, ws, kind, name):
        op = self.endpoints.patch(ws, kind, name, None, req.json("the request needs a JSON body"))
        return 202, None, self._operation_headers(req, ws, op)

    def patch_deployment(self, req, ws, kind, name, deployment):
        op = self.endpoints.patch(ws, kind, name, deployment, req.json("the request needs a JSON body"))
        return 202, None, self._operation_headers(req, ws, op)

    def delete_endpoint(self, req, ws, kind, name):
        try:
            op = self.endpoints.delete_endpoint(ws, kind, name)
        except NotFound:
            return 204, None, {}
        return 202, None, self._operation_headers(req, ws, op)

    def list_keys(self, req, ws, kind, name):
        return 200, self.endpoints.list_keys(ws, kind, name), {}

    def regenerate_keys(self, req, ws, kind, name):
        if kind != "online":
            raise HttpError(404, "ResourceNotFound", "batch endpoints have no keys to regenerate")
        op = self.endpoints.regenerate_key(ws, kind, name, req.json("the request needs a JSON body with a keyType"))
        return 202, None, self._operation_headers(req, ws, op)

    def endpoint_token(self, req, ws, kind, name):
        if kind != "online":
            raise HttpError(404, "ResourceNotFound", "batch endpoints take Microsoft Entra (AAD) tokens")
        return 200, self.endpoints.token(ws, kind, name), {}

    def list_deployments(self, req, ws, kind, name):
        page = self._page(req, ascending=True)
        records, token = self.store.list_deployments(ws, kind, name, page)
        return self._list(req, [self._deployment(ws, kind, r) for r in records], token, page)

    def get_deployment(self, req, ws, kind, name, deployment):
        return 200, self._deployment(ws, kind, self.store.get_deployment(ws, kind, name, deployment)), {}

    def put_deployment(self, req, ws, kind, name, deployment):
        record, created, op = self.endpoints.put_deployment(ws, kind, name, deployment, req.resource())
        return self._accepted(req, ws, created, self._deployment(ws, kind, record), op)

    def delete_deployment(self, req, ws, kind, name, deployment):
        try:
            op = self.endpoints.delete_deployment(ws, kind, name, deployment)
        except NotFound:
            return 204, None, {}
        return 202, None, self._operation_headers(req, ws, op)

    def deployment_logs(self, req, ws, kind, name, deployment):
        if kind != "online":
            raise HttpError(404, "ResourceNotFound", "batch deployments have no server logs: see their jobs' logs")
        return 200, {"content": self.endpoints.logs(ws, kind, name, deployment, req.json())}, {}

    # -- long-running operations

    def operation_result(self, req, ws, operation):
        op = self.store.get_operation(ws, operation)
        if op["status"] == "InProgress":
            headers = self._operation_headers(req, ws, op)
            return 202, None, {"Location": headers["Location"], "Retry-After": headers["Retry-After"]}
        if op["status"] == "Failed":
            return 400, arm_error("DeploymentFailed", op.get("error") or f"the {op['action']} failed"), {}
        return 200, None, {}

    def operation_status(self, req, ws, operation):
        op = self.store.get_operation(ws, operation)
        body = {"id": f"{workspace_id(ws)}/operationsStatus/{op['id']}", "name": op["id"], "status": op["status"],
                "startTime": op["started_at"]}
        if op["ended_at"]:
            body["endTime"] = op["ended_at"]
        if op.get("error"):
            body["error"] = {"code": "DeploymentFailed" if op["action"] in ("create", "update") else "OperationFailed",
                             "message": op["error"]}
        return 200, body, {}


def _doc_filters(query: Query, *params: tuple[str, str]) -> tuple[list[str], list]:
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
        raise invalid(f"$orderBy={order_by!r}: supported are 'createdtime desc' and 'createdtime asc'")
    return parts[1:] == ["asc"]
