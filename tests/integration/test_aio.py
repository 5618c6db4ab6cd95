"""azureml_v2.aio.MLClient where the async stack is real: a workspace served over loopback (aiohttp, many requests
at once), an event loop that keeps running while a job is followed, and blob uploads to Azurite."""
from __future__ import annotations

import asyncio
import io
import threading

import pytest
from azure.core.async_paging import AsyncItemPaged
from azure.core.exceptions import ClientAuthenticationError, ResourceNotFoundError

from azureml_v2.aio import MLClient
from azureml_v2.entities.assets import Environment
from azureml_v2.entities.job import CommandJob

pytestmark = pytest.mark.integration


@pytest.fixture
def served(tmp_path):
    """The workspace in tmp_path/home served by waitress (as `azml server` serves it) on a loopback port."""
    from waitress.server import create_server

    from azureml_v2.local import make_app
    from azureml_v2.local.api.http import require_token

    app = make_app(tmp_path / "home")
    server = create_server(require_token(app, "tok-1"), host="127.0.0.1", port=0, threads=8)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(timeout=5)
    app.close()


def test_a_served_workspace_answers_many_requests_at_once_over_aiohttp(served):
    async def scenario():
        async with MLClient(endpoint=served, credential="tok-1") as client:
            envs = [Environment(name=f"env-{i}", version="1", image="python:3.11") for i in range(12)]
            created = await asyncio.gather(*(client.environments.create_or_update(e) for e in envs))
            assert sorted(e.name for e in created) == sorted(e.name for e in envs)
            got = await asyncio.gather(*(client.environments.get(e.name, version="1") for e in envs * 4))
            assert {e.image for e in got} == {"python:3.11"} and len(got) == 48
            listed = client.environments.list()
            assert isinstance(listed, AsyncItemPaged)  # not awaited: iterated
            assert sorted([e.name async for e in listed]) == sorted(e.name for e in envs)
            with pytest.raises(ResourceNotFoundError):
                await client.environments.get("nope", version="1")
        async with MLClient(endpoint=served, credential="tok-2", retry_total=0) as stranger:
            with pytest.raises(ClientAuthenticationError, match="missing or invalid bearer token"):
                await stranger.compute.get("local")

    asyncio.run(scenario())


def test_following_a_job_leaves_the_event_loop_free(tmp_path):
    """While jobs.stream waits for a real job, other tasks of the same loop keep running."""
    job = CommandJob(name="slowish", command="python -c \"import time; time.sleep(1.5); print('done here')\"",
                     environment=Environment(image="python:3.11"), compute="local")

    async def ticker(stop: asyncio.Event, ticks: list):
        while not stop.is_set():
            ticks.append(asyncio.get_running_loop().time())
            await asyncio.sleep(0.05)

    async def scenario():
        async with MLClient.local(tmp_path / "home") as client:
            await client.jobs.create_or_update(job)
            stop, ticks, out = asyncio.Event(), [], io.StringIO()
            tick_task = asyncio.create_task(ticker(stop, ticks))
            ended = await client.jobs.stream("slowish", out=out)
            stop.set()
            await tick_task
            return ended, ticks, out.getvalue()

    ended, ticks, log = asyncio.run(scenario())
    assert ended.status == "Completed" and "done here" in log
    # a free loop ticks every ~50 ms; one held by each wait of the follow loop ticks a few times in all
    expected = (ticks[-1] - ticks[0]) / 0.05
    assert len(ticks) >= 0.4 * expected, f"the loop ticked {len(ticks)} times in {expected:.0f} ticks' time"


def test_code_uploads_to_azurite_from_the_async_client(tmp_path, azurite_url, blob_container):
    import sqlite3

    from support.azurite import DEV_ACCOUNT, DEV_KEY

    from azureml_v2.entities.assets import Code
    from azureml_v2.entities.datastore import AccountKeyConfiguration, AzureBlobDatastore

    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text("print('hi')\n")
    container = blob_container.container_name

    async def scenario():
        async with MLClient.local(tmp_path / "home") as client:
            await client.datastores.create_or_update(AzureBlobDatastore(
                name="azurite", account_name=DEV_ACCOUNT, container_name=container, endpoint=azurite_url,
                credentials=AccountKeyConfiguration(account_key=DEV_KEY)))
            db = sqlite3.connect(tmp_path / "home" / "workspace.db")  # the default is changed outside the API
            with db:
                db.execute("UPDATE datastores SET is_default = (name = 'azurite')")
            db.close()
            return await client.code.create_or_update(Code(name="train-src", version="1", path=str(src)))

    code = asyncio.run(scenario())
    prefix = f"{azurite_url}/{container}/"
    assert code.path.startswith(prefix + "LocalUpload/")
    assert blob_container.download_blob(code.path[len(prefix):] + "/train.py").readall() == b"print('hi')\n"
