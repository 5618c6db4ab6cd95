"""Fit a gradient-boosted regressor on scikit-learn's diabetes data; save it and the held-out split."""
import argparse
import pickle
from pathlib import Path

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.model_selection import train_test_split

parser = argparse.ArgumentParser()
parser.add_argument("--n_estimators", type=int, default=100)
parser.add_argument("--learning_rate", type=float, default=0.1)
parser.add_argument("--model", type=Path, required=True)
parser.add_argument("--test_data", type=Path, required=True)
args = parser.parse_args()

X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
model = GradientBoostingRegressor(n_estimators=args.n_estimators, learning_rate=args.learning_rate, random_state=0)
model.fit(X_train, y_train)

args.model.mkdir(parents=True, exist_ok=True)
(args.model / "model.pkl").write_bytes(pickle.dumps(model))
args.test_data.mkdir(parents=True, exist_ok=True)
np.savetxt(args.test_data / "test.csv", np.column_stack([X_test, y_test]), delimiter=",")
print(f"trained on {len(y_train)} rows, kept {len(y_test)} for evaluation")
