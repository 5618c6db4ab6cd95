"""The backend interface, with the answers of a workspace that offers only the ARM API (Azure ML's)."""
from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

from azure.core.polling import LROPoller
from azure.mgmt.core.polling.arm_polling import ARMPolling

from .._contract import NAMED_OUTPUTS_API_VERSION
from .._http.pipeline import build_async_client, build_client
from ..exceptions import NotAvailableError

# Azure ML reads child jobs, trials and metrics through its run history and tracking services, not ARM.
RUN_HISTORY_HINT = "Azure ML lists them through its run history service, which is not part of the ARM API " \
                   "this client uses"


class Backend:
    """One workspace as the operation groups see it: an ARM pipeline plus what differs between workspaces.

    This base answers as a workspace that offers only the ARM API does: no logs, no child jobs or trials, no
    metrics, curated environments registered like any other.
    """

    where = "this workspace"  # how messages name the workspace
    is_local = False
    home: Path | None = None  # the folder of a workspace served in this process
    default_polling_interval: float = 30  # seconds between polls of a long-running operation
    storage_credential = None  # what signs blob access for a datastore without credentials of its own
    # what a new datastore gets when it does not say: the public cloud's storage suffix and sign-in authority
    storage_endpoint = "core.windows.net"
    authority_url = "https://login.microsoftonline.com"
    verifies_environment_at_submit = False  # whether a job's environment reference is looked up before sending
    builtin_computes: frozenset[str] = frozenset()  # computes every workspace of this kind has (not exported)
    named_outputs_api_version = NAMED_OUTPUTS_API_VERSION  # the api-version of a job whose outputs become assets
    records_firings = False  # whether the workspace lists each firing of a schedule (schedules/<name>/firings)

    def __init__(self, endpoint: str, scope: str, options: dict, **auth):
        self.endpoint, self.scope = endpoint.rstrip("/"), scope
        self._options, self._auth = dict(options), auth
        self._client = None
        self._lock = threading.Lock()
        self.asynchronous = False  # True under azureml_v2.aio: requests go through azure-core's async pipeline

    # -- transport -----------------------------------------------------------------------------------------
    def use_async(self) -> None:
        """Send through azure-core's async pipeline from now on; the operation groups then run under
        `_http.bridge.run_sync`, and block on nothing (waits, file and storage I/O go to the event loop)."""
        if self._client is not None:
            raise RuntimeError("use_async() comes before the first request")
        from .._http import bridge  # optional extra: azureml_v2[aio]

        self.asynchronous, self._bridge = True, bridge

    @property
    def pipeline(self):
        """The ARM pipeline client, built on the first call that needs it (once, whatever the threads); under
        azureml_v2.aio, its synchronous face for code under run_sync."""
        with self._lock:
            if self._client is None:
                build = build_async_client if self.asynchronous else build_client
                self._client = build(self.endpoint, **self._auth, **self._pipeline_options(self._options))
                # what operations send through: made once, not per request
                self._face = self._bridge.SyncPipeline(self._client) if self.asynchronous else self._client
            return self._face

    def _pipeline_options(self, options: dict) -> dict:
        """The pipeline's keywords; a backend may add its transport."""
        return options

    def poller(self, initial, deserialize, polling_interval: float):
        """The poller of a long-running operation whose first answer was `initial` (a PipelineResponse):
        azure-core's LROPoller, or under azureml_v2.aio its AsyncLROPoller, both following ARM's headers."""
        if self.asynchronous:
            from azure.core.polling import AsyncLROPoller  # optional extra: as in use_async
            from azure.mgmt.core.polling.async_arm_polling import AsyncARMPolling

            return AsyncLROPoller(self._client, initial, deserialize, AsyncARMPolling(polling_interval))
        return LROPoller(self._client, initial, deserialize, ARMPolling(polling_interval))

    def result(self, poller):
        """What the poller of a long-running operation ends with, waited for inside an operation."""
        return self._bridge.await_only(poller.result()) if self.asynchronous else poller.result()

    def sleep(self, seconds: float) -> None:
        """Wait between looks at something followed (a job, its log), without holding an event loop."""
        if self.asynchronous:
            self._bridge.sleep(seconds)
        else:
            time.sleep(seconds)

    def offload(self, fn, *args, **kwargs):
        """fn(...): blocking file or storage I/O, run in a worker thread under azureml_v2.aio."""
        return self._bridge.offload(fn, *args, **kwargs) if self.asynchronous else fn(*args, **kwargs)

    def close(self) -> None:
        """Release the connection pool and whatever else the pipeline opened."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    async def aclose(self) -> None:
        """close() for azureml_v2.aio: the async pipeline's connections are closed in the event loop."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            await client.close()

    @property
    def workspace_url(self) -> str:
        return self.endpoint + self.scope

    # -- what differs --------------------------------------------------------------------------------------
    def aad_token(self) -> str | None:
        """A Microsoft Entra token for Azure ML's data plane (what an aad_token endpoint takes); None without one."""
        return None

    def not_available(self, what: str, hint: str) -> NotAvailableError:
        return NotAvailableError(what, self.where, hint)

    def job_log(self, workspace: str, name: str) -> Path | None:
        """The file job `name` writes its log to, when this machine can read it; else None."""
        return None

    def user_logs(self, workspace: str, name: str) -> dict[str, bytes]:
        """Job `name`'s files under `user_logs/` that its artifacts in the datastore lack (path under user_logs/ ->
        content). None on Azure ML: its artifact store holds them."""
        return {}

    def follow_delays(self, polling_interval: float):
        """Seconds to wait before each look at a job being followed (its status, its log): an endless iterator."""
        return itertools.repeat(polling_interval)

    def keeps_curated_environment(self, reference: str) -> bool:
        """Whether environment `reference` names a curated environment that goes to the service as it is
        (mapped to an equivalent there) instead of being resolved as a registered one."""
        return False

    def child_jobs(self, parent: str, what: str) -> dict:
        """The list parameters that select the child jobs of `parent`; `what` names the call for errors."""
        raise self.not_available(what, RUN_HISTORY_HINT)

    def sweep_view(self, resource: dict, children, metrics: dict):
        """The sweep in `resource` with its trials, read from its child job resources `children`; `metrics`
        caches ended trials' primary metric by name."""
        raise self.not_available("listing a sweep's trials", RUN_HISTORY_HINT)

    def metrics(self, run: str) -> dict[str, list[tuple[int, float, int]]]:
        """Every metric `run` logged: key -> [(step, value, timestamp ms)] in logging order."""
        raise self.not_available("get_metrics", "read the metrics with mlflow at the workspace's tracking URI "
                                                "(Azure ML keeps them in its tracking service, not in ARM)")
