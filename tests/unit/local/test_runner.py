"""The runner's and the sweep controller's command line substitution."""
from __future__ import annotations

import pytest

from azureml_v2.local.executors.command import JobError, substitute
from azureml_v2.local.executors.sweep import Controller, SweepError


def test_substitute_drops_optional_blocks_of_absent_inputs():
    command = "run $[[--a ${{inputs.a}}]] $[[--b ${{inputs.b}} --c ${{inputs.c}}]] --o ${{ outputs.o }}"
    assert substitute(command, {"a": "1", "b": "2"}, {"o": "/out"}) == "run --a 1  --o /out"
    with pytest.raises(JobError, match="no output 'p'"):
        substitute("x ${{outputs.p}}", {}, {})
    with pytest.raises(JobError, match="no such expression"):
        substitute("x ${{search_space.lr}}", {}, {})


@pytest.mark.parametrize("command", ["x ${{inputs.a.b}}", "x $[[--a ${{inputs.a.b}}]]", "x ${{inputs}}",
                                     "x ${{ outputs.o.p }}", "x ${{inputs.}}"])
def test_a_placeholder_that_names_no_single_input_or_output_is_named_in_the_error(command):
    with pytest.raises(JobError, match=r"which names no (input|output): expected \$\{\{(inputs|outputs)\.<name>\}\}"):
        substitute(command, {"a": "1"}, {"o": "/out"})


def test_values_are_not_substituted_again():
    command = "run ${{inputs.a}} $[[--b ${{inputs.b}}]] --o ${{outputs.o}}"
    inputs = {"a": "${{inputs.b}}", "b": "]] $[[ ${{outputs.o}}"}
    assert substitute(command, inputs, {"o": "${{inputs.a}}"}) == \
        "run ${{inputs.b}} --b ]] $[[ ${{outputs.o}} --o ${{inputs.a}}"


@pytest.mark.parametrize("command", ["x ${{search_space.a.b}}", "x ${{search_space}}"])
def test_a_trial_placeholder_that_names_no_single_parameter_is_named_in_the_error(command):
    with pytest.raises(SweepError, match=r"which names no parameter: expected \$\{\{search_space\.<name>\}\}"):
        Controller._command(None, command, {"a": 1})
