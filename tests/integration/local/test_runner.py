"""The local job runner, driven through the service's REST API: a PUT of a command job really runs it here."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.jobs import ENV_ID, code_version, gone, read_pid, submit, wait
from support.local import WS, Client

from azureml_v2._contract import TERMINAL_STATUSES
from azureml_v2.local import make_app
from azureml_v2.local.core.jobs import HEARTBEAT_TIMEOUT
from azureml_v2.local.storage.workspace import Store

pytestmark = pytest.mark.integration

ARTIFACTS = "datastores/workspaceartifactstore/ExperimentRun"
OUTPUTS = "datastores/workspaceblobstore/azureml"  # named outputs given no path


def user_log(home, name, log="std_log.txt") -> str:
    return (home / "jobs" / "local" / name / "user_logs" / log).read_text()


def test_echo_hello_completes_with_its_log_and_times(client, home, rest_response):
    created = submit(client, "hello", "echo hello $MY_SETTING", environmentVariables={"MY_SETTING": "there"})
    assert created["properties"]["status"] in ("NotStarted", "Queued", "Preparing", "Running")
    props = wait(client, "hello")
    assert props["status"] == "Completed", props
    run = props["properties"]
    assert run["ExitCode"] == "0" and "Error" not in run
    assert run["StartTimeUtc"] <= run["EndTimeUtc"]
    assert "hello there" in user_log(home, "hello").splitlines()
    assert "image python:3.11-slim" in user_log(home, "hello")  # the environment's notice
    assert rest_response(client.get("/jobs/hello").json, "JobBaseResource") == []
    runner_log = (home / "jobs/local/hello/system_logs/runner.log").read_text()
    assert "status Completed" in runner_log and "runner memory: VmRSS" in runner_log
    # a client sending the GET body back changes nothing and is not refused
    assert client.put("/jobs/hello", client.get("/jobs/hello").json).status == 200


def test_a_failing_command_fails_quoting_its_stderr(client, home):
    submit(client, "bad", "echo fine; for i in 1 2 3; do echo problem-$i >&2; done; exit 3")
    props = wait(client, "bad")
    assert props["status"] == "Failed"
    error = props["properties"]["Error"]
    assert "exited with code 3" in error and "problem-1\nproblem-2\nproblem-3" in error and "fine" not in error
    assert props["properties"]["ExitCode"] == "3"
    assert "fine\n" in user_log(home, "bad") and "problem-3" in user_log(home, "bad")


def test_a_missing_script_fails_with_a_clear_message(client):
    submit(client, "missing", "python no_such_script.py")
    props = wait(client, "missing")
    assert props["status"] == "Failed"
    assert "can't open file" in props["properties"]["Error"] and "no_such_script.py" in props["properties"]["Error"]


SCRIPT = """
import argparse, os, pathlib, sys
parser = argparse.ArgumentParser()
parser.add_argument("--data")
parser.add_argument("--table")
parser.add_argument("--n", type=int)
parser.add_argument("--opt")
parser.add_argument("--out")
args = parser.parse_args()
files = sorted(p.name for p in pathlib.Path(args.data).iterdir())
out = pathlib.Path(args.out)
(out / "result.txt").write_text(f"files={files} n={args.n} opt={args.opt} table={pathlib.Path(args.table).name}\\n")
pathlib.Path("outputs").mkdir(exist_ok=True)
pathlib.Path("outputs/note.txt").write_text(os.environ["AZUREML_RUN_ID"])
print("argv", sys.argv[1:])
"""


def test_inputs_and_outputs_end_to_end(client, home, tmp_path):
    data = home / "datastores" / "workspaceblobstore" / "iris"
    data.mkdir(parents=True)
    (data / "a.csv").write_text("1,2\n")
    (data / "b.csv").write_text("3,4\n")
    table = tmp_path / "table.csv"
    table.write_text("x\n")
    command = ("python train.py --data ${{inputs.data}} --table ${{inputs.table}} --n ${{inputs.n}} "
               "$[[--opt ${{inputs.opt}}]] --out ${{outputs.result}}")
    submit(client, "io", command, codeId=code_version(client, tmp_path, {"train.py": SCRIPT}),
           inputs={"data": {"jobInputType": "uri_folder", "uri": "azureml://datastores/workspaceblobstore/paths/iris"},
                   "table": {"jobInputType": "uri_file", "uri": str(table), "mode": "Download"},
                   "n": {"jobInputType": "literal", "value": "7"}},
           outputs={"result": {"jobOutputType": "uri_folder", "assetName": "results"}})
    props = wait(client, "io")
    assert props["status"] == "Completed", props
    log = user_log(home, "io")
    assert "--opt" not in log  # the optional input is absent: its block is dropped
    assert "read-only is not enforced" in log
    stored = home / OUTPUTS / "io"
    assert (stored / "result" / "result.txt").read_text() == "files=['a.csv', 'b.csv'] n=7 opt=None table=table.csv\n"
    assert (home / ARTIFACTS / "dcid.io" / "outputs" / "note.txt").read_text() == "io"
    assert (home / "jobs/local/io/wd/INPUT_table/table.csv").read_text() == "x\n"  # download: a copy in the wd
    asset = client.get("/data/results/versions/1")
    assert asset.status == 200 and asset.json["properties"]["dataType"] == "uri_folder"
    assert asset.json["properties"]["dataUri"] == "azureml://datastores/workspaceblobstore/paths/azureml/io/result/"


MLFLOW_SCRIPT = """
import os
print("run", os.environ["MLFLOW_RUN_ID"], os.environ["AZUREML_RUN_ID"], os.environ["AZUREML_EXPERIMENT_NAME"])
import mlflow
mlflow.log_param("alpha", 0.5)
for step in range(3):
    mlflow.log_metric("rmse", 1.0 / (step + 1), step=step)
"""


def test_mlflow_calls_in_the_script_land_in_the_job(client, home, tmp_path):
    pytest.importorskip("mlflow")
    from azureml_v2.local.core import metrics as tracking

    submit(client, "tracked", "python log.py", codeId=code_version(client, tmp_path, {"log.py": MLFLOW_SCRIPT}),
           experimentName="exp", environmentVariables={"MY_SETTING": "on"})
    props = wait(client, "tracked", timeout=60)
    assert props["status"] == "Completed", props
    assert "run tracked tracked exp" in user_log(home, "tracked")
    assert [value for _, value, _ in tracking.metrics(home, "local", "tracked")["rmse"]] == [1.0, 0.5, 1 / 3]


def test_a_job_reads_an_earlier_jobs_outputs_and_the_assets_they_became(client, home):
    submit(client, "first", "echo 42 > ${{outputs.answer}}/answer.txt; echo w > ${{outputs.model}}/weights; "
                            "echo one-file > ${{outputs.single}}",
           outputs={"answer": {"jobOutputType": "uri_folder", "assetName": "answers", "assetVersion": "5"},
                    "model": {"jobOutputType": "custom_model", "assetName": "net"},
                    "single": {"jobOutputType": "uri_file"}})
    assert wait(client, "first")["status"] == "Completed"
    model = client.get("/models/net/versions/1").json["properties"]
    assert model["modelType"] == "custom_model" and model["jobName"] == "first"
    assert (home / OUTPUTS / "first/single/single").read_text() == "one-file\n"  # a uri_file output
    submit(client, "second", "cat ${{inputs.earlier}}/answer.txt ${{inputs.asset}}/answer.txt "
                             "${{inputs.model}}/weights ${{inputs.file}}; echo ${{inputs.raw}}",
           inputs={"earlier": {"jobInputType": "uri_folder", "uri": "azureml://jobs/first/outputs/answer"},
                   "asset": {"jobInputType": "uri_folder", "uri": f"{WS}/data/answers/versions/5"},
                   "model": {"jobInputType": "custom_model", "uri": f"{WS}/models/net/versions/1"},
                   "file": {"jobInputType": "uri_file", "uri": "azureml://jobs/first/outputs/single"},
                   "raw": {"jobInputType": "uri_folder", "uri": "azureml:answers@latest", "mode": "Direct"}})
    props = wait(client, "second")
    assert props["status"] == "Completed", props
    assert user_log(home, "second").splitlines()[-5:] == [
        "42", "42", "w", "one-file", "azureml://datastores/workspaceblobstore/paths/azureml/first/answer/"]


@pytest.fixture
def web():
    """A loopback HTTP server: /data.csv answers at once, /slow.csv only when the test ends."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/slow.csv":
                release.wait(30)
            body = b"a,b\n1,2\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    release.set()
    server.shutdown()
    server.server_close()


def test_url_inputs_are_downloaded_and_a_slow_one_can_be_canceled(client, home, web):
    submit(client, "fetch", "cat ${{inputs.table}}", inputs={"table": {"jobInputType": "uri_file",
                                                                      "uri": f"{web}/data.csv"}})
    assert wait(client, "fetch")["status"] == "Completed"
    assert user_log(home, "fetch").endswith("a,b\n1,2\n")
    submit(client, "stuck", "cat ${{inputs.table}}", inputs={"table": {"jobInputType": "uri_file",
                                                                      "uri": f"{web}/slow.csv"}})
    runner_log = home / "jobs/local/stuck/system_logs/runner.log"
    while "downloading" not in (runner_log.read_text() if runner_log.exists() else ""):
        time.sleep(0.05)
    assert client.post("/jobs/stuck/cancel").status == 202
    assert wait(client, "stuck", timeout=5)["status"] == "Canceled"


def test_unreachable_url_or_unknown_input_fails_clearly(client):
    submit(client, "url", "cat ${{inputs.remote}}",
           inputs={"remote": {"jobInputType": "uri_file", "uri": "https://127.0.0.1:9/data.csv"}})
    submit(client, "nodata", "ls ${{inputs.d}}",
           inputs={"d": {"jobInputType": "uri_folder", "uri": "azureml://datastores/workspaceblobstore/paths/nope"}})
    submit(client, "undefined", "echo ${{inputs.nothing}}")
    error = wait(client, "url")["properties"]["Error"]
    assert "input 'remote': cannot download https://127.0.0.1:9/data.csv" in error
    assert "azureml://datastores/workspaceblobstore/paths/nope does not exist" in wait(client, "nodata")[
        "properties"]["Error"]
    assert "${{inputs.nothing}}, but the job has no input 'nothing'" in wait(client, "undefined")["properties"][
        "Error"]


def test_timeout_stops_the_job(client):
    submit(client, "slow", "echo started; sleep 30", limits={"jobLimitsType": "Command", "timeout": "PT1S"})
    props = wait(client, "slow", timeout=10)
    assert props["status"] == "Canceled"
    assert "longer than its limits.timeout of 1 s" in props["properties"]["Error"]


def test_cancel_stops_the_whole_process_tree_within_5_s(client, home):
    submit(client, "long", "sleep 60 & echo $! > child; echo $$ > shell; wait")
    wait(client, "long", ("Running",))
    pids = [read_pid(home / "jobs/local/long/wd" / f) for f in ("child", "shell")]
    assert client.post("/jobs/long/cancel").status == 202
    assert wait(client, "long", timeout=5)["status"] == "Canceled"
    assert all(gone(pid) for pid in pids)


def test_kill_9_of_the_runner_fails_the_job_within_5_s(client, app, home):
    submit(client, "victim", "echo before; echo $$ > shell; sleep 60")
    wait(client, "victim", ("Running",))
    shell = read_pid(home / "jobs/local/victim/wd/shell")
    while "before" not in user_log(home, "victim"):
        time.sleep(0.05)
    os.kill(app.store.get_job("local", "victim")["runner_pid"], signal.SIGKILL)
    props = wait(client, "victim", timeout=5)
    assert props["status"] == "Failed" and "the runner stopped" in props["properties"]["Error"]
    assert "before" in user_log(home, "victim")  # logs kept
    assert (home / "jobs/local/victim/system_logs/runner.log").exists()
    deadline = time.monotonic() + 2
    while not gone(shell) and time.monotonic() < deadline:  # the orphaned command is stopped too
        time.sleep(0.05)
    assert gone(shell)


def test_a_paused_runner_is_not_judged_dead(client, app, home):
    """SIGSTOP for longer than the heartbeat timeout, then SIGCONT: the job was only paused and completes."""
    submit(client, "paused", "echo $$ > shell; sleep 6; echo after")
    wait(client, "paused", ("Running",))
    runner = app.store.get_job("local", "paused")["runner_pid"]
    os.kill(runner, signal.SIGSTOP)
    try:
        time.sleep(HEARTBEAT_TIMEOUT + 2.5)  # supervision ran a few rounds meanwhile
        assert client.get("/jobs/paused").json["properties"]["status"] == "Running"
        assert not gone(read_pid(home / "jobs/local/paused/wd/shell"))  # its command was left alone
    finally:
        os.kill(runner, signal.SIGCONT)
    assert wait(client, "paused")["status"] == "Completed"
    assert "after" in user_log(home, "paused")


@pytest.mark.parametrize("distribution", [{"distributionType": "PyTorch", "processCountPerInstance": 2},
                                          {"distributionType": "TensorFlow", "workerCount": 2}])
def test_distributed_jobs_start_one_process_per_rank(client, home, distribution):
    kind = distribution["distributionType"].lower()
    submit(client, kind, "echo rank=$RANK local=$LOCAL_RANK world=$WORLD_SIZE at=$MASTER_ADDR:$MASTER_PORT; "
                         "echo tf=$TF_CONFIG", distribution=distribution)
    assert wait(client, kind)["status"] == "Completed"
    logs = [user_log(home, kind, f"std_log_process_{rank}.txt") for rank in (0, 1)]
    assert user_log(home, kind).endswith(logs[0])  # rank 0 is mirrored to std_log.txt
    if kind == "pytorch":
        port = logs[0].split("at=127.0.0.1:", 1)[1].split()[0]
        assert port.isdigit()
        assert logs[0].startswith(f"rank=0 local=0 world=2 at=127.0.0.1:{port}")
        assert logs[1].startswith(f"rank=1 local=1 world=2 at=127.0.0.1:{port}")
    else:
        configs = [json.loads(log.split("tf=", 1)[1]) for log in logs]
        assert [c["task"] for c in configs] == [{"type": "worker", "index": 0}, {"type": "worker", "index": 1}]
        assert len(set(configs[0]["cluster"]["worker"])) == 2 and configs[0]["cluster"] == configs[1]["cluster"]


def test_a_failing_rank_stops_the_others_and_fails_the_job(client):
    submit(client, "ranks", "if [ $RANK = 1 ]; then echo rank-1-broke >&2; exit 4; fi; sleep 30",
           distribution={"distributionType": "PyTorch", "processCountPerInstance": 3})
    props = wait(client, "ranks", timeout=10)
    assert props["status"] == "Failed" and props["properties"]["ExitCode"] == "4"
    assert "rank-1-broke" in props["properties"]["Error"]


def test_what_cannot_run_here_is_refused_clearly(client, home):
    submit(client, "wide", "echo hi", resources={"instanceCount": 2})
    submit(client, "cloud", "echo hi", computeId=f"{WS}/computes/gpu-cluster")
    assert "resources.instance_count is 2" in wait(client, "wide")["properties"]["Error"]
    assert wait(client, "cloud")["status"] == "Completed"
    assert "compute 'gpu-cluster' is not on this machine" in user_log(home, "cloud")
    if shutil.which("mpirun") is None:
        submit(client, "mpi", "echo hi", distribution={"distributionType": "Mpi", "processCountPerInstance": 2})
        assert "needs mpirun on PATH" in wait(client, "mpi")["properties"]["Error"]


SUBMITTER = """
import sys
from azureml_v2.local import make_app
from support.local import Client
client = Client(make_app(sys.argv[1]))
for i in range(int(sys.argv[3])):
    body = {"properties": {"jobType": "Command", "command": f"echo job-{i}", "environmentId": sys.argv[4]}}
    response = client.put(f"/jobs/p{sys.argv[2]}-{i}", body)
    assert response.status == 201, response.json
"""


def test_concurrent_submissions_all_run_to_the_end(home, tmp_path):
    """16 x 50 with AZML_STRESS=1; a smaller run by default."""
    processes, jobs = (16, 50) if os.environ.get("AZML_STRESS") else (4, 10)
    Client(make_app(home, run_jobs=False)).put("/environments/host/versions/1", {"properties": {"image": "x"}})
    script = tmp_path / "submit.py"
    script.write_text(SUBMITTER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2]), *sys.path])}
    started = time.monotonic()
    submitters = [subprocess.Popen([sys.executable, str(script), str(home), str(p), str(jobs), ENV_ID], env=env,
                                   stderr=subprocess.PIPE) for p in range(processes)]
    errors = [p.communicate()[1].decode() for p in submitters]
    assert [p.returncode for p in submitters] == [0] * processes, errors
    store = Store(home)
    client = Client(make_app(home, run_jobs=False))
    deadline = time.monotonic() + 120
    while True:
        counts = dict(store.connection().execute("SELECT status, count(*) FROM jobs GROUP BY status").fetchall())
        if sum(counts.get(s, 0) for s in TERMINAL_STATUSES) == processes * jobs or time.monotonic() > deadline:
            break
        for name in [r[0] for r in store.connection().execute(
                "SELECT name FROM jobs WHERE status NOT IN ('Completed', 'Failed', 'Canceled')")]:
            client.get(f"/jobs/{name}")  # what a user polling would do
        time.sleep(0.2)
    print(f"\n{processes * jobs} jobs terminal in {time.monotonic() - started:.1f} s: {counts}")
    assert counts == {"Completed": processes * jobs}
    logs = [p.read_text() for p in home.glob("jobs/local/*/system_logs/runner.log")]
    assert len(logs) == processes * jobs and not any("locked" in log for log in logs)


def test_a_job_whose_submitter_died_before_starting_its_runner_runs_once_an_app_runs_jobs(home):
    # the submitter records the job and dies before it can start the runner (an app that runs nothing)
    quiet = make_app(home, user="tester", run_jobs=False)
    quiet_client = Client(quiet)
    assert quiet_client.put("/environments/host/versions/1", {"properties": {"image": "python:3.11"}}).status == 201
    submit(quiet_client, "orphan", "echo picked up")
    quiet.close()
    store = Store(home)
    with store.write() as conn:  # as if it were recorded a while ago
        conn.execute("UPDATE jobs SET status_at = '2020-01-01T00:00:00.000000Z' WHERE name = 'orphan'")
    app = make_app(home, user="tester")
    try:
        assert wait(Client(app), "orphan")["status"] == "Completed"
        assert "picked up" in user_log(home, "orphan")
    finally:
        app.close()
