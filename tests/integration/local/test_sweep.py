"""The local sweep controller, through the service's REST API: a PUT of a sweep job really runs its trials here."""
from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest
from support.jobs import ENV_ID, code_version, gone, params, trials, wait
from support.local import WS

from azureml_v2.local.executors.sampling import TrialSampler
from azureml_v2.local.storage.sqlite import Page, SQLiteFile, StoreError


pytestmark = pytest.mark.integration

# A trial: logs metric `loss` with MLflow, one value per step (`values`, comma-separated), `pause` s apart.
TRAIN = """
import sys, time
import mlflow
values, pause = [float(v) for v in sys.argv[1].split(",")], float(sys.argv[2])
for step, value in enumerate(values):
    mlflow.log_metric("loss", value, step=step)
    time.sleep(pause)
"""


@pytest.fixture
def client(client, tmp_path):
    code_version(client, tmp_path, {"train.py": TRAIN})
    return client


def sweep(client, name, command, space, *, algorithm="Grid", goal="Minimize", total=None, concurrent=None,
          policy=None, **limits):
    """PUT a sweep job whose trials run `command` -> its properties."""
    props = {
        "jobType": "Sweep", "experimentName": "sweeps",
        "searchSpace": {key: ["choice", [values]] for key, values in space.items()},
        "samplingAlgorithm": algorithm if isinstance(algorithm, dict) else {"samplingAlgorithmType": algorithm},
        "objective": {"goal": goal, "primaryMetric": "loss"},
        "limits": {"jobLimitsType": "Sweep", "maxTotalTrials": total, "maxConcurrentTrials": concurrent, **limits},
        "trial": {"command": command, "codeId": f"{WS}/codes/src/versions/1", "environmentId": ENV_ID},
    }
    if policy:
        props["earlyTermination"] = policy
    response = client.put(f"/jobs/{name}", {"properties": props})
    assert response.status == 201, response.json
    return response.json["properties"]


@pytest.mark.parametrize("goal, best", [("Minimize", "0.2"), ("Maximize", "0.9")])
def test_a_sweep_completes_with_its_best_trial(client, goal, best):
    props = sweep(client, "s", "python train.py ${{search_space.loss}} 0", {"loss": ["0.5", "0.2", "0.9"]},
                  goal=goal, concurrent=3)
    assert props["properties"].get("best_child_run_id") is None  # a new sweep has no best trial yet
    props = wait(client, "s")
    assert props["status"] == "Completed", props
    found = trials(client, "s")
    assert [t["displayName"] for t in found] == ["s_0", "s_1", "s_2"]
    assert [params(t) for t in found] == [{"loss": "0.5"}, {"loss": "0.2"}, {"loss": "0.9"}]
    assert all(t["status"] == "Completed" and t["experimentName"] == "sweeps" for t in found)
    assert found[0]["command"] == "python train.py 0.5 0"  # the search space substituted
    best_trial = next(t for t in found if params(t)["loss"] == best)
    assert props["properties"]["best_child_run_id"] == best_trial["displayName"]
    assert float(props["properties"]["score"]) == float(best)
    summary = json.loads(props["properties"]["azureml.sweep.summary"])
    assert summary["status_counts"] == {"Completed": 3} and summary["best_params"] == {"loss": best}
    assert client.names("/jobs") == ["s"]  # trials are children: not in the default list
    for name in ("s", "s_0"):  # a client sending a GET body back changes nothing and is not refused
        assert client.put(f"/jobs/{name}", client.get(f"/jobs/{name}").json).status == 200


def _overlap(found: list[dict]) -> int:
    """The largest number of trials running at one moment (from their start and end times)."""
    events = sorted([(t["properties"]["StartTimeUtc"], 1) for t in found]
                    + [(t["properties"]["EndTimeUtc"], -1) for t in found])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def test_max_concurrent_and_max_total_trials(client):
    props = sweep(client, "c", "sleep 1; echo ${{search_space.x}}", {"x": list(range(10))}, total=5, concurrent=2)
    props = wait(client, "c")
    assert props["status"] == "Completed"
    found = trials(client, "c")
    assert [t["displayName"] for t in found] == [f"c_{n}" for n in range(5)]  # max_total_trials, in order
    assert _overlap(found) == 2  # they did overlap, never more than two


def test_grid_enumerates_the_product_and_stops(client):
    sweep(client, "g", "echo ${{search_space.a}} ${{search_space.b}}", {"a": [1, 2], "b": ["x", "y", "z"]},
          total=100, concurrent=3)
    props = wait(client, "g")
    assert props["status"] == "Completed"
    found = trials(client, "g")
    assert sorted(json.dumps(params(t), sort_keys=True) for t in found) == sorted(
        json.dumps({"a": a, "b": b}, sort_keys=True) for a in (1, 2) for b in "xyz")
    assert {t["command"] for t in found} == {f"echo {a} {b}" for a in (1, 2) for b in "xyz"}


def test_trial_timeout_cancels_a_long_trial(client):
    sweep(client, "tt", "sleep ${{search_space.s}}", {"s": [0, 30]}, concurrent=2, trialTimeout="PT1S")
    props = wait(client, "tt")
    assert props["status"] == "Completed"  # trial 0 completed
    quick, slow = trials(client, "tt")
    assert quick["status"] == "Completed" and slow["status"] == "Canceled"
    assert "limits.timeout of 1 s" in slow["properties"]["Error"]


def test_sweep_timeout_cancels_the_sweep_with_its_running_trials(client):
    sweep(client, "st", "sleep 30; echo ${{search_space.s}}", {"s": [1, 2, 3, 4]}, concurrent=2, timeout="PT2S")
    props = wait(client, "st", timeout=20)
    assert props["status"] == "Canceled"  # as on Azure ML: the job is canceled when its timeout passes
    assert "limits.timeout of 2 s" in props["properties"]["Error"]
    found = trials(client, "st")
    assert len(found) == 2 and {t["status"] for t in found} == {"Canceled"}


def test_bandit_stops_a_clearly_bad_trial(client):
    policy = {"policyType": "Bandit", "slackFactor": 0.1, "evaluationInterval": 1, "delayEvaluation": 0}
    # the same number of reports, the bad trial much slower: it is compared with the good one at every interval
    sweep(client, "b", "python train.py ${{search_space.seq}}",
          {"seq": [",".join(["1"] * 20) + " 0.05", ",".join(["9"] * 20) + " 0.5"]}, concurrent=2, policy=policy)
    props = wait(client, "b")
    assert props["status"] == "Completed", (props, trials(client, "b"))
    good, bad = trials(client, "b")
    assert good["status"] == "Completed"
    assert bad["status"] == "Canceled" and bad["properties"]["azureml.sweep.earlyTerminated"] == "true"
    assert props["properties"]["best_child_run_id"] == "b_0"
    assert json.loads(props["properties"]["azureml.sweep.summary"])["early_terminated"] == [1]


def test_when_every_trial_fails_the_sweep_fails_quoting_the_first(client):
    sweep(client, "f", "echo broken-${{search_space.x}} >&2; exit 3", {"x": ["a", "b"]}, concurrent=2)
    props = wait(client, "f")
    assert props["status"] == "Failed"
    assert "f_0" in props["properties"]["Error"] and "broken-a" in props["properties"]["Error"]
    assert [t["status"] for t in trials(client, "f")] == ["Failed", "Failed"]


def test_an_unknown_search_space_name_fails_the_sweep(client):
    sweep(client, "u", "echo ${{search_space.nope}} ${{inputs.data}}", {"x": [1]})
    props = wait(client, "u")
    assert props["status"] == "Failed"
    assert "${{search_space.nope}}" in props["properties"]["Error"] and "it has x" in props["properties"]["Error"]
    assert trials(client, "u") == []


def test_cancel_of_the_sweep_cancels_every_running_trial(client):
    sweep(client, "k", "sleep 60; echo ${{search_space.x}}", {"x": [1, 2, 3]}, concurrent=2)
    deadline = time.monotonic() + 30
    while sum(t["status"] == "Running" for t in trials(client, "k")) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert client.post("/jobs/k/cancel").status == 202
    props = wait(client, "k", timeout=5)
    assert props["status"] == "Canceled"
    found = trials(client, "k")
    assert len(found) == 2 and {t["status"] for t in found} == {"Canceled"}


def test_a_sweep_canceled_before_its_controller_starts_runs_no_trial(client, app):
    sweep(client, "early", "echo ${{search_space.x}}", {"x": [1, 2]})
    assert client.post("/jobs/early/cancel").status == 202
    controller = app.store.get_job("local", "early")["runner_pid"]
    deadline = time.monotonic() + 30
    while not gone(controller):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert wait(client, "early")["status"] == "Canceled" and trials(client, "early") == []


def test_kill_9_of_the_controller_then_supervision_resumes_the_sweep(client, app):
    sweep(client, "r", "sleep 1; echo ${{search_space.x}}", {"x": list(range(6))}, concurrent=2)
    deadline = time.monotonic() + 30
    while True:  # a trial has completed and another runs its command
        found = app.store.list_jobs("local", Page(10), "All", parent="r")[0]
        orphan = next((t for t in found if t["status"] == "Running" and t["process_groups"]), None)
        if orphan and any(t["status"] == "Completed" for t in found):
            break
        assert time.monotonic() < deadline
        time.sleep(0.02)
    first = app.store.get_job("local", "r")["runner_pid"]
    os.kill(first, signal.SIGKILL)
    os.kill(orphan["runner_pid"], signal.SIGKILL)  # a trial whose runner died too: it runs again
    props = wait(client, "r")  # supervision finds the controller dead and starts another
    assert props["status"] == "Completed"
    assert app.store.get_job("local", "r")["runner_pid"] != first
    found = trials(client, "r")
    assert [t["displayName"] for t in found] == [f"r_{n}" for n in range(6)]  # none duplicated, none skipped
    assert [params(t) for t in found] == [{"x": n} for n in range(6)]
    assert {t["status"] for t in found} == {"Completed"}  # none lost
    log = (app.store.job_folder("local", "r") / "system_logs" / "runner.log").read_text()
    assert log.count("has the sweep") == 2 and f"trial {orphan['name']}: its runner is gone" in log


def test_the_same_seed_gives_the_same_params_whatever_the_concurrency(client):
    space = {"x": ["uniform", [0, 1]], "y": ["choice", [[1, 2, 3, 4]]]}
    runs = {}
    for concurrent in (1, 3):
        name = f"seed{concurrent}"
        body = {"properties": {
            "jobType": "Sweep", "searchSpace": space,
            "samplingAlgorithm": {"samplingAlgorithmType": "Random", "seed": 7},
            "objective": {"goal": "Minimize", "primaryMetric": "loss"},
            "limits": {"jobLimitsType": "Sweep", "maxTotalTrials": 5, "maxConcurrentTrials": concurrent},
            "trial": {"command": "echo ${{search_space.x}}", "environmentId": ENV_ID}}}
        assert client.put(f"/jobs/{name}", body).status == 201
    for concurrent in (1, 3):
        assert wait(client, f"seed{concurrent}")["status"] == "Completed"
        runs[concurrent] = [params(t) for t in trials(client, f"seed{concurrent}")]
    assert len(runs[1]) == 5 and runs[1] == runs[3]
    assert len({p["x"] for p in runs[1]}) == 5  # really drawn, not one value


def _unseeded(client, name, command, total):
    """PUT a random sweep without a seed over a continuous x (trials run `command`, one at a time)."""
    body = {"properties": {
        "jobType": "Sweep", "searchSpace": {"x": ["uniform", [0, 1]]},
        "samplingAlgorithm": {"samplingAlgorithmType": "Random"},
        "objective": {"goal": "Minimize", "primaryMetric": "loss"},
        "limits": {"jobLimitsType": "Sweep", "maxTotalTrials": total, "maxConcurrentTrials": 1},
        "trial": {"command": command, "environmentId": ENV_ID}}}
    assert client.put(f"/jobs/{name}", body).status == 201


def _draws(seed: str, count: int) -> list[dict]:
    """The params of the first `count` trials of a random sweep over x seeded with `seed`."""
    sampler = TrialSampler({"x": ["uniform", [0, 1]]}, {"samplingAlgorithmType": "Random", "seed": int(seed)},
                           "Minimize")
    return [sampler.params(n) for n in range(count)]


def test_two_unseeded_sweeps_draw_different_params_and_show_their_seed(client):
    for name in ("u1", "u2"):
        _unseeded(client, name, "echo ${{search_space.x}}", 1)
    seeds, firsts = [], []
    for name in ("u1", "u2"):
        props = wait(client, name)
        assert props["status"] == "Completed"
        seeds.append(props["properties"]["azureml.sweep.seed"])
        firsts.append(params(trials(client, name)[0]))
    assert seeds[0] != seeds[1] and firsts[0] != firsts[1]
    assert firsts == [_draws(seed, 1)[0] for seed in seeds]  # the recorded seed reproduces the sweep


def test_a_resumed_unseeded_sweep_keeps_its_seed_and_sequence(client, app):
    _unseeded(client, "k", "sleep 0.5; echo ${{search_space.x}}", 4)
    deadline = time.monotonic() + 30
    while not app.store.list_jobs("local", Page(10), "All", parent="k")[0]:  # trial 0 exists
        assert time.monotonic() < deadline
        time.sleep(0.02)
    seed = json.loads(app.store.get_job("local", "k")["results"])["azureml.sweep.seed"]
    os.kill(app.store.get_job("local", "k")["runner_pid"], signal.SIGKILL)
    props = wait(client, "k")  # supervision starts a new controller
    assert props["status"] == "Completed" and props["properties"]["azureml.sweep.seed"] == seed
    assert [params(t) for t in trials(client, "k")] == _draws(seed, 4)
    log = (app.store.job_folder("local", "k") / "system_logs" / "runner.log").read_text()
    assert log.count("has the sweep") == 2 and log.count("unseeded sampling: seed") == 1


def _open_new_database(path: str, barrier) -> str:
    barrier.wait()
    try:
        SQLiteFile(Path(path), [("CREATE TABLE t (x)",)]).connection().execute("SELECT 1")
        return "ok"
    except StoreError as exc:
        return str(exc)


def test_processes_opening_a_new_database_at_once_all_get_it(tmp_path):
    """A sweep starts its trials' runners together: on a new home they race to create tracking.db."""
    with multiprocessing.Manager() as manager, multiprocessing.Pool(4) as pool:
        for round_ in range(10):
            barrier = manager.Barrier(4)
            assert pool.starmap(_open_new_database, [(str(tmp_path / f"{round_}.db"), barrier)] * 4) == ["ok"] * 4
