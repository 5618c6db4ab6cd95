"""Every operation group of MLClient on its Azure path, replayed from recordings/: create (201) then update (200),
get, 404 -> ResourceNotFoundError with the service's message, a list across two pages, a 429 honoured and
retried, and delete (a long-running 202 polled to completion where the API makes it one: compute; jobs have
cancel instead). Then the cassettes themselves: spec-valid bodies, no token on disk, the same bytes as their
generator writes."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from support import aio
from azure.core.polling import LROPoller
from conftest import RECORDINGS, SPEC
from support import make_cassettes as mk
from support.credentials import TOKEN
from azure.core.exceptions import ResourceNotFoundError

from azureml_v2 import Code, CommandComponent, CommandJob, Data, Environment, Input, Output
from azureml_v2.entities.assets import BuildContext
from azureml_v2.entities import AmlCompute, ComputeInstance, ComputeSchedules, ComputeStartStopSchedule, CronTrigger
from azureml_v2.entities.datastore import AccountKeyConfiguration, AzureBlobDatastore
from azureml_v2.entities.job import JobResources
from azureml_v2.entities.endpoints import (BatchEndpoint, BatchEndpointDefaults, BatchRetrySettings, CodeConfiguration,
                                           ManagedOnlineDeployment, ManagedOnlineEndpoint, ModelBatchDeployment,
                                           ModelBatchDeploymentSettings, ResourceConfiguration)
from azureml_v2.entities.connection import PatTokenConfiguration, WorkspaceConnection
from azureml_v2.entities.model import Model
from azureml_v2.entities.registry import Registry
from azureml_v2.entities.pipeline import Command, PipelineJob, PipelineJobSettings
from azureml_v2.entities.job import ManagedIdentity, UserIdentity
from azureml_v2.entities.spark import Spark, SparkComponent, SparkJob, SparkJobEntry, SparkResourceConfiguration


# every group's cassettes: these five, and its long-running or plain delete (jobs: cancel, as they have no delete)
SCENARIOS = ("create_then_update", "get", "not_found", "list_pages", "throttled")
GROUPS = {"code": "delete", "data": "delete", "environments": "delete", "models": "delete", "components": "delete",
          "datastores": "delete", "compute": "delete", "jobs": "cancel"}
# endpoints and deployments: their long-running lifecycle
ENDPOINT_CASSETTES = {"online_endpoints/create", "online_endpoints/traffic", "online_endpoints/keys",
                      "online_endpoints/invoke",
                      "online_endpoints/delete", "online_deployments/create", "online_deployments/get_logs",
                      "online_deployments/delete", "batch_endpoints/create", "batch_deployments/create",
                      "batch_endpoints/invoke"}
SCHEDULE_CASSETTES = {"schedules/create", "schedules/disable"}


def calls(run) -> list[tuple[str, str, dict]]:
    """(method, path below the workspace, query) of every request the client sent, retries and polls included."""
    out = []
    for request in run.sent:
        parts = urlsplit(request.url)
        path = parts.path.split(f"/workspaces/{mk.WORKSPACE}", 1)[-1] or parts.path
        out.append((request.method, path, {k: v[0] for k, v in parse_qs(parts.query).items()}))
    return out


# -- versioned assets ----------------------------------------------------------------------------------------
@dataclass
class AssetCase:
    group: str  # the MLClient attribute, and the folder of its cassettes
    collection: str
    name: str
    version: str
    new: Callable[[], object]  # the entity a user creates
    tags: dict  # what the update adds
    listed: list[str]  # versions, newest first, across both pages
    missing: str
    archivable: bool = True


def _component():
    return CommandComponent(
        name="train_churn", version="1", display_name="Train churn model", description="Trains the churn classifier",
        command="python train.py --data ${{inputs.training_data}} --lr ${{inputs.learning_rate}} "
                "--model ${{outputs.model}}",
        code="azureml:train-src:1", environment="azureml:sklearn-env@latest",
        inputs={"training_data": Input(type="uri_folder"), "learning_rate": Input(type="number", default=0.01)},
        outputs={"model": Output(type="mlflow_model")})


ASSETS = [
    AssetCase("code", "codes", "train-src", "1", lambda: Code(
        name="train-src", version="1", description="Training scripts of the churn model",
        path=f"{mk.BLOB}/LocalUpload/5f1e9c7a3b2d48e6a0c4f7b1d9e2a3c8/src"),
        {"team": "churn"}, ["1", "0"], "9", archivable=False),
    # no version: the next one comes from the data container (nextVersion 3)
    AssetCase("data", "data", "churn-data", "3", lambda: Data(
        name="churn-data", type="uri_folder", description="Customer churn snapshot",
        path="azureml://datastores/workspaceblobstore/paths/churn/2026-11/"),
        {"source": "crm-export"}, ["3", "2", "1"], "42"),
    AssetCase("environments", "environments", "sklearn-env", "4", lambda: Environment(
        name="sklearn-env", version="4", description="scikit-learn 1.5 with MLflow",
        image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20240709.v1",
        conda_file={"name": "sklearn", "channels": ["conda-forge"], "dependencies": [
            "python=3.10", "pip", {"pip": ["scikit-learn==1.5.1", "mlflow==2.14.3"]}]}),
        {"framework": "sklearn"}, ["4", "3", "2"], "99"),
    AssetCase("models", "models", "churn-model", "2", lambda: Model(
        name="churn-model", version="2", type="mlflow_model", description="Gradient boosted churn classifier",
        path="azureml://jobs/quiet_lemon_7x2kq9/outputs/artifacts/paths/model/", job_name="quiet_lemon_7x2kq9",
        flavors={"python_function": {"loader_module": "mlflow.sklearn", "python_version": "3.10.14"}}),
        {"auc": "0.91"}, ["2", "1", "0"], "7"),
    AssetCase("components", "components", "train_churn", "1", _component,
              {"stage": "experimental"}, ["1", "0.9", "0.1"], "5"),
]
ASSET_IDS = [case.group for case in ASSETS]


def create_then_update(run, case):
    """Create the case's entity, then update what came back with the case's tags."""
    ops = getattr(run.client, case.group)
    entity = case.new()
    created = ops.create_or_update(entity)
    assert entity.version == case.new().version  # the caller's object is left as it was
    created.tags = case.tags
    return created, ops.create_or_update(created)


@pytest.mark.parametrize("case", ASSETS, ids=ASSET_IDS)
def test_asset_create_then_update(replay, case):
    run = replay(f"{case.group}/create_then_update")
    created, updated = create_then_update(run, case)
    assert (created.name, created.version) == (case.name, case.version)
    assert (updated.version, updated.tags, updated.description) == (case.version, case.tags, created.description)
    one = f"/{case.collection}/{case.name}/versions/{case.version}"
    assert [(m, p) for m, p, _ in calls(run)][-2:] == [("PUT", one), ("PUT", one)]


def test_a_data_asset_without_version_gets_the_containers_next_version(replay):
    run = replay("data/create_then_update")
    created, _ = create_then_update(run, ASSETS[1])
    assert created.version == "3" and created.path == "azureml://datastores/workspaceblobstore/paths/churn/2026-11/"
    assert calls(run)[0][:2] == ("GET", "/data/churn-data")


def test_a_component_names_the_latest_environment_version_it_resolved(replay):
    run = replay("components/create_then_update")
    component, _ = create_then_update(run, ASSETS[4])
    assert component.environment == "azureml:" + mk.arm_id("environments", "sklearn-env", "versions", "4")
    assert component.code == "azureml:" + mk.arm_id("codes", "train-src", "versions", "1")
    method, path, query = calls(run)[0]
    assert (method, path, query["$orderBy"], query["$top"]) == ("GET", "/environments/sklearn-env/versions",
                                                                "createdtime desc", "1")


@pytest.mark.parametrize("case", ASSETS, ids=ASSET_IDS)
def test_asset_get_by_version_and_latest(replay, case):
    run = replay(f"{case.group}/get")
    ops = getattr(run.client, case.group)
    got = ops.get(case.name, version=case.version)
    assert (got.name, got.version, got.tags) == (case.name, case.version, case.tags)
    if case.archivable:
        assert ops.get(case.name, label="latest") == got


@pytest.mark.parametrize("case", ASSETS, ids=ASSET_IDS)
def test_asset_not_found_carries_the_service_message(replay, case):
    run = replay(f"{case.group}/not_found")
    with pytest.raises(ResourceNotFoundError) as info:
        getattr(run.client, case.group).get(case.name, version=case.missing)
    message = f"Could not find {case.collection} {case.name} with version {case.missing} in workspace {mk.WORKSPACE}."
    assert message in str(info.value)
    assert (info.value.status_code, info.value.error.code) == (404, "UserError")


@pytest.mark.parametrize("case", ASSETS, ids=ASSET_IDS)
def test_asset_list_follows_next_link(replay, case):
    run = replay(f"{case.group}/list_pages")
    assert [a.version for a in getattr(run.client, case.group).list(case.name)] == case.listed
    (_, _, first), (_, _, second) = calls(run)
    assert "$skipToken" not in first and second["$skipToken"] == f"{case.name}-page-2"
    assert first.get("listViewType") == ("ActiveOnly" if case.archivable else None)


@pytest.mark.parametrize("case", ASSETS, ids=ASSET_IDS)
def test_asset_get_is_retried_after_429_as_retry_after_says(replay, case):
    run = replay(f"{case.group}/throttled")
    assert getattr(run.client, case.group).get(case.name, version=case.version).version == case.version
    assert len(run.sent) == 2 and run.sleeps == [mk.RETRY_AFTER]


@pytest.mark.parametrize("case", ASSETS, ids=ASSET_IDS)
def test_asset_delete_a_version_then_the_asset(replay, case):
    run = replay(f"{case.group}/delete")
    ops = getattr(run.client, case.group)
    assert ops.delete(case.name, version=case.version) is None
    assert ops.delete(case.name) is None
    assert [(m, p) for m, p, _ in calls(run)] == [
        ("DELETE", f"/{case.collection}/{case.name}/versions/{case.version}"),
        ("DELETE", f"/{case.collection}/{case.name}")]


# -- datastores ----------------------------------------------------------------------------------------------
def _datastore(**changes):
    fields = {"name": "churn_landing", "account_name": "stcontosomldev", "container_name": "churn-landing",
              "credentials": AccountKeyConfiguration(account_key=mk.ACCOUNT_KEY), "description": "Raw CRM exports"}
    return AzureBlobDatastore(**{**fields, **changes})


def test_datastore_create_then_update(replay):
    run = replay("datastores/create_then_update")
    created = run.client.datastores.create_or_update(_datastore())
    assert (created.name, created.container_name, created.endpoint) == ("churn_landing", "churn-landing",
                                                                        "core.windows.net")
    assert created.credentials.account_key is None  # the service never returns secrets unasked
    updated = run.client.datastores.create_or_update(_datastore(description="Raw CRM exports (daily)",
                                                                tags={"owner": "data-eng"}))
    assert (updated.description, updated.tags) == ("Raw CRM exports (daily)", {"owner": "data-eng"})


def test_datastore_get_with_secrets_and_the_default(replay):
    run = replay("datastores/get")
    assert run.client.datastores.get("churn_landing").credentials.account_key is None
    assert run.client.datastores.get("churn_landing", include_secrets=True).credentials.account_key == mk.ACCOUNT_KEY
    assert run.client.datastores.get_default().name == "workspaceblobstore"
    assert [(m, p) for m, p, _ in calls(run)][2] == ("POST", "/datastores/churn_landing/listSecrets")


def test_datastore_list_follows_next_link(replay):
    run = replay("datastores/list_pages")
    assert [d.name for d in run.client.datastores.list()] == ["workspaceblobstore", "workspaceartifactstore",
                                                              "churn_landing"]
    assert calls(run)[1][2]["$skipToken"] == "datastores-page-2"


def test_datastore_delete(replay):
    run = replay("datastores/delete")
    assert run.client.datastores.delete("churn_landing") is None


# -- compute -------------------------------------------------------------------------------------------------
def _cluster(max_instances):
    return AmlCompute(name="cpu-cluster", location=mk.LOCATION, size="STANDARD_DS3_V2", tier="low_priority",
                   min_instances=0, max_instances=max_instances, idle_time_before_scale_down=120)


def test_compute_create_polls_the_async_operation_then_update_is_immediate(replay):
    run = replay("compute/create_then_update")
    created = run.client.compute.begin_create_or_update(_cluster(4)).result()
    assert created == AmlCompute(name="cpu-cluster", location=mk.LOCATION, size="STANDARD_DS3_V2", tier="low_priority",
                                 min_instances=0, max_instances=4, idle_time_before_scale_down=120,
                                 provisioning_state="Succeeded", ssh_public_access_enabled=True,
                                 enable_node_public_ip=True)  # as the service answers
    poller = run.client.compute.begin_create_or_update(_cluster(8))
    assert poller.done() and poller.result().max_instances == 8
    assert [(m, p.split("/")[-2]) for m, p, _ in calls(run)] == [
        ("PUT", "computes"), ("GET", "computeOperationsStatus"), ("GET", "computeOperationsStatus"),
        ("GET", "computes"), ("PUT", "computes")]


def test_compute_get(replay):
    run = replay("compute/get")
    cluster = run.client.compute.get("cpu-cluster")
    assert (cluster.type, cluster.max_instances, cluster.idle_time_before_scale_down) == ("amlcompute", 8, 120)


def test_compute_list_follows_next_link_and_filters_by_type(replay):
    run = replay("compute/list_pages")
    assert [(c.name, c.type) for c in run.client.compute.list()] == [
        ("cpu-cluster", "amlcompute"), ("ci-ada", "computeinstance"), ("gpu-cluster", "amlcompute")]
    again = replay("compute/list_pages")
    assert [c.name for c in again.client.compute.list(compute_type="AmlCompute")] == ["cpu-cluster", "gpu-cluster"]


def test_compute_delete_is_a_202_polled_to_completion(replay):
    run = replay("compute/delete")
    poller = run.client.compute.begin_delete("cpu-cluster")
    assert poller.result() is None and poller.status() == "Succeeded"
    assert [m for m, _, _ in calls(run)] == ["DELETE", "GET", "GET"]
    assert calls(run)[0][2]["underlyingResourceAction"] == "Delete"
    assert run.sleeps == [mk.POLL_RETRY_AFTER]  # as the service asked, not the client's interval of 0


def test_a_compute_instance_is_created_then_stopped_and_started_each_polled_to_completion(replay):
    run = replay("compute/instance_start_stop")
    stop_at_seven = ComputeStartStopSchedule(action="stop", trigger=CronTrigger(
        expression="0 19 * * 1-5", time_zone="W. Europe Standard Time"))
    created = run.client.compute.begin_create_or_update(ComputeInstance(
        name="ci-ada", size="STANDARD_DS11_V2", schedules=ComputeSchedules(compute_start_stop=[stop_at_seven]))).result()
    assert (created.location, created.state, created.schedules.compute_start_stop) == \
        (mk.LOCATION, "Running", [stop_at_seven])
    run.client.compute.begin_stop("ci-ada").result()
    stopped = run.client.compute.get("ci-ada")
    assert (stopped.state, stopped.last_operation["operation_name"]) == ("Stopped", "Stop")
    poller = run.client.compute.begin_start("ci-ada")
    assert poller.result() is None and poller.status() == "Succeeded"
    assert run.client.compute.get("ci-ada").state == "Running"
    assert [(m, p.split("/")[-2] if "OperationsStatus" in p else p.split("/")[-1]) for m, p, _ in calls(run)] == [
        ("GET", mk.WORKSPACE), ("PUT", "ci-ada"), ("GET", "computeOperationsStatus"),
        ("GET", "computeOperationsStatus"), ("GET", "ci-ada"),
        ("POST", "stop"), ("GET", "computeOperationsStatus"), ("GET", "computeOperationsStatus"), ("GET", "ci-ada"),
        ("POST", "start"), ("GET", "computeOperationsStatus"), ("GET", "computeOperationsStatus"), ("GET", "ci-ada")]
    assert run.sleeps == [mk.POLL_RETRY_AFTER] * 3  # each InProgress answer said when to ask again


def test_a_local_build_context_is_uploaded_and_sent_as_its_blob_folder_url(replay, tmp_path):
    run = replay("environments/build_context")
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "Dockerfile").write_text("FROM python:3.11-slim\n")
    created = run.client.environments.create_or_update(Environment(
        name="churn-image", version="1", description="The churn image", build=BuildContext(path=str(tmp_path / "docker"))))
    assert created.build.path == f"{mk.BLOB}/LocalUpload/{mk.BUILD_CONTEXT_HASH}/docker/"


# -- jobs ----------------------------------------------------------------------------------------------------
def _job():
    return CommandJob(
        name=mk.JOB, display_name="train churn", experiment_name="churn", description="Nightly churn training",
        command="python train.py --data ${{inputs.training_data}} --lr ${{inputs.learning_rate}} "
                "--model ${{outputs.model}}",
        code="azureml:train-src:1", environment="azureml:sklearn-env:4", compute="azureml:cpu-cluster",
        inputs={"training_data": Input(type="uri_folder",
                                       path="azureml://datastores/workspaceblobstore/paths/churn/2026-11/"),
                "learning_rate": 0.01},
        outputs={"model": Output(type="mlflow_model")})


def test_job_create_then_update(replay):
    run = replay("jobs/create_then_update")
    created = run.client.jobs.create_or_update(_job())
    assert (created.name, created.status, created.compute) == (mk.JOB, "Starting", "cpu-cluster")  # by name, as azure-ai-ml
    updated = run.client.jobs.create_or_update(_job(), tags={"trigger": "nightly"})
    assert (updated.status, updated.tags) == ("Running", {"trigger": "nightly"})
    assert updated.services["Studio"].endpoint.startswith(f"https://ml.azure.com/runs/{mk.JOB}")


def test_a_job_whose_output_becomes_an_asset_goes_at_the_api_version_that_defines_asset_name(replay):
    run = replay("jobs/named_outputs")
    job = _job()
    job.command = "python train.py --early-stop ${{inputs.early_stop}} --model ${{outputs.model}}"
    job.inputs = {"early_stop": True}
    job.outputs = {"model": Output(type="mlflow_model", name="churn-model", version="3")}
    created = run.client.jobs.create_or_update(job)
    assert (created.outputs["model"].name, created.outputs["model"].version) == ("churn-model", "3")
    assert [query["api-version"] for _, _, query in calls(run)] == [mk.NAMED_OUTPUTS_API_VERSION]


def test_job_get(replay):
    run = replay("jobs/get")
    job = run.client.jobs.get(mk.JOB)
    assert (job.status, job.outputs["model"].type) == ("Running", "mlflow_model")
    assert job.outputs["model"].path.endswith(f"dcid.{mk.JOB}/model")


def test_a_jobs_output_given_no_path_downloads_from_where_azure_ml_keeps_it(replay, tmp_path):
    run = replay("jobs/download_output")
    written = run.client.jobs.download(mk.JOB, download_path=tmp_path, output_name="model")
    assert written == [tmp_path / "model"]
    assert (tmp_path / "model" / "MLmodel").read_text() == "flavors:\n  sklearn: {}\n"
    assert (tmp_path / "model" / "model.pkl").read_bytes() == b"\x80\x04pickle"


def test_job_list_follows_next_link(replay):
    run = replay("jobs/list_pages")
    assert [(j.name, j.status) for j in run.client.jobs.list()] == [
        (mk.JOB, "Running"), ("calm_fern_8d2k1m0z7q", "Completed"), ("eager_pine_2x9w4r6t1y", "Failed")]
    assert calls(run)[0][2] == {"api-version": "2024-04-01", "listViewType": "ActiveOnly"}


def test_job_cancel_is_a_202_polled_through_its_location(replay):
    run = replay("jobs/cancel")
    poller = run.client.jobs.begin_cancel(mk.JOB)
    assert poller.result() is None and poller.status() == "Succeeded"
    assert [(m, p.split("/")[-2]) for m, p, _ in calls(run)] == [
        ("POST", mk.JOB), ("GET", "mfeOperationResults"), ("GET", "mfeOperationResults")]
    assert run.sleeps == [mk.POLL_RETRY_AFTER]


# -- pipeline jobs -------------------------------------------------------------------------------------------
def _pipeline():
    train = CommandComponent(
        name="train_churn", version="1", display_name="Train churn model",
        command="python train.py --data ${{inputs.training_data}} --lr ${{inputs.learning_rate}} "
                "--model ${{outputs.model}}",
        code="azureml:train-src:1", environment="azureml:sklearn-env:4",
        inputs={"training_data": Input(type="uri_folder"), "learning_rate": Input(type="number", default=0.01)},
        outputs={"model": Output(type="mlflow_model")})
    report = CommandComponent(command="python report.py ${{inputs.model}} ${{outputs.report}}",
                              environment="azureml:sklearn-env:4", inputs={"model": Input(type="uri_folder")},
                              outputs={"report": Output(type="uri_folder")})
    return PipelineJob(
        name=mk.PIPELINE, display_name="churn pipeline", description="Train then report", experiment_name="churn",
        inputs={"training_data": Input(type="uri_folder",
                                       path="azureml://datastores/workspaceblobstore/paths/churn/2026-11/"),
                "learning_rate": 0.05},
        outputs={"report": Output(mode="upload")},
        settings=PipelineJobSettings(default_compute="cpu-cluster", continue_on_step_failure=False),
        jobs={"train": Command(component=train, resources=JobResources(instance_count=2),
                               inputs={"training_data": "${{parent.inputs.training_data}}",
                                       "learning_rate": "${{parent.inputs.learning_rate}}"}),
              "report": Command(component=report, inputs={"model": "${{parent.jobs.train.outputs.model}}"},
                                outputs={"report": "${{parent.outputs.report}}"})})


def test_a_pipeline_sends_its_inline_components_as_anonymous_versions_before_the_job(replay):
    run = replay("pipelines/create")
    created = run.client.jobs.create_or_update(_pipeline())
    versions = [spec["version"] for spec in mk.pipeline_component_specs()]
    assert [(m, p) for m, p, _ in calls(run)] == [
        ("PUT", f"/components/azureml_anonymous/versions/{versions[0]}"),
        ("PUT", f"/components/azureml_anonymous/versions/{versions[1]}"), ("PUT", f"/jobs/{mk.PIPELINE}")]
    assert isinstance(created, PipelineJob) and created.status == "NotStarted"
    assert created.jobs["report"].component.endswith(f"/components/azureml_anonymous/versions/{versions[1]}")


def test_pipeline_get_reads_its_nodes(replay):
    run = replay("pipelines/get")
    job = run.client.jobs.get(mk.PIPELINE)
    assert (job.status, list(job.jobs)) == ("Running", ["train", "report"])
    assert job.jobs["report"].inputs == {"model": "${{parent.jobs.train.outputs.model}}"}
    assert job.settings.default_compute == mk.arm_id("computes", "cpu-cluster")


def test_pipeline_cancel_is_polled_through_its_location(replay):
    run = replay("pipelines/cancel")
    run.client.jobs.begin_cancel(mk.PIPELINE).result()
    assert [m for m, _, _ in calls(run)] == ["POST", "GET"]


# -- spark jobs: the spec's SparkJob, and a pipeline's spark node with its inline component ---------------------
def _spark_component():
    return SparkComponent(
        display_name="Wrangle Titanic", code="azureml:titanic-src:1", entry=SparkJobEntry(file="titanic.py"),
        inputs={"titanic_data": Input(type="uri_file", mode="direct")},
        outputs={"wrangled_data": Output(type="uri_folder", mode="direct")}, args=mk.SPARK_ARGS,
        conf={k: int(v) if v.isdigit() else v for k, v in mk.SPARK_CONF.items()})


def test_a_serverless_spark_job_is_sent_as_the_specs_spark_job_and_read_back(replay):
    run = replay("spark/create_then_get")
    component = _spark_component()
    job = SparkJob(name=mk.SPARK_JOB, display_name="titanic wrangling", experiment_name="titanic",
                   description="Wrangle the Titanic data", code=component.code, entry=component.entry,
                   conf=component.conf, args=component.args,
                   inputs={"titanic_data": Input(type="uri_file", path=mk.TITANIC, mode="direct")},
                   outputs={"wrangled_data": Output(type="uri_folder", mode="direct")}, identity=UserIdentity(),
                   resources=SparkResourceConfiguration(instance_type="standard_e4s_v3", runtime_version="3.4"))
    created = run.client.jobs.create_or_update(job)
    assert isinstance(created, SparkJob) and created.status == "NotStarted"
    got = run.client.jobs.get(mk.SPARK_JOB)
    assert (got.status, got.entry, got.conf, got.resources) == ("Running", job.entry, job.conf, job.resources)
    assert got.code == "azureml:" + mk.arm_id("codes", "titanic-src", "versions", "1")
    assert [m for m, _, _ in calls(run)] == ["PUT", "GET"]


def test_a_pipelines_spark_node_sends_its_component_as_an_anonymous_version_first(replay):
    run = replay("spark/pipeline")
    job = PipelineJob(name=mk.SPARK_PIPELINE, display_name="titanic pipeline", experiment_name="titanic",
                      outputs={"wrangled": Output()},
                      jobs={"wrangle": Spark(
                          component=_spark_component(), identity=ManagedIdentity(),
                          resources=SparkResourceConfiguration(instance_type="standard_e8s_v3", runtime_version="3.4"),
                          inputs={"titanic_data": Input(type="uri_file", path=mk.TITANIC, mode="direct")},
                          outputs={"wrangled_data": "${{parent.outputs.wrangled}}"})})
    created = run.client.jobs.create_or_update(job)
    version = mk.spark_component_spec()["version"]
    assert [(m, p) for m, p, _ in calls(run)] == [("PUT", f"/components/azureml_anonymous/versions/{version}"),
                                                  ("PUT", f"/jobs/{mk.SPARK_PIPELINE}")]
    node = created.jobs["wrangle"]
    assert node.type == "spark" and node.resources.instance_type == "standard_e8s_v3"


# -- online and batch endpoints: long-running creates polled to Succeeded, traffic, keys, logs, delete, invoke --
def test_online_endpoint_create_is_polled_to_succeeded(replay):
    run = replay("online_endpoints/create")
    poller = run.client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(
        name=mk.ENDPOINT, auth_mode="key", description="Scores churn risk in real time"))
    # a poller, not the endpoint; done() is no check: replayed answers can finish it before the next line runs
    assert isinstance(poller, (LROPoller, aio.Poller))
    endpoint = poller.result()
    assert (endpoint.provisioning_state, endpoint.location, endpoint.scoring_uri) == (
        "Succeeded", mk.LOCATION, f"{mk.INFERENCE}/score")
    # the workspace's region first, then the PUT, its status polled, and the endpoint as it ended
    assert [(m, p.rsplit("/", 2)[-2]) for m, p, _ in calls(run)][1:] == [
        ("PUT", "onlineEndpoints"), ("GET", "mfeOperationsStatus"), ("GET", "mfeOperationsStatus"),
        ("GET", "onlineEndpoints")]
    assert calls(run)[0][:2] == ("GET", mk.SCOPE) and run.sleeps == [mk.POLL_RETRY_AFTER]


def test_online_deployment_create_with_registered_assets(replay):
    run = replay("online_deployments/create")
    deployment = run.client.online_deployments.begin_create_or_update(ManagedOnlineDeployment(
        name="blue", endpoint_name=mk.ENDPOINT, model="azureml:churn-model:2", environment="azureml:sklearn-env:4",
        code_configuration=CodeConfiguration(code="azureml:churn-score:1", scoring_script="score.py"),
        instance_type="Standard_DS3_v2", instance_count=1)).result()
    assert (deployment.provisioning_state, deployment.instance_count) == ("Succeeded", 1)
    assert deployment.request_settings.request_timeout_ms == 5000 and deployment.liveness_probe.initial_delay == 10
    assert run.sleeps == [mk.POLL_RETRY_AFTER] * 2


def test_online_endpoint_traffic_update(replay):
    run = replay("online_endpoints/traffic")
    endpoint = run.client.online_endpoints.get(mk.ENDPOINT)
    endpoint.traffic = {"blue": 100}
    updated = run.client.online_endpoints.begin_create_or_update(endpoint).result()
    assert (updated.traffic, updated.provisioning_state) == ({"blue": 100}, "Succeeded")


def test_online_endpoint_keys_and_their_regeneration(replay):
    run = replay("online_endpoints/keys")
    keys = run.client.online_endpoints.get_keys(mk.ENDPOINT)
    assert keys.primary_key.startswith("cHJpbWFyeS") and keys.secondary_key
    poller = run.client.online_endpoints.begin_regenerate_keys(mk.ENDPOINT, key_type="secondary")
    assert poller.result() is None and poller.status() == "Succeeded"


def test_online_invoke_sends_the_request_with_the_key_to_the_scoring_uri(replay):
    run = replay("online_endpoints/invoke")
    answer = run.client.online_endpoints.invoke(mk.ENDPOINT, request=mk.SAMPLE_REQUEST)
    assert json.loads(answer) == [11055.977245525679]
    assert [(m, p.rsplit("/", 1)[-1]) for m, p, _ in calls(run)] == [("GET", mk.ENDPOINT), ("POST", "listKeys")]


def test_online_deployment_get_logs(replay):
    run = replay("online_deployments/get_logs")
    assert run.client.online_deployments.get_logs("blue", mk.ENDPOINT, lines=50) == mk.LOGS


@pytest.mark.parametrize("group, args", [("online_endpoints", (mk.ENDPOINT,)),
                                         ("online_deployments", ("blue", mk.ENDPOINT))])
def test_endpoint_deletes_are_202s_polled_through_their_location(replay, group, args):
    run = replay(f"{group}/delete")
    poller = getattr(run.client, group).begin_delete(*args)
    assert poller.result() is None and poller.status() == "Succeeded"
    assert calls(run)[0][0] == "DELETE" and {m for m, _, _ in calls(run)[1:]} == {"GET"}


def test_batch_endpoint_and_deployment_create(replay):
    run = replay("batch_endpoints/create")
    endpoint = run.client.batch_endpoints.begin_create_or_update(BatchEndpoint(
        name=mk.BATCH_ENDPOINT, description="Scores the monthly churn snapshot",
        defaults=BatchEndpointDefaults(deployment_name="nightly"))).result()
    assert (endpoint.auth_mode, endpoint.provisioning_state) == ("aad_token", "Succeeded")
    run = replay("batch_deployments/create")
    deployment = run.client.batch_deployments.begin_create_or_update(ModelBatchDeployment(
        name="nightly", endpoint_name=mk.BATCH_ENDPOINT, model="azureml:churn-model:2", compute="azureml:cpu-cluster",
        resources=ResourceConfiguration(instance_count=2), settings=ModelBatchDeploymentSettings(
            mini_batch_size=10, max_concurrency_per_instance=2, output_action="append_row",
            output_file_name="predictions.csv", error_threshold=-1, logging_level="info",
            retry_settings=BatchRetrySettings(max_retries=3, timeout=300)))).result()
    assert deployment.provisioning_state == "Succeeded" and deployment.settings.retry_settings.timeout == 300


def test_batch_invoke_posts_to_the_scoring_uri_and_returns_the_job(replay):
    run = replay("batch_endpoints/invoke")
    job = run.client.batch_endpoints.invoke(mk.BATCH_ENDPOINT, input=Input(
        type="uri_folder", path="azureml://datastores/workspaceblobstore/paths/churn/2026-11/"))
    assert (job.name, job.status) == ("batchjob-5e1c9a7f-2d4b-4f8e-9a3c-7b6d5e4f3a2b", "Running")
    assert "https://ml.azure.com/.default" in run.credential.scopes  # the scoring URI takes an Entra token


# -- not found and throttled, for the groups that are not versioned assets ------------------------------------
SINGLES = {  # group -> (get one by name, an existing name, a missing one, the service's error code and message)
    "datastores": (lambda c, n: c.datastores.get(n), "churn_landing", "old_landing", "UserError",
                   "Datastore old_landing was not found in workspace mlw-contoso-dev."),
    "compute": (lambda c, n: c.compute.get(n), "cpu-cluster", "gpu-cluster-old", "NotFound",
                "Compute gpu-cluster-old was not found in workspace mlw-contoso-dev."),
    "jobs": (lambda c, n: c.jobs.get(n), mk.JOB, "lost_job", "UserError",
             "Could not find job lost_job in workspace mlw-contoso-dev."),
}


@pytest.mark.parametrize("group", SINGLES)
def test_not_found_carries_the_service_message(replay, group):
    get, _, missing, code, message = SINGLES[group]
    run = replay(f"{group}/not_found")
    with pytest.raises(ResourceNotFoundError) as info:
        get(run.client, missing)
    assert message in str(info.value) and info.value.error.code == code


@pytest.mark.parametrize("group", SINGLES)
def test_get_is_retried_after_429_as_retry_after_says(replay, group):
    get, name, *_ = SINGLES[group]
    run = replay(f"{group}/throttled")
    assert get(run.client, name).name == name
    assert len(run.sent) == 2 and run.sleeps == [mk.RETRY_AFTER]


# -- registries and connections ------------------------------------------------------------------------------
SHARING_CASSETTES = {"registries/create.yaml", "models/share.yaml", "connections/create_then_list_secrets.yaml"}


def test_registry_create_is_polled_through_its_async_operation(replay):
    run = replay("registries/create")
    poller = run.client.registries.begin_create(Registry(name=mk.REGISTRY, location=mk.LOCATION,
                                                         tags={"team": "ml-platform"}))
    registry = poller.result()
    assert (registry.name, registry.location, registry.tags) == (mk.REGISTRY, mk.LOCATION, {"team": "ml-platform"})
    assert registry.mlflow_registry_uri.endswith(f"/registries/{mk.REGISTRY}")
    assert [method for method, _, _ in calls(run)] == ["PUT", "GET", "GET", "GET"]
    assert run.sleeps == [mk.POLL_RETRY_AFTER]


def test_a_model_shared_to_a_registry_is_a_long_running_put_of_its_workspace_files(replay):
    run = replay("models/share")
    shared = run.client.models.share("churn-model", "2", registry_name=mk.REGISTRY, share_with_name="churn",
                                     share_with_version="1")
    assert (shared.name, shared.version, shared.type) == ("churn", "1", "mlflow_model")
    assert shared.path.startswith("https://contosoregistrystorage.blob.core.windows.net/")  # the registry's copy
    put = next(r for r in run.sent if r.method == "PUT")
    assert f"/registries/{mk.REGISTRY}/models/churn/versions/1" in put.url
    assert run.sleeps == [mk.POLL_RETRY_AFTER]


def test_a_connection_keeps_its_secret_until_list_secrets(replay):
    run = replay("connections/create_then_list_secrets")
    created = run.client.connections.create_or_update(WorkspaceConnection(
        name="churn-repo", type="git", target="https://github.com/contoso/churn-model",
        credentials=PatTokenConfiguration(pat=mk.PAT)))
    assert created.credentials.pat is None and mk.PAT not in created.dump()
    assert run.client.connections.get("churn-repo").credentials.pat is None
    assert run.client.connections.get("churn-repo", populate_secrets=True).credentials.pat == mk.PAT


# -- the cassettes themselves --------------------------------------------------------------------------------
def _interactions():
    for path in sorted(RECORDINGS.rglob("*.yaml")):
        for interaction in yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]:
            yield path.relative_to(RECORDINGS).as_posix(), interaction["request"], interaction["response"]


_ASSET_KINDS = {"codes": "Code", "data": "Data", "environments": "Environment", "models": "Model",
                "components": "Component"}
_RESOURCES = {"datastores": "DatastoreResource", "computes": "ComputeResource", "jobs": "JobBaseResource",
              "connections": "WorkspaceConnectionPropertiesV2BasicResource",
              "onlineEndpoints": "OnlineEndpointTrackedResource", "batchEndpoints": "BatchEndpointTrackedResource",
              "schedules": "ScheduleResource"}
_DEPLOYMENTS = {"onlineEndpoints": "OnlineDeploymentTrackedResource", "batchEndpoints": "BatchDeploymentTrackedResource"}
# actions (POST) with a body or an answer of their own
_ACTIONS = {"regenerateKeys": "RegenerateEndpointKeysRequest", "getLogs": "DeploymentLogsRequest"}
_ANSWERS = {"listSecrets": "DatastoreSecrets", "listKeys": "EndpointAuthKeys", "getLogs": "DeploymentLogs",
            "listsecrets": "WorkspaceConnectionPropertiesV2BasicResource"}


# What 2024-04-01 lacks and a job whose outputs become assets carries at mk.NAMED_OUTPUTS_API_VERSION (whose spec
# defines assetName; assetVersion travels as azure-ai-ml sends it): left out before checking against 2024-04-01.
_NAMED_OUTPUT_FIELDS = ("assetName", "assetVersion")


def _without_named_outputs(body: dict) -> dict:
    outputs = (body.get("properties") or {}).get("outputs")
    if not outputs:
        return body
    plain = {k: {f: v for f, v in o.items() if f not in _NAMED_OUTPUT_FIELDS} for k, o in outputs.items()}
    return {**body, "properties": {**body["properties"], "outputs": plain}}


def _definition(path: str) -> str:
    """The spec definition of the resource at an ARM path (a PUT's URI, or the id of a resource answered)."""
    if path.split("?")[0].endswith(f"/registries/{mk.REGISTRY}"):
        return "RegistryTrackedResource"
    parts = path.split(f"/workspaces/{mk.WORKSPACE}/", 1)[-1].split(f"/registries/{mk.REGISTRY}/", 1)[-1].split("/")
    if len(parts) == 4 and parts[0] in _ASSET_KINDS and parts[2] == "versions":
        return "DataVersionBaseResource" if parts[0] == "data" else f"{_ASSET_KINDS[parts[0]]}VersionResource"
    if len(parts) == 2 and parts[0] in _ASSET_KINDS:
        return f"{_ASSET_KINDS[parts[0]]}ContainerResource"
    if len(parts) == 2 and parts[0] in _RESOURCES:
        return _RESOURCES[parts[0]]
    if len(parts) == 4 and parts[0] in _DEPLOYMENTS and parts[2] == "deployments":
        return _DEPLOYMENTS[parts[0]]
    if parts[-1] in _ACTIONS:
        return _ACTIONS[parts[-1]]
    raise AssertionError(f"no spec definition known for {path}")


def test_every_request_body_in_the_cassettes_validates_against_the_spec(rest_validate):
    checked = {}
    for name, request, _ in _interactions():
        if request["body"] is None or _scoring(request["uri"]):
            continue
        path = urlsplit(request["uri"]).path
        assert request["method"] == "PUT" or path.rsplit("/", 1)[-1] in _ACTIONS, \
            f"{name}: a {request['method']} with a body"
        definition = _definition(path)
        body = _without_named_outputs(json.loads(request["body"]))
        assert rest_validate(body, definition) == [], f"{name}: {request['uri']}"
        checked[definition] = checked.get(definition, 0) + 1
    assert set(checked) >= {"CodeVersionResource", "DataVersionBaseResource", "EnvironmentVersionResource",
                            "ModelVersionResource", "ComponentVersionResource", "DatastoreResource",
                            "ComputeResource", "JobBaseResource", "OnlineEndpointTrackedResource",
                            "OnlineDeploymentTrackedResource", "BatchEndpointTrackedResource",
                            "BatchDeploymentTrackedResource", "RegenerateEndpointKeysRequest",
                            "DeploymentLogsRequest"}, checked


def test_every_resource_the_cassettes_answer_validates_against_the_spec(rest_validate):
    checked = 0
    for name, request, response in _interactions():
        text = response["body"]["string"]
        if response["status"]["code"] >= 300 or not text or "OperationsStatus" in request["uri"] \
                or _scoring(request["uri"]) or "blob.core.windows.net" in request["uri"]:
            continue  # (blob storage answers are XML or a blob's bytes, not ARM resources)
        body = json.loads(text)
        action = request["uri"].split("?")[0].rsplit("/", 1)[-1]
        if action in _ANSWERS:
            assert rest_validate(body, _ANSWERS[action]) == [], name
            continue
        if body.get("id") == mk.SCOPE:
            assert rest_validate(body, "Workspace") == [], name
            continue
        for resource in body.get("value", [body]):
            assert rest_validate(_without_named_outputs(resource), _definition(resource["id"])) == [], \
                f"{name}: {resource['id']}"
            checked += 1
    assert checked > 50


def _scoring(uri: str) -> bool:
    """Whether a request went to an endpoint's scoring URI (Azure ML's data plane, not ARM)."""
    return urlsplit(uri).hostname.endswith(".inference.ml.azure.com")


def test_every_arm_request_names_api_version_2024_04_01_but_jobs_whose_outputs_become_assets():
    for name, request, _ in _interactions():
        if "blob.core.windows.net" in request["uri"] or _scoring(request["uri"]):
            continue
        named = any("assetName" in o for o in json.loads(request["body"] or "{}").get("properties", {}).get(
            "outputs", {}).values())
        expected = mk.NAMED_OUTPUTS_API_VERSION if named else "2024-04-01"
        assert parse_qs(urlsplit(request["uri"]).query)["api-version"] == [expected], name


def test_every_operation_group_has_its_cassettes():
    assert {p.relative_to(RECORDINGS).as_posix() for p in RECORDINGS.rglob("*.yaml")} == {
        f"{group}/{scenario}.yaml" for group, last in GROUPS.items() for scenario in (*SCENARIOS, last)} | {
        "environments/build_context.yaml", "jobs/named_outputs.yaml", "jobs/download_output.yaml", "pipelines/create.yaml", "pipelines/get.yaml",
        "pipelines/cancel.yaml", "compute/instance_start_stop.yaml", "spark/create_then_get.yaml",
        "spark/pipeline.yaml"} | {
        f"{name}.yaml" for name in ENDPOINT_CASSETTES | SCHEDULE_CASSETTES} | SHARING_CASSETTES


def test_no_cassette_holds_an_authorization_header_or_a_token():
    for path in RECORDINGS.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        assert TOKEN not in text and "Bearer" not in text, path
    for name, request, response in _interactions():
        assert not {"authorization"} & {h.lower() for h in (*request["headers"], *response["headers"])}, name


def test_the_cassettes_are_what_the_generator_writes(tmp_path):
    spec = SPEC  # ../shared, or AZUREML_V2_SHARED
    if not spec.is_dir():
        pytest.skip(f"the Azure REST spec is not at {spec}: cannot regenerate the cassettes")
    assert mk.main(["--spec-dir", str(spec), "--out", str(tmp_path)]) == 0
    written = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*.yaml")}
    committed = {p.relative_to(RECORDINGS): p.read_bytes() for p in RECORDINGS.rglob("*.yaml")}
    assert written.keys() == committed.keys()
    stale = [str(p) for p in written if written[p] != committed[p]]
    assert not stale, f"recordings/ differ from tests/support/make_cassettes.py: rerun it ({stale})"


# -- schedules ---------------------------------------------------------------------------------------------------
def test_schedule_create_is_polled_to_succeeded_and_disable_sends_it_back_disabled(replay):
    from azureml_v2 import load_schedule

    schedule = load_schedule({
        "name": mk.SCHEDULE, "display_name": "Nightly churn retraining",
        "trigger": {"type": "cron", "expression": "0 6 * * 1-5", "time_zone": "Pacific Standard Time"},
        "create_job": {"type": "command", "experiment_name": "churn", "command": "python train.py",
                       "code": "azureml:churn-train:3", "environment": "azureml:sklearn-env:4",
                       "compute": "azureml:cpu-cluster"}})
    run = replay("schedules/create")
    poller = run.client.schedules.begin_create_or_update(schedule)
    assert isinstance(poller, (LROPoller, aio.Poller))
    created = poller.result()
    assert (created.provisioning_state, created.is_enabled, created.trigger.time_zone) == (
        "Succeeded", True, "Pacific Standard Time")
    assert created.create_job.command == "python train.py"
    assert [(m, p.rsplit("/", 2)[-2]) for m, p, _ in calls(run)] == [
        ("PUT", "schedules"), ("GET", "mfeOperationsStatus"), ("GET", "mfeOperationsStatus"), ("GET", "schedules")]
    assert run.sleeps == [mk.POLL_RETRY_AFTER]

    run = replay("schedules/disable")
    disabled = run.client.schedules.begin_disable(mk.SCHEDULE).result()
    assert disabled.is_enabled is False and disabled.name == mk.SCHEDULE
    assert [m for m, _, _ in calls(run)] == ["GET", "PUT"]
