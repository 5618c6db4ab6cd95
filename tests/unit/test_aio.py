"""azureml_v2.aio: the bridge that lets synchronous operation code await, and the shape of the async client
(every group of MLClient, coroutines except the list methods). What the groups do on it is tested by running
every operation-group test on both clients (tests/unit/operations/conftest.py)."""
from __future__ import annotations

import asyncio
import inspect

import pytest
from azure.core.async_paging import AsyncItemPaged

from azureml_v2._client import MLClient as SyncMLClient
from azureml_v2._client import _Group
from azureml_v2._http.bridge import await_only, in_worker, run_sync
from azureml_v2.aio import AsyncOperations, MLClient


async def _double_later(x):
    await asyncio.sleep(0)
    return 2 * x


async def _fail():
    await asyncio.sleep(0)
    raise KeyError("from the loop")


def test_synchronous_code_awaits_through_the_bridge_and_sees_the_loops_exceptions():
    def work(n):
        assert in_worker()
        total = sum(await_only(_double_later(i)) for i in range(n))
        try:
            await_only(_fail())
        except KeyError as exc:  # raised in the loop, caught where the synchronous code awaited
            return total, str(exc)

    assert asyncio.run(run_sync(work, 4)) == (12, "'from the loop'")


def test_an_exception_of_the_synchronous_code_reaches_the_awaiting_coroutine():
    def work():
        await_only(asyncio.sleep(0))
        raise ValueError("from the worker")

    with pytest.raises(ValueError, match="from the worker"):
        asyncio.run(run_sync(work))


def test_awaiting_outside_the_bridge_is_one_clear_error():
    assert not in_worker()
    with pytest.raises(RuntimeError, match="await the async client's methods"):
        await_only(asyncio.sleep(0))


def test_the_async_client_has_every_group_of_the_sync_one(tmp_path):
    sync_groups = {name for name, value in vars(SyncMLClient).items() if isinstance(value, _Group)}
    client = MLClient.local(tmp_path / "home")
    try:
        assert sync_groups and all(isinstance(getattr(client, g), AsyncOperations) for g in sync_groups)
        for group in sync_groups:
            for name in (n for n in dir(getattr(client, group)) if not n.startswith("_")):
                method = getattr(getattr(client, group), name)
                sync_method = getattr(getattr(client._sync, group), name)
                if inspect.signature(sync_method).return_annotation == "ItemPaged":
                    assert not inspect.iscoroutinefunction(method), f"{group}.{name}"
                else:
                    assert inspect.iscoroutinefunction(method), f"{group}.{name} is not awaitable"
        assert isinstance(client.jobs.list(), AsyncItemPaged)  # no await: it is iterated
    finally:
        asyncio.run(client.close())


def test_same_arguments_and_checks_as_the_sync_client(tmp_path):
    from azureml_v2 import ValidationError

    with pytest.raises(ValidationError, match="an Azure ML workspace needs workspace_name"):
        MLClient(object(), "sub", "rg")
    client = MLClient.local(tmp_path / "home", polling_interval=0)
    assert (client.is_local, client.home, client.polling_interval) == (True, (tmp_path / "home").resolve(), 0)
    assert repr(client).startswith("aio.MLClient(")
    asyncio.run(client.close())


def test_a_list_method_checks_its_arguments_when_called(tmp_path):
    from azureml_v2 import ValidationError

    client = MLClient.local(tmp_path / "home")
    try:
        with pytest.raises(ValidationError, match="list_view_type"):
            client.environments.list(list_view_type="Sideways")
    finally:
        asyncio.run(client.close())
