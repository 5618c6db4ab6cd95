"""Which commands start warm (forked from a zygote of their environment) and which run cold, and the off switches."""
from __future__ import annotations

import os

import pytest

from azureml_v2.local.executors import warm


@pytest.fixture
def bin_dir(tmp_path):
    """An environment's bin folder with its interpreters (and another interpreter elsewhere on PATH)."""
    folder = tmp_path / "venv" / "bin"
    folder.mkdir(parents=True)
    for name in ("python", "python3", "python3.11"):
        (folder / name).write_text("#!/bin/sh\n")
        (folder / name).chmod(0o755)
    other = tmp_path / "other"
    other.mkdir()
    (other / "python2").write_text("#!/bin/sh\n")
    (other / "python2").chmod(0o755)
    return folder


def path(bin_dir):
    return f"{bin_dir}{os.pathsep}{bin_dir.parents[1] / 'other'}"


@pytest.mark.parametrize("command, kind, target, args, prefix", [
    ("python train.py --lr 0.05 --seed 7", "script", "train.py", ["--lr", "0.05", "--seed", "7"], "python train.py"),
    ("python3 src/train.py", "script", "src/train.py", [], "python3 src/train.py"),
    ("python -m pkg.main --x 'a b'", "module", "pkg.main", ["--x", "a b"], "python -m pkg.main"),
    ("python3.11 -c pass", "code", "pass", [], "python3.11 -c pass"),
    ("python train.py --name=x", "script", "train.py", ["--name=x"], "python train.py"),
    ("python -c 'import sys; print(sys.argv[1:])' a", "code", "import sys; print(sys.argv[1:])", ["a"],
     "python -c 'import sys; print(sys.argv[1:])'"),
    ('python train.py --title "a (b) [c] *"', "script", "train.py", ["--title", "a (b) [c] *"], "python train.py"),
])
def test_python_commands_of_the_environment_start_warm(bin_dir, command, kind, target, args, prefix):
    found = warm.plan(command, str(bin_dir), path(bin_dir))
    assert isinstance(found, warm.Plan), found
    assert (found.kind, found.target, found.args, found.prefix) == (kind, target, args, prefix)
    assert found.executable == str(bin_dir / command.split()[0])


@pytest.mark.parametrize("command, reason", [
    ("python train.py | tee out.txt", "a shell command"),
    ("python train.py && echo done", "a shell command"),
    ("python train.py $HOME", "a shell command"),
    ("python train.py > log", "a shell command"),
    ('python train.py "$HOME"', "a shell command"),
    ("python train.py *.csv", "a shell command"),
    ("python train.py ~/data", "a shell command"),
    ("python train.py 'unclosed", "a shell command"),
    ("cd src; python train.py", "a shell command"),
    ("FOO=1 python train.py", "not a Python command"),
    ("python", "not a Python command"),
    ("python -m", "not a Python command"),
    ("python -u train.py", "interpreter option -u"),
    ("python2 train.py", "not the environment's Python"),
    ("bash train.sh", "not the environment's Python"),
    ("Rscript train.R", "not the environment's Python"),
])
def test_anything_else_runs_cold_with_the_reason(bin_dir, command, reason):
    assert warm.plan(command, str(bin_dir), path(bin_dir)) == reason


def test_a_job_or_the_workspace_can_turn_warm_starts_off(monkeypatch):
    monkeypatch.delenv(warm.WARM_START, raising=False)
    assert warm.disabled({}) is None
    assert warm.disabled({warm.COLD_START: "0"}) is None
    assert "asks for a cold start" in warm.disabled({warm.COLD_START: "1"})
    monkeypatch.setenv(warm.WARM_START, "0")
    assert "off in this workspace" in warm.disabled({})
    monkeypatch.delenv(warm.WARM_START)
    monkeypatch.setattr(warm.sys, "platform", "darwin")
    assert warm.disabled({}) == "warm starts need Linux"


def test_zygotes_are_per_environment_build_and_job_variables(tmp_path):
    python = tmp_path / "home" / "envs" / "abc" / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    (python.parents[2] / "ready").write_text("{}")
    first = warm.Environment(tmp_path / "home", str(python), {})
    assert first.name == warm.Environment(tmp_path / "home", str(python), {}).name
    assert first.name != warm.Environment(tmp_path / "home", str(python), {"OMP_NUM_THREADS": "1"}).name
    assert first.folder == tmp_path / "home" / "warm" / "abc"
    os.utime(python.parents[2] / "ready", ns=(1, 1))  # the environment was built again
    assert first.name != warm.Environment(tmp_path / "home", str(python), {}).name
    assert first.learned("python train.py") is None  # nothing learned yet: the first run is cold
    first.record("python train.py").parent.mkdir(parents=True)
    first.record("python train.py").write_text('{"modules": ["json", "numpy"]}')
    assert first.learned("python train.py") == ["json", "numpy"]
    assert first.learned("python other.py") is None
