"""Reference resolution for job processes: asset references (ARM ids, ``azureml:name:version``, ``@latest``),
datastore paths, earlier jobs' outputs and local URIs -> what they name on this machine."""
from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..._contract import (ARTIFACT_STORE, ASSET_ID, BEST_CHILD, DATASTORE_URI, JOB_OUTPUT_URI, LOCAL_FOLDER_PROPERTY,
                          PIPELINE_OUTPUTS, REGISTRY_ASSET_ID, REGISTRY_URI, REUSED_FROM_PROPERTY, SHORT_REF,
                          job_artifacts_path, legacy_output_uri, output_uri)
from ..storage.sqlite import NotFound, Page, scope_name
from ..storage.workspace import Store, registry_key

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (a job process's start)
if TYPE_CHECKING:
    from typing import Callable


class RefError(Exception):
    """A reference names nothing this machine has; the message is for the job's user."""


class References:
    """Resolves references of workspace `ws` in `store`."""

    def __init__(self, store: Store, ws: str):
        self.store, self.ws = store, ws

    def asset(self, reference: str, kind: str) -> dict:
        """The REST properties of an asset version named by an ARM id or azureml:name:version / @latest."""
        m = ASSET_ID.match(reference)
        registry = REGISTRY_URI.match(reference) or REGISTRY_ASSET_ID.match(reference)
        if m and m.group("kind").lower() == kind.lower():
            ws, name, version, label = m.group("workspace"), m.group("name"), m.group("version"), None
        elif registry and registry.group("kind").lower() == kind.lower():
            ws, name, version = registry_key(registry.group("registry")), registry.group("name"), registry.group("version")
            label = registry.groupdict().get("label")
        else:
            m = SHORT_REF.match(reference)
            if not m:
                raise RefError(f"{reference!r} is not a reference to a {kind} asset version")
            ws, name, version, label = self.ws, m.group("name"), m.group("version"), m.group("label")
        try:
            if version:
                return self.store.get_version(ws, kind, name, version)["doc"]
            if label in (None, "latest"):
                records, _ = self.store.list_versions(ws, kind, name, Page(1))
                if records:
                    return records[0]["doc"]
        except NotFound as exc:
            raise RefError(str(exc)) from None
        wanted = "version" if label in (None, "latest") else f"label {label!r}"
        raise RefError(f"{kind} {name!r} has no {wanted} in {scope_name(ws)}")

    def uri_of(self, uri: str) -> str:
        """A data or model asset reference -> its URI; any other URI as it is."""
        m = ASSET_ID.match(uri) or REGISTRY_URI.match(uri) or REGISTRY_ASSET_ID.match(uri)
        if m and m.group("kind").lower() == "models":
            return self.asset(uri, "models")["modelUri"]
        if m and m.group("kind").lower() == "data" or SHORT_REF.match(uri):
            return self.asset(uri, "data")["dataUri"]
        return uri

    def path(self, uri: str, what: str, download: Callable[[str], Path]) -> Path:
        """The local file or folder behind a URI, a datastore path, an earlier job's output or an asset;
        `download(url)` fetches an http(s) URL."""
        uri = self.uri_of(uri)
        if uri.startswith(("http://", "https://")):
            return download(uri)
        m = DATASTORE_URI.match(uri)
        if m:
            path = self.datastore_path(m.group("name"), m.group("path") or "", what)
        elif (m := JOB_OUTPUT_URI.match(uri)) is not None:
            path = self.job_output(m.group("name"), m.group("output"), what) / (m.group("path") or "")
        elif uri.startswith("file://"):
            path = Path(unquote(urlsplit(uri).path))
        elif os.path.isabs(uri):
            path = Path(uri)
        elif uri.split("://", 1)[0] in ("wasbs", "wasb", "abfss", "abfs", "adl", "s3", "gs"):
            raise RefError(f"{what}: {uri!r} is cloud storage the local workspace cannot read: register a "
                           "datastore folder for it or copy the data to this machine and use its path")
        else:
            raise RefError(f"{what}: {uri!r} is not a path or URI the local workspace can read (expected "
                           "azureml://datastores/<datastore>/paths/<path>, azureml://jobs/<job>/outputs/<output>, "
                           "a data asset, an https:// URL or an absolute local path)")
        if not path.exists():
            raise RefError(f"{what}: {uri} does not exist (looked in {path})")
        return path

    def datastore_path(self, datastore: str, path: str, what: str) -> Path:
        try:
            record = self.store.get_datastore(self.ws, datastore)
        except NotFound as exc:
            raise RefError(f"{what}: {exc}") from None
        if record["builtin"]:
            root = self.store.datastore_folder(datastore)
        elif LOCAL_FOLDER_PROPERTY in (record["doc"].get("properties") or {}):
            root = Path(record["doc"]["properties"][LOCAL_FOLDER_PROPERTY])
        else:
            raise RefError(f"{what}: datastore {datastore!r} is {record['doc'].get('datastoreType')} storage in "
                           "Azure; the local workspace reads local file datastores only")
        if ".." in Path(path).parts:
            raise RefError(f"{what}: datastore path {path!r} must not contain '..'")
        return root / path.strip("/")

    def job_output(self, job: str, output: str, what: str) -> Path:
        if output == "artifacts":
            self._job(job, what, completed=True)
            return self.store.datastore_folder(ARTIFACT_STORE) / job_artifacts_path(job)
        return self.stored_output(*self.output_owner(job, output, what))[1]

    def output_owner(self, job: str, output: str, what: str, *, completed: bool = True) -> tuple[str, str, dict]:
        """(the job, its output's name, the output's spec) that hold job `job`'s output `output`: a reused step's
        is the step's it reused, a pipeline's one of its steps', a sweep's its best trial's. With `completed`, each
        job on the way must have Completed (before that the output does not exist)."""
        record = self._job(job, what, completed=completed)
        reused = (record["doc"].get("properties") or {}).get(REUSED_FROM_PROPERTY)
        if reused:  # a reused pipeline step's outputs are those of the step it reused
            try:
                return self.output_owner(reused, output, what, completed=completed)
            except RefError:  # that step is gone (deleted): its files are not, and the reused step says where
                spec = (record["doc"].get("outputs") or {}).get(output) or {}
                if not DATASTORE_URI.match(spec.get("uri") or ""):
                    raise
                return job, output, spec
        results = json.loads(record["results"] or "{}")
        mapped = json.loads(results.get(PIPELINE_OUTPUTS) or "{}")
        if output in mapped:  # a pipeline's output is one of its steps'
            m = JOB_OUTPUT_URI.match(mapped[output])
            return self.output_owner(m.group("name"), m.group("output"), what, completed=completed)
        if results.get(BEST_CHILD):  # a sweep's outputs are its best trial's
            return self.output_owner(results[BEST_CHILD], output, what, completed=completed)
        spec = (record["doc"].get("outputs") or {}).get(output)
        if spec is None:
            raise RefError(f"{what}: job {job!r} has no output {output!r}")
        return job, output, spec

    def _job(self, job: str, what: str, *, completed: bool) -> dict:
        try:
            record = self.store.get_job(self.ws, job)
        except NotFound as exc:
            raise RefError(f"{what}: {exc}") from None
        if completed and record["status"] != "Completed":
            raise RefError(f"{what}: job {job!r} is {record['status']}; its outputs exist once it has Completed")
        return record

    def output_target(self, job: str, output: str, spec: dict) -> Path:
        """Where a job's named output is stored after success."""
        return self._output_path(output_uri(job, output, spec), output)

    def stored_output(self, job: str, output: str, spec: dict) -> tuple[str, Path]:
        """(URI, path) of a job's named output: `output_target`, or for an output given no path that is not there
        but is in its old home under the job's artifacts (a job that ran before outputs moved), the old home."""
        uri = output_uri(job, output, spec)
        path = self._output_path(uri, output)
        if not spec.get("uri") and not os.path.lexists(path):
            old = legacy_output_uri(job, output)
            old_path = self._output_path(old, output)
            if os.path.lexists(old_path):
                kind = spec.get("jobOutputType", "uri_folder")
                return (old if kind == "uri_file" else old + "/"), old_path
        return uri, path

    def _output_path(self, uri: str, output: str) -> Path:
        m = DATASTORE_URI.match(uri)
        return self.datastore_path(m.group("name"), m.group("path") or "", f"output {output!r}")
