"""What a user sees of a local sweep: the live table, `azml job show` with trials, the picture, and one small real
sweep through the CLI."""
from __future__ import annotations

import io
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from support.local import local_client

from azureml_v2 import ValidationError
from azureml_v2._trials import LiveTable, SweepView, Trial
from azureml_v2._yaml.api import load_job
from azureml_v2.local.core import metrics as tracking

WS = "local"
SWEEP_YAML = """\
type: sweep
trial:
  code: src
  command: python train.py --lr ${{search_space.lr}} --booster ${{search_space.booster}}
  environment:
    image: python:3.11
compute: local
sampling_algorithm:
  type: random
  seed: 7
search_space:
  lr:
    type: uniform
    min_value: 0.01
    max_value: 0.1
  booster:
    type: choice
    values: [gbdt, dart]
objective:
  primary_metric: loss
  goal: minimize
limits:
  max_total_trials: 4
  max_concurrent_trials: 2
experiment_name: sweep-ux
"""
# loss falls with lr and is lower for dart: the best trial is known
TRAIN = """\
import argparse, mlflow
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float)
p.add_argument("--booster")
a = p.parse_args()
with mlflow.start_run():
    for step in range(3):
        mlflow.log_metric("loss", 1 - a.lr * (step + 1) - (0.05 if a.booster == "dart" else 0), step=step)
print("done", a.lr, a.booster)
"""
# (status, params, logged losses) of the hand-made sweep's trials
TRIALS = [
    ("Completed", {"lr": 0.05, "booster": "gbdt"}, [0.9, 0.7]),
    ("Completed", {"lr": 0.02, "booster": "dart"}, [0.8, 0.75]),
    ("Failed", {"lr": 0.09, "booster": "gbdt"}, []),
    ("Canceled", {"lr": 0.03, "booster": "gbdt"}, [0.95]),
    ("Completed", {"lr": 0.08, "booster": "dart"}, [0.6, 0.4]),
    ("Completed", {"lr": 0.07, "booster": "gbdt"}, [0.5]),
]


def _sweep_file(folder: Path) -> Path:
    (folder / "src").mkdir(parents=True, exist_ok=True)
    (folder / "src" / "train.py").write_text(TRAIN)
    path = folder / "sweep.yml"
    path.write_text(SWEEP_YAML)
    return path


def _move(store, name: str, status: str) -> None:
    for step in ("Queued", "Preparing", "Running", "Finalizing")[:4 if status == "Completed" else 3]:
        store.set_job_status(WS, name, step)
    store.set_job_status(WS, name, status, error="Traceback (most recent call last):\nValueError: bad lr"
                         if status == "Failed" else None)


@pytest.fixture
def made_sweep(tmp_path):
    """A sweep `sw` whose trials were written as the controller writes them (nothing runs) -> (client, home)."""
    home = tmp_path / "home"
    client = local_client(home, run_jobs=False)
    client.jobs.create_or_update(load_job(_sweep_file(tmp_path)), name="sw")
    store = client.sent.app.store
    for n, (status, params, losses) in enumerate(TRIALS):
        name = f"sw_{n}"
        store.put_job(WS, name, {"jobType": "Command", "command": "python train.py", "experimentName": "sweep-ux",
                                 "properties": {"azureml.parentJobName": "sw", "azureml.trial": str(n),
                                                "azureml.sweep.params": json.dumps(params)}},
                      "tester", mutable=frozenset(), parent="sw")
        if losses:
            tracking.ensure_run(home, WS, name, "sweep-ux", tmp_path / "artifacts" / name)
            tracking.tracking_store(home).log_batch(WS, name, metrics_=[
                {"key": "loss", "value": v, "step": i, "timestamp": 1000 + i} for i, v in enumerate(losses)])
        _move(store, name, status)
    _move(store, "sw", "Completed")
    yield client, home
    client.close()
    client.sent.close()


# -- the SDK -----------------------------------------------------------------------------------------------
def test_list_trials_reads_params_status_and_the_last_logged_metric(made_sweep):
    client, _ = made_sweep
    trials = client.jobs.list_trials("sw")
    assert [(t.number, t.name, t.status, t.metric) for t in trials] == [
        (0, "sw_0", "Completed", 0.7), (1, "sw_1", "Completed", 0.75), (2, "sw_2", "Failed", None),
        (3, "sw_3", "Canceled", 0.95), (4, "sw_4", "Completed", 0.4), (5, "sw_5", "Completed", 0.5)]
    assert trials[1].params == {"lr": 0.02, "booster": "dart"}
    with pytest.raises(ValidationError, match="not a sweep"):
        client.jobs.list_trials("sw_0")


def test_stream_of_an_ended_sweep_prints_the_trials_then_the_best_one(made_sweep):
    client, _ = made_sweep
    out = io.StringIO()
    client.jobs.stream("sw", out=out)
    text = out.getvalue()
    assert "\x1b" not in text  # not a terminal: plain lines for logs
    lines = text.splitlines()
    assert lines[0] == "RunId: sw"
    assert lines[1].split() == ["trial", "0", "Completed", "loss=0.7", "booster=gbdt", "lr=0.05"]
    # no metric logged; the last line of its error
    assert lines[3].split() == ["trial", "2", "Failed", "booster=gbdt", "lr=0.09", "(ValueError:", "bad", "lr)"]
    header = lines.index("") + 1
    assert lines[header].split() == ["Trial", "booster", "lr", "loss", "Status"]
    assert [row.split() for row in lines[header + 2:header + 4]] == [
        ["0", "gbdt", "0.05", "0.7", "Completed"], ["1", "dart", "0.02", "0.75", "Completed"]]
    assert lines[-2] == "Status: Completed  (6 trials: 1 canceled, 4 completed, 1 failed)"
    assert lines[-1].split() == ["Best", "trial:", "sw_4", "(trial", "4)", "loss=0.4", "booster=dart,", "lr=0.08"]


def test_the_live_table_prints_one_line_per_state_change_off_a_terminal():
    out = io.StringIO()
    live = LiveTable(out, terminal=False)

    def view(*trials, status="Running"):
        return SweepView(name="s", status=status, goal="maximize", primary_metric="acc", parameters=["x"],
                         trials=list(trials))

    live.update(view(Trial(0, "s_0", "Queued", {"x": 1})))
    live.update(view(Trial(0, "s_0", "Queued", {"x": 1})))  # nothing changed: nothing printed
    live.update(view(Trial(0, "s_0", "Running", {"x": 1}, 0.5), Trial(1, "s_1", "Queued", {"x": 2})))
    live.update(view(Trial(0, "s_0", "Running", {"x": 1}, 0.6), Trial(1, "s_1", "Queued", {"x": 2})))
    live.finish(view(Trial(0, "s_0", "Completed", {"x": 1}, 0.7), Trial(1, "s_1", "Completed", {"x": 2}, 0.9),
                     status="Completed"))
    lines = out.getvalue().splitlines()
    assert [line.split()[:3] for line in lines[:5]] == [
        ["trial", "0", "Queued"], ["trial", "0", "Running"], ["trial", "1", "Queued"],
        ["trial", "0", "Completed"], ["trial", "1", "Completed"]]
    assert lines[-1].startswith("Best trial: s_1 (trial 1)  acc=0.9")  # maximize


def test_the_live_table_redraws_in_place_on_a_terminal():
    out = io.StringIO()
    live = LiveTable(out, terminal=True)
    running = SweepView(name="s", status="Running", goal="minimize", primary_metric="loss", parameters=["x"],
                        trials=[Trial(0, "s_0", "Running", {"x": 1})])
    live.update(running)
    live.update(running)  # unchanged: not drawn again
    first = out.getvalue()
    assert "\x1b" not in first and first.splitlines()[-1] == "Status: Running"
    live.finish(SweepView(name="s", status="Completed", goal="minimize", primary_metric="loss", parameters=["x"],
                          trials=[Trial(0, "s_0", "Completed", {"x": 1}, 0.25)]))
    redraw = out.getvalue()[len(first):]
    assert redraw.startswith(f"\x1b[{len(first.splitlines())}F\x1b[J")  # back over the last table, erased
    assert redraw.splitlines()[-1].startswith("Best trial: s_0 (trial 0)  loss=0.25")



def test_a_sweep_whose_primary_metric_was_never_logged_ends_with_a_warning():
    out = io.StringIO()
    LiveTable(out, terminal=False).finish(SweepView(
        name="s", status="Completed", goal="minimize", primary_metric="rmse", parameters=["x"],
        trials=[Trial(0, "s_0", "Completed", {"x": 1}), Trial(1, "s_1", "Completed", {"x": 2})]))
    assert out.getvalue().splitlines()[-1] == (
        "Warning: no trial logged the primary metric 'rmse', so there is no best trial: log it from the training "
        "script (mlflow.log_metric('rmse', value))")

# -- the picture -------------------------------------------------------------------------------------------
class _Marks(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_the_html_picture_is_self_contained_with_a_mark_per_trial_and_a_monotone_best_line(made_sweep, tmp_path):
    client, _ = made_sweep
    path = client.jobs.plot("sw", tmp_path / "sweep.html")
    text = path.read_text()
    parser = _Marks()
    parser.feed(text)
    tags = parser.tags
    assert not any(tag in ("script", "link", "img") for tag, _ in tags) and "http" not in text.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    assert sum(tag == "svg" for tag, _ in tags) == 3
    marks = [a for tag, a in tags if tag == "circle" and a.get("class") == "trial"]
    assert sorted(int(m["data-trial"]) for m in marks) == list(range(len(TRIALS)))
    by_trial = {m["data-trial"]: m for m in marks}
    assert (by_trial["2"]["data-status"], by_trial["2"]["fill"]) == ("Failed", "none")  # no metric: hollow
    assert by_trial["0"]["fill"] == by_trial["1"]["fill"] != by_trial["3"]["fill"]  # coloured by status
    [line] = [a for tag, a in tags if tag == "polyline" and a.get("class") == "best-so-far"]
    ys = [float(p.split(",")[1]) for p in line["points"].split()]
    assert ys == sorted(ys) and ys[0] < ys[-1]  # minimize: the best only falls (SVG y grows downwards)
    lines = [a for tag, a in tags if tag == "polyline" and a.get("class") == "trial-line"]
    assert len(lines) == len(TRIALS) and all(len(a["points"].split()) >= 2 for a in lines)


def test_png_needs_matplotlib_and_says_which_extra(made_sweep, tmp_path, monkeypatch):
    client, _ = made_sweep
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ValidationError, match=re.escape("pip install 'azureml_v2[plot]'")):
        client.jobs.plot("sw", tmp_path / "sweep.png")
    with pytest.raises(ValidationError, match=r"\.html .* or \.png, not \.svg"):
        client.jobs.plot("sw", tmp_path / "sweep.svg")


def test_png_is_drawn_when_matplotlib_is_installed(made_sweep, tmp_path):
    pytest.importorskip("matplotlib")
    client, _ = made_sweep
    path = client.jobs.plot("sw", tmp_path / "sweep.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
