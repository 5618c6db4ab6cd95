"""The studio in a real browser: Chromium from the distribution's packages, driven by Playwright, against one
`azml server` started by `azml studio`, with jobs, a sweep, a pipeline and an online endpoint made through the CLI.

Screenshots of every page are kept in tests/artifacts/studio/ (ignored by git), to be looked at."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "studio"
LIVE = 90_000  # ms a page may wait for a job to end


def azml(*args, home: Path, timeout: float = 180) -> str:
    env = dict(os.environ, AZUREML_V2_HOME=str(home))
    proc = subprocess.run([sys.executable, "-m", "azureml_v2.cli", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(home, base URL, login URL) of a server started by `azml studio`."""
    home = tmp_path_factory.mktemp("studio-home")
    out = azml("studio", "--no-browser", home=home)
    login = re.search(r"http://\S+/studio/login\?ticket=\S+", out).group(0)
    yield home, login.split("/studio/")[0], login
    azml("server", "stop", home=home)


@pytest.fixture(scope="module")
def browser(served, tmp_path_factory):
    """A signed-in page of a fresh Chromium profile, and where its screenshots go."""
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install -y chromium; .ci/run installs it)")
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")
    shots = SHOTS
    shots.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True,
            args=LAUNCH_ARGS, viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.goto(served[2])
        yield page, shots
        context.close()


def _shot(page, shots: Path, name: str) -> None:
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def _get(url: str, cookie: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_login_url_sets_an_http_only_strict_cookie_once_and_nothing_opens_without_it(served, browser):
    home, base, login = served
    page, shots = browser
    assert page.url == f"{base}/studio/local/jobs"
    cookie = next(c for c in page.context.cookies() if c["name"] == "azml_studio")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/studio"
    assert _get(f"{base}/studio/local/jobs") == 401
    assert _get(f"{base}/studio/static/studio.css") == 401
    assert _get(login) == 401  # the URL signs in once
    assert _get(f"{base}/studio/local/jobs", f"azml_studio={cookie['value']}") == 200
    assert _get(f"{base}/studio/local/jobs", f"azml_studio={cookie['value'][:-1]}x") == 401
    # the REST API still takes bearer tokens only
    assert _get(f"{base}/subscriptions/x/jobs", f"azml_studio={cookie['value']}") == 401


def test_the_jobs_page_lists_a_cli_job_whose_status_turns_completed_without_a_reload(served, browser, tmp_path):
    home, base, _ = served
    page, shots = browser
    job = tmp_path / "job.yml"
    job.write_text('command: python -c "import time; time.sleep(4); print(42)"\nenvironment:\n  image: python:3.11\n'
                   "compute: local\nexperiment_name: studio\ntags:\n  team: ui\n")
    name = json.loads(azml("job", "create", "-f", str(job), "--name", "studio-live", home=home))["name"]
    page.goto(f"{base}/studio/local/jobs")
    row = page.locator(f'tr[data-job="{name}"]')
    assert row.locator(".status").inner_text() != "Completed"
    assert "studio" in row.inner_text() and "team=ui" in row.inner_text()
    page.evaluate("window.notReloaded = true")
    row.locator('.status[data-status="Completed"]').wait_for(timeout=LIVE)
    assert page.evaluate("window.notReloaded") is True
    _shot(page, shots, "jobs")
    page.goto(f"{base}/studio/local/jobs?status=Failed")
    assert page.locator(f'tr[data-job="{name}"]').count() == 0
    page.goto(f"{base}/studio/local/jobs?q=live")
    assert page.locator(f'tr[data-job="{name}"]').count() == 1
    page.set_viewport_size({"width": 400, "height": 800})
    _shot(page, shots, "jobs-narrow")
    page.set_viewport_size({"width": 1280, "height": 800})


METRICS = """\
import mlflow
with mlflow.start_run():
    for step in range(25):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metric("accuracy", step / 25, step=step)
print("logged")
"""


def test_a_job_page_draws_the_logged_points_and_tails_the_log(served, browser, tmp_path):
    home, base, _ = served
    page, shots = browser
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text(METRICS)
    job = tmp_path / "job.yml"
    job.write_text("command: python train.py\ncode: src\nenvironment:\n  image: python:3.11\ncompute: local\n")
    azml("job", "create", "-f", str(job), "--name", "studio-metrics", "--stream", home=home)
    page.goto(f"{base}/studio/local/jobs/studio-metrics")
    charts = page.locator("figure.chart")
    assert charts.count() == 2
    loss = page.locator("figure.chart", has=page.locator("figcaption", has_text="loss"))
    data = json.loads(loss.get_attribute("data-points"))
    assert [(s, v) for s, v, *_ in data[0]["points"]] == [(step, 1.0 / (step + 1)) for step in range(25)]
    assert loss.locator("polyline.series").count() == 1
    page.locator("#log").filter(has_text="logged").wait_for(timeout=10_000)
    svg = loss.locator("svg")
    svg.scroll_into_view_if_needed()
    box = svg.bounding_box()
    svg.hover(position={"x": box["width"] - 25, "y": box["height"] / 2})
    assert re.match(r"loss: step 24, 0\.04", loss.locator(".readout").inner_text())
    _shot(page, shots, "job")
    page.goto(f"{base}/studio/local/jobs/studio-metrics?metric=loss&metric=accuracy")
    assert page.locator("figure.chart").first.locator("polyline.series").count() == 2


SWEEP = """\
type: sweep
trial:
  code: src
  command: python train.py --lr ${{search_space.lr}}
  environment:
    image: python:3.11
compute: local
sampling_algorithm:
  type: random
  seed: 3
search_space:
  lr:
    type: uniform
    min_value: 0.01
    max_value: 0.1
objective:
  primary_metric: loss
  goal: minimize
limits:
  max_total_trials: 4
  max_concurrent_trials: 2
"""
TRIAL = """\
import argparse, mlflow
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float)
with mlflow.start_run():
    mlflow.log_metric("loss", 1 - p.parse_args().lr)
"""


def test_a_sweep_page_shows_every_trial_sortable_with_its_pictures(served, browser, tmp_path):
    home, base, _ = served
    page, shots = browser
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text(TRIAL)
    (tmp_path / "sweep.yml").write_text(SWEEP)
    azml("job", "create", "-f", str(tmp_path / "sweep.yml"), "--name", "studio-sweep", "--stream", home=home,
         timeout=300)
    page.goto(f"{base}/studio/local/jobs/studio-sweep")
    rows = page.locator("table.trials tbody tr")
    assert rows.count() == 4
    assert page.locator("svg circle.trial").count() == 4 and page.locator("polyline.trial-line").count() == 4
    page.locator("table.trials thead th", has_text="loss").locator("button").click()
    losses = [float(v) for v in rows.evaluate_all("rs => rs.map(r => r.cells[2].dataset.value)")]
    assert losses == sorted(losses)
    _shot(page, shots, "sweep")
    page.goto(f"{base}/studio/local/compare?run=studio-sweep_0,studio-sweep_1")
    assert page.locator("table.compare th[scope=row]", has_text="lr").count() == 1
    assert page.locator("figure.chart polyline.series").count() == 2
    _shot(page, shots, "compare")


PIPELINE = """\
type: pipeline
experiment_name: studio
jobs:
  prep:
    type: command
    command: echo data > ${{outputs.out}}/a.txt
    environment:
      image: python:3.11
    compute: local
    outputs:
      out:
        type: uri_folder
  train:
    type: command
    command: cat ${{inputs.data}}/a.txt > ${{outputs.model}}/m.txt
    environment:
      image: python:3.11
    compute: local
    inputs:
      data: ${{parent.jobs.prep.outputs.out}}
    outputs:
      model:
        type: uri_folder
  score:
    type: command
    command: cat ${{inputs.model}}/m.txt
    environment:
      image: python:3.11
    compute: local
    inputs:
      model: ${{parent.jobs.train.outputs.model}}
"""


def test_a_pipeline_page_draws_one_node_per_node_and_a_click_opens_its_job(served, browser, tmp_path):
    home, base, _ = served
    page, shots = browser
    (tmp_path / "pipeline.yml").write_text(PIPELINE)
    azml("job", "create", "-f", str(tmp_path / "pipeline.yml"), "--name", "studio-pipe", home=home)
    page.goto(f"{base}/studio/local/jobs/studio-pipe")
    nodes = page.locator("#graph .node")
    nodes.first.wait_for()
    assert nodes.count() == 3
    page.locator('#graph .node[data-node="score"][data-status="Completed"]').wait_for(timeout=LIVE)
    assert sorted(nodes.evaluate_all("ns => ns.map(n => n.dataset.node)")) == ["prep", "score", "train"]
    assert page.locator("#graph .edge").count() == 2
    assert sorted(page.locator("#graph .edge-label").all_text_contents()) == ["model \u2192 model", "out \u2192 data"]
    _shot(page, shots, "pipeline")
    page.locator('#graph .node[data-node="train"]').click()
    page.wait_for_url(re.compile(r".*/jobs/studio-pipe_train$"))


SCORE = """\
import json
def init():
    pass
def run(raw_data):
    return {"sum": sum(json.loads(raw_data)["data"])}
"""


def test_the_endpoint_form_returns_the_models_answer(served, browser, tmp_path):
    home, base, _ = served
    page, shots = browser
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "score.py").write_text(SCORE)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.txt").write_text("1")
    (tmp_path / "endpoint.yml").write_text("name: studio-ep\nauth_mode: key\n")
    (tmp_path / "blue.yml").write_text(textwrap.dedent("""\
        name: blue
        endpoint_name: studio-ep
        model:
          path: model
        code_configuration:
          code: code
          scoring_script: score.py
        environment:
          image: mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu-inference:latest
        instance_type: Standard_DS3_v2
        instance_count: 1
        """))
    azml("online-endpoint", "create", "-f", str(tmp_path / "endpoint.yml"), home=home)
    azml("online-deployment", "create", "-f", str(tmp_path / "blue.yml"), "--all-traffic", home=home, timeout=300)
    page.goto(f"{base}/studio/local/endpoints")
    form = page.locator("form.invoke")
    assert "100%" in page.locator("section.endpoint table").inner_text()
    form.locator("textarea").fill('{"data": [1, 2, 3.5]}')
    form.locator("button").click()
    page.locator("form.invoke output[data-status]").wait_for(timeout=30_000)
    assert json.loads(form.locator("output").inner_text().partition(": ")[2]) == {"sum": 6.5}
    _shot(page, shots, "endpoints")
    page.goto(f"{base}/studio/local/assets/models")
    page.locator("main table a").first.click()
    shown = page.locator("pre.yaml").inner_text()
    assert "type: custom_model" in shown and "path: azureml://datastores/workspaceblobstore/paths/" in shown
    _shot(page, shots, "asset")
