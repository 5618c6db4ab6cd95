"""The trial sampler imports light (checked in a fresh interpreter)."""
from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def test_importing_the_sampler_loads_neither_optuna_nor_scipy():
    code = ("import sys, azureml_v2.local.executors.sampling, azureml_v2.local.executors.early_termination;"
            "print(sorted(m for m in ('optuna', 'scipy', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
