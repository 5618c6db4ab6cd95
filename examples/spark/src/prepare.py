"""Write scikit-learn's diabetes data set (442 rows, 10 features and the target) as diabetes.csv."""
import argparse
from pathlib import Path

from sklearn.datasets import load_diabetes

parser = argparse.ArgumentParser()
parser.add_argument("--data", type=Path, required=True)
args = parser.parse_args()

frame = load_diabetes(as_frame=True).frame
args.data.mkdir(parents=True, exist_ok=True)
frame.to_csv(args.data / "diabetes.csv", index=False)
print(f"wrote {len(frame)} rows: {', '.join(frame.columns)}")
