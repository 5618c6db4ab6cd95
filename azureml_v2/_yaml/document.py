"""Parse YAML into plain data while remembering where every key and item stood.

The C parser does the scanning; construction stays in Python (as in PyYAML's own
CSafeLoader), so recording a mark per key costs little and spares a second parse when
an error has to be located.
"""
from __future__ import annotations

import os
from collections.abc import Hashable

import yaml

from ..exceptions import Problem, ValidationError

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Mark = tuple  # (line, column), both 1-based


class _MarkingLoader(_BaseLoader):
    def __init__(self, stream):
        super().__init__(stream)
        self.marks: dict[int, tuple[Mark, dict]] = {}
        self.problems: list[tuple[Mark, str]] = []


def _mark(node) -> Mark:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _construct_map(loader: _MarkingLoader, node):
    data: dict = {}
    yield data
    loader.flatten_mapping(node)  # resolves `<<:` merge keys
    keys: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, Hashable):
            loader.problems.append((_mark(key_node), "a mapping key must be a plain value"))
            continue
        if key in keys and key_node.tag != "tag:yaml.org,2002:merge":
            loader.problems.append((_mark(key_node), f"duplicate key {key!r} (first at line {keys[key][0]})"))
        keys[key] = _mark(key_node)
        data[key] = loader.construct_object(value_node, deep=True)
    loader.marks[id(data)] = (_mark(node), keys)


def _construct_seq(loader: _MarkingLoader, node):
    data: list = []
    yield data
    data.extend(loader.construct_object(child, deep=True) for child in node.value)
    loader.marks[id(data)] = (_mark(node), {i: _mark(child) for i, child in enumerate(node.value)})


_MarkingLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_MarkingLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
# timestamps stay strings: YAML 1.1 would turn `version: 2021-10-01` into a date
_MarkingLoader.add_constructor("tag:yaml.org,2002:timestamp", _MarkingLoader.construct_yaml_str)


class Document:
    """Parsed input: the data, where it came from, and where each part of it stood."""

    __slots__ = ("data", "root", "source", "base_dir", "marks", "aliases")

    def __init__(self, data, source: str | None = None, base_dir: str | None = None, marks: dict | None = None):
        self.data = data
        self.root = data  # as written: locations are looked up here, even after normalising
        self.source = source
        self.base_dir = base_dir or os.getcwd()
        self.marks = marks if marks is not None else {}
        self.aliases: dict[tuple, tuple] = {}  # normalised path prefix -> path as written

    @classmethod
    def parse(cls, text: str | bytes, source: str | None = None, base_dir: str | None = None) -> "Document":
        loader = _MarkingLoader(text)
        try:
            data = loader.get_single_data()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            what = " ".join(p for p in (exc.context, exc.problem) if p)
            raise ValidationError([Problem(f"YAML syntax: {what}", "", source,
                                           mark.line + 1 if mark else None, mark.column + 1 if mark else None)])
        except yaml.YAMLError as exc:  # reader errors: bytes that are not text
            raise ValidationError([Problem(f"not readable as YAML text: {exc}", "", source)])
        except RecursionError:
            raise ValidationError([Problem("YAML nested too deeply", "", source)])
        finally:
            loader.dispose()
        if loader.problems:
            raise ValidationError([Problem(msg, "", source, *mark) for mark, msg in loader.problems])
        return cls(data, source, base_dir, loader.marks)

    # -- locations -------------------------------------------------------------------------
    def locate(self, path: tuple) -> Mark | None:
        """Line and column of the deepest part of `path` that was written in the source."""
        for prefix, original in self.aliases.items():
            if path[: len(prefix)] == prefix:
                path = original + path[len(prefix):]
                break
        node, found = self.root, None
        entry = self.marks.get(id(node))
        if entry:
            found = entry[0]
        for part in path:
            entry = self.marks.get(id(node))
            if entry is None or part not in entry[1]:
                break
            found = entry[1][part]
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                break
        return found

    def problem(self, path: tuple, message: str) -> Problem:
        mark = self.locate(path)
        return Problem(message, format_path(path), self.source, *(mark or (None, None)))

    def error(self, items: list[tuple[tuple, str]]) -> ValidationError:
        problems = [self.problem(p, m) for p, m in items]
        problems.sort(key=lambda p: (p.line or 0, p.column or 0, p.path))
        return ValidationError(problems)


def format_path(path: tuple) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def read(source, *, params_override=None) -> Document:
    """A path, a text stream or a dict -> Document (overrides applied)."""
    if isinstance(source, dict):
        doc = Document(source, None, os.getcwd())
    elif hasattr(source, "read"):
        name = getattr(source, "name", None)
        name = name if isinstance(name, str) else None
        base = os.path.dirname(os.path.abspath(name)) if name and os.path.exists(name) else os.getcwd()
        doc = Document.parse(source.read(), name or "<stream>", base)
    else:
        path = os.fspath(source)
        try:
            with open(path, "rb") as fh:
                raw = fh.read()
        except OSError as exc:
            raise ValidationError([Problem(f"cannot read file: {exc.strerror}", "", path)])
        doc = Document.parse(raw, path, os.path.dirname(os.path.abspath(path)))
    if doc.data is None:
        raise ValidationError([Problem("the document is empty", "", doc.source)])
    if not isinstance(doc.data, dict):
        raise doc.error([((), f"expected a mapping of fields at the top level, got {type_name(doc.data)}")])
    for override in params_override or ():
        for dotted, value in override.items():
            apply_override(doc.data, dotted, value)
    return doc


def apply_override(data: dict, dotted: str, value) -> None:
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


def type_name(value) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number", type(None): "nothing (null)"}.get(type(value), type(value).__name__)
