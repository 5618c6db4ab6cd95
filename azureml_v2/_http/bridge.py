"""Synchronous operation code driven by an event loop: how `azureml_v2.aio` reuses every operation group unchanged.

`run_sync(fn, ...)` runs `fn` in a greenlet. Where `fn` reaches I/O, `await_only(awaitable)` switches back to the
coroutine that started it, which awaits the awaitable in the event loop and switches the result (or the exception)
back in. The operation code reads as it always does; only the last hop, the async pipeline, is awaited.
"""
from __future__ import annotations

import asyncio
import sys

import greenlet  # optional extra: azureml_v2[aio]


class _Worker(greenlet.greenlet):
    """A greenlet running synchronous code on behalf of a coroutine."""


async def run_sync(fn, *args, **kwargs):
    """fn(*args, **kwargs), with every await_only inside it awaited here, in the running event loop."""
    worker = _Worker(fn, greenlet.getcurrent())
    result = worker.switch(*args, **kwargs)
    while not worker.dead:
        try:
            value = await result
        except BaseException:  # noqa: BLE001 - handed to the code that awaited, where it belongs
            result = worker.throw(*sys.exc_info())
        else:
            result = worker.switch(value)
    return result


def in_worker() -> bool:
    """Whether this code runs under run_sync (so await_only can be used)."""
    return isinstance(greenlet.getcurrent(), _Worker)


def await_only(awaitable):
    """The result of `awaitable`, awaited by the coroutine that called run_sync; from synchronous code only."""
    current = greenlet.getcurrent()
    if not isinstance(current, _Worker):
        close = getattr(awaitable, "close", None)
        if close is not None:  # a coroutine never awaited: close it rather than warn
            close()
        raise _outside()
    return current.parent.switch(awaitable)


def _outside() -> RuntimeError:
    return RuntimeError("an azureml_v2.aio operation ran outside its event loop: await the async client's "
                        "methods instead of calling the synchronous ones")


def sleep(seconds: float) -> None:
    """Wait without holding the event loop."""
    await_only(asyncio.sleep(seconds))


def offload(fn, *args, **kwargs):
    """fn(...) in a worker thread, so blocking file or storage I/O does not hold the event loop."""
    return await_only(asyncio.to_thread(fn, *args, **kwargs))


class SyncPipeline:
    """The synchronous face of an async pipeline client (AsyncARMPipelineClient) for code under run_sync:
    `send_request` awaits the async pipeline and returns its already read response."""

    def __init__(self, client) -> None:
        self.client = client

    def send_request(self, request, **kwargs):
        if not in_worker():  # before a coroutine is made that nothing would await
            raise _outside()
        return await_only(self.client.send_request(request, **kwargs))
