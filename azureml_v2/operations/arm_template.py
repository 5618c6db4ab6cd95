"""ARM deployment templates of a job, or of an endpoint with its deployments, as the workspace holds them.

A template holds the resource and every asset version of the workspace it refers to (code, environments, models,
data, components, and what those refer to), each a `Microsoft.MachineLearningServices/workspaces/...` resource of
api-version 2024-04-01 whose `properties` are the REST body the workspace holds; references between them are
`resourceId(...)` expressions and `dependsOn` entries, the workspace is the parameter `workspaceName`. An online
endpoint's traffic names its deployments, which need the endpoint first: the endpoint is created without it and a
nested deployment, after the deployments, sets it (a batch endpoint's default deployment likewise).
"""
from __future__ import annotations

import re

from .._contract import API_VERSION, ASSET_ID, PROVIDER, STATE_PROPERTIES
from ._base import Operations

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
NESTED_API_VERSION = "2022-09-01"  # Microsoft.Resources/deployments
# what a resource's GET answers that a PUT does not send: the service's own state
_STATE = frozenset({"provisioningState", "status", "scoringUri", "swaggerUri", "latestVersion", "nextVersion",
                    "services"})
_TRACKED = ("location", "tags", "identity", "sku", "kind")  # an endpoint's or deployment's members beside properties
_SEGMENT = re.compile(r"'")


def _quote(text: str) -> str:
    return "'" + _SEGMENT.sub("''", text) + "'"


class _Template:
    """The resources gathered so far, each once, in the order they were first needed (dependencies first)."""

    def __init__(self, ml_client):
        self.ml, self.rest = ml_client, Operations(ml_client)
        self.resources: list[tuple[dict, str]] = []  # (resource, its resourceId expression)
        self.ids: dict[str, str] = {}  # path under the workspace, lower case -> resourceId expression
        self.later: list[tuple[dict, dict]] = []  # (resource, properties set once the deployments exist)
        self.scope = ml_client._scope.lower()
        self.location: str | None = None

    def resource_id(self, segments: list[str]) -> str:
        """`resourceId(...)` of a workspace resource named by its path segments under the workspace."""
        kinds, names = segments[0::2], segments[1::2]
        kind = "/".join([f"{PROVIDER}/workspaces", *kinds])
        return f"resourceId({_quote(kind)}, parameters('workspaceName'), {', '.join(map(_quote, names))})"

    def add(self, segments: list[str], *, body: dict | None = None, depends: list[str] = (),
            settle: tuple[str, ...] = ()) -> str:
        """Add the resource at `segments` (read from the workspace unless `body` is given) and, first, what it
        refers to -> its resourceId expression."""
        key = "/".join(segments).lower()
        if key in self.ids:
            return self.ids[key]
        if body is None:
            body = self.rest._get(*segments)
        refs: list[str] = []
        properties = self._rewrite({k: v for k, v in body.get("properties", {}).items() if k not in _STATE}, refs)
        if segments[0] == "jobs" and properties.get("properties"):
            properties["properties"] = {k: v for k, v in properties["properties"].items()
                                        if k not in STATE_PROPERTIES}
        if body.get("location"):  # the workspace's region: a parameter, for a deployment elsewhere
            self.location = self.location or body["location"]
            body = {**body, "location": "[parameters('location')]"}
        later = {k: properties.pop(k) for k in settle if properties.get(k)}
        resource = {"type": "/".join([f"{PROVIDER}/workspaces", *segments[0::2]]), "apiVersion": API_VERSION,
                    "name": "[concat(parameters('workspaceName'), " + _quote("/" + "/".join(segments[1::2])) + ")]",
                    **{k: body[k] for k in _TRACKED if body.get(k)}, "properties": properties}
        dependencies = [*depends, *refs]
        if dependencies:
            resource["dependsOn"] = [f"[{d}]" for d in dict.fromkeys(dependencies)]
        self.ids[key] = expression = self.resource_id(segments)
        self.resources.append((resource, expression))
        if later:
            self.later.append((resource, later))
        return expression

    def _rewrite(self, value, refs: list[str]):
        """`value` with the ids of this workspace's asset versions as resourceId expressions (the asset added)."""
        if isinstance(value, dict):
            return {k: self._rewrite(v, refs) for k, v in value.items()}
        if isinstance(value, list):
            return [self._rewrite(v, refs) for v in value]
        if not isinstance(value, str):
            return value
        m = ASSET_ID.match(value)
        if not (m and value.removeprefix("azureml:").lower().startswith(self.scope + "/")):
            return value
        if m["version"]:  # an asset version: in the template too
            expression = self.add([m["kind"], m["name"], "versions", m["version"]])
            refs.append(expression)
        else:  # a compute or a datastore: the workspace's own
            expression = self.resource_id([m["kind"], m["name"]])
        return f"[concat('azureml:', {expression})]" if value.startswith("azureml:") else f"[{expression}]"

    def document(self) -> dict:
        resources = [resource for resource, _ in self.resources]
        deployments = [f"[{expr}]" for resource, expr in self.resources if resource["type"].endswith("/deployments")]
        for number, (resource, fields) in enumerate(self.later, 1):
            inner = {k: v for k, v in resource.items() if k != "dependsOn"}
            inner["properties"] = {**resource["properties"], **fields}
            resources.append({
                "type": "Microsoft.Resources/deployments", "apiVersion": NESTED_API_VERSION,
                "name": f"[concat(deployment().name, '-settle-{number}')]", "dependsOn": deployments,
                "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "outer"},
                               "template": {"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": [inner]}}})
        parameters = {"workspaceName": {"type": "string", "defaultValue": self.ml.workspace_name,
                                        "metadata": {"description": "The Azure ML workspace."}}}
        if self.location:
            parameters["location"] = {"type": "string", "defaultValue": self.location,
                                      "metadata": {"description": "The workspace's region."}}
        return {"$schema": SCHEMA, "contentVersion": "1.0.0.0", "parameters": parameters, "resources": resources}


def job_template(ml_client, name: str) -> dict:
    """The ARM template of a job (its definition: the service's state left out) with its code, environment and
    components."""
    template = _Template(ml_client)
    template.add(["jobs", name])
    return template.document()


def endpoint_template(ml_client, name: str, *, batch: bool = False) -> dict:
    """The ARM template of an online (or batch) endpoint with all its deployments and the assets they use."""
    kind = "batchEndpoints" if batch else "onlineEndpoints"
    template = _Template(ml_client)
    endpoint = template.add([kind, name], settle=("defaults",) if batch else ("traffic", "mirrorTraffic"))
    deployments = template.rest._paged(lambda r: r, kind, name, "deployments")
    for deployment in sorted(deployments, key=lambda d: d["name"]):
        template.add([kind, name, "deployments", deployment["name"]], body=deployment, depends=[endpoint])
    return template.document()
