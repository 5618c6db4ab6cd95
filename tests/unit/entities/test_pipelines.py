"""Pipeline jobs and pipeline/parallel components: loading, the graph's located checks, dumps that load back
equal, and the REST bodies azure-ai-ml sends (docs/architecture.md, "Pipeline jobs on the wire")."""
from __future__ import annotations

import textwrap

import pytest

import azureml_v2
from azureml_v2._contract import LOCAL_SCOPE as SCOPE
from azureml_v2.entities.component import CommandComponent, component_from_rest
from azureml_v2.entities.pipeline import (Command, Parallel, ParallelComponent, Pipeline, PipelineComponent,
                                          PipelineJob, Sweep, component_to_rest_id)

TRAIN = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
name: train
version: 3
type: command
inputs:
  data: {type: uri_folder}
  epochs: {type: integer}
  lr: {type: number, default: 0.01}
outputs:
  model: {type: uri_folder}
  ok: {type: boolean, is_control: true, early_available: true}
code: ./src
environment: azureml:sklearn:1
command: >-
  python train.py --data ${{inputs.data}} --epochs ${{inputs.epochs}} --lr ${{inputs.lr}}
  --model ${{outputs.model}}
"""
SCORE = """\
name: score
type: command
inputs:
  model: {type: uri_folder}
  threshold: {type: number, optional: true}
outputs:
  scores: {type: uri_file}
environment: azureml:sklearn:1
command: python score.py ${{inputs.model}} ${{outputs.scores}}
"""
PIPELINE = """\
$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
display_name: train-score
inputs:
  epochs: 20
  data: {type: uri_folder, path: ./data}
outputs:
  final: {mode: upload}
settings:
  default_compute: azureml:cpu-cluster
  default_datastore: azureml:workspaceblobstore
  continue_on_step_failure: true
jobs:
  train:
    type: command
    component: ./train.yml
    inputs:
      data: ${{parent.inputs.data}}
      epochs: ${{parent.inputs.epochs}}
    resources: {instance_count: 2}
    environment_variables: {MODE: fast}
  score:
    component: file:./score.yml
    compute: azureml:gpu-cluster
    inputs:
      model: ${{parent.jobs.train.outputs.model}}
      threshold: 0.5
    outputs:
      scores: ${{parent.outputs.final}}
  hello:
    command: echo ${{inputs.greeting}} > ${{outputs.out}}/x.txt
    environment: azureml:sklearn:1
    inputs:
      greeting: hi
    outputs:
      out:
"""


def write(folder, name: str, text: str):
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def project(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text("print('train')\n")
    (tmp_path / "data").mkdir()
    write(tmp_path, "train.yml", TRAIN)
    write(tmp_path, "score.yml", SCORE)
    return tmp_path


def problems(path) -> list[str]:
    with pytest.raises(azureml_v2.ValidationError) as info:
        azureml_v2.load_job(path)
    return [line.removeprefix(f"{path}:") for line in str(info.value).splitlines()]


def test_a_pipeline_loads_with_its_nodes_and_components(project):
    job = azureml_v2.load_job(write(project, "p.yml", PIPELINE))
    assert isinstance(job, PipelineJob)
    assert list(job.jobs) == ["train", "score", "hello"]
    train, score, hello = job.jobs.values()
    assert isinstance(train, Command) and train.component.name == "train" and train.resources.instance_count == 2
    assert train.component.outputs["ok"].is_control and train.component.outputs["ok"].early_available
    assert score.component.name == "score" and score.compute == "azureml:gpu-cluster"
    assert score.outputs == {"scores": "${{parent.outputs.final}}"}
    # an inline command: an anonymous component whose interface is read off the node's values
    assert hello.component.name is None and hello.component.command.startswith("echo")
    assert hello.component.inputs["greeting"].type == "string"
    assert hello.component.outputs["out"].type == "uri_folder"
    assert job.settings.continue_on_step_failure is True


def test_a_dump_loads_back_equal_from_another_folder(project, tmp_path_factory, monkeypatch):
    job = azureml_v2.load_job(write(project, "p.yml", PIPELINE))
    out = tmp_path_factory.mktemp("elsewhere") / "p.yml"
    job.dump(out)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    again = azureml_v2.load_job(out)
    assert again == job
    again.dump(out.with_name("q.yml"))
    assert out.with_name("q.yml").read_text() == out.read_text()


def test_the_rest_body_has_azure_ai_mls_node_shape(project, rest_validate):
    job = azureml_v2.load_job(write(project, "p.yml", PIPELINE))
    body = job.to_rest(scope=SCOPE)
    assert rest_validate(body, "JobBaseResource") == []
    props = body["properties"]
    assert props["jobType"] == "Pipeline"
    assert props["inputs"]["epochs"] == {"jobInputType": "literal", "value": "20"}
    assert props["settings"] == {"default_compute": f"{SCOPE}/computes/cpu-cluster",
                                 "default_datastore": f"{SCOPE}/datastores/workspaceblobstore",
                                 "continue_on_step_failure": True}
    train, score, hello = (props["jobs"][n] for n in ("train", "score", "hello"))
    assert train["type"] == "command" and train["name"] == "train"
    assert train["componentId"] == component_to_rest_id(job.jobs["train"].component, SCOPE)
    assert "/components/azureml_anonymous/versions/" in train["componentId"]
    assert train["inputs"]["epochs"] == {"job_input_type": "literal", "value": "${{parent.inputs.epochs}}"}
    assert train["resources"] == {"instance_count": 2}
    assert train["environment_variables"] == {"MODE": "fast"}
    assert score["computeId"] == f"{SCOPE}/computes/gpu-cluster"
    assert score["inputs"]["model"] == {"job_input_type": "literal",
                                        "value": "${{parent.jobs.train.outputs.model}}"}
    assert score["inputs"]["threshold"] == {"job_input_type": "literal", "value": "0.5"}
    assert score["outputs"]["scores"] == {"type": "literal", "value": "${{parent.outputs.final}}"}
    assert hello["outputs"]["out"] == {"job_output_type": "uri_folder"}


def test_the_anonymous_version_is_the_content_hash_of_the_spec(project):
    a = azureml_v2.load_component(project / "train.yml")
    b = azureml_v2.load_component(project / "train.yml")
    b.name, b.version = "other", "9"  # name and version do not count
    assert component_to_rest_id(a, SCOPE) == component_to_rest_id(b, SCOPE)
    b.command += " --verbose"
    assert component_to_rest_id(a, SCOPE) != component_to_rest_id(b, SCOPE)
    assert component_to_rest_id("azureml:train:3", SCOPE) == f"{SCOPE}/components/train/versions/3"


def test_a_job_read_back_from_rest_names_its_components_by_id(project):
    job = azureml_v2.load_job(write(project, "p.yml", PIPELINE))
    body = job.to_rest(scope=SCOPE)
    back = PipelineJob._from_rest({"name": "p1", **body})
    assert back.name == "p1" and back.settings.continue_on_step_failure is True
    assert back.settings.default_compute == f"{SCOPE}/computes/cpu-cluster"
    assert back.jobs["train"].component == "azureml:" + body["properties"]["jobs"]["train"]["componentId"]
    assert back.jobs["train"].resources == job.jobs["train"].resources
    assert back.jobs["score"].outputs == job.jobs["score"].outputs
    assert back.jobs["score"].inputs["model"] == "${{parent.jobs.train.outputs.model}}"
    assert back.to_rest(scope=SCOPE)["properties"]["jobs"] == body["properties"]["jobs"]


# -- located checks, each naming its node ---------------------------------------------------------------------
@pytest.mark.parametrize("old, new, expected", [
    ("${{parent.jobs.train.outputs.model}}", "${{parent.jobs.trian.outputs.model}}",
     "26:7 jobs.score.inputs.model: node score: no node named 'trian' in this pipeline (nodes: train, score, "
     "hello) (did you mean train?)"),
    ("${{parent.jobs.train.outputs.model}}", "${{parent.jobs.train.outputs.modle}}",
     "26:7 jobs.score.inputs.model: node score: node train has no output named 'modle' (outputs: model, ok) "
     "(did you mean model?)"),
    ("      threshold: 0.5", "      treshold: 0.5",
     "27:7 jobs.score.inputs.treshold: node score: its component has no input named 'treshold' (inputs: model, "
     "threshold) (did you mean threshold?)"),
    ("      epochs: ${{parent.inputs.epochs}}", "      epochs: ${{parent.inputs.epoch}}",
     "19:7 jobs.train.inputs.epochs: node train: the pipeline has no input named 'epoch' (inputs: epochs, data) "
     "(did you mean epochs?)"),
    ("${{parent.jobs.train.outputs.model}}", "${{parent.jobs.train.outputs.ok}}",
     "26:7 jobs.score.inputs.model: node score: input 'model' (uri_folder) is bound to train.outputs.ok "
     "(boolean): the types clash"),
    ("      epochs: ${{parent.inputs.epochs}}\n", "",
     "17:5 jobs.train.inputs: node train: required input 'epochs' is not given"),
    ("${{parent.outputs.final}}", "${{parent.outputs.finale}}",
     "29:7 jobs.score.outputs.scores: node score: the pipeline has no output named 'finale'"),
    ("      data: ${{parent.inputs.data}}", "      data: ${{parent.inputs.data}}/sub",
     "18:7 jobs.train.inputs.data: node train: a binding must be the whole value"),
    ("    command: echo ${{inputs.greeting}}", "    command: echo ${{inputs.greting}}",
     "31:5 jobs.hello.command: ${{inputs.greting}}: no input named 'greting' is declared"),
    ("  train:\n", "  train-x:\n", "14:3 jobs.train-x: invalid key: invalid node name"),
])
def test_a_broken_pipeline_is_one_located_error_naming_the_node(project, old, new, expected):
    assert old in PIPELINE
    lines = problems(write(project, "p.yml", PIPELINE.replace(old, new)))
    assert any(line.startswith(expected) for line in lines), lines


def test_a_cycle_is_located_at_a_node_of_it(project):
    text = PIPELINE.replace("      epochs: ${{parent.inputs.epochs}}",
                            "      epochs: ${{parent.inputs.epochs}}\n      lr: ${{parent.jobs.score.outputs.scores}}")
    lines = problems(write(project, "p.yml", text))
    assert len(lines) == 2, lines  # the cycle, and the type of score's file output into a number
    cycle = next(line for line in lines if "cycle" in line)
    assert cycle == "14:3 jobs.train: node train: the nodes form a cycle: train -> score -> train", lines


def test_problems_inside_a_component_file_are_located_in_that_file(project):
    write(project, "score.yml", SCORE.replace("type: uri_file", "type: uri_fil"))
    with pytest.raises(azureml_v2.ValidationError) as info:
        azureml_v2.load_job(write(project, "p.yml", PIPELINE))
    assert str(info.value).startswith(f"{project / 'score.yml'}:7:12 outputs.scores.type: invalid value")


def test_a_missing_component_file_and_a_wrong_component_type(project):
    lines = problems(write(project, "p.yml", PIPELINE.replace("file:./score.yml", "./nothere.yml")))
    assert any(line.startswith("23:5 jobs.score.component: no such component file") for line in lines), lines
    lines = problems(write(project, "p.yml", PIPELINE.replace("    type: command\n    component: ./train.yml",
                                                               "    type: parallel\n    component: ./train.yml")))
    assert any("jobs.train.component: a parallel node takes a parallel component, not 'command' (set the node's "
               "type: command)" in line for line in lines), lines


def test_unsupported_node_types_are_located(project):
    lines = problems(write(project, "p.yml", PIPELINE.replace("    type: command\n", "    type: automl\n")))
    assert lines == ["15:5 jobs.train.type: not supported yet: automl nodes"]


def test_a_registered_component_is_a_reference(project, rest_validate):
    text = PIPELINE.replace("component: ./train.yml", "component: azureml:train@latest").replace(
        "component: file:./score.yml", "component: azureml:score:2")
    job = azureml_v2.load_job(write(project, "p.yml", text))
    assert job.jobs["train"].component == "azureml:train@latest"
    body = job.to_rest(scope=SCOPE)["properties"]["jobs"]
    assert body["score"]["componentId"] == f"{SCOPE}/components/score/versions/2"


# -- sweep, parallel and pipeline nodes; components ---------------------------------------------------------
SWEEP = """\
type: pipeline
jobs:
  tune:
    type: sweep
    trial: ./train.yml
    inputs:
      data: {type: uri_folder, path: ./data}
    search_space:
      epochs: {type: choice, values: [5, 10]}
      lr: {type: uniform, min_value: 0.01, max_value: 0.1}
    sampling_algorithm: random
    objective: {goal: minimize, primary_metric: rmse}
    limits: {max_total_trials: 4, max_concurrent_trials: 2, timeout: 3600}
    early_termination: {type: bandit, slack_factor: 0.1, evaluation_interval: 1}
  score:
    component: ./score.yml
    inputs:
      model: ${{parent.jobs.tune.outputs.model}}
"""


def test_a_sweep_node(project, tmp_path_factory, rest_validate):
    job = azureml_v2.load_job(write(project, "s.yml", SWEEP))
    tune = job.jobs["tune"]
    assert isinstance(tune, Sweep) and isinstance(tune.trial, CommandComponent)
    body = job.to_rest(scope=SCOPE)
    assert rest_validate(body, "JobBaseResource") == []
    node = body["properties"]["jobs"]["tune"]
    assert "componentId" not in node and node["trial"]["componentId"].startswith(f"{SCOPE}/components/")
    assert node["search_space"]["lr"] == {"type": "uniform", "min_value": 0.01, "max_value": 0.1}
    assert node["limits"] == {"max_total_trials": 4, "max_concurrent_trials": 2, "timeout": 3600}
    assert node["early_termination"] == {"policy_type": "Bandit", "evaluation_interval": 1, "slack_factor": 0.1}
    back = PipelineJob._from_rest({"name": "s", **body})
    assert back.jobs["tune"].search_space == tune.search_space
    assert back.jobs["tune"].early_termination == tune.early_termination
    out = tmp_path_factory.mktemp("out") / "s.yml"
    job.dump(out)
    assert azureml_v2.load_job(out) == job


def test_a_sweep_over_an_input_the_trial_lacks_is_located(project):
    lines = problems(write(project, "s.yml", SWEEP.replace("      lr: {type: uniform", "      rate: {type: uniform")))
    assert any(line.startswith("10:7 jobs.tune.search_space.rate: the trial component has no input named 'rate'")
               for line in lines), lines


PARALLEL = """\
$schema: https://azuremlschemas.azureedge.net/latest/parallelComponent.schema.json
name: batch_score
version: 1
type: parallel
inputs:
  data: {type: uri_folder}
  model: {type: uri_folder}
outputs:
  scores: {type: uri_file}
input_data: ${{inputs.data}}
mini_batch_size: "10kb"
mini_batch_error_threshold: 5
max_concurrency_per_instance: 2
logging_level: DEBUG
retry_settings: {max_retries: 2, timeout: 60}
resources: {instance_count: 1}
task:
  type: run_function
  code: ./src
  entry_script: score.py
  environment: azureml:sklearn:1
  program_arguments: --model ${{inputs.model}}
  append_row_to: ${{outputs.scores}}
"""


def test_a_parallel_component_round_trips_to_its_spec(project, rest_validate):
    component = azureml_v2.load_component(write(project, "par.yml", PARALLEL))
    assert isinstance(component, ParallelComponent) and component.task.entry_script == "score.py"
    body = component.to_rest(scope=SCOPE)
    assert rest_validate(body, "ComponentVersionResource") == []
    spec = body["properties"]["componentSpec"]
    assert spec["type"] == "parallel" and spec["input_data"] == "${{inputs.data}}"
    assert spec["retry_settings"] == {"max_retries": 2, "timeout": 60}
    assert spec["task"]["environment"] == f"azureml:{SCOPE}/environments/sklearn/versions/1"
    back = component_from_rest({"id": f"{SCOPE}/components/batch_score/versions/1", **body})
    assert back.task.code == spec["task"]["code"] and back.mini_batch_size == "10kb"
    assert back.inputs == component.inputs and back.outputs == component.outputs


@pytest.mark.parametrize("old, new, expected", [
    ("input_data: ${{inputs.data}}", "input_data: ${{inputs.dat}}", "10:1 input_data: no input named 'dat'"),
    ("append_row_to: ${{outputs.scores}}", "append_row_to: scores.csv",
     "23:3 task.append_row_to: expected ${{outputs.<name>}}"),
    ('mini_batch_size: "10kb"', "mini_batch_size: lots", "11:1 mini_batch_size: expected a number of files"),
    ("logging_level: DEBUG", "logging_level: LOUD", "14:1 logging_level: invalid value 'LOUD'"),
])
def test_a_broken_parallel_component_is_located(project, old, new, expected):
    path = write(project, "par.yml", PARALLEL.replace(old, new))
    with pytest.raises(azureml_v2.ValidationError) as info:
        azureml_v2.load_component(path)
    assert any(line.startswith(f"{path}:{expected}") for line in str(info.value).splitlines()), str(info.value)


def test_an_inline_parallel_node_and_a_nested_pipeline_component(project, rest_validate, tmp_path_factory):
    write(project, "par.yml", PARALLEL)
    write(project, "inner.yml", """\
        $schema: https://azuremlschemas.azureedge.net/latest/pipelineComponent.schema.json
        name: train_and_score
        type: pipeline
        inputs:
          data: {type: uri_folder}
        outputs:
          scores: {type: uri_file}
        jobs:
          train:
            component: ./train.yml
            inputs: {data: '${{parent.inputs.data}}', epochs: 3}
          batch:
            type: parallel
            component: ./par.yml
            mini_batch_size: "1mb"
            inputs:
              data: ${{parent.inputs.data}}
              model: ${{parent.jobs.train.outputs.model}}
            outputs:
              scores: ${{parent.outputs.scores}}
        """)
    inner = azureml_v2.load_component(project / "inner.yml")
    assert isinstance(inner, PipelineComponent) and isinstance(inner.jobs["batch"], Parallel)
    assert rest_validate(inner.to_rest(scope=SCOPE), "ComponentVersionResource") == []
    spec = inner.to_rest(scope=SCOPE)["properties"]["componentSpec"]
    assert spec["jobs"]["batch"]["mini_batch_size"] == "1mb"
    assert spec["jobs"]["batch"]["outputs"]["scores"] == {"type": "literal", "value": "${{parent.outputs.scores}}"}
    job = azureml_v2.load_job(write(project, "outer.yml", """\
        type: pipeline
        inputs:
          data: {type: uri_folder, path: ./data}
        jobs:
          inner:
            type: pipeline
            component: ./inner.yml
            inputs: {data: '${{parent.inputs.data}}'}
          again:
            type: parallel
            inputs:
              data: ${{parent.jobs.inner.outputs.scores}}
            outputs:
              rows: {type: uri_file}
            input_data: ${{inputs.data}}
            mini_batch_size: 10
            task:
              type: run_function
              code: ./src
              entry_script: score.py
              environment: azureml:sklearn:1
              append_row_to: ${{outputs.rows}}
        """))
    assert isinstance(job.jobs["inner"], Pipeline) and job.jobs["inner"].component == inner
    again = job.jobs["again"]
    assert again.component.mini_batch_size == 10 and again.component.inputs["data"].type == "uri_file"
    body = job.to_rest(scope=SCOPE)
    assert rest_validate(body, "JobBaseResource") == []
    assert body["properties"]["jobs"]["inner"]["type"] == "pipeline"
    out = tmp_path_factory.mktemp("out") / "outer.yml"
    job.dump(out)
    assert azureml_v2.load_job(out) == job


def test_a_missing_input_of_a_nested_pipeline_is_named(project):
    write(project, "inner.yml", """\
        name: inner
        type: pipeline
        inputs:
          data: {type: uri_folder}
        jobs:
          train:
            component: ./train.yml
            inputs: {data: '${{parent.inputs.data}}'}
        """)
    with pytest.raises(azureml_v2.ValidationError) as info:
        azureml_v2.load_component(project / "inner.yml")
    assert str(info.value) == (f"{project / 'inner.yml'}:8:5 jobs.train.inputs: node train: required input "
                               "'epochs' is not given (its component declares no default)")


def test_a_pipeline_job_from_a_pipeline_component(project, rest_validate):
    write(project, "inner.yml", """\
        name: inner
        type: pipeline
        inputs:
          data: {type: uri_folder}
          epochs: {type: integer, default: 3}
        jobs:
          train:
            component: ./train.yml
            inputs: {data: '${{parent.inputs.data}}', epochs: '${{parent.inputs.epochs}}'}
        """)
    text = "type: pipeline\ncomponent: ./inner.yml\ninputs:\n  data: {type: uri_folder, path: ./data}\n"
    job = azureml_v2.load_job(write(project, "job.yml", text))
    body = job.to_rest(scope=SCOPE)
    assert rest_validate(body, "JobBaseResource") == []
    assert body["properties"]["componentId"] == component_to_rest_id(job.component, SCOPE)
    assert list(body["properties"]["jobs"]) == ["train"]
    lines = problems(write(project, "job.yml", text.replace("  data:", "  dta:")))
    assert any(line.startswith("4:3 inputs.dta: the pipeline component has no input named 'dta'") for line in lines)


def test_settings_pass_unknown_keys_on_as_azure_ml_takes_them(project):
    text = PIPELINE.replace("  continue_on_step_failure: true", "  continue_on_step_failure: true\n  custom: 1")
    job = azureml_v2.load_job(write(project, "p.yml", text))
    assert job.settings.extra == {"custom": 1}
    assert job.to_rest(scope=SCOPE)["properties"]["settings"]["custom"] == 1
    assert "  custom: 1\n" in job.dump()


def test_component_additional_includes_and_control_outputs(project):
    (project / "common").mkdir()
    component = azureml_v2.load_component(write(project, "train.yml", TRAIN + "additional_includes:\n- ./common\n"))
    assert component.additional_includes == [str(project / "common")]
    spec = component.to_rest(scope=SCOPE)["properties"]["componentSpec"]
    assert "additional_includes" not in spec
    assert spec["outputs"]["ok"] == {"type": "boolean", "is_control": True, "early_available": True}
    path = write(project, "bad.yml", TRAIN.replace("is_control: true, ", ""))
    with pytest.raises(azureml_v2.ValidationError, match="early_available: only a control output"):
        azureml_v2.load_component(path)


def test_an_inline_node_declares_only_the_ports_it_gives(project):
    text = PIPELINE.replace("      threshold: 0.5", "      threshold: ${{parent.jobs.hello.outputs.missing}}")
    lines = problems(write(project, "p.yml", text))
    assert lines == ["27:7 jobs.score.inputs.threshold: node score: node hello has no output named 'missing' "
                     "(outputs: out)"], lines
