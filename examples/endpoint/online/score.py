"""Scores the diabetes LightGBM model of the sweep: POST {"data": [[10 features], ...]} -> predicted progression."""
import json
import os

import lightgbm as lgb
import numpy as np

model = None


def init():
    global model
    # AZUREML_MODEL_DIR holds the registered model as Azure ML lays it out: here the file model.txt
    model = lgb.Booster(model_file=os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.txt"))


def run(raw_data):
    data = np.array(json.loads(raw_data)["data"], dtype=float)
    return model.predict(data).tolist()
