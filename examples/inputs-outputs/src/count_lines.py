"""Count the lines of every file in a folder and write the counts to an output folder."""
import argparse
import json
import pathlib

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
parser.add_argument("--min_lines", type=int, default=0)
parser.add_argument("--out", required=True)
args = parser.parse_args()

counts = {p.name: sum(1 for _ in p.open(encoding="utf-8")) for p in sorted(pathlib.Path(args.data).glob("*"))
          if p.is_file()}
counts = {name: n for name, n in counts.items() if n >= args.min_lines}
out = pathlib.Path(args.out)
out.mkdir(parents=True, exist_ok=True)
(out / "counts.json").write_text(json.dumps(counts, indent=2))
print(counts)
