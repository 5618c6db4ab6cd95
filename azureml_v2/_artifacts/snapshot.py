"""Code snapshots: the files of a folder that `.amlignore`/`.gitignore` keep, and their content hash.

The hash is azure-ai-ml's content hash version 202208, so a folder gets the same identity in both SDKs:
sha256 over the file count, then `#<relative path>#<size>` for every file, then every file's bytes,
files ordered by their lower-cased relative path (a stable sort over the folder walk, as there).
Empty folders do not count. Ignore rules follow azure-ai-ml: the patterns of one file apply to each
file's path relative to that file's folder, the last matching pattern wins (so `!keep` re-includes),
`.amlignore` replaces `.gitignore` in the same folder, and an ignore file in a subfolder adds its
own rules for that subfolder (a file is left out when any of them leaves it out).
"""
from __future__ import annotations

import hashlib
import os
import posixpath
import re
import stat
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

from ..exceptions import Problem, ValidationError

HASH_VERSION = 202208
IGNORE_FILES = (".amlignore", ".gitignore")  # the first found in a folder wins
COMPONENT_IGNORES = ("__pycache__",)  # azure-ai-ml adds these for a component's or job's code
_CHUNK = 1 << 20
_O_RDONLY = os.O_RDONLY | getattr(os, "O_BINARY", 0)
_GLOB_CHARS = frozenset("*?[\\")


class SnapshotFile(NamedTuple):
    """One file of a snapshot: its upload name, where its bytes are, and its size."""

    name: str  # posix path relative to the snapshot root (a single file: its own name)
    path: str  # absolute real path of the content (a symlink resolved)
    size: int


@dataclass(frozen=True, eq=False)
class Snapshot:
    """The files of a folder (or one file) to upload, in hash order."""

    source: Path  # the resolved folder or file
    files: tuple[SnapshotFile, ...]

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def is_file(self) -> bool:
        return not self.source.is_dir()

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)

    @cached_property
    def content_hash(self) -> str:
        """The azure-ai-ml 202208 content hash (hex sha256)."""
        return hash_files(self.files)


def hash_files(files: tuple[SnapshotFile, ...] | list[SnapshotFile]) -> str:
    """sha256 of the count, `#name#size` per file, then the bytes, in the order given."""
    h = hashlib.sha256(str(len(files)).encode())
    try:
        h.update("".join(f"#{f.name}#{f.size}" for f in files).encode())
    except UnicodeEncodeError as exc:
        raise ValidationError(f"file name is not valid UTF-8: {exc.object[:200]!r}") from None
    buf = bytearray(_CHUNK)
    view = memoryview(buf)
    for f in files:
        if f.size < _CHUNK:  # one read, and one more byte tells if the file grew
            fd = os.open(f.path, _O_RDONLY)
            try:
                data = os.read(fd, f.size + 1)
            finally:
                os.close(fd)
            h.update(data)
            read = len(data)
        else:
            read = 0
            with open(f.path, "rb", buffering=0) as fh:
                while n := fh.readinto(buf):
                    h.update(view[:n])
                    read += n
        if read != f.size:
            raise ValidationError(f"{f.path}: file changed while the snapshot was taken; try again")
    return h.hexdigest()


def object_hash(snapshot: Snapshot) -> str:
    """azure-ai-ml's object hash of a folder or file (what it names an inline environment's build context by):
    sha256 seeded with its fixed text, then per folder level, in lower-cased name order, each entry's name and
    either the file's bytes or the sub-folder's entries. Folders that keep no file after the ignore rules do not
    count here (azure-ai-ml still hashes an empty folder's name)."""
    h = hashlib.sha256(b"Initialize for october 2021 AML CLI version")
    if snapshot.is_file:
        _feed(h, snapshot.files[0].path)
        return h.hexdigest()
    tree: dict = {}
    for f in snapshot.files:
        *folders, leaf = f.name.split("/")
        node = tree
        for folder in folders:
            node = node.setdefault(folder, {})
        node[leaf] = f.path

    def walk(node: dict) -> None:
        for name in sorted(node, key=str.lower):
            h.update(name.encode())
            if isinstance(node[name], dict):
                walk(node[name])
            else:
                _feed(h, node[name])

    walk(tree)
    return h.hexdigest()


def _feed(h, path: str) -> None:
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)


def take_snapshot(path: str | os.PathLike, *, ignore: tuple[str, ...] | list[str] = ()) -> Snapshot:
    """Walk `path` (a folder or a file) and return what to upload.

    `ignore` adds patterns after the root ignore file's own (e.g. COMPONENT_IGNORES). Ignored folders
    are not entered. Raises ValidationError for a missing path, a symlink leading outside the folder
    (or in a loop), a broken symlink, a special file or an unreadable ignore file.
    """
    given = Path(path)
    if not given.exists():
        kind = "broken symlink" if given.is_symlink() else "no such file or folder"
        raise ValidationError(f"{given}: {kind}")
    root = given.resolve()
    if root.is_file():
        return Snapshot(root, (SnapshotFile(root.name, str(root), root.stat().st_size),))
    if not root.is_dir():
        raise ValidationError(f"{given}: not a regular file or folder")
    walker = _Walker(str(root), list(ignore))
    walker.walk(str(root), "", "", ())
    files = sorted(walker.files, key=lambda f: f.name.lower())  # stable: ties keep walk order
    return Snapshot(root, tuple(files))


class _Rules:
    """The patterns of one ignore file; `base` is its folder, relative to the snapshot's real root."""

    __slots__ = ("base", "patterns")

    def __init__(self, base: str, lines: list[str], source: str):
        from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern  # import budget: only with ignore files

        self.base = base
        self.patterns: list[tuple] = []  # (regex, include, anchored literal segments or None)
        problems = []
        for number, line in enumerate(lines, 1):
            try:
                pattern = GitIgnoreSpecPattern(line)
            except (ValueError, re.error) as exc:  # GitIgnorePatternError is a ValueError
                problems.append(Problem(f"invalid pattern {line!r}: {exc}", source=source, line=number, column=1))
                continue
            if pattern.include is not None:
                self.patterns.append((pattern.regex, pattern.include, None if pattern.include else _anchor(line)))
        if problems:
            raise ValidationError(problems)

    def excluded(self, rel: str) -> int:
        """-1 if no pattern matches `rel`, else the index of the last match when it excludes, or -2."""
        found = -1
        for i, (regex, include, _) in enumerate(self.patterns):
            if regex.search(rel) is not None:
                found = i if include else -2
        return found

    def prunes(self, rel_dir: str) -> bool:
        """True if every path under folder `rel_dir` is excluded, so the walk may skip it."""
        last = self.excluded(rel_dir + "/")
        if last < 0:
            return False
        # A pattern matching "dir/" also matches everything below it; only a later `!pattern`
        # that can reach below `dir` may re-include something.
        parts = rel_dir.split("/")
        return not any(not include and _may_reach(anchor, parts)
                       for _, include, anchor in self.patterns[last + 1:])


def _anchor(line: str) -> list[str] | None:
    """Literal leading segments of a negation anchored to its folder; None if it may match anywhere."""
    body = line.strip()[1:]
    if "/" not in body.rstrip("/"):
        return None  # no inner slash: gitignore matches it at any depth
    return body.lstrip("/").split("/")


def _may_reach(anchor: list[str] | None, parts: list[str]) -> bool:
    if anchor is None:
        return True
    for seg, part in zip(anchor, parts):
        if _GLOB_CHARS & set(seg) or not seg:
            return True
        if seg != part:
            return False
    return True


class _Walker:
    """Depth-first walk in os.walk's top-down order, pruning ignored folders."""

    def __init__(self, root: str, extra: list[str]):
        self.root = root
        self.extra = extra
        self.files: list[SnapshotFile] = []
        self.visiting: set[str] = set()

    def _rules_of(self, real_dir: str, real_rel: str, inherited: tuple) -> tuple:
        top = real_dir == self.root
        for name in IGNORE_FILES:
            source = os.path.join(real_dir, name)
            try:
                with open(source, encoding="utf-8-sig") as fh:
                    lines = [line.rstrip() for line in fh]
            except FileNotFoundError:
                continue
            except (OSError, UnicodeDecodeError) as exc:
                raise ValidationError(f"{source}: cannot read ignore file: {exc}") from None
            return inherited + (_Rules(real_rel, lines + self.extra if top else lines, source),)
        if top and self.extra:
            return inherited + (_Rules("", list(self.extra), "<ignore>"),)
        return inherited

    def walk(self, real_dir: str, rel: str, real_rel: str, inherited: tuple) -> None:
        self.visiting.add(real_dir)
        rules = self._rules_of(real_dir, real_rel, inherited)
        subdirs = []
        try:
            entries = list(os.scandir(real_dir))
        except OSError as exc:
            raise ValidationError(f"{real_dir}: cannot list folder: {exc.strerror}") from None
        for entry in entries:
            name_rel = rel + entry.name
            match_rel = real_rel + entry.name  # rules see a file where it really is, as azure-ai-ml
            real = entry.path
            if entry.is_symlink():
                real = os.path.realpath(entry.path)
                if not inside(real, self.root):
                    raise ValidationError(f"{entry.path}: symlink points outside the folder ({real})")
                if not os.path.exists(real):
                    raise ValidationError(f"{entry.path}: broken symlink")
                is_dir = os.path.isdir(real)
            else:
                is_dir = entry.is_dir(follow_symlinks=False)
            if is_dir:
                if rules and any(r.prunes(_relative(match_rel, r.base)) for r in rules):
                    continue
                if real in self.visiting:
                    raise ValidationError(f"{entry.path}: symlink loop (leads back to {real})")
                real_rel_dir = os.path.relpath(real, self.root).replace(os.sep, "/")
                subdirs.append((real, name_rel + "/", "" if real_rel_dir == "." else real_rel_dir + "/"))
                continue
            if rules and any(r.excluded(_relative(match_rel, r.base)) >= 0 for r in rules):
                continue
            st = os.stat(real)
            if not stat.S_ISREG(st.st_mode):
                raise ValidationError(f"{entry.path}: not a regular file (ignore it in .amlignore)")
            self.files.append(SnapshotFile(name_rel, real, st.st_size))
        for real, name_rel, real_rel_dir in subdirs:
            self.walk(real, name_rel, real_rel_dir, rules)
        self.visiting.discard(real_dir)


def inside(path: str, folder: str) -> bool:
    """True if real path `path` is `folder` or below it."""
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # another drive
        return False


def _relative(rel: str, base: str) -> str:
    if not base:
        return rel
    return rel[len(base):] if rel.startswith(base) else posixpath.relpath(rel, base)
