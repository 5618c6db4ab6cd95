"""Parallel jobs, driven through the service's REST API: real worker processes run init()/run(mini_batch)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.jobs import ENV_ID, code_version, gone, wait, zygotes
from support.local import WS

from azureml_v2._contract import PARALLEL_SUMMARY
from azureml_v2.local.executors.parallel import WORKER


pytestmark = pytest.mark.integration

# Each file holds a number; the result line is "<file name> <number * 2>". A file named bad* raises; on its first
# attempt (a marker file tells the retry apart) a file named hang* sleeps forever and one named crash* ends the
# worker process.
SCORE = """
import os, sys, time
from pathlib import Path

def init():
    global factor
    factor = int(sys.argv[sys.argv.index("--factor") + 1])
    print("init", os.getpid(), flush=True)

def run(mini_batch):
    out = []
    for path in mini_batch:
        name = os.path.basename(path)
        with open(os.environ["CALLS"], "a") as calls:
            calls.write(name + "\\n")
        if name.startswith("bad"):
            raise ValueError("cannot score " + name)
        marker = Path(os.environ["CALLS"] + "." + name)
        if name.startswith(("hang", "crash")) and not marker.exists():
            marker.write_text("tried")
            if name.startswith("crash"):
                os._exit(3)
            time.sleep(600)
        time.sleep(float(os.environ.get("DELAY", "0")))
        out.append(f"{name} {int(Path(path).read_text()) * factor}")
    return out
"""

# What a worker can tell about itself, written by init() to <PROBE>.<pid>.json.
PROBE_SCORE = """
import json, os, sys
import fractions

def init():
    with open("/proc/self/cmdline", "rb") as f:
        cmdline = [a.decode() for a in f.read().split(b"\\0") if a][1:]
    with open("/proc/self/environ", "rb") as f:
        marked = ("AZUREML_V2_JOB=" + os.environ["AZUREML_V2_JOB"]).encode() in f.read().split(b"\\0")
    with open(f"{os.environ['PROBE']}.{os.getpid()}.json", "w") as out:
        json.dump({"argv": sys.argv[1:], "cwd": os.getcwd(), "own_group": os.getpgid(0) == os.getpid(),
                   "cmdline": cmdline, "marked": marked, "stdin": sys.stdin.read(), "user": os.environ["USER_VAR"],
                   "main": os.path.basename(sys.modules["__main__"].__file__),
                   "patched_before": hasattr(fractions, "patched")}, out)
    fractions.patched = True  # a worker that changes a preloaded module: the next must not see it
    print("init", flush=True)

def run(mini_batch):
    return [os.path.basename(path) for path in mini_batch]
"""

TABLE_SCORE = """
import sys

def init():
    if "--fail-init" in sys.argv:
        raise RuntimeError("no model here")

def run(df):
    df = df.copy()
    df["total"] = df["a"] + df["b"]
    return df
"""


@pytest.fixture
def client(client, tmp_path):
    code_version(client, tmp_path, {"score.py": SCORE, "table_score.py": TABLE_SCORE,
                                    "score_probe.py": PROBE_SCORE})
    return client


def files(folder, names) -> str:
    folder.mkdir()
    for n, name in enumerate(names):
        (folder / name).write_text(str(n))
    return str(folder)


def submit(client, tmp_path, name, data: str, input_type="uri_folder", entry="score.py", output_type="uri_folder",
           env=None, **fields):
    body = {"jobType": "Parallel", "codeId": f"{WS}/codes/src/versions/1", "environmentId": ENV_ID,
            "inputs": {"data": {"jobInputType": input_type, "uri": data}},
            "outputs": {"scores": {"jobOutputType": output_type}},
            "environmentVariables": {"CALLS": str(tmp_path / f"{name}.calls"), **(env or {})},
            "input_data": "${{inputs.data}}",
            "task": {"type": "run_function", "entry_script": entry, "program_arguments": "--factor 2",
                     "append_row_to": "${{outputs.scores}}"},
            **fields}
    response = client.put(f"/jobs/{name}", {"properties": body})
    assert response.status == 201, response.json
    return response.json


def output(home, name, file="parallel_run_step.txt"):
    return (home / "datastores/workspaceblobstore/azureml" / name / "scores" / file).read_text()


def summary(props) -> dict:
    return json.loads(props["properties"][PARALLEL_SUMMARY])


def test_files_are_scored_in_mini_batches_by_concurrent_workers(client, home, tmp_path):
    names = [f"f{n:02}.txt" for n in range(25)]
    submit(client, tmp_path, "files", files(tmp_path / "in", names), mini_batch_size="10",
           max_concurrency_per_instance=2, logging_level="DEBUG")
    props = wait(client, "files")
    assert props["status"] == "Completed", props["properties"].get("Error")
    lines = output(home, "files").splitlines()
    assert lines == [f"{name} {n * 2}" for n, name in enumerate(names)]  # in input order, once each
    assert summary(props) | {"seconds": 0, "items_per_second": 0} == {
        "mini_batches": 3, "succeeded": 3, "failed": 0, "items": 25, "failed_items": 0, "results": 25,
        "seconds": 0, "items_per_second": 0}
    logs = home / "jobs/local/files/user_logs"
    inits = [line for n in (0, 1) for line in (logs / f"worker_{n}.txt").read_text().splitlines()
             if line.startswith("init")]
    assert len(inits) == 2  # init() once per worker, two workers
    assert "mini-batch 2: 5 item(s), 5 result(s)" in (logs / "std_log.txt").read_text()


def test_a_table_is_cut_by_size_and_run_gets_dataframes(client, home, tmp_path):
    table = tmp_path / "table"
    table.mkdir()
    rows = "".join(f"{n},{n * 10}\n" for n in range(200))
    (table / "data.csv").write_text("a,b\n" + rows)
    (table / "MLTable").write_text("paths:\n  - file: ./data.csv\ntransformations:\n  - read_delimited:\n"
                                   "      delimiter: ','\n      encoding: utf8\n      header: all_files_same_headers\n")
    submit(client, tmp_path, "table", str(table), input_type="mltable", entry="table_score.py",
           output_type="uri_file", mini_batch_size="1kb")
    props = wait(client, "table")
    assert props["status"] == "Completed", props["properties"].get("Error")
    stored = home / "datastores/workspaceblobstore/azureml/table/scores/scores"  # a uri_file output
    assert stored.read_text().splitlines() == [f"{n} {n * 10} {n * 11}" for n in range(200)]
    assert summary(props)["mini_batches"] == 2 and summary(props)["items"] == 200


def test_a_failing_file_counts_against_the_threshold(client, home, tmp_path):
    names = ["a.txt", "bad.txt", "c.txt"]
    submit(client, tmp_path, "lenient", files(tmp_path / "in1", names), mini_batch_size=1,
           mini_batch_error_threshold=1, retry_settings={"max_retries": 1, "timeout": 30},
           output_file_name="predictions.csv")
    props = wait(client, "lenient")
    assert props["status"] == "Completed", props["properties"].get("Error")
    assert output(home, "lenient", "predictions.csv").splitlines() == ["a.txt 0", "c.txt 4"]
    assert summary(props)["failed"] == 1 and summary(props)["failed_items"] == 1
    assert (tmp_path / "lenient.calls").read_text().count("bad.txt") == 2  # tried again once

    submit(client, tmp_path, "strict", files(tmp_path / "in2", names), mini_batch_size=1,
           mini_batch_error_threshold=0, retry_settings={"max_retries": 0, "timeout": 30})
    props = wait(client, "strict")
    error = props["properties"]["Error"]
    assert props["status"] == "Failed"
    assert "more than mini_batch_error_threshold 0" in error and "ValueError: cannot score bad.txt" in error
    assert summary(props)["failed"] == 1  # the counts of a failed job too


def test_a_hung_mini_batch_is_killed_and_tried_again(client, home, tmp_path):
    submit(client, tmp_path, "hung", files(tmp_path / "in", ["a.txt", "hang.txt", "c.txt"]), mini_batch_size=1,
           retry_settings={"max_retries": 1, "timeout": 2})
    started = time.monotonic()
    props = wait(client, "hung")
    assert props["status"] == "Completed", props["properties"].get("Error")
    assert time.monotonic() - started < 30
    assert output(home, "hung").splitlines() == ["a.txt 0", "c.txt 4", "hang.txt 2"]
    log = (home / "jobs/local/hung/user_logs/std_log.txt").read_text()
    assert "mini-batch 2 failed (attempt 1), trying again: run() took longer than retry_settings.timeout (2 s)" in log


def test_a_crashing_worker_is_replaced_and_its_mini_batch_tried_again(client, home, tmp_path):
    submit(client, tmp_path, "crash", files(tmp_path / "in", ["a.txt", "crash.txt", "c.txt"]), mini_batch_size=1)
    props = wait(client, "crash")
    assert props["status"] == "Completed", props["properties"].get("Error")
    assert output(home, "crash").splitlines() == ["a.txt 0", "c.txt 4", "crash.txt 2"]
    log = (home / "jobs/local/crash/user_logs/std_log.txt").read_text()
    assert "the worker process exited with code 3 during run()" in log


def test_headers_summary_only_and_what_cannot_run_are_clear(client, home, tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("a,b\n1,2\n3,4\n")
    submit(client, tmp_path, "header", str(table), input_type="uri_file", entry="table_score.py",
           task={"entry_script": "table_score.py", "append_row_to": "${{outputs.scores}}",
                 "program_arguments": "--append_row_dataframe_header True"})
    props = wait(client, "header")
    assert props["status"] == "Completed", props["properties"].get("Error")
    assert output(home, "header").splitlines() == ["a b total", "1 2 3", "3 4 7"]

    submit(client, tmp_path, "summary", str(table), input_type="uri_file", entry="table_score.py",
           task={"entry_script": "table_score.py"})
    props = wait(client, "summary")
    assert props["status"] == "Completed" and summary(props)["items"] == 2
    assert list((home / "datastores/workspaceblobstore/azureml/summary/scores").iterdir()) == []

    submit(client, tmp_path, "noinit", str(table), input_type="uri_file",
           task={"entry_script": "table_score.py", "program_arguments": "--fail-init"})
    submit(client, tmp_path, "badsize", str(table), input_type="uri_file", mini_batch_size="ten")
    submit(client, tmp_path, "badinput", str(table), input_type="uri_file", input_data="inputs.data")
    errors = {name: wait(client, name)["properties"]["Error"] for name in ("noinit", "badsize", "badinput")}
    assert "init() of table_score.py failed" in errors["noinit"] and "RuntimeError: no model here" in errors["noinit"]
    assert "mini_batch_size 'ten' is not a positive number" in errors["badsize"]
    assert "input_data is 'inputs.data': expected ${{inputs.<name>}}" in errors["badinput"]


def test_cancel_kills_the_workers(client, app, home, tmp_path):
    submit(client, tmp_path, "stopme", files(tmp_path / "in", [f"{n}.txt" for n in range(50)]), mini_batch_size=1,
           max_concurrency_per_instance=2, env={"DELAY": "0.5"})
    groups = _worker_groups(app, "stopme")
    assert client.post("/jobs/stopme/cancel").status == 202
    assert wait(client, "stopme", timeout=10)["status"] == "Canceled"
    assert all(gone(pid) for pid in groups)


def warm_started(props) -> str | None:
    return props["properties"].get("azureml.warmStart")


def test_warm_workers_are_workers_as_cold_ones(client, home, tmp_path):
    data = files(tmp_path / "in", [f"{n}.txt" for n in range(6)])
    runs = {}
    for name, env in (("cold", {"AZUREML_V2_COLD_START": "1"}), ("learn", {}), ("warm", {})):
        probe = tmp_path / name
        submit(client, tmp_path, name, data, entry="score_probe.py", mini_batch_size=1, max_concurrency_per_instance=2,
               env={**env, "PROBE": str(probe), "USER_VAR": "v"})
        props = wait(client, name)
        assert props["status"] == "Completed", props["properties"].get("Error")
        assert output(home, name).splitlines() == [f"{n}.txt" for n in range(6)]
        workers = [json.loads(p.read_text()) for p in tmp_path.glob(f"{name}.*.json")]
        assert len(workers) == 2  # init() once in each of two workers
        state = home / "jobs/local" / name / "parallel"
        assert sorted(w.pop("cmdline") for w in workers) == [[str(WORKER), str(state / f"worker_{n}.json")]
                                                              for n in (0, 1)]  # what ps shows
        for worker in workers:
            assert worker.pop("cwd") == str(home / "jobs/local" / name / "wd")
        runs[name] = (warm_started(props), workers)
    expected = {"argv": ["--factor", "2"], "own_group": True, "marked": True, "stdin": "", "user": "v",
                "main": "parallel_worker.py", "patched_before": False}
    for name, (warmed, workers) in runs.items():
        assert warmed == ("true" if name == "warm" else "false"), name
        assert workers == [expected, expected], name
    log = (home / "jobs/local/warm/user_logs/std_log.txt").read_text()
    assert log.count("warm start: forked") == 2


@pytest.mark.parametrize("start", ["cold", "warm"])
def test_kill_9_of_the_executor_resumes_and_writes_each_mini_batch_once(client, app, home, tmp_path, start):
    names = [f"{n:02}.txt" for n in range(16)]
    env = {"DELAY": "0.3", "CALLS": str(tmp_path / "resume.calls")}
    if start == "cold":
        env["AZUREML_V2_COLD_START"] = "1"
    else:  # a first job learns what the workers import: the next ones start warm
        submit(client, tmp_path, "learn", files(tmp_path / "learn", ["a.txt"]), env=env)
        assert wait(client, "learn")["status"] == "Completed"
        (tmp_path / "resume.calls").unlink()
    submit(client, tmp_path, "resume", files(tmp_path / "in", names), mini_batch_size=1,
           max_concurrency_per_instance=2, env=env)
    groups = _worker_groups(app, "resume")
    parts = home / "jobs/local/resume/parallel/parts"
    while len(list(parts.glob("*.part"))) < 4:
        time.sleep(0.02)
    first = app.store.get_job("local", "resume")["runner_pid"]
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while not all(gone(pid) for pid in groups):  # the workers die with their executor
        assert time.monotonic() < deadline
        time.sleep(0.05)
    props = wait(client, "resume")  # supervision starts the executor again; it resumes
    assert props["status"] == "Completed", props["properties"].get("Error")
    assert app.store.get_job("local", "resume")["runner_pid"] != first
    assert output(home, "resume").splitlines() == [f"{name} {n * 2}" for n, name in enumerate(names)]
    calls = (tmp_path / "resume.calls").read_text().split()
    assert len(calls) < len(names) + 2 * 2  # only the unfinished mini-batches (at most one per worker) run again
    assert "resuming the job (Running)" in (home / "jobs/local/resume/system_logs/runner.log").read_text()
    assert warm_started(props) == ("true" if start == "warm" else "false")


def _worker_groups(app, name) -> list[int]:
    deadline = time.monotonic() + 30
    while True:
        job = app.store.get_job("local", name)
        groups = json.loads(job["process_groups"] or "[]")
        if job["status"] == "Running" and len(groups) == 2:
            return [group for group, _ in groups]
        assert time.monotonic() < deadline, job["status"]
        time.sleep(0.02)


def test_on_a_cluster_a_parallel_job_waits_queued_for_its_nodes_as_a_command_job_does(client, tmp_path):
    from support.jobs import submit as submit_command

    cluster = f"{WS}/computes/one-node"
    assert client.put("/computes/one-node", {"properties": {"computeType": "AmlCompute", "properties": {
        "vmSize": "STANDARD_DS3_V2", "scaleSettings": {"minNodeCount": 0, "maxNodeCount": 1}}}}).status == 201
    submit_command(client, "blocker", "sleep 6", computeId=cluster)
    wait(client, "blocker", ("Running",), timeout=60)
    submit(client, tmp_path, "scoring", files(tmp_path / "data", ["a.txt", "b.txt"]), computeId=cluster)
    seen = set()
    while (blocker := client.get("/jobs/blocker").json["properties"]["status"]) == "Running":
        seen.add(client.get("/jobs/scoring").json["properties"]["status"])
        assert not (tmp_path / "scoring.calls").exists(), "a mini-batch ran while the cluster's one node was held"
        time.sleep(0.1)
    assert blocker == "Completed" and "Queued" in seen and not seen & {"Running", "Completed"}
    props = wait(client, "scoring", timeout=120)
    assert props["status"] == "Completed" and summary(props)["items"] == 2
    assert client.get("/computes/one-node").json["properties"]["properties"]["currentNodeCount"] == 0


# An engine alone (no workspace, no supervision), its workers warm once learned: argv home data state code.
ENGINE = """
import os, sys
from pathlib import Path
from azureml_v2.local.executors import minibatch, warm
from azureml_v2.local.executors.parallel import Engine, WarmWorkers, Work
home, data, state, code = map(Path, sys.argv[1:5])
env = dict(os.environ)
work = Work(python=sys.executable, entry_script=code / "score.py", argv=["--factor", "2"], cwd=code, env=env,
            data=minibatch.Files(tuple(str(p) for p in sorted(data.iterdir()))), size=1, state=state,
            logs=state / "logs", workers=2, output=state / "out.txt",
            warm=WarmWorkers(warm.Environment(home, sys.executable, {}), warm.zygote_env(env["PATH"], {}), str(state)))
print(Engine(work, log=lambda line: print(line, flush=True)).run(), flush=True)
"""


def test_warm_workers_die_with_their_engine_though_the_zygote_is_their_parent(tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    (code / "score.py").write_text(SCORE.replace("    out = []", "    out = []\n    Path(os.environ['PIDS'], "
                                                 "str(os.getpid())).touch()"))
    pids = tmp_path / "pids"
    pids.mkdir()
    data = files(tmp_path / "in", [f"{n}.txt" for n in range(8)])
    env = {**os.environ, "CALLS": str(tmp_path / "calls"), "PIDS": str(pids)}

    def engine(state: str, delay: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-c", ENGINE, str(tmp_path / "home"), data, str(tmp_path / state),
                                 str(code)], env={**env, "DELAY": delay}, stdout=subprocess.PIPE, text=True)

    learned = engine("learn", "0")
    assert "'failed': 0" in learned.communicate(timeout=60)[0]
    for pid in pids.iterdir():
        pid.unlink()
    proc = engine("warm", "30")
    deadline = time.monotonic() + 60
    while len(list(pids.iterdir())) < 2:  # both workers in run()
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    workers = [int(p.name) for p in pids.iterdir()]
    parents = {int(next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                        if line.startswith("PPid:")).split()[1]) for pid in workers}
    assert proc.pid not in parents  # forked by the zygote
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 5
    while not all(gone(pid) for pid in workers):
        assert time.monotonic() < deadline, "a warm worker outlived its engine"
        time.sleep(0.05)
    for zygote in zygotes(tmp_path / "home"):
        os.kill(zygote, signal.SIGKILL)

