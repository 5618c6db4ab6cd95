"""Pipelines from Python, as azure-ai-ml's `azure.ai.ml.dsl` builds them:

    from azureml_v2 import Input, load_component
    from azureml_v2.dsl import pipeline

    train, score = load_component("train.yml"), load_component("score.yml")

    @pipeline(default_compute="cpu-cluster")
    def train_and_score(data: Input, epochs: int = 10):
        trained = train(data=data, epochs=epochs)        # calling a component makes a node
        scored = score(model=trained.outputs.model)      # a node's output feeds another node
        return {"scores": scored.outputs.scores}         # the pipeline's outputs

    job = train_and_score(data=Input(type="uri_folder", path="./data"))   # a PipelineJob

The function's parameters are the pipeline's inputs (`${{parent.inputs.<name>}}` inside it); nodes are named after
the variables that hold them (else after their component); the pipeline is checked as a loaded YAML is. Called
inside another `@pipeline`, the function becomes a pipeline component and its call a node of the outer pipeline.
A node's `.sweep(primary_metric=..., goal=...)` puts a sweep node over its component in its place, its inputs
given distributions (`train(lr=Uniform(0.01, 0.1))`) forming the search space.
"""
from __future__ import annotations

import functools
import inspect
import os
import re
import sys
from typing import Any, Callable

from ._contract import NAME_PATTERN, is_local
from .entities.inputs import LITERAL_TYPES, Input, Output
from .entities.pipeline import (BUILDING, Node, NodeOutput, NodeOutputs, PipelineComponent, PipelineJob,
                                PipelineJobSettings, graph_problems)
from .exceptions import Problem, ValidationError

_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def pipeline(func: Callable | None = None, *, name: str | None = None, display_name: str | None = None,
             description: str | None = None, experiment_name: str | None = None, tags: dict | None = None,
             compute: str | None = None, default_compute: str | None = None, default_datastore: str | None = None,
             continue_on_step_failure: bool | None = None, force_rerun: bool | None = None):
    """Make a function that builds a PipelineJob from the nodes its body makes (see the module docstring).

    `name` names the pipeline component when the function is used inside another pipeline (default: the
    function's name); the other keywords are the PipelineJob's, `default_*`, `continue_on_step_failure` and
    `force_rerun` its settings.
    """
    def decorate(fn: Callable) -> Callable[..., PipelineJob | Node]:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def build(*args, **kwargs):
            given = signature.bind(*args, **kwargs)
            values = {key: _absolute(value) for key, value in given.arguments.items()}
            defaults = {key: p.default for key, p in signature.parameters.items()
                        if p.default is not inspect.Parameter.empty}
            jobs, outputs = _run(fn, {key: f"${{{{parent.inputs.{key}}}}}" for key in signature.parameters})
            if BUILDING.get() is not None:  # inside another pipeline: a pipeline component's node
                component = PipelineComponent(
                    name=name or fn.__name__, display_name=display_name, description=description, tags=tags,
                    inputs={key: _declaration(p, values.get(key, defaults.get(key)))
                            for key, p in signature.parameters.items()},
                    outputs={key: Output(type=kind) for key, kind in outputs.items()} or None, jobs=jobs)
                named = [] if NAME_PATTERN.match(component.name) else [(("name",), (
                    f"invalid component name {component.name!r}: use ASCII letters, digits, '-' and '_' (at most "
                    "255), starting with a letter or digit" + ("" if name else "; pass name= to @pipeline")))]
                _check(named + graph_problems(jobs, component.inputs, component.outputs, declared=True), fn)
                return component(**values)
            settings = PipelineJobSettings(default_compute=default_compute, default_datastore=default_datastore,
                                           continue_on_step_failure=continue_on_step_failure,
                                           force_rerun=force_rerun)
            job = PipelineJob(
                display_name=display_name or fn.__name__, description=description, tags=tags,
                experiment_name=experiment_name, compute=compute,
                inputs={**defaults, **values} or None,
                outputs={key: Output(type=kind) for key, kind in outputs.items()} or None,
                settings=settings if settings != PipelineJobSettings() else None, jobs=jobs)
            _check(graph_problems(jobs, job.inputs, job.outputs, declared=False), fn)
            return job

        return build

    return decorate(func) if func is not None else decorate


def _run(fn: Callable, arguments: dict) -> tuple[dict, dict]:
    """Run the pipeline function -> (its nodes by name, its outputs' types by name), the nodes' NodeOutputs
    turned into bindings."""
    made: list = []
    token = BUILDING.set(made)
    names: dict[int, str] = {}

    def profile(frame, event, _arg):
        # the variables holding nodes when the function returns name them
        if event == "return" and frame.f_code is fn.__code__ and not names:
            names.update({id(v): k for k, v in frame.f_locals.items() if isinstance(v, Node)})

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        returned = fn(**arguments)
    finally:
        sys.setprofile(previous)
        BUILDING.reset(token)
    jobs: dict[str, Node] = {}
    for node in made:
        base = names.get(id(node)) or _node_name(node.component.name or node.type)
        key, n = base, 1
        while key.lower() in (k.lower() for k in jobs):  # names differing only in case clash (graph_problems)
            key, n = f"{base}_{n}", n + 1
        jobs[key] = node
    named = {id(node): key for key, node in jobs.items()}
    outputs: dict[str, str] = {}
    for key, value in _returned(returned, fn).items():
        node = value.node
        node.outputs[value.name] = f"${{{{parent.outputs.{key}}}}}"
        declared = (node.component.outputs or {}).get(value.name)
        outputs[key] = getattr(declared, "type", None) or "uri_folder"
    for node in jobs.values():
        node.inputs = {k: f"${{{{parent.jobs.{named[id(v.node)]}.outputs.{v.name}}}}}"
                       if isinstance(v, NodeOutput) else v for k, v in (node.inputs or {}).items()} or None
        node.outputs = dict(node.outputs) or None if isinstance(node.outputs, NodeOutputs) else node.outputs
    return jobs, outputs


def _node_name(name: str) -> str:
    """A node name (an ASCII identifier) from a component's name, as azure-ai-ml makes it: `My-Train` -> `my_train`."""
    name = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "node"
    return f"n{name}" if name[0].isdigit() else name


def _returned(value, fn) -> dict[str, NodeOutput]:
    if value is None:
        return {}
    if isinstance(value, dict) and all(isinstance(v, NodeOutput) for v in value.values()):
        bad = [key for key in value if not (isinstance(key, str) and key.isascii() and key.isidentifier())]
        _check([(("outputs", key), f"{key!r} is not an output name: use letters, digits and '_', starting with a "
                                   "letter or '_'") for key in bad], fn)
        return value
    raise ValidationError(f"@pipeline {fn.__name__}() must return None or a dict of node outputs "
                          f"({{'name': node.outputs.<output>}}), not {type(value).__name__}")


def _declaration(parameter: inspect.Parameter, value: Any) -> Input:
    """A pipeline component's input declared from its parameter: its annotation (a Python type, or Input for
    data), else the type of its default, of the data or node output given, else data (uri_folder)."""
    default = parameter.default if parameter.default is not inspect.Parameter.empty else None
    annotation = parameter.annotation
    if isinstance(annotation, str):  # from __future__ import annotations
        annotation = {"bool": bool, "int": int, "float": float, "str": str, "Input": Input}.get(annotation)
    if annotation in _TYPES:
        kind = _TYPES[annotation]
    elif type(default) in _TYPES:
        kind = _TYPES[type(default)]
    elif isinstance(value, Input):
        kind = value.type
    elif isinstance(value, NodeOutput):
        kind = getattr((value.node.component.outputs or {}).get(value.name), "type", None) or "uri_folder"
    else:
        kind = "uri_folder"
    literal = kind in LITERAL_TYPES
    return Input(type=kind, default=default if literal else None, optional=True if default is not None else None)


def _absolute(value):
    """A local data path given relative to the current folder, made absolute (as a YAML loader does)."""
    if isinstance(value, Input) and value.path and is_local(value.path) and not os.path.isabs(value.path):
        return Input(**{**vars(value), "path": os.path.abspath(value.path)})
    return value


def _check(problems: list[tuple[tuple, str]], fn) -> None:
    if problems:
        raise ValidationError([Problem(message, ".".join(map(str, path)), f"@pipeline {fn.__name__}")
                               for path, message in problems])
