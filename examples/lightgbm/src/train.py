"""Train LightGBM on scikit-learn's diabetes data set and log the validation RMSE with MLflow.

The same script runs on the local workspace and on Azure ML: both point MLflow at the job's
run, so `mlflow.log_metric` needs no set-up here.
"""
import argparse
import os

import lightgbm as lgb
import mlflow
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--feature_fraction", type=float, default=0.8)
    parser.add_argument("--bagging_fraction", type=float, default=0.8)
    parser.add_argument("--num_boost_round", type=int, default=300)
    parser.add_argument("--log_every", type=int, default=10, help="log rmse every N boosting rounds")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    x, y = load_diabetes(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.25, random_state=args.seed)
    params = {
        "objective": "regression", "metric": "rmse", "learning_rate": args.lr,
        "feature_fraction": args.feature_fraction, "bagging_fraction": args.bagging_fraction,
        "bagging_freq": 1, "seed": args.seed, "num_threads": 1, "verbose": -1,
    }
    train_set = lgb.Dataset(x_train, y_train)
    val_set = lgb.Dataset(x_val, y_val, reference=train_set)

    def log_rmse(env) -> None:
        # intermediate values feed early-termination policies (bandit, median stopping)
        step = env.iteration + 1
        if step % args.log_every == 0:
            mlflow.log_metric("rmse", env.evaluation_result_list[0][2], step=step)

    with mlflow.start_run():
        mlflow.log_params(vars(args))
        booster = lgb.train(params, train_set, args.num_boost_round, valid_sets=[val_set], callbacks=[log_rmse])
        rmse = float(np.sqrt(np.mean((booster.predict(x_val) - y_val) ** 2)))
        mlflow.log_metric("rmse", rmse, step=args.num_boost_round)
        os.makedirs("outputs", exist_ok=True)
        booster.save_model(os.path.join("outputs", "model.txt"))
    print(f"rmse={rmse:.4f}")


if __name__ == "__main__":
    main()
