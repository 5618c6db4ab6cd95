"""Upload and download on Azure Blob (Azurite)."""
from __future__ import annotations

import filecmp

import pytest
from unit._artifacts.test_storage import FILES, expected, fail_after, snap, tree  # noqa: F401 (snap: a fixture)

from azureml_v2 import ValidationError
from azureml_v2._artifacts.snapshot import take_snapshot
from azureml_v2._artifacts.storage import download, upload_snapshot

pytestmark = pytest.mark.integration


def blobs(container) -> dict[str, bytes]:
    return {b.name: container.download_blob(b.name).readall() for b in container.list_blobs()}


def test_blob_round_trip(snap, blob_container, tmp_path):
    result = upload_snapshot(snap, blob_container, name="my-code", version="2")
    prefix = f"LocalUpload/{snap.content_hash}/src"
    assert result.path == prefix and result.bytes_uploaded == snap.total_size
    assert blobs(blob_container) == {f"{prefix}/{k}": v for k, v in expected(snap).items()}
    # azure-ai-ml's marker: on the first file in local path order
    marker = blob_container.get_blob_client(f"{prefix}/.amlignore").get_blob_properties().metadata
    assert marker == {"upload_status": "completed", "name": "my-code", "version": "2"}

    written = download(blob_container, result.path, tmp_path / "out")
    assert len(written) == 5
    assert tree(tmp_path / "out") == expected(snap)
    assert not filecmp.dircmp(snap.source / "pkg", tmp_path / "out" / "pkg").diff_files


def test_blob_second_upload_moves_nothing(snap, blob_container):
    upload_snapshot(snap, blob_container, name="my-code", version="2")
    before = {b.name: b.etag for b in blob_container.list_blobs()}
    again = upload_snapshot(take_snapshot(snap.source), blob_container, name="x", version="9")
    assert (again.bytes_uploaded, again.name, again.version) == (0, "my-code", "2")
    assert {b.name: b.etag for b in blob_container.list_blobs()} == before


def test_interrupted_blob_upload_is_redone(snap, blob_container, monkeypatch):
    monkeypatch.setattr(blob_container, "upload_blob", fail_after(2, blob_container.upload_blob))
    with pytest.raises(OSError, match="connection lost"):
        upload_snapshot(snap, blob_container, max_workers=1)
    monkeypatch.undo()
    assert 0 < len(list(blob_container.list_blobs())) < 5

    redo = upload_snapshot(snap, blob_container)
    assert (redo.bytes_uploaded, redo.files_uploaded) == (snap.total_size, 5)
    assert len(blobs(blob_container)) == 5


def test_blob_single_file(snap, blob_container, tmp_path):
    one = take_snapshot(snap.source / "pkg" / "model.py")
    result = upload_snapshot(one, blob_container)
    assert list(blobs(blob_container)) == [result.path]
    download(blob_container, result.path, tmp_path / "out")
    assert (tmp_path / "out" / "model.py").read_bytes() == FILES["pkg/model.py"]


def test_blob_download_refuses_names_escaping_the_target(blob_container, tmp_path):
    blob_container.upload_blob("outputs/ok.txt", b"ok")
    blob_container.upload_blob("outputs\\..\\..\\evil.txt", b"evil")  # the service stores `outputs/../../evil.txt`
    with pytest.raises(ValidationError, match="outside"):
        download(blob_container, "outputs", tmp_path / "a" / "b")
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "a" / "b" / "ok.txt").exists()


def test_blob_download_of_missing_path(blob_container, tmp_path):
    with pytest.raises(ValidationError, match="nothing found"):
        download(blob_container, "LocalUpload/none", tmp_path / "out")
