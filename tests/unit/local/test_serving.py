"""Online endpoint serving, without a process: traffic split, mirroring, request settings, what a deployment
serves, and the logs and URIs the provisioner reads."""
from __future__ import annotations

from collections import Counter

import pytest

from azureml_v2.local.core import serving
from azureml_v2.local.core.serving import Mirror, Serving, Splitter
from azureml_v2.local.core.workspace import Store


def test_splitter_holds_each_weight_exactly_in_every_hundred_picks():
    splitter = Splitter({"blue": 90, "green": 10})
    picks = [splitter.pick() for _ in range(10_000)]
    assert Counter(picks) == {"blue": 9000, "green": 1000}
    for start in range(0, 10_000, 100):
        assert Counter(picks[start:start + 100]) == {"blue": 90, "green": 10}
    assert "green" in picks[:10]  # spread out, not 90 blue then 10 green


def test_splitter_three_ways_and_zero_weights():
    splitter = Splitter({"a": 50, "b": 30, "c": 20, "off": 0})
    assert Counter(splitter.pick() for _ in range(1000)) == {"a": 500, "b": 300, "c": 200}
    assert Splitter({}).pick() is None
    assert Splitter({"blue": 0}).pick() is None


def test_mirror_copies_its_share_evenly():
    mirror = Mirror(10)
    taken = [mirror.take() for _ in range(1000)]
    assert sum(taken) == 100
    assert all(sum(taken[i:i + 10]) == 1 for i in range(0, 1000, 10))
    assert not any(Mirror(0).take() for _ in range(100))


def test_request_settings_defaults_and_durations():
    assert serving.request_settings({}) == (5.0, 1, 0.5)
    assert serving.request_settings({"requestSettings": {"requestTimeout": "PT1.5S", "maxQueueWait": "PT2S",
                                                         "maxConcurrentRequestsPerInstance": 4}}) == (1.5, 4, 2.0)


def test_only_a_change_of_what_is_served_starts_new_servers():
    record = {"doc": {"sku": {"name": "Default", "capacity": 2},
                      "properties": {"model": "m", "description": "one", "provisioningState": "Updating"}}}
    asked = serving.served(record)
    assert asked == {"properties": {"model": "m"}, "instanceCount": 2}
    record["doc"]["properties"]["description"] = "two"
    assert serving.served(record) == asked
    record["doc"]["sku"]["capacity"] = 1
    assert serving.served(record) != asked


@pytest.fixture
def local(tmp_path):
    store = Store(tmp_path / "home")
    yield Serving(store, launch=False)
    store.close()


def test_logs_read_the_tail_of_a_deployment_log(local):
    folder = local.folder("ws", "online", "ep") / "deployments" / "blue"
    folder.mkdir(parents=True)
    (folder / "inference-server.log").write_text("".join(f"line {i}\n" for i in range(10)))
    (folder / "storage-initializer.log").write_text("built\n")
    assert local.logs("ws", "online", "ep", "blue", "InferenceServer", 2) == "line 8\nline 9\n"
    assert local.logs("ws", "online", "ep", "blue", "InferenceServer", 0) == ""
    assert local.logs("ws", "online", "ep", "blue", "StorageInitializer", None) == "built\n"
    assert local.logs("ws", "online", "ep", "green", "InferenceServer", None) == ""


def test_scoring_uris_come_from_the_hosts_router(local):
    assert local.scoring_uri("ws", "online", "ep") is None  # not served yet
    local.folder("ws", "online", "ep").mkdir(parents=True)
    serving.write_json(local.folder("ws", "online", "ep") / "state.json", {"pid": 1, "port": 41234, "deployments": {}})
    assert local.scoring_uri("ws", "online", "ep") == "http://127.0.0.1:41234/score"
    assert local.swagger_uri("ws", "online", "ep") == "http://127.0.0.1:41234/swagger.json"
    assert local.scoring_uri("ws", "batch", "ep") is None  # no batch host
    assert not serving.host_alive(local.folder("ws", "online", "ep"))
