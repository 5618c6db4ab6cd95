"""Score the model on the held-out split: metrics.json in the output, rmse logged with MLflow."""
import argparse
import json
import pickle
from pathlib import Path

import mlflow
import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--model", type=Path, required=True)
parser.add_argument("--test_data", type=Path, required=True)
parser.add_argument("--metrics", type=Path, required=True)
args = parser.parse_args()

model = pickle.loads((args.model / "model.pkl").read_bytes())
data = np.loadtxt(args.test_data / "test.csv", delimiter=",")
X, y = data[:, :-1], data[:, -1]
rmse = float(np.sqrt(np.mean((model.predict(X) - y) ** 2)))
mlflow.log_metric("rmse", rmse)

args.metrics.mkdir(parents=True, exist_ok=True)
(args.metrics / "metrics.json").write_text(json.dumps({"rmse": rmse}))
print(f"rmse {rmse:.2f}")
