"""Upload and download on the local file datastore (Azure Blob on Azurite: tests/integration)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from azureml_v2 import ValidationError
from azureml_v2._artifacts import storage
from azureml_v2._artifacts.snapshot import take_snapshot
from azureml_v2._artifacts.storage import download, remote_path, upload_snapshot

FILES = {
    "train.py": b"print('hi')\n",
    "pkg/__init__.py": b"",
    "pkg/model.py": b"W = 1\n" * 1000,
    "data/big.bin": os.urandom(300_000),
    "run.log": b"left out\n",
    ".amlignore": b"*.log\n",
}


@pytest.fixture
def snap(tmp_path):
    root = tmp_path / "src"
    for rel, data in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return take_snapshot(root)


def tree(root) -> dict[str, bytes]:
    root = Path(root)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def expected(snap) -> dict[str, bytes]:
    return {f.name: FILES[f.name] for f in snap.files}


def fail_after(n, real):
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) > n:
            raise OSError("connection lost")
        return real(*args, **kwargs)
    return flaky


# local file datastore

def test_folder_upload_then_nothing_moves_the_second_time(snap, tmp_path):
    store = tmp_path / "workspaceblobstore"
    first = upload_snapshot(snap, store, name="my-code", version="3")
    assert first.path == f"LocalUpload/{snap.content_hash}/src"
    assert (first.bytes_uploaded, first.files_uploaded) == (snap.total_size, 5)
    assert tree(store / first.path) == expected(snap)

    again = upload_snapshot(take_snapshot(snap.source), store, name="other", version="1")
    assert (again.bytes_uploaded, again.files_uploaded) == (0, 0)
    assert (again.path, again.name, again.version) == (first.path, "my-code", "3")  # the first upload's asset


def test_interrupted_folder_upload_is_redone(snap, tmp_path, monkeypatch):
    store = tmp_path / "store"
    monkeypatch.setattr(storage.shutil, "copyfile", fail_after(2, storage.shutil.copyfile))
    with pytest.raises(OSError, match="connection lost"):
        upload_snapshot(snap, store)
    monkeypatch.undo()
    assert not (store / remote_path(snap)).exists()

    redo = upload_snapshot(snap, store)
    assert redo.bytes_uploaded == snap.total_size
    assert tree(store / redo.path) == expected(snap)
    assert sorted(os.listdir(store / redo.path / "..")) == [".src.upload-completed", "src"]  # no leftovers


def test_folder_without_marker_is_replaced(snap, tmp_path):
    store = tmp_path / "store"
    partial = store / remote_path(snap)
    (partial / "pkg").mkdir(parents=True)
    (partial / "pkg" / "model.py").write_bytes(b"W = ")  # cut short before the marker was written
    result = upload_snapshot(snap, store)
    assert result.bytes_uploaded == snap.total_size
    assert tree(partial) == expected(snap)


def test_single_file_upload_and_download(snap, tmp_path):
    one = take_snapshot(snap.source / "train.py")
    result = upload_snapshot(one, tmp_path / "store")
    assert result.path == f"LocalUpload/{one.content_hash}/train.py"
    assert download(tmp_path / "store", result.path, tmp_path / "out") == [tmp_path / "out" / "train.py"]
    assert (tmp_path / "out" / "train.py").read_bytes() == FILES["train.py"]


def test_empty_snapshot_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValidationError, match="nothing to upload"):
        upload_snapshot(take_snapshot(tmp_path / "empty"), tmp_path / "store")


def test_folder_download_round_trip(snap, tmp_path):
    result = upload_snapshot(snap, tmp_path / "store")
    written = download(tmp_path / "store", result.path, tmp_path / "out")
    assert len(written) == 5
    assert tree(tmp_path / "out") == expected(snap)


def test_download_over_a_folder_or_file_in_the_way_is_refused_before_writing(snap, tmp_path):
    result = upload_snapshot(snap, tmp_path / "store")
    (tmp_path / "out" / "train.py").mkdir(parents=True)  # where the file goes
    with pytest.raises(ValidationError, match="train.py is a folder already"):
        download(tmp_path / "store", result.path, tmp_path / "out")
    assert tree(tmp_path / "out") == {}  # nothing written (it was copied into the folder)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValidationError, match="it is a file"):
        download(tmp_path / "store", result.path, tmp_path / "file")


@pytest.mark.parametrize("remote", ["../secrets", "LocalUpload/../../etc", "a/./b", "/"])
def test_download_refuses_paths_leaving_the_datastore(tmp_path, remote):
    with pytest.raises(ValidationError, match="no '..'"):
        download(tmp_path / "store", remote, tmp_path / "out")


def test_download_refuses_symlinks(tmp_path):
    store = tmp_path / "store"
    (store / "out").mkdir(parents=True)
    os.symlink("/etc/hostname", store / "out" / "host")
    with pytest.raises(ValidationError, match="refusing to follow a symlink"):
        download(store, "out", tmp_path / "dest")

    (store / "ok").mkdir()
    (store / "ok" / "sub").mkdir()
    (store / "ok" / "sub" / "f.txt").write_text("x")
    dest = tmp_path / "dest2"
    dest.mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", dest / "sub")  # the target folder itself leads out
    with pytest.raises(ValidationError, match="leads outside"):
        download(store, "ok", dest)
    assert os.listdir(tmp_path / "elsewhere") == []


def test_progress_bar_only_when_asked_or_on_a_terminal(snap, tmp_path, capsys):
    upload_snapshot(snap, tmp_path / "a")  # stderr is captured: not a terminal
    assert capsys.readouterr().err == ""
    upload_snapshot(snap, tmp_path / "b", show_progress=True)
    assert "Uploading src" in capsys.readouterr().err
