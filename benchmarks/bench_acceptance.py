"""Acceptance side by side: which YAML files azureml_v2 and azure-ai-ml load, on the corpus and a held-out set.

    python benchmarks/bench_acceptance.py            # ours and azure-ai-ml (its cached venv, see bench_yaml)
    python benchmarks/bench_acceptance.py --no-reference
    python benchmarks/bench_acceptance.py --list     # every file with both verdicts
    python benchmarks/bench_acceptance.py --heldout DIR

Sets: the corpus (`../shared/corpus`, kinds that load_* reads, missing local folders created empty), an optional
held-out folder of YAML written by others (`--heldout`, or `$AZUREML_V2_HELDOUT`: sub-folders named by kind as in
`_HELDOUT_KINDS`, and `invalid/` for files the service refuses; the project keeps no copy of others' files), and
invalid variants derived from every valid job and component of both sets, one per rule of the service that a
loader can check (a port name that is no identifier, names that differ only in case, code `azureml:<name>`
without version, a uri_file default that is a number, an integer default that does not parse; for pipeline
jobs: an empty graph, a node name that is not ASCII, text that is no number for a node's number input).

A file counts as accepted by azure-ai-ml when its `load_*` returns and the entity's own `_validate()` (what it
runs before sending) passes; by azureml_v2 when `load_*` returns. Figures print as a table and go to
`benchmarks/results/acceptance-<UTC time>.json`.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from bench_yaml import CORPUS, _env, reference_python  # noqa: E402
from support.corpus_kinds import ASSET_KINDS, corpus_files, create_missing_paths, kind_of  # noqa: E402

_HELDOUT_KINDS = {"command_job": "job", "sweep_job": "job", "components": "component", "dataset": "data",
                  "datastore": "datastore", "model": "model", "environment": "environment"}


# -- the worker: runs inside the measured interpreter ------------------------------------------------------
def worker(impl: str, files: list[list[str]]) -> dict[str, str | None]:
    """{path: None when accepted, else the first line of the refusal}."""
    if impl == "ours":
        import azureml_v2 as api
    else:
        import logging
        import warnings
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        import azure.ai.ml as api
    out = {}
    for kind, path in files:
        try:
            entity = getattr(api, f"load_{kind}")(path)
            validate = getattr(entity, "_validate", None) if impl != "ours" else None
            if validate is not None:
                result = validate()
                if hasattr(result, "passed") and not result.passed:
                    raise ValueError(result.error_messages)
            out[path] = None
        except Exception as exc:  # any refusal counts; its kind is part of the figure
            out[path] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"[:200]
    return out


# -- the sets ------------------------------------------------------------------------------------------------
def _mutants(data: dict, kind: str) -> dict[str, dict]:
    """Invalid variants of a valid job or component: rule -> its document."""
    out = {}
    trial = data.get("trial") if data.get("type") == "sweep" else None
    for side in ("inputs", "outputs"):
        ports = data.get(side)
        if isinstance(ports, dict) and ports:
            first = next(iter(ports))
            renamed = copy.deepcopy(data)
            renamed[side] = {("bad-" + str(first) if k == first else k): v for k, v in ports.items()}
            out[f"{side[:-1]} name with a dash"] = renamed
            clash = copy.deepcopy(data)
            clash[side][str(first).upper() if str(first).upper() != first else str(first).lower()] = ports[first]
            out[f"{side[:-1]} names differing in case"] = clash
    host = trial if isinstance(trial, dict) else data
    if kind in ("job", "component") and "command" in host:
        unversioned = copy.deepcopy(data)
        (unversioned["trial"] if trial else unversioned)["code"] = "azureml:my-code"
        out["code azureml:<name> without version"] = unversioned
    if kind == "component":
        typed = copy.deepcopy(data)
        typed.setdefault("inputs", {})
        typed["inputs"] = dict(typed["inputs"] or {}, count={"type": "integer", "default": "abc"})
        out["integer default that does not parse"] = typed
        uri = copy.deepcopy(data)
        uri["inputs"] = dict(uri.get("inputs") or {}, data_file={"type": "uri_file", "default": 3})
        out["uri_file default that is a number"] = uri
    return out


def _pipeline_mutants(data: dict, path: Path) -> dict[str, dict]:
    """Invalid variants of a valid pipeline job: an empty graph, a node name that is not ASCII (its bindings
    renamed with it), text that is no number given to a node's integer or number input (read off the node's
    component file)."""
    jobs = data.get("jobs")
    if not isinstance(jobs, dict) or not jobs:
        return {}
    out = {"an empty pipeline": {**copy.deepcopy(data), "jobs": {}}}
    first = next(iter(jobs))
    text = json.dumps(data).replace(f"parent.jobs.{first}.", f"parent.jobs.{first}\u00e9.")
    renamed = json.loads(text)
    renamed["jobs"] = {(k + "\u00e9" if k == first else k): v for k, v in renamed["jobs"].items()}
    out["a node name that is not ASCII"] = renamed
    for name, node in jobs.items():
        component = node.get("component") if isinstance(node, dict) else None
        if not isinstance(component, str) or not component.endswith((".yml", ".yaml")):
            continue
        try:
            declared = yaml.safe_load((path.parent / component).read_text(encoding="utf-8")).get("inputs") or {}
        except (OSError, yaml.YAMLError, AttributeError):
            continue
        port = next((k for k, v in declared.items() if isinstance(v, dict) and v.get("type") in ("integer", "number")),
                    None)
        if port is not None:
            typed = copy.deepcopy(data)
            typed["jobs"][name]["inputs"] = dict(typed["jobs"][name].get("inputs") or {}, **{port: "abc"})
            out["text that is no number for a node's number input"] = typed
            break
    return out


def build_sets(root: Path, heldout: Path | None) -> dict[str, list[tuple[str, str]]]:
    """{set name: [(kind, path)]}, the files copied under `root`."""
    sets: dict[str, list[tuple[str, str]]] = {"corpus": [], "held-out valid": [], "held-out invalid": [],
                                              "derived invalid": [], "derived pipelines": []}
    if CORPUS.exists():
        corpus = root / "corpus"
        shutil.copytree(CORPUS, corpus)
        create_missing_paths(corpus)
        sets["corpus"] = [(kind_of(p), str(p)) for p in corpus_files(corpus) if kind_of(p) in ASSET_KINDS]
    held = root / "heldout"
    if heldout is not None:
        shutil.copytree(heldout, held, ignore=shutil.ignore_patterns("README.md"))
    for p in corpus_files(held) if heldout is not None else ():
        folder = p.relative_to(held).parts[0]
        if folder == "invalid":
            kind = next((k for k in ("model", "datastore", "data", "environment", "component") if k in p.stem), "job")
            sets["held-out invalid"].append((kind, str(p)))
        elif folder in _HELDOUT_KINDS and "environment_files" not in p.parts:
            sets["held-out valid"].append((_HELDOUT_KINDS[folder], str(p)))
    derived = root / "derived"
    for kind, path in sets["corpus"] + sets["held-out valid"]:
        if kind not in ("job", "component"):
            continue
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("type") not in (None, "command", "sweep", "pipeline"):
            continue  # spark and others: one rule at a time
        pipeline = data.get("type") == "pipeline"
        mutants = _pipeline_mutants(data, Path(path)) if pipeline else _mutants(data, kind)
        for n, (rule, doc) in enumerate(mutants.items()):
            # beside the original, so that its relative paths still resolve
            target = Path(path).with_name(f"{Path(path).stem}.mutant{n}{Path(path).suffix}")
            target.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
            sets["derived pipelines" if pipeline else "derived invalid"].append((kind, str(target)))
            (derived / "rules.txt").parent.mkdir(exist_ok=True)
            with open(derived / "rules.txt", "a", encoding="utf-8") as f:
                f.write(f"{target}\t{rule}\n")
    return sets


def run_worker(python: str, impl: str, files: list[tuple[str, str]], cwd: Path) -> dict[str, str | None]:
    spec = json.dumps({"impl": impl, "files": files})
    done = subprocess.run([python, __file__, "--worker"], input=spec, capture_output=True, text=True, cwd=cwd,
                          env=_env(), timeout=1800)
    if done.returncode:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "worker failed")
    return json.loads(done.stdout.splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-reference", action="store_true", help="azureml_v2 only")
    parser.add_argument("--list", action="store_true", help="every file with both verdicts")
    parser.add_argument("--heldout", type=Path, default=os.environ.get("AZUREML_V2_HELDOUT") or None,
                        help="a folder of YAML written by others, by kind (see the module's doc)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        spec = json.loads(sys.stdin.read())
        print(json.dumps(worker(spec["impl"], spec["files"])))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sets = build_sets(root, args.heldout)
        everything = [f for files in sets.values() for f in files]
        ours = run_worker(sys.executable, "ours", everything, root)
        ref, ref_note = {}, "skipped"
        if not args.no_reference:
            python, ref_note = reference_python()
            if python:
                ref = run_worker(python, "reference", everything, root)
        rows = []
        print(f"{'set':18} {'files':>5} {'azureml_v2 accepts':>19} {'azure-ai-ml accepts':>20} {'agree':>6}")
        for name, files in sets.items():
            paths = [p for _, p in files]
            n_ours = sum(ours[p] is None for p in paths)
            n_ref = sum(ref[p] is None for p in paths) if ref else None
            agree = sum((ours[p] is None) == (ref[p] is None) for p in paths) if ref else None
            rows.append({"set": name, "files": len(paths), "ours": n_ours, "reference": n_ref, "agree": agree})
            print(f"{name:18} {len(paths):>5} {n_ours:>19} {'n/a' if n_ref is None else n_ref:>20} "
                  f"{'-' if agree is None else agree:>6}")
        print(f"reference: {ref_note}")
        if args.list:
            for name, files in sets.items():
                for _, p in files:
                    rel = str(Path(p).relative_to(root))
                    print(f"{name:18} {rel}\n    ours: {ours[p] or 'accepted'}\n    ref:  "
                          f"{(ref.get(p) or 'accepted') if ref else 'n/a'}")
    out = HERE / "results" / f"acceptance-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"reference": ref_note, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
