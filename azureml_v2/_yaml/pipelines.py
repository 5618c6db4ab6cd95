"""Schemas for pipeline jobs, their nodes, and pipeline and parallel components.

A node's component is a YAML file (`./train.yml`, `file:train.yml`), a registered version (`azureml:train:1`,
`azureml:train@latest`, an ARM id) or an inline mapping; a command or parallel node may also carry its
component's fields itself (`command:`, `task:`), which become an anonymous component whose inputs and outputs
are read off the values the node gives. The graph's checks (bindings, cycles, types, required inputs) run once
the whole pipeline is loaded, each problem located at its node.
"""
from __future__ import annotations

import contextvars
import os
import re

from marshmallow import INCLUDE, RAISE, Schema, ValidationError, fields, post_dump, post_load, validates_schema
from marshmallow.validate import Range, Regexp

from .._contract import NODE_TYPES, is_local, parse_ref
from ..entities import pipeline as P
from ..entities.component import CommandComponent
from ..entities.inputs import placeholder_problems
from ..entities.sweep import SweepDistribution, sweep_problems
from ..exceptions import suggest
from .api import _schema, load
from .base import BASE_DIR, LOADING, BaseSchema
from .document import type_name
from .fields import Enum, Name, StrMap, Switch, Version, shown
from .io import InputSpecValue, component_outputs_field, inputs_field, node_outputs_field
from .jobs import (CommandComponentSchema, CommandJobLimitsSchema, ComputeField, JobFields, ResourcesSchema,
                   TypedSchema, _names, code_field, distribution_field, environment_field, services_field)
from .sweep import (DISTRIBUTION_SCHEMAS, POLICY_SCHEMAS, ObjectiveSchema, SamplingAlgorithmField,
                    SweepJobLimitsSchema, _nest)

# real Azure ML node types this project does not handle yet
UNSUPPORTED_NODES = ("automl", "data_transfer", "import", "if_else", "do_while", "parallel_for", "flow")
LOGGING_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# component files loaded during one pipeline load: path -> component (a file named by many nodes is read once)
_FILES: contextvars.ContextVar[dict | None] = contextvars.ContextVar("azureml_v2_component_files", default=None)


# -- a node's component --------------------------------------------------------------------
_INLINE = {"command": ("pipelines", "InlineCommandComponentSchema"),
           "parallel": ("pipelines", "InlineParallelComponentSchema"),
           "pipeline": ("pipelines", "InlinePipelineComponentSchema"), "spark": ("spark", "InlineSparkComponentSchema")}


def component_schema(component):
    """The schema that writes `component` inside a node (its name optional)."""
    return _schema(*_INLINE[component.type])


class ComponentField(fields.Field):
    """A node's component: a YAML file, a registered version, or an inline mapping, of one of `kinds`."""

    def __init__(self, kinds: tuple[str, ...], **kwargs):
        super().__init__(**kwargs)
        self.kinds = kinds

    def _check_kind(self, kind) -> None:
        if kind not in self.kinds:
            raise ValidationError(f"a {self.kinds[0]} node takes a {' or '.join(self.kinds)} component, not "
                                  f"{shown(kind)}" + (f" (set the node's type: {kind})" if kind in NODE_TYPES
                                                      else ""))

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dict):
            kind = value.get("type", "command")
            self._check_kind(kind)
            return _schema(*_INLINE[kind]).load(value)
        if not isinstance(value, str) or not value:
            raise ValidationError("expected a component file (./component.yml), a registered component "
                                  "(azureml:<name>:<version> or azureml:<name>@latest) or a mapping")
        if not is_local(value):
            try:
                parse_ref(value, "components")
            except ValueError as exc:
                raise ValidationError(str(exc)) from None
            return value
        base = BASE_DIR.get(None) or os.getcwd()
        files = _FILES.get()
        component = files.get((base, value)) if files is not None else None
        if component is None:
            path = os.path.normpath(os.path.join(base, value.removeprefix("file:")))
            if not os.path.isfile(path):
                raise ValidationError(f"no such component file: {path} (from {shown(value)})")
            chain = LOADING.get()
            if path in chain:
                loop = (os.path.relpath(p, base) for p in chain[chain.index(path):] + (path,))
                raise ValidationError(f"the component files include each other: {' -> '.join(loop)}")
            component = load("component", path)  # problems inside it are located in that file
            if files is not None:
                files[(base, value)] = component
        self._check_kind(component.type)
        return component

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None or isinstance(value, str):
            return value
        return component_schema(value).dump(value)


class _Files:
    """A schema whose load reads each component file once (for every pipeline nested in it too)."""

    def load(self, data, **kwargs):
        token = _FILES.set({}) if _FILES.get() is None else None
        try:
            return super().load(data, **kwargs)
        finally:
            if token is not None:
                _FILES.reset(token)


# -- nodes -----------------------------------------------------------------------------------
class _NodeSchema(TypedSchema):
    display_name = fields.String()
    description = fields.String()
    tags = StrMap()
    properties = StrMap()
    compute = ComputeField()
    inputs = inputs_field()
    outputs = node_outputs_field()
    not_supported = ("identity", "services", "queue_settings")
    inline_fields: tuple[str, ...] = ()  # fields that make the component inline, with `component` excluded

    def _inline(self, data) -> dict:
        return {k: data.pop(k) for k in self.inline_fields if k in data}

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _component_or_inline(self, data, original, **_):
        if not isinstance(original, dict):
            return
        inline = [k for k in self.inline_fields if k in original]
        if "component" in original and inline:
            raise ValidationError(f"a node takes either component or {', '.join(inline)} of its own, not both",
                                  "component")
        if "component" not in original and not inline:
            first = self.inline_fields[:1]
            raise ValidationError("required: component (a file, a registered component or a mapping)"
                                  + (f" or {first[0]} of its own" if first else ""), "component")


class CommandNodeSchema(_NodeSchema):
    entity = P.Command
    type = Enum(("command",))
    component = ComponentField(("command",))
    command = fields.String(validate=Regexp(r"\S", error="the command is empty"))
    code = code_field()
    environment = environment_field()
    resources = fields.Nested(ResourcesSchema)
    distribution = distribution_field()
    limits = fields.Nested(CommandJobLimitsSchema)
    environment_variables = StrMap()
    services = services_field()
    not_supported = ("identity", "queue_settings")
    inline_fields = ("command", "code", "environment")
    order = ("type", "display_name", "description", "tags", "properties", "component", "compute", "inputs",
             "outputs", "resources", "distribution", "limits", "environment_variables", "services")

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _inline_command(self, data, original, **_):
        if not isinstance(original, dict) or "component" in original:
            return
        if "command" in original and original.get("environment") is None:
            raise ValidationError("required field is missing (an inline command needs an environment)",
                                  "environment")
        command = original.get("command")
        if isinstance(command, str):
            problems = placeholder_problems(command, {r: _names(original.get(r)) for r in ("inputs", "outputs")})
            if problems:
                raise ValidationError(problems, "command")

    @post_load
    def _build(self, data, **_):
        data.pop("type", None)
        inline = self._inline(data)
        if inline:
            data["component"] = _inline_component(CommandComponent(**inline))
        return self.entity(**data)


class SweepNodeSchema(_NodeSchema):
    entity = P.Sweep
    type = Enum(("sweep",), required=True)
    trial = ComponentField(("command",), required=True)
    search_space = fields.Dict(keys=fields.String(), values=Switch(DISTRIBUTION_SCHEMAS), required=True)
    sampling_algorithm = SamplingAlgorithmField(required=True)
    objective = fields.Nested(ObjectiveSchema, required=True)
    limits = fields.Nested(SweepJobLimitsSchema)
    early_termination = Switch(POLICY_SCHEMAS)
    not_supported = ("identity", "services", "queue_settings", "resources", "component")
    order = ("type", "display_name", "description", "tags", "properties", "trial", "compute", "inputs", "outputs",
             "search_space", "sampling_algorithm", "objective", "limits", "early_termination")

    def _component_or_inline(self, data, original, **_):
        pass  # the trial is required by its field

    @validates_schema(skip_on_field_errors=False)
    def _sweep(self, data, **_):
        space = {k: v for k, v in (data.get("search_space") or {}).items() if isinstance(v, SweepDistribution)}
        problems = sweep_problems({**data, "search_space": space, "trial": None}, {})
        trial = data.get("trial")
        if isinstance(trial, CommandComponent):
            declared = trial.inputs or {}
            problems += [(("search_space", key), f"the trial component has no input named {key!r} (inputs: "
                                                 f"{', '.join(declared) or 'none'})" + suggest(key, declared))
                         for key in space if key not in declared]
        if problems:
            raise ValidationError(_nest(problems))


class RetrySettingsSchema(BaseSchema):
    entity = P.RetrySettings
    max_retries = fields.Integer(strict=True, validate=Range(min=0, error="must not be negative"))
    timeout = fields.Integer(strict=True, validate=Range(min=1, error="must be at least 1 second"))


class ParallelTaskSchema(BaseSchema):
    entity = P.ParallelTask
    type = Enum(("run_function",), required=True)
    code = code_field()
    entry_script = fields.String(required=True, validate=Regexp(r"\S", error="the entry script is empty"))
    environment = environment_field(required=True)
    program_arguments = fields.String()
    append_row_to = fields.String()
    not_supported = ("model",)


class MiniBatchSize(fields.Field):
    """A number of files (uri_folder input), or an amount of data (`10kb`, `1mb`, `1gb`) for tabular input."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 1:
                raise ValidationError("must be at least 1")
            return value
        if isinstance(value, str) and re.fullmatch(r"\d+\s*([kKmMgG][bB])?", value.strip()):
            if not value.strip("0 kKmMgGbB"):  # "0", "0kb": no mini-batch would ever be cut
                raise ValidationError("must be at least 1")
            return value.strip()
        raise ValidationError(f"expected a number of files or an amount of data such as 10kb, 1mb, got "
                              f"{shown(value) if isinstance(value, str) else type_name(value)}")

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class _ParallelSettings(Schema):
    """The run settings of a parallel component, which its node may override."""

    input_data = fields.String()
    mini_batch_size = MiniBatchSize()
    mini_batch_error_threshold = fields.Integer(strict=True, validate=Range(min=-1))
    error_threshold = fields.Integer(strict=True, validate=Range(min=-1))
    max_concurrency_per_instance = fields.Integer(strict=True, validate=Range(min=1, error="must be at least 1"))
    logging_level = Enum(LOGGING_LEVELS)
    retry_settings = fields.Nested(RetrySettingsSchema)


def _parallel_problems(values: dict, inputs, outputs) -> list[tuple[tuple, str]]:
    """`input_data` names a declared input; the task's placeholders name declared inputs and outputs."""
    problems = []
    declared = {"inputs": _names(inputs), "outputs": _names(outputs)}
    input_data = values.get("input_data")
    if isinstance(input_data, str):
        names = declared["inputs"]
        found = re.fullmatch(r"\$\{\{\s*inputs\.([^{}\s]+)\s*\}\}", input_data.strip())
        if found is None:
            problems.append((("input_data",), "expected ${{inputs.<name>}}: the input the mini-batches are made "
                                              "of"))
        elif names is not None and found.group(1) not in names:
            problems.append((("input_data",), f"no input named {found.group(1)!r} is declared (inputs: "
                                              f"{', '.join(names) or 'none'})"))
    task = values.get("task") or {}
    if isinstance(task, dict):
        for key in ("program_arguments", "append_row_to"):
            if isinstance(task.get(key), str):
                problems += [(("task", key), m) for m in placeholder_problems(task[key], declared)]
        append = task.get("append_row_to")
        if isinstance(append, str) and not re.fullmatch(r"\$\{\{\s*outputs\.[^{}\s]+\s*\}\}", append.strip()):
            problems.append((("task", "append_row_to"), "expected ${{outputs.<name>}}: the output rows are "
                                                        "appended to"))
    return problems


class ParallelNodeSchema(_NodeSchema, _ParallelSettings):
    entity = P.Parallel
    type = Enum(("parallel",), required=True)
    component = ComponentField(("parallel",))
    task = fields.Nested(ParallelTaskSchema)
    resources = fields.Nested(ResourcesSchema)
    environment_variables = StrMap()
    inline_fields = ("task",)
    # the settings an inline parallel node gives its anonymous component
    _component_settings = ("input_data", "mini_batch_size", "mini_batch_error_threshold", "error_threshold",
                           "max_concurrency_per_instance", "logging_level", "retry_settings")
    not_supported = ("identity", "services", "queue_settings", "partition_keys")
    order = ("type", "display_name", "description", "tags", "properties", "component", "compute", "inputs",
             "outputs", "input_data", "mini_batch_size", "mini_batch_error_threshold", "error_threshold",
             "max_concurrency_per_instance", "logging_level", "retry_settings", "resources",
             "environment_variables")

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _inline_task(self, data, original, **_):
        if isinstance(original, dict) and "task" in original:
            problems = _parallel_problems(original, original.get("inputs"), original.get("outputs"))
            if "input_data" not in original:
                problems.append((("input_data",), "required field is missing"))
            if problems:
                raise ValidationError(_nest(problems))

    @post_load
    def _build(self, data, **_):
        data.pop("type", None)
        inline = self._inline(data)
        if inline:
            settings = {k: data.pop(k) for k in self._component_settings if k in data}
            data["component"] = _inline_component(P.ParallelComponent(**inline, **settings))
        return self.entity(**data)


class PipelineNodeSchema(_NodeSchema):
    entity = P.Pipeline
    type = Enum(("pipeline",), required=True)
    component = ComponentField(("pipeline",), required=True)
    order = ("type", "display_name", "description", "tags", "properties", "component", "compute", "inputs",
             "outputs")

    def _component_or_inline(self, data, original, **_):
        pass  # the component is required by its field


_NODES = {"command": ("pipelines", "CommandNodeSchema"), "sweep": ("pipelines", "SweepNodeSchema"),
          "parallel": ("pipelines", "ParallelNodeSchema"), "pipeline": ("pipelines", "PipelineNodeSchema"),
          "spark": ("spark", "SparkNodeSchema")}


class NodeField(fields.Field):
    """A node of `jobs:`, its schema picked by `type` (command when absent, as Azure ML reads it)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError(f"expected a mapping (a node), got {type_name(value)}")
        kind = value.get("type", "command")
        if not isinstance(kind, str):
            raise ValidationError({"type": [f"expected a string, got {type_name(kind)}"]})
        if kind.lower() in UNSUPPORTED_NODES:
            raise ValidationError({"type": [f"not supported yet: {kind.lower()} nodes"]})
        if kind.lower() not in _NODES:
            raise ValidationError({"type": [f"invalid value {shown(kind)}: expected one of {', '.join(_NODES)}"
                                            + suggest(kind, _NODES)]})
        return _node_schema(_NODES[kind.lower()], value).load(value)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return _schema(*_NODES[value.type]).dump(value)


_BY_KEYS: dict = {}


def _node_schema(name: tuple[str, str], node: dict):
    """The node schema restricted to the fields `node` has and the required ones: marshmallow visits every field a
    schema declares on each load, and a 200-node pipeline is loaded 200 times. A node with keys the schema does
    not know gets the whole schema, which reports them with hints."""
    full = _schema(*name)
    keys = frozenset(node)
    schema = _BY_KEYS.get((name, keys))
    if schema is None:
        if not keys <= full.fields.keys():
            return full
        required = {key for key, f in full.fields.items() if f.required}
        schema = _BY_KEYS[(name, keys)] = type(full)(only=tuple(keys | required))
    return schema


def _inline_component(component):
    component._inline = True  # its interface is read off the node's values once the pipeline is loaded
    return component


def _node_name(name: str) -> None:
    problem = P.node_name_problem(name)
    if problem:
        raise ValidationError(problem)


def _nodes_field(**kwargs):
    return fields.Dict(keys=fields.String(validate=_node_name), values=NodeField(), **kwargs)


def complete(jobs: dict, inputs: dict | None, outputs: dict | None, *, declared: bool) -> None:
    """Give each inline component the interface its node's values imply, then check the graph: a
    marshmallow ValidationError, each problem at its node, when it is not sound."""
    inputs, outputs = inputs or {}, outputs or {}
    inline = [n for n in jobs.values() if getattr(n.component, "_inline", False)]
    for node in inline:  # outputs first: a node's inputs may be bound to another inline node's outputs
        node.component.outputs = P.interface_of(node, inputs, outputs, jobs, declared)[1] or None
    for node in inline:
        node.component.inputs = P.interface_of(node, inputs, outputs, jobs, declared)[0] or None
        del node.component._inline
    problems = P.graph_problems(jobs, inputs, outputs, declared=declared)
    if problems:
        raise ValidationError(_nest(problems))


# -- settings and the pipeline job -----------------------------------------------------------
class DatastoreName(fields.String):
    """`workspaceblobstore`, `azureml:workspaceblobstore` or an ARM id."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        name = value.removeprefix("azureml:")
        if "/" in name:
            try:
                parse_ref(value)
            except ValueError as exc:
                raise ValidationError(str(exc)) from None
        elif not re.fullmatch(r"[A-Za-z0-9_]+", name):
            raise ValidationError(f"invalid datastore {shown(value)}: expected a datastore name, azureml:<name> "
                                  "or an ARM id")
        return value


class PipelineJobSettingsSchema(BaseSchema):
    """Known settings are checked; other keys are passed on as written, as Azure ML takes them."""

    class Meta:
        unknown = INCLUDE

    entity = P.PipelineJobSettings
    default_compute = ComputeField()
    default_datastore = DatastoreName()
    default_environment = environment_field()
    continue_on_step_failure = fields.Boolean()
    force_rerun = fields.Boolean()
    not_supported = ("on_init", "on_finalize", "priority")

    @validates_schema(skip_on_field_errors=False)
    def _environment(self, data, **_):
        if data.get("default_environment") is not None and not isinstance(data["default_environment"], str):
            raise ValidationError("expected a registered environment (azureml:<name>:<version>)",
                                  "default_environment")

    @post_load
    def _build(self, data, **_):
        extra = {k: data.pop(k) for k in list(data) if k not in self.fields}
        return self.entity(**data, extra=extra or None)

    @post_dump(pass_original=True)
    def _drop_unset(self, data, original, **_):
        return {**{k: v for k, v in data.items() if v is not None}, **(original.extra or {})}


class PipelineJobSchema(_Files, TypedSchema, JobFields):
    class Meta:
        unknown = RAISE
        exclude = ("queue_settings",)

    entity = P.PipelineJob
    schema = fields.String(data_key="$schema")
    type = Enum(("pipeline",), required=True)
    settings = fields.Nested(PipelineJobSettingsSchema)
    jobs = _nodes_field()
    component = ComponentField(("pipeline",))
    not_supported = ("notification_setting", "parent_job_name")
    order = ("$schema", "type", "name", "display_name", "experiment_name", "description", "tags", "properties",
             "compute", "settings", "inputs", "outputs", "component", "jobs", "identity", "services")

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _jobs_or_component(self, data, original, **_):
        if isinstance(original, dict) and ("jobs" in original) == ("component" in original):
            raise ValidationError("a pipeline job takes either jobs or a pipeline component (component:)"
                                  + (", not both" if "jobs" in original else ": required field is missing"), "jobs")

    @post_dump
    def _drop_unset(self, data, **_):
        return {k: v for k, v in data.items() if v is not None and not (k == "jobs" and v == {})}

    @post_load
    def _build(self, data, **kwargs):
        job = super()._build(data, **kwargs)
        if job.component is None:
            complete(job.jobs, job.inputs, job.outputs, declared=False)
        if isinstance(job.component, P.PipelineComponent):
            problems = P.job_component_problems(job.component, job.inputs, job.outputs)
            if problems:
                raise ValidationError(_nest(problems))
        return job


# -- components ------------------------------------------------------------------------------
class InlineCommandComponentSchema(CommandComponentSchema):
    name = Name()


class _ComponentFields(TypedSchema):
    schema = fields.String(data_key="$schema")
    name = Name(required=True)
    version = Version()
    display_name = fields.String()
    description = fields.String()
    tags = StrMap()
    inputs = fields.Dict(keys=fields.String(), values=InputSpecValue())
    outputs = component_outputs_field()


class ParallelComponentSchema(_ComponentFields, _ParallelSettings):
    entity = P.ParallelComponent
    type = Enum(("parallel",), required=True)
    task = fields.Nested(ParallelTaskSchema, required=True)
    resources = fields.Nested(ResourcesSchema)
    environment_variables = StrMap()
    is_deterministic = fields.Boolean()
    not_supported = ("partition_keys", "additional_includes", "identity")
    order = ("$schema", "type", "name", "version", "display_name", "description", "tags", "is_deterministic",
             "inputs", "outputs", "input_data", "mini_batch_size", "mini_batch_error_threshold", "error_threshold",
             "max_concurrency_per_instance", "logging_level", "retry_settings", "resources",
             "environment_variables", "task")

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _parallel(self, data, original, **_):
        if not isinstance(original, dict):
            return
        problems = _parallel_problems(original, original.get("inputs"), original.get("outputs"))
        if "input_data" not in original:
            problems.append((("input_data",), "required field is missing"))
        if problems:
            raise ValidationError(_nest(problems))


class InlineParallelComponentSchema(ParallelComponentSchema):
    name = Name()


class PipelineComponentSchema(_Files, _ComponentFields):
    entity = P.PipelineComponent
    type = Enum(("pipeline",), required=True)
    jobs = _nodes_field(required=True)
    order = ("$schema", "type", "name", "version", "display_name", "description", "tags", "inputs", "outputs",
             "jobs")

    @post_load
    def _build(self, data, **kwargs):
        component = super()._build(data, **kwargs)
        complete(component.jobs, component.inputs, component.outputs, declared=True)
        return component


class InlinePipelineComponentSchema(PipelineComponentSchema):
    name = Name()
