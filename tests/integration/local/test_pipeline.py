"""The local pipeline executor, through the service's REST API: a PUT of a pipeline job (the body azure-ai-ml sends:
anonymous components by id, snake_case node inputs with ${{parent...}} bindings) runs its nodes as child jobs."""
from __future__ import annotations

import json
import os
import random
import signal
import time

import pytest
from support.jobs import ENV_ID, code_version, gone, wait
from support.local import WS



pytestmark = pytest.mark.integration

# A parallel step's entry script: one result line per file of its mini-batch.
SCORE = """
import os
def run(mini_batch):
    return [os.path.basename(p) + " " + open(p).read().strip() for p in mini_batch]
"""

STEP = """
import os, sys, pathlib
src, out, tag = sys.argv[1], sys.argv[2], sys.argv[3]
text = pathlib.Path(src, "data.txt").read_text() if src != "-" and os.path.isdir(src) else ""
pathlib.Path(out, "data.txt").write_text(text + tag + "\\n")
"""


@pytest.fixture
def client(client, tmp_path):
    code_version(client, tmp_path, {"step.py": STEP, "score.py": SCORE})
    data = tmp_path / "data"
    data.mkdir()
    (data / "data.txt").write_text("seed\n")
    component(client, "step", "python step.py ${{inputs.src}} ${{outputs.out}} ${{inputs.tag}}",
              inputs={"src": {"type": "uri_folder"}, "tag": {"type": "string", "default": "x"}})
    component(client, "first", "python step.py - ${{outputs.out}} ${{inputs.tag}}",
              inputs={"tag": {"type": "string"}})
    component(client, "sleepy", "sleep ${{inputs.seconds}} && python step.py - ${{outputs.out}} s",
              inputs={"seconds": {"type": "number"}})
    component(client, "fails", "echo broken >&2; exit 3", outputs={})
    client.data = data
    return client


def component(client, name, command, *, inputs=None, outputs=None, deterministic=True):
    spec = {"name": name, "version": "1", "type": "command", "command": command,
            "code": f"azureml:{WS}/codes/src/versions/1", "environment": f"azureml:{ENV_ID}",
            "inputs": inputs or {}, "outputs": {"out": {"type": "uri_folder"}} if outputs is None else outputs,
            "is_deterministic": deterministic}
    assert client.put(f"/components/{name}/versions/1", {"properties": {"componentSpec": spec}}).status == 201


def node(name, **inputs):
    """A node as azure-ai-ml sends it: literal values and bindings as literal inputs."""
    return {"type": "command", "componentId": f"{WS}/components/{name}/versions/1", "name": name,
            "inputs": {k: {"job_input_type": "literal", "value": str(v)} for k, v in inputs.items()}}


def pipeline(client, name, jobs, *, inputs=None, outputs=None, concurrency=None, **settings) -> dict:
    props = {"jobType": "Pipeline", "experimentName": "pipelines", "jobs": jobs, "inputs": inputs or {},
             "outputs": outputs or {}, "settings": {"_source": "YAML.JOB", **settings}}
    if concurrency:
        props["properties"] = {"azureml.pipeline.maxConcurrentNodes": str(concurrency)}
    response = client.put(f"/jobs/{name}", {"properties": props})
    assert response.status == 201, response.json
    return response.json["properties"]


def steps(client, name) -> dict[str, dict]:
    """The pipeline's child jobs (properties) by node name."""
    found = [item["properties"] for page in client.pages("/jobs", query=f"api-version=2024-04-01&parentJobName={name}")
             for item in page]
    return {p["properties"]["azureml.nodeid"]: p for p in found}


def output_text(home, job, output="out") -> str:
    return (home / "datastores" / "workspaceblobstore" / "azureml" / job / output / "data.txt").read_text()


def chain(client) -> dict:
    data = {"jobInputType": "uri_folder", "uri": str(client.data), "mode": "ReadOnlyMount"}
    return dict(
        jobs={"a": node("step", src="${{parent.inputs.data}}", tag="${{parent.inputs.tag}}"),
              "b": node("step", src="${{parent.jobs.a.outputs.out}}", tag="b"),
              "c": {**node("step", src="${{parent.jobs.a.outputs.out}}", tag="c"),
                    "outputs": {"out": {"value": "${{parent.outputs.result}}", "type": "literal"}}}},
        inputs={"data": data, "tag": {"jobInputType": "literal", "value": "a"}},
        outputs={"result": {"jobOutputType": "uri_folder"}})


def test_a_pipeline_runs_its_nodes_as_child_jobs_in_order_passing_outputs_by_path(client, home):
    pipeline(client, "p1", **chain(client))
    props = wait(client, "p1", timeout=60)
    assert props["status"] == "Completed", props
    children = steps(client, "p1")
    assert set(children) == {"a", "b", "c"} and all(c["status"] == "Completed" for c in children.values())
    assert output_text(home, "p1_a") == "seed\na\n"
    assert output_text(home, "p1_b") == "seed\na\nb\n"
    # b read a's stored output where it is (not a copy)
    assert children["b"]["inputs"]["src"]["uri"] == "azureml://jobs/p1_a/outputs/out"
    started = {n: c["properties"]["StartTimeUtc"] for n, c in children.items()}
    ended_a = children["a"]["properties"]["EndTimeUtc"]
    assert started["b"] > ended_a and started["c"] > ended_a
    # the pipeline's output is c's
    assert json.loads(props["properties"]["azureml.pipeline.outputs"]) == {"result": "azureml://jobs/p1_c/outputs/out"}

    # the same pipeline again: every node reused at once, pointing at the first run's outputs
    pipeline(client, "p2", **chain(client))
    again = wait(client, "p2", timeout=30)
    assert again["status"] == "Completed", again
    second = steps(client, "p2")
    assert {n: c["properties"].get("azureml.reusedrunid") for n, c in second.items()} == \
        {"a": "p1_a", "b": "p1_b", "c": "p1_c"}
    assert not (home / "jobs" / "local" / "p2_a" / "system_logs" / "runner.log").exists()  # no process started

    # a changed input value: a and its successors run again, and say which field differed
    changed = chain(client)
    changed["inputs"]["tag"]["value"] = "A"
    pipeline(client, "p3", **changed)
    assert wait(client, "p3", timeout=60)["status"] == "Completed"
    third = steps(client, "p3")
    assert all("azureml.reusedrunid" not in c["properties"] for c in third.values())
    assert third["a"]["properties"]["azureml.reuse.miss"] == "input values differ from p1_a"
    assert "input data" in third["b"]["properties"]["azureml.reuse.miss"]
    assert output_text(home, "p3_b") == "seed\nA\nb\n"


def test_force_rerun_and_nondeterministic_components_run_again(client):
    jobs = {"a": node("first", tag="t")}
    pipeline(client, "f1", jobs)
    assert wait(client, "f1", timeout=60)["status"] == "Completed"
    pipeline(client, "f2", jobs, force_rerun=True)
    assert wait(client, "f2", timeout=60)["status"] == "Completed"
    assert steps(client, "f2")["a"]["properties"]["azureml.reuse.miss"] == "the pipeline's settings.force_rerun is true"


def test_a_failed_node_stops_what_follows_and_names_itself(client):
    jobs = {"bad": node("fails"), "after": node("step", src="${{parent.jobs.bad.outputs.out}}"),
            "slow": node("sleepy", seconds=30)}
    jobs["bad"]["outputs"] = {"out": {"job_output_type": "uri_folder"}}
    pipeline(client, "x1", jobs)
    props = wait(client, "x1", timeout=60)
    assert props["status"] == "Failed"
    error = props["properties"]["Error"]
    assert error.startswith("node bad (job x1_bad) ended Failed: the command exited with code 3"), error
    assert "not started: after" in error
    children = steps(client, "x1")
    assert "after" not in children
    assert children["slow"]["status"] == "Canceled"  # without continue_on_step_failure the others stop


def test_continue_on_step_failure_lets_independent_branches_finish(client):
    jobs = {"bad": node("fails"), "after": node("step", src="${{parent.jobs.bad.outputs.out}}"),
            "other": node("first", tag="o"), "next": node("step", src="${{parent.jobs.other.outputs.out}}")}
    pipeline(client, "x2", jobs, continue_on_step_failure=True)
    props = wait(client, "x2", timeout=90)
    assert props["status"] == "Failed" and "node bad" in props["properties"]["Error"]
    children = steps(client, "x2")
    assert children["other"]["status"] == children["next"]["status"] == "Completed"
    assert "after" not in children


def test_cancel_during_a_fan_out_stops_every_running_node_within_seconds(client, home):
    jobs = {f"s{i}": node("sleepy", seconds=60) for i in range(4)}
    pipeline(client, "c1", jobs, concurrency=2)
    deadline = time.monotonic() + 60
    while sum(c["status"] == "Running" for c in steps(client, "c1").values()) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert len(steps(client, "c1")) == 2  # the limit holds
    asked = time.monotonic()
    assert client.post("/jobs/c1/cancel").status == 202
    props = wait(client, "c1", timeout=15)
    assert props["status"] == "Canceled"
    children = steps(client, "c1")
    assert all(c["status"] == "Canceled" for c in children.values())
    assert max(_ended(c) for c in children.values()) - asked < 5.0 + (time.time() - time.monotonic())


def _ended(props) -> float:
    from datetime import datetime
    return datetime.fromisoformat(props["properties"]["EndTimeUtc"]).timestamp()


def test_a_killed_executor_resumes_without_running_a_node_twice(client, app, home):
    rng = random.Random(7)
    for trial in range(2):
        name = f"k{trial}"
        jobs = {f"n{i}": node("sleepy", seconds=0.3) for i in range(4)}
        jobs["last"] = node("step", src="${{parent.jobs.n0.outputs.out}}", tag=str(trial))
        pipeline(client, name, jobs, force_rerun=True, concurrency=2)
        time.sleep(rng.uniform(0.3, 2.5))
        pid = app.store.get_job("local", name)["runner_pid"]
        if pid:
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 90
        while app.store.get_job("local", name)["status"] not in ("Completed", "Failed", "Canceled"):
            app.jobs.supervise()  # what any read's supervision timer does
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert app.store.get_job("local", name)["status"] == "Completed"
        children = steps(client, name)
        assert set(children) == set(jobs)
        for node_name in children:  # each ran once: one claim in its runner log
            log = (home / "jobs" / "local" / f"{name}_{node_name}" / "system_logs" / "runner.log").read_text()
            assert log.count("claimed the job") == 1, log
        if pid:
            assert gone(pid)


def test_stream_show_and_download_all_of_a_pipeline(client, home, tmp_path, monkeypatch, capsys):
    import io

    from azureml_v2 import MLClient
    from azureml_v2.cli.main import main as azml

    pipeline(client, "v1", **chain(client))
    ml = MLClient.local(home)
    out = io.StringIO()
    ml.jobs.stream("v1", out=out)
    text = out.getvalue()
    assert "Node" in text and "Status: Completed" in text and "Output result: c.outputs.out" in text
    for node_name in "abc":
        assert f"node {node_name}" in text

    pipeline(client, "v2", **chain(client))
    wait(client, "v2", timeout=30)
    monkeypatch.setenv("AZUREML_V2_HOME", str(home))
    assert azml(["job", "show", "-n", "v2", "-o", "table"]) == 0
    shown = capsys.readouterr().out
    assert "b  <- a" in shown and "c  <- a" in shown
    assert "reused v1_a" in shown and "reused v1_c" in shown

    ml.jobs.download("v2", download_path=tmp_path / "dl", all=True)
    assert (tmp_path / "dl" / "b" / "out" / "data.txt").read_text() == "seed\na\nb\n"
    assert (tmp_path / "dl" / "c" / "out" / "data.txt").read_text() == "seed\na\nc\n"
    # the pipeline's output by its own name: its step's (here reused from v1)
    ml.jobs.download("v2", download_path=tmp_path / "one", output_name="result")
    assert (tmp_path / "one" / "result" / "data.txt").read_text() == "seed\na\nc\n"
    ml.close()


def test_a_parallel_node_scores_the_files_an_upstream_step_wrote(client, home):
    spec = {"name": "score", "version": "1", "type": "parallel", "inputs": {"data": {"type": "uri_folder"}},
            "outputs": {"scores": {"type": "uri_folder"}}, "input_data": "${{inputs.data}}", "mini_batch_size": "1",
            "task": {"type": "run_function", "code": f"azureml:{WS}/codes/src/versions/1", "entry_script": "score.py",
                     "environment": f"azureml:{ENV_ID}", "append_row_to": "${{outputs.scores}}"}}
    assert client.put("/components/score/versions/1", {"properties": {"componentSpec": spec}}).status == 201
    jobs = {"make": node("first", tag="hello"),
            "score": {"type": "parallel", "componentId": f"{WS}/components/score/versions/1",
                      "inputs": {"data": {"job_input_type": "literal", "value": "${{parent.jobs.make.outputs.out}}"}},
                      "max_concurrency_per_instance": 2}}
    pipeline(client, "pp", jobs)
    props = wait(client, "pp", timeout=90)
    assert props["status"] == "Completed", props
    child = steps(client, "pp")["score"]
    assert child["jobType"] == "Parallel" and child["max_concurrency_per_instance"] == 2
    result = (home / "datastores" / "workspaceblobstore" / "azureml" / "pp_score" / "scores"
              / "parallel_run_step.txt").read_text()
    assert result.strip() == "data.txt hello"


TRAIN = """
import sys, pathlib, mlflow
lr, out = float(sys.argv[1]), sys.argv[2]
mlflow.log_metric("score", -abs(lr - 0.3))
pathlib.Path(out, "data.txt").write_text(f"lr={lr}\\n")
"""


def test_sweep_and_pipeline_component_nodes_run_as_nested_children(client, home, tmp_path):
    (tmp_path / "src" / "train.py").write_text(TRAIN)
    # the code asset is the folder: the new script is in it
    component(client, "train", "python train.py ${{inputs.lr}} ${{outputs.out}}", inputs={"lr": {"type": "number"}})
    inner = {**node("first", tag="${{parent.inputs.t}}"),
             "outputs": {"out": {"type": "literal", "value": "${{parent.outputs.o}}"}}}
    spec = {"name": "sub", "version": "1", "type": "pipeline", "inputs": {"t": {"type": "string"}},
            "outputs": {"o": {"type": "uri_folder"}}, "jobs": {"inner": inner}}
    assert client.put("/components/sub/versions/1", {"properties": {"componentSpec": spec}}).status == 201
    jobs = {
        "sub": {"type": "pipeline", "componentId": f"{WS}/components/sub/versions/1",
                "inputs": {"t": {"job_input_type": "literal", "value": "z"}}},
        "after": node("step", src="${{parent.jobs.sub.outputs.o}}"),
        "sweep": {"type": "sweep", "trial": {"componentId": f"{WS}/components/train/versions/1"},
                  "search_space": {"lr": {"type": "choice", "values": [0.1, 0.3, 0.5]}},
                  "sampling_algorithm": "grid", "objective": {"goal": "maximize", "primary_metric": "score"},
                  "limits": {"max_total_trials": 3, "max_concurrent_trials": 2}},
        "use": node("step", src="${{parent.jobs.sweep.outputs.out}}"),
    }
    pipeline(client, "n1", jobs)
    props = wait(client, "n1", timeout=120)
    assert props["status"] == "Completed", props
    children = steps(client, "n1")
    assert children["sub"]["jobType"] == "Pipeline" and children["sweep"]["jobType"] == "Sweep"
    assert set(steps(client, "n1_sub")) == {"inner"}
    assert output_text(home, "n1_after") == "z\nx\n"
    assert output_text(home, "n1_use") == "lr=0.3\nx\n"  # the sweep's output is its best trial's

    # again with a change after the sweep: the sweep is reused and the next step reads its best trial's output
    jobs["use"] = node("step", src="${{parent.jobs.sweep.outputs.out}}", tag="y")
    pipeline(client, "n2", jobs)
    assert wait(client, "n2", timeout=60)["status"] == "Completed"
    again = steps(client, "n2")
    assert again["sweep"]["properties"]["azureml.reusedrunid"] == "n1_sweep"
    assert output_text(home, "n2_use") == "lr=0.3\ny\n"
