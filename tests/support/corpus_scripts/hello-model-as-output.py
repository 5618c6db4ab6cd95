"""Stand-in for the corpus's hello-model-as-output.py: copies the input model's files into the output model
folder and adds a note, so the output is a model of its own."""
import argparse
import shutil
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--input_model", required=True)
parser.add_argument("--custom_model_output", required=True)
args = parser.parse_args()

source, target = Path(args.input_model), Path(args.custom_model_output)
shutil.copytree(source, target, dirs_exist_ok=True)
(target / "NOTE.txt").write_text(f"copied from {source.name}\n", encoding="utf-8")
print(f"hello-model-as-output: {sorted(p.name for p in target.iterdir())}")
