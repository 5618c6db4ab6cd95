"""Jobs: submit (uploading local code and data first), get, list, cancel, archive, stream logs, download
outputs and read metrics. The same calls serve an Azure ML workspace and the local one."""
from __future__ import annotations

import codecs
import copy
import re
import secrets
import sys
from pathlib import Path

from azure.core.exceptions import ResourceNotFoundError
from azure.core.paging import ItemPaged
from azure.core.polling import LROPoller

from .._artifacts.storage import download
from .._contract import (API_VERSION, BEST_CHILD, DATASTORE_URI, DEFAULT_EXPERIMENT, MODEL_TYPES, SCORE_OUTPUT,
                         TERMINAL_STATUSES, compute_placeholder_problem, default_output_path, fill_output_path,
                         is_batch_scoring, is_local, job_artifacts_uri, job_error, legacy_output_uri, to_arm)
from .._plot import save
from .._steps import LivePipeline, pipeline_view
from .._trials import LiveTable
from ..entities.inputs import LITERAL_TYPES, Input, placeholder_problems
from ..entities.job import CommandJob, SweepJob
from ..entities._jobs import job_from_rest
from ..entities.pipeline import PipelineComponent, PipelineJob
from ..entities.spark import SparkJob
from ..exceptions import JobFailedError, JobStateError, NotAvailableError, Problem, ValidationError
from ._base import ListViewType, Operations
from .assets import _list_view

_CHUNK = 1 << 20  # bytes of a log read at once when following it
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_]{0,254}$")

_ADJECTIVES = ("amber", "bold", "brave", "calm", "clever", "crisp", "eager", "gentle", "golden", "happy", "keen",
               "lively", "lucid", "mellow", "nimble", "patient", "quiet", "rapid", "shiny", "steady", "sunny",
               "swift", "tidy", "witty")
_NOUNS = ("apple", "badger", "brook", "cactus", "canyon", "comet", "falcon", "fern", "garden", "harbor", "island",
          "lantern", "maple", "meadow", "otter", "pepper", "pine", "river", "rocket", "sparrow", "summit", "tiger",
          "tulip", "willow")


def generate_name() -> str:
    """A fresh job name as Azure ML makes them: adjective_noun_<10 random characters>."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    suffix = "".join(secrets.choice(alphabet) for _ in range(10))
    return f"{secrets.choice(_ADJECTIVES)}_{secrets.choice(_NOUNS)}_{suffix}"


class JobOperations(Operations):
    """create_or_update, get, list, begin_cancel, archive, restore, validate, stream, list_trials, plot, download,
    get_metrics."""

    def create_or_update(self, job, *, name: str | None = None, description: str | None = None,
                         compute: str | None = None, tags: dict | None = None, experiment_name: str | None = None,
                         display_name: str | None = None):
        """Submit a job; the keywords override its fields. A job without a name gets a fresh one, without
        an experiment the current folder's name (as azure-ai-ml does).

        Local code and local data inputs are uploaded to the workspace's default datastore, an inline
        environment is created, `@latest` references are resolved, then the job is sent. The caller's
        object is left as it was; the job as the service recorded it is returned.
        """
        job = copy.deepcopy(job)
        for attr, value in (("name", name), ("description", description), ("compute", compute), ("tags", tags),
                            ("experiment_name", experiment_name), ("display_name", display_name)):
            if value is not None:
                setattr(job, attr, value)
        job.name = job.name or generate_name()
        job.experiment_name = job.experiment_name or Path.cwd().name.replace(" ", "") or DEFAULT_EXPERIMENT
        self.validate(job, raise_on_failure=True)
        self._resolve_dependencies(job)
        body = job.to_rest(scope=self._ml_client._scope)
        named = any("assetName" in output for output in (body["properties"].get("outputs") or {}).values())
        version = self._backend.named_outputs_api_version if named else API_VERSION
        return job_from_rest(self._put(body, "jobs", job.name, api_version=version))

    def _resolve_dependencies(self, job) -> None:
        ml = self._ml_client
        job.inputs = self._resolve_inputs(job.inputs)
        if isinstance(job, PipelineJob):
            components = ml.components
            if isinstance(job.component, PipelineComponent):  # created first; its nodes are the job's
                job.component = copy.copy(job.component)
                job.component.jobs = components._resolve_nodes(job.component.jobs)
                components._arm_id_for(job.component)
            elif job.component is not None:
                job.component = components._arm_id_for(job.component)
            job.jobs = components._resolve_nodes(job.jobs)
            settings = job.settings
            if settings is not None and settings.default_environment is not None:
                settings.default_environment = self._environment_id(settings.default_environment)
            return
        template = getattr(job, "trial", job)  # a sweep's trial holds its code and environment
        if template.code is not None:
            template.code = ml.code._arm_id_for(template.code)
        template.environment = self._environment_id(template.environment)

    def _resolve_inputs(self, inputs: dict | None) -> dict | None:
        """Copies of data inputs with their paths as the service takes them (see _input_uri)."""
        if inputs is None:
            return None
        resolved = {}
        for key, value in inputs.items():
            if isinstance(value, Input) and value.type not in LITERAL_TYPES and value.path:
                value = copy.copy(value)
                value.path = self._input_uri(value)
            resolved[key] = value
        return resolved

    def _environment_id(self, environment):
        reference = isinstance(environment, str)
        if reference and self._backend.keeps_curated_environment(environment):
            return environment
        arm_id = self._ml_client.environments._arm_id_for(environment)
        if reference and self._backend.verifies_environment_at_submit:
            # refused now rather than when the job would start, as Azure ML does
            parts = to_arm(arm_id, "environments", self._ml_client._scope).rsplit("/", 4)
            if len(parts) == 5 and parts[1] == "environments" and parts[3] == "versions":
                try:
                    self._ml_client.environments.get(parts[2], version=parts[4])
                except ResourceNotFoundError:  # a fresh workspace: the examples' environments are not there yet
                    raise ResourceNotFoundError(
                        f"environment {environment!r} is not in this workspace: create it first (`azml environment "
                        f"create -f <its YAML>`, name {parts[2]}, version {parts[4]})") from None
        return arm_id

    def _input_uri(self, value) -> str:
        """A data input's path as the service takes it: local paths uploaded, `@latest` resolved (the entity's REST
        form makes `azureml:name:version` an ARM id)."""
        ml = self._ml_client
        if is_local(value.path):
            return ml.data._upload(value.path)
        return (ml.models if value.type in MODEL_TYPES else ml.data)._resolve(value.path)

    def validate(self, job, *, raise_on_failure: bool = False) -> list[Problem]:
        """What the service would refuse in `job`, checked here without sending anything.

        Returns the problems (empty when the job looks right); with raise_on_failure=True raises them as
        one azureml_v2.ValidationError instead.
        """
        source = f"<{type(job).__name__}>"
        problems = []

        def problem(path: str, message: str) -> None:
            problems.append(Problem(message, path, source))

        if job.name is not None and not _NAME.match(job.name):
            problem("name", f"invalid job name {job.name!r}: letters, digits, '-' and '_', starting with a letter "
                            "or digit, at most 255 characters")
        if isinstance(job, SweepJob):
            try:
                job.validate()
            except ValidationError as err:
                problems += err.problems
            template, prefix = job.trial, "trial."
            if template is None:
                problem("trial", "a sweep job needs a trial (command, code, environment)")
        elif isinstance(job, CommandJob):
            template, prefix = job, ""
        elif isinstance(job, PipelineJob):
            try:
                job.validate()
            except ValidationError as err:
                problems += err.problems
            if not job.nodes and job.component is None:
                problem("jobs", "a pipeline job needs at least one node (jobs) or a pipeline component")
            template = None
        elif isinstance(job, SparkJob):
            for key, what in (("code", "the folder holding the application"), ("entry", "a file or class_name")):
                if getattr(job, key) is None:
                    problem(key, f"a spark job needs {key}: {what}")
            if job.code is not None and is_local(job.code) and not Path(job.code).exists():
                problem("code", f"{job.code}: no such file or folder")
            template = None
        else:
            problem("type", f"only command, sweep, pipeline and spark jobs can be submitted, not {type(job).__name__}")
            template = None
        if template is not None:
            if not (template.command or "").strip():
                problem(prefix + "command", "the command is empty")
            elif template is job:
                declared = {"inputs": list(job.inputs or ()), "outputs": list(job.outputs or ())}
                for message in placeholder_problems(job.command, declared):
                    problem("command", message)
            if template.environment is None:
                problem(prefix + "environment", "an environment is required (a reference or an inline one)")
            if template.code is not None and is_local(template.code) and not Path(template.code).exists():
                problem(prefix + "code", f"{template.code}: no such file or folder")
        computes = {"compute": job.compute}
        if isinstance(job, PipelineJob):
            computes["settings.default_compute"] = job.settings and job.settings.default_compute
            computes.update(_node_computes(job.nodes))
        for path, compute in computes.items():
            if message := compute_placeholder_problem(compute):
                problem(path, message)
        for key, value in (job.inputs or {}).items():
            if isinstance(value, Input) and value.path and is_local(value.path) and not Path(value.path).exists():
                problem(f"inputs.{key}.path", f"{value.path}: no such file or folder")
        if problems and raise_on_failure:
            raise ValidationError(problems)
        return problems

    def get(self, name: str):
        """A job by name, with its current status."""
        return job_from_rest(self._get("jobs", name))

    def list(self, *, parent_job_name: str | None = None,
             list_view_type=ListViewType.ACTIVE_ONLY) -> ItemPaged:
        """The workspace's top-level jobs, newest first, or the child jobs of `parent_job_name`.

        list_view_type: ActiveOnly (default), ArchivedOnly or All.
        """
        params = {"listViewType": _list_view(list_view_type)}
        if parent_job_name is not None:
            params.update(self._backend.child_jobs(parent_job_name, "listing child jobs (parent_job_name)"))
        return self._paged(job_from_rest, "jobs", params=params)

    def begin_cancel(self, name: str) -> LROPoller:
        """Ask the job to stop; the poller completes when it has (Canceled, or already ended)."""
        return self._begin("POST", "jobs", name, "cancel")

    def archive(self, name: str) -> None:
        """Hide a job from default lists."""
        self._set_archived(name, True)

    def restore(self, name: str) -> None:
        """Undo `archive`."""
        self._set_archived(name, False)

    def _set_archived(self, name: str, archived: bool) -> None:
        properties = {k: v for k, v in self._get("jobs", name).get("properties", {}).items() if k != "status"}
        properties["isArchived"] = archived
        self._put({"properties": properties}, "jobs", name)

    # -- following a job -----------------------------------------------------------------------------------
    def stream(self, name: str, *, out=None):
        """Print the job's status changes and, when its log is readable here (the local workspace in this
        process), its log as it grows (from the start); return the job when it has ended. Raises JobFailedError
        when it ended Failed or Canceled.

        A sweep shows its trials instead (number, parameters, primary metric, status), then the best trial,
        where trials can be listed (the local workspace). Azure ML streams logs and lists trials through its run
        history service, which is not part of ARM: for a cloud workspace only status changes are shown.
        """
        out = out or sys.stdout
        resource = self._get("jobs", name)
        delays = self._backend.follow_delays(self._ml_client.polling_interval)
        if resource.get("properties", {}).get("jobType") == "Sweep":
            metrics: dict[str, float | None] = {}  # ended trials' metrics: read once
            try:
                view = self._sweep_view(resource, metrics)
            except NotAvailableError:  # no trials to show here: status changes, as for any job
                pass
            else:
                return self._stream_sweep(resource, view, metrics, delays, out)
        if resource.get("properties", {}).get("jobType") == "Pipeline":
            return self._stream_pipeline(resource, delays, out)
        log = self._backend.job_log(self._ml_client.workspace_name, name)
        tail = _Tail(log) if log is not None else None
        out.write(f"RunId: {name}\n")
        if tail is None:
            out.write("(logs are not streamed from this workspace: status changes only)\n")
        status = None
        while True:
            current = resource.get("properties", {}).get("status")
            final = current in TERMINAL_STATUSES
            if current != status and not final:
                self._status_line(out, tail, current)
            status = current
            if tail is not None:  # read after the status: a final status means the log is complete
                tail.pump(out)
            if final:
                self._status_line(out, tail, current)
                break
            out.flush()
            self._backend.sleep(next(delays))
            resource = self._get("jobs", name)
        out.flush()
        return _ended(name, resource)

    def _stream_sweep(self, resource: dict, view, metrics: dict, delays, out):
        live = LiveTable(out)
        out.write(f"RunId: {view.name}\n")
        while view.status not in TERMINAL_STATUSES:
            live.update(view)
            self._backend.sleep(next(delays))
            resource = self._get("jobs", view.name)
            view = self._sweep_view(resource, metrics)
        live.finish(view)
        return _ended(view.name, resource)

    def _stream_pipeline(self, resource: dict, delays, out):
        live = LivePipeline(out)
        out.write(f"RunId: {resource['name']}\n")
        metrics: dict[str, tuple | None] = {}
        view = self.pipeline_view(resource["name"], resource, metrics)
        while view.status not in TERMINAL_STATUSES:
            live.update(view)
            self._backend.sleep(next(delays))
            view = self.pipeline_view(resource["name"], metrics=metrics)
        live.finish(view)
        return _ended(view.name, self._get("jobs", view.name))

    def pipeline_view(self, name: str, resource: dict | None = None, metrics: dict | None = None):
        """Pipeline `name` with its nodes: the DAG, each node's step (status, reused from which job or why it
        ran, duration, key metric) and where its outputs are. `metrics` caches the nodes' key metrics."""
        resource = resource or self._get("jobs", name)
        if resource.get("properties", {}).get("jobType") != "Pipeline":
            raise ValidationError(f"job {name} is a {resource.get('properties', {}).get('jobType')} job, not a "
                                  "pipeline")
        params = {**self._backend.child_jobs(name, "listing a pipeline's steps"), "listViewType": "All"}
        children = list(self._paged(lambda r: r, "jobs", params=params))
        cache = {} if metrics is None else metrics

        def key_metric(child: str):
            if child not in cache:
                try:
                    found = self._backend.metrics(child)
                except Exception:  # noqa: BLE001 - a step without an MLflow run (reused, failed early) has none
                    found = {}
                key = min(found, default=None)
                cache[child] = (key, found[key][-1][1]) if key and found[key] else None
            return cache[child]

        return pipeline_view(resource, children, key_metric)

    def list_trials(self, name: str) -> list:
        """The trials of sweep `name` on the local workspace, by number: each a `Trial` with number, name (the
        trial's job), status, params and metric (the last value of the primary metric it logged, else None)."""
        return self._sweep_view(self._get("jobs", name)).trials

    def plot(self, name: str, path) -> Path:
        """Draw sweep `name` into `path`: its primary metric per trial (coloured by status), the best-so-far
        line and the parameters in parallel coordinates (coloured by the metric).

        `.html` writes one self-contained page (inline SVG, nothing to install); `.png` needs matplotlib
        (pip install 'azureml_v2[plot]'). Returns the path written.
        """
        return save(self._sweep_view(self._get("jobs", name)), path)

    def _sweep_view(self, resource: dict, metrics: dict | None = None):
        """The sweep in `resource` with its trials and their metrics; `metrics` caches ended trials' ones."""
        props = resource.get("properties", {})
        name = resource["name"]
        if props.get("jobType") != "Sweep":
            raise ValidationError(f"job {name} is a {props.get('jobType')} job, not a sweep: it has no trials")
        params = {**self._backend.child_jobs(name, "listing a sweep's trials"), "listViewType": "All"}
        children = self._paged(lambda r: r, "jobs", params=params)
        return self._backend.sweep_view(resource, children, {} if metrics is None else metrics)

    @staticmethod
    def _status_line(out, tail, status: str) -> None:
        if tail is not None:
            tail.close_line(out)
        out.write(f"Status: {status}\n")

    # -- outputs and metrics -----------------------------------------------------------------------------
    def download(self, name: str, *, download_path=".", output_name: str | None = None,
                 all: bool = False) -> list[Path]:
        """Copy a finished job's files from the datastore to `download_path` -> the folders written.

        By default its artifacts (the `./outputs` and `./logs` it wrote, and its `user_logs/std_log.txt`) go to
        `<download_path>/artifacts/`; `output_name` copies that named output to `<download_path>/<output_name>/`;
        all=True copies the artifacts and every named output. A sweep's files are its best trial's (none when no
        trial completed); a pipeline's named output is the step's output it is bound to. A batch deployment's
        scoring job gives its predictions (its `score` output) straight into `download_path`, as azure-ai-ml does.
        """
        resource = self._get("jobs", name)
        props = resource.get("properties", {})
        status = props.get("status")
        if status not in TERMINAL_STATUSES:
            raise JobStateError(f"job {name} is {status}: its files can be downloaded once it has ended",
                                job_from_rest(resource))
        best = (props.get("properties") or {}).get(BEST_CHILD) if props.get("jobType") == "Sweep" else None
        if best:
            return self.download(best, download_path=download_path, output_name=output_name, all=all)
        if props.get("jobType") == "Pipeline" and all:  # every step's named outputs, in a folder per node
            for node in self.pipeline_view(name, resource).nodes:
                if node.job and node.status == "Completed":
                    self.download(node.job, download_path=Path(download_path) / node.name, all=True)
            return
        outputs = props.get("outputs") or {}
        if output_name is None and is_batch_scoring(props.get("tags")) and SCORE_OUTPUT in outputs:
            # as azure-ai-ml: a batch scoring job's download is its predictions, in the folder itself
            step = self._step_output(name, resource, SCORE_OUTPUT)
            if step is None:
                raise ValidationError(f"job {name} has no predictions: its scoring step did not run ({status})")
            return [Path(download_path)] if self._download_output(*step, Path(download_path)) else []
        owners = {}  # output -> (the job, its output's name) that hold it: a pipeline's output is its step's
        if props.get("jobType") == "Pipeline" and output_name in outputs:
            step = self._step_output(name, resource, output_name)
            if step is not None:
                owners[output_name], outputs = step[:2], {output_name: step[2]}
        if output_name is not None and output_name not in outputs:
            raise ValidationError(f"job {name} has no output named {output_name!r} (outputs: "
                                  f"{', '.join(outputs) or 'none'})")
        root = Path(download_path)
        wanted = [] if output_name is None and not all else [output_name] if output_name else list(outputs)
        written = []
        for key in wanted:
            if not _NAME.match(key):  # the name becomes a folder under download_path
                raise ValidationError(f"refusing to download output {key!r}: not a valid output name")
            if self._download_output(*owners.get(key, (name, key)), outputs[key], root / key):
                written.append(root / key)
        if output_name is None:
            for part in ("outputs", "logs", "user_logs"):
                if self._download_uri(f"{job_artifacts_uri(name)}/{part}", root / "artifacts" / part,
                                      missing_ok=True):
                    written.append(root / "artifacts" / part)
            logs = root / "artifacts" / "user_logs"
            # the local workspace keeps a job's user logs beside its artifacts: fetched apart, laid out as Azure ML's
            found = {} if logs in written else self._backend.user_logs(self._ml_client.workspace_name, name)
            if found:
                self._backend.offload(_write_files, logs, found)
                written.append(logs)
        return written

    def _download_output(self, name: str, key: str, spec: dict, dest: Path) -> bool:
        """Download job `name`'s output `key` -> whether it had files. The service answers no uri for an output
        given no path: it is in the default datastore's `azureml/<job>/<output>/` (older jobs: `dataset/...`), or,
        for a job of a local home from before outputs moved there, under the job's artifacts."""
        if DATASTORE_URI.match(spec.get("uri") or ""):
            return self._download_uri(fill_output_path(spec["uri"], name, key), dest)
        default = self._ml_client.datastores.get_default().name
        places = (f"azureml://datastores/{default}/paths/{default_output_path(name, key)}",
                  f"azureml://datastores/{default}/paths/dataset/{name}/{key}/",
                  legacy_output_uri(name, key))
        for uri in places:
            if self._download_uri(uri, dest, missing_ok=True):
                return True
        raise ValidationError(f"job {name}'s output {key!r} has no files: looked in "
                              f"{', '.join(places)}")

    def _step_output(self, name: str, resource: dict, output_name: str) -> tuple[str, str, dict] | None:
        """(the step's job, its output's name, its REST output) that pipeline `name`'s output `output_name` is
        bound to; None when no step ran for it."""
        view = self.pipeline_view(name, resource)
        node, _, own = view.outputs.get(output_name, "").partition(".outputs.")
        job = next((n.job for n in view.nodes if n.name == node and n.job), None)
        if job is None:
            return None
        return job, own, (self._get("jobs", job)["properties"].get("outputs") or {}).get(own) or {}

    def _download_uri(self, uri: str, dest: Path, *, missing_ok: bool = False) -> bool:
        """Download the files at `uri` into `dest` -> whether there were any."""
        m = DATASTORE_URI.match(uri)
        if not m or not m.group("path"):
            raise ValidationError(f"cannot download {uri!r}: only azureml://datastores/<name>/paths/<path> "
                                  "locations can be downloaded")
        datastores = self._ml_client.datastores
        storage = datastores._storage(datastores.get(m.group("name"), include_secrets=True))
        if missing_ok and not self._backend.offload(_has_files, storage, m.group("path")):
            return False
        self._backend.offload(download, storage, m.group("path"), dest)
        return True

    def get_metrics(self, name: str) -> dict[str, list[tuple[int, float, int]]]:
        """The job's MLflow metrics on the local workspace: key -> [(step, value, timestamp ms)] in logging
        order. On Azure ML, read them with MLflow at the workspace's tracking URI."""
        return self._backend.metrics(name)


def _node_computes(nodes: dict, prefix: str = "jobs."):
    """(where, compute) of every node of a pipeline, those of its inline pipeline components' nodes included."""
    for name, node in nodes.items():
        yield f"{prefix}{name}.compute", getattr(node, "compute", None)
        if isinstance(getattr(node, "interface", None), PipelineComponent):
            yield from _node_computes(node.interface.jobs, f"{prefix}{name}.component.jobs.")


def _write_files(folder: Path, files: dict[str, bytes]) -> None:
    """Write `files` (path under `folder`, with '/' -> content) under `folder`."""
    for path, content in files.items():
        target = folder.joinpath(*path.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def _has_files(storage, remote: str) -> bool:
    """Whether datastore path `remote` holds a file (a job's empty ./outputs is left out of a download)."""
    if isinstance(storage, (str, Path)):
        start = Path(storage) / remote
        return start.is_file() or any(p.is_file() for p in start.rglob("*"))
    remote = remote.rstrip("/")
    return any(b.name == remote or b.name.startswith(remote + "/")
               for b in storage.list_blobs(name_starts_with=remote))


def _ended(name: str, resource: dict):
    """The ended job in `resource`; raises JobFailedError unless it completed."""
    job = job_from_rest(resource)
    current = resource.get("properties", {}).get("status")
    if current != "Completed":
        error = job_error(resource)
        raise JobFailedError(f"job {name} {current.lower()}" + (f": {error}" if error else ""), job)
    return job


class _Tail:
    """Follows a growing text file from its start, as `tail -f` does; a file not there yet reads as empty."""

    def __init__(self, path: Path):
        self.path, self.offset = path, 0
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.ends_line = True

    def pump(self, out) -> None:
        """Write what was appended since the last call, a chunk at a time (a log may be larger than memory)."""
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                for data in iter(lambda: fh.read(_CHUNK), b""):
                    self.offset += len(data)
                    text = self.decoder.decode(data)
                    if text:
                        out.write(text)
                        self.ends_line = text.endswith("\n")
        except FileNotFoundError:
            return

    def close_line(self, out) -> None:
        if not self.ends_line:
            out.write("\n")
            self.ends_line = True
