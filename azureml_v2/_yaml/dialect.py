"""The 2020 preview dialect (`run:`, `on_compute:`, `spec:` ...), rewritten to today's schema.

Each rewrite records where the new key stood in the file, so errors still point at the
line the user wrote.
"""
from __future__ import annotations

import re

from .document import Document

_ARM_WORKSPACE = re.compile(r"^/subscriptions/[^/]+/resource[gG]roups/[^/]+/providers/"
                            r"Microsoft\.MachineLearningServices/workspaces/[^/]+/(?P<datastore>[^/]+)$", re.I)


def _move(doc: Document, src: dict, src_path: tuple, key: str, dst: dict, dst_key: str, dst_path: tuple) -> None:
    if key in src:
        dst[dst_key] = src.pop(key)
        doc.aliases[dst_path + (dst_key,)] = src_path + (key,)


_UNVERSIONED_ENV = re.compile(r"^(?:azureml:)?/subscriptions/[^/]+/resource[gG]roups/[^/]+/providers/"
                              r"Microsoft\.MachineLearningServices/(?:workspaces/[^/]+/)?environments/"
                              r"(?P<name>[^/]+)$", re.I)


def _environment_ref(value):
    # preview: `environment: {name: <ARM id>}` or a plain ARM id string. Its ids name an
    # environment without a version (often without a workspace); today that is `@latest`.
    if isinstance(value, dict) and set(value) == {"name"} and isinstance(value["name"], str):
        value = value["name"]
    m = _UNVERSIONED_ENV.match(value) if isinstance(value, str) else None
    return f"azureml:{m.group('name')}@latest" if m else value


def normalise_job(doc: Document) -> None:
    data = doc.data
    preview = ("run" in data or "on_compute" in data or "algorithm" in data
               or isinstance(data.get("limits"), dict) and "max_total_runs" in data["limits"])
    if not preview:
        return
    new = dict(data)
    run = new.pop("run", None)
    if isinstance(run, dict):
        run = dict(run)
        for key in ("code", "command", "environment"):
            _move(doc, run, ("run",), key, new, key, ())
        for key in run:  # anything else under run: report at its own place
            new[key] = run[key]
            doc.aliases[(key,)] = ("run", key)
    on_compute = new.pop("on_compute", None)
    if isinstance(on_compute, dict) and "target" in on_compute:
        new["compute"] = on_compute["target"]
        doc.aliases[("compute",)] = ("on_compute", "target")
    elif on_compute is not None:
        new["compute"] = on_compute
        doc.aliases[("compute",)] = ("on_compute",)
    if "environment" in new:
        new["environment"] = _environment_ref(new["environment"])
    if "algorithm" in new:
        new["type"] = "sweep"
        _move(doc, new, (), "algorithm", new, "sampling_algorithm", ())
    if "trial" in new or "search_space" in new:
        new["type"] = "sweep"
        _normalise_sweep(doc, new)
    doc.data = new


def _normalise_sweep(doc: Document, new: dict) -> None:
    trial = new.get("trial")
    trial = dict(trial) if isinstance(trial, dict) else trial
    space = new.get("search_space")
    flags = []
    if isinstance(space, dict):
        renamed = {}
        for key, spec in space.items():
            name = key.lstrip("-") if isinstance(key, str) else key
            if isinstance(spec, dict) and "spec" in spec:
                spec = {("type" if k == "spec" else k): v for k, v in spec.items()}
                # the longer alias first: locate() takes the first prefix that matches
                doc.aliases[("search_space", name, "type")] = ("search_space", key, "spec")
            renamed[name] = spec
            if name != key:
                flags.append((key, name))
                doc.aliases[("search_space", name)] = ("search_space", key)
        new["search_space"] = renamed
    if isinstance(trial, dict):
        # the preview passed flag-named search-space values to the trial on its command line
        if flags and isinstance(trial.get("command"), str):
            trial["command"] = trial["command"].rstrip() + "".join(
                f" {flag} ${{{{search_space.{name}}}}}" for flag, name in flags)
        if "environment" in new and "environment" not in trial:  # the preview kept it at the top
            trial["environment"] = _environment_ref(new.pop("environment"))
            doc.aliases[("trial", "environment")] = ("environment",)
        new["trial"] = trial
    limits = new.get("limits")
    if isinstance(limits, dict):
        limits = dict(limits)
        for old, cur in (("max_total_runs", "max_total_trials"), ("max_concurrent_runs", "max_concurrent_trials")):
            _move(doc, limits, ("limits",), old, limits, cur, ("limits",))
        minutes = limits.pop("max_duration_minutes", None)
        if minutes is not None:
            limits["timeout"] = minutes * 60 if isinstance(minutes, (int, float)) and not isinstance(
                minutes, bool) else minutes
            doc.aliases[("limits", "timeout")] = ("limits", "max_duration_minutes")
        new["limits"] = limits
    policy = new.get("early_termination")
    if isinstance(policy, dict) and "spec" in policy:
        policy = {("type" if k == "spec" else k): v for k, v in policy.items()}
        if policy["type"] == "truncation":  # the preview's name for truncation_selection
            policy["type"] = "truncation_selection"
        new["early_termination"] = policy
        doc.aliases[("early_termination", "type")] = ("early_termination", "spec")


def normalise_data(doc: Document) -> None:
    data = doc.data
    if "assetPaths" not in data and "linkedServiceId" not in data:
        return
    new = dict(data)
    service = new.pop("linkedServiceId", None)
    paths = new.pop("assetPaths", None)
    datastore = "workspaceblobstore"
    if isinstance(service, str):
        m = _ARM_WORKSPACE.match(service)
        datastore = m.group("datastore") if m else service
    if isinstance(paths, list) and len(paths) == 1 and isinstance(paths[0], dict):
        entry = paths[0]
        path = str(entry.get("path", "")).lstrip("/")
        new["path"] = f"azureml://datastores/{datastore}/paths/{path}"
        new["type"] = "uri_folder" if entry.get("is_directory") else "uri_file"
        doc.aliases[("path",)] = ("assetPaths", 0, "path")
        doc.aliases[("type",)] = ("assetPaths", 0, "is_directory")
    elif paths is not None:
        new["assetPaths"] = paths  # several paths: today's schema has no equivalent; reported there
    doc.data = new


def normalise_environment(doc: Document) -> None:
    data = doc.data
    if "docker" not in data and "conda" not in data:
        return
    new = dict(data)
    docker = new.pop("docker", None)
    if isinstance(docker, dict) and "image" in docker:
        new["image"] = docker["image"]
        doc.aliases[("image",)] = ("docker", "image")
    elif docker is not None:
        new["docker"] = docker
    conda = new.pop("conda", None)
    if isinstance(conda, dict):
        if "inline" in conda:
            new["conda_file"] = conda["inline"]
            doc.aliases[("conda_file",)] = ("conda", "inline")
        elif "file" in conda or "conda_file" in conda:
            new["conda_file"] = conda.get("file", conda.get("conda_file"))
        interpreter = conda.get("interpreter_path", "python")
        if interpreter not in ("python", "python3"):
            new["interpreter_path"] = interpreter  # no equivalent today: reported as unknown there
            doc.aliases[("interpreter_path",)] = ("conda", "interpreter_path")
    elif conda is not None:
        new["conda"] = conda
    doc.data = new


NORMALISERS = {"job": normalise_job, "data": normalise_data, "environment": normalise_environment}
