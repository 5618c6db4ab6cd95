"""Upload snapshots to a datastore and download datastore paths, on a local folder or an Azure Blob container.

Layout and completion marker follow azure-ai-ml, so either SDK reuses the other's uploads: a snapshot goes to
`LocalUpload/<content hash>/<folder or file name>`; on Blob, metadata `upload_status=completed` (with the asset
name and version) is set on one indicator blob after every file is in. On a local folder the copy is staged
beside its final place, renamed into it, and a marker file is written last. Without the marker an upload is
redone; with it nothing is transferred.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import ValidationError
from .snapshot import Snapshot, inside

ARTIFACT_ORIGIN = "LocalUpload"
UPLOAD_CONFIRMATION = {"upload_status": "completed"}
_STALE_AFTER = 3600  # seconds before an abandoned local staging folder is removed
_BIG_FILE = 32 << 20  # files above this size are sent in parallel blocks


@dataclass(frozen=True)
class UploadResult:
    """Where a snapshot lives in the datastore, the asset it was first uploaded for, and what moved now."""

    path: str  # datastore-relative: LocalUpload/<hash>/<name>
    name: str
    version: str
    bytes_uploaded: int
    files_uploaded: int


def remote_path(snapshot: Snapshot) -> str:
    return f"{ARTIFACT_ORIGIN}/{snapshot.content_hash}/{snapshot.name}"


def open_container(container_name: str, *, connection_string: str | None = None,
                   account_url: str | None = None, credential=None):
    """An azure.storage.blob ContainerClient from a connection string or an account URL and credential."""
    from azure.storage.blob import ContainerClient  # optional extra: azureml_v2[azure]

    if connection_string:
        return ContainerClient.from_connection_string(connection_string, container_name)
    return ContainerClient(account_url, container_name, credential=credential)


def upload_snapshot(snapshot: Snapshot, target, *, name: str | None = None, version: str | None = None,
                    show_progress: bool | None = None, max_workers: int | None = None) -> UploadResult:
    """Upload `snapshot` to `target`: a local datastore folder (str or path) or a blob ContainerClient.

    `name`/`version` are recorded with the completed upload (default: the content hash, "1"); when the
    snapshot is already there the recorded ones are returned and 0 bytes move. The progress bar shows
    when stderr is a terminal unless `show_progress` says otherwise.
    """
    if not snapshot.files:
        raise ValidationError(f"{snapshot.source}: nothing to upload (the folder is empty or all of it is ignored)")
    name = name or snapshot.content_hash
    version = version or "1"
    if show_progress is None:
        show_progress = sys.stderr.isatty()
    if isinstance(target, (str, os.PathLike)):
        return _upload_to_folder(snapshot, Path(target), name, version, show_progress)
    return _upload_to_blob(snapshot, target, name, version, show_progress, max_workers or _workers())


def download(source, remote: str, dest: str | os.PathLike, *, max_workers: int | None = None) -> list[Path]:
    """Copy the file or folder at datastore path `remote` into folder `dest`; return the files written.

    `source` is a local datastore folder or a blob ContainerClient. Names that would land outside `dest`
    (`..`, absolute paths, symlinks) are refused with a ValidationError before anything is written.
    """
    remote = _clean_remote(remote)
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise ValidationError(f"cannot download into {dest}: it is a file")
    dest.mkdir(parents=True, exist_ok=True)
    real_dest = os.path.realpath(dest)
    if isinstance(source, (str, os.PathLike)):
        items = _list_folder(Path(source), remote)
    else:
        items = _list_blobs(source, remote)
    if not items:
        raise ValidationError(f"nothing found at datastore path {remote!r}")
    targets = [_safe_target(dest, real_dest, rel) for rel, _ in items]
    for parent in {t.parent for t in targets}:
        parent.mkdir(parents=True, exist_ok=True)
    if isinstance(source, (str, os.PathLike)):
        for (_, src), target in zip(items, targets):
            shutil.copy(src, target)  # with its permission bits, as uploaded
    else:
        def fetch(pair):
            (_, blob_name), target = pair
            with open(target, "wb") as fh:
                source.download_blob(blob_name).readinto(fh)
        with ThreadPoolExecutor(max_workers or _workers()) as pool:
            list(pool.map(fetch, zip(items, targets)))
    return targets


def _workers() -> int:
    # azure-core's requests session keeps 10 pooled connections; more threads only open and drop sockets
    return min(10, 4 * (os.cpu_count() or 1))


def _progress(show: bool, total: int, label: str):
    if not show:
        return None
    from tqdm import tqdm  # optional extra: azureml_v2[azure]

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=f"Uploading {label}",
                file=sys.stderr, leave=False)


def _upload_to_folder(snap: Snapshot, root: Path, name: str, version: str, show: bool) -> UploadResult:
    rel = remote_path(snap)
    final = root / rel
    marker = final.parent / f".{snap.name}.upload-completed"
    done = _read_marker(marker)
    if done and os.path.lexists(final):
        return UploadResult(rel, done.get("name", name), done.get("version", version), 0, 0)
    final.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(final.parent, snap.name)
    staging = final.parent / f".{snap.name}.partial-{uuid.uuid4().hex}"
    bar = _progress(show, snap.total_size, snap.name)
    try:
        copies = [(snap.files[0], staging)] if snap.is_file else [(f, staging / f.name) for f in snap.files]
        for parent in {target.parent for _, target in copies}:
            parent.mkdir(parents=True, exist_ok=True)
        for f, target in copies:
            shutil.copy(f.path, target)  # with its permission bits: a private file stays private
            if bar is not None:
                bar.update(f.size)
        for attempt in range(2):
            done = _read_marker(marker)
            if done:  # a concurrent upload of the same snapshot finished first
                return UploadResult(rel, done.get("name", name), done.get("version", version),
                                    snap.total_size, len(snap.files))
            _remove(final)  # an earlier upload that stopped before writing its marker
            try:
                os.rename(staging, final)
                break
            except OSError:
                if attempt:
                    raise
    finally:
        _remove(staging)
        if bar is not None:
            bar.close()
    tmp = marker.with_name(f"{marker.name}.{uuid.uuid4().hex}")
    tmp.write_text(json.dumps({**UPLOAD_CONFIRMATION, "name": name, "version": version}), encoding="utf-8")
    os.replace(tmp, marker)
    return UploadResult(rel, name, version, snap.total_size, len(snap.files))


def _read_marker(marker: Path) -> dict | None:
    try:
        done = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return done if isinstance(done, dict) and UPLOAD_CONFIRMATION.items() <= done.items() else None


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        path.unlink()


def _remove_stale(folder: Path, name: str) -> None:
    cutoff = time.time() - _STALE_AFTER
    for leftover in folder.glob(f".{name}.partial-*"):
        try:
            if leftover.lstat().st_mtime < cutoff:
                _remove(leftover)
        except OSError:
            pass  # removed meanwhile by another upload


def _upload_to_blob(snap: Snapshot, container, name: str, version: str, show: bool, workers: int) -> UploadResult:
    from azure.core.exceptions import ResourceNotFoundError  # import budget: local uploads load no azure-core

    rel = remote_path(snap)
    files = snap.files
    names = [rel] if snap.is_file else [f"{rel}/{f.name}" for f in files]
    # azure-ai-ml marks the blob of the first file in (local path, blob name) order
    indicator = container.get_blob_client(min(zip((f.path for f in files), names))[1])
    try:
        metadata = indicator.get_blob_properties().metadata or {}
    except ResourceNotFoundError:
        metadata = {}
    if UPLOAD_CONFIRMATION.items() <= metadata.items():
        return UploadResult(rel, metadata.get("name", name), metadata.get("version", version), 0, 0)

    bar = _progress(show, snap.total_size, snap.name)

    def put(i: int) -> None:
        f = files[i]
        with open(f.path, "rb") as fh:
            container.upload_blob(names[i], fh, length=f.size, overwrite=True,
                                  max_concurrency=4 if f.size > _BIG_FILE else 1)
        if bar is not None:
            bar.update(f.size)

    try:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(put, range(len(files))))
    finally:
        if bar is not None:
            bar.close()
    indicator.set_blob_metadata({**UPLOAD_CONFIRMATION, "name": name, "version": version})
    return UploadResult(rel, name, version, snap.total_size, len(files))


def _clean_remote(remote: str) -> str:
    parts = remote.replace("\\", "/").strip("/").split("/")
    if not remote.strip("/") or any(p in ("..", ".") for p in parts):
        raise ValidationError(f"datastore path {remote!r} must be a path inside the datastore (no '..')")
    return "/".join(p for p in parts if p)


def _list_folder(root: Path, remote: str) -> list[tuple[str, str]]:
    start = root / remote
    if start.is_symlink():
        raise ValidationError(f"{start}: refusing to follow a symlink in the datastore")
    if start.is_file():
        return [(start.name, str(start))]
    items = []
    for folder, dirs, files in os.walk(start):
        for entry in dirs + files:
            if os.path.islink(os.path.join(folder, entry)):
                raise ValidationError(f"{os.path.join(folder, entry)}: refusing to follow a symlink in the datastore")
        for entry in files:
            full = os.path.join(folder, entry)
            items.append((os.path.relpath(full, start).replace(os.sep, "/"), full))
    return items


def _list_blobs(container, remote: str) -> list[tuple[str, str]]:
    items = []
    for blob in container.list_blobs(name_starts_with=remote, include=["metadata"]):
        if (blob.metadata or {}).get("hdi_isfolder") == "true" or blob.name.endswith("/"):
            continue  # a folder placeholder
        if blob.name == remote:
            items.append((remote.rsplit("/", 1)[-1], blob.name))
        elif blob.name.startswith(remote + "/"):
            items.append((blob.name[len(remote) + 1:], blob.name))
    return items


def _safe_target(dest: Path, real_dest: str, rel: str) -> Path:
    parts = rel.split("/")
    # backslash separates on Windows; treat it so everywhere to refuse `..\\x` alike
    if rel.startswith(("/", "\\")) or any(p in ("", ".", "..") or (os.name == "nt" and ":" in p)
                                           for p in rel.replace("\\", "/").split("/")):
        raise ValidationError(f"refusing to download {rel!r}: it would be written outside {dest}")
    target = dest.joinpath(*parts)
    real = os.path.realpath(target)
    if not inside(real, real_dest):
        raise ValidationError(f"refusing to download {rel!r}: {target} leads outside {dest}")
    for depth in range(1, len(parts) + 1):  # a file where a folder goes, or a folder where the file goes
        there = dest.joinpath(*parts[:depth])
        if there.is_dir() if depth == len(parts) else there.exists() and not there.is_dir():
            raise ValidationError(f"cannot download {rel!r} into {dest}: {there} is a "
                                  f"{'folder' if depth == len(parts) else 'file'} already")
    return target
