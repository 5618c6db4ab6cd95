"""Inputs and outputs of jobs and components, and their REST forms."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._refs import LOCAL_SCOPE, to_arm
from ._rest import compact, literal

DATA_INPUT_TYPES = ("uri_file", "uri_folder", "mltable", "mlflow_model", "custom_model", "triton_model")
LITERAL_TYPES = ("integer", "number", "string", "boolean")
INPUT_TYPES = DATA_INPUT_TYPES + LITERAL_TYPES
INPUT_MODES = ("ro_mount", "download", "direct", "eval_mount", "eval_download")
OUTPUT_MODES = ("rw_mount", "upload", "direct")

_MODE_REST = {"ro_mount": "ReadOnlyMount", "rw_mount": "ReadWriteMount", "download": "Download",
              "direct": "Direct", "eval_mount": "EvalMount", "eval_download": "EvalDownload", "upload": "Upload"}
_MODE_YAML = {v: k for k, v in _MODE_REST.items()}


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


def inputs_to_rest(inputs: dict | None, scope: str = LOCAL_SCOPE) -> dict | None:
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
            out[key] = compact({"jobInputType": value.type, "uri": to_arm(value.path, "data", scope),
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


def outputs_to_rest(outputs: dict | None, scope: str = LOCAL_SCOPE) -> dict | None:
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
