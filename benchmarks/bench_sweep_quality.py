"""Sweep quality: bayesian (Optuna TPE) vs random and Sobol sampling on Branin (2-D) and Hartmann-6 (6-D).

    python benchmarks/bench_sweep_quality.py [--seeds 10] [--trials 30]

Each sweep runs its trials one after the other through `TrialSampler` (what the local sweep controller
calls), minimizing the function. Prints, per function and sampler, the median over the seeds of the best
value after `--trials` trials and its regret (best - known optimum); the ratio is random's median regret
over bayesian's (above 1: bayesian wins). Then the cost of one bayesian `params()` call with 100
finished trials of history (the controller makes one per trial). Figures go to benchmarks/results/.
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from azureml_v2.local.executors.sampling import TrialSampler  # noqa: E402


def branin(p: dict) -> float:
    x1, x2 = p["x1"], p["x2"]
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


_H_ALPHA = (1.0, 1.2, 3.0, 3.2)
_H_A = ((10, 3, 17, 3.5, 1.7, 8), (0.05, 10, 17, 0.1, 8, 14), (3, 3.5, 1.7, 10, 17, 8), (17, 8, 0.05, 10, 0.1, 14))
_H_P = ((1312, 1696, 5569, 124, 8283, 5886), (2329, 4135, 8307, 3736, 1004, 9991),
        (2348, 1451, 3522, 2883, 3047, 6650), (4047, 8828, 8732, 5743, 1091, 381))


def hartmann6(p: dict) -> float:
    x = [p[f"x{j}"] for j in range(6)]
    return -sum(alpha * math.exp(-sum(a * (xj - pj * 1e-4) ** 2 for a, xj, pj in zip(row_a, x, row_p)))
                for alpha, row_a, row_p in zip(_H_ALPHA, _H_A, _H_P))


# name -> (function, search space in REST form, known minimum)
FUNCTIONS = {
    "branin": (branin, {"x1": ["uniform", [-5, 10]], "x2": ["uniform", [0, 15]]}, 0.397887),
    "hartmann6": (hartmann6, {f"x{j}": ["uniform", [0, 1]] for j in range(6)}, -3.32237),
}
SAMPLERS = {
    "random": {"samplingAlgorithmType": "Random"},
    "sobol": {"samplingAlgorithmType": "Random", "rule": "Sobol"},
    "bayesian": {"samplingAlgorithmType": "Bayesian"},
}


def sweep(f, space: dict, algorithm: dict, trials: int) -> tuple[float, list]:
    """The best value of a sequential sweep, and its history."""
    sampler, history = TrialSampler(space, algorithm, "Minimize"), []
    for n in range(trials):
        params = sampler.params(n, history)
        history.append((n, params, f(params)))
    return min(value for *_, value in history), history


def params_cost(history: list, runs: int = 20) -> list[float]:
    """Milliseconds per bayesian params() call given `history`."""
    space = FUNCTIONS["hartmann6"][1]
    sampler = TrialSampler(space, {**SAMPLERS["bayesian"], "seed": 0}, "Minimize")
    sampler.params(len(history), history)  # warm-up: imports optuna
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        sampler.params(len(history), history)
        times.append((time.perf_counter() - start) * 1e3)
    return times


def import_cost(runs: int = 5) -> list[float]:
    """Milliseconds to import the sampler in a fresh interpreter, beyond a bare interpreter start."""
    def wall(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
        return time.perf_counter() - start
    bare = statistics.median(wall("pass") for _ in range(runs))
    return [(wall("import azureml_v2.local.executors.sampling") - bare) * 1e3 for _ in range(runs)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="sweeps per sampler and function (at least 5)")
    parser.add_argument("--trials", type=int, default=30, help="trials per sweep")
    args = parser.parse_args()
    if args.seeds < 5:
        parser.error("--seeds must be at least 5")

    results = {}
    print(f"median over {args.seeds} seeds of the best value after {args.trials} trials (regret = best - optimum)")
    print(f"{'function':<10} {'sampler':<9} {'median best':>12} {'regret':>9} {'sweep s':>8}")
    for name, (f, space, optimum) in FUNCTIONS.items():
        results[name] = {"optimum": optimum}
        for sampler, algorithm in SAMPLERS.items():
            start = time.perf_counter()
            bests = [sweep(f, space, {**algorithm, "seed": seed}, args.trials)[0] for seed in range(args.seeds)]
            seconds = (time.perf_counter() - start) / args.seeds
            median = statistics.median(bests)
            results[name][sampler] = {"bests": bests, "median_best": median, "median_regret": median - optimum,
                                      "seconds_per_sweep": seconds}
            print(f"{name:<10} {sampler:<9} {median:>12.4f} {median - optimum:>9.4f} {seconds:>8.2f}")
        ratio = results[name]["random"]["median_regret"] / results[name]["bayesian"]["median_regret"]
        results[name]["random_over_bayesian_regret"] = ratio
        verdict = "bayesian beats random" if ratio > 1 else "bayesian does NOT beat random"
        print(f"{name:<10} ratio random/bayesian regret {ratio:.2f}x: {verdict}")

    _, history = sweep(FUNCTIONS["hartmann6"][0], FUNCTIONS["hartmann6"][1], SAMPLERS["random"], 100)
    cost, imports = params_cost(history), import_cost()
    results["bayesian_params_ms_with_100_trials"] = cost
    results["import_sampler_ms"] = imports
    print(f"bayesian params() with 100 finished trials: median {statistics.median(cost):.1f} ms "
          f"(min {min(cost):.1f}, max {max(cost):.1f})")
    print(f"import azureml_v2.local.executors.sampling: median {statistics.median(imports):.0f} ms over a bare interpreter")

    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"sweep-quality-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps({"python": platform.python_version(), "seeds": args.seeds, "trials": args.trials,
                                "results": results}, indent=2))
    print(f"figures written to {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
