"""The runner's command line substitution."""
from __future__ import annotations

import pytest

from azureml_v2.local.executors.command import JobError, substitute


def test_substitute_drops_optional_blocks_of_absent_inputs():
    command = "run $[[--a ${{inputs.a}}]] $[[--b ${{inputs.b}} --c ${{inputs.c}}]] --o ${{ outputs.o }}"
    assert substitute(command, {"a": "1", "b": "2"}, {"o": "/out"}) == "run --a 1  --o /out"
    with pytest.raises(JobError, match="no output 'p'"):
        substitute("x ${{outputs.p}}", {}, {})
    with pytest.raises(JobError, match="no such expression"):
        substitute("x ${{search_space.lr}}", {}, {})
