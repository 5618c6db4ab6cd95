"""REST bodies stay spec-valid and read back into YAML that loads, whatever YAML scalars the user wrote."""
from __future__ import annotations

import azureml_v2
from azureml_v2._contract import LOCAL_SCOPE
from azureml_v2.entities.job import SweepJob

SCOPE = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
         "Microsoft.MachineLearningServices/workspaces/ws")


def test_numbers_and_booleans_in_tags_go_out_as_strings(tmp_path, rest_validate):
    path = tmp_path / "data.yml"
    path.write_text("name: iris\nversion: 1\npath: https://example.com/iris.csv\n"
                    "tags: {year: 2021, reviewed: true}\nproperties: {rows: 150}\n")
    body = azureml_v2.load_data(path).to_rest(scope=LOCAL_SCOPE)
    assert body["properties"]["tags"] == {"year": "2021", "reviewed": "true"}
    assert body["properties"]["properties"] == {"rows": "150"}
    assert rest_validate(body, "DataVersionBaseResource") == []


def test_a_sweep_read_from_rest_dumps_yaml_that_loads(tmp_path):
    body = {"properties": {
        "jobType": "Sweep", "objective": {"goal": "Minimize", "primaryMetric": "loss"},
        "samplingAlgorithm": {"samplingAlgorithmType": "Random"},
        "searchSpace": {"lr": ["uniform", [0.01, 0.1]]},
        "trial": {"command": "python train.py --lr ${{search_space.lr}}",
                  "codeId": f"{SCOPE}/codes/src/versions/1", "environmentId": f"{SCOPE}/environments/env/versions/1",
                  "environmentVariables": {"VERBOSE": "true"}}}}
    sweep = SweepJob._from_rest(body)
    out = tmp_path / "sweep.yml"
    sweep.dump(out)
    again = azureml_v2.load_job(out)
    assert again.trial.code == f"azureml:{SCOPE}/codes/src/versions/1"
    assert again.to_rest(scope=SCOPE)["properties"]["trial"] == body["properties"]["trial"]
