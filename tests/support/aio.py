"""The async client behind a synchronous face, so one test drives both clients: `ml_client` and `replay` are
parametrized over MLClient and azureml_v2.aio.MLClient, and the tests do not know which they hold.

Every coroutine runs on one event loop in a thread of its own; an AsyncItemPaged is walked page by page on it, an
AsyncLROPoller is answered on it. Nothing here decides a result: it only carries calls to the async client.
"""
from __future__ import annotations

import asyncio
import inspect
import threading

from azure.core.async_paging import AsyncItemPaged
from azure.core.polling import AsyncLROPoller

from azureml_v2._http.bridge import run_sync
from azureml_v2.aio import AsyncOperations


class EventLoop:
    """An event loop running in a daemon thread; run(coroutine) waits for its result here."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


def _carry(value, loop: EventLoop):
    if isinstance(value, AsyncLROPoller):
        return Poller(value, loop)
    if isinstance(value, AsyncItemPaged):
        return Paged(value, loop)
    return value


class Poller:
    """LROPoller's face on an AsyncLROPoller."""

    def __init__(self, poller: AsyncLROPoller, loop: EventLoop) -> None:
        self._poller, self._loop = poller, loop

    def result(self, timeout=None):
        return self._loop.run(asyncio.wait_for(self._poller.result(), timeout))

    def wait(self, timeout=None) -> None:
        self._loop.run(asyncio.wait_for(self._poller.wait(), timeout))

    def done(self) -> bool:
        # LROPoller.done() is True once the operation has finished; AsyncLROPoller's only once it was awaited
        return self._poller.done() or self._poller.polling_method().finished()

    def status(self) -> str:
        return self._poller.status()

    def polling_method(self):
        return self._poller.polling_method()


class Paged:
    """ItemPaged's face on an AsyncItemPaged: pages are fetched on the loop as the test walks them."""

    def __init__(self, paged: AsyncItemPaged, loop: EventLoop) -> None:
        self._paged, self._loop = paged, loop

    def by_page(self):
        pages = self._paged.by_page()

        async def next_page():
            try:
                page = await pages.__anext__()
            except StopAsyncIteration:
                return None
            return [item async for item in page]

        while (page := self._loop.run(next_page())) is not None:
            yield iter(page)

    def __iter__(self):
        for page in self.by_page():
            yield from page


class Operations:
    """A synchronous operation group's face on an async one."""

    def __init__(self, operations: AsyncOperations, loop: EventLoop) -> None:
        self._operations, self._loop = operations, loop

    def __getattr__(self, name: str):
        attr = getattr(self._operations, name)
        if name.startswith("_") and inspect.ismethod(attr):  # a private synchronous method a test calls
            return lambda *args, **kwargs: self._loop.run(run_sync(attr, *args, **kwargs))
        if inspect.iscoroutinefunction(attr):
            return lambda *args, **kwargs: _carry(self._loop.run(attr(*args, **kwargs)), self._loop)
        if callable(attr) and not name.startswith("_"):
            return lambda *args, **kwargs: _carry(attr(*args, **kwargs), self._loop)
        return attr


class Client:
    """MLClient's face on azureml_v2.aio.MLClient: groups carried to the loop, other attributes read from the
    async client or, for the private ones tests peek at, from the synchronous core it drives."""

    def __init__(self, client) -> None:
        self._client, self._loop = client, EventLoop()

    def __getattr__(self, name: str):
        try:
            value = getattr(self._client, name)
        except AttributeError:
            return getattr(self._client._sync, name)
        return Operations(value, self._loop) if isinstance(value, AsyncOperations) else value

    def close(self) -> None:
        try:
            self._loop.run(self._client.close())
        finally:
            self._loop.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
