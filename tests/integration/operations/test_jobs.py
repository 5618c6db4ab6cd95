"""ml_client.jobs on a local workspace that runs its jobs: stream, download and get_metrics of a real run."""
from __future__ import annotations

import io

import pytest
from support.local import local_client

from azureml_v2.entities.assets import Environment
from azureml_v2.entities.inputs import Output
from azureml_v2.entities.job import CommandJob

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sync", "aio"])
def client_api(request):
    """Each real run is driven by MLClient and by azureml_v2.aio.MLClient."""
    return request.param


# -- a real run on this machine ------------------------------------------------------------------------
def test_a_real_run_streams_downloads_and_reports_metrics(tmp_path, client_api):
    pytest.importorskip("mlflow")
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text(
        "import os, sys, mlflow\n"
        "for step, rmse in enumerate((0.5, 0.25)):\n"
        "    mlflow.log_metric('rmse', rmse, step=step)\n"
        "os.makedirs('outputs', exist_ok=True)\n"
        "open('outputs/model.txt', 'w').write('weights')\n"
        "open(os.path.join(sys.argv[1], 'scores.csv'), 'w').write('1\\n')\n"
        "print('trained')\n")
    job = CommandJob(name="real", command="python train.py ${{outputs.scores}}", code=str(src),
                     environment=Environment(image="python:3.11"), compute="local",
                     outputs={"scores": Output(type="uri_folder")})
    with local_client(tmp_path / "home", api=client_api) as ml_client:
        ml_client.jobs.create_or_update(job)
        out = io.StringIO()
        assert ml_client.jobs.stream("real", out=out).status == "Completed"
        assert "trained\n" in out.getvalue() and out.getvalue().endswith("Status: Completed\n")
        ml_client.jobs.download("real", download_path=tmp_path / "dl", all=True)
        assert (tmp_path / "dl" / "artifacts" / "outputs" / "model.txt").read_text() == "weights"
        assert (tmp_path / "dl" / "scores" / "scores.csv").read_text() == "1\n"
        metrics = ml_client.jobs.get_metrics("real")
        assert [(step, value) for step, value, _ in metrics["rmse"]] == [(0, 0.5), (1, 0.25)]


def test_booleans_reach_the_command_line_as_on_azure_and_a_named_output_is_registered(tmp_path, client_api):
    job = CommandJob(name="flags", command="echo flags ${{inputs.a}} ${{inputs.b}} > ${{outputs.report}}/r.txt",
                     environment=Environment(image="python:3.11"), compute="local", inputs={"a": True, "b": False},
                     outputs={"report": Output(type="uri_folder", name="flag-report", version="7")})
    with local_client(tmp_path / "home", api=client_api) as ml_client:
        ml_client.jobs.create_or_update(job)
        assert ml_client.jobs.stream("flags", out=io.StringIO()).status == "Completed"
        ml_client.jobs.download("flags", download_path=tmp_path / "dl", output_name="report")
        assert (tmp_path / "dl" / "report" / "r.txt").read_text() == "flags True False\n"
        asset = ml_client.data.get("flag-report", version="7")
        assert asset.path.endswith("workspaceblobstore/paths/azureml/flags/report/")


def test_a_served_download_brings_the_same_files_as_one_in_this_process(tmp_path, client_api):
    """Our client pointed at `azml server` (plain http) gets the job's user logs as the run history lists them,
    so its download equals the in-process one, logs included."""
    from azureml_v2 import MLClient, aio
    from azureml_v2.local.api import server
    from support.aio import Client

    home = tmp_path / "home"
    state, token = server.start(home)
    try:
        served = MLClient(token, endpoint=state["endpoint"], retry_total=0) if client_api == "sync" else \
            Client(aio.MLClient(token, endpoint=state["endpoint"], retry_total=0))
        with served as ml_client:
            ml_client.jobs.create_or_update(CommandJob(
                name="logged", environment=Environment(image="python:3.11"), compute="local",
                command="python -c \"open('outputs/a.txt', 'w').write('a'); "
                        "print('to the log')\""))
            assert ml_client.jobs.stream("logged", out=io.StringIO()).status == "Completed"
            ml_client.jobs.download("logged", download_path=tmp_path / "served")
        with MLClient.local(home) as here:
            here.jobs.download("logged", download_path=tmp_path / "here")
    finally:
        server.stop(home)
    served_files, here_files = (_files(tmp_path / kind) for kind in ("served", "here"))
    assert served_files == here_files
    assert served_files["artifacts/outputs/a.txt"] == b"a"
    assert b"to the log" in served_files["artifacts/user_logs/std_log.txt"]


def _files(folder) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
