"""A whole workspace as a tree of YAML files, and back: `export_workspace` and `import_workspace`.

The tree is git-friendly: one file per resource (per version for assets) under a folder per kind
(`models/<name>/<version>.yml`, `online-deployments/<endpoint>/<name>.yml`), files an asset carries beside its YAML
(`models/<name>/<version>/<file or folder>`) and named by relative paths, references to other resources of the
workspace as `azureml:<name>:<version>`, entries in sorted order, and no secrets (datastores and connections come
without their credentials, endpoints without their keys). Exporting an unchanged workspace again writes the same bytes.

`KINDS` is the one table of what is exported, in the order an import creates it (what a resource refers to comes
before it): a new kind plugs in with one entry.
"""
from __future__ import annotations

import dataclasses
import io
import os
import shutil
from graphlib import TopologicalSorter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from azure.core.exceptions import ResourceNotFoundError

from .._artifacts.snapshot import take_snapshot
from .._artifacts.storage import download
from .._contract import ASSET_ID, BATCH_ENDPOINT_PROPERTY, DATASTORE_URI, STATE_PROPERTIES
from .._yaml.api import definition, load, to_text
from .._yaml.document import Document
from ..exceptions import Problem, ValidationError
from ._base import ListViewType

# Datastores every workspace makes for itself (with its own storage): never exported, never replaced.
SYSTEM_DATASTORES = frozenset({"workspaceblobstore", "workspaceartifactstore", "workspacefilestore",
                               "workspaceworkingdirectory"})
_UPLOADS = "LocalUpload/"  # where uploaded files live in a datastore: `LocalUpload/<content hash>/<name>`


@dataclass(frozen=True)
class Kind:
    """One exportable kind: its folder, its loader, how to list, name, find and create one."""

    folder: str
    loader: str  # the `_yaml.api` kind that reads its files
    entities: Callable  # (ml_client) -> the resources to export
    file: Callable  # (entity) -> its file's path under the folder, without `.yml`
    get: Callable  # (ml_client, entity) -> the same resource in a workspace (ResourceNotFoundError when absent)
    create: Callable  # (ml_client, entity) -> None, waiting for it to exist
    secrets: str | None = None  # the mapping whose values an export leaves out (null): credentials
    kept: tuple[str, ...] = ()  # state the YAML does not hold that an export keeps (a schedule's is_enabled)
    settle: tuple[str, ...] = ()  # fields that name later kinds: set once those exist (endpoint traffic)
    optional: bool = False  # created only when asked for (jobs: creating one runs it)


def _versions(group: str, archivable: bool = True):
    """Every version of every asset of a group, archived ones included, sorted by name and version."""
    def entities(ml):
        ops = getattr(ml, group)
        params = {"listViewType": ListViewType.ALL.value} if archivable else None
        names = sorted(ops._paged(lambda r: r["name"], ops._KIND, params=params))
        for name in names:
            listed = ops.list(name, list_view_type=ListViewType.ALL) if archivable else ops.list(name)
            yield from sorted(listed, key=lambda a: _version_key(a.version))
    return entities


def _version_key(version: str):
    return (0, int(version), "") if version.isdigit() else (1, 0, version)


def _asset(group: str, archivable: bool = True, **extra) -> dict:
    return dict(entities=_versions(group, archivable), file=lambda a: (a.name, a.version),
                get=lambda ml, a: getattr(ml, group).get(a.name, version=a.version),
                create=lambda ml, a: getattr(ml, group).create_or_update(a), **extra)


def _datastores(ml):
    return sorted((d for d in ml.datastores.list() if d.name not in SYSTEM_DATASTORES), key=lambda d: d.name)


def _computes(ml):
    """The workspace's computes but those every workspace of its kind has (the local workspace's own machine)."""
    builtin = ml._backend.builtin_computes
    return sorted((c for c in ml.compute.list() if c.name not in builtin), key=lambda c: c.name)


def _jobs(ml):
    """Top-level jobs as definitions; the scoring jobs of batch endpoints are their invocations, not definitions."""
    jobs = (j for j in ml.jobs.list(list_view_type=ListViewType.ALL)
            if BATCH_ENDPOINT_PROPERTY not in (j.properties or {}))
    return sorted(jobs, key=lambda j: j.name)


def _endpoints(group: str) -> dict:
    return dict(entities=lambda ml: sorted(getattr(ml, group).list(), key=lambda e: e.name), file=lambda e: (e.name,),
                get=lambda ml, e: getattr(ml, group).get(e.name),
                create=lambda ml, e: getattr(ml, group).begin_create_or_update(e).result())


def _deployments(group: str, endpoints: str) -> dict:
    def entities(ml):
        for endpoint in sorted(getattr(ml, endpoints).list(), key=lambda e: e.name):
            yield from sorted(getattr(ml, group).list(endpoint.name), key=lambda d: d.name)
    return dict(entities=entities, file=lambda d: (d.endpoint_name, d.name),
                get=lambda ml, d: getattr(ml, group).get(d.name, d.endpoint_name),
                create=lambda ml, d: getattr(ml, group).begin_create_or_update(d).result())


KINDS: tuple[Kind, ...] = (
    Kind("datastores", "datastore", _datastores, lambda d: (d.name,), lambda ml, d: ml.datastores.get(d.name),
         lambda ml, d: ml.datastores.create_or_update(d), secrets="credentials"),
    Kind("compute", "compute", _computes, lambda c: (c.name,), lambda ml, c: ml.compute.get(c.name),
         lambda ml, c: ml.compute.begin_create_or_update(c).result()),
    Kind("connections", "connection", lambda ml: sorted(ml.connections.list(), key=lambda c: c.name),
         lambda c: (c.name,), lambda ml, c: ml.connections.get(c.name),
         lambda ml, c: ml.connections.create_or_update(c), secrets="credentials"),
    Kind("code", "code", **_asset("code", archivable=False)),
    Kind("environments", "environment", **_asset("environments")),
    Kind("data", "data", **_asset("data")),
    Kind("models", "model", **_asset("models")),
    Kind("components", "component", **_asset("components")),
    Kind("online-endpoints", "online_endpoint", **_endpoints("online_endpoints"), settle=("traffic", "mirror_traffic")),
    Kind("online-deployments", "online_deployment", **_deployments("online_deployments", "online_endpoints")),
    Kind("batch-endpoints", "batch_endpoint", **_endpoints("batch_endpoints"), settle=("defaults",)),
    Kind("batch-deployments", "batch_deployment", **_deployments("batch_deployments", "batch_endpoints")),
    Kind("jobs", "job", _jobs, lambda j: (j.name,), lambda ml, j: ml.jobs.get(j.name),
         lambda ml, j: ml.jobs.create_or_update(j), optional=True),
    Kind("schedules", "schedule", lambda ml: sorted(ml.schedules.list(list_view_type="All"), key=lambda s: s.name),
         lambda s: (s.name,), lambda ml, s: ml.schedules.get(s.name),
         lambda ml, s: ml.schedules.begin_create_or_update(s).result(), kept=("is_enabled",)),
)


# -- export ---------------------------------------------------------------------------------------------------
def export_workspace(ml_client, path, *, kinds: Iterable[Kind] = KINDS) -> list[Path]:
    """Write every resource of the workspace under folder `path` (made if missing, what it held of an earlier
    export replaced) -> the YAML files written, in order."""
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in kinds:
        shutil.rmtree(root / kind.folder, ignore_errors=True)  # what was removed from the workspace goes too
        written += [_export_one(ml_client, kind, entity, root / kind.folder) for entity in kind.entities(ml_client)]
    return written


def _export_one(ml, kind: Kind, entity, folder: Path) -> Path:
    parts = [_segment(p) for p in kind.file(entity)]
    target = folder.joinpath(*parts[:-1], parts[-1] + ".yml")
    files = target.with_suffix("")  # what the resource carries lives beside its YAML, in a folder of its name
    mapping = _portable(ml, kind, _definition(kind, entity), files, target.parent)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(to_text(mapping), encoding="utf-8")
    return target


def _definition(kind: Kind, entity) -> dict:
    """The entity's YAML mapping with the service state the kind keeps (a schedule's is_enabled)."""
    return {**definition(entity), **{k: getattr(entity, k) for k in kind.kept if getattr(entity, k) is not None}}


def _segment(text: str) -> str:
    """A name or version as one path segment; versions may hold dots, never a whole `.` or `..`."""
    if text in ("", ".", "..") or "/" in text or "\\" in text:
        raise ValidationError(f"{text!r} cannot name a file of the export")
    return text


def _portable(ml, kind: Kind, mapping: dict, files: Path | None, base: Path | None) -> dict:
    """`mapping` with nothing tied to this workspace: its own ARM ids as `azureml:` references, and (with
    `files`) files in its datastores downloaded into `files`, named relative to `base`; without `files`, such a
    file is named by its content (`files:<hash>`), for comparing."""
    scope = ml._scope.lower()

    def visit(value, key=None):
        if isinstance(value, dict):
            return {k: visit(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [visit(v) for v in value]
        if not isinstance(value, str):
            return value
        m = ASSET_ID.match(value)
        if m and value.lower().removeprefix("azureml:").startswith(scope + "/"):
            return f"azureml:{m['name']}" + (f":{m['version']}" if m["version"] else "")
        m = DATASTORE_URI.match(value)
        if key == "path" and m and m["path"]:
            if files is None:
                return _content_name(m["path"]) or value
            fetched = _fetch(ml, m["name"], m["path"], files)
            return value if fetched is None else os.path.relpath(fetched, base).replace(os.sep, "/")
        return value

    mapping = visit(mapping)
    mapping.pop("location", None)  # an endpoint's region is its workspace's, filled when it is created
    if kind.folder == "jobs" and mapping.get("properties"):
        kept = {k: v for k, v in mapping["properties"].items() if k not in STATE_PROPERTIES}
        mapping["properties"] = kept or None
        if not kept:
            del mapping["properties"]
    return mapping


def _content_name(remote: str) -> str | None:
    """`files:<hash>` for an uploaded file or folder (`LocalUpload/<hash>/<name>`), whose content its hash names."""
    if not remote.startswith(_UPLOADS):
        return None
    return "files:" + remote[len(_UPLOADS):].split("/", 1)[0]


def _fetch(ml, datastore: str, remote: str, files: Path) -> Path | None:
    """Download datastore path `remote` (a file or a folder) into `files` under its own name (a second one of
    that name goes to `files/2/`, ...) -> where it is; None when the workspace cannot read it (another kind of
    storage, or nothing there): the reference stays as it is."""
    try:
        storage = ml.datastores._storage(ml.datastores.get(datastore, include_secrets=True))
    except (ResourceNotFoundError, ValidationError):
        return None
    if not _exists(storage, remote):
        return None
    name = remote.rstrip("/").rsplit("/", 1)[-1]
    target, n = files / name, 1
    while target.exists():
        n += 1
        target = files / str(n) / name
    if _is_file(storage, remote):
        download(storage, remote, target.parent)
    else:
        download(storage, remote, target)
    return target


def _is_file(storage, remote: str) -> bool:
    if isinstance(storage, (str, os.PathLike)):
        return (Path(storage) / remote.strip("/")).is_file()
    return storage.get_blob_client(remote.strip("/")).exists()


def _exists(storage, remote: str) -> bool:
    if isinstance(storage, (str, os.PathLike)):
        return (Path(storage) / remote.strip("/")).exists()
    return _is_file(storage, remote) or next(iter(storage.list_blobs(name_starts_with=remote.strip("/") + "/")),
                                             None) is not None


# -- import ---------------------------------------------------------------------------------------------------
@dataclass
class ImportReport:
    """What an import did: the files it created resources from, and those already there unchanged."""

    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # optional kinds not asked for (jobs)


def import_workspace(ml_client, path, *, jobs: bool = False, kinds: Iterable[Kind] = KINDS) -> ImportReport:
    """Create in the workspace every resource of an exported tree at `path` that it does not hold yet.

    Importing twice changes nothing. Every file is read and every resource compared before anything is created:
    a file that does not load, or a resource the workspace holds with other content (the differing fields are
    named), is one ValidationError and nothing changes. Jobs are created (and so run) only with `jobs=True`.
    """
    root = Path(path)
    if not root.is_dir():
        raise ValidationError(f"{path}: no such folder (give the folder an export wrote)")
    plan, problems, report = [], [], ImportReport()
    for kind in kinds:
        for file in sorted((root / kind.folder).rglob("*.yml")) if (root / kind.folder).is_dir() else ():
            shown = file.relative_to(root).as_posix()
            if kind.optional and not jobs:
                report.skipped.append(shown)
                continue
            try:
                entity, left_out = _load(kind, file)
            except ValidationError as exc:
                problems.extend(exc.problems)
                continue
            outside = _outside(_definition(kind, entity), root.resolve())
            if outside:
                problems.extend(Problem(f"{value} is outside the imported folder", path=key, source=str(file))
                                for key, value in outside)
                continue
            try:
                existing = _existing(ml_client, kind, entity)
            except ValidationError as exc:
                problems.extend(exc.problems)
                continue
            if existing is None and left_out:
                problems.append(Problem(f"not exported (secrets never are): fill it in, or create the "
                                        f"{kind.loader} in this workspace first", path=f"{kind.secrets}.{left_out[0]}",
                                        source=str(file)))
                continue
            if existing is None:
                plan.append((kind, entity, shown))
                continue
            held, wanted = _comparable(ml_client, kind, existing), _comparable(ml_client, kind, entity)
            if left_out:  # what was left out is the workspace's own: compare the rest
                held.pop(kind.secrets, None), wanted.pop(kind.secrets, None)
            differing = _differences(held, wanted)
            if differing:
                problems.append(Problem(f"the workspace holds it with other {', '.join(differing)}",
                                        source=str(file)))
            else:
                report.unchanged.append(shown)
    if problems:
        raise ValidationError(problems)
    settle = []
    for kind, entity, shown in _in_order(ml_client, plan):
        later = {f: getattr(entity, f) for f in kind.settle if getattr(entity, f, None)}
        kind.create(ml_client, dataclasses.replace(entity, **dict.fromkeys(later)) if later else entity)
        if later:
            settle.append((kind, entity))
        report.created.append(shown)
    for kind, entity in settle:
        kind.create(ml_client, entity)
    return report


def _in_order(ml, plan: list) -> list:
    """The plan with what a resource refers to of its own kind before it (a pipeline component's components),
    kinds in table order."""
    order = {kind.folder: n for n, kind in enumerate(KINDS)}
    by_ref = {("azureml:" + ":".join(kind.file(entity))).lower(): (kind, entity, shown)
              for kind, entity, shown in plan if len(kind.file(entity)) == 2}
    graph = {}
    for item in plan:
        refs = set()
        _references(_portable(ml, item[0], definition(item[1]), None, None), refs)
        graph[item[2]] = {by_ref[r][2] for r in refs if r in by_ref and by_ref[r][0] is item[0]}
    sorter = TopologicalSorter(graph)
    sorter.prepare()
    items, done = {item[2]: item for item in plan}, []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=lambda shown: (order.get(items[shown][0].folder, 0), shown))
        done.extend(items[shown] for shown in ready)
        sorter.done(*ready)
    return sorted(done, key=lambda item: order.get(item[0].folder, 0))  # stable: the order within a kind stays


def _references(value, found: set) -> None:
    if isinstance(value, dict):
        for v in value.values():
            _references(v, found)
    elif isinstance(value, list):
        for v in value:
            _references(v, found)
    elif isinstance(value, str) and value.startswith("azureml:"):
        found.add(value.lower())


def _load(kind: Kind, file: Path):
    """The resource of a file, and the secrets its export left out (null values of `kind.secrets`): loaded as the
    resource without them, to find it in the workspace. The service's state it keeps (`kind.kept`) is set on it."""
    if kind.secrets is None and not kind.kept:
        return load(kind.loader, file), []
    doc = Document.parse(file.read_bytes(), str(file))
    if doc.problems:  # duplicate keys: gone once the mapping is written out again below
        raise doc.error([])
    data = doc.data
    if not isinstance(data, dict):
        return load(kind.loader, file), []
    held = data.get(kind.secrets) if kind.secrets else None
    left_out = [k for k, v in held.items() if v is None] if isinstance(held, dict) else []
    kept = {k: data.pop(k) for k in kind.kept if k in data}
    if left_out:
        del data[kind.secrets]
    if not (kept or left_out):
        return load(kind.loader, file), []
    text = io.StringIO(to_text(data))
    text.name = str(file)  # local paths relative to the file, problems named in it
    entity = load(kind.loader, text)
    for key, value in kept.items():
        setattr(entity, key, value)
    return entity, left_out


def _outside(mapping, root: Path, prefix: str = "") -> list[tuple[str, str]]:
    """The (dotted field, path) of the local files a resource would upload (`path`, `code`) that are not under
    `root`: an export names only its own files, so a tree naming others (`../../.ssh`) is not an export's."""
    found = []
    items = mapping.items() if isinstance(mapping, dict) else enumerate(mapping) if isinstance(mapping, list) else ()
    for key, value in items:
        if isinstance(value, (dict, list)):
            found += _outside(value, root, f"{prefix}{key}.")
        elif key in ("path", "code") and isinstance(value, str) and os.path.isabs(value) \
                and not Path(value).resolve().is_relative_to(root):
            found.append((f"{prefix}{key}", value))
    return found


def _existing(ml, kind: Kind, entity):
    try:
        return kind.get(ml, entity)
    except ResourceNotFoundError:
        return None


def _comparable(ml, kind: Kind, entity) -> dict:
    """What import compares: the portable mapping, local files and uploaded ones named by their content."""
    mapping = _portable(ml, kind, _definition(kind, entity), None, None)

    def visit(value, key=None):
        if isinstance(value, dict):
            return {k: visit(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [visit(v) for v in value]
        if key == "path" and isinstance(value, str) and os.path.isabs(value) and os.path.exists(value):
            return "files:" + take_snapshot(value).content_hash
        return value

    return visit(mapping)


def _differences(held: dict, wanted: dict, prefix: str = "") -> list[str]:
    """The dotted fields whose values differ between two mappings."""
    out = []
    for key in sorted(set(held) | set(wanted), key=str):
        a, b = held.get(key), wanted.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}")
    return out
