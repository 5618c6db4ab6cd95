"""Model assets: a file or folder (local, in a datastore, a job's output) with its format."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._base import Asset
from .assets import _asset_fields, _asset_rest
from ._rest import literal

# The control plane stores and returns snake_case (what az ml and azure-ai-ml send); the spec's
# examples and RunHistory spell the same types in PascalCase. Both read as the same type.
_PASCAL = {"custommodel": "custom_model", "mlflowmodel": "mlflow_model", "tritonmodel": "triton_model"}


def canonical_model_type(value: str | None) -> str | None:
    if value is None:
        return None
    return _PASCAL.get(value.lower().replace("_", ""), value)


@dataclass(kw_only=True)
class Model(Asset):
    """A model: `path` is a local file or folder, or a URI (azureml://jobs/<job>/outputs/...,
    azureml://datastores/..., runs:/<run>/<path>, https://...).

    `flavors` maps an MLflow flavor name to its settings (`{"python_function": {"loader_module": ...}}`).
    """

    type: str = "custom_model"
    path: str | None = None
    flavors: dict[str, dict[str, Any] | None] | None = None
    stage: str | None = None
    job_name: str | None = None
    datastore: str | None = None  # where a local path is uploaded (default: the workspace's default datastore)
    utc_time_created: str | None = None  # when the model was made, as its author wrote it (not sent: no REST field)

    def _rest(self, scope: str) -> dict:
        # state the service holds that YAML does not describe, sent back unchanged on update
        kept = getattr(self, "_kept", {})
        model_type = self.type
        if canonical_model_type(kept.get("modelType")) == model_type:
            model_type = kept["modelType"]
        flavors = None
        if self.flavors is not None:
            # flavor data is a string map on the wire; YAML users also write numbers and booleans
            flavors = {name: None if data is None else
                       {"data": {k: None if v is None else literal(v) for k, v in data.items()}}
                       for name, data in self.flavors.items()}
        return _asset_rest(self, modelType=model_type, modelUri=self.path, flavors=flavors, stage=self.stage,
                           jobName=self.job_name, isAnonymous=kept.get("isAnonymous"),
                           isArchived=kept.get("isArchived"))

    @classmethod
    def _from_rest(cls, resource: dict) -> "Model":
        props = resource.get("properties", {})
        flavors = props.get("flavors")
        if flavors is not None:
            flavors = {name: None if flavor is None else flavor.get("data") or {} for name, flavor in flavors.items()}
        model = cls(type=canonical_model_type(props.get("modelType")) or "custom_model", path=props.get("modelUri"),
                    flavors=flavors, stage=props.get("stage"), job_name=props.get("jobName"),
                    **_asset_fields(resource))
        kept = {key: props[key] for key in ("modelType", "isAnonymous", "isArchived") if props.get(key) is not None}
        if kept:
            model._kept = kept
        return model

