"""Driving jobs on an in-process local workspace (`support.local.Client`): submit, wait, register code, and watch
the processes a job starts."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from azureml_v2._contract import TERMINAL_STATUSES

from .local import WS

ENV_ID = f"{WS}/environments/host/versions/1"


def host_environment(client) -> None:
    """Register the environment `ENV_ID` that the job bodies of these tests name."""
    assert client.put("/environments/host/versions/1", {"properties": {"image": "python:3.11-slim"}}).status == 201


def submit(client, name, command, **props) -> dict:
    response = client.put(f"/jobs/{name}", {"properties": {"jobType": "Command", "command": command,
                                                            "environmentId": ENV_ID, **props}})
    assert response.status == 201, response.json
    return response.json


def wait(client, name, statuses=TERMINAL_STATUSES, timeout=30.0) -> dict:
    """Poll the job until its status is in `statuses` -> its properties (fails after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        props = client.get(f"/jobs/{name}").json["properties"]
        if props["status"] in statuses:
            return props
        assert time.monotonic() < deadline, f"job {name} still {props['status']} after {timeout} s"
        time.sleep(0.05)


def code_version(client, tmp_path, files: dict[str, str], name="src") -> str:
    """A code asset version over a local folder holding `files` (paths may nest) -> its ARM id."""
    folder = tmp_path / name
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    assert client.put(f"/codes/{name}/versions/1", {"properties": {"codeUri": str(folder)}}).status == 201
    return f"{WS}/codes/{name}/versions/1"


def trials(client, name) -> list[dict]:
    """The sweep's trials (properties), by trial number."""
    found = [item["properties"] for page in client.pages("/jobs", query=f"api-version=2024-04-01&parentJobName={name}")
             for item in page]
    return sorted(found, key=lambda t: int(t["properties"]["azureml.trial"]))


def params(trial: dict) -> dict:
    return json.loads(trial["properties"]["azureml.sweep.params"])


def read_pid(path: Path) -> int:
    """The pid a job's command wrote to `path` (waits for it)."""
    while not path.exists() or not path.read_text().strip():
        time.sleep(0.05)
    return int(path.read_text())


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"


def zygotes(home: Path) -> list[int]:
    """The pids of the warm interpreters (`zygote.py serve`) of local home `home`."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            args = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if len(args) > 4 and args[1].endswith(b"zygote.py") and args[2] == b"serve" and str(home).encode() in args[4]:
            found.append(int(entry))
    return found
