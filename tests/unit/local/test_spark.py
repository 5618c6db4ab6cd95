"""The local workspace and spark jobs, without starting one: the refusal at submit when this machine cannot run
Spark, the cores of local[N], a pipeline's spark node as its child Spark job."""
from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError

import azureml_v2
from azureml_v2.local.core.checks import Invalid
from azureml_v2.local.executors.spark import local_cores
from azureml_v2.local.executors.steps import build

from ..entities.test_spark import COMPONENT, JOB, write

WS = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/" \
     "Microsoft.MachineLearningServices/workspaces/local"


def test_without_java_a_spark_job_fails_at_submit_in_one_line(ml_client, tmp_path, monkeypatch):
    monkeypatch.setattr("importlib.util.find_spec", lambda name: object())  # pyspark there, Java not
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    job = azureml_v2.load_job(write(tmp_path, JOB))
    with pytest.raises(HttpResponseError) as info:  # 400, as any body the service refuses
        ml_client.jobs.create_or_update(job)
    assert "spark jobs run here on a Java runtime, and none is installed: install one (Debian, Ubuntu: apt-get " \
           "install default-jre-headless) or set JAVA_HOME" in str(info.value)
    with pytest.raises(Invalid, match="none is installed"):  # the same check for a pipeline's spark step
        ml_client.sent.app.jobs.create("local", "step", {"jobType": "Spark", "codeId": "x",
                                                         "entry": {"sparkJobEntryType": "SparkJobPythonEntry"}})


@pytest.mark.parametrize("conf, machine, expected", [
    ({}, 8, (1, None)),
    ({"spark.executor.instances": "2", "spark.executor.cores": "2"}, 8, (4, None)),
    ({"spark.executor.instances": "2", "spark.executor.cores": "2"}, 2,
     (2, "the executors ask for 4 cores and this machine has 2: local[2]")),
    ({"spark.dynamicAllocation.enabled": "True", "spark.dynamicAllocation.maxExecutors": "3",
      "spark.executor.instances": "1", "spark.executor.cores": "1"}, 8, (3, None)),
])
def test_local_cores_come_from_the_executor_settings_bounded_by_the_machine(conf, machine, expected):
    assert local_cores(conf, machine) == expected


def test_a_spark_node_becomes_a_spark_job_with_its_component_and_its_own_settings(tmp_path):
    write(tmp_path, COMPONENT, "component.yml")
    spec = azureml_v2.load_component(tmp_path / "component.yml").to_rest(scope=WS)["properties"]["componentSpec"]
    spec["code"] = f"azureml:{WS}/codes/src/versions/1"
    node = {"type": "spark", "componentId": f"{WS}/components/wrangler/versions/1",
            "inputs": {"titanic_data": {"job_input_type": "uri_file", "uri": "azureml://datastores/d/paths/t.csv",
                                        "mode": "Direct"}},
            "outputs": {"wrangled_data": {"type": "literal", "value": "${{parent.outputs.clean}}"}},
            "resources": {"instance_type": "standard_e4s_v3", "runtime_version": "3.4"},
            "identity": {"identity_type": "UserIdentity"}, "conf": {"spark.executor.instances": "2"}}
    step = build("pipe", {"experimentName": "e", "outputs": {"clean": {"jobOutputType": "uri_folder"}}}, "wrangle",
                 node, spec, {})
    props = step.props
    assert (step.kind, props["jobType"], props["codeId"]) == ("spark", "Spark", f"{WS}/codes/src/versions/1")
    assert props["entry"] == {"sparkJobEntryType": "SparkJobPythonEntry", "file": "titanic.py"}
    assert props["conf"]["spark.executor.instances"] == "2" and props["conf"]["spark.dynamicAllocation.enabled"] \
        == "True"
    assert props["resources"] == {"instanceType": "standard_e4s_v3", "runtimeVersion": "3.4"}
    assert props["identity"] == {"identityType": "UserIdentity"}
    assert props["args"] == "--titanic_data ${{inputs.titanic_data}} --wrangled_data ${{outputs.wrangled_data}}"
    assert props["inputs"]["titanic_data"]["mode"] == "Direct"
