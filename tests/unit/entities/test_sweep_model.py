"""Sweep jobs: YAML (today's schema and the 2020 preview) <-> SweepJob <-> REST, Azure ML's rules, the builder."""
from __future__ import annotations

import re

import pytest
import yaml

import azureml_v2
from azureml_v2._contract import LOCAL_SCOPE
from azureml_v2.entities.sweep import search_value_from_rest
from azureml_v2.sweep import (BanditPolicy, BayesianSamplingAlgorithm, Choice, GridSamplingAlgorithm, LogNormal,
                              LogUniform, MedianStoppingPolicy, Normal, Objective, QLogNormal, QLogUniform, QNormal,
                              QUniform, Randint, RandomSamplingAlgorithm, SweepJob, SweepJobLimits,
                              TruncationSelectionPolicy, Uniform)
from conftest import CORPUS, SEED
from support.corpus_kinds import corpus_files

BASE = """\
$schema: https://azuremlschemas.azureedge.net/latest/sweepJob.schema.json
type: sweep
inputs:
  data: 1
trial:
  command: python train.py --lr ${{search_space.lr}} --data ${{inputs.data}}
  environment: azureml:env:1
search_space:
  lr:
    type: uniform
    min_value: 0.01
    max_value: 0.1
sampling_algorithm: random
objective:
  goal: minimize
  primary_metric: loss
limits:
  max_total_trials: 4
  max_concurrent_trials: 2
"""


def _edit(text: str, *pairs: str) -> str:
    for old, new in zip(pairs[::2], pairs[1::2]):
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def _load(tmp_path, text: str):
    path = tmp_path / "sweep.yml"
    path.write_text(text, encoding="utf-8")
    return azureml_v2.load_job(path)


def _problems(tmp_path, text: str) -> list:
    with pytest.raises(azureml_v2.ValidationError) as info:
        _load(tmp_path, text)
    assert all(p.source.endswith("sweep.yml") for p in info.value.problems), str(info.value)
    return info.value.problems


def _where(text: str, snippet: str) -> tuple[int, int]:
    """Line and column (1-based) where `snippet` first stands in `text`."""
    for number, line in enumerate(text.splitlines(), 1):
        if snippet in line:
            return number, line.index(snippet) + 1
    raise AssertionError(snippet)


def _round_trip(tmp_path, job):
    """Dump into another folder, reload from there: equal, and a second dump is byte-identical."""
    out = tmp_path / "elsewhere" / "deeper" / "sweep.yml"
    out.parent.mkdir(parents=True, exist_ok=True)
    job.dump(out)
    first = out.read_text()
    again = azureml_v2.load_job(out)
    assert isinstance(again, SweepJob) and again == job, first
    again.dump(out)
    assert out.read_text() == first
    return first


# -- the corpus ----------------------------------------------------------------------------------
def _corpus_sweeps():
    if not CORPUS.exists():
        return []
    return [p.relative_to(CORPUS) for p in corpus_files(CORPUS)
            if "sweepJob" in p.read_text(encoding="utf-8").split("\n", 1)[0]]


@pytest.mark.parametrize("rel", _corpus_sweeps(), ids=str)
def test_corpus_sweep(rel, corpus_root, rest_validate):
    path = corpus_root / rel
    source = yaml.safe_load(path.read_text(encoding="utf-8"))
    job = azureml_v2.load_job(path)
    assert isinstance(job, SweepJob)
    assert set(job.search_space) == set(source["search_space"])
    used = set(re.findall(r"\$\{\{search_space\.(\w+)\}\}", job.trial.command))
    assert used <= set(job.search_space)
    body = job.to_rest(scope=LOCAL_SCOPE)
    wire = body["properties"]["searchSpace"]
    for key, spec in source["search_space"].items():
        params = [spec["values"]] if spec["type"] == "choice" else [v for k, v in spec.items() if k != "type"]
        assert wire[key] == [spec["type"], params]
    assert body["properties"]["objective"]["goal"] == source["objective"]["goal"].capitalize()
    assert not rest_validate(body, "JobBaseResource")


# -- the 2020 preview (seed) -----------------------------------------------------------------------
@pytest.fixture
def seed_sweep(tmp_path):
    if not SEED.exists():
        pytest.skip(f"the seed is not at {SEED}")
    text = SEED.read_text(encoding="utf-8").split("**Sweep Job:**", 1)[1]
    text = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "seed" / "sweep.yml"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    (tmp_path / "seed" / "lightgbm").mkdir()
    return path


def test_seed_sweep_windows_code_path_is_located(seed_sweep):
    with pytest.raises(azureml_v2.ValidationError) as info:
        azureml_v2.load_job(seed_sweep)
    (problem,) = info.value.problems
    assert problem.path == "trial.code" and "Windows path" in problem.message
    assert (problem.line, problem.column) == _where(seed_sweep.read_text(), "code: C:")


def test_seed_sweep_loads_as_todays_schema(seed_sweep, tmp_path, rest_validate):
    job = azureml_v2.load_job(seed_sweep, params_override=[{"trial.code": "lightgbm"}])
    assert job.sampling_algorithm == "random"
    assert job.search_space == {"lr": Uniform(0.01, 0.1), "feature_fraction": Uniform(0.7, 0.9),
                                "bagging_fraction": Uniform(0.6, 0.8)}
    assert job.trial.command == ("python ./examples/python-guide/advanced_example.py"
                                 " --lr ${{search_space.lr}} --feature_fraction ${{search_space.feature_fraction}}"
                                 " --bagging_fraction ${{search_space.bagging_fraction}}")
    assert job.trial.code == str(seed_sweep.parent / "lightgbm") and job.trial.environment
    assert job.objective == Objective(goal="minimize", primary_metric="rmse")
    assert job.limits == SweepJobLimits(max_total_trials=10, max_concurrent_trials=5, timeout=10000 * 60)
    assert job.early_termination == BanditPolicy(slack_factor=0.2, evaluation_interval=100, delay_evaluation=200)
    assert (job.compute, job.experiment_name) == ("goazurego", "lightgbm")

    text = _round_trip(tmp_path, job)
    for preview in ("spec:", "\nalgorithm:", "max_total_runs", "max_duration_minutes", "--lr:"):
        assert preview not in text
    assert not rest_validate(job.to_rest(scope=LOCAL_SCOPE), "JobBaseResource")


def test_seed_sweep_errors_point_at_what_the_user_wrote(seed_sweep):
    text = seed_sweep.read_text().replace("spec: uniform\n    min_value: 0.01", "spec: uniformm\n    min_value: 0.01")
    seed_sweep.write_text(text)
    with pytest.raises(azureml_v2.ValidationError) as info:
        azureml_v2.load_job(seed_sweep, params_override=[{"trial.code": "lightgbm"}])
    (problem,) = info.value.problems
    assert "did you mean uniform?" in problem.message and problem.path == "search_space.lr.type"
    assert (problem.line, problem.column) == _where(text, "spec: uniformm")


def test_preview_truncation_policy(tmp_path):
    text = _edit(BASE, "sampling_algorithm: random", "algorithm: random\nearly_termination:\n  spec: truncation\n"
                 "  truncation_percentage: 20\n  evaluation_interval: 1")
    job = _load(tmp_path, text)
    assert job.early_termination == TruncationSelectionPolicy(truncation_percentage=20, evaluation_interval=1)


# -- distributions ---------------------------------------------------------------------------------
DISTRIBUTIONS = [
    ("values: [1, 2.5, x, true]", Choice([1, 2.5, "x", True]), ["choice", [[1, 2.5, "x", True]]]),
    ("upper: 10", Randint(10), ["randint", [10]]),
    ("min_value: 0.01\n    max_value: 0.1", Uniform(0.01, 0.1), ["uniform", [0.01, 0.1]]),
    ("min_value: -5\n    max_value: 0", LogUniform(-5, 0), ["loguniform", [-5, 0]]),
    ("mu: 10\n    sigma: 3", Normal(10, 3), ["normal", [10, 3]]),
    ("mu: 0\n    sigma: 1.5", LogNormal(0, 1.5), ["lognormal", [0, 1.5]]),
    ("min_value: 1\n    max_value: 5\n    q: 1", QUniform(1, 5, 1), ["quniform", [1, 5, 1]]),
    ("min_value: 0\n    max_value: 3\n    q: 2", QLogUniform(0, 3, 2), ["qloguniform", [0, 3, 2]]),
    ("mu: 8\n    sigma: 2\n    q: 2", QNormal(8, 2, 2), ["qnormal", [8, 2, 2]]),
    ("mu: 1\n    sigma: 0.5\n    q: 0.5", QLogNormal(1, 0.5, 0.5), ["qlognormal", [1, 0.5, 0.5]]),
]


@pytest.mark.parametrize("params, entity, wire", DISTRIBUTIONS, ids=[d[2][0] for d in DISTRIBUTIONS])
def test_distribution_yaml_and_wire_form(params, entity, wire, tmp_path, rest_validate):
    kind = wire[0]
    text = _edit(BASE, "    type: uniform\n    min_value: 0.01\n    max_value: 0.1", f"    type: {kind}\n    {params}")
    job = _load(tmp_path, text)
    assert job.search_space["lr"] == entity and entity.type == kind
    body = job.to_rest(scope=LOCAL_SCOPE)
    assert body["properties"]["searchSpace"]["lr"] == wire
    assert search_value_from_rest(wire) == entity
    assert not rest_validate(body, "JobBaseResource")
    dumped = _round_trip(tmp_path, job)
    assert yaml.safe_load(dumped)["search_space"]["lr"] == yaml.safe_load(f"type: {kind}\n{params.replace('    ', '')}")


def test_choice_takes_any_iterable():
    assert Choice(range(1, 4)) == Choice([1, 2, 3])
    assert Choice(["x", "y"])._to_rest() == ["choice", [["x", "y"]]]


def test_unknown_wire_distribution_is_kept_as_sent():
    assert search_value_from_rest({}) == {}
    assert search_value_from_rest(["somethingnew", [1]]) == ["somethingnew", [1]]


# -- sampling algorithm ----------------------------------------------------------------------------
@pytest.mark.parametrize("written, entity, wire", [
    ("random", "random", {"samplingAlgorithmType": "Random"}),
    ("Grid", "grid", {"samplingAlgorithmType": "Grid"}),
    ("bayesian", "bayesian", {"samplingAlgorithmType": "Bayesian"}),
    ("\n  type: random\n  seed: 42\n  rule: sobol", RandomSamplingAlgorithm(seed=42, rule="sobol"),
     {"samplingAlgorithmType": "Random", "rule": "Sobol", "seed": 42}),
    ("\n  type: grid", GridSamplingAlgorithm(), {"samplingAlgorithmType": "Grid"}),
    ("\n  type: bayesian", BayesianSamplingAlgorithm(), {"samplingAlgorithmType": "Bayesian"}),
])
def test_sampling_algorithm(written, entity, wire, tmp_path):
    text = _edit(BASE, "sampling_algorithm: random", f"sampling_algorithm: {written}",
                 "type: uniform\n    min_value: 0.01\n    max_value: 0.1", "type: choice\n    values: [0.01, 0.1]")
    job = _load(tmp_path, text)
    assert job.sampling_algorithm == entity
    assert job.to_rest(scope=LOCAL_SCOPE)["properties"]["samplingAlgorithm"] == wire
    dumped = _round_trip(tmp_path, job)
    if isinstance(entity, str):  # the string form stays a string
        assert f"\nsampling_algorithm: {entity}\n" in dumped


# -- Azure ML's rules, located -----------------------------------------------------------------------
RULES = [
    ("grid takes choice only",
     ("sampling_algorithm: random", "sampling_algorithm: grid"),
     "type: uniform", "search_space.lr.type", "grid sampling takes only choice, not uniform"),
    ("bayesian takes choice, uniform, quniform",
     ("sampling_algorithm: random", "sampling_algorithm: bayesian",
      "type: uniform\n    min_value: 0.01\n    max_value: 0.1", "type: normal\n    mu: 0\n    sigma: 1"),
     "type: normal", "search_space.lr.type", "bayesian sampling takes only choice, uniform, quniform, not normal"),
    ("bayesian takes no early termination",
     ("sampling_algorithm: random", "sampling_algorithm: bayesian\nearly_termination:\n  type: median_stopping"),
     "early_termination:", "early_termination", "bayesian sampling does not support early termination"),
    ("seed only with random",
     ("sampling_algorithm: random", "sampling_algorithm:\n  type: grid\n  seed: 3",
      "type: uniform\n    min_value: 0.01\n    max_value: 0.1", "type: choice\n    values: [1]"),
     "seed: 3", "sampling_algorithm.seed", "seed applies to random sampling only (type: random), not grid"),
    ("rule only with random",
     ("sampling_algorithm: random", "sampling_algorithm:\n  type: bayesian\n  rule: sobol"),
     "rule: sobol", "sampling_algorithm.rule", "rule applies to random sampling only"),
    ("bandit: not both slacks",
     ("sampling_algorithm: random", "sampling_algorithm: random\nearly_termination:\n  type: bandit\n"
                                    "  slack_factor: 0.1\n  slack_amount: 0.2"),
     "slack_amount: 0.2", "early_termination.slack_amount", "exactly one of slack_factor or slack_amount"),
    ("bandit: one slack needed",
     ("sampling_algorithm: random", "sampling_algorithm: random\nearly_termination:\n  type: bandit\n"
                                    "  evaluation_interval: 1"),
     "early_termination:", "early_termination", "exactly one of slack_factor or slack_amount"),
    ("truncation_percentage at least 1",
     ("sampling_algorithm: random", "sampling_algorithm: random\nearly_termination:\n"
                                    "  type: truncation_selection\n  truncation_percentage: 0"),
     "truncation_percentage: 0", "early_termination.truncation_percentage", "an integer from 1 to 99, got 0"),
    ("truncation_percentage at most 99",
     ("sampling_algorithm: random", "sampling_algorithm: random\nearly_termination:\n"
                                    "  type: truncation_selection\n  truncation_percentage: 100"),
     "truncation_percentage: 100", "early_termination.truncation_percentage", "an integer from 1 to 99, got 100"),
    ("at most 1000 trials",
     ("max_total_trials: 4", "max_total_trials: 1001"),
     "max_total_trials: 1001", "limits.max_total_trials", "max_total_trials must be from 1 to 1000, got 1001"),
    ("at least one concurrent trial",
     ("max_concurrent_trials: 2", "max_concurrent_trials: 0"),
     "max_concurrent_trials: 0", "limits.max_concurrent_trials", "must be from 1 to 1000, got 0"),
    ("search_space placeholder names a key",
     ("--lr ${{search_space.lr}}", "--lr ${{search_space.lrr}}"),
     "command:", "trial.command", "no search_space named 'lrr' is declared (declared: lr) (did you mean lr?)"),
    ("inputs placeholder names an input",
     ("--data ${{inputs.data}}", "--data ${{inputs.dta}}"),
     "command:", "trial.command", "no input named 'dta' is declared (declared: data) (did you mean data?)"),
    ("distribution type with a hint",
     ("type: uniform", "type: unifrom"),
     "type: unifrom", "search_space.lr.type", "(did you mean uniform?)"),
    ("range the right way round",
     ("min_value: 0.01", "min_value: 1"),
     "min_value: 1", "search_space.lr.min_value", "min_value (1) is greater than max_value (0.1)"),
    ("exclude_finished_jobs is not supported yet",
     ("sampling_algorithm: random", "sampling_algorithm: random\nearly_termination:\n"
                                    "  type: truncation_selection\n  truncation_percentage: 10\n"
                                    "  exclude_finished_jobs: true"),
     "exclude_finished_jobs", "early_termination.exclude_finished_jobs", "not supported yet"),
    ("nested search spaces are not supported yet",
     ("type: uniform\n    min_value: 0.01\n    max_value: 0.1", "type: choice\n    values:\n    - {a: 1}"),
     "{a: 1}", "search_space.lr.values[0]", "not supported yet: nested search spaces"),
    ("goal is an enum",
     ("goal: minimize", "goal: minimise"),
     "goal: minimise", "objective.goal", "(did you mean minimize?)"),
]


@pytest.mark.parametrize("edits, at, path, message", [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_rule_is_a_located_error(edits, at, path, message, tmp_path):
    text = _edit(BASE, *edits)
    problems = _problems(tmp_path, text)
    assert [(p.path, message in p.message) for p in problems] == [(path, True)], "\n".join(map(str, problems))
    assert (problems[0].line, problems[0].column) == _where(text, at)


def test_misspelt_parameter(tmp_path):
    text = _edit(BASE, "max_value: 0.1", "max_valu: 0.1")
    problems = _problems(tmp_path, text)
    assert [(p.path, p.message) for p in problems] == [
        ("search_space.lr.max_value", "required field is missing"),
        ("search_space.lr.max_valu", "unknown field (did you mean max_value?)")]
    assert (problems[1].line, problems[1].column) == _where(text, "max_valu:")


def test_all_problems_at_once(tmp_path):
    text = _edit(BASE, "sampling_algorithm: random", "sampling_algorithm: grid",
                 "max_concurrent_trials: 2", "max_concurrent_trials: 0", "primary_metric: loss", "primary_metric: 3")
    problems = _problems(tmp_path, text)
    assert [p.path for p in problems] == ["search_space.lr.type", "objective.primary_metric",
                                          "limits.max_concurrent_trials"]


def test_required_sweep_fields(tmp_path):
    text = "type: sweep\ntrial:\n  command: python x.py\n"
    problems = _problems(tmp_path, text)
    assert {p.path for p in problems} == {"search_space", "sampling_algorithm", "objective", "trial.environment"}
    assert all(p.message == "required field is missing" for p in problems)


def test_job_level_fields_round_trip(tmp_path, rest_validate):
    text = BASE + """\
name: sweep-1
display_name: Sweep one
tags: {team: ml}
compute: azureml:cpu-cluster
outputs:
  model:
    type: mlflow_model
identity:
  type: user_identity
queue_settings:
  job_tier: spot
"""
    text = _edit(text, "  environment: azureml:env:1",
                 "  environment: azureml:env:1\n  environment_variables: {A: '1'}\n"
                 "  distribution:\n    type: pytorch\n    process_count_per_instance: 2\n"
                 "  resources:\n    instance_count: 2")
    job = _load(tmp_path, text)
    assert job.trial.distribution.process_count_per_instance == 2 and job.trial.resources.instance_count == 2
    props = job.to_rest(scope=LOCAL_SCOPE)["properties"]
    assert props["trial"]["distribution"] == {"distributionType": "PyTorch", "processCountPerInstance": 2}
    assert props["trial"]["environmentVariables"] == {"A": "1"} and props["queueSettings"] == {"jobTier": "Spot"}
    assert props["identity"] == {"identityType": "UserIdentity"}
    assert not rest_validate(job.to_rest(scope=LOCAL_SCOPE), "JobBaseResource")
    _round_trip(tmp_path, job)


def test_fields_azure_has_that_are_not_handled_yet(tmp_path):
    problems = _problems(tmp_path, BASE + "resources:\n  instance_count: 2\n")
    assert [(p.path, p.message, p.line) for p in problems] == [("resources", "not supported yet", BASE.count("\n") + 1)]


# -- REST --------------------------------------------------------------------------------------------
POLICIES = [
    (BanditPolicy(slack_amount=0.5, evaluation_interval=2, delay_evaluation=4),
     {"policyType": "Bandit", "evaluationInterval": 2, "delayEvaluation": 4, "slackAmount": 0.5}),
    (MedianStoppingPolicy(evaluation_interval=1),
     {"policyType": "MedianStopping", "evaluationInterval": 1}),
    (TruncationSelectionPolicy(truncation_percentage=20, delay_evaluation=5),
     {"policyType": "TruncationSelection", "delayEvaluation": 5, "truncationPercentage": 20}),
]


@pytest.mark.parametrize("policy, wire", POLICIES, ids=[p[1]["policyType"] for p in POLICIES])
def test_policy_wire_form(policy, wire, tmp_path, rest_validate):
    job = _load(tmp_path, BASE)
    job.early_termination = policy
    job.validate()
    body = job.to_rest(scope=LOCAL_SCOPE)
    assert body["properties"]["earlyTermination"] == wire
    assert not rest_validate(body, "JobBaseResource")
    assert SweepJob._from_rest(body).early_termination == policy
    _round_trip(tmp_path, job)


def test_zero_default_slack_from_the_service_is_unset():
    body = {"policyType": "Bandit", "slackFactor": 0.15, "slackAmount": 0, "evaluationInterval": 1}
    policy = SweepJob._from_rest({"properties": {"earlyTermination": body}}).early_termination
    assert policy == BanditPolicy(slack_factor=0.15, evaluation_interval=1) and not policy._problems()


def test_service_casing_is_users_casing():
    job = SweepJob(sampling_algorithm="Random", objective=Objective(goal="Maximize", primary_metric="acc"))
    assert (job.sampling_algorithm, job.objective.goal) == ("random", "maximize")
    assert RandomSamplingAlgorithm(rule="Sobol")._to_rest() == {"samplingAlgorithmType": "Random", "rule": "Sobol"}


def test_rest_form_and_back(tmp_path, rest_validate):
    text = _edit(BASE, "max_concurrent_trials: 2", "max_concurrent_trials: 2\n  timeout: 3600\n  trial_timeout: 90")
    job = _load(tmp_path, text)
    props = job.to_rest(scope=LOCAL_SCOPE)["properties"]
    assert props["jobType"] == "Sweep"
    assert props["objective"] == {"goal": "Minimize", "primaryMetric": "loss"}  # the service's casing
    assert props["limits"] == {"jobLimitsType": "Sweep", "maxTotalTrials": 4, "maxConcurrentTrials": 2,
                               "timeout": "PT1H", "trialTimeout": "PT1M30S"}
    assert props["trial"]["environmentId"].endswith("/environments/env/versions/1")
    assert "inputs" not in props["trial"] and props["inputs"]["data"] == {"jobInputType": "literal", "value": "1"}
    back = SweepJob._from_rest({"name": "s1", "properties": props})
    assert back.limits == job.limits and back.search_space == job.search_space
    assert back.objective == job.objective and back.trial.command == job.trial.command
    assert back.to_rest(scope=LOCAL_SCOPE) == {"properties": props}


# -- from a command job ------------------------------------------------------------------------------
@pytest.fixture
def command_job(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()
    return azureml_v2.load_job({
        "type": "command",
        "command": "python train.py --lr ${{inputs.lr}} --b ${{ inputs.batch }} --d ${{inputs.data}}",
        "code": "src", "environment": "azureml:env:1", "compute": "azureml:cpu", "experiment_name": "exp",
        "inputs": {"lr": 0.01, "batch": 32, "data": {"type": "uri_file", "path": "https://x.org/d.csv"}},
        "environment_variables": {"A": "1"}})


def test_sweep_from_command(command_job, tmp_path):
    job = command_job(lr=Uniform(0.001, 0.1), batch=Choice([16, 32]))
    sweep = job.sweep(primary_metric="loss", goal="Minimize", max_total_trials=8, max_concurrent_trials=2,
                      timeout=600, early_termination_policy=MedianStoppingPolicy(evaluation_interval=1))
    assert sweep.search_space == {"lr": Uniform(0.001, 0.1), "batch": Choice([16, 32])}
    assert sweep.trial.command == ("python train.py --lr ${{search_space.lr}} --b ${{search_space.batch}}"
                                   " --d ${{inputs.data}}")
    assert set(sweep.inputs) == {"data"} and sweep.trial.inputs is None
    assert (sweep.trial.code, sweep.trial.environment_variables) == (command_job.code, {"A": "1"})
    assert (sweep.compute, sweep.experiment_name, sweep.sampling_algorithm) == ("azureml:cpu", "exp", "random")
    assert sweep.objective == Objective(goal="minimize", primary_metric="loss")
    assert sweep.limits == SweepJobLimits(max_total_trials=8, max_concurrent_trials=2, timeout=600)
    assert command_job.inputs["lr"] == 0.01  # the command job itself is unchanged
    _round_trip(tmp_path, sweep)


def test_set_limits_and_objective_as_in_notebooks(command_job):
    sweep = command_job(lr=Uniform(0.01, 0.9)).sweep(primary_metric="loss", goal="Minimize", trial_timeout=60)
    assert sweep.limits == SweepJobLimits(trial_timeout=60)
    sweep.set_limits(max_total_trials=20, max_concurrent_trials=10, timeout=7200)
    sweep.set_objective(goal="maximize")
    assert sweep.limits == SweepJobLimits(max_total_trials=20, max_concurrent_trials=10, timeout=7200, trial_timeout=60)
    assert sweep.objective == Objective(goal="maximize", primary_metric="loss")
    assert command_job(lr=Uniform(0.01, 0.9)).sweep(primary_metric="loss", goal="minimize").limits is None


def test_sweep_from_command_is_checked(command_job):
    with pytest.raises(azureml_v2.ValidationError) as info:
        command_job(lr=Normal(0, 1)).sweep(primary_metric="loss", goal="maximize", sampling_algorithm="grid",
                                           search_space={"extra": Randint(0)})
    assert sorted(p.path for p in info.value.problems) == ["search_space.extra.type", "search_space.extra.upper",
                                                          "search_space.lr.type"]
    assert "grid sampling takes only choice, not normal" in str(info.value)


def test_validate_names_a_search_space_key_that_is_no_string():
    sweep = azureml_v2.SweepJob(search_space={1: "x"}, trial=azureml_v2.CommandJob(command="echo"))
    with pytest.raises(azureml_v2.ValidationError) as info:
        sweep.validate()
    assert "search_space.1" in [p.path for p in info.value.problems]
