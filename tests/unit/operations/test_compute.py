"""Compute operations against the local workspace: the built-in `local`, and the computes users create (clusters
bound their jobs; compute instances record start, stop and restart)."""
from __future__ import annotations

import io

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from azureml_v2 import ValidationError, load_compute
from azureml_v2.entities import (AmlCompute, ComputeInstance, ComputeSchedules, ComputeStartStopSchedule,
                                 KubernetesCompute)
from azureml_v2.entities import CronTrigger


def test_the_local_compute_is_listed_and_readable(ml_client):
    local = ml_client.compute.get("local")
    assert (local.name, local.type, local.provisioning_state) == ("local", "virtualmachine", "Succeeded")
    assert [c.name for c in ml_client.compute.list()] == ["local"]
    assert [c.name for c in ml_client.compute.list(compute_type="VirtualMachine")] == ["local"]
    assert list(ml_client.compute.list(compute_type="amlcompute")) == []


def test_unknown_computes_and_changes_to_local_are_refused_with_the_service_message(ml_client):
    with pytest.raises(ResourceNotFoundError, match="compute 'gpu-cluster' not found"):
        ml_client.compute.get("gpu-cluster")
    with pytest.raises(HttpResponseError, match="built in") as info:
        ml_client.compute.begin_delete("local")
    assert info.value.status_code == 400
    with pytest.raises(HttpResponseError, match="built in"):
        ml_client.compute.begin_create_or_update(AmlCompute(name="local"))


def test_a_cluster_is_created_updated_listed_and_deleted(ml_client):
    created = ml_client.compute.begin_create_or_update(AmlCompute(
        name="cpu-cluster", size="STANDARD_DS3_V2", min_instances=0, max_instances=2,
        idle_time_before_scale_down=120, tier="low_priority", tags={"team": "ml"})).result()
    assert created == AmlCompute(name="cpu-cluster", location="local", size="STANDARD_DS3_V2", min_instances=0,
                                 max_instances=2, idle_time_before_scale_down=120, tier="low_priority",
                                 tags={"team": "ml"}, provisioning_state="Succeeded")
    created.max_instances = 4
    assert ml_client.compute.begin_update(created).result().max_instances == 4
    assert [c.name for c in ml_client.compute.list()] == ["local", "cpu-cluster"]
    assert [c.name for c in ml_client.compute.list(compute_type="amlcompute")] == ["cpu-cluster"]
    ml_client.compute.begin_delete("cpu-cluster").result()
    assert [c.name for c in ml_client.compute.list()] == ["local"]
    with pytest.raises(ResourceNotFoundError):
        ml_client.compute.get("cpu-cluster")


def test_a_cluster_without_max_instances_gets_four_nodes_as_on_azure(ml_client):
    assert ml_client.compute.begin_create_or_update(AmlCompute(name="small")).result().max_instances == 4


def test_a_compute_instance_records_start_stop_and_restart_with_its_schedule(ml_client):
    schedule = ComputeStartStopSchedule(action="stop", trigger=CronTrigger(expression="0 18 * * *",
                                                                           time_zone="UTC"))
    instance = ml_client.compute.begin_create_or_update(ComputeInstance(
        name="ci-ada", size="STANDARD_DS11_V2", schedules=ComputeSchedules(compute_start_stop=[schedule]))).result()
    assert instance.state == "Running" and instance.schedules.compute_start_stop == [schedule]
    ml_client.compute.begin_stop("ci-ada").result()
    stopped = ml_client.compute.get("ci-ada")
    assert stopped.state == "Stopped"
    assert (stopped.last_operation["operation_name"], stopped.last_operation["operation_status"]) == \
        ("Stop", "Succeeded")
    ml_client.compute.begin_restart("ci-ada").result()
    again = ml_client.compute.get("ci-ada")
    assert (again.state, again.last_operation["operation_name"]) == ("Running", "Restart")
    ml_client.compute.begin_stop("ci-ada").result()
    ml_client.compute.begin_start("ci-ada").result()
    assert ml_client.compute.get("ci-ada").state == "Running"


def test_only_compute_instances_start_and_stop_and_only_clusters_update(ml_client):
    ml_client.compute.begin_create_or_update(AmlCompute(name="cpu-cluster", max_instances=1)).result()
    with pytest.raises(HttpResponseError, match="only compute instances are started and stopped"):
        ml_client.compute.begin_stop("cpu-cluster")
    instance = ml_client.compute.begin_create_or_update(ComputeInstance(name="ci-ada")).result()
    with pytest.raises(ValidationError, match="only clusters"):
        ml_client.compute.begin_update(instance)
    with pytest.raises(HttpResponseError, match="cannot change to ComputeInstance"):
        ml_client.compute.begin_create_or_update(ComputeInstance(name="cpu-cluster"))


def test_attached_computes_take_the_workspace_region(ml_client):
    attached = ml_client.compute.begin_create_or_update(KubernetesCompute(
        name="k8s", location="westus", namespace="training",
        resource_id="/subscriptions/x/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks",
        properties={"defaultInstanceType": "small"})).result()
    assert (attached.location, attached.namespace, attached.properties) == \
        ("local", "training", {"defaultInstanceType": "small"})


def test_a_corpus_file_round_trips_through_the_workspace(ml_client, corpus_root):
    loaded = load_compute(corpus_root / "cli/resources/compute/instance-schedule.yml")
    shown = ml_client.compute.begin_create_or_update(loaded).result()
    assert shown.schedules == loaded.schedules and shown.size == loaded.size
    # what `show` prints loads again as the same compute
    assert load_compute(io.StringIO(shown.dump())) == shown
