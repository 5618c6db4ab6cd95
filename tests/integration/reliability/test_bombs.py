"""Attack: small inputs that grow huge once read. A YAML alias bomb is refused where it is read (a job file, the
conda file it names, a REST body); a job's error is kept bounded, as it is served with every job list."""
from __future__ import annotations

import json
import time

import pytest
from support.local import Client

import azureml_v2
from azureml_v2.local import make_app

pytestmark = pytest.mark.integration


def _bomb(levels: int = 8) -> str:
    """A 'billion laughs' mapping: 10**levels copies of `x` through nested aliases, in about 1 KB."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


CONDA_BOMB = _bomb() + "name: bomb\ndependencies:\n  - python=3.11\n  - pip:\n    - *l8\n"


def test_a_conda_file_bomb_is_refused_when_its_environment_loads(tmp_path):
    (tmp_path / "conda.yml").write_text(CONDA_BOMB)
    (tmp_path / "env.yml").write_text("name: bomb\nimage: python:3.11-slim\nconda_file: conda.yml\n")
    start = time.perf_counter()
    with pytest.raises(azureml_v2.ValidationError) as err:
        azureml_v2.load_environment(tmp_path / "env.yml")
    assert time.perf_counter() - start < 5  # a guard against expansion, not a benchmark
    assert str(err.value) == (f"{tmp_path / 'env.yml'}:3:1 conda_file: the conda file is refused: "
                              f"{tmp_path / 'conda.yml'}:6:5: aliases expand this value to more than 1,000,000 "
                              "characters beyond the file's size")


def test_a_conda_file_bomb_sent_over_rest_is_a_400(tmp_path):
    app = make_app(tmp_path / "home", user="tester")
    try:
        response = Client(app).put("/environments/bomb/versions/1",
                                   {"properties": {"image": "python:3.11-slim", "condaFile": CONDA_BOMB}})
    finally:
        app.close()
    assert response.status == 400
    assert response.json["error"]["message"] == (
        "properties.condaFile: line 6, column 5: aliases expand this value to more than 1,000,000 characters "
        "beyond the file's size")


def test_a_conda_file_bomb_already_stored_fails_its_build_in_a_short_message(tmp_path):
    from azureml_v2.local.executors.envs import EnvironmentBuildError, pip_requirements
    with pytest.raises(EnvironmentBuildError) as err:
        pip_requirements({"condaFile": CONDA_BOMB})
    assert len(str(err.value)) < 200


def test_a_huge_job_error_is_kept_bounded(tmp_path):
    app = make_app(tmp_path / "home", user="tester", run_jobs=False)
    client = Client(app)
    try:
        client.put("/environments/host/versions/1", {"properties": {"image": "python:3.11-slim"}})
        env = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/" \
              "Microsoft.MachineLearningServices/workspaces/local/environments/host/versions/1"
        for name in ("a", "b"):
            assert client.put(f"/jobs/{name}", {"properties": {"jobType": "Command", "command": "true",
                                                              "environmentId": env}}).status == 201
            app.store.set_job_status("local", name, "Failed", error="x" * 50_000_000)
        error = client.get("/jobs/a").json["properties"]["properties"]["Error"]
        listed = json.dumps([job for page in client.pages("/jobs") for job in page])
    finally:
        app.close()
    assert error.startswith("x" * 1000) and error.endswith("... (49,983,616 more characters; see the job's logs)")
    assert len(listed) < 100_000
