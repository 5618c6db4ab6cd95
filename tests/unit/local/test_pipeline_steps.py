"""Pipeline nodes as child jobs: bindings, defaults, run settings and sweep nodes (no process is started)."""
from __future__ import annotations

import pytest

from azureml_v2.local.executors.steps import StepError, build, output_bindings, upstream

WS = "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/local"
SPEC = {"type": "command", "command": "python t.py ${{inputs.data}} ${{inputs.lr}} ${{outputs.model}}",
        "code": f"azureml:{WS}/codes/c/versions/1", "environment": f"azureml:{WS}/environments/e/versions/1",
        "inputs": {"data": {"type": "uri_folder"}, "lr": {"type": "number", "default": 0.1},
                   "extra": {"type": "string", "optional": True}},
        "outputs": {"model": {"type": "mlflow_model"}}}
DOC = {"jobType": "Pipeline", "experimentName": "e",
       "inputs": {"raw": {"jobInputType": "uri_file", "uri": "azureml://datastores/d/paths/x.csv", "mode": "Download"},
                  "rate": {"jobInputType": "literal", "value": "0.5"}},
       "outputs": {"final": {"jobOutputType": "mlflow_model", "assetName": "m"}}}


def literal(value):
    return {"job_input_type": "literal", "value": value}


def test_bindings_become_the_pipeline_inputs_and_upstream_output_uris():
    node = {"type": "command", "componentId": "x", "computeId": "cpu",
            "inputs": {"data": literal("${{parent.jobs.prep.outputs.out}}"), "lr": literal("${{parent.inputs.rate}}")},
            "outputs": {"model": {"value": "${{parent.outputs.final}}", "type": "literal"}},
            "resources": {"instance_count": 1}, "distribution": {"distribution_type": "pytorch",
                                                                 "process_count_per_instance": 2},
            "environment_variables": {"A": 1}}
    step = build("p", DOC, "train", node, SPEC, {"default_compute": "ignored"})
    props = step.props
    assert props["jobType"] == "Command" and props["computeId"] == "cpu"
    assert props["inputs"] == {"data": {"jobInputType": "uri_folder", "uri": "azureml://jobs/p_prep/outputs/out"},
                               "lr": {"jobInputType": "literal", "value": "0.5"}}
    assert props["outputs"] == {"model": {"jobOutputType": "mlflow_model", "assetName": "m"}}
    assert props["codeId"] == f"{WS}/codes/c/versions/1" and props["environmentId"] == f"{WS}/environments/e/versions/1"
    assert props["distribution"] == {"distributionType": "PyTorch", "processCountPerInstance": 2}
    assert props["resources"] == {"instanceCount": 1} and props["environmentVariables"] == {"A": "1"}
    assert props["properties"] == {"azureml.parentJobName": "p", "azureml.nodeid": "train"}
    assert upstream(node) == {"prep"} and output_bindings(node) == {"final": "model"}


def test_defaults_fill_missing_inputs_and_a_missing_required_one_is_named():
    props = build("p", DOC, "n", {"inputs": {"data": literal("${{parent.inputs.raw}}")}}, SPEC, {}).props
    assert props["inputs"]["lr"] == {"jobInputType": "literal", "value": "0.1"}
    assert props["inputs"]["data"]["mode"] == "Download" and "extra" not in props["inputs"]
    with pytest.raises(StepError, match="input 'data' is required"):
        build("p", DOC, "n", {}, SPEC, {})


def test_a_sweep_node_becomes_a_sweep_job_whose_trial_samples_its_inputs():
    node = {"type": "sweep", "trial": {"componentId": "x"}, "inputs": {"data": literal("${{parent.inputs.raw}}")},
            "search_space": {"lr": {"type": "uniform", "min_value": 0.01, "max_value": 0.1}},
            "sampling_algorithm": "random", "objective": {"goal": "maximize", "primary_metric": "acc"},
            "limits": {"max_total_trials": 4, "max_concurrent_trials": 2},
            "early_termination": {"policy_type": "bandit", "slack_factor": 0.1, "evaluation_interval": 1}}
    props = build("p", DOC, "sw", node, SPEC, {}).props
    assert props["jobType"] == "Sweep" and "lr" not in props["inputs"]
    assert "${{search_space.lr}}" in props["trial"]["command"]
    assert props["searchSpace"] == {"lr": ["uniform", [0.01, 0.1]]}
    assert props["objective"] == {"goal": "Maximize", "primaryMetric": "acc"}
    assert props["limits"] == {"jobLimitsType": "Sweep", "maxTotalTrials": 4, "maxConcurrentTrials": 2}
    assert props["earlyTermination"]["policyType"] == "Bandit"


def test_a_pipeline_component_node_becomes_a_nested_pipeline_job():
    spec = {"type": "pipeline", "jobs": {"inner": {"componentId": "x"}}, "inputs": {"a": {"type": "integer"}},
            "outputs": {"o": {"type": "uri_folder"}}}
    props = build("p", DOC, "sub", {"type": "pipeline", "inputs": {"a": literal(3)}}, spec,
                  {"continue_on_step_failure": True}).props
    assert props["jobType"] == "Pipeline" and props["jobs"] == spec["jobs"]
    assert props["inputs"] == {"a": {"jobInputType": "literal", "value": "3"}}
    assert props["settings"] == {"continue_on_step_failure": True}


def test_a_component_without_environment_is_refused_with_the_reason():
    with pytest.raises(StepError, match="no environment"):
        build("p", DOC, "n", {"inputs": {"data": literal("x")}}, {**SPEC, "environment": None}, {})


def test_a_parallel_node_becomes_a_parallel_job_with_the_node_overriding_its_component():
    spec = {"type": "parallel", "inputs": {"data": {"type": "uri_folder"}}, "outputs": {"scores": {"type": "uri_file"}},
            "input_data": "${{inputs.data}}", "mini_batch_size": "10", "max_concurrency_per_instance": 1,
            "task": {"type": "run_function", "code": f"azureml:{WS}/codes/c/versions/1", "entry_script": "s.py",
                     "environment": f"azureml:{WS}/environments/e/versions/1",
                     "append_row_to": "${{outputs.scores}}"}}
    node = {"type": "parallel", "inputs": {"data": literal("${{parent.inputs.raw}}")},
            "max_concurrency_per_instance": 2}
    props = build("p", DOC, "score", node, spec, {}).props
    assert props["jobType"] == "Parallel" and props["max_concurrency_per_instance"] == 2
    assert props["mini_batch_size"] == "10" and props["task"]["entry_script"] == "s.py"
    assert props["codeId"] == f"{WS}/codes/c/versions/1" and props["environmentId"].endswith("/e/versions/1")
