"""The studio's pages in Chromium: the jobs page over 10,000 jobs and a job page with 100,000 metric points.

    python benchmarks/bench_studio.py                 # 5 timed loads of each page after a warm-up
    python benchmarks/bench_studio.py --runs 11 --jobs 10000 --points 100000

A workspace is filled in a temporary home (jobs written to the store directly, metrics logged in batches of 1,000),
`azml server` serves it in its own process, and the distribution's Chromium (headless, driven by Playwright) loads
each page. Figures, from the browser's own clock (the navigation's start):
- jobs page, first paint: `first-contentful-paint` of /studio/local/jobs (the first 50 jobs, newest first);
- job page, chart drawn: the first animation frame after the page's metric chart (its polyline) is in the document.
Needs the `test` extra (playwright) and `chromium` on PATH.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

WS = "local"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# when the chart's line is in the document, wait for the frame that paints it
CHART_CLOCK = """
new MutationObserver((_, observer) => {
  if (document.querySelector("figure.chart polyline")) {
    observer.disconnect();
    requestAnimationFrame(() => { window.chartDrawn = performance.now(); });
  }
}).observe(document, {childList: true, subtree: true});
"""


def fill(home: Path, jobs: int, points: int) -> None:
    from azureml_v2.local import make_app
    from azureml_v2.local.core import metrics

    app = make_app(home, run_jobs=False, user="bench")
    store = app.store
    store.ensure_workspace(WS, "bench")
    for i in range(jobs):
        store.put_job(WS, f"job-{i:05d}", {"jobType": "Command", "command": "python train.py",
                                           "experimentName": f"exp-{i % 7}", "tags": {"i": str(i)}},
                      "bench", mutable=frozenset(), status="Completed")  # ended: the server starts none
    metrics.ensure_run(home, WS, "job-00000", "exp-0", home / "artifacts")
    tracking = metrics.tracking_store(home)
    for start in range(0, points, 1000):
        tracking.log_batch(WS, "job-00000", metrics_=[
            {"key": "loss", "value": 1.0 / (1 + step) + (step % 97) * 1e-4, "step": step, "timestamp": step}
            for step in range(start, min(points, start + 1000))])
    app.close()


def measure(base: Path, runs: int = 5, jobs: int = 10_000, points: int = 100_000) -> dict[str, list[float]]:
    """Seconds per load: {"jobs_first_paint": [...], "chart_drawn": [...]}."""
    from playwright.sync_api import sync_playwright

    from azureml_v2.local.api import server

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is not on PATH (apt-get install -y chromium)")
    home = base / "studio-home"
    fill(home, jobs, points)
    state, _ = server.start(home, timeout=120)  # a busy machine may take long to start it
    found: dict[str, list[float]] = {"jobs_first_paint": [], "chart_drawn": []}
    try:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(str(base / "profile"), executable_path=chromium,
                                                           headless=True, args=LAUNCH_ARGS,
                                                           viewport={"width": 1280, "height": 800})
            context.add_init_script(CHART_CLOCK)
            page = context.new_page()
            page.goto(server.studio_url(home, state))
            for i in range(runs + 1):  # the first of each is a warm-up
                page.goto(f"{state['endpoint']}/studio/{WS}/jobs", wait_until="load")
                paint = page.wait_for_function(
                    "performance.getEntriesByName('first-contentful-paint')[0]?.startTime").json_value()
                page.goto(f"{state['endpoint']}/studio/{WS}/jobs/job-00000", wait_until="load")
                page.wait_for_function("window.chartDrawn !== undefined")
                drawn = page.evaluate("window.chartDrawn")
                if i:
                    found["jobs_first_paint"].append(paint / 1000)
                    found["chart_drawn"].append(drawn / 1000)
            context.close()
    finally:
        server.stop(home)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:  # the stopped server's last writes
        started = time.monotonic()
        found = measure(Path(tmp), args.runs, args.jobs, args.points)
    print(f"{'figure':58} {'median':>8} {'min':>8} {'max':>8}   target")
    for key, label, target in (("jobs_first_paint", f"jobs page, first paint ({args.jobs:,} jobs)", 1.0),
                               ("chart_drawn", f"job page, chart drawn ({args.points:,} points)", 1.0)):
        values = found[key]
        print(f"{label:58} {statistics.median(values):8.3f} {min(values):8.3f} {max(values):8.3f}   <= {target} s")
    print(f"(whole run {time.monotonic() - started:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
