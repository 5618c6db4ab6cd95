"""Spark jobs, components and pipeline nodes: YAML <-> entities <-> REST (SparkJob, 2024-04-01), and the checks Azure
ML makes before it takes one, each problem located."""
from __future__ import annotations

from pathlib import Path

import pytest

import azureml_v2
from azureml_v2.entities.component import component_from_rest
from azureml_v2.entities.inputs import Input
from azureml_v2.entities.job import ManagedIdentity
from azureml_v2.entities.pipeline import PipelineJob
from azureml_v2.entities.spark import SparkComponent, SparkJob, SparkJobEntry, SparkResourceConfiguration
from azureml_v2.local.core.checks import spark_unavailable

SCOPE = "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.MachineLearningServices/workspaces/ws-1"
JOB = """\
$schema: https://azuremlschemas.azureedge.net/latest/sparkJob.schema.json
type: spark
name: wrangle
code: ./src
entry:
  file: titanic.py
py_files: [utils.zip]
jars: [extra.jar]
files: [lookup.csv]
archives: [env.tar.gz#env]
conf:
  spark.driver.cores: 1
  spark.driver.memory: 2g
  spark.executor.cores: 2
  spark.executor.memory: 2g
  spark.executor.instances: 2
  spark.sql.shuffle.partitions: 8
inputs:
  titanic_data:
    type: uri_file
    path: azureml://datastores/workspaceblobstore/paths/data/titanic.csv
    mode: direct
  rate: 0.5
outputs:
  wrangled_data:
    type: uri_folder
    mode: direct
args: >-
  --titanic_data ${{inputs.titanic_data}} --rate ${{inputs.rate}}
  --wrangled_data ${{outputs.wrangled_data}}
identity:
  type: managed
resources:
  instance_type: standard_e4s_v3
  runtime_version: "3.4"
"""
COMPONENT = """\
$schema: https://azuremlschemas.azureedge.net/latest/sparkComponent.schema.json
name: wrangler
version: 1
type: spark
code: ./src
entry:
  file: titanic.py
inputs:
  titanic_data: {type: uri_file, mode: direct}
outputs:
  wrangled_data: {type: uri_folder, mode: direct}
args: --titanic_data ${{inputs.titanic_data}} --wrangled_data ${{outputs.wrangled_data}}
conf:
  spark.driver.cores: 1
  spark.driver.memory: 2g
  spark.executor.cores: 2
  spark.executor.memory: 2g
  spark.dynamicAllocation.enabled: true
  spark.dynamicAllocation.minExecutors: 1
  spark.dynamicAllocation.maxExecutors: 4
"""
PIPELINE = """\
type: pipeline
jobs:
  wrangle:
    type: spark
    component: ./component.yml
    inputs:
      titanic_data: {type: uri_file, path: azureml://datastores/workspaceblobstore/paths/titanic.csv, mode: direct}
    outputs:
      wrangled_data: ${{parent.outputs.clean}}
    identity: {type: user_identity}
    conf: {spark.executor.instances: 2}
    resources: {instance_type: standard_e8s_v3, runtime_version: "3.4"}
outputs:
  clean: {type: uri_folder}
"""


def write(folder: Path, text: str, name: str = "job.yml") -> Path:
    (folder / "src").mkdir(exist_ok=True)
    (folder / "src" / "titanic.py").write_text("print('hi')\n")
    path = folder / name
    path.write_text(text)
    return path


def problems_of(path: Path, loader=azureml_v2.load_job) -> list[str]:
    with pytest.raises(azureml_v2.ValidationError) as info:
        loader(path)
    return [line.split(" ", 1)[1] for line in str(info.value).splitlines()]


def test_a_spark_job_loads_round_trips_and_is_a_valid_spark_job_body(tmp_path, monkeypatch, rest_validate):
    job = azureml_v2.load_job(write(tmp_path, JOB))
    assert isinstance(job, SparkJob) and job.code == str(tmp_path / "src")
    assert job.entry == SparkJobEntry(file="titanic.py")
    assert job.resources == SparkResourceConfiguration(instance_type="standard_e4s_v3", runtime_version="3.4")
    assert job.identity == ManagedIdentity()

    out = tmp_path / "elsewhere" / "job.yml"
    out.parent.mkdir()
    job.dump(out)
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert azureml_v2.load_job(out) == job, out.read_text()
    assert "code: ../src\n" in out.read_text()

    body = job.to_rest(scope=SCOPE)
    assert rest_validate(body, "JobBaseResource") == []
    p = body["properties"]
    assert p["jobType"] == "Spark"
    assert p["entry"] == {"sparkJobEntryType": "SparkJobPythonEntry", "file": "titanic.py"}
    assert p["conf"]["spark.driver.cores"] == "1" and p["conf"]["spark.sql.shuffle.partitions"] == "8"
    assert (p["pyFiles"], p["jars"], p["files"], p["archives"]) == (["utils.zip"], ["extra.jar"], ["lookup.csv"],
                                                                    ["env.tar.gz#env"])
    assert p["resources"] == {"instanceType": "standard_e4s_v3", "runtimeVersion": "3.4"}
    assert p["inputs"]["titanic_data"]["mode"] == "Direct" and p["identity"] == {"identityType": "Managed"}
    assert p["args"].startswith("--titanic_data ${{inputs.titanic_data}}")

    back = SparkJob._from_rest({"name": "wrangle", "properties": {**p, "codeId": job.code}})
    assert back.conf == job.conf and back.entry == job.entry and back.resources == job.resources
    assert back.inputs["titanic_data"] == Input(type="uri_file", path=job.inputs["titanic_data"].path,
                                                mode="direct")


def test_a_class_entry_and_an_attached_pool(tmp_path, rest_validate):
    text = JOB.replace("  file: titanic.py", "  class_name: org.example.Wrangle").split("resources:")[0]
    job = azureml_v2.load_job(write(tmp_path, text + "compute: synapse-pool\n"))
    body = job.to_rest(scope=SCOPE)["properties"]
    assert body["entry"] == {"sparkJobEntryType": "SparkJobScalaEntry", "className": "org.example.Wrangle"}
    assert body["computeId"] == f"{SCOPE}/computes/synapse-pool" and "resources" not in body
    assert rest_validate({"properties": body}, "JobBaseResource") == []


@pytest.mark.parametrize("old, new, expected", [
    ("  spark.executor.instances: 2\n", "",
     "conf: required: spark.executor.instances (the driver's and executors' sizes)"),
    ("  spark.executor.instances: 2\n", "  spark.dynamicAllocation.enabled: true\n"
                                        "  spark.dynamicAllocation.minExecutors: 3\n"
                                        "  spark.dynamicAllocation.maxExecutors: 2\n",
     "conf.spark.dynamicAllocation.minExecutors: expected 0 < spark.dynamicAllocation.minExecutors <= "
     "spark.dynamicAllocation.maxExecutors, got 3 and 2"),
    ("  spark.sql.shuffle.partitions: 8\n", "  spark.dynamicAllocation.maxExecutors: 4\n",
     "conf.spark.dynamicAllocation.maxExecutors: spark.dynamicAllocation.maxExecutors is only taken when "
     "spark.dynamicAllocation.enabled is true"),
    ("    mode: direct\n  rate", "    mode: download\n  rate",
     "inputs.titanic_data.mode: download is not taken by a spark job: Spark reads and writes the data itself "
     "(mode: direct)"),
    ("  file: titanic.py", "  file: titanic.py\n  class_name: a.B",
     "entry: expected one of file (a Python file of the code) or class_name (a JVM class), not both"),
    ("  file: titanic.py", "  file: wrangle.py", "entry.file: no such file in the code folder"),
    ("${{inputs.rate}}", "${{inputs.rte}}",
     "args: ${{inputs.rte}}: no input named 'rte' is declared (declared: titanic_data, rate) (did you mean rate?)"),
    ("standard_e4s_v3", "standard_d4s_v3", "resources.instance_type: invalid value 'standard_d4s_v3': expected one "
                                           "of standard_e4s_v3"),
    ('runtime_version: "3.4"', "runtime_version: latest",
     "resources.runtime_version: expected a Spark runtime version such as 3.4, got 'latest'"),
    ("jars: [extra.jar]", "jars: [extra.jar, extra.jar]", "jars: 'extra.jar' is listed twice in jars"),
    ("identity:\n", "compute: pool\nidentity:\n",
     "compute: a spark job runs either on an attached Spark pool (compute) or on serverless Spark (resources), "
     "not both"),
    ("resources:\n  instance_type: standard_e4s_v3\n  runtime_version: \"3.4\"\n", "",
     "resources: required: resources (instance_type, runtime_version) for serverless Spark, or compute: an "
     "attached Spark pool (on the local workspace: compute: local)"),
])
def test_bad_spark_jobs_are_refused_with_one_located_line_each(tmp_path, old, new, expected):
    assert old in JOB
    lines = problems_of(write(tmp_path, JOB.replace(old, new)))
    assert len(lines) == 1 and lines[0].startswith(expected), lines


def test_an_example_placeholder_compute_loads_to_be_set_before_it_is_submitted(tmp_path):
    text = JOB.split("resources:")[0] + "compute: <ATTACHED_SPARK_POOL_NAME>\n"
    assert azureml_v2.load_job(write(tmp_path, text)).compute == "<ATTACHED_SPARK_POOL_NAME>"  # as azure-ai-ml
    job = azureml_v2.load_job(write(tmp_path, text), params_override=[{"compute": "my-pool"}])
    assert job.compute == "my-pool"


@pytest.mark.parametrize("where, identity", [
    ("compute: my-synapse-pool\n", "Managed"),  # an attached pool runs as its managed identity
    ("resources: {instance_type: standard_e4s_v3, runtime_version: '3.4'}\n", "UserIdentity"),  # serverless
])
def test_a_spark_job_given_no_identity_runs_as_azure_ai_ml_sends_it(tmp_path, where, identity):
    text = JOB.split("identity:")[0] + where
    job = azureml_v2.load_job(write(tmp_path, text))
    assert job.identity is None
    assert job.to_rest(scope=SCOPE)["properties"]["identity"] == {"identityType": identity}


def test_a_spark_component_and_its_node_in_a_pipeline(tmp_path, monkeypatch, rest_validate):
    write(tmp_path, COMPONENT, "component.yml")
    component = azureml_v2.load_component(tmp_path / "component.yml")
    assert isinstance(component, SparkComponent) and component.conf["spark.dynamicAllocation.maxExecutors"] == 4
    rest = component.to_rest(scope=SCOPE)
    assert rest_validate(rest, "ComponentVersionResource") == []
    spec = rest["properties"]["componentSpec"]
    assert (spec["type"], spec["entry"], spec["inputs"]["titanic_data"]) == (
        "spark", {"file": "titanic.py"}, {"type": "uri_file", "mode": "direct"})

    job = azureml_v2.load_job(write(tmp_path, PIPELINE, "pipeline.yml"))
    body = job.to_rest(scope=SCOPE)
    assert rest_validate(body, "JobBaseResource") == []
    node = body["properties"]["jobs"]["wrangle"]
    assert node["type"] == "spark" and node["componentId"].startswith(f"{SCOPE}/components/azureml_anonymous/")
    assert node["resources"] == {"instance_type": "standard_e8s_v3", "runtime_version": "3.4"}
    assert node["identity"] == {"identity_type": "UserIdentity"} and node["conf"] == {"spark.executor.instances": "2"}
    assert node["inputs"]["titanic_data"]["mode"] == "Direct"

    back = PipelineJob._from_rest({"name": "p", "properties": body["properties"]})
    again = back.jobs["wrangle"]
    assert (again.resources, again.identity, again.conf) == (job.jobs["wrangle"].resources,
                                                             job.jobs["wrangle"].identity, job.jobs["wrangle"].conf)
    read = component_from_rest({"id": f"{SCOPE}/components/wrangler/versions/1", "properties": rest["properties"]})
    assert isinstance(read, SparkComponent) and read.entry == component.entry and read.conf == component.conf

    monkeypatch.chdir(tmp_path)
    job.dump(tmp_path / "out.yml")
    assert azureml_v2.load_job(tmp_path / "out.yml") == job


def test_a_spark_node_needs_where_to_run_and_direct_data(tmp_path):
    write(tmp_path, COMPONENT, "component.yml")
    text = PIPELINE.replace("    resources: {instance_type: standard_e8s_v3, runtime_version: \"3.4\"}\n", "")
    text = text.replace("mode: direct}", "mode: ro_mount}")
    lines = problems_of(write(tmp_path, text, "pipeline.yml"))
    assert sorted(line.split(" ", 1)[0] for line in lines) == ["jobs.wrangle.inputs.titanic_data.mode:",
                                                               "jobs.wrangle.resources:"], lines


def test_a_spark_component_node_is_made_by_calling_it(tmp_path):
    write(tmp_path, COMPONENT, "component.yml")
    component = azureml_v2.load_component(tmp_path / "component.yml")
    node = component(titanic_data=Input(type="uri_file", path="azureml:titanic:1", mode="direct"))
    assert node.type == "spark" and node.outputs.wrangled_data.name == "wrangled_data"
    with pytest.raises(azureml_v2.ValidationError, match="got an unexpected input 'titanic'"):
        component(titanic=Input(type="uri_file", path="azureml:titanic:1"))


def test_without_java_or_pyspark_a_spark_job_is_refused_in_one_line(monkeypatch):
    monkeypatch.setattr("importlib.util.find_spec", lambda name: object())  # pyspark there
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert spark_unavailable() == ("spark jobs run here on a Java runtime, and none is installed: install one "
                                   "(Debian, Ubuntu: apt-get install default-jre-headless) or set JAVA_HOME")
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    assert spark_unavailable() == ("spark jobs run here with pyspark, which is not installed: pip install "
                                   "'azureml_v2[spark]'")


EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "spark"


@pytest.mark.parametrize("name", ["wordcount.yml", "pipeline.yml"])
def test_the_spark_examples_load_round_trip_and_are_valid_bodies(name, tmp_path, rest_validate):
    job = azureml_v2.load_job(EXAMPLES / name)
    out = tmp_path / "copy" / name
    out.parent.mkdir()
    job.dump(out)
    assert azureml_v2.load_job(out) == job
    assert rest_validate(job.to_rest(scope=SCOPE), "JobBaseResource") == []
    if name == "pipeline.yml":  # the spark step between the data and LightGBM
        assert [(n, node.type) for n, node in job.jobs.items()] == [("prepare", "command"), ("features", "spark"),
                                                                    ("train", "command")]
