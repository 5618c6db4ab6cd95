"""The batch scoring script of an MLflow model deployed without one (Azure ML's no-code batch deployment).

It runs in the scoring job's workers, in the environment of the model's own conda file, so it imports nothing of
azureml_v2. Each file of a mini-batch (CSV, or Parquet) is read into a data frame and scored by the MLflow model
found under ``AZUREML_MODEL_DIR``; the answer has one row per input row: the prediction and the file it came from.
"""
import os

model = None


def init():
    global model
    import mlflow.pyfunc

    root = os.environ["AZUREML_MODEL_DIR"]
    for folder, _, files in sorted(os.walk(root, followlinks=True)):
        if "MLmodel" in files:
            model = mlflow.pyfunc.load_model(folder)
            return
    raise FileNotFoundError(f"no MLmodel file under {root}")


def run(mini_batch):
    import pandas as pd

    results = []
    for path in mini_batch:
        data = pd.read_parquet(path) if str(path).endswith(".parquet") else pd.read_csv(path)
        predictions = model.predict(data)
        frame = pd.DataFrame(predictions if getattr(predictions, "ndim", 1) > 1 else {"prediction": predictions})
        frame["file"] = os.path.basename(path)
        results.append(frame)
    return pd.concat(results) if results else pd.DataFrame(columns=["prediction", "file"])
