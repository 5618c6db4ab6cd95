"""Named values for jobs, inputs, outputs and assets, as azure-ai-ml spells them.

    from azureml_v2.constants import AssetTypes, InputOutputModes
    Input(type=AssetTypes.URI_FILE, path="./iris.csv", mode=InputOutputModes.DOWNLOAD)

Each value is the plain string YAML and the entities take; only values this package handles are listed.
"""
from __future__ import annotations

__all__ = ["AssetTypes", "InputTypes", "InputOutputModes", "JobType", "JobStatus"]


class AssetTypes:
    """Types of data and model inputs, outputs and assets."""

    URI_FILE = "uri_file"
    URI_FOLDER = "uri_folder"
    MLTABLE = "mltable"
    MLFLOW_MODEL = "mlflow_model"
    TRITON_MODEL = "triton_model"
    CUSTOM_MODEL = "custom_model"


class InputTypes:
    """Types of literal inputs."""

    INTEGER = "integer"
    NUMBER = "number"
    STRING = "string"
    BOOLEAN = "boolean"


class InputOutputModes:
    """How a job's process sees its data: inputs read-only, outputs read-write."""

    RO_MOUNT = "ro_mount"
    RW_MOUNT = "rw_mount"
    DOWNLOAD = "download"
    UPLOAD = "upload"
    DIRECT = "direct"
    EVAL_MOUNT = "eval_mount"
    EVAL_DOWNLOAD = "eval_download"


class JobType:
    """The `type` of a job document."""

    COMMAND = "command"
    SWEEP = "sweep"


class JobStatus:
    """A job's `status`, as the REST API reports it."""

    NOT_STARTED = "NotStarted"
    STARTING = "Starting"
    PROVISIONING = "Provisioning"
    PREPARING = "Preparing"
    QUEUED = "Queued"
    RUNNING = "Running"
    FINALIZING = "Finalizing"
    CANCEL_REQUESTED = "CancelRequested"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"
    NOT_RESPONDING = "NotResponding"
    PAUSED = "Paused"
    UNKNOWN = "Unknown"
