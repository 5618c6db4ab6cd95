"""ARM templates of a job and of an endpoint with its deployments: the template has the structure of an ARM
deployment template, every resource body is spec-valid, and dependsOn orders code/environment/component -> job and
endpoint -> deployments -> traffic."""
from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest

from azureml_v2 import load_component, load_environment, load_job, load_online_deployment, load_online_endpoint
from azureml_v2.entities import Model
from azureml_v2.operations.arm_template import endpoint_template, job_template

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
# The documented required structure of an ARM deployment template (schema.management.azure.com's
# deploymentTemplate.json is not shipped by any package this project can install): the members a template must
# have, and the shape of its parameters and resources.
DEPLOYMENT_TEMPLATE = {
    "type": "object",
    "required": ["$schema", "contentVersion", "resources"],
    "additionalProperties": False,
    "properties": {
        "$schema": {"type": "string", "pattern": r"^https://schema\.management\.azure\.com/schemas/"
                                                r"\d{4}-\d{2}-\d{2}/deploymentTemplate\.json#$"},
        "contentVersion": {"type": "string", "pattern": r"^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$"},
        "parameters": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["type"],
            "properties": {"type": {"enum": ["string", "securestring", "int", "bool", "object", "secureObject",
                                             "array"]},
                           "metadata": {"type": "object"}}}},
        "variables": {"type": "object"}, "functions": {"type": "array"}, "outputs": {"type": "object"},
        "resources": {"type": "array", "items": {"$ref": "#/definitions/resource"}},
    },
    "definitions": {"resource": {
        "type": "object", "required": ["type", "apiVersion", "name"],
        "properties": {
            "type": {"type": "string", "pattern": r"^[A-Za-z.]+/[A-Za-z/]+$"},
            "apiVersion": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}(-preview)?$"},
            "name": {"type": "string", "minLength": 1},
            "location": {"type": "string"}, "tags": {"type": "object"}, "sku": {"type": "object"},
            "kind": {"type": "string"}, "identity": {"type": "object"}, "properties": {"type": "object"},
            "dependsOn": {"type": "array", "items": {"type": "string"}, "uniqueItems": True}},
    }},
}
_ID = re.compile(r"^\[resourceId\('(?P<type>[^']+)', parameters\('workspaceName'\), (?P<names>.+)\)\]$")


@pytest.fixture
def client_api():
    """Templates are made with a synchronous MLClient."""
    return "sync"


def _resource_id(resource: dict) -> str:
    names = resource["name"].split("'")[3].strip("/").split("/")  # [concat(parameters('workspaceName'), '/a/b')]
    return f"[resourceId('{resource['type']}', parameters('workspaceName'), {', '.join(repr(n) for n in names)})]"


def _check(template: dict, ml_client, rest_validate) -> dict[str, dict]:
    """The template validates as a deployment template, every resource's body against the spec, and every dependsOn
    names a resource before it -> its resources by resourceId."""
    jsonschema.validate(template, DEPLOYMENT_TEMPLATE)
    seen: dict[str, dict] = {}
    for resource in template["resources"]:
        assert all(d in seen for d in resource.get("dependsOn", ())), resource["dependsOn"]
        if resource["type"] == "Microsoft.Resources/deployments":
            jsonschema.validate(resource["properties"]["template"], DEPLOYMENT_TEMPLATE)
            resource = resource["properties"]["template"]["resources"][0]
        else:
            assert resource["apiVersion"] == "2024-04-01" and resource["type"].startswith(
                "Microsoft.MachineLearningServices/workspaces/")
            seen[_resource_id(resource)] = resource
        m = _ID.match(_resource_id(resource))
        kinds = m["type"].split("/")[2:]
        names = [n.strip("'") for n in m["names"].split(", ")]
        path = "/workspaces/w/" + "/".join(f"{k}/{n}" for k, n in zip(kinds, names))
        body = {k: v for k, v in resource.items() if k in ("properties", "location", "sku", "identity", "tags", "kind")}
        assert rest_validate(body, ml_client.sent.definition(path)) == [], (path, body)
    return seen


def _id(kind: str, *names: str) -> str:
    return (f"[resourceId('Microsoft.MachineLearningServices/workspaces/{kind}', parameters('workspaceName'), "
            + ", ".join(f"'{n}'" for n in names) + ")]")


def test_a_command_job_depends_on_its_code_and_environment(ml_client, rest_validate):
    job = ml_client.jobs.create_or_update(load_job(EXAMPLES / "inputs-outputs/job.yml"))
    template = job_template(ml_client, job.name)
    resources = _check(template, ml_client, rest_validate)
    code_name = job.code.split("/codes/")[1].split("/")[0]
    environment_version = job.environment.rsplit("/", 1)[1]
    job_resource = resources[_id("jobs", job.name)]
    assert job_resource["dependsOn"] == [_id("codes/versions", code_name, "1"),
                                         _id("environments/versions", "CliV2AnonymousEnvironment",
                                             environment_version)]
    assert job_resource["properties"]["codeId"] == _id("codes/versions", code_name, "1")
    assert job_resource["properties"]["computeId"] == _id("computes", "local")
    assert template["parameters"]["workspaceName"]["defaultValue"] == "local"


def test_a_pipeline_job_depends_on_its_components_and_they_on_their_code(ml_client, rest_validate):
    ml_client.environments.create_or_update(load_environment(EXAMPLES / "lightgbm/environment/environment.yml"))
    job = ml_client.jobs.create_or_update(load_job(EXAMPLES / "pipeline/pipeline.yml"))
    resources = _check(job_template(ml_client, job.name), ml_client, rest_validate)
    pipeline = resources[_id("jobs", job.name)]
    components = [d for d in pipeline["dependsOn"] if "components/versions" in d]
    assert len(components) == 3
    assert all(any("codes/versions" in d for d in resources[c]["dependsOn"]) for c in components)


def test_an_endpoint_with_its_deployments_and_traffic(ml_client, rest_validate, tmp_path):
    (tmp_path / "model.txt").write_text("tree\n")
    ml_client.models.create_or_update(Model(name="lightgbm-diabetes", path=str(tmp_path / "model.txt")))
    ml_client.online_endpoints.begin_create_or_update(load_online_endpoint(EXAMPLES / "endpoint/endpoint.yml")).result()
    for name in ("blue", "green"):
        deployment = load_online_deployment(EXAMPLES / f"endpoint/{name}.yml")
        ml_client.online_deployments.begin_create_or_update(deployment).result()
    endpoint = ml_client.online_endpoints.get("diabetes-endpoint")
    endpoint.traffic = {"blue": 90, "green": 10}
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()

    template = endpoint_template(ml_client, "diabetes-endpoint")
    resources = _check(template, ml_client, rest_validate)
    endpoint_id = _id("onlineEndpoints", "diabetes-endpoint")
    assert "traffic" not in resources[endpoint_id]["properties"]  # the deployments do not exist yet
    for name in ("blue", "green"):
        deployment = resources[_id("onlineEndpoints/deployments", "diabetes-endpoint", name)]
        assert deployment["dependsOn"][0] == endpoint_id
        assert _id("models/versions", "lightgbm-diabetes", "1") in deployment["dependsOn"]
        assert deployment["location"] == "[parameters('location')]"
    settle = template["resources"][-1]
    assert settle["type"] == "Microsoft.Resources/deployments"
    assert settle["dependsOn"] == [_id("onlineEndpoints/deployments", "diabetes-endpoint", n) for n in ("blue", "green")]
    assert settle["properties"]["template"]["resources"][0]["properties"]["traffic"] == {"blue": 90, "green": 10}
    assert template["parameters"]["location"]["defaultValue"] == endpoint.location
