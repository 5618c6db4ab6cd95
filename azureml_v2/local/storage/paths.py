"""Where a local workspace keeps its files (standard library only: cheap to import)."""
from __future__ import annotations

import os
from pathlib import Path


def default_home() -> Path:
    """The local workspace folder: $AZUREML_V2_HOME, else ~/.azureml_v2."""
    return Path(os.environ.get("AZUREML_V2_HOME") or Path.home() / ".azureml_v2")


def writable_by_others(folder) -> str | None:
    """The mode of `folder` (as "0777") when its group or anyone may write to it, so plant code that jobs run;
    None when it is private enough."""
    mode = os.stat(folder).st_mode & 0o7777
    return f"{mode:04o}" if mode & 0o022 else None


def job_folder(home, workspace: str, name: str) -> Path:
    """Where a job runs and keeps its logs: wd/, user_logs/, system_logs/, outputs/."""
    return Path(home) / "jobs" / workspace / name


def datastore_folder(home, name: str) -> Path:
    """The folder of a built-in file datastore (shared by the workspaces of a home)."""
    return Path(home) / "datastores" / name
