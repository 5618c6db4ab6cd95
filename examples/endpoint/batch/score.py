"""Scores CSV files of diabetes features (10 columns, no header) in mini-batches: one line per row."""
import os

import lightgbm as lgb
import numpy as np

model = None


def init():
    global model
    model = lgb.Booster(model_file=os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.txt"))


def run(mini_batch):
    lines = []
    for path in mini_batch:
        rows = np.loadtxt(path, delimiter=",", ndmin=2)
        lines += [f"{os.path.basename(path)},{i},{p:.4f}" for i, p in enumerate(model.predict(rows))]
    return lines
