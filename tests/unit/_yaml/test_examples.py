"""The shipped examples load, round-trip and map to spec-valid REST bodies; the preview-dialect
twins normalise to the same jobs as today's YAML."""
from __future__ import annotations

import runpy
from dataclasses import replace
from pathlib import Path

import pytest

import azureml_v2
from azureml_v2._contract import LOCAL_SCOPE

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
JOBS = sorted(p.relative_to(EXAMPLES) for p in EXAMPLES.rglob("*.yml")
              if p.name.startswith(("job", "sweep")))


@pytest.mark.parametrize("rel", JOBS, ids=str)
def test_example_job(rel, tmp_path, rest_validate):
    job = azureml_v2.load_job(EXAMPLES / rel)
    out = tmp_path / "copy" / rel.name
    out.parent.mkdir()
    job.dump(out)
    assert azureml_v2.load_job(out) == job
    assert rest_validate(job.to_rest(scope=LOCAL_SCOPE), "JobBaseResource") == []


def test_environment_example_builds_from_its_conda_file():
    env = azureml_v2.load_environment(EXAMPLES / "lightgbm" / "environment" / "environment.yml")
    deps = env.conda_spec()["dependencies"]
    assert any(isinstance(d, dict) and any(p.startswith("lightgbm") for p in d["pip"]) for d in deps)


def test_preview_sweep_is_todays_sweep():
    """The seed dialect's flag keys reach the trial's command line, as the preview did."""
    today = azureml_v2.load_job(EXAMPLES / "lightgbm" / "sweep.yml")
    preview = azureml_v2.load_job(EXAMPLES / "lightgbm" / "sweep-preview.yml")
    assert preview.search_space == today.search_space
    assert preview.objective == today.objective
    assert preview.limits.max_total_trials == today.limits.max_total_trials == 10
    assert preview.limits.timeout == 1800
    assert preview.trial.command == ("python train.py --lr ${{search_space.lr}} --feature_fraction "
                                     "${{search_space.feature_fraction}} --bagging_fraction "
                                     "${{search_space.bagging_fraction}}")
    assert preview.early_termination == today.early_termination


def test_preview_command_job_normalises():
    job = azureml_v2.load_job(EXAMPLES / "lightgbm" / "job-preview.yml")
    assert job.compute == "local" and job.environment == "azureml:lightgbm-diabetes:1"
    assert job.code == str(EXAMPLES / "lightgbm" / "src")
    assert job.properties == {"source": "repo"}


def test_the_pipeline_example_loads_checks_and_round_trips(tmp_path, rest_validate):
    job = azureml_v2.load_job(EXAMPLES / "pipeline" / "pipeline.yml")
    job.validate()
    assert list(job.jobs) == ["train_step", "evaluate_step", "register_step"]
    assert job.jobs["evaluate_step"].component.is_deterministic is True
    out = tmp_path / "copy" / "pipeline.yml"
    out.parent.mkdir()
    job.dump(out)
    assert azureml_v2.load_job(out) == job
    assert rest_validate(job.to_rest(scope=LOCAL_SCOPE), "JobBaseResource") == []
    for node in job.jobs.values():
        assert rest_validate(node.component.to_rest(scope=LOCAL_SCOPE), "ComponentVersionResource") == []


def test_the_pipeline_example_in_python_builds_the_same_job():
    built = runpy.run_path(str(EXAMPLES / "pipeline" / "pipeline.py"))["diabetes"]()  # not __main__: not submitted
    assert built == replace(azureml_v2.load_job(EXAMPLES / "pipeline" / "pipeline.yml"), schema=None)
