"""MLClient on azure-core's async pipeline.

Every operation group is the synchronous one, run under `_http.bridge.run_sync`: its requests are awaited on an
AsyncARMPipelineClient (Azure, or a served local workspace over aiohttp; the in-process workspace through a
transport that answers in a worker thread), its waits are asyncio sleeps and its file and storage I/O runs in
worker threads. So the two clients cannot drift apart: they are one implementation.

As in azure-core's async clients: operations are coroutines; `list*` methods return an AsyncItemPaged at once
(`async for job in client.jobs.list()`); `begin_*` coroutines return an AsyncLROPoller.
"""
from __future__ import annotations

import functools
import inspect

from azure.core.async_paging import AsyncItemPaged

from .. import _client
from ..exceptions import ValidationError

try:
    from .._http.bridge import run_sync
except ImportError:  # the extra is missing: say so when a client is made, not at import
    run_sync = None

_END = object()  # the page after the last one
_MORE = "more"  # a continuation token: the synchronous pager knows where the next page is


def _pager(paged) -> AsyncItemPaged:
    """The AsyncItemPaged of a synchronous ItemPaged: each page is fetched under run_sync, where the ItemPaged
    follows nextLinks through the async pipeline."""
    pages = paged.by_page()

    async def get_next(_token):
        return await run_sync(next, pages, _END)

    async def extract_data(page):
        # the synchronous page is already in memory: its items were made as it was fetched
        return (None, []) if page is _END else (_MORE, list(page))

    return AsyncItemPaged(get_next, extract_data)


def _returns_pager(method) -> bool:
    return inspect.signature(method).return_annotation in ("ItemPaged", "ItemPaged[Any]")


class AsyncOperations:
    """An operation group of the async client: the synchronous group's public methods as coroutines, except
    those returning an ItemPaged, which return an AsyncItemPaged without being awaited."""

    def __init__(self, operations) -> None:
        self._operations = operations

    def __getattr__(self, name: str):
        attr = getattr(self._operations, name)
        if name.startswith("_") or not inspect.ismethod(attr):
            return attr
        if _returns_pager(attr):
            # called here: a list method checks its arguments and builds its pager without I/O
            @functools.wraps(attr)
            def wrapper(*args, **kwargs):
                return _pager(attr(*args, **kwargs))
        else:
            @functools.wraps(attr)
            async def wrapper(*args, **kwargs):
                return await run_sync(attr, *args, **kwargs)
        self.__dict__[name] = wrapper
        return wrapper

    def __dir__(self):
        return sorted(set(super().__dir__()) | {n for n in dir(self._operations) if not n.startswith("_")})

    def __repr__(self) -> str:
        return f"<async {type(self._operations).__name__}>"


class _AsyncGroup:
    """An operation group attribute of the async client, wrapping the synchronous client's group on first use."""

    def __init__(self, attr: str) -> None:
        self.attr = attr

    def __get__(self, client, owner=None):
        if client is None:
            return self
        group = AsyncOperations(getattr(client._sync, self.attr))
        client.__dict__[self.attr] = group
        return group


class MLClient:
    """The async twin of `azureml_v2.MLClient`: the same arguments and operation groups, awaited.

        async with MLClient() as client:                      # the local workspace, in this process
            job = await client.jobs.create_or_update(load_job("job.yml"))
            async for j in client.jobs.list(): ...
            poller = await client.jobs.begin_cancel(job.name); await poller.result()

    On Azure, `credential` is an azure-identity credential, async (azure.identity.aio) or synchronous (its
    get_token then runs in a worker thread).
    """

    def __init__(self, *args, **kwargs):
        if run_sync is None:
            raise ValidationError("azureml_v2.aio needs greenlet and aiohttp: pip install 'azureml_v2[aio]'")
        self._sync = _client.MLClient(*args, **kwargs)
        self._sync._backend.use_async()

    @classmethod
    def local(cls, path=None, **kwargs) -> "MLClient":
        """The local workspace in `path` (default: $AZUREML_V2_HOME or ~/.azureml_v2), in this process."""
        return cls(home=path, **kwargs)

    @classmethod
    def from_config(cls, credential, path=None, *, file_name: str | None = None, **kwargs) -> "MLClient":
        """The Azure workspace named by the nearest `.azureml/config.json` or `config.json`, as the sync client."""
        values = _client.read_config(_client.find_config(path, file_name))
        return cls(credential, values["subscription_id"], values["resource_group"], values["workspace_name"],
                   **kwargs)

    subscription_id = property(lambda self: self._sync.subscription_id)
    resource_group_name = property(lambda self: self._sync.resource_group_name)
    workspace_name = property(lambda self: self._sync.workspace_name)
    registry_name = property(lambda self: self._sync.registry_name)
    is_local = property(lambda self: self._sync.is_local, doc=_client.MLClient.is_local.__doc__)
    home = property(lambda self: self._sync.home, doc=_client.MLClient.home.__doc__)
    endpoint = property(lambda self: self._sync.endpoint, doc=_client.MLClient.endpoint.__doc__)
    polling_interval = property(lambda self: self._sync.polling_interval)

    async def close(self) -> None:
        """Release the connection pool (Azure, served workspace) or the local store (in-process)."""
        await self._sync._backend.aclose()

    async def __aenter__(self) -> "MLClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def __repr__(self) -> str:
        return "aio." + repr(self._sync)


# the synchronous client's operation groups, every one of them, by the same names
for _name, _value in vars(_client.MLClient).items():
    if isinstance(_value, _client._Group):
        setattr(MLClient, _name, _AsyncGroup(_name))
