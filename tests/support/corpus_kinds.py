"""What each corpus YAML is, and the local paths the corpus names but does not ship."""
from __future__ import annotations

import os
from pathlib import Path

import yaml

_KINDS_BY_SCHEMA = {
    "commandJob": "job", "sweepJob": "job", "pipelineJob": "job", "autoMLJob": "job", "sparkJob": "job",
    "data": "data", "environment": "environment", "model": "model",
    "commandComponent": "component", "pipelineComponent": "component", "sparkComponent": "component",
    "azureBlob": "datastore", "azureFile": "datastore", "azureDataLakeGen1": "datastore",
    "azureDataLakeGen2": "datastore",
    "amlCompute": "compute", "computeInstance": "compute", "vmCompute": "compute",
    "workspace": "workspace", "Connection": "connection", "Schedule": "schedule", "DataImport": "data_import",
    "registry": "registry",
    "managedOnlineEndpoint": "online_endpoint", "kubernetesOnlineEndpoint": "online_endpoint",
    "managedOnlineDeployment": "online_deployment", "kubernetesOnlineDeployment": "online_deployment",
    "batchEndpoint": "batch_endpoint", "batchDeployment": "batch_deployment",
    "modelBatchDeployment": "batch_deployment", "pipelineComponentBatchDeployment": "batch_deployment",
}
# kinds that load_* functions read (the others belong to later work and other resources)
ASSET_KINDS = ("job", "data", "environment", "model", "component", "datastore", "online_endpoint",
               "online_deployment", "batch_endpoint", "batch_deployment")


def kind_of(path: Path) -> str:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        return "other"
    schema = str(data.get("$schema", "")).strip()
    stem = schema.rsplit("/", 1)[-1].split(".")[0]
    if stem in _KINDS_BY_SCHEMA:
        return _KINDS_BY_SCHEMA[stem]
    if not schema and ("dependencies" in data or "channels" in data or "paths" in data):
        return "other"  # conda files and MLTable specs that assets point at
    if not schema and ("managed_network" in data or set(data) <= {"identity", "name", "description", "tags"}):
        return "workspace"  # `az ml workspace update` fragments kept beside the spark jobs
    parts = path.parts
    for folder, kind in (("datastore", "datastore"), ("compute", "compute"), ("connections", "connection"),
                         ("registry", "registry"), ("workspace", "workspace"), ("jobs", "job"),
                         ("environment", "environment"), ("model", "model"), ("component", "component"),
                         ("data", "data")):
        if folder in parts:
            return kind
    return "other"


def corpus_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())


def _local_paths(node, key=None):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _local_paths(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from _local_paths(v, key)
    elif isinstance(node, str) and key in ("code", "path", "conda_file", "additional_includes"):
        if "://" not in node and not node.startswith(("azureml:", "$", "git+", "/subscriptions")):
            yield node


def create_missing_paths(root: Path) -> list[Path]:
    """Create, empty, the files and folders the YAMLs name that the corpus left out."""
    made = []
    for path in corpus_files(root):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError:
            continue
        for value in _local_paths(data):
            target = Path(os.path.normpath(path.parent / value))
            if target.exists() or root not in target.parents:
                continue
            if target.suffix:  # names a file (model.pkl, titanic.csv)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(b"")
            else:
                target.mkdir(parents=True)
            made.append(target)
    return made
