"""The executor contract: which process runs a job of each type, and what supervision does when it dies.

An executor is a module run as ``python -m <module> --home H --workspace WS --job NAME`` (:func:`command_line`
builds it, :func:`executor_main` parses it). Core starts executors by module name and never imports them; they use
core to claim their job, move its status and write a heartbeat. When an executor's process dies without ending its
job, supervision (:meth:`azureml_v2.local.core.jobs.Jobs.supervise`) starts it again if it ``resumes`` (it picks up
its state from the store, and looks after its job's children itself: reruns or fails them), else marks the job
Failed. A new job type is a line in :data:`EXECUTORS` and a module with a ``main``.
"""
from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path


class Executor(collections.namedtuple("Executor", "module resumes")):
    """`module`: run with python -m; `resumes`: when its process dies, True: it is started again (it resumes), False:
    the job is marked Failed. A named tuple, not a dataclass: every job process imports this, and dataclasses costs
    tens of milliseconds to import."""

    __slots__ = ()


HEARTBEAT = 1.0  # seconds between two heartbeats of an executor's process

EXECUTORS = {
    "Command": Executor("azureml_v2.local.executors.command", resumes=False),
    "Sweep": Executor("azureml_v2.local.executors.sweep", resumes=True),
    "Pipeline": Executor("azureml_v2.local.executors.pipeline", resumes=True),
    "Parallel": Executor("azureml_v2.local.executors.parallel", resumes=True),
    "Spark": Executor("azureml_v2.local.executors.spark", resumes=False),
}


def command_line(job_type: str, home: Path, ws: str, name: str) -> list[str]:
    """The command that runs job `name` of type `job_type`."""
    return [sys.executable, "-m", EXECUTORS[job_type].module, "--home", str(home), "--workspace", ws, "--job", name]


def executor_main(cls, module: str, doc: str, argv: list[str] | None = None) -> int:
    """An executor's command line: run ``cls(home, workspace, job).run()`` -> the exit code (0 when the job
    Completed or was not this process's to run)."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=doc.split("\n")[0])
    parser.add_argument("--home", required=True)
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--job", required=True)
    args = parser.parse_args(argv)
    status = cls(args.home, args.workspace, args.job).run()
    return 0 if status in (None, "Completed") else 1
