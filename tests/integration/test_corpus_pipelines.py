"""Corpus pipelines submitted unchanged to one local workspace: those that need nothing beyond this machine run to
Completed, each other one fails naming its node and what it needs. A few representative files, kept fast: the
others of cli/jobs/basics/hello-pipeline*.yml and pipelines-with-components/basics/ behave as these do (see the
counts in the pipeline section of docs/architecture.md)."""
from __future__ import annotations

import time

import pytest

from azureml_v2 import MLClient, load_job

pytestmark = pytest.mark.integration

JOBS = "cli/jobs"
CASES = {
    "basics/hello-pipeline-io.yml": ("Completed", ()),
    "basics/hello-pipeline-customize-output-file.yml": ("Completed", ()),
    "pipelines-with-components/basics/3b_pipeline_with_data/pipeline.yml": ("Completed", ()),
    "pipelines-with-components/basics/6a_tf_hello_world/pipeline.yml":
        ("Failed", ("node tf_job", "resources.instance_count is 2")),
    "pipelines-with-components/pipeline_with_hyperparameter_sweep/pipeline.yml":
        ("Failed", ("node sweep_step", "wasbs://", "cloud storage", "not started: predict_step")),
}


@pytest.fixture(scope="module")
def ml(tmp_path_factory):
    client = MLClient.local(tmp_path_factory.mktemp("pipelines") / "home")
    yield client
    client.close()


@pytest.mark.parametrize("path", list(CASES))
def test_a_corpus_pipeline_runs_or_names_what_it_needs(corpus_root, ml, path):
    status, reasons = CASES[path]
    job = ml.jobs.create_or_update(load_job(corpus_root / JOBS / path))
    view = ml.jobs.pipeline_view(job.name)
    deadline = time.monotonic() + 300
    while view.status not in ("Completed", "Failed", "Canceled"):
        assert time.monotonic() < deadline, f"{path}: still {view.status}"
        time.sleep(0.2)
        view = ml.jobs.pipeline_view(job.name)
    assert view.status == status, (path, view.error)
    for reason in reasons:
        assert reason in (view.error or ""), view.error
    if status == "Completed":
        assert all(node.status == "Completed" for node in view.nodes)
