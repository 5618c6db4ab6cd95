"""ml_client.online_endpoints / online_deployments / batch_endpoints / batch_deployments on the local workspace, from
the corpus's own YAML: long-running creates polled to Succeeded, inline assets created first, traffic, keys, logs,
deletes; every PUT body spec-valid (the ml_client fixture checks them)."""
from __future__ import annotations

import pytest
from support import aio
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.polling import LROPoller

from azureml_v2 import (load_batch_deployment, load_batch_endpoint, load_model, load_online_deployment,
                        load_online_endpoint)
from azureml_v2.entities import ManagedOnlineDeployment, PipelineComponentBatchDeployment
from azureml_v2.exceptions import EndpointStateError


@pytest.fixture
def endpoints(corpus_root):
    return corpus_root / "cli" / "endpoints"


def test_online_endpoint_blue_green_with_traffic_keys_and_delete(ml_client, endpoints):
    sample = endpoints / "online" / "managed" / "sample"
    poller = ml_client.online_endpoints.begin_create_or_update(load_online_endpoint(sample / "endpoint.yml"))
    assert isinstance(poller, (LROPoller, aio.Poller))
    endpoint = poller.result()
    assert (endpoint.name, endpoint.auth_mode, endpoint.provisioning_state) == ("my-endpoint", "key", "Succeeded")

    blue = ml_client.online_deployments.begin_create_or_update(
        load_online_deployment(sample / "blue-deployment.yml")).result()
    assert isinstance(blue, ManagedOnlineDeployment) and blue.provisioning_state == "Succeeded"
    # the inline model, code and environment became assets first
    assert "/models/" in blue.model and "/codes/" in blue.code_configuration.code
    assert "/environments/CliV2AnonymousEnvironment/" in blue.environment
    again = ml_client.online_deployments.begin_create_or_update(
        load_online_deployment(sample / "blue-deployment.yml", params_override=[{"instance_count": 2}])).result()
    assert (again.model, again.instance_count) == (blue.model, 2)  # the same files are stored once

    endpoint.traffic = {"blue": 100}
    assert ml_client.online_endpoints.begin_create_or_update(endpoint).result().traffic == {"blue": 100}
    with pytest.raises(HttpResponseError, match="no deployment 'green'"):
        endpoint.traffic = {"green": 100}
        ml_client.online_endpoints.begin_create_or_update(endpoint)

    keys = ml_client.online_endpoints.get_keys("my-endpoint")
    ml_client.online_endpoints.begin_regenerate_keys("my-endpoint", key_type="secondary").result()
    after = ml_client.online_endpoints.get_keys("my-endpoint")
    assert after.primary_key == keys.primary_key and after.secondary_key != keys.secondary_key
    assert ml_client.online_deployments.get_logs("blue", "my-endpoint", lines=10) == ""
    assert [d.name for d in ml_client.online_deployments.list("my-endpoint")] == ["blue"]
    with pytest.raises(EndpointStateError, match="no scoring URI"):
        ml_client.online_endpoints.invoke("my-endpoint", request={"data": [[1, 2]]})

    with pytest.raises(HttpResponseError, match="traffic"):
        ml_client.online_deployments.begin_delete("blue", "my-endpoint")
    assert ml_client.online_endpoints.begin_delete("my-endpoint").result() is None
    assert list(ml_client.online_endpoints.list()) == []
    with pytest.raises(ResourceNotFoundError):
        ml_client.online_deployments.get("blue", "my-endpoint")


def test_batch_endpoint_with_a_registered_model_and_a_pipeline_component(ml_client, endpoints):
    heart = endpoints / "batch" / "deploy-models" / "heart-classifier-mlflow"
    ml_client.models.create_or_update(load_model({"name": "heart-classifier-mlflow", "type": "mlflow_model",
                                                  "path": str(heart / "deployment-simple" / "model")}))
    created = ml_client.batch_endpoints.begin_create_or_update(load_batch_endpoint(heart / "endpoint.yml")).result()
    assert (created.auth_mode, created.provisioning_state) == ("aad_token", "Succeeded")
    deployment = ml_client.batch_deployments.begin_create_or_update(
        load_batch_deployment(heart / "deployment-custom" / "deployment.yml")).result()
    assert deployment.model.endswith("/models/heart-classifier-mlflow/versions/1")  # @latest, resolved
    assert (deployment.settings.mini_batch_size, deployment.settings.output_action,
            deployment.resources.instance_count) == (2, "append_row", 2)
    assert list(ml_client.batch_endpoints.list_jobs("heart-classifier-batch")) == []
    assert list(ml_client.batch_deployments.list_jobs("heart-classifier-batch", name=deployment.name)) == []

    hello = endpoints / "batch" / "deploy-pipelines" / "hello-batch"
    ml_client.batch_endpoints.begin_create_or_update(load_batch_endpoint(
        hello / "endpoint.yml", params_override=[{"name": "hello-pipeline-batch"}])).result()
    ml_client.components._put({"properties": {"componentSpec": {"name": "hello_batch", "type": "pipeline"}}},
                              "components", "hello_batch", "versions", "1")
    pipeline = ml_client.batch_deployments.begin_create_or_update(
        load_batch_deployment(hello / "deployment.yml")).result()
    assert isinstance(pipeline, PipelineComponentBatchDeployment)
    assert pipeline.component.endswith("/components/hello_batch/versions/1")
    assert pipeline.settings == {"default_compute": "batch-cluster"}
    assert ml_client.batch_deployments.begin_delete(pipeline.name, "hello-pipeline-batch").result() is None
    assert [d.name for d in ml_client.batch_deployments.list("hello-pipeline-batch")] == []
