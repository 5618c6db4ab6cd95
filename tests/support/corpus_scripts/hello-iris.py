"""Stand-in for the corpus's hello-iris.py: reads the iris CSV named by --iris-csv and summarises it."""
import argparse

import pandas as pd

parser = argparse.ArgumentParser()
parser.add_argument("--iris-csv", required=True)
args = parser.parse_args()

frame = pd.read_csv(args.iris_csv, header=None)
print(f"hello-iris: {len(frame)} rows, {len(frame.columns)} columns, mean of the first: {frame[0].mean():.3f}")
