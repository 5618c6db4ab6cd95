"""Schema for model assets (custom_model, mlflow_model, triton_model)."""
from __future__ import annotations

import re

from marshmallow import ValidationError, fields, post_dump

from .._contract import MODEL_TYPES
from ..entities.model import Model
from .assets import AssetSchema, DatastoreName
from .fields import Enum, LocalPath, Name, StrMap, shown

_RUNS_URI = re.compile(r"^runs:/[^/\s]+/\S*$")


class ModelPath(LocalPath):
    """A local file or folder, a URI, or an MLflow `runs:/<run id>/<path>` URI."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and value.startswith("runs:"):
            if not _RUNS_URI.match(value):
                raise ValidationError(f"malformed MLflow URI {shown(value)}: expected runs:/<run id>/<path in the run>")
            return value
        return super()._deserialize(value, attr, data, **kwargs)


class ModelSchema(AssetSchema):
    entity = Model
    name = Name(required=True)
    type = Enum(MODEL_TYPES)
    path = ModelPath(required=True)
    # one flavor's settings: names to plain values, null included (MLmodel files write `code: null`)
    flavors = fields.Dict(keys=fields.String(), values=StrMap(nulls=True, allow_none=True))
    stage = fields.String()
    job_name = Name()
    datastore = DatastoreName()
    utc_time_created = fields.String()  # YAML timestamps load as the text written
    not_supported = ("intellectual_property", "default_deployment_template")

    @post_dump
    def _drop_default_type(self, data, **_):
        if data.get("type") == "custom_model":  # the default: not written unless it says something
            del data["type"]
        return data
