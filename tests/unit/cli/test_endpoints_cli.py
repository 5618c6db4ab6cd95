"""`azml online-endpoint|online-deployment|batch-endpoint|batch-deployment`, run in-process on a local workspace
from the corpus's sample files: blue/green with --all-traffic and --traffic, --set updates, credentials, deletes,
and the one-line errors a user meets."""
from __future__ import annotations

import json

import pytest
import yaml


@pytest.fixture
def sample(corpus_root):
    return corpus_root / "cli" / "endpoints" / "online" / "managed" / "sample"


def test_blue_green_with_traffic(azml, sample):
    out, _ = azml("online-endpoint", "create", "-f", sample / "endpoint.yml", "-o", "json")
    assert json.loads(out)["provisioning_state"] == "Succeeded"
    azml("online-deployment", "create", "-f", sample / "blue-deployment.yml", "--all-traffic")
    out, _ = azml("online-endpoint", "show", "-n", "my-endpoint", "-o", "yaml")
    assert yaml.safe_load(out)["traffic"] == {"blue": 100}
    azml("online-deployment", "create", "-f", sample / "blue-deployment.yml", "--name", "green")
    out, _ = azml("online-endpoint", "update", "-n", "my-endpoint", "--traffic", "blue=90 green=10", "-o", "json")
    assert json.loads(out)["traffic"] == {"blue": 90, "green": 10}
    out, _ = azml("online-deployment", "update", "-n", "green", "-e", "my-endpoint", "--set", "instance_count=3",
                  "-o", "json")
    assert json.loads(out)["instance_count"] == 3
    out, _ = azml("online-deployment", "list", "-e", "my-endpoint", "-o", "tsv")
    assert [line.split("\t")[:2] for line in out.splitlines()] == [["blue", "my-endpoint"],
                                                                   ["green", "my-endpoint"]]

    keys = json.loads(azml("online-endpoint", "get-credentials", "-n", "my-endpoint")[0])
    azml("online-endpoint", "regenerate-keys", "-n", "my-endpoint", "--key-type", "secondary")
    again = json.loads(azml("online-endpoint", "get-credentials", "-n", "my-endpoint")[0])
    assert again["primary_key"] == keys["primary_key"] and again["secondary_key"] != keys["secondary_key"]
    assert azml("online-deployment", "get-logs", "-n", "blue", "-e", "my-endpoint", "--lines", "5") == ("", "")

    _, err = azml("online-deployment", "delete", "-n", "green", "-e", "my-endpoint", "-y", rc=1)
    assert err.startswith("azml: error: deployment 'green' takes 10% of endpoint 'my-endpoint''s traffic")
    _, err = azml("online-endpoint", "invoke", "-n", "my-endpoint", "-r", sample / "sample-request.json", rc=1)
    assert err.startswith("azml: error: endpoint 'my-endpoint' has no scoring URI")
    azml("online-endpoint", "delete", "-n", "my-endpoint", "-y")
    assert json.loads(azml("online-endpoint", "list")[0]) == []


def test_usage_and_service_errors_are_one_line(azml, sample):
    _, err = azml("online-endpoint", "update", "-n", "my-endpoint", "--traffic", "blue:90", rc=1)
    assert "--traffic expects deployment=percentage pairs" in err
    _, err = azml("online-endpoint", "show", "-n", "nowhere", rc=1)
    assert err == "azml: error: online endpoint 'nowhere' not found in workspace 'local' (HTTP 404)\n"
    _, err = azml("online-deployment", "create", "-f", sample / "blue-deployment.yml", rc=1)
    assert "online endpoint 'my-endpoint' not found" in err and "Traceback" not in err
    _, err = azml("online-endpoint", "create", "-n", "x", rc=1)
    assert "invalid endpoint name 'x'" in err and len(err.splitlines()) == 1


def test_batch_endpoint_with_a_default_deployment(azml, corpus_root):
    heart = corpus_root / "cli" / "endpoints" / "batch" / "deploy-models" / "heart-classifier-mlflow"
    model = heart / "model.yml"
    model.write_text("name: heart-classifier-mlflow\ntype: mlflow_model\npath: deployment-simple/model\n")
    azml("model", "create", "-f", model)
    azml("batch-endpoint", "create", "-f", heart / "endpoint.yml")
    out, _ = azml("batch-deployment", "create", "-f", heart / "deployment-simple" / "deployment.yml",
                  "--set-default", "-o", "json")
    assert json.loads(out)["settings"]["mini_batch_size"] == 2
    out, _ = azml("batch-endpoint", "show", "-n", "heart-classifier-batch", "-o", "json")
    assert json.loads(out)["defaults"] == {"deployment_name": "classifier-xgboost-mlflow"}
    assert json.loads(azml("batch-endpoint", "list-jobs", "-n", "heart-classifier-batch")[0]) == []
    _, err = azml("batch-deployment", "delete", "-n", "classifier-xgboost-mlflow", "-e", "heart-classifier-batch",
                  "-y", rc=1)
    assert "is the default of batch endpoint" in err
    azml("batch-endpoint", "delete", "-n", "heart-classifier-batch", "-y")
    _, err = azml("batch-deployment", "list", "-e", "heart-classifier-batch", rc=1)
    assert err == "azml: error: batch endpoint 'heart-classifier-batch' not found in workspace 'local' (HTTP 404)\n"
