"""The embedded local workspace: the Azure ML REST API (service) over SQLite and file datastores (store).

The names below are the only ones the client and the CLI use; each loads its module on first call, so that
importing this package stays cheap.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["make_app", "default_home", "served_token", "curated_environment", "job_folder"]


def make_app(home, **options):
    """The WSGI application of the local workspace stored in folder `home`; `.close()` releases it."""
    from .service import make_app as make  # the service loads SQLite and the REST routes: on first use only
    return make(home, **options)


def default_home() -> Path:
    """The local workspace folder: $AZUREML_V2_HOME, else ~/.azureml_v2."""
    from .server import default_home as home  # import-time budget
    return home()


def served_token(endpoint: str) -> str | None:
    """The contributor token of the server of $AZUREML_V2_HOME when it listens on `endpoint`."""
    from .server import served_token as token  # import-time budget
    return token(endpoint)


def curated_environment(name: str):
    """The local equivalent of curated Azure ML environment `name`, or None when none is known here."""
    from .envs import curated  # import-time budget
    return curated(name)


def job_folder(home, workspace: str, name: str) -> Path:
    """Where a local job runs and keeps its logs and outputs: wd/, user_logs/, system_logs/, outputs/."""
    return Path(home) / "jobs" / workspace / name
