"""Clusters on the local workspace: `max_instances` bounds the jobs that run at once on a cluster, and a job's
`resources.instance_count` starts that many node processes, each with the variables Azure ML sets on a node."""
from __future__ import annotations

import json

import pytest
from support.jobs import submit, wait
from support.local import WS



pytestmark = pytest.mark.integration

CLUSTER = f"{WS}/computes/cpu-cluster"


def cluster(client, max_instances: int) -> None:
    body = {"properties": {"computeType": "AmlCompute", "properties": {
        "vmSize": "STANDARD_DS3_V2", "scaleSettings": {"minNodeCount": 0, "maxNodeCount": max_instances}}}}
    assert client.put("/computes/cpu-cluster", body).status in (200, 201)


def intervals(log) -> list[tuple[float, float]]:
    """(start, end) of each job from the lines its command wrote."""
    times: dict[str, dict[str, float]] = {}
    for line in log.read_text().splitlines():
        event, name, at = line.split()
        times.setdefault(name, {})[event] = float(at)
    return [(t["start"], t["end"]) for t in times.values()]


def most_at_once(spans) -> int:
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def stamp(log, event: str) -> str:
    return f'echo {event} $AZUREML_RUN_ID $(date +%s.%N) >> {log}'


@pytest.mark.parametrize("max_instances", [1, 2])
def test_max_instances_bounds_the_jobs_running_at_once(client, tmp_path, max_instances):
    cluster(client, max_instances)
    log = tmp_path / "events.txt"
    # each command waits (up to 20 s) until as many jobs as the cluster allows have started: a limit that let more
    # run would show them overlapping, one that let fewer would keep the first waiting
    wait_for_peers = f'for i in $(seq 200); do [ $(grep -c start {log}) -ge {max_instances} ] && break; sleep 0.1; done'
    command = f"{stamp(log, 'start')}; {wait_for_peers}; sleep 0.5; {stamp(log, 'end')}"
    for n in range(3):
        submit(client, f"job{n}", command, computeId=CLUSTER)
    for n in range(3):
        assert wait(client, f"job{n}", timeout=120)["status"] == "Completed"
    spans = intervals(log)
    assert len(spans) == 3
    assert most_at_once(spans) == max_instances, spans


PROBE = ("python -c \"import json, os; print(json.dumps({k: os.environ.get(k) for k in ('AZUREML_NODE_COUNT', "
         "'NODE_RANK', 'RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')}))\" >> {out}")


def test_instance_count_starts_one_process_per_node_with_its_rank(client, tmp_path):
    cluster(client, 2)
    out = tmp_path / "ranks.jsonl"
    submit(client, "ddp", PROBE.replace("{out}", str(out)), computeId=CLUSTER, resources={"instanceCount": 2},
           distribution={"distributionType": "PyTorch", "processCountPerInstance": 1})
    assert wait(client, "ddp", timeout=120)["status"] == "Completed"
    ranks = sorted((json.loads(line) for line in out.read_text().splitlines()), key=lambda r: r["RANK"])
    assert [(r["NODE_RANK"], r["RANK"], r["LOCAL_RANK"]) for r in ranks] == [("0", "0", "0"), ("1", "1", "0")]
    assert {(r["AZUREML_NODE_COUNT"], r["WORLD_SIZE"], r["MASTER_ADDR"]) for r in ranks} == {("2", "2", "127.0.0.1")}
    assert len({r["MASTER_PORT"] for r in ranks}) == 1


def test_more_nodes_than_the_cluster_has_fails_the_job_saying_so(client):
    cluster(client, 2)
    submit(client, "big", "echo never", computeId=CLUSTER, resources={"instanceCount": 3})
    props = wait(client, "big", timeout=60)
    assert props["status"] == "Failed"
    assert "instance_count is 3, more than the 2 nodes (max_instances) of cluster 'cpu-cluster'" in \
        props["properties"]["Error"]
