"""Spark jobs on the local workspace, run by pyspark's spark-submit: the corpus's serverless spark jobs and pipelines
unchanged, a pipeline with a spark step between two command steps, a JVM application (entry class_name, its jar built
here from Java source when a JDK is on PATH), a cancel and a killed runner stopping the JVM.

Each spark job starts a JVM (seconds each), so the module submits its jobs together, once, and the tests read their
ends. The corpus's jobs read titanic.csv from the workspace's blob datastore: the corpus's own copy is put in the
default datastore's folder, as `az ml` users upload it. The attached-pool files name `<ATTACHED_SPARK_POOL_NAME>`,
which the unit tests show refused at load, located.
"""
from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from azureml_v2 import MLClient, load_job
from azureml_v2.local.core.checks import spark_unavailable
from azureml_v2.local.executors.spark import _spark_home
from azureml_v2.local.storage.workspace import Store
from azureml_v2.operations.jobs import JobFailedError

from ..test_corpus_runs import ENDED, WAIT, _wait

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(spark_unavailable() is not None, reason=spark_unavailable() or "")]

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SERVERLESS = [f"serverless-spark-{kind}-{identity}-identity.yml" for kind in ("standalone", "pipeline")
              for identity in ("default", "managed", "user")]

STEP = """
import pathlib, sys
pathlib.Path(sys.argv[1], "numbers.csv").write_text("n\\n" + "\\n".join(str(i) for i in range(1, 101)) + "\\n")
"""
SUM = """
import argparse
from pyspark.sql import SparkSession, functions as F
parser = argparse.ArgumentParser()
parser.add_argument("--numbers")
parser.add_argument("--total")
args = parser.parse_args()
spark = SparkSession.builder.getOrCreate()
frame = spark.read.csv(args.numbers, header=True, inferSchema=True)
frame.agg(F.sum("n").alias("total")).coalesce(1).write.mode("overwrite").csv(args.total, header=True)
spark.stop()
"""
CHECK = """
import pathlib, sys
parts = sorted(pathlib.Path(sys.argv[1]).glob("*.csv"))
print("total read downstream:", parts[0].read_text().split()[1])
"""
PIPELINE = """
type: pipeline
settings: {default_compute: local}
jobs:
  make:
    type: command
    command: python step.py ${{outputs.numbers}}
    code: ./src
    environment: {image: "python:3.11-slim"}
    outputs: {numbers: {type: uri_folder}}
  total:
    type: spark
    component:
      type: spark
      code: ./src
      entry: {file: sum.py}
      inputs: {numbers: {type: uri_folder, mode: direct}}
      outputs: {total: {type: uri_folder, mode: direct}}
      args: --numbers ${{inputs.numbers}} --total ${{outputs.total}}
      conf: {spark.driver.cores: 1, spark.driver.memory: 1g, spark.executor.cores: 1, spark.executor.memory: 1g,
             spark.executor.instances: 1}
    inputs: {numbers: "${{parent.jobs.make.outputs.numbers}}"}
    compute: local
  check:
    type: command
    command: python check.py ${{inputs.total}}
    code: ./src
    environment: {image: "python:3.11-slim"}
    inputs: {total: "${{parent.jobs.total.outputs.total}}"}
"""
SLEEPER = """
type: spark
code: ./src
entry: {file: sleep.py}
conf: {spark.driver.cores: 1, spark.driver.memory: 1g, spark.executor.cores: 1, spark.executor.memory: 1g,
       spark.executor.instances: 1}
compute: local
"""
SLEEP = """
import os, pathlib, time
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
pathlib.Path(os.environ["PID_FILE"]).write_text(str(spark.sparkContext._jvm.ProcessHandle.current().pid()))
time.sleep(600)
"""

# A JVM application: counts the rows of a CSV file with Spark's Java API and writes the count to a folder.
COUNT_JAVA = """
package org.example;

import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;

public class Count {
    public static void main(String[] args) throws Exception {
        SparkSession spark = SparkSession.builder().getOrCreate();
        long rows = spark.read().option("header", "true").csv(args[1]).count();
        System.out.println("rows counted by " + args[0] + ": " + rows);
        Files.createDirectories(Path.of(args[2]));
        Files.writeString(Path.of(args[2], "count.txt"), Long.toString(rows));
        spark.stop();
    }
}
"""
CLASS_JOB = """
type: spark
code: ./src
entry: {class_name: org.example.Count}
jars: [count.jar]
args: "'the jvm' ${{inputs.titanic}} ${{outputs.count}}"
inputs:
  titanic: {type: uri_file, path: azureml://datastores/workspaceblobstore/paths/data/titanic.csv, mode: direct}
outputs:
  count: {type: uri_folder, mode: direct}
conf: {spark.driver.cores: 1, spark.driver.memory: 1g, spark.executor.cores: 1, spark.executor.memory: 1g,
       spark.executor.instances: 1}
compute: local
"""
NO_JDK = "no JDK (javac and jar) on PATH: the JVM application's jar cannot be built"


def _build_jar(folder: Path) -> None:
    """src/count.jar from COUNT_JAVA, compiled against the jars of pyspark's Spark."""
    classes = folder / "classes"
    (classes / "org" / "example").mkdir(parents=True)
    source = folder / "Count.java"
    source.write_text(COUNT_JAVA)
    subprocess.run(["javac", "-d", str(classes), "-cp", str(_spark_home() / "jars" / "*"), str(source)], check=True,
                   capture_output=True)
    subprocess.run(["jar", "cf", str(folder / "src" / "count.jar"), "-C", str(classes), "."], check=True,
                   capture_output=True)


@pytest.fixture(scope="module")
def workspace(corpus_root, tmp_path_factory):
    ml = MLClient.local(tmp_path_factory.mktemp("home"))
    data = Path(ml.datastores.get_default().path) / "data"
    data.mkdir(parents=True)
    shutil.copy(corpus_root / "cli" / "jobs" / "spark" / "data" / "titanic.csv", data / "titanic.csv")
    return ml


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("project")
    (root / "src").mkdir()
    for name, text in (("step.py", STEP), ("sum.py", SUM), ("check.py", CHECK), ("sleep.py", SLEEP)):
        (root / "src" / name).write_text(text)
    (root / "pipeline.yml").write_text(PIPELINE)
    (root / "sleeper.yml").write_text(SLEEPER)
    if shutil.which("javac") and shutil.which("jar"):
        _build_jar(root)
        (root / "class.yml").write_text(CLASS_JOB)
    return root


@pytest.fixture(scope="module")
def submitted(workspace, corpus_root, project) -> dict[str, str]:
    """Every job of the module submitted at once (they run side by side) -> file: job name."""
    folder = corpus_root / "cli" / "jobs" / "spark"
    names = {file: workspace.jobs.create_or_update(load_job(folder / file)).name for file in SERVERLESS}
    names["pipeline.yml"] = workspace.jobs.create_or_update(load_job(project / "pipeline.yml")).name
    if (project / "class.yml").exists():
        names["class.yml"] = workspace.jobs.create_or_update(load_job(project / "class.yml")).name
    return names


def _log(ml: MLClient, name: str) -> str:
    out = io.StringIO()
    try:
        ml.jobs.stream(name, out=out)
    except JobFailedError as exc:
        return out.getvalue() + f"\n{exc}"
    return out.getvalue()


@pytest.mark.parametrize("file", SERVERLESS)
def test_a_serverless_corpus_spark_job_runs_here_unchanged(file, workspace, submitted):
    name = submitted[file]
    status = _wait(workspace, name)
    log = _log(workspace, name)
    assert status == "Completed", log[-3000:]
    wrangled = Path(workspace.datastores.get_default().path) / "data" / "wrangled"
    assert any(wrangled.rglob("part-*.csv")), f"no CSV part written under {wrangled}"
    if "standalone" in file:  # the notices say what of the cloud settings cannot apply here
        assert "serverless Spark (standard_e4s_v3, runtime 3.4) runs here on pyspark" in log, log[:2000]
        assert "spark.executor.instances, spark.executor.memory size a cluster" in log, log[:2000]


def test_a_spark_step_between_two_command_steps(workspace, submitted):
    name = submitted["pipeline.yml"]
    assert _wait(workspace, name) == "Completed", _log(workspace, name)[-3000:]
    assert "total read downstream: 5050" in _log(workspace, f"{name}_check")


@pytest.mark.skipif(not (shutil.which("javac") and shutil.which("jar")), reason=NO_JDK)
def test_a_jvm_application_runs_from_its_jar_by_class_name(workspace, submitted):
    name = submitted["class.yml"]
    assert _wait(workspace, name) == "Completed", _log(workspace, name)[-3000:]
    assert "rows counted by the jvm: 891" in _log(workspace, name)  # args as given, the input as its local path
    stored = Path(workspace.home) / "datastores/workspaceblobstore/azureml" / name / "count"
    assert (stored / "count.txt").read_text() == "891"  # what the application wrote is the job's output


def test_a_canceled_job_and_a_killed_runner_stop_their_jvm(workspace, project, tmp_path):
    """Cancel one sleeping spark job, SIGKILL the runner of another: each JVM is gone within seconds, the jobs end
    Canceled and Failed."""
    names, pids = {}, {}
    for how in ("cancel", "kill"):
        job = load_job(project / "sleeper.yml")
        job.environment_variables = {"PID_FILE": str(tmp_path / how)}
        names[how] = workspace.jobs.create_or_update(job).name
    deadline = time.monotonic() + WAIT
    for how, name in names.items():
        while not (tmp_path / how).exists() or not (tmp_path / how).read_text():
            assert time.monotonic() < deadline and workspace.jobs.get(name).status not in ENDED, _log(workspace, name)
            time.sleep(0.25)
        pids[how] = int((tmp_path / how).read_text())
    workspace.jobs.begin_cancel(names["cancel"]).result()
    os.kill(Store(workspace.home).get_job("local", names["kill"])["runner_pid"], signal.SIGKILL)
    assert (_wait(workspace, names["cancel"]), _wait(workspace, names["kill"])) == ("Canceled", "Failed")
    deadline = time.monotonic() + 30
    while any(os.path.exists(f"/proc/{pid}") for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [how for how, pid in pids.items() if os.path.exists(f"/proc/{pid}")], "a JVM outlived its job"
