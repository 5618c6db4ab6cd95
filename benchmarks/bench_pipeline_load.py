"""Load (which validates) of a 200-node pipeline job: python benchmarks/bench_pipeline_load.py [--nodes 200] [--runs 7].

The pipeline is written to a temporary folder: one command component file, and `--nodes` nodes naming it, each
bound to the pipeline's input and (but the first) to the output of an earlier node (a binary tree, so that bindings
and the graph's checks have work to do). `load_job` reads the YAML, loads every node, reads the component file
once, infers nothing (no inline components) and checks the graph (bindings, types, required inputs, cycles), as
`PipelineJob.validate()` does: a loaded pipeline is a validated one. The
reference is azure-ai-ml's `load_job` on the same file (schema validation; it checks the graph only at submit).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]

from bench_yaml import fmt, per_call, reference_python, summary  # noqa: E402

COMPONENT = """\
name: step
type: command
inputs:
  x: {type: uri_folder, optional: true}
  n: {type: integer, default: 1}
outputs:
  y: {type: uri_folder}
code: ./src
environment: azureml:python:1
command: python step.py $[[--x ${{inputs.x}}]] --n ${{inputs.n}} --y ${{outputs.y}}
"""


def write_pipeline(folder: Path, nodes: int) -> Path:
    (folder / "src").mkdir(parents=True, exist_ok=True)
    (folder / "src" / "step.py").write_text("print('step')\n")
    (folder / "step.yml").write_text(COMPONENT)
    lines = ["type: pipeline", "inputs:", "  n: 3", "jobs:"]
    for i in range(nodes):
        lines += [f"  s{i}:", "    component: ./step.yml", "    inputs:", "      n: ${{parent.inputs.n}}"]
        if i:
            lines.append(f"      x: ${{{{parent.jobs.s{(i - 1) // 2}.outputs.y}}}}")
    path = folder / "pipeline.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def measure(nodes: int = 200, runs: int = 7, reference: str | None = None) -> dict:
    """Milliseconds per load_job (with its graph checks) of a `nodes`-node pipeline: ours, and azure-ai-ml's when
    `reference` is its interpreter."""
    from run import in_reference

    from azureml_v2 import load_job
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        path = write_pipeline(Path(tmp), nodes)
        job = load_job(path)
        assert len(job.jobs) == nodes
        ours = per_call(lambda: load_job(path), runs)
        theirs = None
        if reference:
            code = f"from azure.ai.ml import load_job\ncall = lambda: load_job({str(path)!r})"
            theirs = in_reference(reference, code, runs, Path(tmp))
    return {"ours": ours, "reference": theirs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-reference", action="store_true", help="measure azureml_v2 only")
    args = parser.parse_args()
    reference, name = (None, "not measured") if args.no_reference else reference_python()
    result = measure(args.nodes, max(5, args.runs), reference)
    print(f"load+validate, {args.nodes}-node pipeline: ours {fmt(summary(result['ours']), 'ms')}; "
          f"{name}: {fmt(summary(result['reference']), 'ms')} (target <= 50 ms)")


if __name__ == "__main__":
    main()
