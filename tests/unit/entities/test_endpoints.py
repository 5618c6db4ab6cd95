"""Endpoints and deployments: YAML -> entity -> spec-valid REST -> entity again, for every field the object model has;
and the located errors of files the service would refuse."""
from __future__ import annotations

import pytest

from azureml_v2 import (ValidationError, load_batch_deployment, load_batch_endpoint, load_online_deployment,
                        load_online_endpoint)
from azureml_v2._contract import LOCAL_SCOPE

KUBERNETES_ENDPOINT = """\
name: k8s-scoring
auth_mode: aml_token
compute: azureml:k8s-compute
traffic: {blue: 100}
mirror_traffic: {green: 20}
identity:
  type: user_assigned
  user_assigned_identities:
    - resource_id: /subscriptions/x/resourceGroups/y/providers/Microsoft.ManagedIdentity/userAssignedIdentities/z
tags: {team: churn}
"""
KUBERNETES_DEPLOYMENT = """\
name: blue
endpoint_name: k8s-scoring
type: kubernetes
model: azureml:churn-model:2
code_configuration: {code: azureml:churn-score:1, scoring_script: score.py}
environment: azureml:sklearn-env:4
instance_type: defaultinstancetype
instance_count: 2
environment_variables: {WORKERS: 2}
request_settings: {request_timeout_ms: 1500, max_concurrent_requests_per_instance: 4, max_queue_wait_ms: 250}
liveness_probe: {initial_delay: 5, period: 10, timeout: 2, success_threshold: 1, failure_threshold: 3}
readiness_probe: {period: 3}
scale_settings: {type: target_utilization, min_instances: 1, max_instances: 4, polling_interval: 10,
                 target_utilization_percentage: 60}
resources: {requests: {cpu: "0.5", memory: 1Gi}, limits: {nvidia.com/gpu: "1"}}
app_insights_enabled: true
egress_public_network_access: disabled
"""
BATCH_FLAT = """\
name: nightly
endpoint_name: churn-batch
model: azureml:churn-model:2
compute: azureml:cpu-cluster
resources: {instance_count: 3}
mini_batch_size: 5
output_action: summary_only
error_threshold: 10
retry_settings: {max_retries: 1, timeout: 90}
logging_level: debug
"""

CASES = [(load_online_endpoint, KUBERNETES_ENDPOINT, "OnlineEndpointTrackedResource", "onlineEndpoints/k8s-scoring"),
         (load_online_deployment, KUBERNETES_DEPLOYMENT, "OnlineDeploymentTrackedResource",
          "onlineEndpoints/k8s-scoring/deployments/blue"),
         (load_batch_endpoint, "name: churn-batch\ndefaults: {deployment_name: nightly}\n",
          "BatchEndpointTrackedResource", "batchEndpoints/churn-batch"),
         (load_batch_deployment, BATCH_FLAT, "BatchDeploymentTrackedResource",
          "batchEndpoints/churn-batch/deployments/nightly")]


@pytest.mark.parametrize("load, text, definition, path", CASES, ids=[c[3] for c in CASES])
def test_yaml_entity_rest_round_trip(tmp_path, rest_validate, load, text, definition, path):
    source = tmp_path / "x.yml"
    source.write_text(text)
    entity = load(source)
    body = entity.to_rest(scope=LOCAL_SCOPE)
    assert rest_validate(body, definition) == []
    back = type(entity)._from_rest({"id": f"{LOCAL_SCOPE}/{path}", "name": path.rsplit("/", 1)[-1], **body})
    # references come back as the ARM ids the service holds
    for attr in ("model", "environment", "compute"):
        if getattr(back, attr, None) is not None:
            assert getattr(back, attr).removeprefix("azureml:").startswith(LOCAL_SCOPE), attr
            setattr(back, attr, getattr(entity, attr))
    if getattr(back, "code_configuration", None) is not None:
        back.code_configuration.code = entity.code_configuration.code
    if getattr(entity, "environment_variables", None):
        back.environment_variables = entity.environment_variables  # strings on the wire
    assert back.location == "local"  # the local workspace's region, filled in when the file names none
    back.location = None
    assert back == entity
    entity.dump(tmp_path / "again.yml")
    assert load(tmp_path / "again.yml") == entity


def test_the_first_batch_schema_writes_settings_at_the_top_level(tmp_path):
    source = tmp_path / "x.yml"
    source.write_text(BATCH_FLAT)
    deployment = load_batch_deployment(source)
    assert (deployment.settings.mini_batch_size, deployment.settings.output_action) == (5, "summary_only")
    assert "settings:" in deployment.dump() and "\nmini_batch_size" not in deployment.dump()


@pytest.mark.parametrize("load, text, expected", [
    (load_online_endpoint, "name: my_endpoint\n", "1:1 name: invalid endpoint name 'my_endpoint'"),
    (load_online_endpoint, "name: ep1\ntraffic: {blue: 90, green: 5}\n",
     "traffic: the shares add up to 95; they must add up to 100"),
    (load_online_endpoint, "name: ep1\ntraffic: {blue: 100}\nmirror_traffic: {blue: 10}\n",
     "deployment 'blue' takes live traffic"),
    (load_batch_endpoint, "name: ep1\nauth_mode: key\n", "2:1 auth_mode: invalid value 'key': expected one of "
                                                          "aad_token"),
    (load_online_deployment, "name: blue\nendpoint_name: ep1\nmodel: azureml:m:1\n"
                             "code_configuration: {code: azureml:c:1, scoring_script: score.py}\n",
     "environment: a deployment with a scoring script needs an environment"),
    (load_online_deployment, "name: blue\nendpoint_name: ep1\nmodel: azureml:m:1\ninstance_count: 0\n",
     "4:1 instance_count: must be at least 1"),
    (load_online_deployment, "name: blue\nendpoint_name: ep1\ntype: serverless\nmodel: azureml:m:1\n",
     "type: invalid value 'serverless': expected one of managed, kubernetes"),
    (load_batch_deployment, "name: b\nendpoint_name: ep1\nmodel: azureml:m:1\nsettings: {output_action: append}\n",
     "output_action: invalid value 'append': expected one of append_row, summary_only"),
])
def test_files_the_service_would_refuse_are_one_located_error(tmp_path, load, text, expected):
    source = tmp_path / "bad.yml"
    source.write_text(text)
    with pytest.raises(ValidationError) as info:
        load(source)
    assert expected in str(info.value) and str(source) in str(info.value)
