"""Facts the local workspace shares with the client (scope, statuses, reference patterns, model types, ISO
durations), imported in this one place from where they live in ``azureml_v2.entities`` (storage, below core,
imports its two itself)."""
from __future__ import annotations

from ...entities._refs import _DATASTORE as DATASTORE_URI
from ...entities._refs import _JOB_OUTPUT as JOB_OUTPUT_URI
from ...entities._refs import ARTIFACT_STORE, LOCAL_SCOPE, job_artifacts_path, output_uri
from ...entities._rest import seconds_from_iso
from ...entities.job import ACTIVE_STATUSES, TERMINAL_STATUSES
from ...entities.model import MODEL_TYPES

__all__ = ["ACTIVE_STATUSES", "ARTIFACT_STORE", "DATASTORE_URI", "JOB_OUTPUT_URI", "LOCAL_SCOPE", "MODEL_TYPES",
           "TERMINAL_STATUSES", "job_artifacts_path", "output_uri", "seconds_from_iso"]
