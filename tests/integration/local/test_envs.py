"""Job environments: host interpreter for images, cached virtual environments for conda files, curated names.

Builds install tiny real packages (six, tomli) from PyPI; uv's own cache keeps reruns fast.
"""
from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from azureml_v2.local.executors import envs
from azureml_v2.local.executors.envs import EnvironmentBuildError, prepare

pytestmark = pytest.mark.integration

SIX = "name: tiny\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n      - six\n"


def run(python: str, code: str) -> str:
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_image_only_runs_on_the_host_interpreter(tmp_path):
    image = {"image": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04", "osType": "Linux"}
    env = prepare(image, tmp_path, log=io.StringIO())
    assert env.notice == (f"image mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04: running on this machine's "
                          f"Python {sys.version_info.major}.{sys.version_info.minor} (no docker)")
    # this machine's Python and its packages (yaml is beside azureml_v2) ...
    assert run(env.python, "import sys, yaml; print(sys.version.split()[0])") == sys.version.split()[0]
    # ... but what a job installs goes into a folder of the workspace, never into this environment
    purelib = run(env.python, "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    assert purelib.startswith(str(tmp_path / "envs")) and not purelib.startswith(sys.prefix)
    assert "site-packages" in subprocess.run([str(Path(env.bin_dir) / "pip"), "--version"], capture_output=True,
                                             text=True, check=True).stdout
    assert prepare(image, tmp_path, log=io.StringIO()).cached is True  # built once per workspace


def test_no_environment_runs_on_the_host_interpreter_with_a_notice(tmp_path):
    env = prepare(None, tmp_path, log=io.StringIO())
    assert env.notice.startswith("no environment: running on this machine's Python")
    assert run(env.python, "import sys; print(sys.base_prefix)") == sys.base_prefix


def test_conda_file_builds_a_virtual_environment_once_then_reuses_it(tmp_path):
    log = io.StringIO()
    first = prepare({"image": "python:3.11", "condaFile": SIX}, tmp_path, log=log)
    assert first.cached is False
    assert first.python.startswith(str(tmp_path / "envs")) and Path(first.bin_dir) == Path(first.python).parent
    assert run(first.python, "import six, sys; print(sys.prefix != sys.base_prefix)") == "True"
    assert first.notice == "conda channels conda-forge ignored (packages come from PyPI)"
    root = Path(first.python).parents[2]
    assert "+ six==" in (root / "build.log").read_text() and "+ six==" in log.getvalue()
    assert json.loads((root / "ready").read_text())["requirements"] == ["six"]

    # The same packages written differently (order, comments, formatting) are the same environment.
    same = "dependencies:\n- pip:   # from PyPI\n  - six   # tiny\n- python=3.11\nchannels: [conda-forge]\n"
    log = io.StringIO()
    again = prepare({"condaFile": same}, tmp_path, log=log)
    assert (again.python, again.cached, log.getvalue()) == (first.python, True, "")


def test_pip_requirements_text_in_place_of_a_conda_file(tmp_path):
    env = prepare({"condaFile": "tomli>=2  # toml reader\nsix\n"}, tmp_path, log=io.StringIO())
    assert env.notice is None
    assert run(env.python, "import six, tomli; print('ok')") == "ok"


def test_failed_build_quotes_the_log_and_is_retried(tmp_path):
    spec = {"condaFile": "dependencies:\n  - pip:\n      - azureml-v2-no-such-package-0\n"}
    with pytest.raises(EnvironmentBuildError) as failure:
        prepare(spec, tmp_path, log=io.StringIO())
    message = str(failure.value)
    assert re.search(r"building failed: `(uv pip install|python -m pip)` exited with code 1", message)
    assert "azureml-v2-no-such-package-0" in message.split("build.log:", 1)[1]  # the log's tail is quoted
    root = next((tmp_path / "envs").iterdir())
    assert not (root / "ready").exists()

    log = io.StringIO()
    with pytest.raises(EnvironmentBuildError):
        prepare(spec, tmp_path, log=log)
    assert "building with" in log.getvalue()  # built again, not remembered as ready


def test_an_interrupted_build_is_redone(tmp_path):
    first = prepare({"condaFile": SIX}, tmp_path, log=io.StringIO())
    root = Path(first.python).parents[2]
    (root / "ready").unlink()  # as if the build had been killed before its last step
    (root / "venv" / "half-written").write_text("")
    env = prepare({"condaFile": SIX}, tmp_path, log=io.StringIO())
    assert env.cached is False and not (root / "venv" / "half-written").exists()
    assert run(env.python, "import six; print('ok')") == "ok"


def test_two_jobs_preparing_the_same_environment_at_once_build_it_once(tmp_path):
    go = tmp_path / "go"
    script = textwrap.dedent(f"""
        import io, json, os, time
        from pathlib import Path
        from azureml_v2.local.executors.envs import prepare
        print("started", flush=True)
        while not os.path.exists({str(go)!r}):
            time.sleep(0.005)
        env = prepare({{"condaFile": {SIX!r}}}, Path({str(tmp_path)!r}), log=io.StringIO())
        print(json.dumps(env.cached))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(3)]
    for proc in procs:  # all three imported and waiting: they start preparing within milliseconds of each other
        assert proc.stdout.readline().strip() == "started"
    go.touch()
    cached = sorted(json.loads(proc.communicate()[0]) for proc in procs)
    assert cached == [False, True, True]
    (root,) = (tmp_path / "envs").iterdir()
    assert (root / "build.log").read_text().count("building with") == 1


def test_importing_the_module_loads_no_yaml_uv_or_subprocess():
    from ..test_import_light import modules_after
    added = modules_after("import azureml_v2.local.executors.envs") - modules_after("")
    assert "azureml_v2.local.executors.envs" in added
    assert sorted(added & {"yaml", "uv", "subprocess", "fcntl", "shutil"}) == []


@pytest.fixture
def pip_reaches_pypi(tmp_path):
    out = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "-q", "-d",
                          str(tmp_path / "dl"), "six"], capture_output=True, timeout=120, check=False)
    if out.returncode:
        pytest.skip("pip cannot download from the package index here")


def test_without_uv_pip_builds_the_environment(tmp_path, monkeypatch, pip_reaches_pypi):
    monkeypatch.setattr(envs, "_uv", lambda: None)
    log = io.StringIO()
    env = prepare({"condaFile": SIX}, tmp_path / "home", log=log)
    assert env.cached is False and "building with pip (uv is not installed)" in log.getvalue()
    assert run(env.python, "import six; print('ok')") == "ok"


def test_docker_build_context_is_refused_with_the_reason(tmp_path):
    with pytest.raises(EnvironmentBuildError, match=r"docker build context azureml://datastores/x/paths/ctx.*docker"):
        prepare({"build": {"contextUri": "azureml://datastores/x/paths/ctx", "dockerfilePath": "Dockerfile"}},
                tmp_path, log=io.StringIO())
