"""Online and batch endpoints and their deployments on the local workspace's ARM API: long-running PUT and DELETE,
provisioning states, traffic rules, keys and tokens, every body the spec's."""
from __future__ import annotations

import pytest
from support.local import Client

from azureml_v2.local import make_app
from azureml_v2.local.core.endpoints import Endpoints, Provisioner

MODEL = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/" \
        "Microsoft.MachineLearningServices/workspaces/local/models/m/versions/1"
ENV = MODEL.replace("models/m", "environments/e")
ONLINE_ENDPOINT = {"location": "local", "properties": {"authMode": "Key", "description": "scores"}}
BLUE = {"location": "local", "sku": {"name": "Default", "capacity": 1},
        "properties": {"endpointComputeType": "Managed", "model": MODEL, "environmentId": ENV,
                       "codeConfiguration": {"codeId": MODEL.replace("models/m", "codes/c"),
                                             "scoringScript": "score.py"},
                       "instanceType": "Standard_DS3_v2"}}
BATCH_ENDPOINT = {"location": "local", "properties": {"authMode": "AADToken", "defaults": {"deploymentName": "one"}}}
BATCH_DEPLOYMENT = {"location": "local", "properties": {
    "model": {"referenceType": "Id", "assetId": MODEL}, "compute": "local", "resources": {"instanceCount": 2},
    "miniBatchSize": 5, "outputAction": "SummaryOnly", "retrySettings": {"maxRetries": 1, "timeout": "PT60S"}}}


@pytest.fixture
def app(home):
    app = make_app(home, page_size=3, user="tester", run_jobs=False)
    yield app
    app.close()


def follow(client, response):
    """Poll a long-running operation's Azure-AsyncOperation -> its status body."""
    assert response.status in (200, 201, 202), response.json
    return client.get(response.headers["Azure-AsyncOperation"]).json


def test_online_endpoint_and_deployment_lifecycle(client, rest_validate, rest_response):
    assert rest_validate(ONLINE_ENDPOINT, "OnlineEndpointTrackedResource") == []
    created = client.put("/onlineEndpoints/my-endpoint", ONLINE_ENDPOINT)
    assert created.status == 201 and created.headers["Location"].split("?")[0].endswith(
        created.headers["Azure-AsyncOperation"].split("/")[-1].split("?")[0])
    assert follow(client, created)["status"] == "Succeeded"
    endpoint = client.get("/onlineEndpoints/my-endpoint").json
    assert endpoint["properties"]["provisioningState"] == "Succeeded"
    assert "keys" not in endpoint["properties"]  # only listKeys shows them
    assert rest_response(endpoint, "OnlineEndpointTrackedResource") == []

    assert rest_validate(BLUE, "OnlineDeploymentTrackedResource") == []
    put = client.put("/onlineEndpoints/my-endpoint/deployments/blue", BLUE)
    assert put.status == 201 and follow(client, put)["status"] == "Succeeded"
    blue = client.get("/onlineEndpoints/my-endpoint/deployments/blue").json
    assert rest_response(blue, "OnlineDeploymentTrackedResource") == []
    props = blue["properties"]
    assert (props["provisioningState"], props["requestSettings"]["requestTimeout"], blue["sku"]["capacity"]) == (
        "Succeeded", "PT5S", 1)
    assert props["livenessProbe"]["failureThreshold"] == 30 and props["scaleSettings"] == {"scaleType": "Default"}

    # traffic only to deployments that exist, adding up to 100
    bad = client.put("/onlineEndpoints/my-endpoint", {**ONLINE_ENDPOINT, "properties": {
        **ONLINE_ENDPOINT["properties"], "traffic": {"green": 100}}})
    assert bad.status == 400 and "no deployment 'green'" in bad.json["error"]["message"]
    half = client.put("/onlineEndpoints/my-endpoint", {**ONLINE_ENDPOINT, "properties": {
        **ONLINE_ENDPOINT["properties"], "traffic": {"blue": 50}}})
    assert half.status == 400 and "add up to 50" in half.json["error"]["message"]
    routed = client.put("/onlineEndpoints/my-endpoint", {**ONLINE_ENDPOINT, "properties": {
        **ONLINE_ENDPOINT["properties"], "traffic": {"blue": 100}}})
    assert routed.status == 200 and follow(client, routed)["status"] == "Succeeded"
    assert client.get("/onlineEndpoints/my-endpoint").json["properties"]["traffic"] == {"blue": 100}

    # a deployment with traffic cannot go; without it, it can, then the endpoint with all it has
    refused = client.delete("/onlineEndpoints/my-endpoint/deployments/blue")
    assert refused.status == 409 and "traffic" in refused.json["error"]["message"]
    client.put("/onlineEndpoints/my-endpoint/deployments/green", BLUE)
    assert [d["name"] for d in client.get("/onlineEndpoints/my-endpoint/deployments").json["value"]] == [
        "blue", "green"]
    gone = client.delete("/onlineEndpoints/my-endpoint/deployments/green")
    assert gone.status == 202 and client.get(gone.headers["Location"]).status == 200
    assert client.get("/onlineEndpoints/my-endpoint/deployments/green").status == 404
    deleted = client.delete("/onlineEndpoints/my-endpoint")
    assert deleted.status == 202 and follow(client, deleted)["status"] == "Succeeded"
    assert client.get("/onlineEndpoints/my-endpoint").status == 404
    assert client.get("/onlineEndpoints/my-endpoint/deployments/blue").status == 404
    assert client.delete("/onlineEndpoints/my-endpoint").status == 204


def test_a_deployment_needs_its_endpoint_and_keeps_its_compute_type(client):
    assert client.put("/onlineEndpoints/nowhere/deployments/blue", BLUE).status == 404
    client.put("/onlineEndpoints/ep1", ONLINE_ENDPOINT)
    no_env = {**BLUE, "properties": {k: v for k, v in BLUE["properties"].items() if k != "environmentId"}}
    assert client.put("/onlineEndpoints/ep1/deployments/blue", no_env).json["error"]["message"].startswith(
        "properties.environmentId is required with a scoring script")
    client.put("/onlineEndpoints/ep1/deployments/blue", BLUE)
    moved = {**BLUE, "properties": {**BLUE["properties"], "endpointComputeType": "Kubernetes"}}
    assert client.put("/onlineEndpoints/ep1/deployments/blue", moved).status == 409
    assert client.put("/onlineEndpoints/e", ONLINE_ENDPOINT).json["error"]["message"].startswith(
        "invalid online endpoint name 'e'")


def test_keys_are_listed_regenerated_and_checked(client, app, rest_response):
    client.put("/onlineEndpoints/keyed", ONLINE_ENDPOINT)
    keys = client.post("/onlineEndpoints/keyed/listKeys").json
    assert rest_response(keys, "EndpointAuthKeys") == [] and keys["primaryKey"] != keys["secondaryKey"]
    endpoints = app.arm.endpoints
    assert endpoints.authorized("local", "online", "keyed", keys["primaryKey"])
    assert not endpoints.authorized("local", "online", "keyed", "wrong")
    regenerated = client.post("/onlineEndpoints/keyed/regenerateKeys", body={"keyType": "Primary"})
    assert regenerated.status == 202 and client.get(regenerated.headers["Location"]).status == 200
    again = client.post("/onlineEndpoints/keyed/listKeys").json
    assert again["primaryKey"] != keys["primaryKey"] and again["secondaryKey"] == keys["secondaryKey"]
    assert not endpoints.authorized("local", "online", "keyed", keys["primaryKey"])
    given = client.post("/onlineEndpoints/keyed/regenerateKeys", body={"keyType": "Secondary", "keyValue": "mine"})
    assert given.status == 202 and client.post("/onlineEndpoints/keyed/listKeys").json["secondaryKey"] == "mine"
    # an update keeps the keys
    client.put("/onlineEndpoints/keyed", {**ONLINE_ENDPOINT, "tags": {"a": "b"}})
    assert client.post("/onlineEndpoints/keyed/listKeys").json["secondaryKey"] == "mine"
    assert client.post("/onlineEndpoints/keyed/token").status == 400


def test_aml_tokens_expire(client, app, rest_response):
    client.put("/onlineEndpoints/tokened", {"location": "local", "properties": {"authMode": "AMLToken"}})
    token = client.post("/onlineEndpoints/tokened/token").json
    assert rest_response(token, "EndpointAuthToken") == [] and token["tokenType"] == "Bearer"
    endpoints = app.arm.endpoints
    assert endpoints.authorized("local", "online", "tokened", token["accessToken"])
    assert not endpoints.authorized("local", "online", "tokened", token["accessToken"],
                                    now=token["expiryTimeUtc"] + 1)
    tampered = token["accessToken"][:-1] + ("1" if token["accessToken"].endswith("0") else "0")  # never itself
    assert not endpoints.authorized("local", "online", "tokened", tampered)
    assert client.post("/onlineEndpoints/tokened/listKeys").status == 400


def test_batch_endpoint_and_deployment(client, rest_validate, rest_response):
    assert rest_validate(BATCH_ENDPOINT, "BatchEndpointTrackedResource") == []
    assert client.put("/batchEndpoints/scorer", {"location": "local", "properties": {"authMode": "Key"}}).status == 400
    created = client.put("/batchEndpoints/scorer", BATCH_ENDPOINT)
    assert created.status == 201 and follow(client, created)["status"] == "Succeeded"
    assert rest_response(client.get("/batchEndpoints/scorer").json, "BatchEndpointTrackedResource") == []
    assert rest_validate(BATCH_DEPLOYMENT, "BatchDeploymentTrackedResource") == []
    put = client.put("/batchEndpoints/scorer/deployments/one", BATCH_DEPLOYMENT)
    assert put.status == 201 and follow(client, put)["status"] == "Succeeded"
    one = client.get("/batchEndpoints/scorer/deployments/one").json
    assert rest_response(one, "BatchDeploymentTrackedResource") == []
    props = one["properties"]
    assert (props["miniBatchSize"], props["errorThreshold"], props["outputFileName"], props["resources"]) == (
        5, -1, "predictions.csv", {"instanceCount": 2})
    assert client.delete("/batchEndpoints/scorer/deployments/one").status == 409  # the endpoint's default
    assert [e["name"] for e in client.get("/batchEndpoints").json["value"]] == ["scorer"]
    assert client.get("/onlineEndpoints").json["value"] == []
    assert client.delete("/batchEndpoints/scorer").status == 202
    assert client.get("/batchEndpoints/scorer/deployments/one").status == 404


class _Later(Provisioner):
    """Provisioning that ends when the test says so (as servers that are still starting)."""

    def deployment_stored(self, ws, kind, endpoint, deployment, action):
        pass

    def deleting(self, ws, kind, endpoint, deployment):
        pass


def test_the_provisioner_decides_when_a_deployment_is_succeeded_failed_or_gone(app, client):
    app.arm.endpoints = Endpoints(app.store, "tester", _Later(app.store))
    client.put("/onlineEndpoints/slow", ONLINE_ENDPOINT)
    put = client.put("/onlineEndpoints/slow/deployments/blue", BLUE)
    assert put.json["properties"]["provisioningState"] == "Creating" and put.headers["Retry-After"] == "1"
    assert follow(client, put)["status"] == "InProgress"
    assert client.get(put.headers["Location"]).status == 202
    app.store.set_provisioning("local", "online", "slow", "blue", "Failed", error="the readiness probe never answered")
    status = follow(client, put)
    assert (status["status"], status["error"]["message"]) == ("Failed", "the readiness probe never answered")
    assert client.get("/onlineEndpoints/slow/deployments/blue").json["properties"]["provisioningState"] == "Failed"
    delete = client.delete("/onlineEndpoints/slow/deployments/blue")
    assert follow(client, delete)["status"] == "InProgress"
    assert client.get("/onlineEndpoints/slow/deployments/blue").json["properties"]["provisioningState"] == "Deleting"
    assert client.put("/onlineEndpoints/slow/deployments/blue", BLUE).status == 409
    app.store.finish_endpoint_delete("local", "online", "slow", "blue")
    assert follow(client, delete)["status"] == "Succeeded"
    assert client.get("/onlineEndpoints/slow/deployments/blue").status == 404


def test_get_logs_of_a_deployment(client, rest_response):
    client.put("/onlineEndpoints/logged", ONLINE_ENDPOINT)
    client.put("/onlineEndpoints/logged/deployments/blue", BLUE)
    logs = client.post("/onlineEndpoints/logged/deployments/blue/getLogs", body={"tail": 10})
    assert logs.status == 200 and rest_response(logs.json, "DeploymentLogs") == []
    assert client.post("/onlineEndpoints/logged/deployments/red/getLogs", body={}).status == 404


def test_patch_changes_tags_identity_and_instance_count_as_an_update(client, rest_response):
    client.put("/onlineEndpoints/patched", ONLINE_ENDPOINT)
    client.put("/onlineEndpoints/patched/deployments/blue", BLUE)
    patched = client.call("PATCH", "/onlineEndpoints/patched", {"tags": {"team": "churn"},
                                                                "identity": {"type": "SystemAssigned"}})
    assert patched.status == 202 and follow(client, patched)["status"] == "Succeeded"
    endpoint = client.get("/onlineEndpoints/patched").json
    assert (endpoint["tags"], endpoint["identity"], endpoint["properties"]["description"]) == (
        {"team": "churn"}, {"type": "SystemAssigned"}, "scores")
    scaled = client.call("PATCH", "/onlineEndpoints/patched/deployments/blue", {"sku": {"capacity": 3}})
    assert scaled.status == 202 and client.get(scaled.headers["Location"]).status == 200
    blue = client.get("/onlineEndpoints/patched/deployments/blue").json
    assert blue["sku"] == {"name": "Default", "capacity": 3}
    assert rest_response(blue, "OnlineDeploymentTrackedResource") == []
    refused = client.call("PATCH", "/onlineEndpoints/patched", {"properties": {"authMode": "AMLToken"}})
    assert refused.status == 400 and "changes only tags, identity" in refused.json["error"]["message"]
    assert client.call("PATCH", "/onlineEndpoints/nowhere", {"tags": {}}).status == 404
