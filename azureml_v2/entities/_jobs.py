"""A job's entity from its REST resource, by `jobType` (above every job kind's module)."""
from __future__ import annotations

from .job import CommandJob, Job, SweepJob
from .pipeline import PipelineJob
from .spark import SparkJob


def job_from_rest(resource: dict):
    """A CommandJob, SweepJob, PipelineJob or SparkJob by jobType; other kinds as a plain Job with the fields all jobs
    share."""
    kind = resource.get("properties", {}).get("jobType")
    if kind == "Command":
        return CommandJob._from_rest(resource)
    if kind == "Sweep":
        return SweepJob._from_rest(resource)
    if kind == "Pipeline":
        return PipelineJob._from_rest(resource)
    if kind == "Spark":
        return SparkJob._from_rest(resource)
    return Job(**Job._job_fields(resource))
