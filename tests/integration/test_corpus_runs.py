"""Every command job in the corpus's cli/jobs/basics/hello-*.yml, submitted unchanged to one local workspace.

A job that needs nothing beyond this machine must run to Completed and show what its script did; every other
one must end with a reason that names what is missing. The corpus leaves out the `src/` scripts: ours, in
tests/support/corpus_scripts/, stand in for them. The data the jobs read is set up as a user would: the data assets
they name are created from the corpus's assets/data YAMLs, and example-data/ is copied into the default
datastore's folder.

Jobs whose command runs `pip install` get PIP_NO_INDEX=1: the package index is beyond this machine, and an
image-only environment runs on the host interpreter, which such an install would change. https:// inputs
complete when their host answers and fail naming the URL when it does not. Pipeline and sweep files are not
run here. hello-interactive builds the curated TensorFlow environment (marked slow).
"""
from __future__ import annotations

import functools
import io
import shutil
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
import yaml

from azureml_v2 import MLClient, load_data, load_job
from azureml_v2.operations.jobs import JobFailedError

pytestmark = pytest.mark.integration

SCRIPTS = Path(__file__).parents[1] / "support" / "corpus_scripts"
DATA_HOST = "azuremlexamples.blob.core.windows.net"
IRIS_URL = f"https://{DATA_HOST}/datasets/iris.csv"
WAIT = 600.0  # seconds for one job to end: a cold build of the curated sklearn environment included
ENDED = ("Completed", "Failed", "Canceled")

OUTCOMES: Counter = Counter()
REASONS: dict[str, str] = {}  # file -> the failure reason the job reported


@dataclass(frozen=True)
class Expect:
    """What a job must end with: its status, text in its log, text in its error; `check` looks further."""

    status: str
    log: tuple[str, ...] = ()
    error: tuple[str, ...] = ()
    check: Callable | None = field(default=None, compare=False)


@functools.cache
def _reachable(host: str, port: int = 443) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


def _metrics_logged(ml: MLClient, name: str, tmp_path: Path) -> None:
    halving = ml.jobs.get_metrics(name)["halving"]
    assert [(step, value) for step, value, _ in halving] == [(0, 0.5), (1, 0.25), (2, 0.125)]


def _output_written(output: str, file: str, text: str):
    def check(ml: MLClient, name: str, tmp_path: Path) -> None:
        ml.jobs.download(name, download_path=tmp_path, output_name=output)
        assert text in (tmp_path / output / file).read_text()
    return check


def _artifact_written(ml: MLClient, name: str, tmp_path: Path) -> None:
    ml.jobs.download(name, download_path=tmp_path)
    assert (tmp_path / "artifacts" / "outputs" / "helloworld.txt").read_text().strip() == "hello world"


def _experiment_named(ml: MLClient, name: str, tmp_path: Path) -> None:
    job = ml.jobs.get(name)
    assert (job.experiment_name, job.display_name, job.tags) == (
        "hello-world-example", "hello-world-example", {"hello": "world"})


def _expectations(online: bool) -> dict[str, Expect]:
    download_failed = ("input 'iris_csv'", f"cannot download {IRIS_URL}")
    return {
        "hello-code.yml": Expect("Completed", log=("hello-iris.py", "hello-mlflow.py")),
        "hello-data-uri-folder.yml": Expect("Completed", log=("titanic.csv",)),
        "hello-dataset.yml": Expect("Completed", log=("iris.csv",)),
        "hello-git.yml": Expect("Failed", error=("exited with code 1", "No module named 'pygit2'")),
        "hello-iris-datastore-file.yml": Expect("Completed", log=("hello-iris: 75 rows, 44 columns",)),
        "hello-iris-datastore-folder.yml": Expect("Completed", log=("iris.csv\n", "hello-iris: 75 rows")),
        "hello-iris-file.yml": (Expect("Completed", log=("hello-iris: ",)) if online
                                else Expect("Failed", error=download_failed)),
        "hello-iris-folder.yml": Expect("Failed", error=(
            "input 'data_dir'", f"'wasbs://datasets@{DATA_HOST}/' is cloud storage the local workspace cannot read")),
        # `inputs: {type: uri_file, iris_csv: <url>}` makes two literal inputs: the script itself reads the URL
        "hello-iris-literal.yml": (Expect("Completed", log=("hello-iris: ",)) if online
                                   else Expect("Failed", log=(f"--iris-csv: {IRIS_URL}",),
                                               error=("exited with code 1", "urllib.error.URLError"))),
        "hello-mlflow.yml": Expect("Completed", log=("hello-mlflow: logged halving x3",), check=_metrics_logged),
        "hello-model-as-input.yml": Expect("Completed", log=("MLmodel", "conda.yaml", "input_example.json")),
        "hello-model-as-output.yml": Expect("Completed", log=("NOTE.txt",),
                                            check=_output_written("output_folder", "MLmodel", "flavors")),
        "hello-notebook.yml": Expect("Failed", error=("exited with code 127", "papermill: command not found")),
        "hello-world-env-var.yml": Expect("Completed", log=("hello world",)),
        "hello-world-input.yml": Expect("Completed", log=("hello world\n42",)),
        "hello-world-org.yml": Expect("Completed", log=("hello world",), check=_experiment_named),
        "hello-world-output-data.yml": Expect("Completed",
                                              check=_output_written("hello_output", "helloworld.txt", "hello world")),
        "hello-world-output.yml": Expect("Completed", check=_artifact_written),
        "hello-world.yml": Expect("Completed", log=("hello world",)),
    }


SLOW = {"hello-interactive.yml"}  # checked by test_interactive_job_runs_until_canceled


def _basics(root: Path) -> Path:
    return root / "cli" / "jobs" / "basics"


def _kinds(root: Path) -> dict[str, str]:
    """hello-*.yml file -> its job type."""
    return {p.name: str((yaml.safe_load(p.read_text(encoding="utf-8")) or {}).get("type", "command"))
            for p in sorted(_basics(root).glob("hello-*.yml"))}


@pytest.fixture(scope="module")
def workspace(corpus_root, tmp_path_factory, request):
    """One local workspace for the module, holding the data the corpus's jobs read; PIP_NO_INDEX set while the
    module's jobs start. Prints the module's tally at its end."""
    src = _basics(corpus_root) / "src"
    src.mkdir(exist_ok=True)
    for script in SCRIPTS.iterdir():
        shutil.copy(script, src / script.name)
    ml = MLClient.local(tmp_path_factory.mktemp("home"))
    data = corpus_root / "cli" / "assets" / "data"
    shutil.copytree(data / "example-data", Path(ml.datastores.get_default().path) / "example-data")
    # the names the jobs use differ from the YAMLs' own: created with an override, as `--set name=...` would
    for spec, name in (("local-folder.yml", "local-folder-example"), ("local-folder-sampledata.yml", "sampledata")):
        ml.data.create_or_update(load_data(data / spec, params_override=[{"name": name}]))
    patch = pytest.MonkeyPatch()
    patch.setenv("PIP_NO_INDEX", "1")
    request.addfinalizer(patch.undo)
    request.addfinalizer(lambda: _print_tally(request.config, _kinds(corpus_root)))
    return ml


@pytest.fixture(scope="module")
def submitted(workspace, corpus_root) -> dict[str, str]:
    """Every fast command job submitted at once (they run side by side) -> file name: job name."""
    expectations = _expectations(_reachable(DATA_HOST))
    return {file: workspace.jobs.create_or_update(load_job(_basics(corpus_root) / file)).name
            for file in expectations}


def _wait(ml: MLClient, name: str, until=ENDED) -> str:
    deadline = time.monotonic() + WAIT
    while (status := ml.jobs.get(name).status) not in until:
        assert time.monotonic() < deadline, f"job {name} still {status} after {WAIT:g} s"
        time.sleep(0.25)
    return status


def _log_and_error(ml: MLClient, name: str) -> tuple[str, str]:
    """The job's log and failure reason, as `stream` shows them to a user."""
    out = io.StringIO()
    try:
        ml.jobs.stream(name, out=out)
    except JobFailedError as exc:
        return out.getvalue(), str(exc)
    return out.getvalue(), ""


def test_every_hello_command_job_is_covered(corpus_root):
    kinds = _kinds(corpus_root)
    commands = {file for file, kind in kinds.items() if kind == "command"}
    assert commands == set(_expectations(False)) | SLOW
    assert {kind for kind in kinds.values()} == {"command", "pipeline", "sweep"}


@pytest.mark.parametrize("file", sorted(_expectations(False)))
def test_hello_job(file, workspace, submitted, tmp_path):
    expect = _expectations(_reachable(DATA_HOST))[file]
    name = submitted[file]
    status = _wait(workspace, name)
    log, error = _log_and_error(workspace, name)
    OUTCOMES[status] += 1
    if error:
        REASONS[file] = error
    assert status == expect.status, f"{file}: {error or log[-2000:]}"
    for text in expect.log:
        assert text in log, f"{file}: {text!r} not in the log:\n{log[-2000:]}"
    for text in expect.error:
        assert text in error, f"{file}: {text!r} not in the error: {error}"
    if expect.check:
        expect.check(workspace, name, tmp_path)


@pytest.mark.slow
def test_interactive_job_runs_until_canceled(workspace, corpus_root):
    """hello-interactive runs its script in the curated TensorFlow environment (on the CPU here), then sleeps
    600 s to keep interactive services up; the test cancels it once the script has printed."""
    name = workspace.jobs.create_or_update(load_job(_basics(corpus_root) / "hello-interactive.yml")).name
    log = workspace.home / "jobs" / workspace.workspace_name / name / "user_logs" / "std_log.txt"
    deadline = time.monotonic() + WAIT
    try:
        while "hello-interactive: tensorflow 2.16" not in (log.read_text() if log.exists() else ""):
            status = workspace.jobs.get(name).status
            assert status not in ENDED, f"hello-interactive ended {status}: {_log_and_error(workspace, name)[1]}"
            assert time.monotonic() < deadline, f"hello-interactive printed nothing in {WAIT:g} s"
            time.sleep(0.5)
        assert workspace.jobs.get(name).status == "Running"
    finally:
        workspace.jobs.begin_cancel(name).result()
    assert _wait(workspace, name) == "Canceled"
    OUTCOMES["Canceled after its script ran"] += 1


def _print_tally(config, kinds: dict[str, str]) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or not OUTCOMES:
        return
    commands = sum(kind == "command" for kind in kinds.values())
    others = Counter(kind for kind in kinds.values() if kind != "command")
    ran = ", ".join(f"{n} {status}" for status, n in sorted(OUTCOMES.items()))
    lines = [f"corpus runs: {sum(OUTCOMES.values())} of {commands} hello-*.yml command jobs run locally: {ran}; "
             "not run: " + ", ".join(f"{n} {kind}" for kind, n in sorted(others.items()))]
    for file, reason in sorted(REASONS.items()):
        parts = [line.strip() for line in reason.splitlines() if line.strip()]
        lines.append(f"  {file}: {parts[0]}" + (f" ... {parts[-1]}" if len(parts) > 1 else ""))
    with config.pluginmanager.get_plugin("capturemanager").global_and_fixture_disabled():  # teardown is captured
        reporter.write_line("")
        for line in lines:
            reporter.write_line(line)
