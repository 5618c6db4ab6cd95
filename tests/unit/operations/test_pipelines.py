"""ml_client.jobs and ml_client.components with pipelines, against the local workspace in-process: inline
components become anonymous versions created before the job, named by their content; the same body the service
stores is the one Azure ML takes; pipeline and parallel components are created and read back."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from support.local import local_client

from azureml_v2 import ValidationError, load_component, load_job
from azureml_v2._contract import PARENT_JOB_PROPERTY
from azureml_v2.dsl import pipeline
from azureml_v2.entities.pipeline import ParallelComponent, PipelineComponent, PipelineJob
from azureml_v2.local.core.checks import Invalid

COMPONENT = """\
name: greet
type: command
inputs:
  who: {type: string}
outputs:
  out: {type: uri_folder}
code: ./src
environment: azureml:python:1
command: python greet.py ${{inputs.who}} ${{outputs.out}}
"""
PIPELINE = """\
type: pipeline
inputs:
  who: world
  data: {type: uri_folder, path: ./data}
settings: {default_compute: local}
jobs:
  first:
    component: ./greet.yml
    inputs: {who: '${{parent.inputs.who}}'}
  second:
    command: ls ${{inputs.seen}} ${{inputs.data}}
    environment: {image: python:3.11}
    inputs:
      seen: ${{parent.jobs.first.outputs.out}}
      data: ${{parent.inputs.data}}
"""


@pytest.fixture
def project(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "greet.py").write_text("print('hello')\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "rows.csv").write_text("a\n1\n")
    (tmp_path / "greet.yml").write_text(COMPONENT)
    (tmp_path / "pipeline.yml").write_text(PIPELINE)
    return tmp_path


@pytest.fixture
def ml_client(tmp_path, rest_validate):
    """The local workspace without runners; every PUT body it was sent must validate against the spec."""
    client = local_client(tmp_path / "home", run_jobs=False)
    yield client
    client.close()
    client.sent.close()
    for path, body in client.sent.puts():
        definition = "JobBaseResource" if "/jobs/" in path else client.sent.definition(path)
        assert rest_validate(body, definition) == [], f"PUT {path}: {body}"


def _puts(ml_client) -> list[str]:
    return [path.split("/workspaces/local/", 1)[1] for path, _ in ml_client.sent.puts()]


def test_inline_components_are_created_anonymously_before_the_job(ml_client, project):
    created = ml_client.jobs.create_or_update(load_job(project / "pipeline.yml"), name="pipe1")
    assert isinstance(created, PipelineJob) and created.status == "NotStarted"
    puts = _puts(ml_client)
    anonymous = [p for p in puts if p.startswith("components/azureml_anonymous/versions/")]
    assert len(anonymous) == 2 and puts[-1] == "jobs/pipe1"
    assert puts.index(anonymous[-1]) < puts.index("jobs/pipe1")
    body = ml_client.sent.puts()[-1][1]["properties"]
    ids = {node["componentId"].rsplit("/", 1)[1] for node in body["jobs"].values()}
    assert ids == {p.rsplit("/", 1)[1] for p in anonymous}
    # local data is uploaded once and named by its datastore URI
    assert body["inputs"]["data"]["uri"].startswith("azureml://datastores/workspaceblobstore/paths/")
    # the component version holds its code as an uploaded code asset
    first = ml_client.components.get("azureml_anonymous",
                                     version=body["jobs"]["first"]["componentId"].rsplit("/", 1)[1])
    assert first.code.startswith("azureml:/subscriptions/") and "/codes/" in first.code
    assert first.command.startswith("python greet.py")


def test_the_same_pipeline_again_reuses_its_anonymous_versions(ml_client, project):
    ml_client.jobs.create_or_update(load_job(project / "pipeline.yml"), name="pipe1")
    ml_client.jobs.create_or_update(load_job(project / "pipeline.yml"), name="pipe2")
    bodies = [body["properties"]["jobs"] for path, body in ml_client.sent.puts() if "/jobs/" in path]
    assert bodies[0] == bodies[1]
    versions = ml_client.components.list("azureml_anonymous")
    assert len(list(versions)) == 2


def test_get_and_children(ml_client, project):
    ml_client.jobs.create_or_update(load_job(project / "pipeline.yml"), name="pipe1")
    job = ml_client.jobs.get("pipe1")
    assert isinstance(job, PipelineJob) and list(job.jobs) == sorted(["first", "second"])
    assert job.jobs["second"].inputs["seen"] == "${{parent.jobs.first.outputs.out}}"
    # a node's child job names its pipeline: the pipeline's executor creates them so
    ml_client.sent.app.jobs.create("local", "pipe1_first", {
        "jobType": "Command", "command": "echo", "environmentId": "azureml:python:1",
        "properties": {PARENT_JOB_PROPERTY: "pipe1"}})
    assert [j.name for j in ml_client.jobs.list(parent_job_name="pipe1")] == ["pipe1_first"]
    assert "pipe1_first" not in [j.name for j in ml_client.jobs.list()]


def test_a_broken_pipeline_is_refused_before_anything_is_sent(ml_client, project):
    job = load_job(project / "pipeline.yml")
    job.jobs["second"].inputs["seen"] = "${{parent.jobs.frist.outputs.out}}"
    with pytest.raises(ValidationError, match=r"jobs.second.inputs.seen: node second: no node named 'frist'"):
        ml_client.jobs.create_or_update(job)
    assert ml_client.sent.puts() == []


def test_the_local_workspace_refuses_a_node_without_a_component(ml_client):
    jobs = ml_client.sent.app.jobs  # the checks a PUT takes
    with pytest.raises(Invalid, match=r"properties.jobs.a.componentId is required"):
        jobs.create("local", "bad", {"jobType": "Pipeline", "jobs": {"a": {"type": "command"}}})
    with pytest.raises(Invalid, match=r"properties.jobs.a.type: \"automl\" is not one of"):
        jobs.create("local", "bad", {"jobType": "Pipeline", "jobs": {"a": {"type": "automl"}}})


def test_pipeline_and_parallel_components_are_created_and_read_back(ml_client, project):
    (project / "inner.yml").write_text(textwrap.dedent("""\
        name: inner
        version: 1
        type: pipeline
        inputs:
          who: {type: string, default: you}
        outputs:
          out: {type: uri_folder}
        jobs:
          greet:
            component: ./greet.yml
            inputs: {who: '${{parent.inputs.who}}'}
            outputs: {out: '${{parent.outputs.out}}'}
        """))
    created = ml_client.components.create_or_update(load_component(project / "inner.yml"))
    assert isinstance(created, PipelineComponent) and created.version == "1"
    assert created.jobs["greet"].component.startswith("azureml:/subscriptions/")
    assert "components/azureml_anonymous/versions/" in created.jobs["greet"].component
    assert _puts(ml_client)[-1] == "components/inner/versions/1"
    (project / "par.yml").write_text(textwrap.dedent("""\
        name: rows
        type: parallel
        inputs: {data: {type: uri_folder}}
        outputs: {scores: {type: uri_file}}
        input_data: ${{inputs.data}}
        mini_batch_size: 2
        task:
          type: run_function
          code: ./src
          entry_script: greet.py
          environment: {image: python:3.11}
          append_row_to: ${{outputs.scores}}
        """))
    parallel = ml_client.components.create_or_update(load_component(project / "par.yml"))
    assert isinstance(parallel, ParallelComponent) and parallel.version == "1"
    assert "/codes/" in parallel.task.code and "/environments/" in parallel.task.environment
    assert ml_client.components.get("rows", label="latest") == parallel


def test_additional_includes_are_part_of_the_code_snapshot(ml_client, project):
    (project / "common").mkdir()
    (project / "common" / "util.py").write_text("X = 1\n")
    (project / "greet.yml").write_text(COMPONENT + "additional_includes: [./common]\n")
    created = ml_client.components.create_or_update(load_component(project / "greet.yml"))
    code = ml_client.code.get(*created.code.split("/codes/")[1].split("/versions/"))
    store, _, path = code.path.removeprefix("azureml://datastores/").partition("/paths/")
    uploaded = Path(ml_client.datastores.get(store).path) / path
    assert sorted(p.relative_to(uploaded).as_posix() for p in uploaded.rglob("*.py")) == [
        "common/util.py", "greet.py"]


def test_a_registered_component_in_a_pipeline_is_named_not_copied(ml_client, project):
    greet = ml_client.components.create_or_update(load_component(project / "greet.yml"))

    @pipeline(default_compute="local")
    def hello():
        greet(who="you")

    created = ml_client.jobs.create_or_update(hello(), name="pipe3")
    assert created.jobs["greet"].component.endswith("/components/greet/versions/1")
    assert not [p for p in _puts(ml_client) if "azureml_anonymous" in p]


def test_a_curated_environment_in_a_step_goes_as_it_is_as_at_the_top(ml_client, project):
    curated = "azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest"  # not a registered one: no lookup
    text = PIPELINE.replace("environment: {image: python:3.11}", f"environment: {curated}")
    (project / "pipeline.yml").write_text(text)
    ml_client.jobs.create_or_update(load_job(project / "pipeline.yml"))
    (component,) = [body for path, body in ml_client.sent.puts() if "/components/" in path and "command" in str(body)
                    and "ls " in str(body)]
    assert component["properties"]["componentSpec"]["environment"] == curated
