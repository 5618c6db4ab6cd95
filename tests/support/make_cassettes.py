"""(Re)write recordings/: vcrpy cassettes of MLClient's Azure (ARM) path, one per operation group and scenario.

    /work/venv/bin/python tests/support/make_cassettes.py [--spec-dir DIR] [--out DIR]

There is no live workspace to record against, so the exchanges are written here. Request bodies are literal:
they are the contract, and replay matches what the SDK sends against them as JSON. Responses are laid out as
the spec's x-ms-examples (their keys, order and service-computed fields) with realistic names in place of the
examples' "string" placeholders. The output depends only on this file and the spec (same bytes every run), and
the written cassettes stand alone: the tests do not need the spec to replay them.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import uuid
from pathlib import Path
from urllib.parse import urlencode

from vcr.request import Request
from vcr.serialize import serialize
from vcr.serializers import yamlserializer

API_VERSION = "2024-04-01"
NAMED_OUTPUTS_API_VERSION = "2025-01-01-preview"  # jobs whose outputs become assets (azure-ai-ml's command jobs)
HOST = "https://management.azure.com"
SUBSCRIPTION = "5c3f7e1a-2b9d-4c8e-a6f0-8d1b3e5a7c92"
RESOURCE_GROUP = "rg-contoso-ml"
WORKSPACE = "mlw-contoso-dev"
LOCATION = "westeurope"
SCOPE = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers/"
         f"Microsoft.MachineLearningServices/workspaces/{WORKSPACE}")
BLOB = "https://stcontosomldev.blob.core.windows.net/azureml-blobstore-8d2f4c1a-9b3e-4f6d-a7c5-1e2d3f4a5b6c"
RECORDINGS = Path(__file__).resolve().parents[2] / "recordings"
EXAMPLES = ("machinelearningservices/resource-manager/Microsoft.MachineLearningServices/stable/"
            f"{API_VERSION}/examples")
DEFAULT_SPEC = Path(os.environ.get("AZUREML_V2_SHARED", Path(__file__).resolve().parents[3] / "shared")) / \
    "azure-rest-spec"

_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 206: "Partial Content", 404: "Not Found",
            429: "Too Many Requests"}
_USER = {"createdBy": "ada.lovelace@contoso.com", "createdByType": "User",
         "lastModifiedBy": "ada.lovelace@contoso.com", "lastModifiedByType": "User"}
RETRY_AFTER = 7  # seconds, on every 429
POLL_RETRY_AFTER = 15  # seconds, while a long-running operation (compute delete, job cancel) runs


# -- building blocks -----------------------------------------------------------------------------------------
def arm_id(*segments: str) -> str:
    return SCOPE + "".join(f"/{s}" for s in segments)


def url(*segments: str, **query) -> str:
    return f"{HOST}{arm_id(*segments)}?" + urlencode({"api-version": API_VERSION, **query}, safe="$")


def system_data(created: str, modified: str | None = None) -> dict:
    return {"createdAt": created, **_USER, "lastModifiedAt": modified or created}


def error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message, "details": []}}


def shaped(template, actual):
    """`actual` laid out as the example `template`: the example's keys first, in its order; the example's own
    enum-like and numeric values (service-computed fields such as provisioningState) where `actual` says
    nothing; then whatever else `actual` has. Placeholders, free text, URLs and dates of the example are
    never carried over."""
    if not (isinstance(template, dict) and isinstance(actual, dict)):
        return actual
    out = {}
    for key, value in template.items():
        if key in actual:
            out[key] = shaped(value, actual[key])
        elif isinstance(value, (bool, int, float)) or (isinstance(value, str) and value.isalpha()
                                                        and value != "string"):
            out[key] = value
    out.update((k, v) for k, v in actual.items() if k not in out)
    return out


class Spec:
    """The x-ms-examples of the spec, read at generation time only."""

    def __init__(self, root: Path):
        self.examples = root / EXAMPLES
        if not self.examples.is_dir():
            raise SystemExit(f"no examples at {self.examples}: pass --spec-dir")

    def body(self, example: str) -> dict:
        """The body of the example's 200 response."""
        data = json.loads((self.examples / f"{example}.json").read_text(encoding="utf-8"))
        return data["responses"]["200"]["body"]

    def resource(self, example: str, actual: dict) -> dict:
        return shaped(self.body(example), actual)


class Cassette:
    """The exchanges of one scenario, in the order the client makes them."""

    def __init__(self, name: str):
        self.name, self.requests, self.responses = name, [], []

    def add(self, method: str, uri: str, status: int, body=None, *, sent: dict | None = None,
            headers: dict | None = None, raw: bytes | None = None) -> None:
        """One exchange; the response is `body` as JSON, or `raw` bytes (a blob's content or listing)."""
        request_headers = {"Content-Type": "application/json"} if sent is not None else {}
        self.requests.append(Request(method, uri, None if sent is None else json.dumps(sent), request_headers))
        n = len(self.responses)
        request_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.name}#{n}"))
        response_headers = {"Cache-Control": ["no-cache"], "Date": ["Sat, 28 Nov 2026 10:00:00 GMT"],
                            "x-ms-request-id": [request_id], "x-ms-correlation-request-id": [request_id]}
        payload = raw or b""
        if body is not None:
            payload = json.dumps(body).encode()
            response_headers["Content-Type"] = ["application/json; charset=utf-8"]
        response_headers["Content-Length"] = [str(len(payload))]
        response_headers.update((k, [str(v)]) for k, v in (headers or {}).items())
        self.responses.append({"status": {"code": status, "message": _REASONS[status]},
                               "headers": response_headers, "body": {"string": payload}})

    def write(self, root: Path) -> None:
        path = root / f"{self.name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(serialize({"requests": self.requests, "responses": self.responses}, yamlserializer),
                        encoding="utf-8")


# -- versioned assets ----------------------------------------------------------------------------------------
ASSET_FIELDS = {"isAnonymous": False, "isArchived": False}
# collection -> (example folder, what the service adds to every version it returns, what of it the client
# sends back when it updates a version it got from the service)
KINDS = {
    "codes": ("CodeVersion", {}, ASSET_FIELDS),
    "data": ("DataVersionBase", {}, ASSET_FIELDS),
    "environments": ("EnvironmentVersion", {"environmentType": "UserCreated", "osType": "Linux",
                                            "autoRebuild": "Disabled", "provisioningState": "Succeeded"},
                     {**ASSET_FIELDS, "osType": "Linux"}),
    "models": ("ModelVersion", {"provisioningState": "Succeeded"}, ASSET_FIELDS),
    "components": ("ComponentVersion", {"provisioningState": "Succeeded"}, ASSET_FIELDS),
}
CREATED, MODIFIED = "2026-11-20T09:14:03.512Z", "2026-11-20T09:15:41.027Z"


def version_resource(spec: Spec, collection: str, name: str, version: str, props: dict, created: str = CREATED,
                     modified: str | None = None) -> dict:
    example, served, _ = KINDS[collection]
    return spec.resource(f"Workspace/{example}/get", {
        "id": arm_id(collection, name, "versions", version), "name": version,
        "type": f"Microsoft.MachineLearningServices/workspaces/{collection}/versions",
        "properties": {**props, **ASSET_FIELDS, **served}, "systemData": system_data(created, modified)})


def asset_cassettes(spec: Spec, *, group: str, collection: str, name: str, version: str, create: dict,
                    tags: dict, missing: str, others: list[tuple[str, dict, str]], archivable: bool,
                    before_put=(), update: dict | None = None) -> list[Cassette]:
    """The six scenarios of one asset kind.

    create: the created version's properties, as sent; tags: what the update adds to what the client sends
    back of the service's answer, unless `update` gives all the update sends; others: (version, properties,
    createdAt) of the older versions listed after `version`; before_put: exchanges the client makes before
    its first PUT.
    """
    update = update or {**create, **KINDS[collection][2], "tags": tags}
    current = version_resource(spec, collection, name, version, update, modified=MODIFIED)
    one = url(collection, name, "versions", version)
    view = {"listViewType": "ActiveOnly"} if archivable else {}
    cassettes = []

    c = Cassette(f"{group}/create_then_update")
    for exchange in before_put:
        c.add(*exchange)
    c.add("PUT", one, 201, version_resource(spec, collection, name, version, create), sent={"properties": create})
    c.add("PUT", one, 200, current, sent={"properties": update})
    cassettes.append(c)

    c = Cassette(f"{group}/get")
    c.add("GET", one, 200, current)
    if archivable:
        c.add("GET", url(collection, name, "versions", **{"$orderBy": "createdtime desc", "$top": 1}, **view), 200,
              {"value": [current]})
    cassettes.append(c)

    cassettes.append(not_found(group, url(collection, name, "versions", missing), "UserError",
                               f"Could not find {collection} {name} with version {missing} in workspace {WORKSPACE}."))

    c = Cassette(f"{group}/list_pages")
    listed = [current] + [version_resource(spec, collection, name, *other) for other in others]
    next_link = url(collection, name, "versions", **view, **{"$skipToken": f"{name}-page-2"})
    template = spec.body(f"Workspace/{KINDS[collection][0]}/list")
    c.add("GET", url(collection, name, "versions", **view), 200,
          shaped(template, {"value": listed[:2], "nextLink": next_link}))
    c.add("GET", next_link, 200, {"value": listed[2:]})
    cassettes.append(c)

    cassettes.append(throttled(group, collection, one, current))

    # the spec makes a workspace asset's DELETE synchronous (200 or 204, no 202): only registries' are long-running
    c = Cassette(f"{group}/delete")
    c.add("DELETE", one, 200)
    c.add("DELETE", url(collection, name), 204)
    cassettes.append(c)
    return cassettes


def not_found(group: str, uri: str, code: str, message: str) -> Cassette:
    c = Cassette(f"{group}/not_found")
    c.add("GET", uri, 404, error(code, message))
    return c


def throttled(group: str, collection: str, uri: str, resource: dict) -> Cassette:
    c = Cassette(f"{group}/throttled")
    c.add("GET", uri, 429, error("TooManyRequests", f"The request was throttled: too many requests to {collection} "
                                                    f"in this workspace; retry after {RETRY_AFTER} seconds."),
          headers={"Retry-After": RETRY_AFTER})
    c.add("GET", uri, 200, resource)
    return c


def code_cassettes(spec: Spec) -> list[Cassette]:
    create = {"description": "Training scripts of the churn model",
              "codeUri": f"{BLOB}/LocalUpload/5f1e9c7a3b2d48e6a0c4f7b1d9e2a3c8/src"}
    older = {**create, "codeUri": f"{BLOB}/LocalUpload/0a9b8c7d6e5f40312f1e0d9c8b7a6f5e/src"}
    return asset_cassettes(spec, group="code", collection="codes", name="train-src", version="1", create=create,
                           tags={"team": "churn"}, missing="9", others=[("0", older, "2026-11-18T16:02:11.870Z")],
                           archivable=False)


def data_cassettes(spec: Spec) -> list[Cassette]:
    def month(m):
        return {"description": "Customer churn snapshot", "dataType": "uri_folder",
                "dataUri": f"azureml://datastores/workspaceblobstore/paths/churn/2026-{m}/"}
    container = spec.resource("Workspace/DataContainer/get", {
        "id": arm_id("data", "churn-data"), "name": "churn-data",
        "type": "Microsoft.MachineLearningServices/workspaces/data",
        "properties": {"dataType": "uri_folder", "isArchived": False, "latestVersion": "2", "nextVersion": "3"},
        "systemData": system_data("2026-09-02T08:30:00.000Z", "2026-10-01T08:30:00.000Z")})
    return asset_cassettes(spec, group="data", collection="data", name="churn-data", version="3",
                           create=month("11"), tags={"source": "crm-export"}, missing="42",
                           others=[("2", month("10"), "2026-10-01T08:30:00.000Z"),
                                   ("1", month("09"), "2026-09-02T08:30:00.000Z")],
                           archivable=True, before_put=[("GET", url("data", "churn-data"), 200, container)])


CONDA = ("name: sklearn\nchannels:\n- conda-forge\ndependencies:\n- python=3.10\n- pip\n- pip:\n"
         "  - scikit-learn==1.5.1\n  - mlflow==2.14.3\n")
IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:{}.v1"
ENVIRONMENT = {"description": "scikit-learn 1.5 with MLflow", "image": IMAGE.format("20240709"), "condaFile": CONDA}


# a local docker build context (Dockerfile "FROM python:3.11-slim\n", as the test writes it), uploaded before
BUILD_CONTEXT_HASH = "0bc1b5d36df395f98706fbbf3613818baf9e4f442872fe7eb5496d328a3c30c7"


def environment_cassettes(spec: Spec) -> list[Cassette]:
    return [*asset_cassettes(spec, group="environments", collection="environments", name="sklearn-env", version="4",
                           create=ENVIRONMENT, tags={"framework": "sklearn"}, missing="99",
                           others=[("3", {**ENVIRONMENT, "image": IMAGE.format("20240610")}, "2026-06-14T12:00:00Z"),
                                   ("2", {**ENVIRONMENT, "image": IMAGE.format("20240516")}, "2026-05-20T12:00:00Z")],
                           archivable=True), build_context_cassette(spec)]


def build_context_cassette(spec: Spec) -> Cassette:
    """A docker build context on this machine: found uploaded already (its blob is marked complete), then sent as
    the blob folder's https URL ending in '/', the form Azure ML's environment service builds from."""
    c = Cassette("environments/build_context")
    folder = f"LocalUpload/{BUILD_CONTEXT_HASH}/docker"
    default_datastore(spec, c)
    c.add("HEAD", f"{BLOB}/{folder}/Dockerfile", 200, headers={
        "x-ms-blob-type": "BlockBlob", "ETag": '"0x8DCF0A1B2C3D4E5"', "Last-Modified": "Fri, 20 Nov 2026 09:14:03 GMT",
        "x-ms-meta-upload_status": "completed", "x-ms-meta-name": BUILD_CONTEXT_HASH, "x-ms-meta-version": "1"})
    sent = {"properties": {"description": "The churn image", "build": {"contextUri": f"{BLOB}/{folder}/"}}}
    c.add("PUT", url("environments", "churn-image", "versions", "1"), 201,
          version_resource(spec, "environments", "churn-image", "1", sent["properties"]), sent=sent)
    return c


def default_datastore(spec: Spec, c: Cassette) -> None:
    """The default datastore and its key, as an upload looks them up."""
    default = datastore_resource(spec, "workspaceblobstore", blob_store(BLOB.rsplit("/", 1)[1]),
                                 "2026-01-05T09:00:00.000Z")
    c.add("GET", url("datastores", isDefault="true"), 200, {"value": [default]})
    c.add("POST", url("datastores", "workspaceblobstore", "listSecrets"), 200,
          shaped(spec.body("Datastore/listSecrets"), {"secretsType": "AccountKey", "key": ACCOUNT_KEY}))


def model_cassettes(spec: Spec) -> list[Cassette]:
    def trained_by(job):
        return {"description": "Gradient boosted churn classifier", "modelType": "mlflow_model",
                "modelUri": f"azureml://jobs/{job}/outputs/artifacts/paths/model/",
                "flavors": {"python_function": {"data": {"loader_module": "mlflow.sklearn",
                                                         "python_version": "3.10.14"}}},
                "jobName": job}
    baseline = {"modelType": "custom_model",
                "modelUri": "azureml://datastores/workspaceblobstore/paths/models/churn-baseline.pkl"}
    return asset_cassettes(spec, group="models", collection="models", name="churn-model", version="2",
                           create=trained_by("quiet_lemon_7x2kq9"), tags={"auc": "0.91"}, missing="7",
                           others=[("1", trained_by("brave_fig_3m8d1p"), "2026-10-12T10:20:30.000Z"),
                                   ("0", baseline, "2026-09-30T07:45:00.000Z")],
                           archivable=True)


def component_spec(environment_version: str, version: str = "1", **description) -> dict:
    return {"name": "train_churn", "version": version, "display_name": "Train churn model", **description,
            "inputs": {"training_data": {"type": "uri_folder"}, "learning_rate": {"type": "number", "default": "0.01"}},
            "outputs": {"model": {"type": "mlflow_model"}},
            "command": "python train.py --data ${{inputs.training_data}} --lr ${{inputs.learning_rate}} "
                       "--model ${{outputs.model}}",
            "code": "azureml:" + arm_id("codes", "train-src", "versions", "1"),
            "environment": "azureml:" + arm_id("environments", "sklearn-env", "versions", environment_version),
            "type": "command"}


def component_cassettes(spec: Spec) -> list[Cassette]:
    described = component_spec("4", description="Trains the churn classifier")
    tags = {"stage": "experimental"}
    # the component names its environment azureml:sklearn-env@latest: the client resolves it first
    latest_env = url("environments", "sklearn-env", "versions",
                     **{"$orderBy": "createdtime desc", "$top": 1, "listViewType": "ActiveOnly"})
    env = version_resource(spec, "environments", "sklearn-env", "4", ENVIRONMENT)
    return asset_cassettes(spec, group="components", collection="components", name="train_churn", version="1",
                           create={"description": "Trains the churn classifier", "componentSpec": described},
                           tags=tags, missing="5",
                           others=[("0.9", {"componentSpec": component_spec("3", "0.9")}, "2026-08-08T08:08:08Z"),
                                   ("0.1", {"componentSpec": component_spec("2", "0.1")}, "2026-07-07T07:07:07Z")],
                           archivable=True, before_put=[("GET", latest_env, 200, {"value": [env]})],
                           # componentSpec repeats description and tags
                           update={**ASSET_FIELDS, "description": "Trains the churn classifier", "tags": tags,
                                   "componentSpec": {**described, "tags": tags}})


# -- datastores ----------------------------------------------------------------------------------------------
ACCOUNT_KEY = "ZmFrZS1hY2NvdW50LWtleS1mb3ItdGhlLWNhc3NldHRlcy1ub3QtYS1zZWNyZXQ="  # "fake-account-key-..."


def datastore_resource(spec: Spec, name: str, props: dict, created: str, modified: str | None = None) -> dict:
    shown = {**props, "credentials": {**props["credentials"], "secrets": {"secretsType": "AccountKey"}},
             "endpoint": "core.windows.net", "protocol": "https", "isDefault": name == "workspaceblobstore",
             "serviceDataAccessAuthIdentity": "None"}
    return spec.resource("Datastore/get", {"id": arm_id("datastores", name), "name": name,
                                           "type": "Microsoft.MachineLearningServices/workspaces/datastores",
                                           "properties": shown, "systemData": system_data(created, modified)})


def blob_store(container: str, **extra) -> dict:
    return {"credentials": {"credentialsType": "AccountKey", "secrets": {"secretsType": "AccountKey",
                                                                         "key": ACCOUNT_KEY}},
            "datastoreType": "AzureBlob", "accountName": "stcontosomldev", "containerName": container, **extra}


def datastore_cassettes(spec: Spec) -> list[Cassette]:
    name = "churn_landing"
    # endpoint and protocol: filled from the client's cloud (the public one here), as azure-ai-ml fills them
    create = blob_store("churn-landing", description="Raw CRM exports", endpoint="core.windows.net", protocol="https")
    update = {**create, "description": "Raw CRM exports (daily)", "tags": {"owner": "data-eng"}}
    created, modified = "2026-11-19T11:00:00.000Z", "2026-11-19T11:05:00.000Z"
    one = url("datastores", name)
    default = datastore_resource(spec, "workspaceblobstore", blob_store(BLOB.rsplit("/", 1)[1]),
                                 "2026-01-05T09:00:00.000Z")
    cassettes = []

    c = Cassette("datastores/create_then_update")
    c.add("PUT", one, 201, datastore_resource(spec, name, create, created), sent={"properties": create})
    c.add("PUT", one, 200, datastore_resource(spec, name, update, created, modified), sent={"properties": update})
    cassettes.append(c)

    c = Cassette("datastores/get")
    c.add("GET", one, 200, datastore_resource(spec, name, update, created, modified))
    c.add("GET", one, 200, datastore_resource(spec, name, update, created, modified))
    c.add("POST", url("datastores", name, "listSecrets"), 200,
          shaped(spec.body("Datastore/listSecrets"), {"secretsType": "AccountKey", "key": ACCOUNT_KEY}))
    c.add("GET", url("datastores", isDefault="true"), 200, {"value": [default]})
    cassettes.append(c)

    cassettes.append(not_found("datastores", url("datastores", "old_landing"), "UserError",
                               f"Datastore old_landing was not found in workspace {WORKSPACE}."))

    c = Cassette("datastores/list_pages")
    next_link = url("datastores", **{"$skipToken": "datastores-page-2"})
    artifacts = datastore_resource(spec, "workspaceartifactstore", blob_store("azureml"), "2026-01-05T09:00:00.000Z")
    c.add("GET", url("datastores"), 200, shaped(spec.body("Datastore/list"), {"value": [default, artifacts],
                                                                               "nextLink": next_link}))
    c.add("GET", next_link, 200, {"value": [datastore_resource(spec, name, update, created, modified)]})
    cassettes.append(c)

    cassettes.append(throttled("datastores", "datastores", one, datastore_resource(spec, name, update, created,
                                                                                     modified)))

    c = Cassette("datastores/delete")  # synchronous in the spec, as the assets' deletes
    c.add("DELETE", one, 200)
    cassettes.append(c)
    return cassettes


# -- compute -------------------------------------------------------------------------------------------------
def compute_request(max_nodes: int) -> dict:
    return {"location": LOCATION, "properties": {"computeType": "AmlCompute", "disableLocalAuth": True, "properties": {
        "vmSize": "STANDARD_DS3_V2", "vmPriority": "LowPriority",
        "scaleSettings": {"minNodeCount": 0, "maxNodeCount": max_nodes, "nodeIdleTimeBeforeScaleDown": "PT2M"}}}}


def compute_resource(spec: Spec, name: str, body: dict, state: str = "Succeeded", served: dict | None = None) -> dict:
    """The compute as the service returns it; `served`: what it adds inside `properties.properties` (a compute
    instance's power state and last operation)."""
    props = body["properties"]
    own = props.get("properties", {})
    if props["computeType"] == "AmlCompute":
        own = {**own, "osType": "Linux", "allocationState": "Steady", "currentNodeCount": 0, "targetNodeCount": 0,
               "allocationStateTransitionTime": "2026-11-20T09:31:12.448Z"}
    else:
        own = {**own, "state": "Running", "computeInstanceAuthorizationType": "personal", **(served or {})}
    return spec.resource(f"Compute/get/{props['computeType']}", {
        "id": arm_id("computes", name), "type": "Microsoft.MachineLearningServices/workspaces/computes",
        "name": name, "location": body["location"],
        "properties": {**props, "createdOn": "2026-11-20T09:25:40.0000000+00:00",
                       "modifiedOn": "2026-11-20T09:31:12.0000000+00:00", "provisioningState": state,
                       "properties": own}})


def operation_status(operation: str, query: str = "") -> str:
    return (f"{HOST}/subscriptions/{SUBSCRIPTION}/providers/Microsoft.MachineLearningServices/locations/{LOCATION}/"
            f"computeOperationsStatus/{operation}?api-version={API_VERSION}&service=new{query}")


def compute_cassettes(spec: Spec) -> list[Cassette]:
    name = "cpu-cluster"
    one = url("computes", name)
    cassettes = []

    c = Cassette("compute/create_then_update")
    create, update = compute_request(4), compute_request(8)
    status = operation_status("c7a1e0f4-3d2b-4b9a-8e6f-0a1b2c3d4e5f")
    c.add("PUT", one, 201, compute_resource(spec, name, create, "Creating"), sent=create,
          headers={"Azure-AsyncOperation": status})
    c.add("GET", status, 200, {"status": "InProgress"})
    c.add("GET", status, 200, {"status": "Succeeded"})
    c.add("GET", one, 200, compute_resource(spec, name, create))
    c.add("PUT", one, 200, compute_resource(spec, name, update), sent=update)
    cassettes.append(c)

    c = Cassette("compute/get")
    c.add("GET", one, 200, compute_resource(spec, name, update))
    cassettes.append(c)

    cassettes.append(not_found("compute", url("computes", "gpu-cluster-old"), "NotFound",
                               f"Compute gpu-cluster-old was not found in workspace {WORKSPACE}."))

    c = Cassette("compute/list_pages")
    instance = {"location": LOCATION, "properties": {"computeType": "ComputeInstance",
                                                     "properties": {"vmSize": "STANDARD_DS11_V2"}}}
    gpu = {"location": LOCATION, "properties": {"computeType": "AmlCompute", "properties": {
        "vmSize": "STANDARD_NC6S_V3", "vmPriority": "Dedicated",
        "scaleSettings": {"minNodeCount": 0, "maxNodeCount": 2, "nodeIdleTimeBeforeScaleDown": "PT30M"}}}}
    next_link = url("computes", **{"$skipToken": "computes-page-2"})
    c.add("GET", url("computes"), 200, shaped(spec.body("Compute/list"), {
        "value": [compute_resource(spec, name, update), compute_resource(spec, "ci-ada", instance)],
        "nextLink": next_link}))
    c.add("GET", next_link, 200, {"value": [compute_resource(spec, "gpu-cluster", gpu)]})
    cassettes.append(c)

    cassettes.append(throttled("compute", "computes", one, compute_resource(spec, name, update)))

    c = Cassette("compute/delete")
    operation = "0f9e8d7c-6b5a-4d3c-9b2a-1f0e9d8c7b6a"
    c.add("DELETE", url("computes", name, underlyingResourceAction="Delete"), 202,
          headers={"Azure-AsyncOperation": operation_status(operation),
                   "Location": operation_status(operation, "&type=location"), "Retry-After": POLL_RETRY_AFTER})
    c.add("GET", operation_status(operation), 200, {"status": "InProgress"}, headers={"Retry-After": POLL_RETRY_AFTER})
    c.add("GET", operation_status(operation), 200, {"status": "Succeeded"})
    cassettes.append(c)

    cassettes.append(compute_instance_cassette(spec))
    return cassettes


def compute_instance_cassette(spec: Spec) -> Cassette:
    """A compute instance created with a stop schedule (long-running, polled), then stopped and started (each a
    202 whose Azure-AsyncOperation is polled), its state read in between."""
    name = "ci-ada"
    one = url("computes", name)
    c = Cassette("compute/instance_start_stop")
    c.add(*workspace_exchange())  # a compute instance takes the workspace's region
    create = {"location": LOCATION, "properties": {"computeType": "ComputeInstance", "disableLocalAuth": True,
                                                   "properties": {
        "vmSize": "STANDARD_DS11_V2", "schedules": {"computeStartStop": [{
            "action": "Stop", "status": "Enabled", "triggerType": "Cron",
            "cron": {"expression": "0 19 * * 1-5", "timeZone": "W. Europe Standard Time"}}]}}}}
    status = operation_status("5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a")
    c.add("PUT", one, 201, compute_resource(spec, name, create, "Creating"), sent=create,
          headers={"Azure-AsyncOperation": status})
    polled(c, status)
    c.add("GET", one, 200, compute_resource(spec, name, create))
    for action, operation, state, at in (("stop", "8e7d6c5b-4a39-4281-9f0e-d1c2b3a49586", "Stopped", "09:45:02"),
                                         ("start", "2b3c4d5e-6f70-4819-a2b3-c4d5e6f70819", "Running", "10:02:37")):
        status = operation_status(operation)
        c.add("POST", url("computes", name, action), 202, headers={"Azure-AsyncOperation": status,
                                                                   "Retry-After": POLL_RETRY_AFTER})
        polled(c, status)
        c.add("GET", one, 200, compute_resource(spec, name, create, served={"state": state, "lastOperation": {
            "operationName": action.capitalize(), "operationTime": f"2026-11-20T{at}.000Z",
            "operationStatus": "Succeeded", "operationTrigger": "User"}}))
    return c


# -- jobs ----------------------------------------------------------------------------------------------------
JOB = "bold_otter_4k2m9x7q1z"


def job_request(**extra) -> dict:
    return {"properties": {
        "jobType": "Command", "description": "Nightly churn training", "displayName": "train churn",
        "experimentName": "churn", "computeId": arm_id("computes", "cpu-cluster"),
        "inputs": {"training_data": {"jobInputType": "uri_folder",
                                     "uri": "azureml://datastores/workspaceblobstore/paths/churn/2026-11/"},
                   "learning_rate": {"jobInputType": "literal", "value": "0.01"}},
        "outputs": {"model": {"jobOutputType": "mlflow_model"}},
        "command": "python train.py --data ${{inputs.training_data}} --lr ${{inputs.learning_rate}} "
                   "--model ${{outputs.model}}",
        "codeId": arm_id("codes", "train-src", "versions", "1"),
        "environmentId": arm_id("environments", "sklearn-env", "versions", "4"), **extra}}


def job_resource(spec: Spec, name: str, body: dict, status: str, modified: str | None = None) -> dict:
    props = body["properties"]
    studio = (f"https://ml.azure.com/runs/{name}?wsid={SCOPE}&tid=72f988bf-86f1-41af-91ab-2d7cd011db47")
    outputs = {key: {**value, "mode": "ReadWriteMount",
                     "uri": f"azureml://datastores/workspaceartifactstore/paths/ExperimentRun/dcid.{name}/{key}"}
               for key, value in props["outputs"].items()}
    return spec.resource("Job/CommandJob/get", {
        "id": arm_id("jobs", name), "name": name, "type": "Microsoft.MachineLearningServices/workspaces/jobs",
        "properties": {**props, "status": status, "outputs": outputs, "isArchived": False,
                       "services": {"Studio": {"jobServiceType": "Studio", "endpoint": studio},
                                    "Tracking": {"jobServiceType": "Tracking",
                                                 "endpoint": f"azureml://{LOCATION}.api.azureml.ms/mlflow/v1.0"
                                                             f"{SCOPE}?"}},
                       "identity": {"identityType": "AMLToken"},
                       "resources": {"instanceCount": 1, "shmSize": "2g"}},
        "systemData": system_data(CREATED, modified)})


def job_cassettes(spec: Spec) -> list[Cassette]:
    one = url("jobs", JOB)
    create, update = job_request(), job_request(tags={"trigger": "nightly"})
    running = job_resource(spec, JOB, update, "Running", MODIFIED)
    cassettes = []

    c = Cassette("jobs/create_then_update")
    c.add("PUT", one, 201, job_resource(spec, JOB, create, "Starting"), sent=create)
    c.add("PUT", one, 200, running, sent=update)
    cassettes.append(c)

    c = Cassette("jobs/get")
    c.add("GET", one, 200, running)
    cassettes.append(c)

    cassettes.append(not_found("jobs", url("jobs", "lost_job"), "UserError",
                               f"Could not find job lost_job in workspace {WORKSPACE}."))

    c = Cassette("jobs/list_pages")
    view = {"listViewType": "ActiveOnly"}
    older = [job_resource(spec, n, job_request(), s) for n, s in (("calm_fern_8d2k1m0z7q", "Completed"),
                                                                  ("eager_pine_2x9w4r6t1y", "Failed"))]
    next_link = url("jobs", **view, **{"$skipToken": "jobs-page-2"})
    c.add("GET", url("jobs", **view), 200, shaped(spec.body("Job/CommandJob/list"), {
        "value": [running, older[0]], "nextLink": next_link}))
    c.add("GET", next_link, 200, {"value": older[1:]})
    cassettes.append(c)

    cassettes.append(throttled("jobs", "jobs", one, running))

    # an output registered as an asset: sent at the api-version that defines assetName, as azure-ai-ml sends it
    c = Cassette("jobs/named_outputs")
    named = job_request(outputs={"model": {"jobOutputType": "mlflow_model", "assetName": "churn-model",
                                           "assetVersion": "3"}},
                        inputs={"early_stop": {"jobInputType": "literal", "value": "True"}},
                        command="python train.py --early-stop ${{inputs.early_stop}} --model ${{outputs.model}}")
    c.add("PUT", url("jobs", JOB, **{"api-version": NAMED_OUTPUTS_API_VERSION}), 201,
          job_resource(spec, JOB, named, "Starting"), sent=named)
    cassettes.append(c)

    cassettes.append(job_download_cassette(spec))

    # Jobs_Cancel is the jobs' long-running operation (final state via Location)
    c = Cassette("jobs/cancel")
    result = (f"{HOST}/subscriptions/{SUBSCRIPTION}/providers/Microsoft.MachineLearningServices/locations/{LOCATION}/"
              f"mfeOperationResults/jc:7d1e5b2a-4c3f-4e8d-9a6b-0c1d2e3f4a5b:{JOB}?api-version={API_VERSION}")
    c.add("POST", url("jobs", JOB, "cancel"), 202, headers={"Location": result, "Retry-After": POLL_RETRY_AFTER})
    c.add("GET", result, 202, headers={"Location": result, "Retry-After": POLL_RETRY_AFTER})
    c.add("GET", result, 200)
    cassettes.append(c)
    return cassettes


def blob_listing(prefix: str, blobs: dict[str, bytes]) -> bytes:
    """A List Blobs answer of the default datastore's container."""
    entries = "".join(
        f"<Blob><Name>{name}</Name><Properties><Last-Modified>Fri, 20 Nov 2026 09:40:12 GMT</Last-Modified>"
        f"<Etag>0x8DCF0A1B2C3D4F{i}</Etag><Content-Length>{len(data)}</Content-Length>"
        "<Content-Type>application/octet-stream</Content-Type><BlobType>BlockBlob</BlobType></Properties>"
        "<Metadata /></Blob>" for i, (name, data) in enumerate(blobs.items()))
    return (f'<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="{BLOB.rsplit("/", 1)[0]}/" '
            f'ContainerName="{BLOB.rsplit("/", 1)[1]}"><Prefix>{prefix}</Prefix><Blobs>{entries}</Blobs>'
            "<NextMarker /></EnumerationResults>").encode()


def job_download_cassette(spec: Spec) -> Cassette:
    """A finished job's output given no path downloaded: the service answers no uri for it, so the client reads the
    default datastore's azureml/<job>/<output>/, where Azure ML keeps it."""
    c = Cassette("jobs/download_output")
    done = job_resource(spec, JOB, job_request(), "Completed", MODIFIED)
    done["properties"]["outputs"] = {"model": {"jobOutputType": "mlflow_model", "mode": "ReadWriteMount"}}
    c.add("GET", url("jobs", JOB), 200, done)
    default = datastore_resource(spec, "workspaceblobstore", blob_store(BLOB.rsplit("/", 1)[1]),
                                 "2026-01-05T09:00:00.000Z")
    c.add("GET", url("datastores", isDefault="true"), 200, {"value": [default]})
    c.add("GET", url("datastores", "workspaceblobstore"), 200, default)
    c.add("POST", url("datastores", "workspaceblobstore", "listSecrets"), 200,
          shaped(spec.body("Datastore/listSecrets"), {"secretsType": "AccountKey", "key": ACCOUNT_KEY}))
    folder = f"azureml/{JOB}/model"
    blobs = {f"{folder}/MLmodel": b"flavors:\n  sklearn: {}\n", f"{folder}/model.pkl": b"\x80\x04pickle"}
    c.add("GET", f"{BLOB}?" + urlencode({"restype": "container", "comp": "list", "prefix": folder}), 200,
          raw=blob_listing(folder, blobs), headers={"Content-Type": "application/xml"})
    c.add("GET", f"{BLOB}?" + urlencode({"restype": "container", "comp": "list", "prefix": folder,
                                          "include": "metadata"}), 200,
          raw=blob_listing(folder, blobs), headers={"Content-Type": "application/xml"})
    for name, data in blobs.items():
        c.add("GET", f"{BLOB}/{name}", 206, raw=data, headers={
            "Content-Type": "application/octet-stream", "Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}",
            "x-ms-blob-type": "BlockBlob", "ETag": '"0x8DCF0A1B2C3D4F0"',
            "Last-Modified": "Fri, 20 Nov 2026 09:40:12 GMT"})
    return c


# -- pipeline jobs -------------------------------------------------------------------------------------------
PIPELINE = "brave_meadow_9q3x5k2w7m"


def anonymous_version(spec: dict) -> str:
    """azure-ai-ml's name of an anonymous component version: the UUID of the MD5 of its spec without name and
    version (JSON, sorted keys)."""
    content = {k: v for k, v in spec.items() if k not in ("name", "version")}
    return str(uuid.UUID(hashlib.md5(json.dumps(content, sort_keys=True).encode()).hexdigest()))


def pipeline_component_specs() -> list[dict]:
    """The two inline components of the pipeline: a registered-style train component used inline, and a node's
    own command."""
    code = "azureml:" + arm_id("codes", "train-src", "versions", "1")
    environment = "azureml:" + arm_id("environments", "sklearn-env", "versions", "4")
    train = {"display_name": "Train churn model",
             "inputs": {"training_data": {"type": "uri_folder"},
                        "learning_rate": {"type": "number", "default": "0.01"}},
             "outputs": {"model": {"type": "mlflow_model"}},
             "command": "python train.py --data ${{inputs.training_data}} --lr ${{inputs.learning_rate}} "
                        "--model ${{outputs.model}}", "code": code, "environment": environment, "type": "command"}
    report = {"inputs": {"model": {"type": "uri_folder"}}, "outputs": {"report": {"type": "uri_folder"}},
              "command": "python report.py ${{inputs.model}} ${{outputs.report}}", "environment": environment,
              "type": "command"}
    return [{"name": "azureml_anonymous", "version": anonymous_version(s), **s} for s in (train, report)]


def pipeline_request(train: dict, report: dict) -> dict:
    def component(s):
        return arm_id("components", "azureml_anonymous", "versions", s["version"])
    return {"properties": {
        "jobType": "Pipeline", "description": "Train then report", "displayName": "churn pipeline",
        "experimentName": "churn",
        "inputs": {"training_data": {"jobInputType": "uri_folder",
                                     "uri": "azureml://datastores/workspaceblobstore/paths/churn/2026-11/"},
                   "learning_rate": {"jobInputType": "literal", "value": "0.05"}},
        "outputs": {"report": {"jobOutputType": "uri_folder", "mode": "Upload"}},
        "settings": {"default_compute": arm_id("computes", "cpu-cluster"), "continue_on_step_failure": False},
        "jobs": {
            "train": {"type": "command", "name": "train", "componentId": component(train),
                      "inputs": {"training_data": {"job_input_type": "literal",
                                                   "value": "${{parent.inputs.training_data}}"},
                                 "learning_rate": {"job_input_type": "literal",
                                                   "value": "${{parent.inputs.learning_rate}}"}},
                      "resources": {"instance_count": 2}},
            "report": {"type": "command", "name": "report", "componentId": component(report),
                       "inputs": {"model": {"job_input_type": "literal",
                                            "value": "${{parent.jobs.train.outputs.model}}"}},
                       "outputs": {"report": {"type": "literal", "value": "${{parent.outputs.report}}"}}}}}}


def pipeline_resource(spec: Spec, body: dict, status: str, modified: str | None = None) -> dict:
    props = body["properties"]
    studio = f"https://ml.azure.com/runs/{PIPELINE}?wsid={SCOPE}&tid=72f988bf-86f1-41af-91ab-2d7cd011db47"
    outputs = {key: {**value, "uri": f"azureml://datastores/workspaceartifactstore/paths/ExperimentRun/"
                                     f"dcid.{PIPELINE}/{key}"} for key, value in props["outputs"].items()}
    return spec.resource("Job/PipelineJob/get", {
        "id": arm_id("jobs", PIPELINE), "name": PIPELINE, "type": "Microsoft.MachineLearningServices/workspaces/jobs",
        "properties": {**props, "status": status, "outputs": outputs, "isArchived": False,
                       "services": {"Studio": {"jobServiceType": "Studio", "endpoint": studio}}},
        "systemData": system_data(CREATED, modified)})


def pipeline_cassettes(spec: Spec) -> list[Cassette]:
    """A pipeline job: its inline components created as anonymous versions first, then the job; get; cancel.
    (Azure ML lists a pipeline's child jobs through its run history service, not ARM: no cassette.)"""
    train, report = pipeline_component_specs()
    body = pipeline_request(train, report)
    cassettes = []

    c = Cassette("pipelines/create")
    for component in (train, report):
        sent = {"properties": {"isAnonymous": True, "componentSpec": component}}
        answer = version_resource(spec, "components", "azureml_anonymous", component["version"], sent["properties"])
        answer["properties"]["isAnonymous"] = True
        c.add("PUT", url("components", "azureml_anonymous", "versions", component["version"]), 201, answer, sent=sent)
    c.add("PUT", url("jobs", PIPELINE), 201, pipeline_resource(spec, body, "NotStarted"), sent=body)
    cassettes.append(c)

    c = Cassette("pipelines/get")
    c.add("GET", url("jobs", PIPELINE), 200, pipeline_resource(spec, body, "Running", MODIFIED))
    cassettes.append(c)

    c = Cassette("pipelines/cancel")
    result = (f"{HOST}/subscriptions/{SUBSCRIPTION}/providers/Microsoft.MachineLearningServices/locations/{LOCATION}/"
              f"mfeOperationResults/jc:2b8e4f1a-6c3d-4a9e-8b7f-1d2c3e4f5a6b:{PIPELINE}?api-version={API_VERSION}")
    c.add("POST", url("jobs", PIPELINE, "cancel"), 202, headers={"Location": result, "Retry-After": POLL_RETRY_AFTER})
    c.add("GET", result, 200)
    cassettes.append(c)
    return cassettes


# -- spark jobs ----------------------------------------------------------------------------------------------
SPARK_JOB = "quiet_harbor_3m8k1x9w2p"
SPARK_PIPELINE = "steady_river_5t2n8q1v6c"
SPARK_CONF = {"spark.driver.cores": "1", "spark.driver.memory": "2g", "spark.executor.cores": "2",
              "spark.executor.memory": "2g", "spark.executor.instances": "2"}
SPARK_ARGS = "--titanic_data ${{inputs.titanic_data}} --wrangled_data ${{outputs.wrangled_data}}"
TITANIC = "azureml://datastores/workspaceblobstore/paths/titanic/titanic.csv"


def spark_request() -> dict:
    """A serverless spark job as the client sends it (the spec's SparkJob)."""
    return {"properties": {
        "jobType": "Spark", "description": "Wrangle the Titanic data", "displayName": "titanic wrangling",
        "experimentName": "titanic",
        "inputs": {"titanic_data": {"jobInputType": "uri_file", "uri": TITANIC, "mode": "Direct"}},
        "outputs": {"wrangled_data": {"jobOutputType": "uri_folder", "mode": "Direct"}},
        "identity": {"identityType": "UserIdentity"},
        "codeId": arm_id("codes", "titanic-src", "versions", "1"),
        "entry": {"sparkJobEntryType": "SparkJobPythonEntry", "file": "titanic.py"},
        "conf": SPARK_CONF, "args": SPARK_ARGS,
        "resources": {"instanceType": "standard_e4s_v3", "runtimeVersion": "3.4"}}}


def spark_component_spec() -> dict:
    """The inline spark component of the pipeline, as its anonymous version's componentSpec (conf typed as YAML)."""
    spec = {"type": "spark", "display_name": "Wrangle Titanic",
            "inputs": {"titanic_data": {"type": "uri_file", "mode": "direct"}},
            "outputs": {"wrangled_data": {"type": "uri_folder", "mode": "direct"}},
            "code": "azureml:" + arm_id("codes", "titanic-src", "versions", "1"), "entry": {"file": "titanic.py"},
            "conf": {k: int(v) if v.isdigit() else v for k, v in SPARK_CONF.items()}, "args": SPARK_ARGS}
    return {"name": "azureml_anonymous", "version": anonymous_version(spec), **spec}


def spark_pipeline_request(component: dict) -> dict:
    return {"properties": {
        "jobType": "Pipeline", "displayName": "titanic pipeline", "experimentName": "titanic",
        "outputs": {"wrangled": {"jobOutputType": "uri_folder"}},
        "jobs": {"wrangle": {
            "type": "spark", "name": "wrangle",
            "componentId": arm_id("components", "azureml_anonymous", "versions", component["version"]),
            "inputs": {"titanic_data": {"job_input_type": "uri_file", "uri": TITANIC, "mode": "Direct"}},
            "outputs": {"wrangled_data": {"type": "literal", "value": "${{parent.outputs.wrangled}}"}},
            "resources": {"instance_type": "standard_e8s_v3", "runtime_version": "3.4"},
            "identity": {"identity_type": "Managed"}}}}}


def spark_resource(name: str, body: dict, status: str, modified: str | None = None) -> dict:
    props = body["properties"]
    studio = f"https://ml.azure.com/runs/{name}?wsid={SCOPE}&tid=72f988bf-86f1-41af-91ab-2d7cd011db47"
    outputs = {key: {**value, "uri": f"azureml://datastores/workspaceartifactstore/paths/ExperimentRun/dcid.{name}/"
                                     f"{key}"} for key, value in props["outputs"].items()}
    return {"id": arm_id("jobs", name), "name": name, "type": "Microsoft.MachineLearningServices/workspaces/jobs",
            "properties": {**props, "status": status, "outputs": outputs, "isArchived": False,
                           "services": {"Studio": {"jobServiceType": "Studio", "endpoint": studio}}},
            "systemData": system_data(CREATED, modified)}


def spark_cassettes(spec: Spec) -> list[Cassette]:
    """A serverless spark job created and read back; a pipeline whose spark node's inline component is created as
    an anonymous version first."""
    body = spark_request()
    c = Cassette("spark/create_then_get")
    c.add("PUT", url("jobs", SPARK_JOB), 201, spark_resource(SPARK_JOB, body, "NotStarted"), sent=body)
    c.add("GET", url("jobs", SPARK_JOB), 200, spark_resource(SPARK_JOB, body, "Running", MODIFIED))
    cassettes = [c]

    component = spark_component_spec()
    pipeline = spark_pipeline_request(component)
    c = Cassette("spark/pipeline")
    sent = {"properties": {"isAnonymous": True, "componentSpec": component}}
    answer = version_resource(spec, "components", "azureml_anonymous", component["version"], sent["properties"])
    answer["properties"]["isAnonymous"] = True
    c.add("PUT", url("components", "azureml_anonymous", "versions", component["version"]), 201, answer, sent=sent)
    c.add("PUT", url("jobs", SPARK_PIPELINE), 201, spark_resource(SPARK_PIPELINE, pipeline, "NotStarted"),
          sent=pipeline)
    cassettes.append(c)
    return cassettes


# -- online and batch endpoints --------------------------------------------------------------------------------
ENDPOINT = "churn-scoring"
BATCH_ENDPOINT = "churn-batch"
INFERENCE = f"https://{ENDPOINT}.{LOCATION}.inference.ml.azure.com"
BATCH_INFERENCE = f"https://{BATCH_ENDPOINT}.{LOCATION}.inference.ml.azure.com"


def mfe_status(operation: str, kind: str = "mfeOperationsStatus") -> str:
    """Where Azure ML says to poll an endpoint or deployment operation."""
    return (f"{HOST}/subscriptions/{SUBSCRIPTION}/providers/Microsoft.MachineLearningServices/locations/{LOCATION}/"
            f"{kind}/{operation}?api-version={API_VERSION}")


def workspace_exchange() -> tuple:
    """The GET of the workspace a client makes once, to learn its region."""
    return ("GET", f"{HOST}{SCOPE}?api-version={API_VERSION}", 200, {
        "id": SCOPE, "name": WORKSPACE, "type": "Microsoft.MachineLearningServices/workspaces", "location": LOCATION,
        "properties": {"friendlyName": WORKSPACE, "provisioningState": "Succeeded"}})


def tracked_resource(path: tuple, props: dict, state: str, *, kind: str, sku: dict | None = None,
                     modified: str | None = None) -> dict:
    resource = {"id": arm_id(*path), "name": path[-1], "type": f"Microsoft.MachineLearningServices/workspaces/{kind}",
                "location": LOCATION, "tags": {}, "properties": {**props, "provisioningState": state},
                "systemData": system_data(CREATED, modified)}
    if sku is not None:
        resource["sku"] = sku
    return resource


def online_endpoint_props(traffic: dict) -> dict:
    return {"authMode": "Key", "description": "Scores churn risk in real time", "traffic": traffic}


def online_endpoint_resource(traffic: dict, state: str = "Succeeded", modified: str | None = None) -> dict:
    shown = {**online_endpoint_props(traffic), "publicNetworkAccess": "Enabled", "mirrorTraffic": {},
             "scoringUri": f"{INFERENCE}/score", "swaggerUri": f"{INFERENCE}/swagger.json"}
    return tracked_resource(("onlineEndpoints", ENDPOINT), shown, state, kind="onlineEndpoints", modified=modified)


BLUE = {"endpointComputeType": "Managed", "model": arm_id("models", "churn-model", "versions", "2"),
        "codeConfiguration": {"codeId": arm_id("codes", "churn-score", "versions", "1"), "scoringScript": "score.py"},
        "environmentId": arm_id("environments", "sklearn-env", "versions", "4"), "instanceType": "Standard_DS3_v2"}
SKU = {"name": "Default", "capacity": 1}


def blue_resource(state: str = "Succeeded") -> dict:
    served = {**BLUE, "appInsightsEnabled": False, "egressPublicNetworkAccess": "Enabled",
              "requestSettings": {"maxConcurrentRequestsPerInstance": 1, "maxQueueWait": "PT0.5S",
                                  "requestTimeout": "PT5S"},
              "livenessProbe": {"failureThreshold": 30, "initialDelay": "PT10S", "period": "PT10S",
                                "successThreshold": 1, "timeout": "PT2S"},
              "readinessProbe": {"failureThreshold": 30, "initialDelay": "PT10S", "period": "PT10S",
                                 "successThreshold": 1, "timeout": "PT2S"},
              "scaleSettings": {"scaleType": "Default"}}
    return tracked_resource(("onlineEndpoints", ENDPOINT, "deployments", "blue"), served, state,
                            kind="onlineEndpoints/deployments", sku=SKU)


def polled(c: Cassette, status: str, *, then_in_progress: int = 1) -> None:
    """An Azure-AsyncOperation polled: InProgress `then_in_progress` times, then Succeeded."""
    for _ in range(then_in_progress):
        c.add("GET", status, 200, {"status": "InProgress"}, headers={"Retry-After": POLL_RETRY_AFTER})
    c.add("GET", status, 200, {"status": "Succeeded"})


SAMPLE_REQUEST = {"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]]}


def online_endpoint_cassettes(spec: Spec) -> list[Cassette]:
    one = url("onlineEndpoints", ENDPOINT)
    cassettes = []

    c = Cassette("online_endpoints/create")
    c.add(*workspace_exchange())
    status = mfe_status("oe:2b7f0c1e-5d4a-4e9b-8c3f-1a2b3c4d5e6f:churn-scoring")
    sent = {"location": LOCATION, "properties": online_endpoint_props({})}
    del sent["properties"]["traffic"]
    c.add("PUT", one, 201, online_endpoint_resource({}, "Creating"), sent=sent,
          headers={"Azure-AsyncOperation": status})
    polled(c, status)
    c.add("GET", one, 200, online_endpoint_resource({}))
    cassettes.append(c)

    c = Cassette("online_endpoints/traffic")  # the endpoint as it is, with new traffic: its location is known
    status = mfe_status("oe:7c6d5e4f-3a2b-4c1d-9e8f-0a1b2c3d4e5f:churn-scoring")
    c.add("GET", one, 200, online_endpoint_resource({}))
    sent = {"location": LOCATION, "properties": {**online_endpoint_props({"blue": 100}),
                                                 "publicNetworkAccess": "Enabled"}}
    c.add("PUT", one, 200, online_endpoint_resource({"blue": 100}, "Updating", MODIFIED), sent=sent,
          headers={"Azure-AsyncOperation": status})
    polled(c, status, then_in_progress=0)
    c.add("GET", one, 200, online_endpoint_resource({"blue": 100}, modified=MODIFIED))
    cassettes.append(c)

    c = Cassette("online_endpoints/keys")
    keys = {"primaryKey": "cHJpbWFyeS1rZXktb2YtdGhlLWNhc3NldHRlcw", "secondaryKey": "c2Vjb25kYXJ5LWtleS1vZi10aGVt"}
    result = mfe_status("oe:9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f:churn-scoring", "mfeOperationResults")
    c.add("GET", one, 200, online_endpoint_resource({"blue": 100}))
    c.add("POST", url("onlineEndpoints", ENDPOINT, "listKeys"), 200, keys)
    c.add("POST", url("onlineEndpoints", ENDPOINT, "regenerateKeys"), 202, sent={"keyType": "Secondary"},
          headers={"Location": result, "Retry-After": POLL_RETRY_AFTER})
    c.add("GET", result, 200)
    cassettes.append(c)

    # invoking is a POST to the scoring URI (Azure ML's data plane) with the endpoint's key
    c = Cassette("online_endpoints/invoke")
    c.add("GET", one, 200, online_endpoint_resource({"blue": 100}))
    c.add("POST", url("onlineEndpoints", ENDPOINT, "listKeys"), 200, keys)
    c.add("POST", f"{INFERENCE}/score", 200, [11055.977245525679], sent=SAMPLE_REQUEST)
    cassettes.append(c)

    c = Cassette("online_endpoints/delete")
    result = mfe_status("oe:0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d:churn-scoring", "mfeOperationResults")
    c.add("DELETE", one, 202, headers={"Location": result, "Retry-After": POLL_RETRY_AFTER})
    c.add("GET", result, 202, headers={"Location": result, "Retry-After": POLL_RETRY_AFTER})
    c.add("GET", result, 200)
    cassettes.append(c)
    return cassettes


LOGS = ("2026-11-20 09:40:02,114 I [12] azmlinfsrv - Scoring timeout is set to 5000\n"
        "2026-11-20 09:40:02,871 I [12] azmlinfsrv - Users's init has completed successfully\n")


def online_deployment_cassettes(spec: Spec) -> list[Cassette]:
    one = url("onlineEndpoints", ENDPOINT, "deployments", "blue")
    cassettes = []

    c = Cassette("online_deployments/create")
    c.add(*workspace_exchange())
    status = mfe_status("od:4d3c2b1a-0f9e-4d8c-b7a6-5f4e3d2c1b0a:blue")
    c.add("PUT", one, 201, blue_resource("Creating"), sent={"location": LOCATION, "sku": SKU, "properties": BLUE},
          headers={"Azure-AsyncOperation": status})
    polled(c, status, then_in_progress=2)
    c.add("GET", one, 200, blue_resource())
    cassettes.append(c)

    c = Cassette("online_deployments/get_logs")
    c.add("POST", url("onlineEndpoints", ENDPOINT, "deployments", "blue", "getLogs"), 200, {"content": LOGS},
          sent={"tail": 50, "containerType": "InferenceServer"})
    cassettes.append(c)

    c = Cassette("online_deployments/delete")
    result = mfe_status("od:6e5d4c3b-2a1f-4e0d-9c8b-7a6f5e4d3c2b:blue", "mfeOperationResults")
    c.add("DELETE", one, 202, headers={"Location": result, "Retry-After": POLL_RETRY_AFTER})
    c.add("GET", result, 200)
    cassettes.append(c)
    return cassettes


BATCH_DEPLOYMENT = {"model": {"referenceType": "Id", "assetId": arm_id("models", "churn-model", "versions", "2")},
                    "compute": arm_id("computes", "cpu-cluster"), "resources": {"instanceCount": 2},
                    "miniBatchSize": 10, "maxConcurrencyPerInstance": 2, "outputAction": "AppendRow",
                    "outputFileName": "predictions.csv", "errorThreshold": -1,
                    "retrySettings": {"maxRetries": 3, "timeout": "PT5M"}, "loggingLevel": "Info"}


def batch_endpoint_resource(state: str = "Succeeded") -> dict:
    props = {"authMode": "AADToken", "description": "Scores the monthly churn snapshot",
             "defaults": {"deploymentName": "nightly"}, "scoringUri": f"{BATCH_INFERENCE}/jobs"}
    return tracked_resource(("batchEndpoints", BATCH_ENDPOINT), props, state, kind="batchEndpoints")


def batch_cassettes(spec: Spec) -> list[Cassette]:
    endpoint = url("batchEndpoints", BATCH_ENDPOINT)
    deployment = url("batchEndpoints", BATCH_ENDPOINT, "deployments", "nightly")
    cassettes = []

    c = Cassette("batch_endpoints/create")
    c.add(*workspace_exchange())
    status = mfe_status("be:1f2e3d4c-5b6a-4978-8c9d-0e1f2a3b4c5d:churn-batch")
    sent = {"location": LOCATION, "properties": {"authMode": "AADToken",
                                                 "description": "Scores the monthly churn snapshot",
                                                 "defaults": {"deploymentName": "nightly"}}}
    c.add("PUT", endpoint, 201, batch_endpoint_resource("Creating"), sent=sent, headers={"Azure-AsyncOperation": status})
    polled(c, status)
    c.add("GET", endpoint, 200, batch_endpoint_resource())
    cassettes.append(c)

    c = Cassette("batch_deployments/create")
    c.add(*workspace_exchange())
    status = mfe_status("bd:3a4b5c6d-7e8f-4a9b-8c0d-1e2f3a4b5c6d:nightly")
    path = ("batchEndpoints", BATCH_ENDPOINT, "deployments", "nightly")
    c.add("PUT", deployment, 201, tracked_resource(path, BATCH_DEPLOYMENT, "Creating",
                                                   kind="batchEndpoints/deployments"),
          sent={"location": LOCATION, "properties": BATCH_DEPLOYMENT}, headers={"Azure-AsyncOperation": status})
    polled(c, status)
    c.add("GET", deployment, 200, tracked_resource(path, BATCH_DEPLOYMENT, "Succeeded",
                                                   kind="batchEndpoints/deployments"))
    cassettes.append(c)

    # invoking a batch endpoint is a POST to its scoring URI (not ARM), answered with the job it started
    c = Cassette("batch_endpoints/invoke")
    job = "batchjob-5e1c9a7f-2d4b-4f8e-9a3c-7b6d5e4f3a2b"
    uri = "azureml://datastores/workspaceblobstore/paths/churn/2026-11/"
    c.add("GET", endpoint, 200, batch_endpoint_resource())
    c.add("POST", f"{BATCH_INFERENCE}/jobs", 200, {"id": arm_id("jobs", job), "name": job},
          sent={"properties": {"InputData": {"input_data": {"JobInputType": "UriFolder", "Uri": uri}}}})
    pipeline = {"jobType": "Pipeline", "displayName": job, "experimentName": BATCH_ENDPOINT, "status": "Running",
                "properties": {"azureml.batchEndpointName": BATCH_ENDPOINT,
                               "azureml.batchDeploymentName": "nightly"},
                "inputs": {"input_data": {"jobInputType": "uri_folder", "uri": uri}}, "isArchived": False}
    c.add("GET", url("jobs", job), 200, {"id": arm_id("jobs", job), "name": job,
                                          "type": "Microsoft.MachineLearningServices/workspaces/jobs",
                                          "properties": pipeline, "systemData": system_data(CREATED)})
    cassettes.append(c)
    return cassettes


# -- registries and connections ------------------------------------------------------------------------------
REGISTRY = "contoso-shared"
REGISTRY_SCOPE = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers/"
                  f"Microsoft.MachineLearningServices/registries/{REGISTRY}")


def registry_url(*segments: str) -> str:
    return f"{HOST}{REGISTRY_SCOPE}" + "".join(f"/{s}" for s in segments) + f"?api-version={API_VERSION}"


def registry_cassettes(spec: Spec) -> list[Cassette]:
    """A registry created (a long-running PUT), and a workspace's model shared into it: the registry's model version
    PUT is a long-running operation too (final state: the version, read again at its URI)."""
    cassettes = []
    c = Cassette("registries/create")
    region = {"location": LOCATION, "acrDetails": [], "storageAccountDetails": []}
    sent = {"location": LOCATION, "tags": {"team": "ml-platform"}, "identity": {"type": "SystemAssigned"},
            "properties": {"regionDetails": [region]}}
    status = registry_operation_status("3f2b8c1d-7e4a-4b9c-a6d2-5e8f1a0b9c3d")
    answered = {"id": REGISTRY_SCOPE, "name": REGISTRY, "type": "Microsoft.MachineLearningServices/registries",
                "location": LOCATION, "tags": {"team": "ml-platform"},
                "identity": {"type": "SystemAssigned", "principalId": "7c1e4b2a-9d3f-4e8a-b5c6-2f1a0d9e8b7c",
                             "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47"},
                "properties": {"regionDetails": [region],
                               "discoveryUrl": f"https://{LOCATION}.api.azureml.ms/registrymanagement/v1.0/"
                                               f"registries/{REGISTRY}/discovery",
                               "mlFlowRegistryUri": f"azureml://{LOCATION}.api.azureml.ms/mlflow/v1.0{REGISTRY_SCOPE}"},
                "systemData": system_data(CREATED)}
    c.add("PUT", registry_url(), 201, answered, sent=sent, headers={"Azure-AsyncOperation": status})
    polled(c, status)
    c.add("GET", registry_url(), 200, answered)
    cassettes.append(c)

    c = Cassette("models/share")
    job = "quiet_lemon_7x2kq9"
    props = {"description": "Gradient boosted churn classifier", "modelType": "mlflow_model",
             "modelUri": f"azureml://jobs/{job}/outputs/artifacts/paths/model/",
             "flavors": {"python_function": {"data": {"loader_module": "mlflow.sklearn"}}}, "jobName": job}
    c.add("GET", url("models", "churn-model", "versions", "2"), 200,
          version_resource(spec, "models", "churn-model", "2", props))
    # the job's artifacts, named as the datastore path with its workspace that a registry copies from
    shared = {**props, **ASSET_FIELDS, "modelUri": f"azureml://subscriptions/{SUBSCRIPTION}/resourcegroups/"
                                                   f"{RESOURCE_GROUP}/workspaces/{WORKSPACE}/datastores/"
                                                   f"workspaceartifactstore/paths/ExperimentRun/dcid.{job}/model/"}
    one = registry_url("models", "churn", "versions", "1")
    resource = {"id": f"{REGISTRY_SCOPE}/models/churn/versions/1", "name": "1",
                "type": "Microsoft.MachineLearningServices/registries/models/versions",
                "systemData": system_data(CREATED)}
    status = registry_operation_status("8a4d2e6f-1b3c-4d5e-9f7a-0c2b4d6e8f1a")
    c.add("PUT", one, 201, {**resource, "properties": {**shared, "provisioningState": "Creating"}},
          sent={"properties": shared}, headers={"Azure-AsyncOperation": status})
    polled(c, status)
    c.add("GET", one, 200, {**resource, "properties": {
        **shared, "modelUri": f"https://contosoregistrystorage.blob.core.windows.net/{REGISTRY}-models/churn/1/model/",
        "provisioningState": "Succeeded"}})
    cassettes.append(c)
    return cassettes


def registry_operation_status(operation: str) -> str:
    return (f"{HOST}/subscriptions/{SUBSCRIPTION}/providers/Microsoft.MachineLearningServices/locations/{LOCATION}/"
            f"registryOperationsStatus/{operation}?api-version={API_VERSION}")


PAT = "fake-personal-access-token-for-the-cassettes"  # not a secret


def connection_cassettes(spec: Spec) -> list[Cassette]:
    """A connection created with its token (which no answer repeats), then its secrets read by listsecrets."""
    c = Cassette("connections/create_then_list_secrets")
    one = url("connections", "churn-repo")
    props = {"authType": "PAT", "category": "Git", "target": "https://github.com/contoso/churn-model"}
    resource = {"id": arm_id("connections", "churn-repo"), "name": "churn-repo",
                "type": "Microsoft.MachineLearningServices/workspaces/connections"}
    c.add("PUT", one, 200, shaped(spec.body("WorkspaceConnection/create"), {**resource, "properties": props}),
          sent={"properties": {**props, "credentials": {"pat": PAT}}})
    c.add("GET", one, 200, {**resource, "properties": props, "systemData": system_data(CREATED)})
    c.add("POST", url("connections", "churn-repo", "listsecrets"), 200, {
        **resource, "properties": {**props, "credentials": {"pat": PAT}}, "systemData": system_data(CREATED)})
    return [c]


# -- schedules -----------------------------------------------------------------------------------------------
SCHEDULE = "nightly-churn-retrain"


def schedule_request(enabled: bool = True) -> dict:
    """A weekday 06:00 (Pacific) schedule that creates a command job from registered assets."""
    return {"properties": {
        "displayName": "Nightly churn retraining", "isEnabled": enabled,
        "trigger": {"triggerType": "Cron", "timeZone": "Pacific Standard Time", "expression": "0 6 * * 1-5"},
        "action": {"actionType": "CreateJob", "jobDefinition": {
            "jobType": "Command", "experimentName": "churn", "command": "python train.py",
            "codeId": arm_id("codes", "churn-train", "versions", "3"),
            "environmentId": arm_id("environments", "sklearn-env", "versions", "4"),
            "computeId": arm_id("computes", "cpu-cluster")}}}}


def schedule_resource(spec: Spec, body: dict, state: str = "Succeeded", modified: str | None = None) -> dict:
    return spec.resource("Schedule/get", {
        "id": arm_id("schedules", SCHEDULE), "name": SCHEDULE,
        "type": "Microsoft.MachineLearningServices/workspaces/schedules",
        "properties": {**body["properties"], "provisioningState": state},
        "systemData": system_data(CREATED, modified)})


def schedule_cassettes(spec: Spec) -> list[Cassette]:
    one = url("schedules", SCHEDULE)
    cassettes = []

    c = Cassette("schedules/create")
    status = mfe_status("sc:6e1d2c3b-4a5f-4e6d-9c8b-7a6f5e4d3c2b:nightly-churn-retrain")
    c.add("PUT", one, 201, schedule_resource(spec, schedule_request(), "Creating"), sent=schedule_request(),
          headers={"Azure-AsyncOperation": status})
    polled(c, status)
    c.add("GET", one, 200, schedule_resource(spec, schedule_request()))
    cassettes.append(c)

    c = Cassette("schedules/disable")  # the schedule as the service holds it goes back with isEnabled false
    c.add("GET", one, 200, schedule_resource(spec, schedule_request()))
    c.add("PUT", one, 200, schedule_resource(spec, schedule_request(False), modified="2026-11-24T18:02:11.000Z"),
          sent=schedule_request(False))
    cassettes.append(c)
    return cassettes


GROUPS = (code_cassettes, data_cassettes, environment_cassettes, model_cassettes, component_cassettes,
          datastore_cassettes, compute_cassettes, job_cassettes, pipeline_cassettes, online_endpoint_cassettes,
          online_deployment_cassettes, batch_cassettes, schedule_cassettes, registry_cassettes,
          connection_cassettes, spark_cassettes)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spec-dir", type=Path, default=DEFAULT_SPEC, help="azure-rest-spec folder")
    parser.add_argument("--out", type=Path, default=RECORDINGS, help="where to write (default: %(default)s)")
    args = parser.parse_args(argv)
    spec = Spec(args.spec_dir)
    cassettes = [c for group in GROUPS for c in group(spec)]
    for cassette in cassettes:
        cassette.write(args.out)
    print(f"{len(cassettes)} cassettes, {sum(len(c.requests) for c in cassettes)} interactions in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
