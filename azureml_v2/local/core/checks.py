"""Checks of REST ``properties`` documents (shape, types, discriminators, required fields), as a PUT and a job
process creating a resource both need them. Each takes the `properties` object, raises :class:`Invalid`, and fills
defaults. The spec files are not read at runtime."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil

from ..._contract import (DATA_TYPES, DEFAULT_EXPERIMENT, LOCAL_FOLDER_PROPERTY, NODE_TYPES, compute_placeholder_problem,
                          seconds_from_iso)


class Invalid(Exception):
    """A document the local workspace refuses (HTTP 400 InvalidRequestContent)."""


# Read-only fields clients echo back from a GET; a PUT ignores them.
_READ_ONLY = frozenset({"provisioningState", "latestVersion", "nextVersion", "environmentType", "isDefault",
                        "status", "parameters"})
_DATASTORE_TYPES = ("AzureBlob", "AzureDataLakeGen1", "AzureDataLakeGen2", "AzureFile", "OneLake")
_CREDENTIALS_TYPES = ("AccountKey", "Certificate", "None", "Sas", "ServicePrincipal")
_SECRETS_TYPES = ("AccountKey", "Certificate", "Sas", "ServicePrincipal")
# The fields each job type needs
JOB_REQUIRED = {
    "Command": ("command", "environmentId"),
    "Sweep": ("objective", "samplingAlgorithm", "searchSpace", "trial"),
    "AutoML": ("taskDetails",),
    "Spark": ("codeId", "entry"),
    "Pipeline": (),
    # local only: a pipeline's parallel node or a batch deployment's job (local/executors/parallel.py)
    "Parallel": ("task", "input_data"),
}


def check(props: dict, key: str, kind: type, required: bool = False):
    value = props.get(key)
    if value is None:
        if required:
            raise Invalid(f"properties.{key} is required")
        return None
    if not isinstance(value, kind):
        raise Invalid(f"properties.{key}: expected {_TYPE_NAMES[kind]}, got {json.dumps(value)[:80]}")
    return value


_TYPE_NAMES = {str: "a string", dict: "an object", bool: "true or false", list: "an array"}


def check_map(props: dict, key: str, numbers: bool = False) -> None:
    """A map of strings; with `numbers`, a number is read as its text, as the service reads the asset properties
    azure-ai-ml sends (a code version's `hash_version` is a number)."""
    value = check(props, key, dict)
    value = {k: json.dumps(v) if numbers and isinstance(v, (int, float)) and not isinstance(v, bool) else v
             for k, v in (value or {}).items()}
    bad = [k for k, v in value.items() if not isinstance(v, str)]
    if bad:
        raise Invalid(f"properties.{key}.{bad[0]}: expected a string value")
    props[key] = value or {}


def check_enum(props: dict, key: str, allowed: tuple[str, ...], required: bool = False, default: str | None = None,
                where: str = "properties") -> None:
    value = props.get(key)
    if value is None:
        if required:
            raise Invalid(f"{where}.{key} is required (one of {', '.join(allowed)})")
        if default is not None:
            props[key] = default
        return
    canonical = {a.lower(): a for a in allowed}.get(value.lower()) if isinstance(value, str) else None
    if canonical is None:
        raise Invalid(f"{where}.{key}: {json.dumps(value)[:80]} is not one of {', '.join(allowed)}")
    props[key] = canonical


def base(props: dict, flags: tuple[str, ...] = ()) -> dict:
    """ResourceBase: drop nulls and read-only fields, check description/tags/properties and boolean `flags`."""
    props = {k: v for k, v in props.items() if v is not None and k not in _READ_ONLY}
    check(props, "description", str)
    check_map(props, "tags")
    check_map(props, "properties", numbers=True)
    for flag in flags:
        props[flag] = check(props, flag, bool) or False
    return props


def check_code(props):
    check(props, "codeUri", str)


def check_data(props):
    check_enum(props, "dataType", DATA_TYPES, required=True)
    check(props, "dataUri", str, required=True)
    check(props, "referencedUris", list)


def check_environment(props):
    check_enum(props, "osType", ("Linux", "Windows"), default="Linux")
    check_enum(props, "autoRebuild", ("Disabled", "OnBaseImageUpdate"), default="Disabled")
    for key in ("image", "condaFile"):
        check(props, key, str)
    if props.get("condaFile"):
        from ..._yaml.document import alias_problem  # import budget: YAML only once an environment is checked
        problem = alias_problem(props["condaFile"])
        if problem:
            raise Invalid(f"properties.condaFile: {problem}")
    build = check(props, "build", dict)
    if build is not None and not isinstance(build.get("contextUri"), str):
        raise Invalid("properties.build.contextUri is required (a string)")
    if not props.get("image") and build is None:
        raise Invalid("an environment needs properties.image or properties.build")


def check_model(props):
    for key in ("modelUri", "modelType", "jobName", "stage"):
        check(props, key, str)
    check(props, "flavors", dict)
    if props.get("flavors") is None:  # clients read the flavors of every model version: none is an empty map
        props["flavors"] = {}


def check_component(props):
    spec = check(props, "componentSpec", dict, required=True)
    if spec.get("type") == "pipeline":
        check_nodes(spec.get("jobs"), "properties.componentSpec.jobs")


def check_nodes(jobs, where: str) -> None:
    """A pipeline's `jobs`: nodes of a known type, each naming its component version."""
    if jobs is None:
        return
    if not isinstance(jobs, dict):
        raise Invalid(f"{where}: expected an object")
    for name, node in jobs.items():
        if not isinstance(node, dict):
            raise Invalid(f"{where}.{name}: expected an object")
        kind = node.get("type", "command")
        if kind not in NODE_TYPES:
            raise Invalid(f"{where}.{name}.type: {json.dumps(kind)[:80]} is not one of {', '.join(NODE_TYPES)}")
        ref = (node.get("trial") or {}).get("componentId") if kind == "sweep" else node.get("componentId")
        if not isinstance(ref, str) or not ref:
            field = "trial.componentId" if kind == "sweep" else "componentId"
            raise Invalid(f"{where}.{name}.{field} is required (the ARM id of a component version)")


def datastore_props(props: dict) -> tuple[dict, dict | None]:
    """Checked datastore properties and the secret values apart (None: none sent, keep the stored ones)."""
    props = base(props)
    check_enum(props, "datastoreType", _DATASTORE_TYPES, required=True)
    folder = (check(props, "properties", dict) or {}).get(LOCAL_FOLDER_PROPERTY)
    if folder is not None and not (isinstance(folder, str) and os.path.isabs(folder)):
        raise Invalid(f"properties.properties.{LOCAL_FOLDER_PROPERTY}: expected an absolute folder path")
    props["credentials"] = credentials = dict(check(props, "credentials", dict, required=True))
    check_enum(credentials, "credentialsType", _CREDENTIALS_TYPES, required=True, where="properties.credentials")
    secrets = credentials.get("secrets")
    if secrets is None:
        return props, None
    if not isinstance(secrets, dict):
        raise Invalid("properties.credentials.secrets: expected an object")
    secrets = dict(secrets)
    check_enum(secrets, "secretsType", _SECRETS_TYPES, required=True, where="properties.credentials.secrets")
    credentials["secrets"] = {"secretsType": secrets["secretsType"]}  # the values only through listSecrets
    if all(v is None for k, v in secrets.items() if k != "secretsType"):
        return props, None  # a GET body sent back
    return props, secrets


def check_job(props: dict, name: str, ignored: tuple[str, ...]) -> dict:
    """A job's checked properties: defaults filled, its `ignored` user properties (read-only ones) dropped."""
    props = base(props, ("isArchived",))
    props["properties"] = {k: v for k, v in props["properties"].items() if k not in ignored}
    check_enum(props, "jobType", tuple(JOB_REQUIRED), required=True)
    for key in JOB_REQUIRED[props["jobType"]]:
        if props.get(key) in (None, ""):
            raise Invalid(f"properties.{key} is required for a {props['jobType']} job")
    for key in ("command", "environmentId", "codeId", "computeId", "displayName", "experimentName"):
        check(props, key, str)
    _check_io(props, "inputs", "jobInputType")
    _check_io(props, "outputs", "jobOutputType")
    computes = {"properties.computeId": props.get("computeId")}
    if props["jobType"] == "Pipeline":
        computes["properties.settings.default_compute"] = (check(props, "settings", dict) or {}).get("default_compute")
        check_nodes(props.get("jobs"), "properties.jobs")
        computes.update((f"properties.jobs.{name}.computeId", node.get("computeId"))
                        for name, node in (props.get("jobs") or {}).items())
    for where, compute in computes.items():  # as azure-ai-ml sends an example's placeholder it loaded
        problem = isinstance(compute, str) and compute_placeholder_problem(compute.rstrip("/").rsplit("/", 1)[-1])
        if problem:
            raise Invalid(f"{where}: {problem}")
    if props["jobType"] == "Spark":
        problem = spark_unavailable()
        if problem:
            raise Invalid(problem)
    props.setdefault("experimentName", DEFAULT_EXPERIMENT)
    props.setdefault("displayName", name)
    return props


_IO_NAME = re.compile(r"[^/\\\x00-\x1f\x7f]+")  # it names a folder of the job's and of its datastore


def _check_io(props: dict, key: str, kind: str) -> None:
    """A job's `inputs` or `outputs` by name: objects with their type (`kind`: the spec's JobInput or JobOutput; a
    pipeline step's may be a type its component declares), or null (not given: left out)."""
    items = check(props, key, dict)
    if items is None:
        return
    checked = {}
    for name, item in items.items():
        where = f"properties.{key}.{name}"
        if not _IO_NAME.fullmatch(name) or name in (".", ".."):
            raise Invalid(f"properties.{key}: {json.dumps(name)[:80]} cannot name one of a job's {key} (it names a "
                          "folder: no '/', '\\', control characters, '.' or '..')")
        if item is None:
            continue
        if not isinstance(item, dict):
            raise Invalid(f"{where}: expected an object ({'JobInput' if key == 'inputs' else 'JobOutput'}), got "
                          f"{json.dumps(item)[:80]}")
        if item.get(kind) is None:
            raise Invalid(f"{where}.{kind} is required")
        for field in (kind, "uri", "mode"):
            if item.get(field) is not None and not isinstance(item[field], str):
                raise Invalid(f"{where}.{field}: expected a string, got {json.dumps(item[field])[:80]}")
        checked[name] = item
    props[key] = checked


def spark_unavailable() -> str | None:
    """Why this machine cannot run a spark job (pyspark or Java missing), in one line; None when it can."""
    if importlib.util.find_spec("pyspark") is None:
        return "spark jobs run here with pyspark, which is not installed: pip install 'azureml_v2[spark]'"
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and os.access(os.path.join(java_home, "bin", "java"), os.X_OK)) and not shutil.which("java"):
        return ("spark jobs run here on a Java runtime, and none is installed: install one (Debian, Ubuntu: "
                "apt-get install default-jre-headless) or set JAVA_HOME")
    return None


# -- endpoints and deployments (tracked resources: location, tags, identity, kind, sku around `properties`)
_ENDPOINT_READ_ONLY = ("provisioningState", "scoringUri", "swaggerUri")
_AUTH_MODES = ("AMLToken", "Key", "AADToken")
_IDENTITY_TYPES = ("None", "SystemAssigned", "UserAssigned", "SystemAssigned,UserAssigned")
# the spec's defaults, filled as the service fills them
_REQUEST_DEFAULTS = {"maxConcurrentRequestsPerInstance": 1, "maxQueueWait": "PT0.5S", "requestTimeout": "PT5S"}
_PROBE_DEFAULTS = {"failureThreshold": 30, "period": "PT10S", "successThreshold": 1, "timeout": "PT2S"}
_BATCH_DEFAULTS = {"errorThreshold": -1, "loggingLevel": "Info", "maxConcurrencyPerInstance": 1, "miniBatchSize": 10,
                   "outputAction": "AppendRow", "outputFileName": "predictions.csv"}
_RETRY_DEFAULTS = {"maxRetries": 3, "timeout": "PT30S"}
# what a PUT may not change on an existing deployment (the service refuses it: a new deployment is needed)
DEPLOYMENT_IMMUTABLE = ("properties.endpointComputeType", "properties.instanceType")


def _integer(obj: dict, key: str, where: str, low: int | None = None) -> None:
    value = obj.get(key)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or (low is not None and value < low):
        bound = f" >= {low}" if low is not None else ""
        raise Invalid(f"{where}.{key}: expected an integer{bound}, got {json.dumps(value)[:80]}")


def _duration(obj: dict, key: str, where: str) -> None:
    value = obj.get(key)
    if value is None:
        return
    if not isinstance(value, str) or not value.startswith("P"):
        raise Invalid(f"{where}.{key}: expected an ISO 8601 duration such as PT5S, got {json.dumps(value)[:80]}")
    try:
        seconds_from_iso(value)
    except (ValueError, OverflowError):
        raise Invalid(f"{where}.{key}: {value!r} is not an ISO 8601 duration") from None


def _object(obj: dict, key: str, where: str, defaults: dict | None = None) -> dict | None:
    value = obj.get(key)
    if value is None:
        if defaults is None:
            return None
        value = {}
    if not isinstance(value, dict):
        raise Invalid(f"{where}.{key}: expected an object")
    obj[key] = value = {**(defaults or {}), **{k: v for k, v in value.items() if v is not None}}
    return value


def identity_doc(identity) -> dict:
    """A resource's managed identity as a request sets it: its type and the ARM ids of its user-assigned identities.
    Their principal and client ids, like the system identity's, are the service's to fill: what a request says of
    them is dropped, never echoed."""
    if not isinstance(identity, dict):
        raise Invalid("identity: expected an object")
    check_enum(identity, "type", _IDENTITY_TYPES, required=True, where="identity")
    assigned = identity.get("userAssignedIdentities")
    if assigned is not None and not isinstance(assigned, dict):
        raise Invalid("identity.userAssignedIdentities: expected an object of ARM ids")
    out = {"type": identity["type"]}
    if assigned is not None:
        out["userAssignedIdentities"] = {arm_id: {} for arm_id in assigned}
    return out


def tracked(doc: dict) -> dict:
    """The envelope of a tracked resource (location, tags, identity, kind, sku), checked; `properties` as sent."""
    out = {k: doc[k] for k in ("location", "tags", "identity", "kind", "sku", "properties") if doc.get(k) is not None}
    location = out.get("location")
    if not isinstance(location, str) or not location:
        raise Invalid("location is required (a string: the workspace's region)")
    check_map(out, "tags")
    if not out["tags"]:
        del out["tags"]
    if "kind" in out and not isinstance(out["kind"], str):
        raise Invalid("kind: expected a string")
    if "identity" in out:
        out["identity"] = identity_doc(out["identity"])
    sku = out.get("sku")
    if sku is not None:
        if not isinstance(sku, dict) or not isinstance(sku.get("name"), str):
            raise Invalid("sku.name is required (a string)")
        _integer(sku, "capacity", "sku", 0)
    return out


def endpoint_props(kind: str, props: dict) -> dict:
    """An online or batch endpoint's checked properties (traffic is checked against its deployments apart)."""
    props = {k: v for k, v in props.items() if v is not None and k not in _ENDPOINT_READ_ONLY}
    check(props, "description", str)
    check_map(props, "properties")
    check_enum(props, "authMode", _AUTH_MODES, required=True)
    if kind == "batch" and props["authMode"] != "AADToken":
        raise Invalid(f"properties.authMode: a batch endpoint authenticates with AADToken only, not "
                      f"{props['authMode']}")
    keys = _object(props, "keys", "properties")
    if keys is not None:
        for key in ("primaryKey", "secondaryKey"):
            check(keys, key, str)
    if kind == "online":
        check(props, "compute", str)
        check_enum(props, "publicNetworkAccess", ("Enabled", "Disabled"), default="Enabled")
        for key in ("traffic", "mirrorTraffic"):
            shares = check(props, key, dict) or {}
            for name, share in shares.items():
                if isinstance(share, bool) or not isinstance(share, int) or not 0 <= share <= 100:
                    raise Invalid(f"properties.{key}.{name}: expected a percentage, an integer from 0 to 100")
            props[key] = shares
        if sum(props["traffic"].values()) not in (0, 100):
            raise Invalid(f"properties.traffic: the shares add up to {sum(props['traffic'].values())}; they must "
                          "add up to 100 (or all be 0)")
        if sum(props["mirrorTraffic"].values()) > 50:
            raise Invalid("properties.mirrorTraffic: at most 50 percent of the traffic can be mirrored")
        both = sorted(n for n, share in props["mirrorTraffic"].items() if share and props["traffic"].get(n))
        if both:
            raise Invalid(f"properties.mirrorTraffic: deployment {both[0]!r} takes live traffic; only a deployment "
                          "without live traffic can receive mirrored traffic")
    else:
        defaults = _object(props, "defaults", "properties")
        if defaults is not None:
            check(defaults, "deploymentName", str)
    return props


def _code_and_environment(props: dict) -> None:
    check(props, "description", str)
    check_map(props, "properties")
    check_map(props, "environmentVariables")
    check(props, "environmentId", str)
    code = _object(props, "codeConfiguration", "properties")
    if code is not None:
        check(code, "codeId", str)
        if not isinstance(code.get("scoringScript"), str) or not code["scoringScript"]:
            raise Invalid("properties.codeConfiguration.scoringScript is required (a file of the code)")
        if not props.get("environmentId"):
            raise Invalid("properties.environmentId is required with a scoring script: a deployment with code "
                          "needs an environment to run it in")


def online_deployment_props(props: dict) -> dict:
    props = {k: v for k, v in props.items() if v is not None and k != "provisioningState"}
    check_enum(props, "endpointComputeType", ("Managed", "Kubernetes", "AzureMLCompute"), required=True)
    _code_and_environment(props)
    for key in ("model", "modelMountPath", "instanceType"):
        check(props, key, str)
    if not props.get("model") and not props.get("environmentId"):
        raise Invalid("properties.model is required: a deployment serves a model (or an environment that holds one)")
    props["appInsightsEnabled"] = check(props, "appInsightsEnabled", bool) or False
    check_enum(props, "egressPublicNetworkAccess", ("Enabled", "Disabled"), default="Enabled")
    settings = _object(props, "requestSettings", "properties", _REQUEST_DEFAULTS)
    _integer(settings, "maxConcurrentRequestsPerInstance", "properties.requestSettings", 1)
    for key in ("maxQueueWait", "requestTimeout"):
        _duration(settings, key, "properties.requestSettings")
    for probe in ("livenessProbe", "readinessProbe"):
        values = _object(props, probe, "properties", _PROBE_DEFAULTS)
        for key in ("failureThreshold", "successThreshold"):
            _integer(values, key, f"properties.{probe}", 1)
        for key in ("initialDelay", "period", "timeout"):
            _duration(values, key, f"properties.{probe}")
    scale = _object(props, "scaleSettings", "properties", {"scaleType": "Default"})
    check_enum(scale, "scaleType", ("Default", "TargetUtilization"), required=True, where="properties.scaleSettings")
    if scale["scaleType"] == "TargetUtilization":
        for key, low in (("minInstances", 0), ("maxInstances", 1), ("targetUtilizationPercentage", 1)):
            _integer(scale, key, "properties.scaleSettings", low)
        _duration(scale, "pollingInterval", "properties.scaleSettings")
    check(props, "dataCollector", dict)
    check(props, "containerResourceRequirements", dict)
    return props


def batch_deployment_props(props: dict) -> dict:
    props = {k: v for k, v in props.items() if v is not None and k != "provisioningState"}
    _code_and_environment(props)
    check(props, "compute", str)
    for key, value in _BATCH_DEFAULTS.items():
        props.setdefault(key, value)
    _integer(props, "errorThreshold", "properties", -1)
    _integer(props, "maxConcurrencyPerInstance", "properties", 1)
    _integer(props, "miniBatchSize", "properties", 1)
    check_enum(props, "loggingLevel", ("Info", "Warning", "Debug"))
    check_enum(props, "outputAction", ("SummaryOnly", "AppendRow"))
    check(props, "outputFileName", str)
    retry = _object(props, "retrySettings", "properties", _RETRY_DEFAULTS)
    _integer(retry, "maxRetries", "properties.retrySettings", 0)
    _duration(retry, "timeout", "properties.retrySettings")
    resources = _object(props, "resources", "properties", {"instanceCount": 1})
    _integer(resources, "instanceCount", "properties.resources", 1)
    check(resources, "instanceType", str)
    model = _object(props, "model", "properties")
    if model is not None:
        check_enum(model, "referenceType", ("Id", "DataPath", "OutputPath"), required=True, where="properties.model")
        if model["referenceType"] == "Id" and not isinstance(model.get("assetId"), str):
            raise Invalid("properties.model.assetId is required (the model version's ARM id)")
    config = _object(props, "deploymentConfiguration", "properties")
    if config is not None:
        check_enum(config, "deploymentConfigurationType", ("PipelineComponent", "Model"), required=True,
                   where="properties.deploymentConfiguration")
        component = config.get("componentId")
        if config["deploymentConfigurationType"] == "PipelineComponent" and (
                not isinstance(component, dict) or not isinstance(component.get("assetId"), str)):
            raise Invalid("properties.deploymentConfiguration.componentId.assetId is required (the pipeline "
                          "component version's ARM id)")
    if model is None and config is None:
        raise Invalid("properties.model is required (or a PipelineComponent deploymentConfiguration)")
    return props


_ENDPOINT_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]")


def check_endpoint_name(kind: str, name: str) -> None:
    """Endpoint names become host names on Azure ML: 3 to 32 letters, digits and '-', from a letter."""
    if not _ENDPOINT_NAME.fullmatch(name):
        raise Invalid(f"invalid {kind} endpoint name {name!r}: use 3 to 32 letters, digits and '-', starting with a "
                      "letter and not ending with '-'")


# -- computes
COMPUTE_TYPES = ("AmlCompute", "ComputeInstance", "Kubernetes", "VirtualMachine", "SynapseSpark")
_ATTACHED_TYPES = ("Kubernetes", "VirtualMachine", "SynapseSpark")
# What a compute PUT may set, by level (the service keeps these and ignores the rest, read-only fields included)
_COMPUTE_KEYS = ("computeType", "computeLocation", "description", "resourceId", "disableLocalAuth", "properties")
_OWN_KEYS = {
    "AmlCompute": ("osType", "vmSize", "vmPriority", "virtualMachineImage", "isolatedNetwork", "scaleSettings",
                   "userAccountCredentials", "subnet", "remoteLoginPortPublicAccess", "enableNodePublicIp",
                   "propertyBag"),
    "ComputeInstance": ("vmSize", "subnet", "applicationSharingPolicy", "sshSettings", "customServices",
                        "computeInstanceAuthorizationType", "personalComputeInstanceSettings", "setupScripts",
                        "schedules", "enableNodePublicIp"),
    "Kubernetes": ("relayConnectionString", "serviceBusConnectionString", "extensionPrincipalId",
                   "extensionInstanceReleaseTrain", "vcName", "namespace", "defaultInstanceType", "instanceTypes"),
    "VirtualMachine": ("virtualMachineSize", "sshPort", "notebookServerPort", "address", "administratorAccount",
                       "isNotebookInstanceCompute"),
    "SynapseSpark": ("autoScaleProperties", "autoPauseProperties", "sparkVersion", "nodeCount", "nodeSize",
                     "nodeSizeFamily", "subscriptionId", "resourceGroup", "workspaceName", "poolName"),
}
_SCALE_KEYS = ("maxNodeCount", "minNodeCount", "nodeIdleTimeBeforeScaleDown")
_SKU_KEYS = ("name", "tier", "size", "family", "capacity")


def _known(obj: dict, keys: tuple[str, ...]) -> dict:
    return {k: v for k, v in obj.items() if k in keys and v is not None}


def compute_doc(doc: dict) -> dict:
    """A compute PUT's resource (location, tags, identity, sku around `properties`), checked; what the API does not
    define (read-only fields among them) is dropped.

    The local workspace honours clusters (AmlCompute) and records the others; types it cannot stand for (AKS,
    Databricks, ...) are refused."""
    out = _known(doc, ("location", "tags", "identity", "sku", "properties"))
    if "location" in out and not isinstance(out["location"], str):
        raise Invalid("location: expected a string")
    check_map(out, "tags")
    if not out["tags"]:
        del out["tags"]
    if "identity" in out:
        out["identity"] = identity_doc(out["identity"])
    sku = _object(out, "sku", "sku")
    if sku is not None:
        out["sku"] = _known(sku, _SKU_KEYS)
    props = _known(out["properties"], _COMPUTE_KEYS)
    check_enum(props, "computeType", COMPUTE_TYPES, required=True)
    kind = props["computeType"]
    check(props, "description", str)
    check(props, "computeLocation", str)
    check(props, "disableLocalAuth", bool)
    check(props, "resourceId", str, required=kind in _ATTACHED_TYPES)
    own = _object(props, "properties", "properties.properties")
    if own is not None:
        props["properties"] = own = _known(own, _OWN_KEYS[kind])
    if kind == "AmlCompute":
        where = "properties.properties.scaleSettings"
        scale = _object(props.setdefault("properties", {}), "scaleSettings", "properties.properties", {})
        props["properties"]["scaleSettings"] = scale = _known(scale, _SCALE_KEYS)
        if "maxNodeCount" not in scale:
            raise Invalid(f"{where}.maxNodeCount is required")
        _integer(scale, "maxNodeCount", where, 1)
        _integer(scale, "minNodeCount", where, 0)
        _duration(scale, "nodeIdleTimeBeforeScaleDown", where)
        if scale.get("minNodeCount", 0) > scale["maxNodeCount"]:
            raise Invalid(f"{where}: minNodeCount {scale['minNodeCount']} is more than maxNodeCount "
                          f"{scale['maxNodeCount']}")
    out["properties"] = props
    return out
