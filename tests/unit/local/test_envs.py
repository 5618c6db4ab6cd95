"""Job environments without building one: conda files read as pip requirements, curated names."""
from __future__ import annotations

import io
import re
import sys
import textwrap

import pytest

from azureml_v2.local.executors.envs import EnvironmentBuildError, curated, pip_requirements, prepare


@pytest.mark.parametrize("conda, message", [
    ("dependencies: [numpy\n", "the conda file is not valid YAML"),
    ("dependencies: numpy\n", "`dependencies` must be a list"),
    ("dependencies:\n  - {npm: [left-pad]}\n", "unsupported dependency {'npm': ['left-pad']}"),
])
def test_bad_conda_file_says_what_is_wrong(tmp_path, conda, message):
    with pytest.raises(EnvironmentBuildError, match=re.escape(message)):
        prepare({"condaFile": conda}, tmp_path, log=io.StringIO())
    assert not (tmp_path / "envs").exists()


def test_conda_packages_become_pip_requirements():
    conda = textwrap.dedent("""\
        channels: [pytorch, conda-forge]
        dependencies:
          - python=3.8
          - pip=21.2.4
          - pytorch::pytorch=2.1=py3.8_cuda11.8_0
          - cudatoolkit=11.8
          - numpy==1.26.4=py311h64a7726_0
          - conda-forge::pandas>=2,<3
          - py-xgboost
          - scikit-learn 1.4
          - pip:
              - --extra-index-url https://example.com/simple
              - mlflow-skinny>=2.12  # tracking
        """)
    requirements, notice = pip_requirements({"condaFile": conda})
    assert requirements == ["--extra-index-url https://example.com/simple", "mlflow-skinny>=2.12", "numpy==1.26.4",
                            "pandas>=2,<3", "scikit-learn==1.4.*", "torch==2.1.*", "xgboost"]
    host = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert notice == ("conda channels pytorch, conda-forge ignored (packages come from PyPI); "
                      f"Python 3.8 asked for, running on this machine's Python {host}; "
                      "conda-only packages skipped: cudatoolkit")


@pytest.mark.parametrize("reference, pin", [
    ("azureml:AzureML-sklearn-1.5@latest", "scikit-learn~=1.5.0"),
    ("azureml:AzureML-sklearn-1.5:3", "scikit-learn~=1.5.0"),
    ("azureml://registries/azureml/environments/sklearn-1.5/labels/latest", "scikit-learn~=1.5.0"),
    ("azureml://registries/azureml/environments/sklearn-1.5/versions/12", "scikit-learn~=1.5.0"),
    (("/subscriptions/0/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w/environments/"
      "AzureML-sklearn-1.5/versions/3"), "scikit-learn~=1.5.0"),
    ("azureml:AzureML-lightgbm-3.3@latest", "lightgbm~=3.3.0"),
    ("azureml:AzureML-acpt-pytorch-2.8-cuda12.6@latest", "torch~=2.8.0"),
    ("azureml:AzureML-tensorflow-2.16-cuda12@latest", "tensorflow~=2.16.0"),
    ("azureml:AzureML-minimal-ubuntu22.04-py311-cpu@latest", "mlflow-skinny"),
])
def test_curated_names_map_to_local_equivalents(reference, pin):
    spec = curated(reference)
    requirements, notice = pip_requirements(spec)
    assert pin in requirements and "mlflow-skinny" in requirements and notice is None
    assert spec["description"].startswith("Local equivalent of the curated environment AzureML-")


def test_lightgbm_3_keeps_numpy_1():
    assert "numpy<2" in pip_requirements(curated("azureml:AzureML-lightgbm-3.3@latest"))[0]


@pytest.mark.parametrize("reference", ["azureml:my-env:1", "azureml:AzureML-unknown-9.9@latest",
                                       "azureml://registries/other/environments/sklearn-1.5/labels/latest"])
def test_other_references_are_not_curated(reference):
    assert curated(reference) is None


def test_every_curated_reference_in_the_corpus_maps(corpus_root):
    pattern = re.compile(r"azureml:(?://registries/azureml/environments/[^\s\"']+|AzureML-[^\s\"']+)")
    found = {m.group() for path in corpus_root.rglob("*.y*ml") for m in pattern.finditer(path.read_text())}
    assert found  # the corpus still names curated environments
    assert sorted(ref for ref in found if curated(ref) is None) == []
