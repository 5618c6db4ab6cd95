"""`azml compute`, run in-process on a local workspace: create from a corpus file or from options, update a
cluster's scale, stop and start a compute instance, list by type, delete, and the one-line errors a user meets."""
from __future__ import annotations

import json

import pytest
import yaml


@pytest.fixture
def files(corpus_root):
    return corpus_root / "cli" / "resources" / "compute"


def test_a_cluster_from_its_file_is_updated_listed_and_deleted(azml, files):
    out, _ = azml("compute", "create", "-f", files / "cluster-basic.yml", "-o", "yaml")
    assert yaml.safe_load(out)["max_instances"] == 2
    out, _ = azml("compute", "update", "-n", "basic-example", "--max-instances", "3", "--set", "tier=low_priority",
                  "-o", "json")
    assert (json.loads(out)["max_instances"], json.loads(out)["tier"]) == (3, "low_priority")
    out, _ = azml("compute", "list", "--type", "amlcompute", "-o", "tsv")
    assert [line.split("\t")[:2] for line in out.splitlines()] == [["basic-example", "amlcompute"]]
    azml("compute", "delete", "-n", "basic-example", "--yes")
    out, _ = azml("compute", "list", "-o", "tsv")
    assert [line.split("\t")[0] for line in out.splitlines()] == ["local"]


def test_a_compute_instance_is_stopped_and_started(azml):
    azml("compute", "create", "--name", "ci-ada", "--type", "computeinstance", "--size", "STANDARD_DS11_V2")
    azml("compute", "stop", "-n", "ci-ada")
    out, _ = azml("compute", "show", "-n", "ci-ada", "-o", "json")
    shown = json.loads(out)
    assert (shown["state"], shown["last_operation"]["operation_name"]) == ("Stopped", "Stop")
    azml("compute", "start", "-n", "ci-ada")
    out, _ = azml("compute", "show", "-n", "ci-ada", "-o", "json")
    assert json.loads(out)["state"] == "Running"


def test_errors_are_one_line(azml, files):
    _, err = azml("compute", "create", "-f", files / "attached-spark.yml", rc=1)
    assert "name: invalid compute name '<ATTACHED_SPARK_POOL_NAME>'" in err and "Traceback" not in err
    azml("compute", "create", "-f", files / "attached-spark.yml", "--name", "spark-pool")  # the name given
    _, err = azml("compute", "create", "--name", "ci-ada", rc=1)
    assert "give --file, or --name and --type" in err
    azml("compute", "create", "-f", files / "cluster-minimal.yml")
    _, err = azml("compute", "stop", "-n", "minimal-example", rc=1)
    assert "only compute instances are started and stopped" in err and len(err.strip().splitlines()) == 1
    _, err = azml("compute", "update", "-n", "spark-pool", "--max-instances", "2", rc=1)
    assert "only clusters (amlcompute) are updated" in err
