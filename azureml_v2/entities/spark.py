"""Spark jobs, spark components and spark pipeline nodes: a Python file (or a JVM class) run by spark-submit with
its py_files, jars, files, archives and conf; their REST forms (api-version 2024-04-01, `SparkJob`) and the checks
Azure ML makes before it takes one."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .._contract import to_arm
from ._rest import compact, str_map
from .inputs import LITERAL_TYPES, Input, Output
from .job import Job, code_ref, environment_to_rest_id, identity_to_rest
from .pipeline import Node, _Component, _snake, node_for

# the VM sizes serverless Spark offers (azure-ai-ml refuses others before sending)
INSTANCE_TYPES = ("standard_e4s_v3", "standard_e8s_v3", "standard_e16s_v3", "standard_e32s_v3", "standard_e64s_v3")
ENTRY_TYPES = {"file": ("SparkJobPythonEntry", "file"), "class_name": ("SparkJobScalaEntry", "className")}
_SIZES = ("spark.driver.cores", "spark.driver.memory", "spark.executor.cores", "spark.executor.memory")
_INSTANCES = "spark.executor.instances"
_DYNAMIC = "spark.dynamicAllocation.enabled"
_MIN, _MAX = "spark.dynamicAllocation.minExecutors", "spark.dynamicAllocation.maxExecutors"


@dataclass(kw_only=True)
class SparkJobEntry:
    """What spark-submit runs: a Python `file` of the code, or the JVM `class_name` of one of its jars."""

    file: str | None = None
    class_name: str | None = None


def entry_to_rest(entry: SparkJobEntry | None) -> dict | None:
    if entry is None:
        return None
    if entry.class_name is not None:
        return {"sparkJobEntryType": "SparkJobScalaEntry", "className": entry.class_name}
    return {"sparkJobEntryType": "SparkJobPythonEntry", "file": entry.file}


def entry_from_rest(body: dict | None) -> SparkJobEntry | None:
    if not body:
        return None
    if body.get("sparkJobEntryType", body.get("spark_job_entry_type")) == "SparkJobScalaEntry":
        return SparkJobEntry(class_name=body.get("className", body.get("class_name")))
    return SparkJobEntry(file=body.get("file"))


@dataclass(kw_only=True)
class SparkResourceConfiguration:
    """Serverless Spark: the VM size of its nodes and the Spark runtime (`3.4`)."""

    instance_type: str | None = None
    runtime_version: str | None = None


def resources_to_rest(r: SparkResourceConfiguration | None) -> dict | None:
    if r is None:
        return None
    return compact({"instanceType": r.instance_type, "runtimeVersion": r.runtime_version})


def resources_from_rest(body: dict | None) -> SparkResourceConfiguration | None:
    if not body:
        return None
    return SparkResourceConfiguration(instance_type=body.get("instanceType", body.get("instance_type")),
                          runtime_version=body.get("runtimeVersion", body.get("runtime_version")))


def conf_to_rest(conf: dict | None) -> dict | None:
    """Spark properties are strings on the wire (`True` and `2` as Python writes them, as azure-ai-ml sends)."""
    return {k: str(v) for k, v in conf.items() if v is not None} if conf is not None else None


def conf_from_rest(conf: dict | None) -> dict | None:
    """The wire's strings typed again as YAML writes them: `2` -> 2, `True` -> true."""
    if not conf:
        return None
    def typed(value):
        if isinstance(value, str) and value.isdigit():
            return int(value)
        return {"True": True, "False": False}.get(value, value) if isinstance(value, str) else value
    return {k: typed(v) for k, v in conf.items()}


@dataclass(kw_only=True)
class _SparkSettings:
    """What spark jobs, spark components and spark nodes share: the application and how Spark runs it."""

    code: str | None = None
    entry: SparkJobEntry | None = None
    py_files: list[str] | None = None
    jars: list[str] | None = None
    files: list[str] | None = None
    archives: list[str] | None = None
    conf: dict[str, Any] | None = None
    args: str | None = None  # with ${{inputs.x}} and ${{outputs.y}}
    environment: Any = None  # a reference string or an inline Environment


def _is_true(value) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def conf_problems(conf: dict | None) -> list[tuple[tuple, str]]:
    """The driver and executor settings Azure ML needs in `conf`, as azure-ai-ml checks them before sending."""
    conf = conf or {}
    missing = [k for k in _SIZES if conf.get(k) is None]
    if not _is_true(conf.get(_DYNAMIC)):
        missing += [_INSTANCES] if conf.get(_INSTANCES) is None else []
        if missing:
            return [(("conf",), f"required: {', '.join(missing)} (the driver's and executors' sizes)")]
        given = [k for k in (_MIN, _MAX) if conf.get(k) is not None]
        return [(("conf", given[0]), f"{given[0]} is only taken when {_DYNAMIC} is true")] if given else []
    if missing:
        return [(("conf",), f"required: {', '.join(missing)} (the driver's and executors' sizes)")]
    low, high = conf.get(_MIN), conf.get(_MAX)
    if low is None or high is None:
        return [(("conf",), f"required with {_DYNAMIC}: {_MIN} and {_MAX}")]
    numbers = {k: v for k, v in ((_MIN, low), (_MAX, high), (_INSTANCES, conf.get(_INSTANCES)))
               if v is not None and not (isinstance(v, int) and not isinstance(v, bool))}
    if numbers:
        key = next(iter(numbers))
        return [(("conf", key), f"expected a whole number of executors, got {numbers[key]!r}")]
    if not 0 < low <= high:
        return [(("conf", _MIN), f"expected 0 < {_MIN} <= {_MAX}, got {low} and {high}")]
    instances = conf.get(_INSTANCES)
    if instances is not None and not low <= instances <= high:
        return [(("conf", _INSTANCES), f"expected between {_MIN} ({low}) and {_MAX} ({high}), got {instances}")]
    return []


def mode_problems(ports: dict | None, root: str) -> list[tuple[tuple, str]]:
    """Spark reads and writes its data itself: a data input or output given a mode must be `direct`."""
    problems = []
    for key, value in (ports or {}).items():
        if isinstance(value, (Input, Output)) and value.type not in LITERAL_TYPES and value.mode not in (None,
                                                                                                        "direct"):
            problems.append(((root, key, "mode"), f"{value.mode} is not taken by a spark job: Spark reads and "
                                                  "writes the data itself (mode: direct)"))
    return problems


def default_identity(compute: str | None, resources) -> dict | None:
    """The identity a spark job or step given none runs as, as azure-ai-ml sends it (the spec's default, AmlToken,
    is not one Spark takes): an attached Synapse pool's managed identity, else on serverless Spark the user who
    submits."""
    if compute is not None:
        return {"identityType": "Managed"}
    return {"identityType": "UserIdentity"} if resources is not None else None


@dataclass(kw_only=True)
class SparkJob(Job, _SparkSettings):
    """A Spark application run once: on serverless Spark (`resources`), an attached Synapse pool (`compute`), or
    locally by spark-submit."""

    type: ClassVar[str] = "spark"
    resources: SparkResourceConfiguration | None = None
    environment_variables: dict[str, Any] | None = None

    def _rest(self, scope: str) -> dict:
        props = compact({
            **self._job_rest("Spark", scope),
            "codeId": to_arm(self.code, "codes", scope),
            "entry": entry_to_rest(self.entry),
            "pyFiles": self.py_files, "jars": self.jars, "files": self.files, "archives": self.archives,
            "conf": conf_to_rest(self.conf),
            "args": self.args,
            "environmentId": environment_to_rest_id(self.environment, scope),
            "environmentVariables": str_map(self.environment_variables),
            "resources": resources_to_rest(self.resources),
        })
        props.setdefault("identity", default_identity(self.compute, self.resources) or {"identityType": "UserIdentity"})
        return {"properties": props}

    @classmethod
    def _from_rest(cls, resource: dict) -> "SparkJob":
        props = resource.get("properties", {})
        return cls(**cls._job_fields(resource), code=code_ref(props.get("codeId")),
                   entry=entry_from_rest(props.get("entry")), py_files=props.get("pyFiles"),
                   jars=props.get("jars"), files=props.get("files"), archives=props.get("archives"),
                   conf=conf_from_rest(props.get("conf")), args=props.get("args"),
                   environment=props.get("environmentId"),
                   environment_variables=props.get("environmentVariables") or None,
                   resources=resources_from_rest(props.get("resources")))


@dataclass(kw_only=True)
class SparkComponent(_Component, _SparkSettings):
    """A reusable Spark application with declared inputs and outputs, run as a pipeline's spark node."""

    type: ClassVar[str] = "spark"
    _SCHEMA: ClassVar = ("spark", "SparkComponentSchema")
    display_name: str | None = None
    inputs: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None
    is_deterministic: bool | None = None
    additional_includes: list[str] | None = None  # files and folders added to the code snapshot on upload

    def __call__(self, **inputs) -> "Spark":
        """A pipeline node running this component with these inputs (values, Input data, other nodes' outputs)."""
        return node_for(self, inputs, Spark)

    def _spec(self, scope: str) -> dict:
        spec = super()._spec(scope)
        spec.pop("additional_includes", None)  # in the uploaded snapshot, not in the spec
        if self.code is not None:
            spec["code"] = code_ref(to_arm(self.code, "codes", scope))
        if self.environment is not None:
            spec["environment"] = code_ref(environment_to_rest_id(self.environment, scope))
        return spec


@dataclass(kw_only=True)
class Spark(Node):
    """A spark component's step; its own resources (serverless) or compute (a Synapse pool), identity, conf and
    args (which override the component's)."""

    type: ClassVar[str] = "spark"
    resources: SparkResourceConfiguration | None = None
    identity: Any = None
    conf: dict[str, Any] | None = None
    args: str | None = None

    def _own_rest(self, scope: str) -> dict:
        identity = identity_to_rest(self.identity) or default_identity(self.compute, self.resources)
        return {"resources": compact({"instance_type": self.resources.instance_type,
                                      "runtime_version": self.resources.runtime_version})
                if self.resources is not None else None,
                "identity": _snake(identity) if identity is not None else None,
                "conf": conf_to_rest(self.conf), "args": self.args}
