"""Pipeline jobs and the components they compose: nodes (command, sweep, parallel, pipeline), pipeline and
parallel components, the checks across a pipeline's graph, and their REST forms as azure-ai-ml sends them
(docs/architecture.md, "Pipeline jobs on the wire")."""
from __future__ import annotations

import contextvars
import graphlib
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .._contract import MODEL_TYPES, binding, binding_problem, iso_from_seconds, placeholders, to_arm
from ..exceptions import Problem, ValidationError, suggest
from ._base import Asset
from ._rest import compact, service_state, str_map
from .inputs import _MODE_REST, LITERAL_TYPES, Input, Output, literal, literal_problem, spec_inputs_to_rest
from .job import (SERVICE_TYPES, CommandJobLimits, Distribution, Job, JobResources, JobService, code_ref,
                  compute_to_rest_id, distribution_to_rest, environment_to_rest_id, services_to_rest)
from .sweep import (EarlyTerminationPolicy, Objective, SamplingAlgorithm, SweepDistribution, SweepJobLimits,
                    sweep_problems)

ANONYMOUS_COMPONENT = "azureml_anonymous"  # the name of every anonymous component version, as azure-ai-ml uses


# -- components ----------------------------------------------------------------------------
@dataclass(kw_only=True)
class RetrySettings:
    """How often a failed mini-batch is tried again, and the seconds one may take."""

    max_retries: int | None = None
    timeout: int | None = None


@dataclass(kw_only=True)
class ParallelTask:
    """What each worker runs: `entry_script`'s init() once, then run(mini_batch) per mini-batch."""

    type: str = "run_function"
    code: str | None = None
    entry_script: str | None = None
    environment: Any = None  # a reference string or an inline Environment
    program_arguments: str | None = None
    append_row_to: str | None = None  # `${{outputs.<name>}}`: the rows run() returns are appended there


@dataclass(kw_only=True)
class _ParallelSettings:
    """How a parallel step runs: declared on its component, overridden on its node."""

    input_data: str | None = None  # `${{inputs.<name>}}`
    mini_batch_size: str | int | None = None
    mini_batch_error_threshold: int | None = None
    error_threshold: int | None = None
    max_concurrency_per_instance: int | None = None
    logging_level: str | None = None
    retry_settings: RetrySettings | None = None
    resources: JobResources | None = None
    environment_variables: dict[str, Any] | None = None


class _Component(Asset):
    """What pipeline and parallel components share with command ones: a YAML-shaped `componentSpec`."""

    _SCHEMA: ClassVar[tuple[str, str]]

    def _spec(self, scope: str) -> dict:
        from .._yaml.api import _schema  # import budget: entities load without YAML or marshmallow
        spec = _schema(*self._SCHEMA).dump(self)
        if "inputs" in spec:
            spec["inputs"] = spec_inputs_to_rest(spec["inputs"])
        return spec

    def _rest(self, scope: str) -> dict:
        return {"properties": compact({**service_state(self), "description": self.description,
                                       "tags": str_map(self.tags), "properties": str_map(self.properties),
                                       "componentSpec": self._spec(scope)})}


@dataclass(kw_only=True)
class ParallelComponent(_Component, _ParallelSettings):
    """A script run over `input_data` split into mini-batches by `max_concurrency_per_instance` workers per
    instance; a mini-batch is a number of files (uri_folder) or an amount of rows (`10kb`, mltable)."""

    type: ClassVar[str] = "parallel"
    _SCHEMA: ClassVar = ("pipelines", "ParallelComponentSchema")
    display_name: str | None = None
    inputs: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None
    task: ParallelTask | None = None
    is_deterministic: bool | None = None

    def __call__(self, **inputs) -> "Parallel":
        """A pipeline node running this component with these inputs (values, Input data, other nodes' outputs)."""
        return node_for(self, inputs)

    def _spec(self, scope: str) -> dict:
        spec = super()._spec(scope)
        task = self.task
        if task is not None:
            spec["task"] = compact({**spec["task"], "code": code_ref(to_arm(task.code, "codes", scope)),
                                    "environment": code_ref(environment_to_rest_id(task.environment, scope))})
        return spec


@dataclass(kw_only=True)
class PipelineComponent(_Component):
    """A pipeline with declared inputs and outputs, reusable as a node of other pipelines."""

    type: ClassVar[str] = "pipeline"
    _SCHEMA: ClassVar = ("pipelines", "PipelineComponentSchema")
    display_name: str | None = None
    inputs: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None
    jobs: dict[str, "Node"] = field(default_factory=dict)

    def __call__(self, **inputs) -> "Pipeline":
        """A pipeline node running this component with these inputs (values, Input data, other nodes' outputs)."""
        return node_for(self, inputs)

    def _spec(self, scope: str) -> dict:
        spec = super()._spec(scope)
        spec["jobs"] = nodes_to_rest(self.jobs, scope)
        return spec

    def validate(self) -> None:
        """Raise ValidationError, one line per problem naming the node, if the graph is not sound."""
        _raise(graph_problems(self.jobs, self.inputs, self.outputs, declared=True), self)


def registered(component) -> bool:
    """Whether `component` was read from the service (components.get): a node names that version as it is."""
    return getattr(component, "_kept", None) is not None and bool(component.name and component.version)


def component_to_rest_id(component, scope: str) -> str | None:
    """A reference, or a component read from the service -> its ARM id; another component object -> the id of
    its anonymous version, named as azure-ai-ml names them: the UUID form of the MD5 of its spec (sorted JSON) without name and version. The same inline
    component always maps to the same id, and the operations layer creates it under that id first."""
    if component is None or isinstance(component, str):
        return to_arm(component, "components", scope)
    if registered(component):
        return f"{scope}/components/{component.name}/versions/{component.version}"
    spec = {k: v for k, v in component._rest(scope)["properties"]["componentSpec"].items()
            if k not in ("name", "version")}
    digest = hashlib.md5(json.dumps(spec, sort_keys=True).encode(), usedforsecurity=False).hexdigest()
    return f"{scope}/components/{ANONYMOUS_COMPONENT}/versions/{uuid.UUID(digest)}"


def _component_id(component, scope: str, ids: dict) -> str | None:
    if component is None or isinstance(component, str):
        return to_arm(component, "components", scope)
    if id(component) not in ids:  # a component many nodes share is hashed once
        ids[id(component)] = component_to_rest_id(component, scope)
    return ids[id(component)]


def nodes_to_rest(jobs: dict, scope: str) -> dict:
    ids: dict = {}
    return {name: node._node_rest(name, scope, ids) for name, node in jobs.items()}


# -- nodes made by calling a component -------------------------------------------------------
# The nodes made while a pipeline function runs (azureml_v2.dsl.pipeline sets the list); None outside one.
BUILDING: contextvars.ContextVar[list | None] = contextvars.ContextVar("azureml_v2_pipeline_nodes", default=None)


class NodeOutput:
    """An output of a node of a pipeline being built: passed as another node's input, or returned as one of the
    pipeline's outputs. It becomes `${{parent.jobs.<node>.outputs.<name>}}` once the nodes are named."""

    def __init__(self, node: "Node", name: str):
        self.node, self.name = node, name

    def __repr__(self) -> str:
        return f"<output {self.name!r} of a {self.node.type} node>"


class NodeOutputs(dict):
    """A node's outputs while its pipeline is built: `node.outputs.model` is that output (a NodeOutput); the
    mapping holds the outputs given settings."""

    def __init__(self, node: "Node", declared):
        super().__init__()
        self._node, self._declared = node, tuple(declared or ())

    def __getattr__(self, name: str) -> NodeOutput:
        if name.startswith("_") or name not in self._declared:
            raise AttributeError(f"the component has no output named {name!r} (outputs: "
                                 f"{', '.join(self._declared) or 'none'})")
        return NodeOutput(self._node, name)


def node_for(component, inputs: dict, cls: type | None = None):
    """A node (of class `cls`, by default the one of the component's type) running `component` with `inputs`,
    recorded in the pipeline being built (see BUILDING)."""
    declared = component.inputs or {}
    unknown = [key for key in inputs if key not in declared]
    if unknown:
        raise ValidationError(f"{component.name or 'the component'}() got an unexpected input {unknown[0]!r} "
                              f"(inputs: {', '.join(declared) or 'none'})" + suggest(unknown[0], declared))
    given = {k: v for k, v in inputs.items() if v is not None}
    node = (cls or NODES[component.type])(component=component, inputs=given or None)
    node.outputs = NodeOutputs(node, component.outputs)
    building = BUILDING.get()
    if building is not None:
        building.append(node)
    return node


# -- nodes ---------------------------------------------------------------------------------
@dataclass(kw_only=True)
class Node:
    """A step of a pipeline: a component (an object, or a reference to a registered version) with its inputs
    (values, data, or `${{parent...}}` bindings) and outputs bound, and run settings of its own."""

    type: ClassVar[str]
    component: Any = None
    display_name: str | None = None
    description: str | None = None
    tags: dict[str, Any] | None = None
    properties: dict[str, Any] | None = None
    compute: str | None = None
    inputs: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None

    @property
    def interface(self):
        """The component whose declarations this node binds; None when it is a reference."""
        return None if isinstance(self.component, str) else self.component

    def _node_rest(self, name: str, scope: str, ids: dict) -> dict:
        """The node's REST form; `ids` keeps the anonymous ids of components already written."""
        return compact({"type": self.type, "name": name, "display_name": self.display_name,
                        "description": self.description, "tags": str_map(self.tags),
                        "properties": str_map(self.properties),
                        "componentId": _component_id(self.component, scope, ids),
                        "computeId": compute_to_rest_id(self.compute, scope),
                        "inputs": _node_inputs_rest(self.inputs, scope), "outputs": _node_outputs_rest(self.outputs),
                        **self._own_rest(scope)})

    def _own_rest(self, scope: str) -> dict:
        return {}


def _resources_rest(r: JobResources | None) -> dict | None:
    if r is None:
        return None
    return compact({"instance_count": r.instance_count, "instance_type": r.instance_type, "shm_size": r.shm_size,
                    "docker_args": r.docker_args, "properties": r.properties})


@dataclass(kw_only=True)
class Command(Node):
    """A command component's step, with its run settings."""

    type: ClassVar[str] = "command"
    resources: JobResources | None = None
    distribution: Distribution | None = None
    limits: CommandJobLimits | None = None
    environment_variables: dict[str, Any] | None = None
    services: dict[str, JobService] | None = None

    def sweep(self, *, primary_metric: str, goal: str, sampling_algorithm: str | SamplingAlgorithm = "random",
              compute: str | None = None, max_total_trials: int | None = None,
              max_concurrent_trials: int | None = None, timeout: int | float | None = None,
              trial_timeout: int | float | None = None, early_termination_policy: EarlyTerminationPolicy | None = None,
              search_space: dict[str, SweepDistribution] | None = None) -> "Sweep":
        """A sweep node over this node's component, in its place in the pipeline being built: inputs given
        distributions (`train(lr=Uniform(0.01, 0.1))`) and `search_space` form the search space; timeouts in
        seconds. Raises ValidationError, one line per problem, if Azure ML would refuse the sweep."""
        inputs = dict(self.inputs or {})
        space = {k: v for k, v in inputs.items() if isinstance(v, SweepDistribution)}
        space.update(search_space or {})
        limits = {"max_total_trials": max_total_trials, "max_concurrent_trials": max_concurrent_trials,
                  "timeout": timeout, "trial_timeout": trial_timeout}
        node = Sweep(trial=self.component, display_name=self.display_name, description=self.description,
                     tags=self.tags, properties=self.properties, compute=compute or self.compute,
                     inputs={k: v for k, v in inputs.items() if k not in space} or None,
                     search_space=space, sampling_algorithm=sampling_algorithm,
                     objective=Objective(goal=goal, primary_metric=primary_metric),
                     limits=SweepJobLimits(**limits) if any(v is not None for v in limits.values()) else None,
                     early_termination=early_termination_policy)
        problems = sweep_problems({**vars(node), "trial": None}, {})  # the trial is a checked component
        declared = self.component.inputs or {}
        problems += [(("search_space", key), f"the component has no input named {key!r}") for key in space
                     if key not in declared]
        _raise(problems, node)
        node.outputs = NodeOutputs(node, self.component.outputs) if isinstance(self.outputs, NodeOutputs) \
            else self.outputs
        building = BUILDING.get()
        for i, made in enumerate(building or ()):
            if made is self:
                building[i] = node
        return node

    def _own_rest(self, scope: str) -> dict:
        distribution = distribution_to_rest(self.distribution)
        services = services_to_rest(self.services)
        return {"resources": _resources_rest(self.resources),
                "distribution": _snake(distribution) if distribution else None,
                "limits": compact({"job_limits_type": "Command", "timeout": iso_from_seconds(self.limits.timeout)})
                if self.limits is not None else None,
                "environment_variables": str_map(self.environment_variables),
                "services": {name: _snake({**body, "nodes": _snake(body["nodes"]) if "nodes" in body else None})
                             for name, body in services.items()} if services is not None else None}


@dataclass(kw_only=True)
class Sweep(Node):
    """A sweep over a command component (its `trial`); `search_space` values fill the trial's inputs."""

    type: ClassVar[str] = "sweep"
    trial: Any = None  # a CommandComponent or a reference
    search_space: dict[str, SweepDistribution] | None = None
    sampling_algorithm: str | SamplingAlgorithm | None = None
    objective: Objective | None = None
    limits: SweepJobLimits | None = None
    early_termination: EarlyTerminationPolicy | None = None

    @property
    def interface(self):
        return None if isinstance(self.trial, str) else self.trial

    def _node_rest(self, name: str, scope: str, ids: dict) -> dict:
        from .._yaml.api import _schema  # import budget: as in _Component._spec
        body = super()._node_rest(name, scope, ids)
        yaml_form = _schema("pipelines", "SweepNodeSchema").dump(self)
        policy = self.early_termination
        body.update(compact({
            "trial": {"componentId": _component_id(self.trial, scope, ids)} if self.trial is not None else None,
            "search_space": yaml_form.get("search_space"), "sampling_algorithm": yaml_form.get("sampling_algorithm"),
            "objective": yaml_form.get("objective"), "limits": yaml_form.get("limits"),
            "early_termination": _snake(policy._to_rest()) if policy is not None else None}))
        return body


@dataclass(kw_only=True)
class Parallel(Node, _ParallelSettings):
    """A parallel component's step; the run settings given here override the component's."""

    type: ClassVar[str] = "parallel"

    def _own_rest(self, scope: str) -> dict:
        retry = self.retry_settings
        return {"resources": _resources_rest(self.resources),
                "environment_variables": str_map(self.environment_variables), "input_data": self.input_data,
                "mini_batch_size": None if self.mini_batch_size is None else literal(self.mini_batch_size),
                "mini_batch_error_threshold": self.mini_batch_error_threshold,
                "error_threshold": self.error_threshold,
                "max_concurrency_per_instance": self.max_concurrency_per_instance,
                "logging_level": self.logging_level,
                "retry_settings": compact({"max_retries": retry.max_retries, "timeout": retry.timeout})
                if retry is not None else None}


@dataclass(kw_only=True)
class Pipeline(Node):
    """A pipeline component's step."""

    type: ClassVar[str] = "pipeline"


NODES: dict[str, type[Node]] = {cls.type: cls for cls in (Command, Sweep, Parallel, Pipeline)}


def _snake(body: dict) -> dict:
    """`{"distributionType": "PyTorch"}` -> `{"distribution_type": "PyTorch"}`: node attributes are written with
    the REST model's attribute names."""
    return {"".join("_" + c.lower() if c.isupper() else c for c in key): value for key, value in body.items()}


def _node_inputs_rest(inputs: dict | None, scope: str) -> dict | None:
    if inputs is None:
        return None
    out = {}
    for key, value in inputs.items():
        if isinstance(value, Input) and value.type not in LITERAL_TYPES:
            kind = "models" if value.type in MODEL_TYPES else "data"  # `azureml:name:version` names either
            out[key] = compact({"job_input_type": value.type, "uri": to_arm(value.path, kind, scope),
                                "mode": _MODE_REST.get(value.mode)})
        else:  # a literal or a binding
            value = value.default if isinstance(value, Input) else value
            out[key] = {"job_input_type": "literal", "value": literal(value)}
    return out


def _node_outputs_rest(outputs: dict | None) -> dict | None:
    if outputs is None:
        return None
    out = {}
    for key, value in outputs.items():
        if isinstance(value, str):
            out[key] = {"type": "literal", "value": value}
            continue
        value = value if isinstance(value, Output) else Output()
        out[key] = compact({"job_output_type": value.type, "uri": value.path, "mode": _MODE_REST.get(value.mode),
                            "name": value.name, "version": value.version})
    return out


_MODE_YAML = {v: k for k, v in _MODE_REST.items()}
_SERVICE_YAML = {v: k for k, v in SERVICE_TYPES.items()}
_REST_TYPES = {"PyTorch": "pytorch", "Mpi": "mpi", "TensorFlow": "tensorflow",
               "Bandit": "bandit", "MedianStopping": "median_stopping", "TruncationSelection": "truncation_selection"}


def node_to_yaml(body: dict) -> dict:
    """A node as the service returns it -> its YAML form (for the YAML schemas to load)."""
    kind = body.get("type", "command")
    out = {k: v for k, v in body.items()
           if k in ("type", "display_name", "description", "tags", "properties", "environment_variables",
                    "input_data", "mini_batch_size", "mini_batch_error_threshold", "error_threshold",
                    "max_concurrency_per_instance", "logging_level", "retry_settings", "resources",
                    "search_space", "sampling_algorithm", "objective", "conf", "args") and v is not None}
    if body.get("componentId"):
        out["component"] = "azureml:" + body["componentId"].removeprefix("azureml:")
    if (body.get("trial") or {}).get("componentId"):
        out["trial"] = "azureml:" + body["trial"]["componentId"].removeprefix("azureml:")
    if body.get("computeId"):
        out["compute"] = body["computeId"]
    inputs = {}
    for key, value in (body.get("inputs") or {}).items():
        if value.get("job_input_type") == "literal":
            inputs[key] = value.get("value")
        else:
            inputs[key] = compact({"type": value.get("job_input_type"), "path": value.get("uri"),
                                   "mode": _MODE_YAML.get(value.get("mode"))})
    outputs = {}
    for key, value in (body.get("outputs") or {}).items():
        if value.get("type") == "literal":
            outputs[key] = value.get("value")
        else:
            outputs[key] = compact({"type": value.get("job_output_type"), "path": value.get("uri"),
                                    "mode": _MODE_YAML.get(value.get("mode")), "name": value.get("name"),
                                    "version": value.get("version")})
    if inputs:
        out["inputs"] = inputs
    if outputs:
        out["outputs"] = outputs
    if body.get("services"):
        out["services"] = {name: compact({
            "type": _SERVICE_YAML.get(s.get("job_service_type")), "port": s.get("port"),
            "nodes": "all" if (s.get("nodes") or {}).get("nodes_value_type") == "All" else None,
            **{("log_dir" if k == "logDir" else "ssh_public_keys" if k == "sshPublicKeys" else None): v
               for k, v in (s.get("properties") or {}).items() if k in ("logDir", "sshPublicKeys")}})
            for name, s in body["services"].items()}
    if body.get("distribution"):
        d = {k.removeprefix("distribution_"): v for k, v in body["distribution"].items()}
        out["distribution"] = {**d, "type": _REST_TYPES.get(d.get("type"), d.get("type"))}
    if body.get("limits"):
        limits = {k: v for k, v in body["limits"].items() if k != "job_limits_type"}
        out["limits"] = limits
    if body.get("early_termination"):
        policy = {k: v for k, v in body["early_termination"].items() if k != "policy_type" and v is not None}
        kind_rest = body["early_termination"].get("policy_type")
        out["early_termination"] = {"type": _REST_TYPES.get(kind_rest, kind_rest), **policy}
    if body.get("identity"):
        identity = {k: v for k, v in body["identity"].items() if k != "identity_type"}
        out["identity"] = {"type": body["identity"].get("identity_type"), **identity}
    if kind == "parallel" and isinstance(out.get("mini_batch_size"), str) and out["mini_batch_size"].isdigit():
        out["mini_batch_size"] = int(out["mini_batch_size"])
    return out


# -- the pipeline job ----------------------------------------------------------------------
@dataclass(kw_only=True)
class PipelineJobSettings:
    """Defaults for every node, and how the pipeline runs: go on past a failed node's independent branches
    (`continue_on_step_failure`), or run every node again (`force_rerun`: no reuse of earlier results)."""

    default_compute: str | None = None
    default_datastore: str | None = None
    default_environment: str | None = None
    continue_on_step_failure: bool | None = None
    force_rerun: bool | None = None
    extra: dict[str, Any] | None = None  # other keys, passed on as written (as Azure ML takes them)


def settings_to_rest(s: PipelineJobSettings | None, scope: str) -> dict | None:
    if s is None:
        return None
    datastore = s.default_datastore
    if datastore is not None and "/" not in datastore:
        datastore = f"{scope}/datastores/{datastore.removeprefix('azureml:')}"
    body = compact({"default_compute": compute_to_rest_id(s.default_compute, scope),
                    "default_datastore": datastore,
                    "default_environment": to_arm(s.default_environment, "environments", scope),
                    "continue_on_step_failure": s.continue_on_step_failure, "force_rerun": s.force_rerun})
    return {**(s.extra or {}), **body}


@dataclass(kw_only=True)
class PipelineJob(Job):
    """A graph of nodes (`jobs`) whose inputs are bound to the pipeline's inputs or to other nodes' outputs.

    Inline components are sent as anonymous component versions (see component_to_rest_id); the operations
    layer creates them, and uploads local code and data, before the job is sent.
    """

    type: ClassVar[str] = "pipeline"
    settings: PipelineJobSettings | None = None
    jobs: dict[str, Node] = field(default_factory=dict)
    component: Any = None  # a pipeline component (or a reference) this job runs, instead of `jobs`

    def validate(self) -> None:
        """Raise ValidationError, one line per problem naming the node, if the graph is not sound: a binding to
        an unknown node or port, a cycle, an output bound to an input of another type, a required input not
        given."""
        problems = graph_problems(self.jobs, self.inputs, self.outputs, declared=False) \
            if self.component is None else []
        if isinstance(self.component, PipelineComponent):
            problems += job_component_problems(self.component, self.inputs, self.outputs)
        _raise(problems, self)

    def _rest(self, scope: str) -> dict:
        return {"properties": compact({
            **self._job_rest("Pipeline", scope),
            "settings": settings_to_rest(self.settings, scope),
            "componentId": component_to_rest_id(self.component, scope),
            "jobs": nodes_to_rest(self.nodes, scope) or None,
        })}

    @property
    def nodes(self) -> dict[str, Node]:
        """The nodes this job runs: its own `jobs`, or those of its pipeline component."""
        return self.component.jobs if isinstance(self.component, PipelineComponent) else self.jobs

    @classmethod
    def _from_rest(cls, resource: dict) -> "PipelineJob":
        from .._yaml.api import _schema  # import budget: as in _Component._spec
        props = resource.get("properties", {})
        job = cls(**cls._job_fields(resource))
        settings = dict(props.get("settings") or {})
        settings.pop("_source", None)  # azure-ai-ml's note of where the pipeline came from
        own = {k: settings.pop(k) for k in list(settings) if k in PipelineJobSettings.__dataclass_fields__}
        job.settings = PipelineJobSettings(**own, extra=settings or None) if "settings" in props else None
        if props.get("componentId"):
            job.component = props["componentId"]
        schema = _schema("pipelines", "NodeField")
        job.jobs = {name: schema.deserialize(node_to_yaml(body)) for name, body in (props.get("jobs") or {}).items()}
        return job


# -- the graph's checks ----------------------------------------------------------------------
def _literal_type(value) -> str | None:
    if isinstance(value, Input):
        return value.type
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string" if isinstance(value, str) and binding(value) is None else None


def _is_literal(value) -> bool:
    """A value written as it is (YAML's scalars, Python's), not data, a binding or other placeholders."""
    if isinstance(value, str):
        return "${{" not in value
    return isinstance(value, (bool, int, float))


def _clash(source: str | None, target: str | None, *, strict: bool) -> bool:
    """Whether a value of type `source` cannot feed an input of type `target`: data and literals never mix;
    with `strict` (a declared type, not one read off a YAML value) literals of different types do not either."""
    if source is None or target is None:
        return False
    if (source in LITERAL_TYPES) != (target in LITERAL_TYPES):
        return True
    if source in LITERAL_TYPES and strict:
        return source != target and target != "string" and (source, target) != ("integer", "number")
    return False


def _declared_type(declaration) -> str | None:
    return declaration.type if isinstance(declaration, (Input, Output)) else None


# A node's name: an ASCII identifier (its bindings name it: `${{parent.jobs.<node>...}}`), no longer than any name
# the spec admits (255 characters).
NODE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def node_name_problem(name) -> str | None:
    if not isinstance(name, str) or not NODE_NAME.fullmatch(name):
        return "invalid node name: ASCII letters, digits and '_', starting with a letter or '_'"
    if len(name) > 255:
        return f"invalid node name: {len(name)} characters, at most 255"
    return None


def graph_problems(jobs: dict, inputs: dict | None, outputs: dict | None, *,
                   declared: bool) -> list[tuple[tuple, str]]:
    """The problems of a pipeline's graph as (path, message), each naming its node. `inputs` and `outputs` are
    the pipeline's own: values (a pipeline job, `declared=False`) or declarations (a pipeline component)."""
    problems: list[tuple[tuple, str]] = []
    if not jobs:
        problems.append((("jobs",), "a pipeline needs at least one node: with none, Azure ML has nothing to run"))
    inputs, outputs = inputs or {}, outputs or {}
    graph: dict[str, set[str]] = {name: set() for name in jobs}
    seen: dict[str, str] = {}
    for name, node in jobs.items():
        if node_name_problem(name):
            problems.append((("jobs", name), f"node {name!r}: {node_name_problem(name)}"))
        elif seen.setdefault(name.lower(), name) != name:
            problems.append((("jobs", name), f"node {name!r}: {name!r} and {seen[name.lower()]!r} differ only in "
                                             "case: rename one (azure-ai-ml takes node names in lower case only)"))
        if not isinstance(node, Node):
            continue
        interface = node.interface
        given = dict(node.inputs or {})
        space = getattr(node, "search_space", None) or {}
        # a component object declares its ports (None: none); a reference's are not known here
        declared_inputs = None if interface is None else interface.inputs or {}
        declared_outputs = None if interface is None else interface.outputs or {}
        for port, value in given.items():
            path = ("jobs", name, "inputs", port)
            target = None
            if declared_inputs is not None:
                if port not in declared_inputs:
                    problems.append((path, f"node {name}: its component has no input named {port!r} (inputs: "
                                           f"{', '.join(declared_inputs) or 'none'})" + suggest(port, declared_inputs)))
                    continue
                target = _declared_type(declared_inputs[port])
            problems += _input_binding_problems(name, port, value, path, target, jobs, inputs, declared, graph)
        for port, value in (node.outputs or {}).items():
            path = ("jobs", name, "outputs", port)
            if declared_outputs is not None and port not in declared_outputs:
                problems.append((path, f"node {name}: its component has no output named {port!r} (outputs: "
                                       f"{', '.join(declared_outputs) or 'none'})" + suggest(port, declared_outputs)))
                continue
            if isinstance(value, str):
                ref = binding(value)
                if ref is None or len(ref) != 2 or ref[0] != "outputs":
                    problems.append((path, f"node {name}: an output binds only to ${{{{parent.outputs.<name>}}}}, "
                                           f"got {value!r}"))
                elif ref[1] not in outputs:
                    problems.append((path, f"node {name}: the pipeline has no output named {ref[1]!r} (outputs: "
                                           f"{', '.join(outputs) or 'none'})" + suggest(ref[1], outputs)))
        for port, declaration in (declared_inputs or {}).items():
            if (isinstance(declaration, Input) and not declaration.optional and declaration.default is None
                    and port not in given and port not in space):
                problems.append((("jobs", name, "inputs"),
                                 f"node {name}: required input {port!r} is not given (its component declares no "
                                 "default)"))
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        cycle = exc.args[1]
        problems.append((("jobs", cycle[0]), f"node {cycle[0]}: the nodes form a cycle: {' -> '.join(cycle)}"))
    return problems


def _input_binding_problems(name, port, value, path, target, jobs, inputs, declared, graph) -> list:
    """Problems of one node input's value: a binding to an unknown pipeline input, node or output; a type
    clash; a binding written inside other text. Records the edge a node-output binding makes in `graph`."""
    if target in LITERAL_TYPES and _is_literal(value):
        problem = literal_problem(target, value, "value")
        return [(path, f"node {name}: input {port!r} ({target}): {problem}")] if problem else []
    if not isinstance(value, str):
        return [(path, f"node {name}: input {port!r} ({_literal_type(value)}) cannot feed a {target} input")] \
            if _clash(_literal_type(value), target, strict=isinstance(value, Input)) else []
    ref = binding(value)
    if ref is None:
        if any(p.root == "parent" for p in placeholders(value)):
            return [(path, f"node {name}: a binding must be the whole value, got {value!r}")]
        return []
    shape = binding_problem(ref)
    if shape is not None or ref[0] == "outputs":
        return [(path, f"node {name}: {value!r} cannot feed an input: " +
                 (shape or "a pipeline output is written by a node, not read"))]
    if ref[0] == "inputs":
        if ref[1] not in inputs:
            return [(path, f"node {name}: the pipeline has no input named {ref[1]!r} (inputs: "
                           f"{', '.join(inputs) or 'none'})" + suggest(ref[1], inputs))]
        source = _declared_type(inputs[ref[1]]) if declared else _literal_type(inputs[ref[1]])
        strict = declared
        where = f"pipeline input {ref[1]}"
        problem = None if declared or target not in LITERAL_TYPES or not _is_literal(inputs[ref[1]]) else \
            literal_problem(target, inputs[ref[1]], "value")
        if problem:
            return [(path, f"node {name}: input {port!r} ({target}) is bound to {where}: {problem}")]
    else:
        other, output = ref[1], ref[3]
        if other not in jobs:
            return [(path, f"node {name}: no node named {other!r} in this pipeline (nodes: {', '.join(jobs)})"
                     + suggest(other, jobs))]
        if other == name:
            return [(path, f"node {name}: an input cannot read the node's own output {output!r}")]
        graph[name].add(other)
        upstream = jobs[other].interface if isinstance(jobs[other], Node) else None
        if upstream is None:
            return []
        outs = upstream.outputs or {}
        if output not in outs:
            return [(path, f"node {name}: node {other} has no output named {output!r} (outputs: "
                           f"{', '.join(outs) or 'none'})" + suggest(output, outs))]
        source, strict, where = _declared_type(outs[output]) or "uri_folder", True, f"{other}.outputs.{output}"
    if _clash(source, target, strict=strict):
        return [(path, f"node {name}: input {port!r} ({target}) is bound to {where} ({source}): the types clash")]
    return []


def job_component_problems(component: PipelineComponent, inputs: dict | None, outputs: dict | None) -> list:
    """A pipeline job made from a pipeline component: its inputs and outputs are the component's, the required
    ones given."""
    problems = []
    declared_inputs, declared_outputs = component.inputs or {}, component.outputs or {}
    for root, given, declared in (("inputs", inputs or {}, declared_inputs), ("outputs", outputs or {},
                                                                               declared_outputs)):
        for key in given:
            if key not in declared:
                problems.append(((root, key), f"the pipeline component has no {root[:-1]} named {key!r} ({root}: "
                                              f"{', '.join(declared) or 'none'})" + suggest(key, declared)))
            elif root == "inputs" and _declared_type(declared[key]) in LITERAL_TYPES and _is_literal(given[key]):
                problem = literal_problem(declared[key].type, given[key], "value")
                if problem:
                    problems.append(((root, key), f"input {key!r} ({declared[key].type}): {problem}"))
    for key, declaration in declared_inputs.items():
        if (isinstance(declaration, Input) and not declaration.optional and declaration.default is None
                and key not in (inputs or {})):
            problems.append((("inputs",), f"required input {key!r} of the pipeline component is not given"))
    return problems


def _raise(problems: list[tuple[tuple, str]], entity) -> None:
    if problems:
        raise ValidationError([Problem(message, ".".join(map(str, path)), f"<{type(entity).__name__}>")
                               for path, message in problems])


def interface_of(node: Node, parent_inputs: dict, parent_outputs: dict, jobs: dict,
                 declared: bool) -> tuple[dict, dict]:
    """Input and output declarations an inline component takes from the values its node gives: a data input's
    type, a literal's type, a bound pipeline input's or node output's type; outputs as bound or given."""
    inputs = {}
    for port, value in (node.inputs or {}).items():
        ref = binding(value)
        kind = None
        if ref is not None and len(ref) == 2 and ref[0] == "inputs" and ref[1] in parent_inputs:
            source = parent_inputs[ref[1]]
            kind = _declared_type(source) if declared else _literal_type(source)
        elif ref is not None and len(ref) == 4 and ref[1] in jobs and isinstance(jobs[ref[1]], Node):
            outs = getattr(jobs[ref[1]].interface, "outputs", None) or {}
            kind = _declared_type(outs.get(ref[3])) or "uri_folder"
        elif ref is None:
            kind = _literal_type(value)
        inputs[port] = Input(type=kind or "string")
    outputs = {}
    for port, value in (node.outputs or {}).items():
        ref = binding(value) if isinstance(value, str) else None
        if ref is not None and len(ref) == 2 and ref[1] in parent_outputs:
            kind = _declared_type(parent_outputs[ref[1]]) or "uri_folder"
        else:
            kind = value.type if isinstance(value, Output) else "uri_folder"
        outputs[port] = Output(type=kind)
    return inputs, outputs
