"""A default blob datastore on Azurite: code uploads land there."""
from __future__ import annotations

import pytest

from azureml_v2.entities.datastore import AccountKeyConfiguration, AzureBlobDatastore

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("form", ["url", "host:port"])
def test_code_uploads_to_a_default_blob_datastore_on_azurite(tmp_path, azurite_url, blob_container, form):
    import sqlite3
    from urllib.parse import urlsplit

    from support.azurite import DEV_ACCOUNT, DEV_KEY

    from azureml_v2._client import MLClient
    from azureml_v2.entities.assets import Code

    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text("print('hi')\n")
    endpoint = azurite_url if form == "url" else urlsplit(azurite_url).netloc
    container = blob_container.container_name
    with MLClient.local(tmp_path / "home") as client:
        client.datastores.create_or_update(AzureBlobDatastore(
            name="azurite", account_name=DEV_ACCOUNT, container_name=container, endpoint=endpoint,
            credentials=AccountKeyConfiguration(account_key=DEV_KEY)))
        # Azure ML changes a workspace's default datastore outside the datastore API (studio); do it in the store
        db = sqlite3.connect(tmp_path / "home" / "workspace.db")
        with db:
            db.execute("UPDATE datastores SET is_default = (name = 'azurite')")
        db.close()
        assert client.datastores.get_default().name == "azurite"
        code = client.code.create_or_update(Code(name="train-src", version="1", path=str(src)))
    prefix = f"{azurite_url}/{container}/"
    assert code.path.startswith(prefix + "LocalUpload/")
    blob = code.path[len(prefix):] + "/train.py"
    assert blob_container.download_blob(blob).readall() == b"print('hi')\n"
