"""Azure Blob storage's REST API over the local workspace's file datastores: the part azure-storage-blob calls to
upload, list and download (Put Blob, Put Block, Put Block List, Get Blob Properties, Set Blob Metadata, Get Blob,
List Blobs), so that what Azure ML's clients upload to a datastore lands in its folder.

Addressing is path-style, as storage emulators are addressed: ``/blob/<account>/<container>/<blob>``. The account is
the workspace (a ``.blob.<suffix>`` a client appends to the account name is dropped: azure-ai-ml makes a datastore's
URL ``https://<accountName>.blob.<storage suffix>``, and local datastores say ``<host>:<port>/blob/<workspace>``).
A container is a local datastore of that workspace, a pending upload (``upload-<32 hex>``: the folder
``LocalUpload/<hex>`` of ``workspaceblobstore``) that a code version's ``startPendingUpload`` hands out, or ``$runs``,
the jobs' folders, read only (the run history hands out their logs). As on Azure ML, a job's logs are among its
artifacts in ``workspaceartifactstore`` (``ExperimentRun/dcid.<job>/user_logs/...``, ``system_logs/...``): there
they are a read-only view of the job's folder, where the job writes them.

Who may call: a served workspace's bearer token (the middleware of ``server.py``) or a SAS that this module signed
for one container, or one folder of it (:func:`sas_query`, checked by :func:`sas_allows`). Metadata of a blob is kept
beside the datastore, in ``<home>/blob-metadata/``; staged blocks in ``<home>/blob-blocks/`` until committed.
"""
from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import uuid
import xml.etree.ElementTree as ET
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from ..._contract import ARTIFACT_STORE, LOCAL_FOLDER_PROPERTY, job_artifacts_path
from ..core.workspace import NotFound, Store
from .http import Request

BLOB_PATH = "/blob/"
PENDING = re.compile(r"upload-(?P<id>[0-9a-f]{32})")
PENDING_ROOT = ("workspaceblobstore", "LocalUpload")  # where a pending upload's files land: datastore, folder
RUNS_CONTAINER = "$runs"  # the jobs' folders, read only (their logs); '$' is in no datastore name
LOG_FOLDERS = ("user_logs", "system_logs")  # a job's logs, in its folder
_RUN_LOGS = re.compile(rf"{re.escape(job_artifacts_path(''))}(?P<job>[^/]+)/(?P<part>{'|'.join(LOG_FOLDERS)})"
                       r"(?:/(?P<rest>.*))?")
SAS_VERSION = "2023-11-03"
SAS_LIFETIME = datetime.timedelta(hours=24)
_KEY_FILE = "blob-sas.key"
_MAX_RESULTS = 5000
_CHUNK = 1024 * 1024


class BlobError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def account_path(ws: str) -> str:
    """The path of workspace `ws`'s blob account on the server: `/blob/<ws>`."""
    return f"{BLOB_PATH}{ws}"


def pending_container(upload_id: str | None = None) -> tuple[str, str]:
    """A pending upload's container (a new one, or the one of `upload_id`): (its name, its folder under
    workspaceblobstore)."""
    hex_id = uuid.uuid5(uuid.NAMESPACE_URL, upload_id).hex if upload_id else uuid.uuid4().hex
    return f"upload-{hex_id}", f"{PENDING_ROOT[1]}/{hex_id}"


def datastore_uri(url_path: str) -> str | None:
    """The ``azureml://datastores/...`` URI of a blob or folder named by its path on this server
    (``/blob/<ws>/<container>/<path>``), or None when the path is not a blob of this server."""
    parts = _split(url_path)
    if parts is None:
        return None
    _, container, blob = parts
    m = PENDING.fullmatch(container)
    if m:
        datastore, blob = PENDING_ROOT[0], "/".join(filter(None, (PENDING_ROOT[1], m.group("id"), blob)))
    else:
        datastore = container
    return f"azureml://datastores/{datastore}/paths/{blob}"


def _split(path: str) -> tuple[str, str, str] | None:
    if not path.startswith(BLOB_PATH):
        return None
    account, _, rest = path[len(BLOB_PATH):].partition("/")
    container, _, blob = rest.partition("/")
    if not account or not container:
        return None
    return account.split(".", 1)[0], container, blob


# -- SAS: the server signs a container's access; a request carrying it needs no bearer token ---------------------

def _key(home: Path) -> bytes:
    path = home / _KEY_FILE
    try:
        return base64.b64decode(path.read_text())
    except FileNotFoundError:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it just now
            return _key(home)
        with os.fdopen(fd, "w") as fh:
            fh.write(base64.b64encode(secrets.token_bytes(32)).decode())
        return _key(home)


def _signature(home: Path, permissions: str, expiry: str, resource: str) -> str:
    text = "\n".join((permissions, expiry, resource, SAS_VERSION)).encode()
    return base64.b64encode(hmac.new(_key(home), text, hashlib.sha256).digest()).decode()


def sas_query(home: Path, ws: str, container: str, permissions: str = "racwl", prefix: str | None = None) -> str:
    """A SAS for `container` of workspace `ws` (only its folder `prefix` when given), valid SAS_LIFETIME: the query
    string of its URL."""
    expiry = (datetime.datetime.now(datetime.timezone.utc) + SAS_LIFETIME).strftime("%Y-%m-%dT%H:%M:%SZ")
    resource = f"/{ws}/{container}" + (f"/{prefix}" if prefix else "")
    sig = _signature(home, permissions, expiry, resource)
    return urlencode({"sv": SAS_VERSION, "sr": "d" if prefix else "c", "sp": permissions, "se": expiry, "sig": sig})


def sas_allows(home: Path, environ: dict) -> bool:
    """Whether the request carries a SAS signed here for its container that has not expired and grants its method."""
    parts = _split(environ.get("PATH_INFO", ""))
    query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
    if parts is None or "sig" not in query:
        return False
    ws, container, blob = parts
    permissions, expiry = query.get("sp", ""), query.get("se", "")
    resource = f"/{ws}/{container}" + (f"/{blob.split('/', 1)[0]}" if query.get("sr") == "d" else "")
    if not hmac.compare_digest(query["sig"], _signature(home, permissions, expiry, resource)):
        return False
    try:
        if datetime.datetime.fromisoformat(expiry.replace("Z", "+00:00")) < datetime.datetime.now(
                datetime.timezone.utc):
            return False
    except ValueError:
        return False
    method = environ.get("REQUEST_METHOD", "GET").upper()
    needed = {"GET": "l" if query.get("comp") == "list" else "r", "HEAD": "r", "PUT": "w", "DELETE": "d"}.get(method)
    return needed is not None and needed in permissions


# -- the service --------------------------------------------------------------------------------------------------

class BlobApi:
    """The Blob service over the datastores of a home's workspaces (see the module docstring), as a WSGI app."""

    def __init__(self, store: Store):
        self.store = store

    def __call__(self, environ, start_response):
        try:
            status, headers, body = self._handle(environ)
        except BlobError as exc:
            status, body = exc.status, b""
            headers = {"x-ms-error-code": exc.code}
            if environ.get("REQUEST_METHOD") != "HEAD":
                error = ET.Element("Error")
                ET.SubElement(error, "Code").text = exc.code
                ET.SubElement(error, "Message").text = exc.message
                body = b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(error)
                headers["Content-Type"] = "application/xml"
        headers = {"x-ms-request-id": str(uuid.uuid4()), "x-ms-version": SAS_VERSION,
                   **({"x-ms-client-request-id": environ["HTTP_X_MS_CLIENT_REQUEST_ID"]}
                      if environ.get("HTTP_X_MS_CLIENT_REQUEST_ID") else {}), **headers}
        if isinstance(body, bytes):
            headers.setdefault("Content-Length", str(len(body)))
            body = [body] if environ.get("REQUEST_METHOD") != "HEAD" else []
        start_response(f"{status} {_PHRASES[status]}", list(headers.items()))
        return body

    def _handle(self, environ):
        path = environ.get("PATH_INFO", "")
        try:  # PEP 3333: the UTF-8 bytes of the path as latin-1 code points
            path = path.encode("latin-1").decode("utf-8")
        except UnicodeError:
            raise BlobError(400, "InvalidUri", "the blob path is not UTF-8") from None
        parts = _split(path)
        if parts is None:
            raise BlobError(400, "InvalidUri", f"expected {BLOB_PATH}<account>/<container>[/<blob>], got {path!r}")
        ws, container, blob = parts
        query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        method = environ.get("REQUEST_METHOD", "GET").upper()
        root = self._container(ws, container)
        if container == RUNS_CONTAINER and method not in ("GET", "HEAD"):
            raise BlobError(403, "AuthorizationPermissionMismatch", "the jobs' folders are read only")
        if not blob:
            if query.get("restype") == "container" and query.get("comp") == "list" and method == "GET":
                return self._list(environ, ws, container, root, query)
            if query.get("restype") == "container" and method in ("GET", "HEAD"):
                return 200, {"Last-Modified": _http_date(root.stat().st_mtime) if root.exists() else _now()}, b""
            raise BlobError(400, "UnsupportedHttpVerb", f"{method} of a container is not supported here")
        if not _inside(blob):  # no blob has such a name here (`a/` is no file, `/etc` none of the container's)
            if method in ("GET", "HEAD", "DELETE"):
                raise BlobError(404, "BlobNotFound", f"the blob {blob!r} does not exist")
            raise BlobError(400, "InvalidUri", f"blob name {blob!r} may not start with '/' or hold empty, '.' or '..' "
                                               "segments")
        target = self._path(ws, container, root, blob)
        if target.is_relative_to(self.store.job_folder(ws, "-").parent) and method not in ("GET", "HEAD"):
            raise BlobError(403, "AuthorizationPermissionMismatch", "a job's logs are read only")
        comp = query.get("comp")
        if method == "PUT":
            _metadata(environ)  # a bad name is refused before anything is written
        if method == "PUT" and comp == "block":
            return self._put_block(environ, ws, container, blob, query.get("blockid", ""))
        if method == "PUT" and comp == "blocklist":
            return self._put_block_list(environ, ws, container, blob, target)
        if method == "PUT" and comp == "metadata":
            self._existing(target, blob)
            self._write_metadata(ws, container, blob, _metadata(environ))
            return 200, self._identity(target), b""
        if method == "PUT" and comp is None:
            return self._put_blob(environ, ws, container, blob, target)
        if method == "HEAD" and comp is None:
            return 200, self._properties(self._existing(target, blob), ws, container, blob), b""
        if method == "GET" and comp is None:
            return self._get(environ, ws, container, blob, self._existing(target, blob))
        if method == "DELETE" and comp is None:
            self._existing(target, blob).unlink()
            self._metadata_file(ws, container, blob).unlink(missing_ok=True)
            self._side("blob-blocks", ws, container, blob).with_suffix(".committed").unlink(missing_ok=True)
            return 202, {}, b""
        raise BlobError(400, "UnsupportedQueryParameter", f"{method} with comp={comp!r} is not supported here")

    # -- where things are

    def _container(self, ws: str, container: str) -> Path:
        if container == RUNS_CONTAINER:
            self.store.get_workspace(ws)
            return self.store.job_folder(ws, "-").parent
        m = PENDING.fullmatch(container)
        if m:
            return self.store.datastore_folder(PENDING_ROOT[0]) / PENDING_ROOT[1] / m.group("id")
        try:
            record = self.store.get_datastore(ws, container)
        except NotFound:
            raise BlobError(404, "ContainerNotFound", f"no datastore {container!r} in workspace {ws!r}") from None
        if record["builtin"]:
            return self.store.datastore_folder(container)
        folder = (record["doc"].get("properties") or {}).get(LOCAL_FOLDER_PROPERTY)
        if not folder:
            raise BlobError(409, "FeatureNotSupported", f"datastore {container!r} is storage in Azure, not a folder "
                                                        "of the local workspace")
        return Path(folder)

    def _path(self, ws: str, container: str, root: Path, blob: str) -> Path:
        """The file of `blob`: under the container's folder, or a job's log in its folder."""
        m = _RUN_LOGS.fullmatch(blob) if container == ARTIFACT_STORE else None
        if m and _inside(m.group("job")):  # `dcid..` names no job: it would be the workspace's jobs folder
            return self.store.job_folder(ws, m.group("job")) / m.group("part") / (m.group("rest") or "")
        return root / blob

    def _log_names(self, ws: str, container: str, prefix: str):
        """The names of the jobs' logs the artifact store shows (see the module docstring) that start with `prefix`."""
        if container != ARTIFACT_STORE:
            return
        head = job_artifacts_path("")
        rest = prefix[len(head):] if prefix.startswith(head) else None
        if rest is not None and "/" in rest:
            jobs = [rest.split("/", 1)[0]]
        elif rest is not None or head.startswith(prefix):
            try:
                jobs = os.listdir(self.store.job_folder(ws, "-").parent)
            except FileNotFoundError:
                return
        else:
            return
        for job in filter(_inside, jobs):
            folder = self.store.job_folder(ws, job)
            for part in LOG_FOLDERS:
                for name in _names(folder, part + "/"):
                    full = f"{job_artifacts_path(job)}/{name}"
                    if full.startswith(prefix):
                        yield full

    @staticmethod
    def _existing(target: Path, blob: str) -> Path:
        if not target.is_file():
            raise BlobError(404, "BlobNotFound", f"the blob {blob!r} does not exist")
        return target

    def _side(self, what: str, ws: str, container: str, blob: str) -> Path:
        digest = hashlib.sha256(blob.encode()).hexdigest()
        return self.store.home / what / ws / container / digest

    def _metadata_file(self, ws, container, blob) -> Path:
        return self._side("blob-metadata", ws, container, blob).with_suffix(".json")

    def _read_metadata(self, ws, container, blob) -> dict:
        try:
            return json.loads(self._metadata_file(ws, container, blob).read_text())
        except (OSError, ValueError):
            return {}

    def _write_metadata(self, ws, container, blob, metadata: dict) -> None:
        path = self._metadata_file(ws, container, blob)
        if not metadata:
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_text(json.dumps(metadata))
        os.replace(tmp, path)

    # -- writes

    def _put_blob(self, environ, ws, container, blob, target: Path):
        if environ.get("HTTP_X_MS_BLOB_TYPE", "BlockBlob") != "BlockBlob":
            raise BlobError(400, "FeatureNotSupported", "only block blobs are supported here")
        self._check_conditions(environ, target)
        tmp = self._temp(target)
        try:
            digest = _receive(environ, tmp)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self._commit(tmp, target, ws, container, blob, environ)
        return 201, {**self._identity(target), "Content-MD5": digest, "x-ms-request-server-encrypted": "false"}, b""

    def _put_block(self, environ, ws, container, blob, block_id: str):
        if not block_id:
            raise BlobError(400, "InvalidQueryParameterValue", "blockid is required")
        self._container(ws, container)
        folder = self._side("blob-blocks", ws, container, blob)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / hashlib.sha256(block_id.encode()).hexdigest()
        tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            digest = _receive(environ, tmp)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, path)
        return 201, {"Content-MD5": digest, "x-ms-request-server-encrypted": "false"}, b""

    def _put_block_list(self, environ, ws, container, blob, target: Path):
        self._check_conditions(environ, target)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > _CHUNK:
            raise BlobError(413, "RequestBodyTooLarge", "the block list is too large")
        try:
            ids = [element.text or "" for element in ET.fromstring(environ["wsgi.input"].read(length))]
        except ET.ParseError as exc:
            raise BlobError(400, "InvalidXmlDocument", f"the block list is not XML: {exc}") from None
        folder = self._side("blob-blocks", ws, container, blob)
        # the block list of the blob's last commit and the file it made: a retry of that commit (a client that lost
        # its answer) finds its blocks gone, yet succeeds, as Azure keeps committed blocks
        committed, listed = folder.with_suffix(".committed"), hashlib.sha256("\n".join(ids).encode()).hexdigest()
        tmp = self._temp(target)
        try:
            with open(tmp, "wb") as out:
                for block_id in ids:
                    try:
                        src = open(folder / hashlib.sha256(block_id.encode()).hexdigest(), "rb")
                    except FileNotFoundError:
                        if target.is_file() and _read_text(committed) == f"{listed} {target.stat().st_ino}":
                            tmp.unlink()
                            return 201, {**self._identity(target), "x-ms-request-server-encrypted": "false"}, b""
                        raise BlobError(400, "InvalidBlockList", f"block {block_id!r} was not staged") from None
                    with src:
                        shutil.copyfileobj(src, out, _CHUNK)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self._commit(tmp, target, ws, container, blob, environ)
        committed.parent.mkdir(parents=True, exist_ok=True)
        committed.write_text(f"{listed} {target.stat().st_ino}")
        shutil.rmtree(folder, ignore_errors=True)
        return 201, {**self._identity(target), "x-ms-request-server-encrypted": "false"}, b""

    @staticmethod
    def _temp(target: Path) -> Path:
        if target.is_dir():
            raise BlobError(409, "InvalidBlobOrBlock", f"{target.name!r} is a folder of the datastore")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise BlobError(409, "InvalidBlobOrBlock", "a part of the blob's name is a blob already") from None
        return target.with_name(f".{target.name}.{uuid.uuid4().hex}.upload")

    def _commit(self, tmp: Path, target: Path, ws, container, blob, environ) -> None:
        # If-None-Match: * checked again as the blob lands: another upload may have made it meanwhile
        if environ.get("HTTP_IF_NONE_MATCH", "").strip() == "*":
            try:
                os.link(tmp, target)  # fails when the blob exists, where a rename would replace it
            except FileExistsError:
                raise BlobError(409, "BlobAlreadyExists", "the specified blob already exists") from None
            except OSError:  # a file system without hard links: as good as the check before the upload
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
        else:
            os.replace(tmp, target)
        self._write_metadata(ws, container, blob, _metadata(environ))

    def _check_conditions(self, environ, target: Path) -> None:
        if environ.get("HTTP_IF_NONE_MATCH", "").strip() == "*" and target.exists():
            raise BlobError(409, "BlobAlreadyExists", "the specified blob already exists")
        match = environ.get("HTTP_IF_MATCH", "").strip()
        if match and match != "*" and (not target.is_file() or match != self._identity(target)["ETag"]):
            raise BlobError(412, "ConditionNotMet", "the condition specified using HTTP conditional header(s) is "
                                                    "not met")

    # -- reads

    @staticmethod
    def _identity(target: Path) -> dict:
        info = target.stat()
        return {"ETag": f'"0x{info.st_mtime_ns:X}{info.st_size:X}"', "Last-Modified": _http_date(info.st_mtime)}

    def _properties(self, target: Path, ws, container, blob) -> dict:
        headers = {**self._identity(target), "x-ms-blob-type": "BlockBlob",
                   "x-ms-creation-time": _http_date(target.stat().st_ctime), "Accept-Ranges": "bytes",
                   "Content-Type": "application/octet-stream", "Content-Length": str(target.stat().st_size)}
        headers.update({f"x-ms-meta-{k}": v for k, v in self._read_metadata(ws, container, blob).items()})
        return headers

    def _get(self, environ, ws, container, blob, target: Path):
        headers = self._properties(target, ws, container, blob)
        size = target.stat().st_size
        wanted = environ.get("HTTP_X_MS_RANGE") or environ.get("HTTP_RANGE")
        start, end = 0, size - 1
        status = 200
        if wanted:
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted.strip())
            if not m or int(m.group(1)) >= size or (m.group(2) and int(m.group(2)) < int(m.group(1))):
                raise BlobError(416, "InvalidRange", "the range specified is invalid for the current size of the "
                                                     "resource")
            start = int(m.group(1))
            end = min(int(m.group(2)) if m.group(2) else size - 1, size - 1)
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        headers["Content-Length"] = str(end - start + 1 if size else 0)

        def chunks():
            with open(target, "rb") as fh:
                fh.seek(start)
                left = end - start + 1
                while left > 0:
                    data = fh.read(min(_CHUNK, left))
                    if not data:
                        return
                    left -= len(data)
                    yield data

        return status, headers, chunks()

    def _list(self, environ, ws, container, root: Path, query: dict):
        prefix, delimiter, marker = query.get("prefix", ""), query.get("delimiter", ""), query.get("marker", "")
        try:
            size = max(1, min(int(query.get("maxresults") or _MAX_RESULTS), _MAX_RESULTS))
        except ValueError:
            raise BlobError(400, "InvalidQueryParameterValue", "maxresults must be an integer") from None
        names = sorted(n for n in {*_names(root, prefix), *self._log_names(ws, container, prefix)} if n > marker)
        items, prefixes, next_marker = [], set(), ""
        for name in names:
            if delimiter and delimiter in name[len(prefix):]:
                entry = name[:len(prefix) + name[len(prefix):].index(delimiter) + len(delimiter)]
                if entry in prefixes:
                    continue
                prefixes.add(entry)
                items.append((entry, None))
            else:
                items.append((name, self._path(ws, container, root, name)))
            if len(items) == size:
                next_marker = name if name != names[-1] else ""
                break
        result = ET.Element("EnumerationResults", ServiceEndpoint=Request(environ, 0).url(account_path(ws) + "/"),
                            ContainerName=container)
        for tag, value in (("Prefix", prefix), ("Marker", marker), ("MaxResults", str(size)),
                           ("Delimiter", delimiter)):
            if value:
                ET.SubElement(result, tag).text = value
        blobs = ET.SubElement(result, "Blobs")
        include = query.get("include", "").split(",")
        for name, path in items:
            if path is None:
                ET.SubElement(ET.SubElement(blobs, "BlobPrefix"), "Name").text = name
                continue
            element = ET.SubElement(blobs, "Blob")
            ET.SubElement(element, "Name").text = name
            props = ET.SubElement(element, "Properties")
            info = path.stat()
            for tag, value in (("Creation-Time", _http_date(info.st_ctime)),
                               ("Last-Modified", _http_date(info.st_mtime)),
                               ("Etag", f"0x{info.st_mtime_ns:X}{info.st_size:X}"),
                               ("Content-Length", str(info.st_size)), ("Content-Type", "application/octet-stream"),
                               ("BlobType", "BlockBlob"), ("LeaseStatus", "unlocked"), ("LeaseState", "available"),
                               ("ServerEncrypted", "false")):
                ET.SubElement(props, tag).text = value
            if "metadata" in include:
                metadata = ET.SubElement(element, "Metadata")
                for key, value in self._read_metadata(ws, container, name).items():
                    ET.SubElement(metadata, key).text = value
        ET.SubElement(result, "NextMarker").text = next_marker
        body = b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(result)
        return 200, {"Content-Type": "application/xml"}, body


def _names(root: Path, prefix: str):
    """The blob names (file paths under `root`, '/'-separated) that start with `prefix`; uploads in flight are not
    blobs yet."""
    folder = prefix.rpartition("/")[0]
    if folder and not _inside(folder):  # no blob's name starts so: the walk would leave the container
        return
    start = root / folder
    if not start.is_dir():
        return
    for folder, dirs, files in os.walk(start):
        rel = Path(folder).relative_to(root).as_posix()
        for name in files:
            full = name if rel == "." else f"{rel}/{name}"
            if full.startswith(prefix) and not name.endswith(".upload"):
                yield full


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _inside(name: str) -> bool:
    """Whether the '/'-separated `name` stays inside the folder it is joined to: no empty (a leading '/' would make
    it absolute), '.' or '..' segment."""
    return all(part not in ("", ".", "..") for part in name.split("/"))


def _receive(environ, path: Path) -> str:
    """Write the request body to `path` -> the base64 MD5 of what came; a Content-MD5 that differs is refused."""
    raw = (environ.get("CONTENT_LENGTH") or "0").strip()
    if not raw.isdigit():
        raise BlobError(400, "InvalidHeaderValue", f"invalid Content-Length {raw!r}")
    left, md5 = int(raw), hashlib.md5()
    with open(path, "wb") as out:
        while left > 0:
            data = environ["wsgi.input"].read(min(_CHUNK, left))
            if not data:
                raise BlobError(400, "IncompleteBody", "the request body ended before Content-Length bytes")
            md5.update(data)
            out.write(data)
            left -= len(data)
    digest = base64.b64encode(md5.digest()).decode()
    sent = environ.get("HTTP_CONTENT_MD5")
    if sent and sent != digest:
        raise BlobError(400, "Md5Mismatch", "the MD5 value specified in the request did not match the MD5 value "
                                            "calculated by the server")
    return digest


def _metadata(environ) -> dict:
    metadata = {key[len("HTTP_X_MS_META_"):].lower(): value for key, value in environ.items()
                if key.startswith("HTTP_X_MS_META_")}
    for name in metadata:  # as Azure Storage: C# identifiers (they are element names in a listing's XML)
        if not name.isidentifier():
            raise BlobError(400, "InvalidMetadata", f"the metadata name {name!r} is not a valid identifier")
    return metadata


def _http_date(seconds: float) -> str:
    return format_datetime(datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc), usegmt=True)


def _now() -> str:
    return format_datetime(datetime.datetime.now(datetime.timezone.utc), usegmt=True)


_PHRASES = {200: "OK", 201: "Created", 202: "Accepted", 206: "Partial Content", 400: "Bad Request", 403: "Forbidden",
            404: "Not Found",
            409: "Conflict", 412: "Precondition Failed", 413: "Payload Too Large", 416: "Range Not Satisfiable"}
