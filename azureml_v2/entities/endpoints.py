"""Online and batch endpoints and their deployments (api-version 2024-04-01 tracked resources).

An endpoint is a stable address with its authentication; its deployments serve a model (with a scoring script in an
environment, or an MLflow model without one). Online endpoints split live traffic between their deployments by
percentage and may mirror a share to another; batch endpoints run a default deployment as a job.

`model`, `environment` and `code_configuration.code` are references (`azureml:name:version`, ARM ids) or inline:
a Model or Environment object, a local code folder. The operation groups create the inline ones as assets first; the
REST body of an entity that still holds them carries their local paths.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._contract import LOCAL_SUBSCRIPTION, iso_from_seconds, seconds_from_iso, to_arm
from ..exceptions import ValidationError
from ._base import Resource
from ._rest import compact, str_map
from .assets import Environment
from .job import ManagedIdentity, code_ref, compute_to_rest_id, environment_to_rest_id
from .model import Model

AUTH_MODES = {"key": "Key", "aml_token": "AMLToken", "aad_token": "AADToken"}
IDENTITY_TYPES = {"system_assigned": "SystemAssigned", "user_assigned": "UserAssigned",
                  "system_assigned,user_assigned": "SystemAssigned,UserAssigned", "none": "None"}
NETWORK_ACCESS = ("enabled", "disabled")
LOGGING_LEVELS = ("info", "warning", "debug")
OUTPUT_ACTIONS = {"append_row": "AppendRow", "summary_only": "SummaryOnly"}
LOCAL_LOCATION = "local"  # the region of the local workspace


def _reverse(mapping: dict, value: str | None) -> str | None:
    return {v.lower(): k for k, v in mapping.items()}.get(value.lower()) if value else None


def _location(entity, scope: str) -> str:
    if entity.location:
        return entity.location
    if f"/subscriptions/{LOCAL_SUBSCRIPTION}/" in scope + "/":
        return LOCAL_LOCATION
    raise ValidationError(f"{type(entity).__name__} {entity.name!r}: location is required in its REST body (the "
                          "workspace's region; the operation groups fill it in)")


def _tracked(entity, scope: str, props: dict, **envelope) -> dict:
    return compact({"location": _location(entity, scope), "tags": str_map(entity.tags), **envelope,
                    "properties": compact({"description": entity.description,
                                           "properties": str_map(entity.properties), **props})})


def _fields(resource: dict) -> dict:
    props = resource.get("properties", {})
    return {"name": resource.get("name"), "description": props.get("description"),
            "tags": resource.get("tags") or None, "properties": props.get("properties") or None,
            "location": resource.get("location")}


# -- identity --------------------------------------------------------------------------------------------------
@dataclass(kw_only=True)
class IdentityConfiguration:
    """An endpoint's identity: system_assigned, user_assigned (with its identities, ManagedIdentityConfiguration:
    resource_id, client_id, object_id) or none."""

    type: str = "system_assigned"
    user_assigned_identities: list[ManagedIdentity] | None = None
    principal_id: str | None = None
    tenant_id: str | None = None

    def _to_rest(self) -> dict:
        assigned = None
        if self.user_assigned_identities:
            assigned = {i.resource_id: {} for i in self.user_assigned_identities}
        return compact({"type": IDENTITY_TYPES[self.type], "userAssignedIdentities": assigned})

    @classmethod
    def _from_rest(cls, body: dict) -> "IdentityConfiguration":
        assigned = body.get("userAssignedIdentities")
        return cls(type=_reverse(IDENTITY_TYPES, body.get("type")) or "none",
                   user_assigned_identities=[ManagedIdentity(
                       resource_id=k, client_id=(v or {}).get("clientId"), object_id=(v or {}).get("principalId"))
                       for k, v in assigned.items()] if assigned else None,
                   principal_id=body.get("principalId"), tenant_id=body.get("tenantId"))


# -- endpoints -------------------------------------------------------------------------------------------------
@dataclass(kw_only=True)
class Endpoint(Resource):
    """What online and batch endpoints share. `scoring_uri`, `openapi_uri` and `provisioning_state` are the
    service's, read-only."""

    auth_mode: str = "key"
    location: str | None = None
    identity: IdentityConfiguration | None = None
    scoring_uri: str | None = None
    openapi_uri: str | None = None
    provisioning_state: str | None = None

    def _endpoint_rest(self, scope: str, props: dict) -> dict:
        return _tracked(self, scope, {"authMode": AUTH_MODES[self.auth_mode], **props},
                        identity=self.identity._to_rest() if self.identity else None)

    @staticmethod
    def _endpoint_fields(resource: dict) -> dict:
        props = resource.get("properties", {})
        identity = resource.get("identity")
        return {**_fields(resource), "auth_mode": _reverse(AUTH_MODES, props.get("authMode")) or "key",
                "identity": IdentityConfiguration._from_rest(identity) if identity else None,
                "scoring_uri": props.get("scoringUri"), "openapi_uri": props.get("swaggerUri"),
                "provisioning_state": props.get("provisioningState")}


@dataclass(kw_only=True)
class OnlineEndpoint(Endpoint):
    """A real-time endpoint: `traffic` maps deployment names to percentages of live traffic (adding up to 100),
    `mirror_traffic` a deployment to the share of traffic copied to it (answers discarded)."""

    traffic: dict[str, int] | None = None
    mirror_traffic: dict[str, int] | None = None
    public_network_access: str | None = None
    kind: str | None = None

    def _online_rest(self, scope: str, **own) -> dict:
        body = self._endpoint_rest(scope, {
            "traffic": self.traffic, "mirrorTraffic": self.mirror_traffic,
            "publicNetworkAccess": self.public_network_access.capitalize() if self.public_network_access else None,
            **own})
        if self.kind:
            body["kind"] = self.kind
        return body

    @classmethod
    def _from_rest(cls, resource: dict) -> "OnlineEndpoint":
        props = resource.get("properties", {})
        fields = {**cls._endpoint_fields(resource), "traffic": props.get("traffic") or None,
                  "mirror_traffic": props.get("mirrorTraffic") or None, "kind": resource.get("kind"),
                  "public_network_access": (props.get("publicNetworkAccess") or "").lower() or None}
        if props.get("compute"):
            return KubernetesOnlineEndpoint(compute=props["compute"], **fields)
        return ManagedOnlineEndpoint(**fields)


@dataclass(kw_only=True)
class ManagedOnlineEndpoint(OnlineEndpoint):
    """An online endpoint on Azure ML's managed compute (on the local workspace: served on this machine)."""

    def _rest(self, scope: str) -> dict:
        return self._online_rest(scope)


@dataclass(kw_only=True)
class KubernetesOnlineEndpoint(OnlineEndpoint):
    """An online endpoint on an attached Kubernetes `compute`."""

    compute: str | None = None

    def _rest(self, scope: str) -> dict:
        return self._online_rest(scope, compute=compute_to_rest_id(self.compute, scope))


@dataclass(kw_only=True)
class BatchEndpointDefaults:
    deployment_name: str | None = None


@dataclass(kw_only=True)
class BatchEndpoint(Endpoint):
    """An endpoint whose invocations are jobs; `defaults.deployment_name` is the deployment that runs them."""

    auth_mode: str = "aad_token"
    defaults: BatchEndpointDefaults | None = None

    def _rest(self, scope: str) -> dict:
        defaults = None
        if self.defaults is not None:
            defaults = compact({"deploymentName": self.defaults.deployment_name})
        return self._endpoint_rest(scope, {"defaults": defaults})

    @classmethod
    def _from_rest(cls, resource: dict) -> "BatchEndpoint":
        defaults = resource.get("properties", {}).get("defaults")
        return cls(**{**cls._endpoint_fields(resource), "auth_mode": _reverse(
            AUTH_MODES, resource.get("properties", {}).get("authMode")) or "aad_token"},
                   defaults=BatchEndpointDefaults(deployment_name=defaults.get("deploymentName"))
                   if defaults else None)


# -- deployment parts ------------------------------------------------------------------------------------------
@dataclass(kw_only=True)
class CodeConfiguration:
    """The scoring script (`init()` and `run()`) and the code folder (local or a code asset) that holds it."""

    code: str | None = None
    scoring_script: str | None = None

    def _to_rest(self, scope: str) -> dict:
        return compact({"codeId": to_arm(self.code, "codes", scope), "scoringScript": self.scoring_script})

    @classmethod
    def _from_rest(cls, body: dict) -> "CodeConfiguration":
        return cls(code=code_ref(body.get("codeId")), scoring_script=body.get("scoringScript"))


@dataclass(kw_only=True)
class OnlineRequestSettings:
    """Per request: its timeout and how long it may queue (milliseconds), and requests one instance takes at once."""

    request_timeout_ms: int | None = None
    max_concurrent_requests_per_instance: int | None = None
    max_queue_wait_ms: int | None = None

    def _to_rest(self) -> dict:
        return compact({"requestTimeout": _iso_ms(self.request_timeout_ms),
                        "maxConcurrentRequestsPerInstance": self.max_concurrent_requests_per_instance,
                        "maxQueueWait": _iso_ms(self.max_queue_wait_ms)})

    @classmethod
    def _from_rest(cls, body: dict) -> "OnlineRequestSettings":
        return cls(request_timeout_ms=_ms(body.get("requestTimeout")),
                   max_concurrent_requests_per_instance=body.get("maxConcurrentRequestsPerInstance"),
                   max_queue_wait_ms=_ms(body.get("maxQueueWait")))


def _iso_ms(ms: int | None) -> str | None:
    return None if ms is None else iso_from_seconds(ms / 1000 if ms % 1000 else ms // 1000)


def _ms(text: str | None) -> int | None:
    seconds = seconds_from_iso(text)
    return None if seconds is None else round(seconds * 1000)


@dataclass(kw_only=True)
class ProbeSettings:
    """A liveness or readiness probe; delays and periods in seconds."""

    initial_delay: int | None = None
    period: int | None = None
    timeout: int | None = None
    success_threshold: int | None = None
    failure_threshold: int | None = None

    def _to_rest(self) -> dict:
        return compact({"initialDelay": iso_from_seconds(self.initial_delay), "period": iso_from_seconds(self.period),
                        "timeout": iso_from_seconds(self.timeout), "successThreshold": self.success_threshold,
                        "failureThreshold": self.failure_threshold})

    @classmethod
    def _from_rest(cls, body: dict) -> "ProbeSettings":
        return cls(initial_delay=seconds_from_iso(body.get("initialDelay")),
                   period=seconds_from_iso(body.get("period")), timeout=seconds_from_iso(body.get("timeout")),
                   success_threshold=body.get("successThreshold"),
                   failure_threshold=body.get("failureThreshold"))


@dataclass(kw_only=True)
class DefaultScaleSettings:
    """A fixed number of instances (`instance_count`)."""

    type: str = "default"

    def _to_rest(self) -> dict:
        return {"scaleType": "Default"}


@dataclass(kw_only=True)
class TargetUtilizationScaleSettings:
    """Between `min_instances` and `max_instances`, aiming at `target_utilization_percentage` (Kubernetes)."""

    type: str = "target_utilization"
    min_instances: int | None = None
    max_instances: int | None = None
    polling_interval: int | None = None
    target_utilization_percentage: int | None = None

    def _to_rest(self) -> dict:
        return compact({"scaleType": "TargetUtilization", "minInstances": self.min_instances,
                        "maxInstances": self.max_instances, "pollingInterval": iso_from_seconds(self.polling_interval),
                        "targetUtilizationPercentage": self.target_utilization_percentage})


def _scale_from_rest(body: dict | None):
    if not body:
        return None
    if body.get("scaleType") == "TargetUtilization":
        return TargetUtilizationScaleSettings(
            min_instances=body.get("minInstances"), max_instances=body.get("maxInstances"),
            polling_interval=seconds_from_iso(body.get("pollingInterval")),
            target_utilization_percentage=body.get("targetUtilizationPercentage"))
    return DefaultScaleSettings()


@dataclass(kw_only=True)
class ResourceSettings:
    cpu: str | None = None
    memory: str | None = None
    gpu: str | None = None

    def _to_rest(self) -> dict:
        return compact({"cpu": self.cpu, "memory": self.memory, "gpu": self.gpu})


@dataclass(kw_only=True)
class ResourceRequirementsSettings:
    """What a Kubernetes deployment's container requests and may use at most."""

    requests: ResourceSettings | None = None
    limits: ResourceSettings | None = None

    def _to_rest(self) -> dict:
        return compact({"containerResourceRequests": self.requests._to_rest() if self.requests else None,
                        "containerResourceLimits": self.limits._to_rest() if self.limits else None})

    @classmethod
    def _from_rest(cls, body: dict) -> "ResourceRequirementsSettings":
        def settings(part):
            return ResourceSettings(**{k: part.get(k) for k in ("cpu", "memory", "gpu")}) if part else None
        return cls(requests=settings(body.get("containerResourceRequests")),
                   limits=settings(body.get("containerResourceLimits")))


def model_to_rest_id(model, scope: str) -> str | None:
    """A model reference -> its ARM id; an inline named model -> the id of that version; an anonymous one -> its
    local path (the operation groups create it first)."""
    if model is None or isinstance(model, str):
        return to_arm(model, "models", scope)
    if model.name and model.version:
        return f"{scope}/models/{model.name}/versions/{model.version}"
    return model.path


def _ref(arm_id: str | None) -> str | None:
    """An ARM id the service returned, as YAML writes a reference."""
    return f"azureml:{arm_id}" if arm_id and arm_id.startswith("/subscriptions/") else arm_id


# -- deployments -----------------------------------------------------------------------------------------------
@dataclass(kw_only=True)
class Deployment(Resource):
    """What online and batch deployments share."""

    endpoint_name: str | None = None
    model: str | Model | None = None
    code_configuration: CodeConfiguration | None = None
    environment: str | Environment | None = None
    environment_variables: dict[str, str] | None = None
    location: str | None = None
    provisioning_state: str | None = None

    def _deployment_props(self, scope: str) -> dict:
        return {"codeConfiguration": self.code_configuration._to_rest(scope) if self.code_configuration else None,
                "environmentId": environment_to_rest_id(self.environment, scope),
                "environmentVariables": str_map(self.environment_variables)}

    @staticmethod
    def _deployment_fields(resource: dict) -> dict:
        props = resource.get("properties", {})
        code = props.get("codeConfiguration")
        parts = (resource.get("id") or "").split("/")
        endpoint = parts[parts.index("deployments") - 1] if "deployments" in parts else None
        return {**_fields(resource), "endpoint_name": endpoint,
                "code_configuration": CodeConfiguration._from_rest(code) if code else None,
                "environment": _ref(props.get("environmentId")),
                "environment_variables": props.get("environmentVariables") or None,
                "provisioning_state": props.get("provisioningState")}


@dataclass(kw_only=True)
class OnlineDeployment(Deployment):
    """A deployment of an online endpoint: `instance_count` servers of `instance_type`."""

    instance_type: str | None = None
    instance_count: int | None = None
    request_settings: OnlineRequestSettings | None = None
    liveness_probe: ProbeSettings | None = None
    readiness_probe: ProbeSettings | None = None
    scale_settings: DefaultScaleSettings | TargetUtilizationScaleSettings | None = None
    app_insights_enabled: bool | None = None
    egress_public_network_access: str | None = None
    model_mount_path: str | None = None

    _COMPUTE_TYPE = ""

    def _rest(self, scope: str) -> dict:
        sku = None if self.instance_count is None else {"name": "Default", "capacity": self.instance_count}
        return _tracked(self, scope, {
            "endpointComputeType": self._COMPUTE_TYPE, "model": model_to_rest_id(self.model, scope),
            **self._deployment_props(scope), "instanceType": self.instance_type,
            "requestSettings": self.request_settings._to_rest() if self.request_settings else None,
            "livenessProbe": self.liveness_probe._to_rest() if self.liveness_probe else None,
            "readinessProbe": self.readiness_probe._to_rest() if self.readiness_probe else None,
            "scaleSettings": self.scale_settings._to_rest() if self.scale_settings else None,
            "appInsightsEnabled": self.app_insights_enabled,
            "egressPublicNetworkAccess": self.egress_public_network_access.capitalize()
            if self.egress_public_network_access else None,
            "modelMountPath": self.model_mount_path, **self._own_rest()}, sku=sku)

    def _own_rest(self) -> dict:
        return {}

    @classmethod
    def _from_rest(cls, resource: dict) -> "OnlineDeployment":
        props = resource.get("properties", {})
        probes = {key: ProbeSettings._from_rest(props[rest]) if props.get(rest) else None
                  for key, rest in (("liveness_probe", "livenessProbe"), ("readiness_probe", "readinessProbe"))}
        fields = {**cls._deployment_fields(resource), **probes, "model": _ref(props.get("model")),
                  "instance_type": props.get("instanceType"),
                  "instance_count": (resource.get("sku") or {}).get("capacity"),
                  "request_settings": OnlineRequestSettings._from_rest(props["requestSettings"])
                  if props.get("requestSettings") else None,
                  "scale_settings": _scale_from_rest(props.get("scaleSettings")),
                  "app_insights_enabled": props.get("appInsightsEnabled"),
                  "egress_public_network_access": (props.get("egressPublicNetworkAccess") or "").lower() or None,
                  "model_mount_path": props.get("modelMountPath")}
        if props.get("endpointComputeType") == "Kubernetes":
            resources = props.get("containerResourceRequirements")
            return KubernetesOnlineDeployment(
                resources=ResourceRequirementsSettings._from_rest(resources) if resources else None, **fields)
        return ManagedOnlineDeployment(**fields)


@dataclass(kw_only=True)
class ManagedOnlineDeployment(OnlineDeployment):
    """An online deployment on managed compute (on the local workspace: processes on this machine)."""

    _COMPUTE_TYPE = "Managed"


@dataclass(kw_only=True)
class KubernetesOnlineDeployment(OnlineDeployment):
    """An online deployment on the Kubernetes compute of its endpoint; `resources` are its container's."""

    resources: ResourceRequirementsSettings | None = None
    _COMPUTE_TYPE = "Kubernetes"

    def _own_rest(self) -> dict:
        return {"containerResourceRequirements": self.resources._to_rest() if self.resources else None}


@dataclass(kw_only=True)
class BatchRetrySettings:
    """How often a failed mini-batch is tried again, and its `timeout` in seconds."""

    max_retries: int | None = None
    timeout: int | None = None


@dataclass(kw_only=True)
class ModelBatchDeploymentSettings:
    """How a batch deployment splits and scores its input."""

    mini_batch_size: int | None = None
    max_concurrency_per_instance: int | None = None
    output_action: str | None = None
    output_file_name: str | None = None
    error_threshold: int | None = None
    retry_settings: BatchRetrySettings | None = None
    logging_level: str | None = None
    environment_variables: dict[str, str] | None = None


@dataclass(kw_only=True)
class ResourceConfiguration:
    instance_count: int | None = None
    instance_type: str | None = None
    properties: dict[str, Any] | None = None


@dataclass(kw_only=True)
class ModelBatchDeployment(Deployment):
    """A batch deployment of a model: `resources.instance_count` nodes of `compute`, each scoring mini-batches with
    `settings.max_concurrency_per_instance` workers."""

    compute: str | None = None
    resources: ResourceConfiguration | None = None
    settings: ModelBatchDeploymentSettings | None = None

    def _rest(self, scope: str) -> dict:
        s = self.settings or ModelBatchDeploymentSettings()
        retry = s.retry_settings
        model = model_to_rest_id(self.model, scope)
        props = self._deployment_props(scope)
        if s.environment_variables:
            props["environmentVariables"] = {**(props["environmentVariables"] or {}),
                                             **str_map(s.environment_variables)}
        resources = None
        if self.resources is not None:
            resources = compact({"instanceCount": self.resources.instance_count,
                                 "instanceType": self.resources.instance_type,
                                 "properties": self.resources.properties})
        return _tracked(self, scope, {
            "model": {"referenceType": "Id", "assetId": model} if model else None, **props,
            "compute": compute_to_rest_id(self.compute, scope), "resources": resources,
            "miniBatchSize": s.mini_batch_size, "maxConcurrencyPerInstance": s.max_concurrency_per_instance,
            "outputAction": OUTPUT_ACTIONS[s.output_action] if s.output_action else None,
            "outputFileName": s.output_file_name, "errorThreshold": s.error_threshold,
            "retrySettings": compact({"maxRetries": retry.max_retries, "timeout": iso_from_seconds(retry.timeout)})
            if retry else None,
            "loggingLevel": s.logging_level.capitalize() if s.logging_level else None})

    @classmethod
    def _from_rest(cls, resource: dict) -> "ModelBatchDeployment | PipelineComponentBatchDeployment":
        props = resource.get("properties", {})
        config = props.get("deploymentConfiguration")
        if config and config.get("deploymentConfigurationType") == "PipelineComponent":
            return PipelineComponentBatchDeployment._from_rest(resource)
        retry = props.get("retrySettings")
        resources = props.get("resources")
        model = props.get("model") or {}
        return cls(**cls._deployment_fields(resource), model=_ref(model.get("assetId") or model.get("path")),
                   compute=props.get("compute"),
                   resources=ResourceConfiguration(instance_count=resources.get("instanceCount"),
                                                   instance_type=resources.get("instanceType"),
                                                   properties=resources.get("properties") or None)
                   if resources else None,
                   settings=ModelBatchDeploymentSettings(
                       mini_batch_size=props.get("miniBatchSize"),
                       max_concurrency_per_instance=props.get("maxConcurrencyPerInstance"),
                       output_action=_reverse(OUTPUT_ACTIONS, props.get("outputAction")),
                       output_file_name=props.get("outputFileName"), error_threshold=props.get("errorThreshold"),
                       retry_settings=BatchRetrySettings(max_retries=retry.get("maxRetries"),
                                                         timeout=seconds_from_iso(retry.get("timeout")))
                       if retry else None,
                       logging_level=(props.get("loggingLevel") or "").lower() or None))


@dataclass(kw_only=True)
class PipelineComponentBatchDeployment(Resource):
    """A batch deployment that runs a pipeline `component` (a reference) with `settings` (default_compute,
    continue_on_step_failure, ...) for each invocation."""

    endpoint_name: str | None = None
    component: str | None = None
    settings: dict[str, Any] | None = None
    location: str | None = None
    provisioning_state: str | None = None

    def _rest(self, scope: str) -> dict:
        component = to_arm(self.component, "components", scope)
        return _tracked(self, scope, {"deploymentConfiguration": compact({
            "deploymentConfigurationType": "PipelineComponent",
            "componentId": {"referenceType": "Id", "assetId": component} if component else None,
            "settings": str_map(self.settings)})})

    @classmethod
    def _from_rest(cls, resource: dict) -> "PipelineComponentBatchDeployment":
        props = resource.get("properties", {})
        config = props.get("deploymentConfiguration") or {}
        parts = (resource.get("id") or "").split("/")
        return cls(**_fields(resource), endpoint_name=parts[parts.index("deployments") - 1]
                   if "deployments" in parts else None,
                   component=_ref((config.get("componentId") or {}).get("assetId")),
                   settings=config.get("settings") or None, provisioning_state=props.get("provisioningState"))


BatchDeployment = ModelBatchDeployment  # azure-ai-ml's name for a model batch deployment


# -- credentials -----------------------------------------------------------------------------------------------
@dataclass(kw_only=True)
class EndpointAuthKeys:
    """The keys of a `key` endpoint."""

    primary_key: str | None = None
    secondary_key: str | None = None


@dataclass(kw_only=True)
class EndpointAuthToken:
    """A token of an `aml_token` (or `aad_token`) endpoint; times in seconds since the epoch."""

    access_token: str | None = None
    expiry_time_utc: int | None = None
    refresh_after_time_utc: int | None = None
    token_type: str | None = None
