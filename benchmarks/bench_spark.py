"""Spark jobs on the local workspace against a bare spark-submit of the same script.

Run: python benchmarks/bench_spark.py [--runs 5] [--rows 10000000]

Figures (and their goals):
- trivial job (`spark.range(10).count()`): submit -> Completed through MLClient.local, against a bare
  `spark-submit --master local[N]` of the same script with the same conf; the overhead (ours - bare, goal <= 1 s);
- a ~200 MB CSV aggregation (group by key, count, sum, mean; --rows lines of `key,int,float`, 10M by default):
  wall of the job against the bare spark-submit; goal ours / bare <= 1.1.
Runs alternate (bare, ours, bare, ours ...) so that each pair meets the same load; each figure is the median with
min and max. Ours is also split by the runner's log: the time spent outside spark-submit (submit, process start,
preparation, outputs, status) is our overhead whatever the JVM's own time does under a loaded machine.
Needs pyspark (the spark extra) and Java. Results go to benchmarks/results/spark-<UTC>.json.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from azureml_v2 import MLClient, load_job  # noqa: E402
from azureml_v2.local import job_folder  # noqa: E402
from azureml_v2.local.core.checks import spark_unavailable  # noqa: E402
from azureml_v2.local.executors.spark import _spark_home, local_cores  # noqa: E402

CONF = {"spark.driver.cores": "1", "spark.driver.memory": "2g", "spark.executor.cores": str(os.cpu_count() or 1),
        "spark.executor.memory": "2g", "spark.executor.instances": "1"}
TRIVIAL = """
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print(spark.range(10).count())
spark.stop()
"""
AGGREGATE = """
import sys
from pyspark.sql import SparkSession, functions as F
spark = SparkSession.builder.getOrCreate()
frame = spark.read.csv(sys.argv[1], schema="key STRING, n INT, x DOUBLE")
result = frame.groupBy("key").agg(F.count("*").alias("rows"), F.sum("n").alias("n"), F.avg("x").alias("x"))
result.coalesce(1).write.mode("overwrite").csv(sys.argv[2], header=True)
spark.stop()
"""


def job_yaml(entry: str, args: str, inputs: str, outputs: str) -> str:
    conf = "".join(f"  {k}: {v}\n" for k, v in CONF.items())
    return (f"type: spark\ncode: ./src\nentry: {{file: {entry}}}\ncompute: local\nconf:\n{conf}"
            + (f"args: {args}\n" if args else "") + inputs + outputs)


def bare(script: Path, args: list[str]) -> float:
    cores, _ = local_cores(CONF, os.cpu_count() or 1)
    argv = [str(_spark_home() / "bin" / "spark-submit"), "--master", f"local[{cores}]"]
    for key, value in CONF.items():
        argv += ["--conf", f"{key}={value}"]
    env = {**os.environ, "SPARK_HOME": str(_spark_home()), "PYSPARK_PYTHON": sys.executable,
           "SPARK_LOCAL_IP": "127.0.0.1"}
    start = time.perf_counter()
    subprocess.run([*argv, str(script), *args], check=True, capture_output=True, env=env, cwd=script.parent)
    return time.perf_counter() - start


def ours(ml: MLClient, path: Path) -> tuple[float, float]:
    """(wall from submit to Completed, the part spent outside spark-submit): the runner's log times the process,
    from its start to its exit, so the second figure is ours alone whatever the JVM's time under load."""
    job = load_job(path)
    start = time.perf_counter()
    name = ml.jobs.create_or_update(job).name
    while (status := ml.jobs.get(name).status) not in ("Completed", "Failed", "Canceled"):
        time.sleep(0.02)
    wall = time.perf_counter() - start
    if status != "Completed":
        raise SystemExit(f"job {name} ended {status}")
    log = (job_folder(ml.home, "local", name) / "system_logs" / "runner.log").read_text(encoding="utf-8")
    times = {key: datetime.fromisoformat(line.split(" ", 1)[0].replace("Z", "+00:00"))
             for line in log.splitlines() for key in ("started process", "exit code") if key in line}
    return wall, wall - (times["exit code"] - times["started process"]).total_seconds()


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(7)
    keys = [f"k{i:03d}" for i in range(500)]
    with open(path, "w", encoding="ascii") as out:
        for start in range(0, rows, 100_000):
            out.write("".join(f"{rng.choice(keys)},{rng.randrange(1_000_000)},{rng.random():.6f}\n"
                              for _ in range(min(100_000, rows - start))))


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rows", type=int, default=10_000_000, help="CSV lines (10M: about 200 MB)")
    args = parser.parse_args()
    problem = spark_unavailable()
    if problem:
        raise SystemExit(problem)
    with tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp:
        root = Path(tmp)
        (root / "src").mkdir()
        (root / "src" / "trivial.py").write_text(TRIVIAL)
        (root / "src" / "aggregate.py").write_text(AGGREGATE)
        ml = MLClient.local(root / "home")
        data = Path(ml.datastores.get_default().path) / "bench" / "data.csv"
        data.parent.mkdir(parents=True)
        write_csv(data, args.rows)
        size = data.stat().st_size
        (root / "trivial.yml").write_text(job_yaml("trivial.py", "", "", ""))
        (root / "aggregate.yml").write_text(job_yaml(
            "aggregate.py", "${{inputs.data}} ${{outputs.result}}",
            "inputs:\n  data: {type: uri_file, path: azureml://datastores/workspaceblobstore/paths/bench/data.csv, "
            "mode: direct}\n", "outputs:\n  result: {type: uri_folder, mode: direct}\n"))
        results = {}
        for figure, script, bare_args, job in (
                ("trivial", root / "src" / "trivial.py", [], root / "trivial.yml"),
                ("aggregate", root / "src" / "aggregate.py", [str(data), str(root / "bare-out")],
                 root / "aggregate.yml")):
            bare(script, bare_args), ours(ml, job)  # warm-up: the JVM's and Python's files in the page cache
            runs = []
            for _ in range(args.runs):
                runs.append((bare(script, bare_args), *ours(ml, job)))
                print(f"{figure}: bare {runs[-1][0]:.2f} s, ours {runs[-1][1]:.2f} s (outside spark-submit "
                      f"{runs[-1][2]:.2f} s)", flush=True)
            results[figure] = {"bare": summary([b for b, _, _ in runs]), "ours": summary([o for _, o, _ in runs]),
                               "overhead": summary([o - b for b, o, _ in runs]),
                               "outside": summary([x for _, _, x in runs]),
                               "ratio": summary([o / b for b, o, _ in runs])}
        results["csv_bytes"] = size
    print(f"{'figure':<34}{'bare spark-submit':>20}{'ours (submit->Completed)':>26}{'ours - bare':>13}"
          f"{'outside spark-submit':>22}{'ours / bare':>13}")
    for figure, goal in (("trivial", "overhead <= 1 s"), ("aggregate", f"ratio <= 1.1, CSV {size / 1e6:.0f} MB")):
        r = results[figure]
        print(f"{figure + ' (' + goal + ')':<34}{r['bare']['median']:>18.2f} s{r['ours']['median']:>24.2f} s"
              f"{r['overhead']['median']:>11.2f} s{r['outside']['median']:>20.2f} s{r['ratio']['median']:>13.3f}")
    out = ROOT / "benchmarks" / "results" / f"spark-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
