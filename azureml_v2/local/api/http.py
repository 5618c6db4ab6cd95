"""HTTP for the local workspace: query and body parsing, :class:`HttpError` and ARM error bodies, and the bearer
token middleware of a served workspace (two roles, as in Azure RBAC: the contributor may read and write, the
reader only read)."""
from __future__ import annotations

import hmac
import json
import re
import time
from http import HTTPStatus
from urllib.parse import parse_qsl, quote

from ..core.workspace import NotFound

CONTRIBUTOR, READER = "contributor", "reader"
_READ_METHODS = frozenset({"GET", "HEAD"})
_READ_POSTS = re.compile(r"/api/2\.0/mlflow/(?:experiments|runs|logged-models)/search/?$"
                         # data-plane reads that POST their question
                         r"|^/history/v1\.0/.*/rundata$|^/(?:data|modelregistry)/v1\.0/.*/batchGetResolvedUris$")
WORKSPACE_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}")  # Azure ML's workspace names
_BAD_PATH = re.compile(r"(?:^|/)\.{1,2}(?:/|$)|[\x00-\x1f\x7f\\]")


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def invalid(message: str) -> HttpError:
    return HttpError(400, "InvalidRequestContent", message)


class Query:
    """Query parameters, names case-insensitive (ARM), the last value winning."""

    def __init__(self, text: str):
        self.pairs = parse_qsl(text, keep_blank_values=True)
        self.values: dict[str, list[str]] = {}
        for key, value in self.pairs:
            self.values.setdefault(key.lower(), []).append(value)

    def get(self, key: str) -> str | None:
        values = self.values.get(key.lower())
        return values[-1] if values else None

    def all(self, key: str) -> list[str]:
        return self.values.get(key.lower(), [])

    def integer(self, key: str, low: int, high: int | None = None) -> int | None:
        value = self.get(key)
        if value is None:
            return None
        if not (value.isascii() and value.isdigit()) or int(value) < low or high is not None and int(value) > high:
            bound = f"{low}..{high}" if high is not None else f">= {low}"
            raise invalid(f"query parameter {key}={value!r}: expected an integer {bound}")
        return int(value)

    def boolean(self, key: str) -> bool | None:
        value = self.get(key)
        if value is None:
            return None
        if value.lower() not in ("true", "false"):
            raise invalid(f"query parameter {key}={value!r}: expected true or false")
        return value.lower() == "true"

    def choice(self, key: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.get(key)
        if value is None:
            return default
        canonical = {a.lower(): a for a in allowed}.get(value.lower())
        if canonical is None:
            raise invalid(f"query parameter {key}={value!r}: expected one of {', '.join(allowed)}")
        return canonical

    def view(self) -> str:
        return self.choice("listViewType", ("ActiveOnly", "ArchivedOnly", "All"), "ActiveOnly")


MAX_BODY = 16 * 1024 * 1024  # bytes of one request body, unless a server is given another limit


class Request:
    def __init__(self, environ: dict, max_body: int):
        self.environ = environ
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        self.query = Query(environ.get("QUERY_STRING", ""))
        self.max_body = max_body

    def url(self, path: str) -> str:
        """An absolute link on this server: its own address (SERVER_NAME, SERVER_PORT), not the Host header a
        client sent, which would let a request point the links it gets elsewhere."""
        env = self.environ
        scheme, name, port = env.get("wsgi.url_scheme", "http"), env.get("SERVER_NAME", "localhost"), \
            env.get("SERVER_PORT", "80")
        host = f"[{name}]" if ":" in name else name
        if (scheme, port) not in (("http", "80"), ("https", "443")):
            host += f":{port}"
        return f"{scheme}://{host}{quote(env.get('SCRIPT_NAME', ''))}{quote(path)}"

    def body(self) -> dict:
        """The JSON body: an object with a `properties` object (returned, copied)."""
        return dict(self.resource()["properties"])

    def resource(self) -> dict:
        """The JSON body: an object with a `properties` object (a tracked resource's location, tags... around it)."""
        doc = self.json("the request needs a JSON body with a 'properties' object")
        if not isinstance(doc.get("properties"), dict):
            raise invalid("the request body needs a 'properties' object")
        return doc

    def json(self, empty: str | None = None) -> dict:
        """The JSON object of the body; an empty body is `{}`, or refused with the message `empty`."""
        data = read_body(self.environ, self.max_body)
        if not data.strip():
            if empty is not None:
                raise invalid(empty)
            return {}
        content_type = self.environ.get("CONTENT_TYPE", "")
        if content_type and "json" not in content_type.lower():
            raise HttpError(415, "UnsupportedMediaType", f"expected application/json, got {content_type!r}")
        try:
            doc = json.loads(data, parse_constant=_reject_constant)
        except RecursionError:
            raise invalid("the request body is nested too deeply") from None
        except ValueError as exc:
            raise invalid(f"the request body is not valid JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise invalid(f"the request body must be a JSON object, not {type(doc).__name__}")
        return doc

def read_body(environ: dict, max_body: int) -> bytes:
    """The request's body: 400 for a bad Content-Length, 413 past `max_body` bytes."""
    raw = (environ.get("CONTENT_LENGTH") or "").strip()
    if raw:
        if not raw.isdigit():
            raise invalid(f"invalid Content-Length {raw!r}")
        length = int(raw)
        if length > max_body:
            raise HttpError(413, "RequestEntityTooLarge",
                            f"the request body has {length} bytes; the limit is {max_body}")
        return environ["wsgi.input"].read(length) if length else b""
    if environ.get("wsgi.input_terminated"):
        data = environ["wsgi.input"].read(max_body + 1)
        if len(data) > max_body:
            raise HttpError(413, "RequestEntityTooLarge", f"the request body exceeds {max_body} bytes")
        return data
    return b""


def _reject_constant(name: str):
    raise ValueError(f"{name} is not allowed in JSON")


def arm_error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def workspace_route(path: str, prefix: str, provider: str) -> tuple[str, list[str]] | None:
    """A data-plane path ``<prefix>subscriptions/{s}/resourceGroups/{rg}/providers/<provider>/workspaces/{ws}/...``
    -> (the workspace, the segments after it); None when it is no such path."""
    segments = path[len(prefix):].strip("/").split("/") if path.startswith(prefix) else []
    if len(segments) < 8 or [s.lower() for s in segments[0:7:2]] != ["subscriptions", "resourcegroups", "providers",
                                                                       "workspaces"] \
            or segments[5].lower() != provider.lower():
        return None
    return segments[7], segments[8:]


class JsonApi:
    """A WSGI app that answers JSON: `_handle(environ)` -> (status, body); an HttpError, or a NotFound of the store,
    is answered as an ARM error body."""

    def _handle(self, environ) -> tuple[int, dict]:
        raise NotImplementedError

    def __call__(self, environ, start_response):
        try:
            status, body = self._handle(environ)
        except HttpError as exc:
            status, body = exc.status, arm_error(exc.code, exc.message)
        except NotFound as exc:
            status, body = 404, arm_error("UserError", str(exc))
        data = json.dumps(body, separators=(",", ":")).encode()
        start_response(f"{status} {HTTPStatus(status).phrase}",
                       [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(data)))])
        return [data]


def method_not_allowed(method: str, allowed: tuple[str, ...]) -> HttpError:
    return HttpError(405, "MethodNotAllowed", f"{method} is not supported here; allowed: {', '.join(allowed)}",
                     {"Allow": ", ".join(allowed)})


def _deny(start_response, status: str, code: str, message: str, extra: tuple = ()):
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    start_response(status, [("Content-Type", "application/json; charset=utf-8"),
                            ("Content-Length", str(len(body))), *extra])
    return [body]


def require_token(app, token: str, reader_token: str | None = None, public: tuple[str, ...] = (), signed=None):
    """WSGI middleware: every request must carry `Authorization: Bearer <token>`; `reader_token` may only read.
    A GET of a `public` path needs no token (clients read the discovery document without one), nor a request that
    `signed(environ)` finds carries a signature of the server's own (a blob SAS)."""
    tokens = [(token, CONTRIBUTOR)] + ([(reader_token, READER)] if reader_token else [])
    if not all(t for t, _ in tokens):
        raise ValueError("a server token may not be empty")
    tokens = [(t.encode(), role) for t, role in tokens]

    def guarded(environ, start_response):
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO", "").rstrip("/") in public:
            return app(environ, start_response)
        if signed is not None and "HTTP_AUTHORIZATION" not in environ and not _BAD_PATH.search(
                environ.get("PATH_INFO", "")) and signed(environ):
            return app(environ, start_response)
        scheme, _, given = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        given = given.strip().encode("latin-1", "replace")  # WSGI headers are latin-1 strings
        role = None
        for expected, name in tokens:  # every token is compared: the time tells nothing of which one matched
            if hmac.compare_digest(given, expected):
                role = name
        if role is None and given.count(b".") == 2:  # a JWT signed with a token (see tokens.py)
            from .tokens import verifies  # import budget: PyJWT loads for the clients that send one

            role = next((name for expected, name in tokens if verifies(given, expected)), None)
        if scheme.lower() != "bearer" or role is None:
            return _deny(start_response, "401 Unauthorized", "AuthenticationFailed",
                         "missing or invalid bearer token for this local workspace",
                         (("WWW-Authenticate", 'Bearer realm="azureml_v2"'),))
        path = environ.get("PATH_INFO", "")
        if _BAD_PATH.search(path):
            return _deny(start_response, "400 Bad Request", "InvalidRequestUri",
                         "the path may not hold '.' or '..' segments, backslashes or control characters")
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if role == READER and method not in _READ_METHODS and not (method == "POST" and _READ_POSTS.search(path)):
            return _deny(start_response, "403 Forbidden", "AuthorizationFailed",
                         f"the reader token does not have authorization to perform {method} here; "
                         "writes need the contributor token")
        return app(environ, start_response)

    return guarded


# Slow clients (slowloris): a connection has REQUEST_TIMEOUT seconds to send a whole request once it opened or began
# one, however steadily it trickles; one address may hold MAX_PENDING connections that are not being answered
# (a request not whole yet, or idle), past which the one waiting or idle the longest is closed. On loopback every
# client shares an address: a client that sends its request at once is never the one waiting the longest.
REQUEST_TIMEOUT = 10.0
MAX_PENDING = 64


# waitress drops every header whose name holds '_' (in the WSGI environ `X_Foo` would pass for `X-Foo`). Blob
# metadata names are identifiers, `upload_status` among them (azure-ai-ml marks finished uploads so), and never hold
# '-': spelled with '-' on the way in, a metadata header reaches the environ under the key that names it.
_METADATA_HEADER = re.compile(rb"^x-ms-meta-[^:\r\n]*", re.IGNORECASE | re.MULTILINE)


def _keep_metadata_names(header_plus: bytes) -> bytes:
    return _METADATA_HEADER.sub(lambda name: name[0].replace(b"_", b"-"), header_plus)


def guard_slow_clients(sockets: dict, *, request_timeout: float = REQUEST_TIMEOUT,
                       max_pending: int = MAX_PENDING) -> None:
    """Bound how long and how many unfinished requests the waitress servers listening in `sockets` (a socket map)
    keep: their connections are made by a channel class that tracks when its request began, and their
    maintenance closes those past `request_timeout`. Their requests keep blob metadata headers named with '_'."""
    from waitress.channel import HTTPChannel  # import budget: only where a server runs
    from waitress.parser import HTTPRequestParser  # import budget: as above
    from waitress.server import BaseWSGIServer  # import budget: as above

    class Parser(HTTPRequestParser):
        def parse_header(self, header_plus):
            return super().parse_header(_keep_metadata_names(header_plus))

    class Channel(HTTPChannel):
        parser_class = Parser

        def __init__(self, server, sock, addr, adj, map=None):
            self.waiting_since = time.time()  # a new connection owes a request
            super().__init__(server, sock, addr, adj, map)
            waiting = [c for c in server.active_channels.values()
                       if c.addr[:1] == addr[:1] and not c.requests and not c.total_outbufs_len and not c.will_close]
            if len(waiting) > max_pending:
                oldest = min(waiting, key=lambda c: c.last_activity if c.waiting_since is None else c.waiting_since)
                oldest.will_close = True

        def received(self, data):
            if self.request is None and self.waiting_since is None:
                self.waiting_since = time.time()
            done = super().received(data)
            if self.request is None:  # what came were whole requests: idle until the next one begins
                self.waiting_since = None
            return done

    def maintenance(server, now):
        BaseWSGIServer.maintenance(server, now)
        for channel in list(server.active_channels.values()):
            since = getattr(channel, "waiting_since", None)
            if since is not None and not channel.requests and now - since > request_timeout:
                channel.will_close = True

    for listener in list(sockets.values()):
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = Channel
            listener.maintenance = maintenance.__get__(listener)


def stop_server(server, sockets: dict, thread, timeout: float) -> None:
    """Stop a waitress server whose loop runs in `thread` over the socket map `sockets`, from another thread.

    The sockets are closed by the loop's own thread (closing them from here races its select()); an empty map
    ends the loop. The loop may run the closing thunk before this thread's wake-up write lands (it woke for
    another reason), closing the trigger under that write: then the server is stopping already."""
    from waitress import wasyncore  # import budget: only where a server runs

    try:
        server.trigger.pull_trigger(lambda: wasyncore.close_all(sockets))
    except OSError:
        if not server.trigger._closed:
            raise
    thread.join(timeout)
    server.task_dispatcher.shutdown(timeout=timeout)
