"""Snapshots: ignore rules as azure-ai-ml applies them, refused paths, and the 202208 content hash.

The pinned hashes were computed by azure-ai-ml 1.35.2 (`get_content_hash`, with `get_ignore_file` or
`ComponentIgnoreFile`, and its additional-includes copy for nested ignore files) on the same folders.
"""
from __future__ import annotations

import os

import pytest

from azureml_v2 import ValidationError
from azureml_v2._artifacts.snapshot import COMPONENT_IGNORES, take_snapshot

PINNED = {
    "train.py": b"print('hello')\n",
    "data/a.csv": b"x,y\n1,2\n",
    "Data/B.txt": b"upper\n",
    "empty.txt": b"",
    "utf8/\u00e9t\u00e9.txt": "h\u00e9llo".encode(),
    ".amlignore": b"*.log\n!keep.log\nnode_modules/\n",
    ".gitignore": b"*.py\n",
    "run.log": b"ignored\n",
    "keep.log": b"kept\n",
    "node_modules/pkg/index.js": b"ignored\n",
    "big.bin": bytes(range(256)) * 5000,
}
PINNED_HASH = "9951c3744c5d4a60e1cbbbffe3496f0ffa2ea301010056052129011c5eb171a4"
PINNED_FILE_HASH = "5554367b66d94f315f904ced7ae03cbf2851377d60db506cd008cc2b6f3aac00"  # train.py alone
WITH_PYCACHE_HASH = "d5bc1b5d58b9e4dd490a29170690428aa3e525989fa09404a9d7a3e371f176b0"

NESTED = {
    ".gitignore": b"*.log\n",
    "a.txt": b"a\n",
    "a.log": b"l\n",
    "sub/.amlignore": b"secret.txt\n/only_here.txt\n",
    "sub/.gitignore": b"*\n",
    "sub/secret.txt": b"s\n",
    "sub/only_here.txt": b"o\n",
    "sub/keep.txt": b"k\n",
    "sub/deeper/only_here.txt": b"o2\n",
    "sub/deeper/.gitignore": b"!x.log\nsecret.txt\n",
    "sub/deeper/x.log": b"x\n",
    "sub/deeper/secret.txt": b"s\n",
    "sub/deeper/fine.txt": b"f\n",
}
NESTED_HASH = "e2a89f5b907e228ce68d40fee72a8d745b7023882c5247e7509f96e11d6c033f"


def make(root, files: dict[str, bytes | str]):
    for rel, data in files.items():
        path = root.joinpath(*rel.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
    return root


def names(path, **kw) -> list[str]:
    return sorted(f.name for f in take_snapshot(path, **kw).files)


@pytest.fixture
def code(tmp_path):
    root = make(tmp_path / "code", PINNED)
    (root / "empty_dir" / "nested").mkdir(parents=True)
    return root


def test_hash_is_azure_ai_mls_202208_hash(code):
    snap = take_snapshot(code)
    assert snap.content_hash == PINNED_HASH
    assert [f.name for f in snap.files] == [  # hash order: lower-cased relative path
        ".amlignore", ".gitignore", "big.bin", "data/a.csv", "Data/B.txt", "empty.txt", "keep.log",
        "train.py", "utf8/\u00e9t\u00e9.txt"]
    assert snap.total_size == sum(len(PINNED[f.name]) for f in snap.files)


def test_single_file_hash(code):
    snap = take_snapshot(code / "train.py")
    assert (snap.is_file, snap.name, snap.content_hash) == (True, "train.py", PINNED_FILE_HASH)


def test_component_ignores_leave_out_pycache_as_azure_ai_ml_does(code):
    make(code, {"__pycache__/train.cpython-311.pyc": b"cached\n", "utf8/__pycache__/m.pyc": b"c2\n"})
    assert take_snapshot(code).content_hash == WITH_PYCACHE_HASH
    assert take_snapshot(code, ignore=COMPONENT_IGNORES).content_hash == PINNED_HASH


def test_empty_folders_do_not_count(code):
    (code / "more" / "empty").mkdir(parents=True)
    assert take_snapshot(code).content_hash == PINNED_HASH


@pytest.mark.parametrize("change", [
    lambda root: (root / "data" / "a.csv").write_bytes(b"x,y\n1,3\n"),
    lambda root: (root / "data" / "a.csv").rename(root / "data" / "c.csv"),
    lambda root: (root / "empty.txt").unlink(),
])
def test_hash_follows_content_names_and_files(code, change):
    change(code)
    assert take_snapshot(code).content_hash != PINNED_HASH


def test_hash_separates_names_from_content(tmp_path):
    two = make(tmp_path / "two", {"a.txt": "a", "b.txt": "b"})
    one = make(tmp_path / "one", {"a.txt": "ab.txtb"})
    assert take_snapshot(two).content_hash != take_snapshot(one).content_hash


def test_amlignore_wins_over_gitignore(code):
    assert "train.py" in names(code)  # .gitignore says *.py, but .amlignore is there
    (code / ".amlignore").unlink()
    assert "train.py" not in names(code)
    assert {"run.log", "node_modules/pkg/index.js"} <= set(names(code))


def test_negation_re_includes(tmp_path):
    root = make(tmp_path / "c", {".gitignore": "*.log\n!keep.log\nbuild/\n!build/keep.txt\n",
                                 "a.log": "", "keep.log": "", "build/out.o": "", "build/keep.txt": "",
                                 "sub/keep.log": "", "sub/b.log": ""})
    assert names(root) == [".gitignore", "build/keep.txt", "keep.log", "sub/keep.log"]


def test_nested_ignore_files_add_rules_for_their_folder(tmp_path):
    root = make(tmp_path / "nest", NESTED)
    snap = take_snapshot(root, ignore=COMPONENT_IGNORES)
    assert [f.name for f in snap.files] == [
        ".gitignore", "a.txt", "sub/.amlignore", "sub/.gitignore", "sub/deeper/.gitignore",
        "sub/deeper/fine.txt", "sub/deeper/only_here.txt", "sub/keep.txt"]
    assert snap.content_hash == NESTED_HASH


def test_ignored_folder_is_not_entered(tmp_path):
    root = make(tmp_path / "c", {".gitignore": "node_modules/\n", "main.js": "", "node_modules/a/index.js": ""})
    # each of these would be refused if the walk went into node_modules
    (root / "node_modules" / ".bin").mkdir()
    os.symlink("/usr/bin", root / "node_modules" / ".bin" / "escape")
    os.mkfifo(root / "node_modules" / "pipe")
    assert names(root) == [".gitignore", "main.js"]


def test_symlink_inside_is_followed(tmp_path):
    root = make(tmp_path / "c", {"real/f.txt": "hello"})
    os.symlink("real/f.txt", root / "link.txt")
    os.symlink("real", root / "linkdir")
    snap = take_snapshot(root)
    assert [f.name for f in snap.files] == ["link.txt", "linkdir/f.txt", "real/f.txt"]
    assert {f.path for f in snap.files} == {str((root / "real" / "f.txt").resolve())}


@pytest.mark.parametrize("target, message", [
    ("../outside.txt", "symlink points outside the folder"),
    ("/etc", "symlink points outside the folder"),
    ("missing.txt", "broken symlink"),
    (".", "symlink loop"),
])
def test_bad_symlinks_are_refused(tmp_path, target, message):
    (tmp_path / "outside.txt").write_text("secret")
    root = make(tmp_path / "c", {"ok.txt": "ok"})
    os.symlink(target, root / "bad")
    with pytest.raises(ValidationError, match=message):
        take_snapshot(root)


def test_special_file_is_refused_unless_ignored(tmp_path):
    root = make(tmp_path / "c", {"ok.txt": "ok"})
    os.mkfifo(root / "pipe")
    with pytest.raises(ValidationError, match="not a regular file"):
        take_snapshot(root)
    (root / ".amlignore").write_text("pipe\n")
    assert names(root) == [".amlignore", "ok.txt"]


def test_bad_pattern_is_located(tmp_path):
    root = make(tmp_path / "c", {".amlignore": "*.log\n!\n", "ok.txt": "ok"})
    with pytest.raises(ValidationError) as err:
        take_snapshot(root)
    assert str(err.value).startswith(f"{root / '.amlignore'}:2:1: invalid pattern '!'")


def test_missing_path(tmp_path):
    with pytest.raises(ValidationError, match="no such file or folder"):
        take_snapshot(tmp_path / "nope")
