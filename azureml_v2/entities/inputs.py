"""Inputs and outputs of jobs and components, their REST forms, and the command placeholders naming them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._contract import MODEL_TYPES, placeholders, stray_openings, to_arm, unclosed_optional_block
from ..exceptions import suggest
from ._rest import compact

DATA_INPUT_TYPES = ("uri_file", "uri_folder", "mltable", "mlflow_model", "custom_model", "triton_model")
LITERAL_TYPES = ("integer", "number", "string", "boolean")
INPUT_TYPES = DATA_INPUT_TYPES + LITERAL_TYPES
INPUT_MODES = ("ro_mount", "download", "direct", "eval_mount", "eval_download")
OUTPUT_MODES = ("rw_mount", "upload", "direct")
# Other spellings the service takes: `path`, the port type of the first component specs, is a folder; an output's
# `mount` is a read-write mount.
TYPE_ALIASES = {"path": "uri_folder"}
OUTPUT_MODE_ALIASES = {"mount": "rw_mount"}

_MODE_REST = {"ro_mount": "ReadOnlyMount", "rw_mount": "ReadWriteMount", "download": "Download",
              "direct": "Direct", "eval_mount": "EvalMount", "eval_download": "EvalDownload", "upload": "Upload"}
_MODE_YAML = {v: k for k, v in _MODE_REST.items()}


def literal_problem(kind: str, value, what: str) -> str | None:
    """Why `value` (a `what`: a default, or a value given to a port) cannot be taken by a `kind` input, as the
    service parses it, or None. Text is parsed ('3' is an integer, 'abc' is not); YAML's own types must fit."""
    if kind in DATA_INPUT_TYPES:
        return None if isinstance(value, str) else f"a {kind} {what} is a path or URI, not {type(value).__name__}"
    if kind == "string":
        return None
    if isinstance(value, str):  # written quoted: the service parses the text
        text = value.strip().lower()
        if kind == "boolean":
            return None if text in ("true", "false") else f"a boolean {what} is true or false, got {value!r}"
        try:
            int(text) if kind == "integer" else float(text)
        except ValueError:
            return f"the {what} {value!r} is not {'an integer' if kind == 'integer' else 'a number'}"
        return None
    if kind == "boolean":
        return None if isinstance(value, bool) else f"a boolean {what} is true or false, got {value!r}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{'an' if kind == 'integer' else 'a'} {kind} {what} is a number, got {type(value).__name__}"
    if kind == "integer" and isinstance(value, float) and not value.is_integer():
        return f"an integer {what} is a whole number, got {value!r}"
    return None


@dataclass(kw_only=True)
class Input:
    """A job or component input: data (a path or reference) or a typed literal."""

    type: str = "uri_folder"
    path: str | None = None
    mode: str | None = None
    default: Any = None
    optional: bool | None = None
    min: int | float | None = None
    max: int | float | None = None
    enum: list | None = None
    description: str | None = None


@dataclass(kw_only=True)
class Output:
    """A job or component output; with `name` (and `version`) it is registered as an asset."""

    type: str = "uri_folder"
    path: str | None = None
    mode: str | None = None
    name: str | None = None
    version: str | None = None
    description: str | None = None
    is_control: bool | None = None  # a component's primitive output that steers the pipeline (if_else)
    early_available: bool | None = None  # a control output readable before its node ends


def literal(value) -> str:
    """A literal input's value on the wire, as azure-ai-ml and the service write it: Python's `str`, so a boolean
    is `True`/`False`. The service puts this text on the command line as it is."""
    return str(value)


def _typed(kind: str, value):
    """A component input's default/min/max as azure-ai-ml sends it: the value parsed as the input's type, then its
    text (a number input's `0` or `1e-3` is `0.0` or `0.001`), which the service renders on the command line when
    the input is not given."""
    try:
        if kind == "integer":
            value = int(float(value))
        elif kind == "number":
            value = float(value)
        elif kind == "boolean" and str(value).lower() in ("true", "false"):
            value = str(value).lower() == "true"
    except (TypeError, ValueError):
        pass  # not of its type: the schema reports it, the text goes as it is
    return literal(value)


def _parsed(kind: str, text):
    """The inverse of `_typed`: `True`, `0.5`, `3` read back as the input's type (other text as it is)."""
    if not isinstance(text, str):
        return text
    try:
        if kind == "boolean" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        if kind == "integer":
            return int(float(text))
        if kind == "number":
            return float(text)
    except ValueError:
        pass
    return text


_BOUNDS = ("default", "min", "max")


def spec_inputs_to_rest(inputs: dict | None) -> dict | None:
    """A component's YAML-shaped input declarations with default, min and max as strings (azure-ai-ml's form)."""
    if not inputs:
        return inputs
    return {name: {k: _typed(spec.get("type"), v) if k in _BOUNDS and v is not None else v for k, v in spec.items()}
            for name, spec in inputs.items()}


def spec_inputs_from_rest(inputs: dict | None) -> dict | None:
    """Component input declarations from the wire, their default, min and max typed again for YAML."""
    if not isinstance(inputs, dict):
        return inputs
    return {name: {k: _parsed(spec.get("type"), v) if k in _BOUNDS else v for k, v in spec.items()}
            if isinstance(spec, dict) else spec for name, spec in inputs.items()}


def inputs_to_rest(inputs: dict | None, scope: str) -> dict | None:
    if inputs is None:
        return None
    out = {}
    for key, value in inputs.items():
        if not isinstance(value, Input):
            out[key] = {"jobInputType": "literal", "value": literal(value)}
        elif value.type in LITERAL_TYPES:
            out[key] = compact({"jobInputType": "literal", "value": literal(value.default),
                                "description": value.description})
        else:
            kind = "models" if value.type in MODEL_TYPES else "data"  # `azureml:name:version` names a model or data
            out[key] = compact({"jobInputType": value.type, "uri": to_arm(value.path, kind, scope),
                                "mode": _MODE_REST.get(value.mode), "description": value.description})
    return out


def inputs_from_rest(body: dict | None) -> dict | None:
    if not body:
        return None
    out = {}
    for key, value in body.items():
        if value.get("jobInputType") == "literal":
            out[key] = value.get("value") if not value.get("description") else Input(
                type="string", default=value.get("value"), description=value["description"])
        else:
            out[key] = Input(type=value["jobInputType"], path=value.get("uri"),
                             mode=_MODE_YAML.get(value.get("mode")), description=value.get("description"))
    return out


def outputs_to_rest(outputs: dict | None, scope: str) -> dict | None:
    if outputs is None:
        return None
    out = {}
    for key, value in outputs.items():
        value = value if isinstance(value, Output) else Output()
        out[key] = compact({"jobOutputType": value.type, "uri": value.path, "mode": _MODE_REST.get(value.mode),
                            "assetName": value.name, "assetVersion": value.version,
                            "description": value.description})
    return out


def outputs_from_rest(body: dict | None) -> dict | None:
    if not body:
        return None
    return {key: Output(type=value["jobOutputType"], path=value.get("uri"), mode=_MODE_YAML.get(value.get("mode")),
                        name=value.get("assetName"), version=value.get("assetVersion"),
                        description=value.get("description"))
            for key, value in body.items()}


def placeholder_problems(command: str, declared: dict[str, object]) -> list[str]:
    """Problems with the `${{root.name}}` placeholders of `command`.

    `declared` maps each root the command may use (inputs, outputs, search_space ...) to the
    names declared under it (a mapping or list), or to None when those could not be read.
    """
    problems = []
    if unclosed_optional_block(command):
        problems.append("unclosed optional block: every `$[[` needs its `]]`")
    for text in stray_openings(command):
        problems.append(f"{text}: not a placeholder; expected " +
                        " or ".join(f"${{{{{r}.<name>}}}}" for r in declared) + " (closed by }}, no brace inside)")
    for placeholder in placeholders(command):
        expr, root = placeholder.expression, placeholder.root
        if root not in declared:
            problems.append(f"${{{{{expr}}}}}: unknown placeholder; use " +
                            " or ".join(f"${{{{{r}.<name>}}}}" for r in declared) + suggest(root, declared))
            continue
        names = declared[root]
        if names is None:
            continue
        name = placeholder.name
        if name is None:
            problems.append(f"${{{{{expr}}}}}: expected ${{{{{root}.<name>}}}}")
        elif name not in names:
            known = ", ".join(map(str, names)) if names else "none"
            singular = root.rstrip("s") if root.endswith("s") else root
            problems.append(f"${{{{{expr}}}}}: no {singular} named {name!r} is declared (declared: {known})"
                            + suggest(name, [str(n) for n in names]))
    return problems
