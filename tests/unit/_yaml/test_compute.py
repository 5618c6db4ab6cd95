"""Compute YAML: every corpus file under cli/resources/compute loads (or fails, located, on a placeholder name),
dumps to YAML that loads back equal, and maps to a spec-valid ComputeResource body; bad input is one located
error."""
from __future__ import annotations

import io

import pytest

from azureml_v2 import NotSupportedError, ValidationError, load_compute
from azureml_v2._contract import LOCAL_SCOPE
from azureml_v2.entities import AmlCompute, Compute, ComputeInstance, SynapseSparkCompute
from conftest import CORPUS

FOLDER = "cli/resources/compute"
PLACEHOLDER_NAMES = ("attached-spark.yml", "attached-spark-system-identity.yml", "attached-spark-user-identity.yml")


def _files():
    folder = CORPUS / FOLDER
    return sorted(p.name for p in folder.glob("*.yml")) if folder.is_dir() else []


@pytest.mark.parametrize("name", _files())
def test_corpus_compute(name, corpus_root, rest_validate, tmp_path):
    path = corpus_root / FOLDER / name
    if name in PLACEHOLDER_NAMES:  # `name: <ATTACHED_SPARK_POOL_NAME>`, for the reader to fill in
        with pytest.raises(ValidationError) as info:
            load_compute(path)
        (problem,) = info.value.problems
        assert (problem.source, problem.line, problem.path) == (str(path), 2, "name")
        assert "invalid compute name '<ATTACHED_SPARK_POOL_NAME>'" in problem.message
        compute = load_compute(path, name="spark-pool")  # as `azml compute create -f ... -n spark-pool`
    else:
        compute = load_compute(path)
    out = tmp_path / name
    compute.dump(out)
    again = load_compute(out)
    assert again == compute, out.read_text()
    assert again.dump() == out.read_text()
    body = compute.to_rest(scope=LOCAL_SCOPE)
    assert rest_validate(body, "ComputeResource") == [], body
    assert Compute._from_rest({"name": compute.name, **body}).to_rest(scope=LOCAL_SCOPE) == body  # read back as sent


def test_the_schedule_of_a_compute_instance_is_sent_as_the_service_reads_it(corpus_root):
    instance = load_compute(corpus_root / FOLDER / "instance-schedule.yml")
    assert isinstance(instance, ComputeInstance)
    assert instance.to_rest(scope=LOCAL_SCOPE)["properties"]["properties"]["schedules"] == {"computeStartStop": [
        {"action": "Stop", "status": "Enabled", "triggerType": "Cron", "cron": {"expression": "0 18 * * *",
                                                           "startTime": "2021-03-10T21:21:07",
                                                           "timeZone": "Pacific Standard Time"}}]}


def test_identities_go_on_the_resource(corpus_root):
    spark = load_compute(corpus_root / FOLDER / "attached-spark-user-identity.yml", name="spark-pool")
    assert isinstance(spark, SynapseSparkCompute)
    body = spark.to_rest(scope=LOCAL_SCOPE)
    assert body["identity"]["type"] == "UserAssigned"
    assert list(body["identity"]["userAssignedIdentities"]) == [spark.identity.user_assigned_identities[0].resource_id]


def test_a_recurrence_schedule_round_trips():
    text = """name: ci-ada
type: computeinstance
schedules:
  compute_start_stop:
  - action: start
    state: disabled
    trigger:
      type: recurrence
      frequency: week
      interval: 1
      schedule:
        hours: [8]
        minutes: [30]
        week_days: [monday, friday]
"""
    instance = load_compute(io.StringIO(text))
    own = instance.to_rest(scope=LOCAL_SCOPE)["properties"]["properties"]
    assert own["schedules"]["computeStartStop"][0] == {
        "action": "Start", "status": "Disabled", "triggerType": "Recurrence",
        "recurrence": {"frequency": "Week", "interval": 1, "schedule": {"hours": [8], "minutes": [30],
                                                                         "weekDays": ["Monday", "Friday"]}}}
    assert load_compute(io.StringIO(instance.dump())) == instance


@pytest.mark.parametrize("text, where, message", [
    ("name: c1\ntype: amlcompute\nmax_instance: 2\n", (3, "max_instance"), "did you mean max_instances"),
    ("name: c1\ntype: amlcompute\nmin_instances: 3\nmax_instances: 2\n", (3, "min_instances"),
     "min_instances 3 is more than max_instances 2"),
    ("name: c1\ntype: amlcompute\ntier: spot\n", (3, "tier"), "expected one of dedicated, low_priority"),
    ("name: c1\ntype: amlcompute\nmax_instances: 0\n", (3, "max_instances"), "must be at least 1"),
    ("name: c1\ntype: cluster\n", (2, "type"), "expected one of amlcompute, computeinstance"),
    ("name: 1st\ntype: amlcompute\n", (1, "name"), "invalid compute name '1st'"),
    ("name: a-very-long-cluster-name\ntype: amlcompute\n", (1, "name"), "2 to 16 letters"),
    ("name: ci1\ntype: computeinstance\nschedules:\n  compute_start_stop:\n  - action: pause\n",
     (5, "schedules.compute_start_stop[0].action"), "expected one of start, stop"),
    ("name: ci1\ntype: computeinstance\nschedules:\n  compute_start_stop:\n  - action: stop\n    trigger:\n"
     "      type: cron\n      expression: '0 18 * *'\n", (8, "schedules.compute_start_stop[0].trigger.expression"),
     "expected five fields"),
    ("name: ci1\ntype: computeinstance\nschedules:\n  compute_start_stop:\n  - action: stop\n    trigger:\n"
     "      type: cron\n      expression: '0 18 * * *'\n      end_time: 2030-01-01T00:00:00\n",
     (9, "schedules.compute_start_stop[0].trigger.end_time"), "has no end time"),
    ("name: k8s\ntype: kubernetes\nresource_id: /x\nproperties:\n  defaultInstanceTyp: small\n",
     (5, "properties.defaultInstanceTyp"), "did you mean defaultInstanceType"),
    ("name: vm1\ntype: virtualmachine\n", (1, "resource_id"), "required field is missing"),
])
def test_bad_compute_yaml_is_one_located_error(text, where, message):
    with pytest.raises(ValidationError) as info:
        load_compute(io.StringIO(text))
    (problem,) = info.value.problems
    assert (problem.line, problem.path) == where and message in problem.message, str(info.value)


def test_fields_newer_than_the_api_version_are_not_supported_yet():
    with pytest.raises(NotSupportedError, match="idle_time_before_shutdown_minutes: not supported yet"):
        load_compute(io.StringIO("name: ci1\ntype: computeinstance\nidle_time_before_shutdown_minutes: 30\n"))


def test_what_show_prints_loads_again():
    shown = AmlCompute(name="c1", max_instances=2, provisioning_state="Succeeded", location="local")
    assert load_compute(io.StringIO(shown.dump())) == shown
    assert "provisioning_state" not in str(shown.to_rest(scope=LOCAL_SCOPE))
