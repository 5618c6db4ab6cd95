"""Sweeps through the `azml` command line: show, plot, and small real sweeps run to their end."""
from __future__ import annotations

import json

import pytest
from unit.test_sweep_ux import TRIALS, _sweep_file, made_sweep  # noqa: F401 (made_sweep: a fixture)

from .test_cli import azml

pytestmark = pytest.mark.integration


# -- the CLI -----------------------------------------------------------------------------------------------
def test_show_lists_the_trials_and_plot_writes_the_picture(made_sweep, tmp_path):
    _, home = made_sweep
    shown = json.loads(azml("job", "show", "-n", "sw", home=home).stdout)
    assert shown["status"] == "Completed" and shown["best_trial"] == "sw_4"
    assert [(t["trial"], t["status"], t["loss"]) for t in shown["trials"]][:3] == [
        (0, "Completed", 0.7), (1, "Completed", 0.75), (2, "Failed", None)]
    table = azml("job", "show", "-n", "sw", "-o", "table", home=home).stdout.splitlines()
    assert table[0].split() == ["Trial", "booster", "lr", "loss", "Status"] and len(table) == 2 + len(TRIALS) + 2
    assert table[-1].startswith("Best trial: sw_4 (trial 4)  loss=0.4")
    proc = azml("job", "plot", "-n", "sw", "--path", str(tmp_path / "p.html"), home=home)
    assert proc.stdout.strip() == str(tmp_path / "p.html") and (tmp_path / "p.html").read_text().count("<svg") == 3
    proc = azml("job", "plot", "-n", "sw_0", "--path", str(tmp_path / "p.html"), home=home, check_rc=1)
    assert proc.stderr.strip().endswith("job sw_0 is a Command job, not a sweep: it has no trials")


def test_a_small_real_sweep_through_the_cli(tmp_path):
    pytest.importorskip("azureml_v2.local.executors.sweep")
    home = tmp_path / "home"
    proc = azml("job", "create", "-f", str(_sweep_file(tmp_path)), "-n", "real", "--stream", home=home)
    lines = proc.stdout.splitlines()
    assert lines[0] == "RunId: real" and "\x1b" not in proc.stdout
    assert lines[-2].startswith("Status: Completed  (4 trials: 4 completed)")
    trials = json.loads(azml("job", "show", "-n", "real", home=home).stdout)["trials"]
    assert [t["trial"] for t in trials] == [0, 1, 2, 3] and all(t["status"] == "Completed" for t in trials)
    for t in trials:  # the trial ran with its own parameters and logged its loss
        expected = 1 - t["params"]["lr"] * 3 - (0.05 if t["params"]["booster"] == "dart" else 0)
        assert t["loss"] == pytest.approx(expected)
    best = min(trials, key=lambda t: t["loss"])
    assert lines[-1].startswith(f"Best trial: {best['name']} (trial {best['trial']})")


def test_a_sweep_whose_trials_all_fail_streams_to_exit_1(tmp_path):
    pytest.importorskip("azureml_v2.local.executors.sweep")
    home = tmp_path / "home"
    proc = azml("job", "create", "-f", str(_sweep_file(tmp_path)), "-n", "bad", "--stream", "--set",
                "limits.max_total_trials=2", "--set", "trial.command=python -c 'raise SystemExit(3)'", home=home,
                check_rc=1)
    assert proc.stdout.splitlines()[-1] == "Status: Failed  (2 trials: 2 failed)"  # and no best trial
    [error] = proc.stderr.splitlines()
    assert error.startswith("azml: error: job bad failed")
