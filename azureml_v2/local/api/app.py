"""The local workspace's WSGI application: the ARM API, MLflow's tracking API under ``/api/2.0/mlflow/`` (at the
root or under a workspace's ARM path), the Blob service of its datastores under ``/blob/``, the run history
azure-ai-ml streams and downloads a job with under ``/history/v1.0/``, the dataset and model data planes' output
resolution under ``/data/v1.0/`` and ``/modelregistry/v1.0/``, and, while it is open with ``run_jobs=True``, job
supervision on a timer.

    app = make_app(home)   # a plain WSGI callable; `home` is created on first use
    ...
    app.close()
"""
from __future__ import annotations

import getpass
import logging
import re
import threading
import weakref

from ..core.endpoints import Endpoints
from ..core.jobs import Jobs
from ..core.schedules import Scheduler
from ..core.serving import Serving
from ..core.workspace import Store
from .arm import ArmApi
from .blob import BLOB_PATH, BlobApi
from .dataplane import DATA_PLANE_PATHS, DataPlaneApi
from .history import HISTORY_PATH, HistoryApi
from .http import MAX_BODY
from .mlflow import make_tracking_app

# MLflow's tracking API, at the root or under a workspace's ARM path (as Azure ML's tracking URI has it)
_MLFLOW_PATH = re.compile(r"^(?:/subscriptions/[^/]+/resourceGroups/[^/]+/providers/[^/]+/workspaces/[^/]+)?"
                          r"/api/2\.0/mlflow/", re.IGNORECASE)
SUPERVISE_EVERY = 1.0  # seconds between two supervision rounds (a job process's heartbeat is every second)

log = logging.getLogger(__name__)


def _login() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in a bare container
        return "local-user"


class _Supervision:
    """One timer thread per process supervises the open apps that run jobs, each home once a round; it ends when
    no app is left (an app that is dropped without being closed leaves too: they are held weakly)."""

    def __init__(self):
        self._apps: weakref.WeakSet = weakref.WeakSet()
        self._closed: list = []  # stores of closed apps: the timer thread closes its connection to them
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        # the timer waits on an event that is never set, not on time.sleep: a caller that patches time.sleep
        # (tests recording retry delays) neither sees the supervision's waits nor makes it spin
        self._tick = threading.Event()

    def add(self, app: "LocalApp") -> None:
        with self._lock:
            self._apps.add(app)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="local-supervision", daemon=True)
                self._thread.start()

    def remove(self, app: "LocalApp") -> None:
        with self._lock:
            if app in self._apps:
                self._apps.discard(app)
                self._closed.append(app.store)

    def _run(self) -> None:
        while True:
            self._tick.wait(SUPERVISE_EVERY)
            with self._lock:
                apps, closed, self._closed = list(self._apps), self._closed, []
                if not apps and not closed:
                    self._thread = None
                    return
            for store in closed:
                store.close()
            homes = set()
            for app in apps:
                if app.store.home in homes:
                    continue
                homes.add(app.store.home)
                try:
                    app.supervise()
                except Exception:  # noqa: BLE001 - a busy store or a vanished job: the next round tries again
                    log.exception("local workspace: job supervision of %s failed", app.store.home)


_SUPERVISION = _Supervision()


class LocalApp:
    """The WSGI application over one home folder (see the module docstring)."""

    def __init__(self, home, *, page_size: int = 100, max_body: int = MAX_BODY, retry_after: int = 1,
                 user: str | None = None, run_jobs: bool = True, run_schedules: bool = False):
        self.store = Store(home)
        self.jobs = Jobs(self.store, user or _login(), launch=run_jobs)
        self.serving = Serving(self.store, launch=run_jobs)
        self.arm = ArmApi(self.store, self.jobs, Endpoints(self.store, self.jobs.user, self.serving),
                          page_size=page_size, max_body=max_body, retry_after=retry_after)
        self.blob = BlobApi(self.store)
        self.history = HistoryApi(self.store, max_body)
        self.data_plane = DataPlaneApi(self.store, max_body)
        self._tracking = None
        self._tracking_lock = threading.Lock()
        # fires the home's schedules once `scheduler.start()` took its lock (azml server, azml schedule run)
        self.scheduler = Scheduler(self.store, self.jobs) if run_schedules else None
        if run_jobs:
            self.supervise()
            _SUPERVISION.add(self)

    def supervise(self) -> None:
        """One round of supervision: jobs (:meth:`azureml_v2.local.core.jobs.Jobs.supervise`), the hosts of
        online endpoints (:meth:`azureml_v2.local.core.serving.Serving.supervise`) and, with `run_schedules`, the
        schedules due (:meth:`azureml_v2.local.core.schedules.Scheduler.tick`)."""
        self.jobs.supervise()
        self.serving.supervise()
        if self.scheduler is not None:
            self.scheduler.tick()

    def close(self) -> None:
        _SUPERVISION.remove(self)
        if self.scheduler is not None:
            self.scheduler.stop()
        self.jobs.close()
        self.serving.close()
        self.store.close()

    def __call__(self, environ, start_response):
        if _MLFLOW_PATH.match(environ.get("PATH_INFO", "")):
            with self._tracking_lock:
                if self._tracking is None:  # tracking.db is created on first use
                    self._tracking = make_tracking_app(
                        self.store.home, exists=lambda ws: self.store.open_workspace(ws, self.jobs.user))
            return self._tracking(environ, start_response)
        if environ.get("PATH_INFO", "").startswith(BLOB_PATH):
            return self.blob(environ, start_response)
        if environ.get("PATH_INFO", "").startswith(HISTORY_PATH):
            return self.history(environ, start_response)
        if environ.get("PATH_INFO", "").startswith(DATA_PLANE_PATHS):
            return self.data_plane(environ, start_response)
        return self.arm(environ, start_response)


def make_app(home, **options) -> LocalApp:
    """The WSGI application of the local workspace stored in folder `home` (created on first use).

    With `run_jobs=True` (the default) a created job starts its executor's process (a command job its runner, a
    sweep its controller), and jobs are supervised while the app is open.
    """
    return LocalApp(home, **options)
