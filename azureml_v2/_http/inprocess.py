"""An azure-core transport that hands each request to a WSGI application in this process, without a socket.

This is how `MLClient()` talks to the local workspace: the pipeline (retries, logging, errors, paging,
polling) is the very one used against Azure; only this last hop differs.
"""
from __future__ import annotations

import asyncio
import io
import sys
from urllib.parse import unquote, urlsplit

from azure.core.pipeline.transport import AsyncHttpTransport, HttpTransport
from azure.core.rest import HttpRequest
from azure.core.rest._http_response_impl import HttpResponseImpl
from azure.core.rest._http_response_impl_async import AsyncHttpResponseImpl
from azure.core.utils import CaseInsensitiveDict


class _Answer:
    """The application's complete answer; the body is already in memory, so reading never blocks."""

    def __init__(self, request: HttpRequest, status: str, headers: list[tuple[str, str]], content: bytes):
        code, _, reason = status.partition(" ")
        merged = CaseInsensitiveDict()
        for key, value in headers:
            merged[key] = f"{merged[key]}, {value}" if key in merged else value
        super().__init__(request=request, internal_response=io.BytesIO(content), status_code=int(code),
                         reason=reason, content_type=merged.get("content-type"), headers=merged,
                         stream_download_generator=None)
        self._content = content


class _WSGIResponse(_Answer, HttpResponseImpl):
    def iter_raw(self, **kwargs):
        yield from self.iter_bytes(**kwargs)


class _AsyncWSGIResponse(_Answer, AsyncHttpResponseImpl):
    async def iter_raw(self, **kwargs):
        async for part in self.iter_bytes(**kwargs):
            yield part

    async def close(self) -> None:
        # its body is a BytesIO, whose close() is not awaited (a streamed response's read() closes it)
        self._is_closed = True
        self._internal_response.close()


def _body(request: HttpRequest) -> bytes:
    content = request.content
    if content is None:
        return b""
    if isinstance(content, str):
        return content.encode("utf-8")
    if isinstance(content, (bytes, bytearray)):
        return bytes(content)
    if hasattr(content, "read"):
        return content.read()
    if isinstance(content, dict):  # multipart files or form data: the ARM API takes neither
        raise TypeError("the in-process transport sends JSON or raw bodies only, not form data")
    return b"".join(content)


class WSGITransport(HttpTransport):
    """Send `azure.core.rest.HttpRequest`s to `app(environ, start_response)` (PEP 3333).

    Exceptions raised by the application propagate unchanged: in-process, a service bug should show
    its own traceback rather than a retried 500.
    """

    def __init__(self, app) -> None:
        self.app = app

    def __enter__(self) -> "WSGITransport":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def send(self, request: HttpRequest, **kwargs) -> _WSGIResponse:
        return _WSGIResponse(request, *self.call(request))

    def call(self, request: HttpRequest) -> tuple[str, list[tuple[str, str]], bytes]:
        """The application's status line, headers and whole body for `request`."""
        if not isinstance(request, HttpRequest):
            raise TypeError("the in-process transport takes azure.core.rest.HttpRequest objects")
        url = urlsplit(request.url)
        body = _body(request)
        environ = {
            "REQUEST_METHOD": request.method.upper(),
            "SCRIPT_NAME": "",
            # PEP 3333: PATH_INFO is the decoded path as latin-1 code points of its UTF-8 bytes
            "PATH_INFO": unquote(url.path or "/").encode("utf-8").decode("latin-1"),
            "QUERY_STRING": url.query,
            "SERVER_NAME": url.hostname or "localhost",
            "SERVER_PORT": str(url.port or (443 if url.scheme == "https" else 80)),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": url.netloc,
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": url.scheme or "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for key, value in request.headers.items():
            name = key.upper().replace("-", "_")
            if name == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = value
            elif name != "CONTENT_LENGTH":
                environ[f"HTTP_{name}"] = value

        started: dict = {}
        chunks: list[bytes] = []

        def start_response(status, headers, exc_info=None):
            if exc_info and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started["status"], started["headers"] = status, headers
            return chunks.append

        result = self.app(environ, start_response)
        try:
            chunks.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if not started:
            raise RuntimeError("the WSGI application returned without calling start_response")
        return started["status"], started["headers"], b"".join(chunks)


class AsyncWSGITransport(AsyncHttpTransport):
    """The in-process transport for azure-core's async pipeline: each request is answered by the WSGI
    application in a worker thread, so the workspace's disk and database work never holds the event loop."""

    def __init__(self, app) -> None:
        self._sync = WSGITransport(app)

    async def __aenter__(self) -> "AsyncWSGITransport":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def sleep(self, duration: float) -> None:
        await asyncio.sleep(duration)

    async def send(self, request: HttpRequest, **kwargs) -> _AsyncWSGIResponse:
        return _AsyncWSGIResponse(request, *await asyncio.to_thread(self._sync.call, request))
