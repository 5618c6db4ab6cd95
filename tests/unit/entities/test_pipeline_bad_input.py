"""Pipelines a user gets wrong in ways the graph's own checks do not see: each is one located error."""
from __future__ import annotations

import textwrap

import pytest

import azureml_v2


def write(folder, name: str, text: str):
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def error(load, path) -> str:
    with pytest.raises(azureml_v2.ValidationError) as info:
        load(path)
    return str(info.value)


@pytest.mark.parametrize("load", [azureml_v2.load_job, azureml_v2.load_component])
def test_pipeline_component_files_that_include_each_other_name_the_loop(tmp_path, load):
    write(tmp_path, "a.yml", """\
        name: a
        type: pipeline
        jobs:
          inner:
            type: pipeline
            component: ./b.yml
        """)
    write(tmp_path, "b.yml", """\
        name: b
        type: pipeline
        jobs:
          back:
            type: pipeline
            component: ./a.yml
        """)
    top = write(tmp_path, "top.yml", """\
        type: pipeline
        jobs:
          outer:
            type: pipeline
            component: ./a.yml
        """)
    text = error(load, top if load is azureml_v2.load_job else tmp_path / "a.yml")
    assert len(text.splitlines()) == 1, text
    assert text == (f"{tmp_path / 'b.yml'}:6:5 jobs.back.component: the component files include each other: "
                    "a.yml -> b.yml -> a.yml")


@pytest.mark.parametrize("size", ['"0"', '"0kb"', "0", '"00mb"'])
def test_a_mini_batch_size_of_nothing_is_refused_when_loaded_not_when_run(tmp_path, size):
    (tmp_path / "src").mkdir()
    (tmp_path / "data").mkdir()
    path = write(tmp_path, "p.yml", f"""\
        type: pipeline
        jobs:
          score:
            type: parallel
            inputs:
              data: {{type: uri_folder, path: ./data}}
            outputs:
              out: {{type: uri_file}}
            input_data: ${{{{inputs.data}}}}
            mini_batch_size: {size}
            task:
              type: run_function
              code: ./src
              entry_script: score.py
              environment: {{image: python:3.11-slim}}
              append_row_to: ${{{{outputs.out}}}}
        """)
    assert error(azureml_v2.load_job, path) == f"{path}:10:5 jobs.score.mini_batch_size: must be at least 1"


COMPONENT = """\
    name: {name}
    type: command
    inputs:
      x: {{type: string}}
    outputs:
      out: {{type: uri_folder}}
    environment: {{image: python:3.11-slim}}
    command: echo ${{{{inputs.x}}}} > ${{{{outputs.out}}}}/x
    """


def test_a_dsl_node_named_after_a_component_with_a_dash_is_a_node_name_that_loads_back(tmp_path):
    from azureml_v2.dsl import pipeline

    component = azureml_v2.load_component(write(tmp_path, "c.yml", COMPONENT.format(name="My-Writer")))

    @pipeline(default_compute="local")
    def build():
        return {"result": component(x="a").outputs.out}  # the node is held by no variable

    job = build()
    assert list(job.jobs) == ["my_writer"]
    job.dump(tmp_path / "p.yml")
    assert list(azureml_v2.load_job(tmp_path / "p.yml").jobs) == ["my_writer"]


def test_a_dsl_output_that_is_no_port_name_is_refused(tmp_path):
    from azureml_v2.dsl import pipeline

    component = azureml_v2.load_component(write(tmp_path, "c.yml", COMPONENT.format(name="writer")))

    @pipeline()
    def build():
        return {"my result": component(x="a").outputs.out}

    with pytest.raises(azureml_v2.ValidationError) as info:
        build()
    assert str(info.value) == ("@pipeline build outputs.my result: 'my result' is not an output name: use letters, "
                               "digits and '_', starting with a letter or '_'")
