"""`@pipeline` functions: components called as functions make nodes, node outputs feed other nodes, the result is
a PipelineJob checked like a loaded YAML whose dump loads back equal; nested pipelines become pipeline components."""
from __future__ import annotations

import pytest

from azureml_v2 import LOCAL_SCOPE, Input, ValidationError, load_component, load_job
from azureml_v2.dsl import pipeline
from azureml_v2.entities.pipeline import Pipeline, PipelineComponent, PipelineJob, Sweep
from azureml_v2.sweep import Choice

TRAIN = """\
name: train
type: command
inputs:
  data: {type: uri_folder}
  epochs: {type: integer}
outputs:
  model: {type: uri_folder}
code: ./src
environment: azureml:python:1
command: python train.py ${{inputs.data}} ${{inputs.epochs}} ${{outputs.model}}
"""
SCORE = """\
name: score
type: command
inputs:
  model: {type: uri_folder}
outputs:
  scores: {type: uri_file}
environment: azureml:python:1
command: python score.py ${{inputs.model}} ${{outputs.scores}}
"""


@pytest.fixture
def components(tmp_path, monkeypatch):
    (tmp_path / "src").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "train.yml").write_text(TRAIN)
    (tmp_path / "score.yml").write_text(SCORE)
    monkeypatch.chdir(tmp_path)
    return load_component("train.yml"), load_component("score.yml")


def test_a_pipeline_function_builds_a_job_that_dumps_and_loads_back_equal(components, tmp_path, rest_validate):
    train, score = components

    @pipeline(display_name="train-score", default_compute="cpu-cluster", force_rerun=True)
    def train_and_score(data, epochs=5):
        trained = train(data=data, epochs=epochs)
        scored = score(model=trained.outputs.model)
        score(model=trained.outputs.model)  # unnamed: named after its component
        return {"scores": scored.outputs.scores}

    job = train_and_score(data=Input(type="uri_folder", path="./data"))
    assert isinstance(job, PipelineJob) and list(job.jobs) == ["trained", "scored", "score"]
    assert job.inputs == {"epochs": 5, "data": Input(type="uri_folder", path=str(tmp_path / "data"))}
    assert job.jobs["trained"].inputs == {"data": "${{parent.inputs.data}}", "epochs": "${{parent.inputs.epochs}}"}
    assert job.jobs["scored"].inputs == {"model": "${{parent.jobs.trained.outputs.model}}"}
    assert job.jobs["scored"].outputs == {"scores": "${{parent.outputs.scores}}"}
    assert job.outputs["scores"].type == "uri_file" and job.settings.force_rerun is True
    (tmp_path / "out").mkdir()
    job.dump(tmp_path / "out" / "p.yml")
    assert load_job(tmp_path / "out" / "p.yml") == job
    assert rest_validate(job.to_rest(scope=LOCAL_SCOPE), "JobBaseResource") == []


def test_a_nested_pipeline_is_a_pipeline_component_node(components):
    train, score = components

    @pipeline(name="train_only")
    def inner(data: Input, epochs: int = 3):
        return {"model": train(data=data, epochs=epochs).outputs.model}

    @pipeline()
    def outer(data):
        nested = inner(data=data)
        score(model=nested.outputs.model)

    job = outer(data=Input(type="uri_folder", path="./data"))
    nested = job.jobs["nested"]
    assert isinstance(nested, Pipeline) and isinstance(nested.component, PipelineComponent)
    assert nested.component.name == "train_only"
    assert nested.component.inputs["epochs"] == Input(type="integer", default=3, optional=True)
    assert nested.component.outputs["model"].type == "uri_folder"
    assert job.jobs["score"].inputs == {"model": "${{parent.jobs.nested.outputs.model}}"}


def test_calling_a_component_with_an_unknown_input_says_which(components):
    train, _ = components
    with pytest.raises(ValidationError, match=r"train\(\) got an unexpected input 'epoch' \(inputs: data, epochs\) "
                                              r"\(did you mean epochs\?\)"):
        train(data=Input(path="x"), epoch=3)
    with pytest.raises(AttributeError, match="the component has no output named 'modle'"):
        train(epochs=1).outputs.modle  # noqa: B018


def test_a_broken_graph_is_refused_naming_the_node(components):
    train, score = components

    @pipeline()
    def missing():
        train(epochs=1)

    with pytest.raises(ValidationError, match=r"jobs.train.inputs: node train: required input 'data' is not given"):
        missing()

    @pipeline()
    def wrong_return():
        return score(model=Input(path="x"))

    with pytest.raises(ValidationError, match=r"must return None or a dict of node outputs"):
        wrong_return()


def test_what_the_service_refuses_is_refused_when_the_function_runs(components, rest_validate):
    train, _ = components

    @pipeline()
    def empty():
        pass

    @pipeline()
    def not_ascii():
        ñode = train(data=Input(path="x"), epochs=1)  # noqa: F841 (the variable names the node)

    @pipeline()
    def not_a_number():
        train(data=Input(path="x"), epochs="many")

    @pipeline()
    def not_a_number_input(epochs="many"):
        train(data=Input(path="x"), epochs=epochs)

    @pipeline()
    def entraîner(data):
        train(data=data, epochs=1)

    @pipeline()
    def outer():
        entraîner(data=Input(path="x"))

    for function, expected in (
            (empty, "@pipeline empty jobs: a pipeline needs at least one node"),
            (not_ascii, "@pipeline not_ascii jobs.ñode: node 'ñode': invalid node name: ASCII letters"),
            (not_a_number, "@pipeline not_a_number jobs.train.inputs.epochs: node train: input 'epochs' (integer): "
                           "the value 'many' is not an integer"),
            (not_a_number_input, "@pipeline not_a_number_input jobs.train.inputs.epochs: node train: input 'epochs' "
                                 "(integer) is bound to pipeline input epochs: the value 'many' is not an integer"),
            (outer, "@pipeline entraîner name: invalid component name 'entraîner': use ASCII letters")):
        with pytest.raises(ValidationError) as info:
            function()
        assert str(info.value).startswith(expected), str(info.value)
    @pipeline()
    def capitals():
        train(data=Input(path="x"), epochs=1)  # unnamed: named after its component
        Train = train(data=Input(path="x"), epochs=2)  # noqa: N806, F841

    assert list(capitals().jobs) == ["train", "Train_1"]
    # a function whose name is no ASCII names a job's display name only: free text
    job = entraîner(data=Input(path="azureml:iris:1"))
    assert job.display_name == "entraîner"
    assert rest_validate(job.to_rest(scope=LOCAL_SCOPE), "JobBaseResource") == []


def test_a_node_swept_in_a_pipeline_becomes_a_sweep_node(components, tmp_path):
    train, score = components

    @pipeline()
    def tuned(data):
        tune = train(data=data, epochs=Choice([5, 10])).sweep(
            primary_metric="rmse", goal="minimize", max_total_trials=4, max_concurrent_trials=2)
        score(model=tune.outputs.model)

    job = tuned(data=Input(type="uri_folder", path="./data"))
    tune = job.jobs["tune"]
    assert isinstance(tune, Sweep) and list(job.jobs) == ["tune", "score"]
    assert tune.search_space == {"epochs": Choice([5, 10])} and tune.inputs == {"data": "${{parent.inputs.data}}"}
    assert job.jobs["score"].inputs == {"model": "${{parent.jobs.tune.outputs.model}}"}
    job.dump(tmp_path / "p.yml")
    assert load_job(tmp_path / "p.yml") == job
    with pytest.raises(ValidationError, match="search_space.epochs.values: a choice needs at least one value"):
        train(epochs=Choice([])).sweep(primary_metric="rmse", goal="minimize")
