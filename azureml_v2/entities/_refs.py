"""Names local/ still imports from here; their home is azureml_v2._contract."""
from __future__ import annotations

from .._contract import ARTIFACT_STORE  # noqa: F401  # re-exported for local/ until it imports _contract
from .._contract import DATASTORE_URI as _DATASTORE  # noqa: F401  # re-exported for local/ until it imports _contract
from .._contract import JOB_OUTPUT_URI as _JOB_OUTPUT  # noqa: F401  # re-exported for local/ until it imports _contract
from .._contract import LOCAL_SCOPE  # noqa: F401  # re-exported for local/ until it imports _contract
from .._contract import job_artifacts_path  # noqa: F401  # re-exported for local/ until it imports _contract
from .._contract import output_uri  # noqa: F401  # re-exported for local/ until it imports _contract
