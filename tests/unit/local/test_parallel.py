"""A parallel job's settings, read from its body as a parallel component's spec gives them (no process)."""
from __future__ import annotations

import pytest

from azureml_v2.local.executors.command import JobError
from azureml_v2.local.executors.minibatch import InputError, Limits
from azureml_v2.local.executors.parallel import _limits, _one_name, _workers


def test_input_data_and_append_row_to_name_one_input_or_output():
    assert _one_name("${{inputs.input_data}}", "inputs", "input_data") == "input_data"
    assert _one_name("${{ outputs.job_output_file }}", "outputs", "task.append_row_to") == "job_output_file"
    for bad in ("inputs.x", "${{outputs.x}}", "${{inputs.x}}/sub", "${{inputs}}", None, 3):
        with pytest.raises(JobError, match=r"input_data is .*: expected \$\{\{inputs.<name>\}\}"):
            _one_name(bad, "inputs", "input_data")


def test_limits_come_from_the_spec_and_the_run_steps_own_arguments():
    doc = {"mini_batch_error_threshold": 5, "error_threshold": 10, "retry_settings": {"max_retries": 2, "timeout": 60}}
    assert _limits(doc, {}) == Limits(5, 10, None, 2, 60.0)
    assert _limits(doc, {"error_threshold": "3", "allowed_failed_percent": "30"}) == Limits(5, 3, 30.0, 2, 60.0)
    assert _limits({"retry_settings": {"timeout": "PT2M"}}, {}).timeout == 120  # a batch deployment's ISO duration
    assert _limits({}, {}) == Limits()  # Azure ML's defaults: no threshold, 3 retries, 60 s
    with pytest.raises(InputError, match="not a number"):
        _limits({"mini_batch_error_threshold": "five"}, {})
    with pytest.raises(InputError, match="timeout > 0"):
        _limits({"retry_settings": {"timeout": 0}}, {})


def test_workers_are_concurrency_per_instance_times_instances():
    assert _workers({}) == 1
    assert _workers({"max_concurrency_per_instance": 2, "resources": {"instance_count": 2}}) == 4  # component spec
    assert _workers({"max_concurrency_per_instance": 3, "resources": {"instanceCount": 2}}) == 6  # REST job
    with pytest.raises(JobError, match="at least 1"):
        _workers({"max_concurrency_per_instance": -1})
