"""JSON Schemas of the YAML kinds, generated from the marshmallow schemas the loaders use, for editors (VS Code's
YAML extension completes and checks a file against the schema its `$schema` names).

A small converter over our own field types: marshmallow-jsonschema and apispec know marshmallow's built-in fields
but not the type switches, references and local paths these schemas are made of. What a field checks in code
(a reference's grammar, a path's existence, checks across fields) stays the loader's: the JSON Schema says the
shape (which keys, their types, enums, required keys, name patterns), never refusing what the loader accepts.
"""
from __future__ import annotations

import json
import os

from marshmallow import RAISE, Schema, fields

from .api import _schema
from .endpoints import ModelField, Percentages
from .fields import NAME_PATTERN, Duration, Enum, Name, Reference, StrMap, Switch, Version
from .io import InputSchema, InputSpecValue, InputValue, Num, OutputValue
from .jobs import EnvironmentField

DRAFT = "http://json-schema.org/draft-07/schema#"
# kind (as Azure ML's `$schema` URLs name it: .../latest/<kind>.schema.json) -> (module under _yaml, schema)
KINDS = {
    "commandJob": ("jobs", "CommandJobSchema"),
    "sweepJob": ("sweep", "SweepJobSchema"),
    "pipelineJob": ("pipelines", "PipelineJobSchema"),
    "commandComponent": ("jobs", "CommandComponentSchema"),
    "parallelComponent": ("pipelines", "ParallelComponentSchema"),
    "pipelineComponent": ("pipelines", "PipelineComponentSchema"),
    "code": ("assets", "CodeSchema"),
    "data": ("assets", "DataSchema"),
    "environment": ("assets", "EnvironmentSchema"),
    "model": ("models", "ModelSchema"),
    "azureBlob": ("datastores", "AzureBlobSchema"),
    "azureFile": ("datastores", "AzureFileSchema"),
    "azureDataLakeGen1": ("datastores", "AzureDataLakeGen1Schema"),
    "azureDataLakeGen2": ("datastores", "AzureDataLakeGen2Schema"),
    "managedOnlineEndpoint": ("endpoints", "ManagedOnlineEndpointSchema"),
    "kubernetesOnlineEndpoint": ("endpoints", "KubernetesOnlineEndpointSchema"),
    "batchEndpoint": ("endpoints", "BatchEndpointSchema"),
    "managedOnlineDeployment": ("endpoints", "ManagedOnlineDeploymentSchema"),
    "kubernetesOnlineDeployment": ("endpoints", "KubernetesOnlineDeploymentSchema"),
    "modelBatchDeployment": ("endpoints", "ModelBatchDeploymentSchema"),
    "pipelineComponentBatchDeployment": ("endpoints", "PipelineComponentBatchDeploymentSchema"),
    "schedule": ("schedules", "JobScheduleSchema"),
}
_LITERAL = {"type": ["string", "number", "boolean"]}


def kind_schema(kind: str) -> dict:
    """The JSON Schema (draft 7) of one YAML kind."""
    converter = _Converter()
    document = converter.schema(_schema(*KINDS[kind]))
    return {"$schema": DRAFT, "title": f"Azure ML {kind} YAML", **document, "definitions": converter.definitions}


def export_schemas(folder) -> list[str]:
    """Write `<kind>.schema.json` for every kind into `folder` -> the files written."""
    os.makedirs(folder, exist_ok=True)
    written = []
    for kind in KINDS:
        path = os.path.join(folder, f"{kind}.schema.json")
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(kind_schema(kind), fh, indent=2, sort_keys=False)
            fh.write("\n")
        written.append(path)
    return written


def _any_case(values) -> dict:
    """Enum values matched as the loader matches them, case-insensitively; `enum` gives editors the spellings."""
    pattern = "|".join("".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else _escape(c) for c in v)
                       for v in values)
    return {"type": "string", "anyOf": [{"enum": list(values)}, {"pattern": f"^(?:{pattern})$"}]}


def _escape(c: str) -> str:
    return "\\" + c if c in r"\.^$|?*+()[]{}/-" else c


class _Converter:
    """marshmallow schemas -> JSON Schema; each schema class once, under `definitions`."""

    def __init__(self):
        self.definitions: dict[str, dict] = {}

    def schema(self, schema: Schema, *, const: tuple[str, str] | None = None, optional: tuple[str, ...] = ()) -> dict:
        properties, required = {}, []
        for name, field in schema.fields.items():
            if field.dump_only:
                continue
            key = field.data_key or name
            properties[key] = self.field(field)
            if field.required and key not in optional:
                required.append(key)
        for key in getattr(schema, "not_supported", ()):  # Azure ML takes them; the loader says it does not yet
            properties.setdefault(key, {})
        if const is not None:
            properties[const[0]] = {**_any_case([const[1]])}
        closed = schema.unknown == RAISE  # a schema that passes other keys on takes any
        out = {"type": "object", "properties": properties, "additionalProperties": not closed}
        if required:
            out["required"] = required
        return out

    def ref(self, schema: Schema, const: tuple[str, str] | None = None, optional: tuple[str, ...] = ()) -> dict:
        name = "_".join([type(schema).__name__, *([const[1]] if const else ()), *optional])
        if name not in self.definitions:
            self.definitions[name] = {}  # recursive schemas (pipeline components) refer to it while it is made
            self.definitions[name] = self.schema(schema, const=const, optional=optional)
        return {"$ref": f"#/definitions/{name}"}

    def field(self, field: fields.Field) -> dict:  # noqa: C901 - one branch per field type
        if isinstance(field, Switch):
            options = [self.ref(field.schema_for(name), (field.key, name)) for name in field.choices]
            return {"anyOf": options}
        if isinstance(field, Enum):
            return _any_case(field.values)
        if isinstance(field, Name):
            return {"type": "string", "pattern": NAME_PATTERN.pattern}
        if isinstance(field, (Version,)):
            return {"type": ["string", "integer", "number"]}
        if isinstance(field, Duration):
            return {"type": ["integer", "number", "string"]}
        if isinstance(field, (Num, fields.Float)) or type(field) is fields.Number:
            return {"type": "number"}
        if isinstance(field, fields.Integer):
            return {"type": "integer"}
        if isinstance(field, fields.Boolean):
            return {"type": "boolean"}
        if isinstance(field, StrMap):
            return {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean", "null"]}}
        if isinstance(field, Percentages):
            return {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 100}}
        if isinstance(field, fields.Nested):
            nested = self.ref(field.schema)
            return {"type": "array", "items": nested} if field.many else nested
        if isinstance(field, fields.List):
            return {"type": "array", "items": self.field(field.inner)}
        if isinstance(field, fields.Dict):
            values = self.field(field.value_field) if field.value_field is not None else {}
            return {"type": "object", "additionalProperties": values}
        if isinstance(field, InputSpecValue):
            return self.ref(InputSchema())
        if isinstance(field, InputValue):
            # a literal, the service's `{value: ...}`, or a data input (whose type defaults to uri_folder)
            return {"anyOf": [_LITERAL, {"type": "object", "properties": {"value": _LITERAL}, "required": ["value"],
                                         "additionalProperties": False},
                              self.ref(InputSchema(), optional=("type",))]}
        if isinstance(field, OutputValue):
            return {"anyOf": [{"type": "null"}, self.ref(field._schema_class())]}
        if isinstance(field, EnvironmentField):
            return {"anyOf": [{"type": "string"}, self.ref(field.schema())]}
        if isinstance(field, ModelField):
            return {"anyOf": [{"type": "string"}, self.ref(_schema("endpoints", "InlineModelSchema"))]}
        if isinstance(field, (fields.String, Reference)):
            return {"type": "string"}
        return {}  # a field whose shape its code decides (a node, credentials): any value, the loader checks it

