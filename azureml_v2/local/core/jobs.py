"""Job lifecycle: create (checked, recorded, its executor started), start, cancel, delete, and supervision.

Each job type's executor runs in a detached process (:mod:`azureml_v2.local.core.executors`). That process claims
its job with its pid and start time, and writes a heartbeat every second. :meth:`Jobs.supervise` is the one step
that looks after jobs whose process is gone: it starts a job whose submitter died between recording it and
starting its executor, starts again the executor of a job whose executor resumes (a sweep controller), and marks
Failed any other job whose process died, killing the process groups it left. A process that exists and is the
job's own (its start time tells it from a reused pid) is alive, even stopped (SIGSTOP) or too busy to write its
heartbeat; the heartbeat judges only a process whose start time is unknown. A read never does any of this.
"""
from __future__ import annotations

import logging
import os
import time
from datetime import datetime, timezone

from ..._contract import (ARTIFACT_STORE, DEFAULT_DATASTORE, PARENT_JOB_PROPERTY, RESULT_PROPERTIES, RUN_PROPERTIES,
                          TERMINAL_STATUSES, default_output_path, job_artifacts_path)
from ..storage.sqlite import Conflict, NotFound
from ..storage.workspace import Store
from . import checks
from .executors import EXECUTORS, command_line
from .processes import Spawner, kill_groups, kill_marked, process_alive, process_start

# Fields a PUT may change on an existing job; any other difference is a 409.
JOB_MUTABLE = frozenset({"description", "displayName", "tags", "isArchived"})
# A job process writes its heartbeat every second; one whose start time is unknown (no /proc) and that has been
# silent for longer than this has stopped.
HEARTBEAT_TIMEOUT = 3.0
START_GRACE = 5.0  # seconds a new job may wait for the executor its submitter starts

log = logging.getLogger(__name__)


def runner_died(row) -> bool:
    """Whether the process of a job stopped without ending it: it is gone or a zombie, or its pid now names another
    process (its start time differs). A process that exists and is the job's own is alive, even stopped or busy.
    Only when its start time is unknown does a heartbeat older than HEARTBEAT_TIMEOUT count as dead."""
    if row["status"] in TERMINAL_STATUSES or row["runner_pid"] is None:
        return False
    if _gone(row):
        return True
    if row["runner_started"] is not None:
        return False
    # a process that has not claimed its job yet (a busy machine) writes no heartbeat
    return row["status"] != "NotStarted" and time.time() - (row["heartbeat_at"] or 0) > HEARTBEAT_TIMEOUT


def _gone(row) -> bool:
    """Whether the process recorded for a job is gone, a zombie, or its pid now names another process."""
    pid, started = row["runner_pid"], row["runner_started"]
    return not process_alive(pid) or (started is not None and process_start(pid) != started)


def never_started(row) -> bool:
    """A job recorded but whose executor was never started: its submitter died in between, or the process that took
    it over to start it again died before starting it (it had recorded no process: no heartbeat)."""
    if row["status"] != "NotStarted" or row["job_type"] not in EXECUTORS:
        return False
    if row["runner_pid"] is not None:
        return row["heartbeat_at"] is None and _gone(row)
    created = datetime.strptime(row["status_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return (datetime.now(timezone.utc) - created).total_seconds() > START_GRACE


def _runner_error(row) -> str:
    return (f"the runner stopped: process {row['runner_pid']} ended without finishing the job "
            "(see system_logs/runner.log)")


class Jobs:
    """The jobs of a home's store, created and looked after as `user`; with `launch=False` nothing is started (jobs
    stay NotStarted)."""

    def __init__(self, store: Store, user: str, *, launch: bool = True):
        self.store, self.user, self.launch = store, user, launch
        self._spawner = Spawner()

    def close(self) -> None:
        self._spawner.reap()

    def create(self, ws: str, name: str, props: dict, *, completed: bool = False) -> tuple[dict, bool]:
        """Check and record a job's REST `properties`, and start its executor when it is new -> (record,
        created). A `completed` job (a reused pipeline step) is recorded Completed at once, with no process."""
        props = checks.check_job(props, name, RUN_PROPERTIES + RESULT_PROPERTIES)
        try:
            self.store.get_job(ws, name)
        except NotFound:  # a new job
            self._name_free(name)
        record, created = self.store.put_job(ws, name, props, self.user, mutable=JOB_MUTABLE,
                                             parent=props["properties"].get(PARENT_JOB_PROPERTY),
                                             status="Completed" if completed else "NotStarted")
        if created and not completed and self.launch and props["jobType"] in EXECUTORS:
            self.start(record)
            try:
                record = self.store.get_job(ws, name)
            except NotFound:  # deleted at once: the answer is the job as it was recorded
                pass
        return record, created

    def _name_free(self, name: str) -> None:
        """Refuse a new job's name when the home keeps files of a job of that name where the job would keep its own:
        the home's workspaces share their built-in datastores' folders (a job of another workspace), and a deleted
        job's files stay. Its outputs would mix with theirs, and downloads of either show both."""
        for store, folder in ((DEFAULT_DATASTORE, default_output_path(name, "")),
                              (ARTIFACT_STORE, job_artifacts_path(name))):
            if (self.store.datastore_folder(store) / folder).exists():
                raise Conflict(f"the local home keeps files of another job named {name!r} (in {folder.rstrip('/')} "
                               f"of {store}, shared by the home's workspaces; a deleted job's files stay there): "
                               "give this job another name")

    def start(self, record: dict) -> None:
        """Start the detached process of a job's executor (its own session: it outlives this process)."""
        ws, name = record["workspace"], record["name"]
        logs = self.store.job_folder(ws, name) / "system_logs"
        try:
            logs.mkdir(parents=True, exist_ok=True)
            pid = self._spawner.spawn(command_line(record["job_type"], self.store.home, ws, name),
                                      cwd=self.store.home, stderr_path=logs / "runner.log")
        except OSError as exc:  # no process, no room for its log (a full disk)
            self._not_started(ws, name, f"the local runner could not start: {exc}")
            return
        # unless another process took the job meanwhile (then the new process finds it is not its own and leaves)
        self.store.set_runner(ws, name, pid, process_start(pid), launcher=os.getpid())

    def _not_started(self, ws: str, name: str, error: str) -> None:
        """End a job whose executor could not be started, if it is still this process's to start (new, or taken
        over for it): else no one would end it."""
        try:
            current = self.store.get_job(ws, name)
        except NotFound:
            return
        mine = (None, os.getpid())
        self.store.fail_if(current, lambda row: row["runner_pid"] in mine and row["status"] not in TERMINAL_STATUSES,
                           lambda row: error)

    def cancel(self, ws: str, name: str) -> dict:
        """Cancel a job -> the long-running operation (its executor stops it)."""
        return self.store.request_cancel(ws, name)

    def delete(self, ws: str, name: str) -> dict:
        """Delete a job (canceled first when it runs) -> the long-running operation."""
        return self.store.request_delete(ws, name)

    # -- supervision

    def fail_if_runner_died(self, record: dict) -> dict:
        """Fail a job whose process stopped without ending it, and kill the process groups it left -> the
        current record."""
        row = self.store.fail_if(record, runner_died, _runner_error)
        if row is None:
            return record
        kill_groups(row["process_groups"])
        kill_marked(str(self.store.job_folder(row["workspace"], row["name"])))
        try:
            return self.store.get_job(record["workspace"], record["name"])
        except NotFound:  # a delete was waiting for the job to end
            return {**record, "status": "Failed"}

    def take_over(self, record: dict, pid: int, *, rerun: bool = False) -> bool:
        """Give a job whose process died (or, with `rerun`, never started) to the process `pid` will start ->
        whether this caller won it (of concurrent callers, one wins). `rerun` starts the job again from NotStarted
        (a sweep trial); otherwise it keeps its status (a resuming executor goes on where the dead one stopped).
        The dead process's groups are killed."""
        def orphan(row) -> bool:
            if rerun and row["status"] == "NotStarted" and (row["runner_pid"] is None or never_started(row)):
                return True
            return runner_died(row)

        row = self.store.take_over_if(record, orphan, pid, process_start(pid), rerun=rerun)
        if row is None:
            return False
        kill_groups(row["process_groups"])
        return True

    def supervise(self) -> None:
        """Look after every active job of the home once (see the module docstring). Children of an active job
        whose executor resumes are left to that executor. Without `launch`, only jobs whose process died and does
        not resume are marked Failed."""
        for job in self.store.active_jobs():
            try:
                self._supervise(job, os.getpid())
            except Exception:  # noqa: BLE001 - one job (a busy store, a damaged row) does not stop the others'
                log.exception("local workspace: supervision of job %s failed", job["name"])

    def _supervise(self, job: dict, pid: int) -> None:
        parent = EXECUTORS.get(job["parent_type"] or "")
        if parent is not None and parent.resumes and job["parent_status"] not in (None, *TERMINAL_STATUSES):
            return
        self.look_after(job, pid)

    def look_after(self, job: dict, pid: int, *, recorder_gone: bool = False) -> dict:
        """Start a job never started, start again the dead executor of a job that resumes, fail a job whose
        process died -> its record (as read before; failed when this failed it). A resuming executor does this
        for its children (supervision leaves them to it); when the process that recorded the job is known to be
        gone (`recorder_gone`: a new executor adopting its children), a job it did not start starts at once."""
        executor = EXECUTORS.get(job["job_type"])
        if executor is None:
            return job
        unstarted = recorder_gone and job["status"] == "NotStarted" and job["runner_pid"] is None
        if unstarted or never_started(job):
            if self.launch and self.take_over(job, pid, rerun=True):
                self.start(job)
        elif executor.resumes:
            if self.launch and self.take_over(job, pid):
                self.start(job)
        else:
            return self.fail_if_runner_died(job)
        return job
