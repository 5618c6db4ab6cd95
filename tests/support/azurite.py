"""Azurite for the blob tests: one already listening (AZURITE_BLOB_URL or 127.0.0.1:10000) or a fresh `azurite-blob`.

The fixtures in conftest.py use it: without Azurite the blob tests skip locally and fail when CI=true.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from urllib.parse import urlsplit

# The well-known Azurite development account (public, documented by Microsoft; not a secret).
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
DEFAULT_URL = f"http://127.0.0.1:10000/{DEV_ACCOUNT}"
MISSING = ("Azurite is not available: set AZURITE_BLOB_URL, run it on 127.0.0.1:10000, "
           "or install it with `npm install -g azurite`")


def connection_string(blob_url: str) -> str:
    return (f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
            f"BlobEndpoint={blob_url.rstrip('/')};")


def _listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port or 80), timeout=0.5).close()
    except OSError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def azurite():
    """Yield the blob endpoint URL of a running Azurite, starting one if needed; None if there is none."""
    url = os.environ.get("AZURITE_BLOB_URL", DEFAULT_URL)
    if _listening(url):
        yield url
        return
    exe = shutil.which("azurite-blob")
    if exe is None:
        yield None
        return
    port = _free_port()
    url = f"http://127.0.0.1:{port}/{DEV_ACCOUNT}"
    with tempfile.TemporaryDirectory(prefix="azurite-") as workdir:  # holds its log
        with open(os.path.join(workdir, "azurite.log"), "wb") as log:
            proc = subprocess.Popen(
                [exe, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence",
                 "--silent", "--skipApiVersionCheck", "--disableTelemetry"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            deadline = time.monotonic() + 30
            while not _listening(url):
                if proc.poll() is not None or time.monotonic() > deadline:
                    with open(os.path.join(workdir, "azurite.log"), errors="replace") as fh:
                        raise RuntimeError(f"azurite-blob did not start on port {port}:\n{fh.read()[-2000:]}")
                time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
