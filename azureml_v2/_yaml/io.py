"""Schemas for inputs and outputs (shared by jobs, sweeps and components)."""
from __future__ import annotations

import re

from marshmallow import ValidationError, fields, validates_schema

from ..entities.inputs import (DATA_INPUT_TYPES, INPUT_MODES, INPUT_TYPES, LITERAL_TYPES, OUTPUT_MODE_ALIASES,
                               OUTPUT_MODES, TYPE_ALIASES, Input, Output, literal_problem)
from .base import BaseSchema
from .fields import Enum, LocalPath, Name, Version


class Num(fields.Field):
    """An integer or a number, kept as written (1 stays 1, 0.5 stays 0.5)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError("expected a number")
        return value


# What the service takes as an input or output name: identifiers, dotted for the inputs of a group.
PORT_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*(\.[a-zA-Z_][a-zA-Z0-9_]*)*$")


class InputSchema(BaseSchema):
    entity = Input
    type = Enum(INPUT_TYPES, aliases=TYPE_ALIASES, required=True)
    path = LocalPath()
    mode = Enum(INPUT_MODES)
    default = fields.Raw()
    optional = fields.Boolean()
    min = Num()
    max = Num()
    enum = fields.List(fields.Raw())
    description = fields.String()
    not_supported = ("datastore",)

    @validates_schema(skip_on_field_errors=False)  # a field that failed is absent from `data`
    def _consistent(self, data, **_):
        kind = data.get("type")
        if kind in LITERAL_TYPES and (data.get("path") is not None or data.get("mode") is not None):
            raise ValidationError(f"a {kind} input takes default/min/max/enum, not path or mode", "type")
        if kind in DATA_INPUT_TYPES and any(data.get(k) is not None for k in ("min", "max", "enum")):
            raise ValidationError(f"a {kind} input takes path and mode, not min/max/enum", "type")
        low, high = data.get("min"), data.get("max")
        if low is not None and high is not None and low > high:
            raise ValidationError(f"min ({low}) is greater than max ({high})", "min")
        if kind is not None and data.get("default") is not None:
            problem = literal_problem(kind, data["default"], "default")
            if problem:
                raise ValidationError(problem, "default")


class OutputSchema(BaseSchema):
    entity = Output
    type = Enum(DATA_INPUT_TYPES, aliases=TYPE_ALIASES)
    path = LocalPath(must_exist=False)
    mode = Enum(OUTPUT_MODES, aliases=OUTPUT_MODE_ALIASES)
    name = Name()
    version = Version()
    description = fields.String()


class ComponentOutputSchema(OutputSchema):
    """A component's output declaration: data, or a primitive (control) output."""

    type = Enum(INPUT_TYPES, aliases=TYPE_ALIASES)
    is_control = fields.Boolean()
    early_available = fields.Boolean()

    @validates_schema(skip_on_field_errors=False)
    def _control(self, data, **_):
        if data.get("is_control") and data.get("type") not in (*LITERAL_TYPES, None):
            raise ValidationError(f"a control output is a primitive (boolean, integer, number, string), not "
                                  f"{data.get('type')}", "is_control")
        if data.get("early_available") and not data.get("is_control"):
            raise ValidationError("only a control output (is_control: true) can be early_available",
                                  "early_available")


class InputValue(fields.Field):
    """A job input: a literal (string, number, boolean) or a mapping with a `type`."""

    _schema = None

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dict) and set(value) == {"value"}:  # a literal written as the service spells it
            value = value["value"]
            if not isinstance(value, (str, int, float, bool)):
                raise ValidationError({"value": ["expected a string, number or boolean"]})
            return value
        if isinstance(value, dict):
            if InputValue._schema is None:
                InputValue._schema = InputSchema()
            if "type" not in value and "path" in value:  # Azure ML's default for a data input
                value = {**value, "type": "uri_folder"}
            return InputValue._schema.load(value)
        if isinstance(value, (str, int, float, bool)):
            return value
        raise ValidationError("expected a literal value or a mapping with a type")

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, Input):
            if InputValue._schema is None:
                InputValue._schema = InputSchema()
            return InputValue._schema.dump(value)
        return value


class OutputValue(fields.Field):
    """A job output: a mapping, or empty for a default folder output."""

    _schema = None

    _schema_class = OutputSchema

    def _deserialize(self, value, attr, data, **kwargs):
        if self._schema is None:
            type(self)._schema = self._schema_class()
        if value is None:
            return Output()
        if isinstance(value, dict):
            return self._schema.load(value)
        raise ValidationError("expected a mapping with a type (or nothing, for a folder)")

    def _serialize(self, value, attr, obj, **kwargs):
        if self._schema is None:
            type(self)._schema = self._schema_class()
        return self._schema.dump(value) if value is not None else None

    def deserialize(self, value, attr=None, data=None, **kwargs):
        return self._deserialize(value, attr, data, **kwargs)  # null is meaningful here


class InputSpecValue(InputValue):
    """A component input declaration: always a mapping with a type."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("expected a mapping with a type")
        return super()._deserialize(value, attr, data, **kwargs)


class PortName(fields.String):
    """An input or output name: the service takes identifiers only (`${{inputs.<name>}}` names them)."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not PORT_NAME.match(value):
            raise ValidationError(f"{value!r} is not an input or output name: use letters, digits and '_', "
                                  "starting with a letter or '_'")
        return value


class Ports(fields.Dict):
    """Inputs or outputs by name; names that differ only in case clash, as they do in the service."""

    def __init__(self, values, **kwargs):
        super().__init__(keys=PortName(), values=values, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        seen: dict[str, str] = {}
        clashes = {}
        for name in result:
            other = seen.setdefault(name.lower(), name)
            if other != name:
                clashes[name] = [f"{name!r} and {other!r} differ only in case: the service takes them as one name"]
        if clashes:
            raise ValidationError(clashes)
        return result


def inputs_field(**kwargs):
    return Ports(InputValue(), **kwargs)


def input_specs_field(**kwargs):
    return Ports(InputSpecValue(), **kwargs)


def outputs_field(**kwargs):
    return Ports(OutputValue(allow_none=True), **kwargs)


class ComponentOutputValue(OutputValue):
    _schema = None
    _schema_class = ComponentOutputSchema


class NodeOutputValue(OutputValue):
    """A pipeline node's output: its own settings, or a `${{parent.outputs.<name>}}` binding."""

    _schema = None

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            return value
        return super()._deserialize(value, attr, data, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return value if isinstance(value, str) else super()._serialize(value, attr, obj, **kwargs)


def component_outputs_field(**kwargs):
    return Ports(ComponentOutputValue(allow_none=True), **kwargs)


def node_outputs_field(**kwargs):
    return Ports(NodeOutputValue(allow_none=True), **kwargs)
