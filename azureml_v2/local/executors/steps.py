"""Pipeline steps as child jobs: a node of a pipeline job's REST body, as azure-ai-ml sends it (``type``,
``componentId``, snake_case ``inputs``/``outputs`` whose values may be ``${{parent...}}`` bindings, ``computeId``,
``resources``, ``distribution``, ``environment_variables``, ``limits``; a sweep node's ``trial``, ``search_space``,
``objective``, ``sampling_algorithm``, ``limits``, ``early_termination``; a spark node's ``resources``, ``identity``,
``conf``, ``args``) with its component's ``componentSpec`` -> the REST properties of the child job that runs it: a
Command, Sweep, Parallel, Spark or (nested) Pipeline job.

Bindings resolve here: ``${{parent.inputs.x}}`` to the pipeline's input x, ``${{parent.jobs.n.outputs.o}}`` to the
URI ``azureml://jobs/<pipeline>_n/outputs/o`` (the runner reads the upstream step's stored output in place: nothing
is copied), and an output bound to ``${{parent.outputs.y}}`` takes the pipeline output's own location and asset
settings, if it has any.
"""
from __future__ import annotations

import collections
import re

from ..._contract import (DATA_TYPES, MODEL_TYPES, NODE_PROPERTY, PARENT_JOB_PROPERTY, binding, fill_output_path,
                          iso_from_seconds, placeholders)
from ...entities._rest import literal

_DATA_TYPES = (*DATA_TYPES, *MODEL_TYPES)
# YAML input/output modes -> REST
_MODES = {"ro_mount": "ReadOnlyMount", "rw_mount": "ReadWriteMount", "download": "Download", "upload": "Upload",
          "direct": "Direct", "eval_mount": "EvalMount", "eval_download": "EvalDownload"}
_DISTRIBUTIONS = {"pytorch": "PyTorch", "tensorflow": "TensorFlow", "mpi": "Mpi"}
STEP_TYPES = ("command", "sweep", "pipeline", "parallel", "spark")


class StepError(Exception):
    """A node cannot become a job; the message names what is wrong, for the pipeline's error."""


class Step(collections.namedtuple("Step", "node kind props spec")):
    """What runs a node: its kind (command, sweep, parallel, pipeline), its child job's REST properties, its component's
    spec. (A named tuple: the executor's start stays free of the dataclasses import.)"""

    __slots__ = ()


def field_of(item: dict, snake: str):
    """A field a node writes snake_case (azure-ai-ml's node dicts) or camelCase (the REST models)."""
    if snake in item:
        return item[snake]
    head, *rest = snake.split("_")
    return item.get(head + "".join(part.capitalize() for part in rest))


def upstream(node: dict) -> set[str]:
    """The nodes whose outputs node `node` reads (its inputs' ``${{parent.jobs.<n>.outputs...}}``)."""
    names = set()
    for item in (node.get("inputs") or {}).values():
        value = item.get("value") if isinstance(item, dict) else item
        if isinstance(value, str):
            for p in placeholders(value):
                if p.root == "parent" and len(p.path) >= 2 and p.path[0] == "jobs":
                    names.add(p.path[1])
    return names


def output_bindings(node: dict) -> dict[str, str]:
    """The pipeline outputs node `node` writes: pipeline output -> the node's output bound to it."""
    bound = {}
    for key, item in (node.get("outputs") or {}).items():
        path = binding(item.get("value") if isinstance(item, dict) else item)
        if path and path[0] == "outputs":
            bound[path[1]] = key
    return bound


def child_name(pipeline: str, node: str) -> str:
    return f"{pipeline}_{node}"


def build(pipeline: str, doc: dict, node_name: str, node: dict, spec: dict, settings: dict) -> Step:
    """The child job of `node` of pipeline `pipeline` (its REST properties `doc`) whose component is `spec`."""
    kind = (node.get("type") or spec.get("type") or "command").lower()
    if kind not in STEP_TYPES:
        raise StepError(f"a {kind} step cannot run on the local workspace (it runs {', '.join(STEP_TYPES)} steps)")
    declared_in = spec.get("inputs") or {}
    search_space = (node.get("search_space") or {}) if kind == "sweep" else {}
    inputs = _inputs(pipeline, doc.get("inputs") or {}, node.get("inputs") or {}, declared_in, set(search_space))
    outputs = _outputs(doc.get("outputs") or {}, node.get("outputs") or {}, spec.get("outputs") or {},
                       child_name(pipeline, node_name))
    props = {
        "inputs": inputs, "outputs": outputs,
        "computeId": node.get("computeId") or settings.get("default_compute") or doc.get("computeId"),
        "experimentName": doc.get("experimentName"),
        "displayName": node.get("display_name") or node.get("displayName") or node_name,
        "properties": {PARENT_JOB_PROPERTY: pipeline, NODE_PROPERTY: node_name},
    }
    if kind == "pipeline":
        props.update(jobType="Pipeline", jobs=spec.get("jobs") or {}, settings=settings)
    elif kind == "command":
        props.update(jobType="Command", **_run(node, spec, settings))
        limits = field_of(node, "limits") or {}
        timeout = limits.get("timeout")
        if timeout is not None:
            props["limits"] = {"jobLimitsType": "Command",
                               "timeout": iso_from_seconds(timeout) if isinstance(timeout, (int, float)) else timeout}
    elif kind == "sweep":
        props.update(jobType="Sweep", **_sweep(node, spec, settings, set(search_space)))
    elif kind == "spark":
        props.update(jobType="Spark", **_spark(node, spec))
    else:
        props.update(jobType="Parallel", **_parallel(node, spec, settings))
    return Step(node_name, kind, {k: v for k, v in props.items() if v not in (None, {})}, spec)


def _run(node: dict, spec: dict, settings: dict) -> dict:
    """What a command (or a sweep's trial) runs: command, code, environment and run settings."""
    environment = spec.get("environment") or settings.get("default_environment")
    if not environment:
        raise StepError("its component has no environment (and the pipeline no settings.default_environment)")
    if not spec.get("command"):
        raise StepError("its component has no command")
    resources = {**(spec.get("resources") or {}), **(field_of(node, "resources") or {})}
    distribution = field_of(node, "distribution") or spec.get("distribution")
    return {
        "command": spec["command"], "codeId": _arm(spec.get("code")), "environmentId": _arm(environment),
        "resources": _camel(resources) or None, "distribution": _distribution(distribution),
        "environmentVariables": {k: str(v) for k, v in (field_of(node, "environment_variables") or {}).items()}
        or None,
    }


def _sweep(node: dict, spec: dict, settings: dict, searched: set[str]) -> dict:
    """A sweep node's Sweep job: the trial runs the component with ${{inputs.p}} of each searched p sampled."""
    from ...entities import sweep as model  # import budget: only sweep steps need the sweep model

    trial = _run(node, spec, settings)
    for key in searched:  # as Azure ML does: a searched input is the trial's search-space value
        trial["command"] = re.sub(r"\$\{\{\s*inputs\." + re.escape(key) + r"\s*\}\}", f"${{{{search_space.{key}}}}}",
                                  trial["command"])
    space = {}
    for key, value in (node.get("search_space") or {}).items():
        args = {k: v for k, v in value.items() if k != "type"}
        cls = model.DISTRIBUTIONS.get(str(value.get("type", "")).lower())
        if cls is None:
            raise StepError(f"search_space.{key}: unknown distribution type {value.get('type')!r}")
        space[key] = cls(**args)._to_rest()
    sampling = node.get("sampling_algorithm") or "random"
    if isinstance(sampling, dict):
        cls = model.SAMPLING_ALGORITHMS[str(sampling.get("type", "random")).lower()]
        sampling = cls(**{k: v for k, v in sampling.items() if k != "type"})
    objective = node.get("objective") or {}
    policy = node.get("early_termination")
    if policy:
        kind = str(policy.get("type") or policy.get("policy_type")).lower().replace("_policy", "")
        cls = model.POLICIES[{"medianstopping": "median_stopping", "truncationselection": "truncation_selection"}
                             .get(kind, kind)]
        policy = cls(**{k: v for k, v in policy.items() if k not in ("type", "policy_type")})._to_rest()
    limits = node.get("limits") or {}
    return {
        "trial": {k: v for k, v in trial.items() if v is not None}, "searchSpace": space,
        "samplingAlgorithm": model.sampling_to_rest(sampling),
        "objective": model.Objective(goal=objective.get("goal", "maximize"),
                                     primary_metric=objective.get("primary_metric")
                                     or objective.get("primaryMetric"))._to_rest(),
        "limits": model.SweepJobLimits(**{k: limits.get(k) for k in ("max_total_trials", "max_concurrent_trials",
                                                                      "timeout", "trial_timeout")})._to_rest(),
        "earlyTermination": policy or None,
    }


# The run settings of a parallel step: its component's, overridden by those written on the node
PARALLEL_FIELDS = ("input_data", "mini_batch_size", "mini_batch_error_threshold", "error_threshold",
                   "max_concurrency_per_instance", "retry_settings", "logging_level", "task")
# and those a batch deployment's scoring step sets (executors/batch.py): the file append_row writes, how a uri_file
# input is cut
SCORING_FIELDS = ("output_file_name", "input_kind")


def _parallel(node: dict, spec: dict, settings: dict) -> dict:
    """A parallel node's Parallel job: the mini-batch engine's fields as the component and node write them."""
    task = {**(spec.get("task") or {}), **(node.get("task") or {})}
    environment = task.get("environment") or spec.get("environment") or settings.get("default_environment")
    if not environment:
        raise StepError("its component's task has no environment (and the pipeline no settings.default_environment)")
    resources = {**(spec.get("resources") or {}), **(field_of(node, "resources") or {})}
    fields = {key: node[key] if node.get(key) is not None else spec.get(key)
              for key in (*PARALLEL_FIELDS, *SCORING_FIELDS)}
    return {**{k: v for k, v in fields.items() if v is not None}, "task": task,
            "codeId": _arm(task.get("code") or spec.get("code")), "environmentId": _arm(environment),
            "resources": _camel(resources) or None,
            "environmentVariables": {k: str(v) for k, v in (field_of(node, "environment_variables") or {}).items()}
            or None}


# What a spark step's job carries besides code and environment (reuse digests them)
SPARK_FIELDS = ("entry", "pyFiles", "jars", "files", "archives", "conf", "args", "identity")


def _spark(node: dict, spec: dict) -> dict:
    """A spark node's Spark job: its component's application, the node's resources and identity, the node's conf
    over the component's, the node's args or else the component's."""
    entry = spec.get("entry") or field_of(node, "entry") or {}
    if not (entry.get("file") or entry.get("class_name")):
        raise StepError("its component has no entry (file or class_name)")
    conf = {**(spec.get("conf") or {}), **(node.get("conf") or {})}
    identity = field_of(node, "identity")
    return {
        "codeId": _arm(spec.get("code")), "environmentId": _arm(spec.get("environment")),
        "entry": {"sparkJobEntryType": "SparkJobScalaEntry", "className": entry["class_name"]}
        if entry.get("class_name") else {"sparkJobEntryType": "SparkJobPythonEntry", "file": entry["file"]},
        **{_camel_key(key): spec.get(key) for key in ("py_files", "jars", "files", "archives") if spec.get(key)},
        "conf": {k: str(v) for k, v in conf.items() if v is not None} or None,
        "args": node.get("args") or spec.get("args"),
        "resources": _camel(field_of(node, "resources") or {}) or None,
        "identity": _camel(identity) if identity else None,
    }


def _inputs(pipeline: str, parent: dict, given: dict, declared: dict, searched: set[str]) -> dict:
    """The child's REST inputs: each declared input from the node (a value, data or a binding) or its default."""
    inputs = {}
    for key in {**declared, **given}:
        if key in searched:
            continue
        decl = declared.get(key) or {}
        item = given.get(key)
        resolved = _input(pipeline, parent, key, item, decl) if item is not None else None
        if resolved is None and decl.get("default") is not None:
            default = decl["default"]
            resolved = ({"jobInputType": decl.get("type", "uri_folder"), "uri": default}
                        if decl.get("type") in _DATA_TYPES else {"jobInputType": "literal", "value": _text(default)})
        if resolved is None:
            if decl.get("optional") or not declared:
                continue
            raise StepError(f"input {key!r} is required and has no value")
        inputs[key] = resolved
    return inputs


def _input(pipeline: str, parent: dict, key: str, item, decl: dict) -> dict | None:
    if not isinstance(item, dict):
        item = {"job_input_type": "literal", "value": item}
    kind = field_of(item, "job_input_type") or item.get("type") or "literal"
    mode = field_of(item, "mode")
    value = item.get("value") if kind == "literal" else None
    path = binding(value)
    if path is None:
        if kind == "literal":
            return {"jobInputType": "literal", "value": _text(value)}
        return _data({"jobInputType": kind, "uri": item.get("uri") or item.get("path")}, mode)
    if len(path) != 2 and len(path) != 4 or path[0] == "outputs":
        raise StepError(f"input {key!r}: {value} is not an input binding (expected ${{{{parent.inputs.<name>}}}} or "
                        "${{parent.jobs.<node>.outputs.<name>}})")
    if path[0] == "inputs":
        bound = parent.get(path[1])
        if bound is None:
            return None
        if bound.get("jobInputType") == "literal":
            return {"jobInputType": "literal", "value": _text(bound.get("value"))}
        return _data(dict(bound), mode)
    kind = decl.get("type") if decl.get("type") in _DATA_TYPES else "uri_folder"
    uri = f"azureml://jobs/{child_name(pipeline, path[1])}/outputs/{path[3]}"
    return _data({"jobInputType": kind, "uri": uri}, mode)


def _data(item: dict, mode) -> dict:
    if mode:
        item["mode"] = _MODES.get(str(mode).lower(), mode)
    return {k: v for k, v in item.items() if v is not None}


def _outputs(parent: dict, given: dict, declared: dict, job: str) -> dict:
    """The child's REST outputs; one bound to a pipeline output takes that output's location and asset settings.
    `${{name}}` and `${{output_name}}` in a location are the child job's name and the output's, as on Azure ML."""
    outputs = {}
    for key in {**declared, **given}:
        decl = declared.get(key) or {}
        item = given.get(key) or {}
        out = {"jobOutputType": decl.get("type", "uri_folder")}
        path = binding(item.get("value") if isinstance(item, dict) else item)
        if path and path[0] == "outputs":
            target = parent.get(path[1]) or {}
            out.update({k: target[k] for k in ("uri", "assetName", "assetVersion", "mode") if target.get(k)})
        elif isinstance(item, dict):  # its own settings: asset name and version as `name` and `version`
            for own, rest in (("uri", "uri"), ("mode", "mode"), ("name", "assetName"), ("version", "assetVersion")):
                if item.get(own) is not None:
                    out[rest] = item[own]
            out["jobOutputType"] = field_of(item, "job_output_type") or out["jobOutputType"]
        if out.get("mode"):
            out["mode"] = _MODES.get(str(out["mode"]).lower(), out["mode"])
        if out.get("uri"):
            out["uri"] = fill_output_path(out["uri"], job, key)
        outputs[key] = out
    return outputs


def _distribution(value: dict | None) -> dict | None:
    if not value:
        return None
    kind = field_of(value, "distribution_type") or value.get("type")
    rest = {_camel_key(k): v for k, v in value.items() if k not in ("type", "distribution_type", "distributionType")}
    return {"distributionType": _DISTRIBUTIONS.get(str(kind).lower(), kind), **rest}


def _camel_key(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _camel(value: dict) -> dict:
    return {_camel_key(k): v for k, v in value.items() if v is not None}


def _arm(reference: str | None) -> str | None:
    """`azureml:/subscriptions/...` (a componentSpec's code or environment) -> the ARM id a job takes."""
    if reference and reference.startswith("azureml:/subscriptions/"):
        return reference[len("azureml:"):]
    return reference


def _text(value) -> str:
    return "" if value is None else literal(value)
