"""`command(...)`: a command job from Python, checked exactly as its YAML would be."""
from __future__ import annotations

import os
from typing import Any

from ._yaml.api import _schema
from ._yaml.base import load_with
from ._yaml.document import Document
from .entities.assets import Environment
from .entities.job import (CommandJob, CommandJobLimits, Distribution, Identity, JobResources, JobService,
                           QueueSettings)

# arguments whose values are mappings of entities (serialised member by member)
_MAPPINGS = ("inputs", "outputs", "services")


def command(*, command: str, code: str | os.PathLike[str] | None = None,
            environment: str | Environment | dict | None = None, compute: str | None = None,
            inputs: dict[str, Any] | None = None, outputs: dict[str, Any] | None = None,
            name: str | None = None, display_name: str | None = None, experiment_name: str | None = None,
            description: str | None = None, tags: dict[str, Any] | None = None,
            properties: dict[str, Any] | None = None, environment_variables: dict[str, Any] | None = None,
            distribution: Distribution | dict | None = None, resources: JobResources | dict | None = None,
            instance_count: int | None = None, instance_type: str | None = None, shm_size: str | None = None,
            docker_args: str | None = None, limits: CommandJobLimits | dict | None = None,
            timeout: int | float | None = None, identity: Identity | dict | None = None,
            services: dict[str, JobService | dict] | None = None,
            queue_settings: QueueSettings | dict | None = None) -> CommandJob:
    """A CommandJob, validated like a YAML file (one `ValidationError` listing every problem).

    Local paths (`code`, input paths, conda files) are relative to the current folder.
    `distribution`, `resources`, `limits`, `identity` and `queue_settings` take the entity
    classes or their YAML mappings (`{"type": "pytorch", "process_count_per_instance": 2}`);
    `instance_count`/`instance_type`/`shm_size`/`docker_args` and `timeout` (seconds) are
    shorthands for `resources` and `limits`.
    """
    shorthand = {"instance_count": instance_count, "instance_type": instance_type, "shm_size": shm_size,
                 "docker_args": docker_args}
    if resources is None and any(v is not None for v in shorthand.values()):
        resources = JobResources(**shorthand)
    if limits is None and timeout is not None:
        limits = CommandJobLimits(timeout=timeout)
    given = {"command": command, "code": code, "environment": environment, "compute": compute, "inputs": inputs,
             "outputs": outputs, "name": name, "display_name": display_name, "experiment_name": experiment_name,
             "description": description, "tags": tags, "properties": properties,
             "environment_variables": environment_variables, "distribution": distribution, "resources": resources,
             "limits": limits, "identity": identity, "services": services, "queue_settings": queue_settings}
    schema = _schema("jobs", "CommandJobSchema")  # the instance dump uses too
    data = {}
    for key, value in given.items():
        if value is None:
            continue
        if key in _MAPPINGS or not isinstance(value, (dict, str, int, float)):
            value = schema.fields[key]._serialize(value, key, None)  # entities -> their YAML form
        data[key] = value
    return load_with(schema, Document(data, "command()", os.getcwd()))
