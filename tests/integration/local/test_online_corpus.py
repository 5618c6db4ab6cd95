"""The corpus's online deployments served locally and answering their sample requests as the model does when it
is called directly: managed/sample (blue/green over model-1, a curated and a conda environment) and ncd (MLflow
models without a scoring script: scikit-learn and LightGBM, each in the environment of its own conda file).

The environments are built from PyPI on first use (uv's cache keeps reruns short); the direct answers are computed
by the same environment's Python, loading the model files the deployment serves.
"""
from __future__ import annotations

import json
import re
import subprocess

import numpy
import pytest

from azureml_v2 import MLClient, load_online_deployment, load_online_endpoint

pytestmark = pytest.mark.integration


def _python(ml: MLClient, endpoint: str, deployment: str) -> str:
    log = ml.online_deployments.get_logs(deployment, endpoint, container_type="storage_initializer", lines=100_000)
    return re.findall(r"environment: (\S+) \((?:cached|built)\)", log)[-1]


def _direct(python: str, code: str) -> object:
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def ml(tmp_path_factory):
    client = MLClient(home=tmp_path_factory.mktemp("corpus-online") / "home")
    yield client
    for name in ("model-one", "ncd-models"):
        try:
            client.online_endpoints.begin_delete(name).result()
        except Exception:  # noqa: BLE001 - not created (an earlier failure)
            pass


def test_blue_green_over_model_1(ml, corpus_root):
    sample = corpus_root / "cli/endpoints/online/managed/sample"
    endpoint = load_online_endpoint(sample / "endpoint.yml", params_override=[{"name": "model-one"}])
    ml.online_endpoints.begin_create_or_update(endpoint).result()
    blue = load_online_deployment(sample / "blue-deployment-with-curated-env.yml",
                                  params_override=[{"endpoint_name": "model-one"}])
    # green: the conda environment of model-1 (the corpus has no model-2)
    green = load_online_deployment(sample / "blue-deployment.yml",
                                   params_override=[{"endpoint_name": "model-one"}, {"name": "green"}])
    for deployment in (blue, green):
        done = ml.online_deployments.begin_create_or_update(deployment).result()
        assert done.provisioning_state == "Succeeded", ml.online_deployments.get_logs(deployment.name, "model-one")
    endpoint = ml.online_endpoints.get("model-one")
    endpoint.traffic = {"blue": 90, "green": 10}
    ml.online_endpoints.begin_create_or_update(endpoint).result()

    request = corpus_root / "cli/endpoints/online/model-1/sample-request.json"
    model_file = corpus_root / "cli/endpoints/online/model-1/model/sklearn_regression_model.pkl"
    for name in ("blue", "green"):
        answer = json.loads(ml.online_endpoints.invoke("model-one", request_file=request, deployment_name=name))
        direct = _direct(_python(ml, "model-one", name),
                         f"import json, joblib, numpy; m = joblib.load({str(model_file)!r}); "
                         f"print(json.dumps(m.predict(numpy.array(json.load(open({str(request)!r}))['data'])).tolist()))")
        assert answer == pytest.approx(direct)
    assert json.loads(ml.online_endpoints.invoke("model-one", request_file=request)) == pytest.approx(direct)


@pytest.mark.parametrize("yml, request_file", [("sklearn-deployment.yaml", "sample-request-sklearn.json"),
                                                ("lightgbm-deployment.yaml", "sample-request-lightgbm.json")])
def test_mlflow_models_without_a_scoring_script(ml, corpus_root, yml, request_file):
    ncd = corpus_root / "cli/endpoints/online/ncd"
    endpoint = load_online_endpoint(ncd / "create-endpoint.yaml", params_override=[{"name": "ncd-models"}])
    ml.online_endpoints.begin_create_or_update(endpoint).result()
    deployment = load_online_deployment(ncd / yml, params_override=[{"endpoint_name": "ncd-models"}])
    done = ml.online_deployments.begin_create_or_update(deployment).result()
    assert done.provisioning_state == "Succeeded", ml.online_deployments.get_logs(deployment.name, "ncd-models")
    request = json.loads((ncd / request_file).read_text())
    answer = json.loads(ml.online_endpoints.invoke("ncd-models", request_file=ncd / request_file,
                                                   deployment_name=deployment.name))
    model = ncd / deployment.model.path
    split = request["input_data"]
    direct = _direct(_python(ml, "ncd-models", deployment.name),
                     f"import json, pandas, mlflow.pyfunc; m = mlflow.pyfunc.load_model({str(model)!r}); "
                     f"d = pandas.DataFrame({split['data']!r}, columns={split['columns']!r}); "
                     f"r = m.predict(d); print(json.dumps(getattr(r, 'tolist', lambda: r)()))")
    numpy.testing.assert_allclose(answer, direct)
    # MLflow's own request forms answer the same
    for body in ({"dataframe_split": split}, {"dataframe_records": [dict(zip(split["columns"], row))
                                                                      for row in split["data"]]}):
        numpy.testing.assert_allclose(json.loads(ml.online_endpoints.invoke(
            "ncd-models", request=body, deployment_name=deployment.name)), direct)
    with pytest.raises(Exception, match="400"):
        ml.online_endpoints.invoke("ncd-models", request=b"{not json", deployment_name=deployment.name)
