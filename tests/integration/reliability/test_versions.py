"""Attack: concurrent creates of one asset without a version. Each gets a version of its own; none is lost."""
from __future__ import annotations

import threading

import pytest

from azureml_v2 import MLClient
from azureml_v2.entities import Data

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("served", [False, True], ids=["in-process", "azml-server"])
def test_eight_concurrent_creates_get_eight_versions(tmp_path, served, served_client):
    """8 threads (each its own client, as 8 processes would be) create `words` at once, 3 rounds: 24 versions."""
    home = tmp_path / "home"
    clients = [served_client(home) if served else MLClient.local(home) for _ in range(8)]
    acknowledged, errors = [], []

    def create(client, i, round_):
        try:
            data = client.data.create_or_update(Data(name="words", path="https://example.com/words.txt",
                                                     description=f"{round_}-{i}", tags={"writer": str(i)}))
            acknowledged.append((data.version, data.description))
        except Exception as exc:  # noqa: BLE001 - counted and shown
            errors.append(repr(exc))

    for round_ in range(3):
        threads = [threading.Thread(target=create, args=(c, i, round_)) for i, c in enumerate(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    stored = {d.version: d.description for d in clients[0].data.list(name="words")}
    for client in clients:
        client.close()
    assert errors == []
    assert len(acknowledged) == 24 and len({v for v, _ in acknowledged}) == 24
    assert stored == dict(acknowledged)  # every acknowledged create is stored as it was acknowledged
    assert sorted(map(int, stored)) == list(range(1, 25))
