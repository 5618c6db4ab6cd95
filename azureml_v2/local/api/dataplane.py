"""The dataset and model data planes' batch resolution, what azure-ai-ml's ``jobs.download`` asks after reading a
run's outputs from the run history: the asset ids the run history names for a job's outputs -> where each output is
stored (an ``azureml://datastores/...`` URI, which azure-ai-ml then lists and reads on the blob endpoint).

    POST /data/v1.0/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/
        workspaces/{workspace}/dataversion/batchGetResolvedUris           {"values": [id, ...]}
        -> {"values": {id: {"uri": ..., "type": ...}}}
    POST /modelregistry/v1.0/subscriptions/{s}/.../workspaces/{workspace}/models/batchGetResolvedUris
        {"values": [id, ...]} -> {"values": {id: {"path": ..., "type": ...}}}

As on Azure ML, each output of a job is an asset of its own, named ``azureml_<job>_output_data_<output>`` (a model
output ``azureml_<job>_output_model_<output>``), version 1, in ``azureml://locations/...`` form. An id that names no
output of a job of the workspace is left out of the answer.
"""
from __future__ import annotations

import re

from ..._contract import MODEL_TYPES, PROVIDER
from ..core.refs import References, RefError
from ..core.workspace import Store
from .http import HttpError, JsonApi, Request, invalid, workspace_route

DATA_PLANE_PATHS = ("/data/v1.0/", "/modelregistry/v1.0/")
_ROUTES = {"/data/v1.0/": (["dataversion", "batchGetResolvedUris"], "data", "uri"),
           "/modelregistry/v1.0/": (["models", "batchGetResolvedUris"], "model", "path")}
_OUTPUT_ASSET = re.compile(r"azureml://locations/[^/]+/workspaces/(?P<ws>[^/]+)/(?:data|models)/"
                           r"azureml_(?P<rest>.+)/versions/1")
_MODEL_TYPE_NAMES = {"custom_model": "CustomModel", "mlflow_model": "MLFlowModel", "triton_model": "TritonModel"}
_FOLDER_TYPES = ("uri_folder", "mltable", *MODEL_TYPES)
_MAX_IDS = 1000
_OUTPUT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-]{0,254}")


def output_assets(ws: str, job: str, outputs: dict) -> dict:
    """The run history's outputs of job `job` (its REST `outputs`): {name: TypedAssetReference {assetId, type}}.
    A name a client could not make a folder of (azure-ai-ml downloads an output to a folder of its name) is left
    out."""
    assets = {}
    for name, spec in outputs.items():
        if not _OUTPUT_NAME.fullmatch(name):
            continue
        kind = spec.get("jobOutputType", "uri_folder")
        plane, collection = ("model", "models") if kind in MODEL_TYPES else ("data", "data")
        assets[name] = {"assetId": f"azureml://locations/local/workspaces/{ws}/{collection}/"
                                   f"azureml_{job}_output_{plane}_{name}/versions/1",
                        "type": _MODEL_TYPE_NAMES.get(kind, kind)}
    return assets


class DataPlaneApi(JsonApi):
    """The two batch resolutions over a home's store (see the module docstring), as a WSGI app."""

    def __init__(self, store: Store, max_body: int):
        self.store, self.max_body = store, max_body

    def _handle(self, environ):
        path = environ.get("PATH_INFO", "")
        prefix = next(p for p in DATA_PLANE_PATHS if path.startswith(p))
        tail, plane, key = _ROUTES[prefix]
        route = workspace_route(path, prefix, PROVIDER)
        if route is None or route[1] != tail:
            raise HttpError(404, "ResourceNotFound", f"the local workspace answers POST {prefix}.../workspaces/"
                                                     f"{{workspace}}/{'/'.join(tail)} of this data plane")
        if environ.get("REQUEST_METHOD") != "POST":
            raise HttpError(405, "MethodNotAllowed", f"{'/'.join(tail)} is a POST")
        ws, _ = route
        self.store.get_workspace(ws)
        ids = Request(environ, self.max_body).json("the request needs a JSON body {\"values\": [asset id, ...]}") \
            .get("values")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or len(ids) > _MAX_IDS:
            raise invalid(f"'values' must be a list of at most {_MAX_IDS} asset ids (strings)")
        found = {}
        for asset_id in ids:
            resolved = self._resolve(ws, asset_id, plane)
            if resolved is not None:
                found[asset_id] = {key: resolved[0], "type": resolved[1]}
        return 200, {"values": found}

    def _resolve(self, ws: str, asset_id: str, plane: str) -> tuple[str, str] | None:
        """(where the output an id names is stored, its type) or None. The job's name and the output's may both
        hold `_output_<plane>_`: every split is tried against the store."""
        m = _OUTPUT_ASSET.fullmatch(asset_id)
        if not m or m.group("ws") != ws:
            return None
        rest, marker = m.group("rest"), f"_output_{plane}_"
        refs = References(self.store, ws)
        at = rest.find(marker)
        while at > 0:
            job, output = rest[:at], rest[at + len(marker):]
            if not _OUTPUT_NAME.fullmatch(output):  # as the run history names them
                return None
            try:
                owner, key, spec = refs.output_owner(job, output, f"output {output!r}", completed=False)
            except RefError:
                at = rest.find(marker, at + 1)
                continue
            kind = spec.get("jobOutputType", "uri_folder")
            uri = refs.stored_output(owner, key, spec)[0]
            if kind in _FOLDER_TYPES and not uri.endswith("/"):
                uri += "/"  # a folder's blobs, not those of its namesakes with a longer name
            return uri, _MODEL_TYPE_NAMES.get(kind, kind)
        return None
