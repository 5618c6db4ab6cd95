"""Online and batch endpoints and their deployments, as azure-ai-ml's `online_endpoints`, `online_deployments`,
`batch_endpoints` and `batch_deployments`.

Creating, updating and deleting are long-running: `begin_*` returns an azure-core LROPoller that follows ARM's
Azure-AsyncOperation / Location headers (`.result()` waits for Succeeded and returns the resource). A deployment's
inline model, environment and local code are created as assets first, as for jobs. The tracked resources need the
workspace's region (`location`): it is read from the workspace once.
"""
from __future__ import annotations

import copy
import json
import urllib.error
import urllib.request

from azure.core.exceptions import HttpResponseError
from azure.core.paging import ItemPaged
from azure.core.polling import LROPoller

from .._artifacts.snapshot import take_snapshot
from .._contract import BATCH_DEPLOYMENT_PROPERTY, BATCH_ENDPOINT_PROPERTY, is_local
from ..entities.endpoints import (BatchEndpoint, CodeConfiguration, EndpointAuthKeys, EndpointAuthToken,
                                  ModelBatchDeployment, OnlineDeployment, OnlineEndpoint,
                                  PipelineComponentBatchDeployment)
from ..exceptions import EndpointStateError, ValidationError
from ._base import Operations
from .jobs import job_from_rest

INVOKE_TIMEOUT = 90  # seconds an online endpoint may take to answer (Azure ML's longest request timeout)


class _WorkspaceRegion(Operations):
    def _location(self) -> str:
        cached = self._ml_client.__dict__.get("_workspace_location")
        if cached is None:
            cached = self._get().get("location") or "local"
            self._ml_client.__dict__["_workspace_location"] = cached
        return cached

    def _located(self, resource):
        resource = copy.copy(resource)
        if not resource.location:
            resource.location = self._location()
        return resource


class _EndpointOperations(_WorkspaceRegion):
    _COLLECTION = ""
    _ENTITY = None

    def begin_create_or_update(self, endpoint) -> LROPoller:
        """Create or update an endpoint; the poller's result is the endpoint once it is provisioned."""
        if not endpoint.name:
            raise ValidationError(f"{type(endpoint).__name__}: name is required")
        body = self._located(endpoint).to_rest(scope=self._ml_client._scope)
        return self._begin("PUT", self._COLLECTION, endpoint.name, json=body, from_rest=self._ENTITY._from_rest)

    def get(self, name: str):
        return self._ENTITY._from_rest(self._get(self._COLLECTION, name))

    def list(self) -> ItemPaged:
        return self._paged(self._ENTITY._from_rest, self._COLLECTION)

    def begin_delete(self, name: str) -> LROPoller:
        """Delete an endpoint with all its deployments."""
        return self._begin("DELETE", self._COLLECTION, name)

    def _scoring_uri(self, endpoint) -> str:
        if not endpoint.scoring_uri:
            raise EndpointStateError(f"endpoint {endpoint.name!r} has no scoring URI: it is "
                                     f"{endpoint.provisioning_state} and not served on {self._backend.where}")
        return endpoint.scoring_uri

    def _post(self, uri: str, data: bytes, headers: dict) -> bytes:
        return self._backend.offload(_post, uri, data, headers)


class OnlineEndpointOperations(_EndpointOperations):
    """begin_create_or_update, get, list, begin_delete, invoke, get_keys and begin_regenerate_keys."""

    _COLLECTION = "onlineEndpoints"
    _ENTITY = OnlineEndpoint

    def get_keys(self, name: str) -> EndpointAuthKeys | EndpointAuthToken:
        """The keys of a `key` endpoint, else a new token (aml_token: from the workspace; aad_token: the client's)."""
        return self._credentials(self.get(name))

    def _credentials(self, endpoint) -> EndpointAuthKeys | EndpointAuthToken:
        name = endpoint.name
        if endpoint.auth_mode == "key":
            keys = self._send("POST", self._COLLECTION, name, "listKeys").json()
            return EndpointAuthKeys(primary_key=keys.get("primaryKey"), secondary_key=keys.get("secondaryKey"))
        if endpoint.auth_mode == "aml_token":
            token = self._send("POST", self._COLLECTION, name, "token").json()
            return EndpointAuthToken(access_token=token.get("accessToken"), expiry_time_utc=token.get("expiryTimeUtc"),
                                     refresh_after_time_utc=token.get("refreshAfterTimeUtc"),
                                     token_type=token.get("tokenType"))
        return EndpointAuthToken(access_token=self._backend.aad_token(), token_type="Bearer")

    def begin_regenerate_keys(self, name: str, *, key_type: str = "primary") -> LROPoller:
        """Replace the primary or secondary key of a `key` endpoint."""
        if key_type.lower() not in ("primary", "secondary"):
            raise ValidationError(f"key_type {key_type!r}: expected primary or secondary")
        return self._begin("POST", self._COLLECTION, name, "regenerateKeys",
                           json={"keyType": key_type.capitalize()}, ok=(200, 202))

    def invoke(self, endpoint_name: str, *, request_file=None, deployment_name: str | None = None,
               request: str | bytes | dict | None = None) -> str:
        """Send a scoring request (the JSON of `request_file`, or `request`) to the endpoint -> its answer as text.

        With `deployment_name` the request goes to that deployment whatever the traffic rules say."""
        if (request_file is None) == (request is None):
            raise ValidationError("invoke: give request_file or request")
        if request_file is not None:
            with open(request_file, "rb") as fh:
                data = fh.read()
        else:
            data = request if isinstance(request, bytes) else \
                request.encode() if isinstance(request, str) else json.dumps(request).encode()
        endpoint = self.get(endpoint_name)
        uri = self._scoring_uri(endpoint)
        credential = self._credentials(endpoint)
        secret = credential.primary_key if isinstance(credential, EndpointAuthKeys) else credential.access_token
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        if deployment_name:
            headers["azureml-model-deployment"] = deployment_name
        return self._post(uri, data, headers).decode("utf-8", "replace")


class BatchEndpointOperations(_EndpointOperations):
    """begin_create_or_update, get, list, begin_delete, invoke (-> the scoring job) and list_jobs."""

    _COLLECTION = "batchEndpoints"
    _ENTITY = BatchEndpoint

    def invoke(self, endpoint_name: str, *, deployment_name: str | None = None, inputs: dict | None = None,
               input=None, **_):
        """Score `inputs` (name -> Input; or one `input`) with the endpoint's default deployment (or
        `deployment_name`) -> the batch scoring job."""
        if (inputs is None) == (input is None):
            raise ValidationError("invoke: give inputs={name: Input(...)} or input=Input(...)")
        inputs = inputs if inputs is not None else {"input_data": input}
        body = {"properties": {"InputData": {name: _batch_input(self._uploaded(value))
                                             for name, value in inputs.items()}}}
        endpoint = self.get(endpoint_name)
        token = self._backend.aad_token()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if deployment_name:
            headers["azureml-model-deployment"] = deployment_name
        answer = json.loads(self._post(self._scoring_uri(endpoint), json.dumps(body).encode(), headers) or b"{}")
        name = answer.get("name") or (answer.get("id") or "").rsplit("/", 1)[-1]
        if not name:
            raise ValidationError(f"endpoint {endpoint_name!r} answered without a job: {answer}")
        return self._ml_client.jobs.get(name)

    def _uploaded(self, value):
        """A local file or folder to score is uploaded to the default datastore first (as for jobs)."""
        path = value if isinstance(value, str) else value.path
        if not (path and is_local(path)):
            return value
        uri = self._ml_client.datastores._upload(self._backend.offload(take_snapshot, path))
        if isinstance(value, str):
            return uri
        value = copy.copy(value)
        value.path = uri
        return value

    def list_jobs(self, endpoint_name: str) -> ItemPaged:
        """The scoring jobs of the endpoint, newest first."""
        return self._paged(job_from_rest, "jobs", params={"properties": f"{BATCH_ENDPOINT_PROPERTY}={endpoint_name}"})


def _batch_input(value) -> dict:
    if isinstance(value, str):
        return {"JobInputType": "UriFolder", "Uri": value}
    kind = {"uri_file": "UriFile", "uri_folder": "UriFolder", "mltable": "MLTable"}.get(value.type, "UriFolder")
    return {"JobInputType": kind, "Uri": value.path}


class _DeploymentOperations(_WorkspaceRegion):
    _COLLECTION = ""
    _ENTITY = None

    def _prepare(self, deployment):
        """Create what the deployment holds inline (model, environment, local code) and resolve `@latest`."""
        deployment = self._located(deployment)
        if not deployment.endpoint_name:
            raise ValidationError(f"deployment {deployment.name!r}: endpoint_name is required")
        client = self._ml_client
        model = getattr(deployment, "model", None)
        if model is not None:
            deployment.model = client.models._arm_id_for(model)
        if getattr(deployment, "environment", None) is not None:
            deployment.environment = client.environments._arm_id_for(deployment.environment)
        code = getattr(deployment, "code_configuration", None)
        if code is not None and code.code:
            deployment.code_configuration = CodeConfiguration(code=client.code._arm_id_for(code.code),
                                                              scoring_script=code.scoring_script)
        return deployment

    def begin_create_or_update(self, deployment) -> LROPoller:
        """Create or update a deployment; the poller's result is the deployment once it is provisioned."""
        deployment = self._prepare(deployment)
        body = deployment.to_rest(scope=self._ml_client._scope)
        return self._begin("PUT", self._COLLECTION, deployment.endpoint_name, "deployments", deployment.name,
                           json=body, from_rest=self._ENTITY._from_rest)

    def get(self, name: str, endpoint_name: str):
        return self._ENTITY._from_rest(self._get(self._COLLECTION, endpoint_name, "deployments", name))

    def list(self, endpoint_name: str) -> ItemPaged:
        return self._paged(self._ENTITY._from_rest, self._COLLECTION, endpoint_name, "deployments")

    def begin_delete(self, name: str, endpoint_name: str) -> LROPoller:
        return self._begin("DELETE", self._COLLECTION, endpoint_name, "deployments", name)


class OnlineDeploymentOperations(_DeploymentOperations):
    """begin_create_or_update, get, list, get_logs and begin_delete."""

    _COLLECTION = "onlineEndpoints"
    _ENTITY = OnlineDeployment

    def get_logs(self, name: str, endpoint_name: str, lines: int = 100, *, container_type: str | None = None) -> str:
        """The last `lines` lines of the deployment's inference server log (container_type="storage_initializer":
        of the step that fetches the model)."""
        kind = {None: "InferenceServer", "inference_server": "InferenceServer",
                "storage_initializer": "StorageInitializer"}.get(container_type and container_type.lower())
        if kind is None:
            raise ValidationError(f"container_type {container_type!r}: expected inference_server or "
                                  "storage_initializer")
        body = {"tail": lines, "containerType": kind}
        answer = self._send("POST", self._COLLECTION, endpoint_name, "deployments", name, "getLogs", json=body)
        return answer.json().get("content") or ""


class BatchDeploymentOperations(_DeploymentOperations):
    """begin_create_or_update, get, list, begin_delete and list_jobs."""

    _COLLECTION = "batchEndpoints"
    _ENTITY = ModelBatchDeployment

    def _prepare(self, deployment):
        if isinstance(deployment, PipelineComponentBatchDeployment):
            deployment = self._located(deployment)
            if deployment.component:
                deployment.component = self._ml_client.components._resolve(deployment.component)
            return deployment
        return super()._prepare(deployment)

    def list_jobs(self, endpoint_name: str, *, name: str | None = None) -> ItemPaged:
        """The scoring jobs of the endpoint (of its deployment `name`), newest first."""
        filters = f"{BATCH_ENDPOINT_PROPERTY}={endpoint_name}"
        if name:
            filters += f",{BATCH_DEPLOYMENT_PROPERTY}={name}"
        return self._paged(job_from_rest, "jobs", params={"properties": filters})


def _post(uri: str, data: bytes, headers: dict) -> bytes:
    """POST to the endpoint itself (not ARM: no ARM token goes there); an error answer raises
    HttpResponseError with the endpoint's status and message."""
    request = urllib.request.Request(uri, data=data, headers={"Content-Type": "application/json", **headers},
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=INVOKE_TIMEOUT) as response:  # noqa: S310 - the endpoint's
            return response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace").strip()
        error = HttpResponseError(message=f"{uri} answered {exc.code} {exc.reason}" +
                                  (f": {detail[:500]}" if detail else ""))
        error.status_code = exc.code
        raise error from None
    except (urllib.error.URLError, OSError) as exc:
        raise EndpointStateError(f"cannot reach {uri}: {getattr(exc, 'reason', exc)}") from None
