"""The scoring script of an MLflow model deployed without one (Azure ML's no-code deployment).

It runs inside the deployment's environment under azureml-inference-server-http, so it imports nothing of
azureml_v2. The model is the MLflow model folder found under ``AZUREML_MODEL_DIR``. A request body is JSON in one of
these forms:

- Azure ML's ``{"input_data": {"columns": [...], "index": [...], "data": [[...]]}}`` (a data frame, split orient),
  or ``{"input_data": [[...]]}`` / ``{"input_data": {"name": [...]}}`` (tensors);
- MLflow's ``{"dataframe_split": {...}}``, ``{"dataframe_records": [...]}``, ``{"inputs": ...}`` and
  ``{"instances": ...}``, with an optional ``"params"``.

The answer is the model's predictions as JSON (a list for a column or an array, records for a data frame); a
request that is no JSON or in none of these forms gets 400 with the reason.
"""
import json
import os

from azureml_inference_server_http.api.aml_request import rawhttp
from azureml_inference_server_http.api.aml_response import AMLResponse

model = None


def _model_folder(root: str) -> str:
    for folder, _, files in sorted(os.walk(root, followlinks=True)):
        if "MLmodel" in files:
            return folder
    raise FileNotFoundError(f"no MLmodel file under {root}")


def init():
    global model
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(_model_folder(os.environ["AZUREML_MODEL_DIR"]))


def _input(body):
    import numpy as np
    import pandas as pd

    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object with input_data, dataframe_split, dataframe_records, "
                         "inputs or instances")
    params = body.get("params")
    if "input_data" in body:
        data = body["input_data"]
        if isinstance(data, dict) and "data" in data:
            return pd.DataFrame(data["data"], columns=data.get("columns"), index=data.get("index")), params
        if isinstance(data, dict):
            return {k: np.asarray(v) for k, v in data.items()}, params
        return np.asarray(data), params
    if "dataframe_split" in body:
        split = body["dataframe_split"]
        return pd.DataFrame(split["data"], columns=split.get("columns"), index=split.get("index")), params
    if "dataframe_records" in body:
        return pd.DataFrame.from_records(body["dataframe_records"]), params
    for key in ("inputs", "instances"):
        if key in body:
            data = body[key]
            if isinstance(data, dict):
                return {k: np.asarray(v) for k, v in data.items()}, params
            if isinstance(data, list) and data and isinstance(data[0], dict):
                return pd.DataFrame.from_records(data), params
            return np.asarray(data), params
    raise ValueError("expected input_data, dataframe_split, dataframe_records, inputs or instances in the body")


def _jsonable(result):
    import numpy as np
    import pandas as pd

    if isinstance(result, pd.DataFrame):
        return result.to_dict(orient="records")
    if isinstance(result, pd.Series):
        return result.tolist()
    if isinstance(result, np.ndarray):
        return result.tolist()
    if isinstance(result, dict):
        return {k: _jsonable(v) for k, v in result.items()}
    return result


@rawhttp
def run(request):
    if request.method != "POST":
        return AMLResponse({"message": "POST a JSON body to /score"}, 405, json_str=True)
    try:
        data, params = _input(json.loads(request.get_data()))
    except (ValueError, KeyError, TypeError) as exc:
        return AMLResponse({"message": f"bad input: {exc}"}, 400, json_str=True)
    result = model.predict(data, params=params) if params else model.predict(data)
    return AMLResponse(_jsonable(result), 200, json_str=True)
