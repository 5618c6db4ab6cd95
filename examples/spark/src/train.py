"""Train LightGBM on the engineered diabetes features and log the validation RMSE with MLflow."""
import argparse
from pathlib import Path

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

parser = argparse.ArgumentParser()
parser.add_argument("--features", type=Path, required=True)
parser.add_argument("--lr", type=float, default=0.05)
parser.add_argument("--model", type=Path, required=True)
args = parser.parse_args()

frame = pd.concat(pd.read_csv(part) for part in sorted(args.features.glob("*.csv")))
x, y = frame.drop(columns="target").to_numpy(), frame["target"].to_numpy()
x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.25, random_state=7)
params = {"objective": "regression", "metric": "rmse", "learning_rate": args.lr, "num_threads": 1, "verbose": -1,
          "seed": 7}
with mlflow.start_run():
    booster = lgb.train(params, lgb.Dataset(x_train, y_train), 300)
    rmse = float(np.sqrt(np.mean((booster.predict(x_val) - y_val) ** 2)))
    mlflow.log_metric("rmse", rmse)
args.model.mkdir(parents=True, exist_ok=True)
booster.save_model(str(args.model / "model.txt"))
print(f"{len(frame.columns) - 1} features, rmse={rmse:.4f}")
