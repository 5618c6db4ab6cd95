"""Schemas for Code, Data and Environment assets."""
from __future__ import annotations

from marshmallow import ValidationError, fields, validates_schema

from .._contract import DATA_TYPES
from ..entities.assets import BuildContext, Code, Data, Environment, InferenceConfig, Route
from .base import BaseSchema
from .fields import NAME_PATTERN, Enum, LocalPath, Name, StrMap, Version, shown


class AssetSchema(BaseSchema):
    schema = fields.String(data_key="$schema")
    name = Name()
    version = Version()
    description = fields.String()
    tags = StrMap(nulls=True)
    properties = StrMap(nulls=True)


class CodeSchema(AssetSchema):
    entity = Code
    path = LocalPath(required=True)


class DatastoreName(fields.String):
    """The datastore a local path is uploaded to: `name` or `azureml:name`."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not NAME_PATTERN.match(value.removeprefix("azureml:")):
            raise ValidationError(f"invalid datastore {shown(value)}: expected a datastore name or azureml:<name>")
        return value


class DataSchema(AssetSchema):
    entity = Data
    type = Enum(DATA_TYPES)
    path = LocalPath(required=True)
    datastore = DatastoreName()


class RouteSchema(BaseSchema):
    entity = Route
    path = fields.String(required=True)
    port = fields.Integer(required=True)


class InferenceConfigSchema(BaseSchema):
    entity = InferenceConfig
    liveness_route = fields.Nested(RouteSchema)
    readiness_route = fields.Nested(RouteSchema)
    scoring_route = fields.Nested(RouteSchema)


class BuildSchema(BaseSchema):
    entity = BuildContext
    path = LocalPath(required=True)
    dockerfile_path = fields.String()


class CondaFile(LocalPath):
    """A path to a conda YAML file, or its content inline."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dict):
            return value
        return super()._deserialize(value, attr, data, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return value if isinstance(value, dict) else super()._serialize(value, attr, obj, **kwargs)


class EnvironmentSchema(AssetSchema):
    entity = Environment
    image = fields.String()
    conda_file = CondaFile()
    build = fields.Nested(BuildSchema)
    inference_config = fields.Nested(InferenceConfigSchema)
    os_type = Enum(("linux", "windows"))
    not_supported = ("datastore", "intellectual_property", "interpreter_path")  # the last: preview only

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _has_base(self, data, original, **_):
        # what was written, not what loaded: an `image` or `build` that failed its field still counts
        if not isinstance(original, dict):
            return
        if original.get("image") is None and original.get("build") is None:
            raise ValidationError("an environment needs an `image` or a `build` context", "image")
        if original.get("image") is not None and original.get("build") is not None:
            raise ValidationError("give either `image` or `build`, not both", "build")
