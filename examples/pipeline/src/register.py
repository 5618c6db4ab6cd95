"""Keep the model as the pipeline's model when its rmse is at most max_rmse; fail the step otherwise."""
import argparse
import json
import shutil
import sys
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--model", type=Path, required=True)
parser.add_argument("--metrics", type=Path, required=True)
parser.add_argument("--max_rmse", type=float, required=True)
parser.add_argument("--registered_model", type=Path, required=True)
args = parser.parse_args()

rmse = json.loads((args.metrics / "metrics.json").read_text())["rmse"]
if rmse > args.max_rmse:
    sys.exit(f"rmse {rmse:.2f} is above {args.max_rmse}: the model is not kept")
shutil.copytree(args.model, args.registered_model, dirs_exist_ok=True)
(args.registered_model / "metrics.json").write_text(json.dumps({"rmse": rmse}))
print(f"kept the model (rmse {rmse:.2f} <= {args.max_rmse})")
