"""Command components: a reusable, versioned command with declared inputs and outputs."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ._base import Asset
from .._contract import to_arm
from ._rest import compact, keep_service_state, name_version_from_id, service_state, str_map
from .inputs import spec_inputs_from_rest, spec_inputs_to_rest
from .job import Distribution, JobResources, code_ref, environment_to_rest_id
from .pipeline import Command, node_for, node_to_yaml




@dataclass(kw_only=True)
class CommandComponent(Asset):
    """A command with typed input declarations (type, default, optional, min/max, enum) and outputs.

    On the wire its `componentSpec` is the component's YAML-shaped mapping, as Azure ML
    sends it, with code and environment as `azureml:` ARM ids.
    """

    type: ClassVar[str] = "command"
    display_name: str | None = None
    command: str | None = None
    code: str | None = None
    environment: Any = None  # a reference string or an inline Environment
    inputs: dict[str, Any] | None = None  # name -> Input declaration
    outputs: dict[str, Any] | None = None
    distribution: Distribution | None = None
    resources: JobResources | None = None
    is_deterministic: bool | None = None
    additional_includes: list[str] | None = None  # files and folders added to the code snapshot on upload

    def __call__(self, **inputs) -> Command:
        """A pipeline node running this component with these inputs (values, Input data, other nodes' outputs)."""
        return node_for(self, inputs)

    def _rest(self, scope: str) -> dict:
        from .._yaml.api import _schema  # import budget: entities load without YAML or marshmallow
        spec = _schema("jobs", "CommandComponentSchema").dump(self)
        spec["type"] = "command"
        spec.pop("additional_includes", None)  # in the uploaded snapshot, not in the spec
        if "inputs" in spec:
            spec["inputs"] = spec_inputs_to_rest(spec["inputs"])
        if self.code is not None:
            spec["code"] = code_ref(to_arm(self.code, "codes", scope))
        spec["environment"] = code_ref(environment_to_rest_id(self.environment, scope))
        return {"properties": compact({**service_state(self), "description": self.description,
                                       "tags": str_map(self.tags),
                                       "properties": str_map(self.properties), "componentSpec": spec})}

    @classmethod
    def _from_rest(cls, resource: dict) -> "CommandComponent":
        return component_from_rest(resource)


# componentSpec type -> the schema that reads it (module under _yaml, schema name)
_SPEC_SCHEMAS = {"command": ("jobs", "CommandComponentSchema"), "pipeline": ("pipelines", "PipelineComponentSchema"),
                 "parallel": ("pipelines", "ParallelComponentSchema"), "spark": ("spark", "SparkComponentSchema")}


def component_from_rest(resource: dict):
    """A component version's entity, by the type of its `componentSpec` (command, pipeline or parallel)."""
    from .._yaml.api import _schema  # import budget: as in CommandComponent._rest
    props = resource.get("properties", {})
    spec = dict(props.get("componentSpec") or {})
    kind = spec.get("type", "command")
    if kind not in _SPEC_SCHEMAS:
        raise ValueError(f"unknown component type {kind!r}")
    schema = _schema(*_SPEC_SCHEMAS[kind])
    known = {f.data_key or name for name, f in schema.fields.items()}
    spec = {k: v for k, v in spec.items() if k in known}  # drop server extras
    name, version = name_version_from_id(resource)
    if "inputs" in spec:
        spec["inputs"] = spec_inputs_from_rest(spec["inputs"])
    if kind == "pipeline":
        spec["jobs"] = {n: node_to_yaml(body) for n, body in (spec.get("jobs") or {}).items()}
    spec.setdefault("name", name)
    if version is not None:
        spec.setdefault("version", version)
    component = schema.load(spec)
    component.description = props.get("description", component.description)
    component.tags = props.get("tags") or component.tags
    component.properties = props.get("properties") or None
    return keep_service_state(component, resource)
