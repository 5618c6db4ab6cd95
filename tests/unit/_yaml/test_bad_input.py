"""The bad-input catalogue: for each kind of mistake, the exact located lines a user sees.

Every case goes through `problems()`, which also checks what holds for all bad input: one
`azureml_v2.ValidationError`, no chained marshmallow/yaml exception, one short line per
problem, in file order.
"""
from __future__ import annotations

import io
import textwrap
import time
from pathlib import Path

import pytest

import azureml_v2
from azureml_v2 import NotSupportedError, ValidationError

ENV_REF = "azureml:AzureML-sklearn-1.5@latest"


@pytest.fixture
def here(tmp_path, monkeypatch) -> Path:
    """Work in an empty folder so that sources read `job.yml:L:C`."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()
    return tmp_path


def write(name: str, text: str | bytes) -> str:
    if isinstance(text, str):
        text = textwrap.dedent(text).lstrip("\n").encode("utf-8")
    Path(name).write_bytes(text)
    return name


def problems(load, source, **kwargs) -> list[str]:
    """The lines of the one ValidationError `load(source)` raises, after checking its shape."""
    with pytest.raises(ValidationError) as info:
        load(source, **kwargs)
    exc = info.value
    assert type(exc) in (ValidationError, NotSupportedError)  # not marshmallow's or yaml's
    # nothing chained: a traceback print shows no marshmallow or yaml exception
    assert exc.__cause__ is None and (exc.__context__ is None or exc.__suppress_context__)
    lines = str(exc).split("\n")
    assert lines == [str(p) for p in exc.problems]
    for line in lines:
        assert len(line) <= 320 and '\\"' not in line and "{'" not in line, line
    positions = [(p.line or 0, p.column or 0) for p in exc.problems]
    assert positions == sorted(positions), "problems are not in file order"
    return lines


# -- unknown fields, at any depth, with hints ---------------------------------------------------
def test_unknown_fields_at_top_level_with_hints(here):
    path = write("data.yml", """
        name: iris
        type: uri_file
        path: https://example.com/iris.csv
        descriptin: the iris data
        zzzzzz: 1
    """)
    assert problems(azureml_v2.load_data, path) == [
        "data.yml:4:1 descriptin: unknown field (did you mean description?)",
        "data.yml:5:1 zzzzzz: unknown field",
    ]


def test_unknown_field_nested_in_environment(here):
    path = write("env.yml", """
        name: serve
        image: python:3.11-slim
        inference_config:
          scoring_route:
            path: /score
            prot: 5001
    """)
    assert problems(azureml_v2.load_environment, path) == [
        "env.yml:4:3 inference_config.scoring_route.port: required field is missing",
        "env.yml:6:5 inference_config.scoring_route.prot: unknown field (did you mean port?)",
    ]


def test_unknown_field_in_job_resources(here):
    path = write("job.yml", f"""
        command: python train.py
        environment: {ENV_REF}
        resources:
          instance_cont: 2
    """)
    assert problems(azureml_v2.load_job, path) == [
        "job.yml:4:3 resources.instance_cont: unknown field (did you mean instance_count?)"]


def test_unknown_field_in_datastore_credentials(here):
    path = write("blob.yml", """
        name: blobstore
        type: azure_blob
        account_name: account
        container_name: data
        credentials:
          account_kye: secret
    """)
    assert problems(azureml_v2.load_datastore, path) == [
        "blob.yml:6:3 credentials.account_kye: unknown field (did you mean account_key?)"]


def test_unknown_fields_in_sweep_parts(here):
    path = write("sweep.yml", f"""
        type: sweep
        trial:
          command: python train.py --lr ${{{{search_space.lr}}}}
          environment: {ENV_REF}
          code: src
        sampling_algorithm: random
        search_space:
          lr:
            type: uniform
            min_value: 0.01
            max_valu: 0.1
        objective:
          goal: minimize
          primary_metirc: loss
    """)
    assert problems(azureml_v2.load_job, path) == [
        "sweep.yml:8:3 search_space.lr.max_value: required field is missing",
        "sweep.yml:11:5 search_space.lr.max_valu: unknown field (did you mean max_value?)",
        "sweep.yml:12:1 objective.primary_metric: required field is missing",
        "sweep.yml:14:3 objective.primary_metirc: unknown field (did you mean primary_metric?)",
    ]


# -- cross-field rules are reported with the per-field problems, not after they are fixed ----------
def test_environment_reports_an_unknown_field_and_a_missing_base_at_once(here):
    path = write("env.yml", """
        name: serve
        descripton: no image
    """)
    assert problems(azureml_v2.load_environment, path) == [
        "env.yml:1:1 image: an environment needs an `image` or a `build` context",
        "env.yml:2:1 descripton: unknown field (did you mean description?)",
    ]


def test_environment_with_a_bad_build_and_an_image_reports_both(here):
    path = write("env.yml", """
        name: serve
        image: python:3.11-slim
        build:
          pth: src
    """)
    assert problems(azureml_v2.load_environment, path) == [
        "env.yml:3:1 build: give either `image` or `build`, not both",
        "env.yml:3:1 build.path: required field is missing",
        "env.yml:4:3 build.pth: unknown field (did you mean path?)",
    ]


def test_a_failed_field_does_not_make_up_an_environment_rule(here):
    path = write("env.yml", """
        name: serve
        image: 5
    """)
    assert problems(azureml_v2.load_environment, path) == ["env.yml:2:1 image: expected a string, got an integer"]


def test_sweep_reports_unknown_fields_and_cross_field_rules_at_once(here):
    path = write("sweep.yml", f"""
        type: sweep
        trial:
          command: python train.py --lr ${{{{search_space.lr}}}}
          environment: {ENV_REF}
          code: src
        sampling_algorithm:
          type: bayesian
          seed: 3
          sede: 4
        search_space:
          lr:
            type: uniform
            min_value: 0.01
            max_value: 0.1
        objective:
          goal: minimize
          primary_metric: loss
        limits:
          max_total_trials: 2
          max_concurrent_trials: 5
        computee: cpu
    """)
    assert problems(azureml_v2.load_job, path) == [
        "sweep.yml:8:3 sampling_algorithm.seed: seed applies to random sampling only (type: random), not bayesian",
        "sweep.yml:9:3 sampling_algorithm.sede: unknown field (did you mean seed?)",
        "sweep.yml:21:1 computee: unknown field (did you mean compute?)",
    ]


def test_a_failed_sampling_type_does_not_make_up_a_seed_rule(here):
    path = write("sweep.yml", f"""
        type: sweep
        trial:
          command: python train.py --lr ${{{{search_space.lr}}}}
          environment: {ENV_REF}
        sampling_algorithm:
          type: rnadom
          seed: 3
        search_space:
          lr: {{type: uniform, min_value: 0.01, max_value: 0.1}}
        objective: {{goal: minimize, primary_metric: loss}}
    """)
    assert problems(azureml_v2.load_job, path) == [
        "sweep.yml:6:3 sampling_algorithm.type: invalid value 'rnadom': expected one of random, grid, bayesian "
        "(did you mean random?)"]


def test_input_rules_are_reported_with_an_unknown_field(here):
    path = write("job.yml", f"""
        command: python train.py --n ${{{{inputs.n}}}}
        environment: {ENV_REF}
        inputs:
          n:
            type: integer
            min: 5
            max: 1
            mdoe: ro_mount
    """)
    assert problems(azureml_v2.load_job, path) == [
        "job.yml:6:5 inputs.n.min: min (5) is greater than max (1)",
        "job.yml:8:5 inputs.n.mdoe: unknown field (did you mean mode?)",
    ]


def test_job_service_rules_are_reported_with_an_unknown_field_but_not_for_a_bad_type(here):
    path = write("job.yml", f"""
        command: python train.py
        environment: {ENV_REF}
        services:
          a:
            type: jupyterlab
            log_dir: logs
          b:
            type: jupyter_lab
            log_dir: logs
            prot: 8888
    """)
    assert problems(azureml_v2.load_job, path) == [
        "job.yml:5:5 services.a.type: invalid value 'jupyterlab': expected one of jupyter_lab, ssh, tensor_board, "
        "vs_code (did you mean jupyter_lab?)",
        "job.yml:9:5 services.b.log_dir: only a tensor_board service takes log_dir",
        "job.yml:10:5 services.b.prot: unknown field (did you mean port?)",
    ]


def test_known_but_unsupported_field_says_so(here):
    path = write("env.yml", """
        name: serve
        image: python:3.11-slim
        interpreter_path: /usr/bin/python3
    """)
    assert problems(azureml_v2.load_environment, path) == ["env.yml:3:1 interpreter_path: not supported yet"]
    with pytest.raises(NotSupportedError):
        azureml_v2.load_environment(path)


def test_an_unsupported_field_among_other_problems_is_a_plain_validation_error(here):
    path = write("env.yml", """
        name: serve
        image: python:3.11-slim
        interpreter_path: /usr/bin/python3
        os_type: solaris
    """)
    with pytest.raises(ValidationError) as info:
        azureml_v2.load_environment(path)
    assert type(info.value) is ValidationError and len(info.value.problems) == 2


# -- wrong types ----------------------------------------------------------------------------------
def test_wrong_types_say_what_was_expected_and_found(here):
    path = write("env.yml", """
        name: serve
        image: [python]
        description: {text: hello}
        tags: [a, b]
        inference_config:
          scoring_route: {path: /score, port: five}
    """)
    assert problems(azureml_v2.load_environment, path) == [
        "env.yml:2:1 image: expected a string, got a list",
        "env.yml:3:1 description: expected a string, got a mapping",
        "env.yml:4:1 tags: expected a mapping, got a list",
        "env.yml:6:33 inference_config.scoring_route.port: expected an integer, got a string",
    ]


def test_wrong_types_in_a_command_job(here):
    path = write("job.yml", f"""
        command: python train.py
        environment: {ENV_REF}
        environment_variables: [A, B]
        resources:
          instance_count: two
        limits:
          timeout: an hour
    """)
    assert problems(azureml_v2.load_job, path) == [
        "job.yml:3:1 environment_variables: expected a mapping, got a list",
        "job.yml:5:3 resources.instance_count: expected an integer, got a string",
        "job.yml:7:3 limits.timeout: expected seconds or an ISO 8601 duration, got 'an hour'",
    ]


def test_numeric_keys_in_tags_are_names(here):
    path = write("data.yml", """
        name: iris
        path: https://example.com/iris.csv
        tags: {2021: release, true: yes}
    """)
    assert azureml_v2.load_data(path).tags == {"2021": "release", "True": True}


def test_keys_that_are_not_names(here):
    path = write("job.yml", f"""
        command: python train.py --lr ${{{{inputs.lr}}}}
        environment: {ENV_REF}
        inputs:
          lr: 0.1
          1: 0.5
        7: seven
    """)
    assert problems(azureml_v2.load_job, path) == [
        "job.yml:5:3 inputs.1: invalid key: expected a string, got an integer",
        "job.yml:6:1 7: unknown field",
    ]


# -- enum values, with hints -----------------------------------------------------------------------
def test_enum_values_list_the_choices_and_hint(here):
    path = write("env.yml", """
        name: serve
        image: python:3.11-slim
        os_type: linx
    """)
    assert problems(azureml_v2.load_environment, path) == [
        "env.yml:3:1 os_type: invalid value 'linx': expected one of linux, windows (did you mean linux?)"]


def test_enum_case_is_not_a_mistake(here):
    path = write("data.yml", "name: iris\ntype: URI_File\npath: https://example.com/iris.csv\n")
    assert azureml_v2.load_data(path).type == "uri_file"


def test_job_enums_and_types(here):
    path = write("job.yml", f"""
        type: comand
        command: python train.py
        environment: {ENV_REF}
    """)
    assert problems(azureml_v2.load_job, path) == [
        "job.yml:1:1 type: invalid value 'comand': expected one of command, sweep, pipeline, spark, automl, "
        "parallel, import, data_transfer, finetuning, distillation (did you mean command?)"]
    path = write("dist.yml", f"""
        command: python train.py
        environment: {ENV_REF}
        distribution:
          type: pytroch
    """)
    assert problems(azureml_v2.load_job, path) == [
        "dist.yml:4:3 distribution.type: invalid value 'pytroch': expected one of pytorch, mpi, tensorflow "
        "(did you mean pytorch?)"]


def test_model_type_hint(here):
    Path("model.pkl").write_bytes(b"")
    path = write("model.yml", "name: clf\npath: model.pkl\ntype: mlflow\n")
    assert problems(azureml_v2.load_model, path) == [
        "model.yml:3:1 type: invalid value 'mlflow': expected one of custom_model, mlflow_model, triton_model "
        "(did you mean mlflow_model?)"]


def test_sweep_goal_hint(here):
    path = write("sweep.yml", f"""
        type: sweep
        trial:
          command: python train.py --lr ${{{{search_space.lr}}}}
          environment: {ENV_REF}
        sampling_algorithm: randon
        search_space:
          lr: {{type: choice, values: [0.1, 0.01]}}
        objective: {{goal: minimise, primary_metric: loss}}
    """)
    assert problems(azureml_v2.load_job, path) == [
        "sweep.yml:5:1 sampling_algorithm: invalid value 'randon': expected one of random, grid, bayesian "
        "(did you mean random?)",
        "sweep.yml:8:13 objective.goal: invalid value 'minimise': expected one of minimize, maximize "
        "(did you mean minimize?)",
    ]


# -- required fields -------------------------------------------------------------------------------
def test_required_fields_are_located_at_their_mapping(here):
    path = write("env.yml", """
        name: serve
        build:
          dockerfile_path: Dockerfile
    """)
    assert problems(azureml_v2.load_environment, path) == ["env.yml:2:1 build.path: required field is missing"]
    path = write("data.yml", "name: iris\ntype: uri_file\n")
    assert problems(azureml_v2.load_data, path) == ["data.yml:1:1 path: required field is missing"]


def test_job_required_fields(here):
    path = write("job.yml", "display_name: no command, no environment\n")
    assert problems(azureml_v2.load_job, path) == [
        "job.yml:1:1 command: required field is missing",
        "job.yml:1:1 environment: required field is missing",
    ]


# -- names --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["my data", "-iris", "_iris", "iris.v2", "a" * 256, "ïris"])
def test_names_follow_the_rest_pattern(here, name):
    path = write("data.yml", f"name: '{name}'\npath: https://example.com/iris.csv\n")
    shown = repr(name) if len(repr(name)) <= 60 else repr(name)[:56] + "...'"
    assert problems(azureml_v2.load_data, path) == [
        f"data.yml:1:1 name: invalid name {shown}: use letters, digits, '-' and '_' (at most 255), "
        "starting with a letter or digit"]


@pytest.mark.parametrize("name", ["iris", "Iris-2_0", "0", "a" * 255])
def test_good_names_load(here, name):
    path = write("data.yml", f"name: '{name}'\npath: https://example.com/iris.csv\n")
    assert azureml_v2.load_data(path).name == name


def test_job_name_pattern(here):
    path = write("job.yml", f"name: my job\ncommand: echo hi\nenvironment: {ENV_REF}\n")
    assert problems(azureml_v2.load_job, path) == [
        "job.yml:1:1 name: invalid name 'my job': use letters, digits, '-' and '_' (at most 255), "
        "starting with a letter or digit"]


# -- references -----------------------------------------------------------------------------------------
BAD_DATA_PATHS = {
    "azureml://datastores/blobstore": "malformed reference 'azureml://datastores/blobstore': expected "
    "azureml://datastores/<datastore>/paths/<path>, azureml://jobs/<job>/outputs/<output> or "
    "azureml://registries/<registry>/<kind>/<name>/versions/<version>",
    "azureml:iris::1": "malformed reference 'azureml:iris::1': expected azureml:<name>:<version> or "
    "azureml:<name>@<label>",
    "azureml:iris@": "malformed reference 'azureml:iris@': expected azureml:<name>:<version> or "
    "azureml:<name>@<label>",
    "/subscriptions/0000/resourceGroups/rg": "malformed URI '/subscriptions/0000/resourceGroups/rg'",
    "https://": "malformed URI 'https://'",
}


@pytest.mark.parametrize("value", list(BAD_DATA_PATHS))
def test_malformed_references_in_paths(here, value):
    path = write("data.yml", f"name: iris\npath: '{value}'\n")
    assert problems(azureml_v2.load_data, path) == [f"data.yml:2:1 path: {BAD_DATA_PATHS[value]}"]


@pytest.mark.parametrize("value", ["azureml://datastores/blobstore/paths/iris/iris.csv",
                                   "azureml://jobs/run-1/outputs/model",
                                   "https://example.com/iris.csv", "wasbs://data@account.blob.core.windows.net/x"])
def test_good_references_in_paths_load(here, value):
    path = write("data.yml", f"name: iris\npath: '{value}'\n")
    assert azureml_v2.load_data(path).path == value


ARM_ENV = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
           "Microsoft.MachineLearningServices/workspaces/ws/environments/sklearn/versions/3")


@pytest.mark.parametrize("value,message", [
    ("azureml:sklearn", "reference 'azureml:sklearn' names no version: write azureml:<name>:<version> or "
                        "azureml:<name>@latest"),
    ("azureml:sklearn::2", "malformed reference 'azureml:sklearn::2': expected azureml:<name>:<version> or "
                           "azureml:<name>@<label>"),
    ("azureml:sklearn@", "malformed reference 'azureml:sklearn@': expected azureml:<name>:<version> or "
                         "azureml:<name>@<label>"),
    ("sklearn:1", "malformed reference 'sklearn:1': expected azureml:<name>:<version>, azureml:<name>@<label> "
                  "or an ARM id"),
    ("/subscriptions/0000/resourceGroups/rg/environments/x", "malformed reference '/subscriptions/0000/"
     "resourceGroups/rg/environments/x': expected azureml:<name>:<version>, azureml:<name>@<label> or an ARM id"),
])
def test_malformed_environment_references(here, value, message):
    path = write("job.yml", f"command: echo hi\nenvironment: '{value}'\n")
    assert problems(azureml_v2.load_job, path) == [f"job.yml:2:1 environment: {message}"]


@pytest.mark.parametrize("value", ["azureml:sklearn:3", "azureml:sklearn:1:2", "azureml:sklearn@latest", ARM_ENV,
                                   f"azureml:{ARM_ENV}",
                                   "azureml://registries/azureml/environments/sklearn/versions/3"])
def test_good_environment_references_load(here, value):
    path = write("job.yml", f"command: echo hi\nenvironment: '{value}'\n")
    assert azureml_v2.load_job(path).environment == value


# -- missing local paths --------------------------------------------------------------------------------
def test_missing_local_paths_name_the_resolved_path(here):
    Path("conf").mkdir()
    path = write("conf/env.yml", """
        name: serve
        image: python:3.11-slim
        conda_file: ../envs/conda.yml
    """)
    assert problems(azureml_v2.load_environment, path) == [
        f"conf/env.yml:3:1 conda_file: no such file or folder: {here}/envs/conda.yml (from '../envs/conda.yml')"]
    path = write("code.yml", "name: src\npath: ./srcc\n")
    assert problems(azureml_v2.load_code, path) == [
        f"code.yml:2:1 path: no such file or folder: {here}/srcc (from './srcc')"]


def test_missing_code_of_a_job(here):
    path = write("job.yml", f"command: echo hi\ncode: ./sources\nenvironment: {ENV_REF}\n")
    assert problems(azureml_v2.load_job, path) == [
        f"job.yml:2:1 code: no such file or folder: {here}/sources (from './sources')"]


def test_missing_file_to_load(here):
    assert problems(azureml_v2.load_data, "nowhere.yml") == ["nowhere.yml: cannot read file: No such file or directory"]


# -- YAML syntax, tabs, recursive aliases, duplicates -----------------------------------------------------
TAB = "YAML syntax: a tab cannot indent or start a value here; indent with spaces"
RECURSIVE = "an alias refers to a node that contains it (recursive anchors are not supported)"


@pytest.mark.parametrize("text,line", [
    ("name: iris\n  type: [uri_file\n", "data.yml:2:7: YAML syntax: mapping values are not allowed in this context"),
    ("name: iris\npath: 'https://example.com\n", "data.yml:3:1: YAML syntax: found unexpected end of stream "
                                                  "(while scanning a quoted scalar at line 2)"),
    ("name: iris\ntags: {a: 1\n", "data.yml:3:1: YAML syntax: did not find expected ',' or '}' "
                                  "(while parsing a flow mapping at line 2)"),
    ("name: iris\n- path\n", "data.yml:2:1: YAML syntax: did not find expected key "
                             "(while parsing a block mapping at line 1)"),
    ("name: *nowhere\n", "data.yml:1:7: YAML syntax: found undefined alias"),
    ("name: iris\n---\nname: other\n", "data.yml:2:1: YAML syntax: a second document (after `---`); "
                                       "a file holds one resource"),
    ("name: !!python/object:os.system iris\n", "data.yml:1:7: unsupported tag "
                                                "'tag:yaml.org,2002:python/object:os.system'"),
    ("name: !secret iris\n", "data.yml:1:7: unsupported tag '!secret'"),
    ("name: iris\n\tpath: x\n", f"data.yml:2:1: {TAB}"),
    ("name: iris\ntags:\n\ta: 1\n", f"data.yml:3:1: {TAB}"),
    ("name:\tiris\npath:\n\t- x\n", f"data.yml:3:1: {TAB}"),
    ("name: &a [*a]\n", f"data.yml:1:7: {RECURSIVE}"),
    ("name: iris\ntags: &t {self: *t}\n", f"data.yml:2:7: {RECURSIVE}"),
    ("a: &a\n  b: &b\n    c: *a\n", f"data.yml:1:4: {RECURSIVE}"),
])
def test_yaml_syntax_errors_tabs_and_recursive_aliases_are_located(here, text, line):
    assert problems(azureml_v2.load_data, write("data.yml", text)) == [line]


def test_tab_inside_a_value_is_fine(here):
    path = write("data.yml", "name: iris\ndescription: \"a\\tb\"\npath: https://example.com/x\n")
    assert azureml_v2.load_data(path).description == "a\tb"


def test_duplicate_keys_are_reported_with_the_other_problems(here):
    path = write("data.yml", """
        name: iris
        type: uri_flie
        path: https://example.com/iris.csv
        tags:
          stage: dev
          stage: prod
        name: iris2
    """)
    assert problems(azureml_v2.load_data, path) == [
        "data.yml:2:1 type: invalid value 'uri_flie': expected one of uri_file, uri_folder, mltable "
        "(did you mean uri_file?)",
        "data.yml:6:3 tags.stage: duplicate key (first at line 5)",
        "data.yml:7:1 name: duplicate key (first at line 1)",
    ]


def test_duplicate_keys_alone_still_fail(here):
    path = write("data.yml", "name: iris\npath: https://example.com/a\npath: https://example.com/b\n")
    assert problems(azureml_v2.load_data, path) == ["data.yml:3:1 path: duplicate key (first at line 2)"]


def test_merge_keys_may_override_without_being_duplicates(here):
    path = write("env.yml", """
        base: &base {name: base, image: "python:3.10", description: shared}
        <<: *base
        name: serve
        image: python:3.11-slim
    """)
    assert problems(azureml_v2.load_environment, path) == ["env.yml:1:1 base: unknown field"]


# -- empty, non-mapping, bytes that are not text ---------------------------------------------------------
@pytest.mark.parametrize("text,where", [("", "1:1"), ("\n\n", "1:1"), ("# only a comment\n", "1:1"),
                                        ("---\n", "2:1"), ("~\n", "1:1")])
def test_empty_documents(here, text, where):
    assert problems(azureml_v2.load_data, write("data.yml", text)) == [f"data.yml:{where}: the document is empty"]


@pytest.mark.parametrize("text,found", [("- name: iris\n", "a list"), ("iris\n", "a string"), ("42\n", "an integer"),
                                        ("true\n", "a boolean")])
def test_non_mapping_documents(here, text, found):
    assert problems(azureml_v2.load_data, write("data.yml", text)) == [
        f"data.yml:1:1: expected a mapping of fields at the top level, got {found}"]


def test_binary_garbage(here):
    garbage = bytes(range(256)) * 4
    assert problems(azureml_v2.load_data, write("data.yml", garbage)) == [
        "data.yml:2:118: not UTF-8 text: byte 0x80 cannot be decoded (save the file as UTF-8)"]
    assert problems(azureml_v2.load_data, write("data.yml", b"\x89PNG\r\n\x1a\n\x00\x00")) == [
        "data.yml:1:1: not UTF-8 text: byte 0x89 cannot be decoded (save the file as UTF-8)"]


def test_non_utf8_text(here):
    path = write("data.yml", "name: iris\ndescription: caf\xe9\n".encode("latin-1"))
    assert problems(azureml_v2.load_data, path) == [
        "data.yml:2:17: not UTF-8 text: byte 0xe9 cannot be decoded (save the file as UTF-8)"]


def test_non_utf8_text_stream(here):
    path = write("data.yml", "name: iris\ndescription: caf\xe9\n".encode("latin-1"))
    with open(path, encoding="utf-8") as fh:
        assert problems(azureml_v2.load_data, fh) == [
            "data.yml:2:17: not UTF-8 text: byte 0xe9 cannot be decoded (save the file as UTF-8)"]


def test_control_characters(here):
    path = write("data.yml", b"name: iris\ndescription: a\x00b\x07\n")
    assert problems(azureml_v2.load_data, path) == [
        "data.yml:2:15: control character U+0000 is not allowed in YAML text (1 more in the file)"]


def test_utf16_and_bom_files_are_read(here):
    path = write("data.yml", "\ufeffname: iris\npath: https://example.com/x\n".encode("utf-16"))
    assert azureml_v2.load_data(path).name == "iris"
    path = write("data.yml", "\ufeffname: iris\npath: https://example.com/x\n".encode("utf-8"))
    assert azureml_v2.load_data(path).name == "iris"


# -- deep nesting, exploding aliases ----------------------------------------------------------
def test_deep_block_nesting(here):
    text = "name: iris\npath: https://example.com/x\ntags:\n" + "".join(
        "  " * (i + 1) + f"k{i}:\n" for i in range(150)) + "  " * 151 + "v\n"
    assert problems(azureml_v2.load_data, write("data.yml", text)) == [
        "data.yml:103:201: nested more than 100 levels deep"]


def test_deep_flow_nesting(here):
    text = "name: iris\ntags: " + "[" * 5000 + "]" * 5000 + "\n"
    assert problems(azureml_v2.load_data, write("data.yml", text)) == [
        "data.yml:2:1006: YAML syntax: exceeded maximum nesting depth (while increasing flow level at line 2)"]


def test_alias_bomb_is_refused_at_load(here):
    # a "billion laughs" file: refused before anything is built, at the anchor whose expansion is too large
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 9)]
    text = "\n".join(lines) + "\nname: iris\npath: https://example.com/x\ndescription: *l8\n"
    start = time.perf_counter()
    found = problems(azureml_v2.load_data, write("data.yml", text))
    assert time.perf_counter() - start < 5  # a guard against expansion, not a benchmark
    assert found == ["data.yml:6:5: aliases expand this value to more than 1,000,000 characters beyond the "
                     "file's size"]


def test_many_aliases_of_a_long_string_are_refused(here):
    # no nesting, but 2,000 copies of a 1,000-character value: 2 MB once written out
    text = f"name: iris\npath: https://example.com/x\ntags:\n  a: &a {'x' * 1000}\n" + "".join(
        f"  k{i}: *a\n" for i in range(2000))
    assert problems(azureml_v2.load_data, write("data.yml", text)) == [
        "data.yml:4:3: aliases expand this value to more than 1,000,000 characters beyond the file's size"]


def test_too_many_aliases_are_refused(here):
    text = "name: iris\npath: https://example.com/x\ntags:\n  a: &a x\n  b: [" + ", ".join(["*a"] * 10_001) + "]\n"
    assert problems(azureml_v2.load_data, write("data.yml", text))[0].endswith(": more than 10,000 aliases")


def test_a_few_aliases_load(here):
    text = "name: iris\npath: https://example.com/x\ntags:\n  a: &a shared\n  b: *a\n"
    assert azureml_v2.load_data(write("data.yml", text)).tags == {"a": "shared", "b": "shared"}


# -- all problems at once, in file order --------------------------------------------------------------------
def test_every_problem_of_a_job_at_once_in_file_order(here):
    path = write("job.yml", f"""
        name: train model
        command: python train.py --data ${{{{inputs.data}}}}
        code: ./missing
        environment: {ENV_REF}
        inputs:
          data:
            type: uri_folder
            mode: ro_muont
            path: azureml://datastores/blob
        resources:
          instance_cont: 2
          instance_type: 4
        distribution:
          type: mpi
          process_count_per_instance: -1
        limits:
          timeout: -5
        experiment_nam: demo
    """)
    assert problems(azureml_v2.load_job, path) == [
        "job.yml:1:1 name: invalid name 'train model': use letters, digits, '-' and '_' (at most 255), "
        "starting with a letter or digit",
        f"job.yml:3:1 code: no such file or folder: {here}/missing (from './missing')",
        "job.yml:8:5 inputs.data.mode: invalid value 'ro_muont': expected one of ro_mount, download, direct, "
        "eval_mount, eval_download (did you mean ro_mount?)",
        "job.yml:9:5 inputs.data.path: malformed reference 'azureml://datastores/blob': expected "
        "azureml://datastores/<datastore>/paths/<path>, azureml://jobs/<job>/outputs/<output> or "
        "azureml://registries/<registry>/<kind>/<name>/versions/<version>",
        "job.yml:11:3 resources.instance_cont: unknown field (did you mean instance_count?)",
        "job.yml:12:3 resources.instance_type: expected a string, got an integer",
        "job.yml:15:3 distribution.process_count_per_instance: must be at least 1",
        "job.yml:17:3 limits.timeout: must not be negative",
        "job.yml:18:1 experiment_nam: unknown field (did you mean experiment_name?)",
    ]


# -- params_override, streams and dicts -----------------------------------------------------------------------
def test_params_override_problems_name_the_override(here):
    path = write("data.yml", "name: iris\ntype: uri_file\npath: https://example.com/x\ndescriptin: x\n")
    assert problems(azureml_v2.load_data, path, params_override=[{"type": "uri_flie"}, {"tags.a.b": 1}]) == [
        "<params_override> tags.a: expected a plain value, got a mapping",
        "<params_override> type: invalid value 'uri_flie': expected one of uri_file, uri_folder, mltable "
        "(did you mean uri_file?)",
        "data.yml:4:1 descriptin: unknown field (did you mean description?)",
    ]


def test_params_override_that_fixes_a_file(here):
    path = write("data.yml", "name: my iris\npath: https://example.com/x\n")
    assert azureml_v2.load_data(path, params_override=[{"name": "iris"}]).name == "iris"


@pytest.mark.parametrize("override,message", [
    ({"name": "iris"}, 'expected a list of {"dotted.key": value} mappings, got a mapping'),
    (["name=iris"], 'expected a list of {"dotted.key": value} mappings, got a list of a string'),
    ([{"tags..a": 1}], "'tags..a' is not a dotted key such as resources.instance_count"),
    ([{3: 1}], "3 is not a dotted key such as resources.instance_count"),
])
def test_params_override_of_the_wrong_shape(here, override, message):
    path = write("data.yml", "name: iris\npath: https://example.com/x\n")
    assert problems(azureml_v2.load_data, path, params_override=override) == [f"<params_override>: {message}"]


def test_job_params_override(here):
    path = write("job.yml", f"command: echo hi\nenvironment: {ENV_REF}\nresources:\n  instance_count: 1\n")
    assert problems(azureml_v2.load_job, path, params_override=[{"resources.instance_count": "two"}]) == [
        "<params_override> resources.instance_count: expected an integer, got a string"]


def test_streams_are_located_under_their_name(here):
    text = "name: iris\ntype: uri_flie\npath: https://example.com/x\n"
    hint = "type: invalid value 'uri_flie': expected one of uri_file, uri_folder, mltable (did you mean uri_file?)"
    assert problems(azureml_v2.load_data, io.StringIO(text)) == [f"<stream>:2:1 {hint}"]
    assert problems(azureml_v2.load_data, io.BytesIO(text.encode())) == [f"<stream>:2:1 {hint}"]
    write("data.yml", text)
    with open("data.yml", encoding="utf-8") as fh:
        assert problems(azureml_v2.load_data, fh) == [f"data.yml:2:1 {hint}"]


def test_dicts_have_no_lines(here):
    data = {"name": "iris", "type": "uri_flie", "path": "https://example.com/x", "descriptin": "x"}
    assert problems(azureml_v2.load_data, data) == [
        "<input> descriptin: unknown field (did you mean description?)",
        "<input> type: invalid value 'uri_flie': expected one of uri_file, uri_folder, mltable "
        "(did you mean uri_file?)",
    ]


def test_inputs_are_not_changed_by_overrides(here):
    data = {"name": "iris", "path": "https://example.com/x", "tags": {"a": "1"}}
    loaded = azureml_v2.load_data(data, params_override=[{"tags.b": "2"}, {"name": "other"}])
    assert (loaded.name, loaded.tags) == ("other", {"a": "1", "b": "2"})
    assert data == {"name": "iris", "path": "https://example.com/x", "tags": {"a": "1"}}
    overrides = [{"tags": {"a": "1"}}, {"tags.b": "2"}]
    assert azureml_v2.load_data(data, params_override=overrides).tags == {"a": "1", "b": "2"}
    assert overrides == [{"tags": {"a": "1"}}, {"tags.b": "2"}]


# -- short messages -----------------------------------------------------------------------------------------
def test_long_values_are_cut_short(here):
    path = write("data.yml", f"name: '{'x' * 5000} y'\npath: https://example.com/x\n{'k' * 1000}: 1\n")
    lines = problems(azureml_v2.load_data, path)
    assert lines[0].startswith("data.yml:1:1 name: invalid name 'xxxx") and "...'" in lines[0]
    assert lines[1].startswith("data.yml:3:1 kkkk") and lines[1].endswith("...: unknown field")


def test_newlines_in_values_stay_on_one_line(here):
    path = write("data.yml", "name: \"a\\nb\"\ntype: \"uri\\nfile\"\npath: https://example.com/x\n")
    assert problems(azureml_v2.load_data, path) == [
        "data.yml:1:1 name: invalid name 'a\\nb': use letters, digits, '-' and '_' (at most 255), "
        "starting with a letter or digit",
        "data.yml:2:1 type: invalid value 'uri\\nfile': expected one of uri_file, uri_folder, mltable "
        "(did you mean uri_file?)",
    ]


@pytest.mark.parametrize("source", [["command: echo"], 5, None])
def test_a_source_that_is_no_path_stream_or_mapping_is_one_validation_error(source):
    with pytest.raises(azureml_v2.ValidationError, match="expected a path, a text stream or a mapping"):
        azureml_v2.load_job(source)
