"""Warm starts: a Python job forked from a warm interpreter of its environment behaves as one started cold."""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from support.jobs import ENV_ID, code_version, gone, read_pid, trials, wait, zygotes
from support.local import WS

from azureml_v2.local.core.metrics import metrics


pytestmark = pytest.mark.integration

# What a job process can tell about itself, on stdout; then a line on stderr and exit code 3.
PROBE = """
import json, os, sys
import fractions
job = os.environ["AZUREML_V2_JOB"]
with open("/proc/self/environ", "rb") as f:
    marked = f"AZUREML_V2_JOB={job}".encode() in f.read().split(b"\\0")
with open("/proc/self/cmdline", "rb") as f:
    cmdline = [a.decode() for a in f.read().split(b"\\0") if a][1:]
with open("probe.json", "w") as out:
    json.dump({
    "argv": sys.argv, "cwd": os.getcwd(), "run": os.environ["AZUREML_RUN_ID"], "name": __name__,
    "file": __file__, "path0": sys.path[0], "own_group": os.getpgid(0) == os.getpid(), "own_session":
    os.getsid(0) == os.getpid(), "marked": marked, "cmdline": cmdline, "main": sys.modules["__main__"].__dict__.get(
    "job_value"), "stdin": sys.stdin.read(), "patched_before": hasattr(fractions, "patched"),
    "pwd": os.environ["PWD"] == os.getcwd(), "user": os.environ.get("USER_VAR"),
    }, out)
fractions.patched = True  # a trial that corrupts a preloaded module: the next must not see it
fractions.Fraction = None
sys.stderr.write("to stderr\\n")
sys.exit(int(sys.argv[1]))
"""


def run(client, name, command, code_id, env=None, statuses=("Completed", "Failed", "Canceled")) -> dict:
    props = {"jobType": "Command", "command": command, "environmentId": ENV_ID, "codeId": code_id,
             "environmentVariables": env or {}}
    assert client.put(f"/jobs/{name}", {"properties": props}).status == 201
    return wait(client, name, statuses, timeout=120)


def probed(home, name) -> dict:
    return json.loads((home / "jobs" / "local" / name / "wd" / "probe.json").read_text())


def warm_started(props) -> str | None:
    return props["properties"].get("azureml.warmStart")


def test_a_warm_job_is_a_job_process_as_a_cold_one(client, home, tmp_path):
    code_id = code_version(client, tmp_path, {"probe.py": PROBE})
    command = "python probe.py 3 --flag 'two words'"
    found = {}
    for name, env in (("cold", {"AZUREML_V2_COLD_START": "1"}), ("learn", {}), ("warm1", {}), ("warm2", {})):
        props = run(client, name, command, code_id, {**env, "USER_VAR": "v"})
        # the exit code and the stderr tail are the job's, whichever way it started
        assert props["status"] == "Failed" and props["properties"]["ExitCode"] == "3", props
        assert "exited with code 3" in props["properties"]["Error"] and "to stderr" in props["properties"]["Error"]
        found[name] = probed(home, name)
        assert found[name].pop("run") == name
        assert found[name].pop("cwd") == str(home / "jobs" / "local" / name / "wd")
        assert found[name].pop("file") == str(home / "jobs" / "local" / name / "wd" / "probe.py")
        assert found[name].pop("path0") == str(home / "jobs" / "local" / name / "wd")
        found[name]["warm"] = warm_started(props)
    assert [found[n].pop("warm") for n in found] == ["false", "false", "true", "true"]
    expected = {"argv": ["probe.py", "3", "--flag", "two words"], "name": "__main__", "own_group": True,
                "own_session": True, "marked": True, "cmdline": ["probe.py", "3", "--flag", "two words"],
                "main": None, "stdin": "", "patched_before": False, "pwd": True, "user": "v"}
    for name in found:
        assert found[name] == expected, name


def test_python_m_and_c_start_warm_too(client, home, tmp_path):
    code_id = code_version(client, tmp_path, {"pkg/__init__.py": "", "pkg/__main__.py": "import sys, fractions\n"
                                      "print('module', sys.argv[1:], __name__, __spec__.name)\n"})
    for name in ("m1", "m2"):
        props = run(client, name, "python -m pkg a b", code_id)
        assert props["status"] == "Completed", props
        assert "module ['a', 'b'] __main__ pkg.__main__" in (home / "jobs/local" / name / "user_logs/std_log.txt") \
            .read_text()
    assert warm_started(props) == "true"
    for name in ("c1", "c2"):
        props = run(client, name, "python -c 'import sys, fractions; print(sys.argv, repr(sys.path[0]))' x", code_id)
        assert props["status"] == "Completed", props
        assert "['-c', 'x'] ''" in (home / "jobs/local" / name / "user_logs/std_log.txt").read_text()
    assert warm_started(props) == "true"
    props = run(client, "shell", "python -c pass && echo done", code_id)  # a shell command runs cold
    assert props["status"] == "Completed" and warm_started(props) == "false"


def test_cancel_of_a_warm_job_stops_it_within_5_s(client, home, tmp_path):
    code_id = code_version(client, tmp_path, {"sleepy.py": "import os, sys, time, fractions\n"
                                      "open('pid', 'w').write(str(os.getpid()))\ntime.sleep(float(sys.argv[1]))\n"})
    assert run(client, "learn", "python sleepy.py 0", code_id)["status"] == "Completed"
    run(client, "long", "python sleepy.py 60", code_id, statuses=("Running",))
    pid = read_pid(home / "jobs/local/long/wd/pid")
    assert client.post("/jobs/long/cancel").status == 202
    props = wait(client, "long", timeout=5)
    assert props["status"] == "Canceled" and warm_started(props) == "true"
    assert gone(pid)


def test_an_import_that_leaves_a_thread_running_is_not_preloaded(client, home, tmp_path):
    code_id = code_version(client, tmp_path, {"t.py": "import thready\nprint('threads', thready.started)\n"})
    assert run(client, "plain", "python -c pass", code_id)["status"] == "Completed"  # builds the environment
    site = next((home / "envs").glob("*/venv/lib/python*/site-packages"))
    (site / "thready.py").write_text("import threading, time\nstarted = True\n"
                                     "threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()\n")
    statuses = [run(client, f"t{i}", "python t.py", code_id) for i in range(3)]
    assert [p["status"] for p in statuses] == ["Completed"] * 3
    # learned cold; the zygote finds the offender and the job runs cold; the next zygote leaves it out
    assert [warm_started(p) for p in statuses] == ["false", "false", "true"]
    denied = next((home / "warm").glob("*/*/denied.json"))
    assert json.loads(denied.read_text()) == ["thready"]



TRIAL = """
import os, sys, time
import mlflow, numpy as np, scipy.optimize
x = float(sys.argv[1])
rng = np.random.default_rng(7)
a = rng.normal(size=(200, 5))
b = a @ np.arange(5.0) + rng.normal(size=200)
w = scipy.optimize.minimize(lambda w: np.mean((a @ w - b) ** 2) + x * np.sum(w ** 2), np.zeros(5)).x
mlflow.log_metric("loss", float(np.mean((a @ w - b) ** 2)))
with open(os.path.join(sys.argv[2], f"{x}-{os.getpid()}"), "w"):
    pass
time.sleep(float(sys.argv[3]))
"""


def _sweep(client, name, ran: Path, pause: float, env: dict) -> None:
    props = {"jobType": "Sweep", "experimentName": "warm",
             "searchSpace": {"x": ["uniform", [0.0, 1.0]]},
             "samplingAlgorithm": {"samplingAlgorithmType": "Random", "seed": 42},
             "objective": {"goal": "Minimize", "primaryMetric": "loss"},
             "limits": {"jobLimitsType": "Sweep", "maxTotalTrials": 6, "maxConcurrentTrials": 2},
             "trial": {"command": f"python trial.py ${{{{search_space.x}}}} {ran} {pause}",
                       "codeId": f"{WS}/codes/src/versions/1", "environmentId": ENV_ID, "environmentVariables": env}}
    assert client.put(f"/jobs/{name}", {"properties": props}).status == 201


def _losses(home, name) -> list[float]:
    """Each trial's logged loss, by trial number (trials are the jobs <sweep>_<n>)."""
    return [metrics(home, "local", f"{name}_{n}", "loss")["loss"][0][1] for n in range(6)]


def test_warm_trials_log_bit_identical_metrics_and_survive_a_killed_zygote(client, home, tmp_path):
    code_version(client, tmp_path, {"trial.py": TRIAL})
    cold_ran, warm_ran = tmp_path / "cold_ran", tmp_path / "warm_ran"
    cold_ran.mkdir()
    warm_ran.mkdir()
    _sweep(client, "cold", cold_ran, 0, {"AZUREML_V2_COLD_START": "1"})
    assert wait(client, "cold", timeout=240)["status"] == "Completed"
    _sweep(client, "warm", warm_ran, 1.5, {})
    deadline = time.monotonic() + 120
    while not zygotes(home) or len(os.listdir(warm_ran)) < 3:  # two trials learned; a warm one runs
        assert time.monotonic() < deadline, "no warm trial started"
        time.sleep(0.05)
    for pid in zygotes(home):
        os.kill(pid, signal.SIGKILL)
    assert wait(client, "warm", timeout=240)["status"] == "Completed"
    found = trials(client, "warm")
    assert [t["status"] for t in found] == ["Completed"] * 6
    assert {t["properties"]["azureml.warmStart"] for t in found} == {"true", "false"}
    # each trial ran once, however its zygote ended; and logged what its cold twin logged, to the bit
    assert len(os.listdir(warm_ran)) == 6
    assert _losses(home, "warm") == _losses(home, "cold")


def test_a_job_module_named_as_a_preloaded_one_is_the_jobs_own(client, home, tmp_path):
    """Another project's `python main.py` in the same environment taught the zygote to preload the installed
    `shadowed`; a job whose folder holds its own `shadowed.py` imports that one, as it would cold."""
    uses = code_version(client, tmp_path, {"main.py": "import shadowed\nprint('got', shadowed.WHO)\n"})
    assert run(client, "plain", "python -c pass", uses)["status"] == "Completed"  # builds the environment
    site = next((home / "envs").glob("*/venv/lib/python*/site-packages"))
    (site / "shadowed.py").write_text("WHO = 'installed'\n")
    for name in ("learn", "warm"):
        assert run(client, name, "python main.py", uses)["status"] == "Completed"
    own = code_version(client, tmp_path, {"main.py": "import shadowed\nprint('got', shadowed.WHO)\n",
                                          "shadowed.py": "WHO = 'own'\n"}, name="own")
    props = run(client, "own", "python main.py", own)
    assert props["status"] == "Completed", props
    assert "got own" in (home / "jobs/local/own/user_logs/std_log.txt").read_text()


def test_a_stopped_zygote_neither_hides_the_end_of_its_job_nor_holds_up_the_next(client, home, tmp_path):
    """A zygote stopped (SIGSTOP) answers nobody: the job it forked still ends when it ends (not when the zygote is
    continued), and the next job of its environment starts cold at once instead of waiting minutes for it."""
    main = "import os, sys, time, fractions\nopen('pid', 'w').write(str(os.getpid()))\ntime.sleep(float(sys.argv[1]))\n"
    code_id = code_version(client, tmp_path, {"main.py": main})
    assert run(client, "learn", "python main.py 0", code_id)["status"] == "Completed"
    for name in ("warm1", "warm2", "warm3"):  # the zygote is up (on a busy machine it may start late)
        if warm_started(run(client, name, "python main.py 0", code_id)) == "true":
            break
    run(client, "long", "python main.py 3", code_id, statuses=("Running",))
    read_pid(home / "jobs/local/long/wd/pid")  # its process runs
    (zygote,) = zygotes(home)
    os.kill(zygote, signal.SIGSTOP)
    try:
        props = wait(client, "long", timeout=20)
        assert props["status"] == "Completed" and warm_started(props) == "true"
        started = time.monotonic()
        props = run(client, "after", "python main.py 0", code_id)
        assert props["status"] == "Completed" and warm_started(props) == "false"
        assert time.monotonic() - started < 30
    finally:
        os.kill(zygote, signal.SIGCONT)
