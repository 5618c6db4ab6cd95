"""A registry shared by two local workspaces: a model one workspace's job trained is shared to it and read by a job of
another workspace, through `azureml://registries/...`."""
from __future__ import annotations

import io

import pytest

from azureml_v2 import MLClient
from azureml_v2.entities import Registry, Workspace
from azureml_v2.entities.assets import Environment
from azureml_v2.entities.inputs import Input, Output
from azureml_v2.entities.job import CommandJob

pytestmark = pytest.mark.integration


def test_a_model_trained_in_one_workspace_is_shared_and_used_by_a_job_of_another(tmp_path):
    home = tmp_path / "home"
    train_src = tmp_path / "train"
    train_src.mkdir()
    (train_src / "train.py").write_text(
        "import os, sys\n"
        "os.makedirs(sys.argv[1], exist_ok=True)\n"
        "open(os.path.join(sys.argv[1], 'weights.txt'), 'w').write('w=0.42')\n")
    score_src = tmp_path / "score"
    score_src.mkdir()
    (score_src / "score.py").write_text(
        "import os, sys\n"
        "print('scoring with', open(os.path.join(sys.argv[1], 'weights.txt')).read())\n")
    env = Environment(image="python:3.11")
    with MLClient.local(home, polling_interval=0) as default:  # workspaces are made by their create
        for name in ("team-a", "team-b"):
            default.workspaces.begin_create(Workspace(name=name)).result()
    with MLClient.local(home, workspace_name="team-a", polling_interval=0) as team_a, \
            MLClient.local(home, workspace_name="team-b", polling_interval=0) as team_b:
        team_a.registries.begin_create(Registry(name="shared", location="local")).result()
        team_a.jobs.create_or_update(CommandJob(
            name="train", command="python train.py ${{outputs.model}}", code=str(train_src), environment=env,
            compute="local", outputs={"model": Output(type="custom_model", name="taxi-model", version="3")}))
        assert team_a.jobs.stream("train", out=io.StringIO()).status == "Completed"
        assert team_a.models.get("taxi-model", version="3").path  # the job registered its output

        shared = team_a.models.share("taxi-model", "3", registry_name="shared", share_with_name="taxi",
                                     share_with_version="1")
        assert (shared.name, shared.version) == ("taxi", "1")
        # the registry holds a copy: its own client sees it, a workspace does not
        registry = MLClient.local(home, registry_name="shared")
        assert [m.name for m in registry.models.list()] == ["taxi"]
        assert [m.name for m in team_b.models.list()] == []

        team_b.jobs.create_or_update(CommandJob(
            name="score", command="python score.py ${{inputs.model}}", code=str(score_src), environment=env,
            compute="local",
            inputs={"model": Input(type="custom_model", path="azureml://registries/shared/models/taxi/versions/1")}))
        out = io.StringIO()
        assert team_b.jobs.stream("score", out=out).status == "Completed", out.getvalue()
        assert "scoring with w=0.42" in out.getvalue()
