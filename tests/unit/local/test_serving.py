"""Online endpoint serving, without a process: traffic split, mirroring, keys and tokens, provisioning states and
what is asked of an endpoint's host."""
from __future__ import annotations

import json
import stat
from collections import Counter

import pytest

from azureml_v2.local.core import serving
from azureml_v2.local.core.serving import Mirror, Serving, ServingError, Splitter


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


def test_tokens_expire_and_are_bound_to_their_endpoint_and_secret():
    token = serving.issue_token("secret", "ep", lifetime=60, now=1000)
    assert token["tokenType"] == "Bearer" and token["expiryTimeUtc"] == 1060 and token["refreshAfterTimeUtc"] == 1030
    access = token["accessToken"]
    assert serving.token_valid("secret", "ep", access, now=1059)
    assert not serving.token_valid("secret", "ep", access, now=1060)  # expired
    assert not serving.token_valid("secret", "other", access, now=1001)
    assert not serving.token_valid("another", "ep", access, now=1001)
    payload, signature = access.split(".")
    assert not serving.token_valid("secret", "ep", payload[:-2] + "xx." + signature, now=1001)
    assert not serving.token_valid("secret", "ep", "garbage", now=1001)


def _spec(mode="Key"):
    return {"endpoint": {"authMode": mode}, "keys": {"primaryKey": "k1", "secondaryKey": "k2"},
            "token_secret": "s"}


@pytest.mark.parametrize("header, ok", [("Bearer k1", True), ("bearer k2", True), ("Bearer k3", False),
                                        ("k1", False), ("Basic k1", False), ("", False), (None, False),
                                        ("Bearer ", False)])
def test_key_auth(header, ok):
    assert serving.authorized(_spec(), "ep", header) is ok


def test_token_auth_refuses_keys_and_expired_tokens():
    spec = _spec("AMLToken")
    token = serving.issue_token("s", "ep", lifetime=10, now=100)["accessToken"]
    assert serving.authorized(spec, "ep", f"Bearer {token}", now=105)
    assert not serving.authorized(spec, "ep", f"Bearer {token}", now=111)
    assert not serving.authorized(spec, "ep", "Bearer k1", now=105)


def test_provisioning_states():
    spec = {"deployments": {"blue": {"generation": 2}}}
    state = serving.provisioning_state
    assert state(spec, None, "blue") == "Creating"
    assert state(spec, {"deployments": {"blue": {"generation": 1, "state": "Creating", "served": False}}},
                 "blue") == "Creating"
    assert state(spec, {"deployments": {"blue": {"generation": 1, "state": "Succeeded", "served": True}}},
                 "blue") == "Updating"
    assert state(spec, {"deployments": {"blue": {"generation": 2, "state": "Succeeded", "served": True}}},
                 "blue") == "Succeeded"
    assert state(spec, {"deployments": {"blue": {"generation": 2, "state": "Failed", "served": False}}},
                 "blue") == "Failed"
    assert state({"deployments": {}}, {"deployments": {"blue": {"generation": 2, "state": "Deleting"}}},
                 "blue") == "Deleting"
    assert state({"deployments": {}}, {"deployments": {}}, "blue") is None


def test_request_settings_defaults_and_durations():
    assert serving.request_settings({}) == (5.0, 1, 0.5)
    assert serving.request_settings({"requestSettings": {"requestTimeout": "PT1.5S", "maxQueueWait": "PT2S",
                                                         "maxConcurrentRequestsPerInstance": 4}}) == (1.5, 4, 2.0)


@pytest.fixture
def local(tmp_path):
    return Serving(tmp_path, launch=False)


def test_an_endpoint_has_two_private_keys_that_regenerate(local, tmp_path):
    view = local.put_endpoint("ws", "ep", {"authMode": "Key"})
    assert view == {"provisioningState": "Creating"}  # no router yet: no scoring URI
    keys = local.keys("ws", "ep")
    assert keys["primaryKey"] != keys["secondaryKey"] and len(keys["primaryKey"]) >= 32
    spec_file = tmp_path / "endpoints" / "ws" / "ep" / "spec.json"
    assert stat.S_IMODE(spec_file.stat().st_mode) == 0o600
    local.regenerate_key("ws", "ep", "Secondary")
    after = local.keys("ws", "ep")
    assert after["primaryKey"] == keys["primaryKey"] and after["secondaryKey"] != keys["secondaryKey"]
    local.regenerate_key("ws", "ep", "primary", "chosen-key-value")
    assert local.keys("ws", "ep")["primaryKey"] == "chosen-key-value"
    with pytest.raises(ServingError, match="Primary or Secondary"):
        local.regenerate_key("ws", "ep", "tertiary")
    with pytest.raises(ServingError, match="issues no tokens"):
        local.token("ws", "ep")


def test_traffic_must_add_up_and_name_deployments(local):
    local.put_endpoint("ws", "ep", {"authMode": "AMLToken"})
    with pytest.raises(ServingError, match="does not have: blue"):
        local.put_endpoint("ws", "ep", {"authMode": "AMLToken", "traffic": {"blue": 100}})
    body = {"properties": {"model": "azureml:m:1"}, "sku": {"name": "Default", "capacity": 2}}
    assert local.put_deployment("ws", "ep", "blue", body) == "Creating"
    assert local.put_deployment("ws", "ep", "green", body) == "Creating"
    with pytest.raises(ServingError, match="add up to 100"):
        local.put_endpoint("ws", "ep", {"authMode": "AMLToken", "traffic": {"blue": 90, "green": 20}})
    with pytest.raises(ServingError, match="both live and mirrored"):
        local.put_endpoint("ws", "ep", {"traffic": {"blue": 90, "green": 10}, "mirrorTraffic": {"green": 10}})
    local.put_endpoint("ws", "ep", {"authMode": "AMLToken", "traffic": {"blue": 100}, "mirrorTraffic": {"green": 20}})
    with pytest.raises(ServingError, match="set its traffic to 0"):
        local.delete_deployment("ws", "ep", "blue")
    token = local.token("ws", "ep")
    assert serving.authorized(local.spec("ws", "ep"), "ep", "Bearer " + token["accessToken"])


def test_only_a_change_of_what_is_served_makes_a_new_generation(local):
    local.put_endpoint("ws", "ep", {})
    body = {"properties": {"model": "azureml:m:1", "description": "one"}, "sku": {"capacity": 1}}
    local.put_deployment("ws", "ep", "blue", body)
    local.put_deployment("ws", "ep", "blue", {**body, "properties": {**body["properties"], "description": "two"}})
    assert local.spec("ws", "ep")["deployments"]["blue"]["generation"] == 1
    local.put_deployment("ws", "ep", "blue", {**body, "sku": {"capacity": 2}})
    deployment = local.spec("ws", "ep")["deployments"]["blue"]
    assert deployment["generation"] == 2 and deployment["served"]["instanceCount"] == 2


def test_deleting_an_endpoint_without_a_host_clears_its_folder(local, tmp_path):
    local.put_endpoint("ws", "ep", {})
    assert local.delete_endpoint("ws", "ep") is True
    assert not (tmp_path / "endpoints" / "ws" / "ep").exists()
    assert local.endpoint_view("ws", "ep") == {}


def test_logs_read_the_tail_of_a_deployment_log(local, tmp_path):
    folder = tmp_path / "endpoints" / "ws" / "ep" / "deployments" / "blue"
    folder.mkdir(parents=True)
    (folder / "inference-server.log").write_text("".join(f"line {i}\n" for i in range(10)))
    (folder / "storage-initializer.log").write_text("built\n")
    assert local.logs("ws", "ep", "blue", lines=2) == "line 8\nline 9\n"
    assert local.logs("ws", "ep", "blue", container="storage_initializer") == "built\n"
    assert local.logs("ws", "ep", "green") == ""
    assert json.loads(json.dumps(local.endpoint_view("ws", "missing"))) == {}
