"""Reuse of pipeline steps, with Azure ML's rules: a step is reused when its component is deterministic, the
pipeline's ``force_rerun`` is off, and what the step would run equals what an earlier Completed step of the workspace
ran: component content (command, code content, environment, interface), input values, input data content, output
settings and run settings (compute, resources, distribution, environment variables; a sweep's search). A reused step
is recorded Completed at once, no process started, its outputs pointing at the earlier step's.

Each field is digested on its own, so that a step that ran although an earlier run of the same node nearly matched
says which fields differed. Data is digested by content: a file's sha256 is cached by (path, size, mtime) in the
home's hash cache, so unchanged inputs are not read again.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ..._contract import (JOB_OUTPUT_URI, NODE_PROPERTY, REUSE_FIELDS_PROPERTY, REUSE_KEY_PROPERTY,
                          REUSED_FROM_PROPERTY, REUSED_PROPERTY)
from ..core.refs import References, RefError
from ..storage.hashes import ContentHashes
from ..storage.workspace import Store
from .steps import PARALLEL_FIELDS, SCORING_FIELDS, SPARK_FIELDS, Step

_CHUNK = 1 << 20
NEAR_MATCHES = 20  # earlier runs of a node compared with a step that ran, to say what differed


def digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


class Reuse:
    """Reuse decisions for the steps of pipelines in workspace `ws`."""

    def __init__(self, store: Store, ws: str, refs: References):
        self.store, self.ws, self.refs = store, ws, refs
        self._hashes: ContentHashes | None = None  # opened on the first data to hash
        self._known: dict[str, str] = {}  # path -> content digest, in this process

    # -- what a step is

    def fields(self, step: Step) -> dict[str, str]:
        """The digest of each field that decides reuse."""
        props, spec = step.props, step.spec
        run = props.get("trial") or props
        inputs = props.get("inputs") or {}
        values = {
            "command": run.get("command"),
            "code": self._code(run.get("codeId")),
            "environment": self._environment(run.get("environmentId")),
            "interface": {"type": step.kind, "inputs": spec.get("inputs"), "outputs": spec.get("outputs")},
            "input values": {k: v.get("value") for k, v in inputs.items() if v.get("jobInputType") == "literal"},
            "input data": {k: self._data(v) for k, v in inputs.items() if v.get("jobInputType") != "literal"},
            "output settings": props.get("outputs"),
            "compute": props.get("computeId"),
            "resources": run.get("resources"),
            "distribution": run.get("distribution"),
            "environment variables": run.get("environmentVariables"),
        }
        if step.kind == "parallel":
            values["parallel"] = {**{k: props.get(k) for k in PARALLEL_FIELDS},
                                  **{k: props[k] for k in SCORING_FIELDS if k in props}}  # earlier keys unchanged
        if step.kind == "spark":
            values["spark"] = {k: props.get(k) for k in SPARK_FIELDS}
        if step.kind == "sweep":
            values["search"] = {k: props.get(k) for k in ("searchSpace", "samplingAlgorithm", "objective", "limits",
                                                          "earlyTermination")}
        return {k: digest(v) for k, v in values.items()}

    @staticmethod
    def key(fields: dict[str, str]) -> str:
        return digest(fields)

    # -- earlier steps

    def original(self, key: str) -> dict | None:
        """The latest Completed step that ran with this key and whose outputs are still there."""
        for record in self.store.reusable_jobs(self.ws, REUSE_KEY_PROPERTY, key, 5):
            try:
                if all(os.path.lexists(self.refs.job_output(record["name"], name, "output"))
                       for name in record["doc"].get("outputs") or {}):
                    return record
            except RefError:
                continue
        return None

    def near_miss(self, node: str, fields: dict[str, str]) -> str | None:
        """Why an earlier run of the same node was not reused: its job and the fields that differ."""
        best = None
        for record in self.store.reusable_jobs(self.ws, NODE_PROPERTY, node, NEAR_MATCHES):
            theirs = json.loads((record["doc"].get("properties") or {}).get(REUSE_FIELDS_PROPERTY) or "{}")
            differ = [k for k in fields if theirs.get(k) != fields[k]]
            if theirs and (best is None or len(differ) < len(best[1])):
                best = (record["name"], differ)
        if best is None or not best[1]:
            return None
        return f"{', '.join(best[1])} differ from {best[0]}"

    def reused_props(self, props: dict, original: dict, key: str) -> dict:
        """A reused step's job: its outputs are the original's (where they are kept: a sweep's are its best
        trial's), and it says which job it reused."""
        outputs = {}
        for name, spec in (props.get("outputs") or {}).items():
            kept = {k: v for k, v in spec.items() if k not in ("assetName", "assetVersion")}
            kept["uri"] = self.refs.stored_output(*self.refs.output_owner(original["name"], name, "output"))[0]
            outputs[name] = kept
        user = {**props["properties"], REUSED_PROPERTY: "true", REUSED_FROM_PROPERTY: original["name"],
                REUSE_KEY_PROPERTY: key}
        return {**props, "outputs": outputs, "properties": user}

    # -- content

    def _code(self, code_id: str | None):
        if not code_id:
            return None
        try:
            uri = self.refs.asset(code_id, "codes")["codeUri"]
            return self.content(self.refs.path(uri, "code", _no_download))
        except RefError:
            return code_id

    def _environment(self, environment_id: str | None):
        if not environment_id:
            return None
        try:
            return [environment_id, self.refs.asset(environment_id, "environments")]
        except RefError:  # a curated environment, or one the step will fail to find
            return environment_id

    def _data(self, item: dict):
        uri = item.get("uri") or ""
        if item.get("mode") == "Direct" or uri.startswith(("http://", "https://")):
            return [uri, item.get("mode")]
        m = JOB_OUTPUT_URI.match(uri)
        try:
            if m and not m.group("path"):
                path = self.refs.job_output(m.group("name"), m.group("output"), "input")
            else:
                path = self.refs.path(uri, "input", _no_download)
        except RefError:
            return [uri, "unresolved"]
        return [item.get("jobInputType"), item.get("mode"), self.content(path)]

    def content(self, path: Path) -> str:
        """The content digest of a file or folder (relative paths and file contents)."""
        path = Path(path)
        key = str(path)
        if key in self._known:
            return self._known[key]
        if self._hashes is None:
            self._hashes = ContentHashes(self.store.home)
        if path.is_file():
            value = self._files([(path.name, path)])
        else:
            files = []
            for folder, dirs, names in os.walk(path):
                dirs.sort()
                files += [(os.path.relpath(os.path.join(folder, n), path), Path(folder, n)) for n in sorted(names)]
            value = self._files(files)
        self._known[key] = value
        return value

    def _files(self, files: list[tuple[str, Path]]) -> str:
        total, new = hashlib.sha256(), []
        for rel, path in files:
            st = path.stat()
            known = self._hashes.get(str(path), st.st_size, st.st_mtime_ns)
            if known is None:
                known = _sha256(path)
                new.append((str(path), st.st_size, st.st_mtime_ns, known))
            total.update(f"{rel}\0{known}\n".encode())
        self._hashes.put_many(new)
        return total.hexdigest()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _no_download(url: str) -> Path:
    raise RefError(f"{url} is not read to decide reuse")
