"""What the executors of jobs made of child jobs share (the sweep controller, the pipeline executor): claim the job,
run it to its end with a heartbeat, end it with its reason, cancel its running children. Both keep all their state in
the store, so that a new process started by supervision resumes where a dead one stopped."""
from __future__ import annotations

import os
import sys
import time
import traceback

from ..._contract import ACTIVE_STATUSES, TERMINAL_STATUSES
from ..core.executors import HEARTBEAT
from ..core.jobs import Jobs
from ..core.processes import ChildExits, process_start
from ..core.workspace import NotFound, Store, now

POLL = 0.2  # seconds between two looks at the children (sooner when a child's process exits)
CANCEL_WAIT = 10.0  # a runner stops its command within KILL_GRACE (3 s) of a cancel; this is a bound, not a wait


class Stop(Exception):
    """The job cannot go on; the message is its error, for its user."""


class Lost(Exception):
    """The job was deleted or ended elsewhere, or another process has it: this one leaves it as it is."""


class ParentExecutor:
    """Runs job `name` of workspace `ws` in the local workspace at `home` through child jobs. A subclass names
    itself (`kind`, `role`), runs the job in `_work` -> (final status, error), keeps its children's records current
    in `_refresh` and lists them in `_records`."""

    kind = "job"  # in log lines and errors: sweep, pipeline
    role = "executor"

    def __init__(self, home: str | os.PathLike, ws: str, name: str):
        self.store = Store(home)
        record = self.store.get_job(ws, name)
        self.jobs = Jobs(self.store, record["created_by"])  # children are the job owner's jobs
        self.ws, self.name, self.doc = record["workspace"], name, record["doc"]
        self.pid = os.getpid()
        self._beat = 0.0

    def log(self, message: str) -> None:
        print(f"{now()} {self.kind}: {message}", file=sys.stderr, flush=True)

    def run(self) -> str | None:
        """Run (or resume) the job to its end -> the final status (None when it is not this process's)."""
        status = self.store.claim_controller(self.ws, self.name, self.pid, os.getppid(), process_start(self.pid))
        if status is None:
            self.log(f"not started: the {self.kind} has another {self.role} or has ended")
            return None
        self.log(f"{self.role} {self.pid} has the {self.kind} ({status})")
        if status == "Queued":
            self.store.set_job_status(self.ws, self.name, "Running", expect="Queued")
        self.exits = ChildExits()
        try:
            final, error = self._work()
        except Lost:
            self.log(f"leaving: the {self.kind} was deleted, ended elsewhere or has another {self.role}")
            return None
        except Exception as exc:  # noqa: BLE001 - the job must end, with the reason
            if isinstance(exc, Stop):
                error = str(exc)
            else:
                self.log(traceback.format_exc())
                error = (f"the {self.kind} {self.role} failed: {type(exc).__name__}: {exc} "
                         "(see system_logs/runner.log)")
            final = "Failed"
            try:
                self._cancel_all()
            except Lost:
                return None
        self._ending(final)
        moved = self.store.set_job_status(self.ws, self.name, final, expect=ACTIVE_STATUSES, error=error)
        self.log(f"status {final}" + (f": {error}" if error else "") if moved else f"already ended; not {final}")
        self.log(f"{self.role} cpu {time.process_time():.2f} s for {len(list(self._records()))} child job(s)")
        self.jobs.close()
        self.store.close()
        return final

    def _work(self) -> tuple[str, str | None]:
        raise NotImplementedError

    def _refresh(self) -> None:
        raise NotImplementedError

    def _records(self):
        raise NotImplementedError

    def _ending(self, final: str) -> None:
        """Record what the job reports as it ends with status `final`."""

    def _cancel_all(self) -> None:
        """Cancel every running child and wait until they have ended (their runners stop them within seconds)."""
        self._refresh()
        for record in self._records():
            if record["status"] not in TERMINAL_STATUSES:
                self.store.request_cancel(self.ws, record["name"])
        deadline = time.monotonic() + CANCEL_WAIT
        while time.monotonic() < deadline:
            self._refresh()
            if all(r["status"] in TERMINAL_STATUSES for r in self._records()):
                break
            self._status()  # keeps the heartbeat going while the runners stop
            time.sleep(POLL / 2)

    def _status(self) -> str:
        """Heartbeat (every HEARTBEAT s) -> the job's status; raises Lost when it is not this process's."""
        if time.monotonic() - self._beat >= HEARTBEAT:
            status = self.store.heartbeat(self.ws, self.name, self.pid)
            self._beat = time.monotonic()
        else:
            try:
                record = self.store.get_job(self.ws, self.name)
            except NotFound:
                raise Lost() from None
            status = record["status"] if record["runner_pid"] == self.pid else None
        if status is None:
            raise Lost()
        return status
