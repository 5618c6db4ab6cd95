"""Parse YAML into plain data while remembering where every key and item stood.

The C parser scans and composes nodes; the data is built here, straight from the nodes,
noting the line and column of every key and item on the way: a located error then needs
no second parse, and a load costs less than with PyYAML's generic construction.
"""
from __future__ import annotations

import codecs
import copy
import os
import re

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, ScalarNode

from ..exceptions import Problem, ValidationError

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Mark = tuple  # (line, column), both 1-based
MAX_DEPTH = 100  # far beyond any Azure ML file; keeps construction and schemas clear of RecursionError
# Aliases share one object when loaded, but every copy is written out again in a REST body, a dump or an error
# message: a 1 KB "billion laughs" file would become gigabytes there. A file may use this many aliases, and they
# may add this many characters (each value counted as its text plus one) to what is written.
MAX_ALIASES = 10_000
MAX_ALIAS_GROWTH = 1_000_000
OVERRIDE_SOURCE = "<params_override>"
# what YAML 1.1 admits in a stream (tab, line breaks, printable Unicode)
_NOT_YAML_TEXT = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_MERGE, _VALUE = "tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"
# the plain words YAML 1.1 reads as booleans or null (`y`/`n` are strings in PyYAML)
_RESERVED_WORDS = frozenset("yes Yes YES no No NO true True TRUE false False FALSE on On ON off Off OFF "
                            "null Null NULL".split())


def _mark(node) -> Mark:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _MarkingLoader(_BaseLoader):
    """Builds plain data from the parser's nodes, noting a mark per key and item.

    Mappings, lists and strings are built directly (PyYAML's generic construct_object costs
    more than the rest of a load); other tags go through PyYAML's constructors.
    """

    def __init__(self, stream):
        super().__init__(stream)
        self.marks: dict[int, tuple[Mark, dict]] = {}
        self.problems: list[tuple[object, object, Mark, str]] = []  # (container, key, mark, message)
        self.built: dict = {}  # node -> its data, so that aliases share it
        self.building: set = set()  # collections under construction: an alias to one is recursive
        self.own_pairs: dict[int, int] = {}  # mapping node -> pairs written in it (not merged in)

    def build(self, node):
        tag = node.tag
        if tag == _STR and node.__class__ is ScalarNode:
            return node.value
        if node.__class__ is ScalarNode:
            return self.yaml_constructors.get(tag, _BaseLoader.construct_undefined)(self, node)
        data = self.built.get(node, self)
        if data is not self:
            return data
        if tag not in (_MAP, _SEQ):  # !!set, !!omap, !!pairs ... (their items come back here)
            return self.construct_object(node, deep=True)
        if node in self.building:
            raise ConstructorError(None, None, "found unconstructable recursive node", node.start_mark)
        if (node.__class__ is MappingNode) != (tag == _MAP):
            raise ConstructorError(None, None, f"!!{tag.rsplit(':', 1)[-1]} cannot tag a {node.id}", node.start_mark)
        if len(self.building) >= MAX_DEPTH:
            raise ConstructorError(None, None, f"nested more than {MAX_DEPTH} levels deep", node.start_mark)
        self.building.add(node)
        data = self._mapping(node) if tag == _MAP else self._sequence(node)
        self.building.discard(node)
        self.built[node] = data
        return data

    def _mapping(self, node) -> dict:
        if any(key.tag in (_MERGE, _VALUE) for key, _ in node.value):
            self.flatten_mapping(node)  # resolves `<<:` merge keys
        merged = len(node.value) - self.own_pairs.get(id(node), len(node.value))
        data: dict = {}
        keys: dict = {}
        own: dict = {}
        for index, (key_node, value_node) in enumerate(node.value):
            mark = _mark(key_node)
            if key_node.__class__ is not ScalarNode:
                self.problems.append((data, None, mark, f"a mapping key must be a plain value, not a {key_node.id}"))
                continue
            key = self.build(key_node)
            if index >= merged:  # keys merged in from an anchor may be overridden; written ones not twice
                if key in own:
                    self.problems.append((data, key, mark, f"duplicate key (first at line {own[key][0]})"))
                own[key] = mark
            keys[key] = mark
            data[key] = self.build(value_node)
        self.marks[id(data)] = (_mark(node), keys)
        return data

    def _sequence(self, node) -> list:
        data = [self.build(child) for child in node.value]
        self.marks[id(data)] = (_mark(node), {i: _mark(child) for i, child in enumerate(node.value)})
        return data

    def resolve(self, kind, value, implicit):
        # most scalars are words, which PyYAML's patterns all pass over: the same answer, sooner
        if kind is ScalarNode and (not implicit[0] or value[:1].isalpha() and value not in _RESERVED_WORDS):
            return _STR
        return super().resolve(kind, value, implicit)

    def flatten_mapping(self, node):
        # PyYAML puts merged (`<<:`) pairs first; remember how many were the node's own
        self.own_pairs.setdefault(id(node), sum(1 for key, _ in node.value if key.tag != _MERGE))
        super().flatten_mapping(node)


def _or_text(construct):
    """A scalar the resolver took for a number or boolean but that does not convert (`0b_`, a
    5,000-digit integer, `!!bool maybe`) stays the text it was written as."""
    def constructor(loader, node):
        try:
            return construct(loader, node)
        except (ValueError, KeyError):
            return loader.construct_scalar(node)
    return constructor


# collections inside the tags PyYAML builds (a list in an !!omap) come back to `build`
_MarkingLoader.add_constructor(_MAP, _MarkingLoader.build)
_MarkingLoader.add_constructor(_SEQ, _MarkingLoader.build)
for _tag, _construct in (("int", _BaseLoader.construct_yaml_int), ("float", _BaseLoader.construct_yaml_float),
                         ("bool", _BaseLoader.construct_yaml_bool)):
    _MarkingLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _or_text(_construct))
# timestamps stay strings: YAML 1.1 would turn `version: 2021-10-01` into a date
_MarkingLoader.add_constructor("tag:yaml.org,2002:timestamp", _MarkingLoader.construct_yaml_str)


def _children(node) -> list:
    if node.__class__ is MappingNode:
        return [part for pair in node.value for part in pair]
    return node.value if node.__class__ is not ScalarNode else []


def _check_aliases(root, written: int) -> None:
    """Raise a located ConstructorError when aliases repeat more than MAX_ALIASES nodes or make the expanded
    document more than MAX_ALIAS_GROWTH characters larger than the `written` text (iterative: no deep recursion)."""
    sizes: dict[int, int] = {}  # node -> its expanded size
    seen: set[int] = set()
    aliases = 0
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            size = 1 + sum(sizes.get(id(child), 1) for child in _children(node))
            sizes[id(node)] = size
            if size > written + MAX_ALIAS_GROWTH:
                raise ConstructorError(None, None, f"aliases expand this value to more than {MAX_ALIAS_GROWTH:,} "
                                       "characters beyond the file's size", node.start_mark)
            continue
        if id(node) in seen:  # a second way to the same node: an alias
            aliases += 1
            if aliases > MAX_ALIASES:
                raise ConstructorError(None, None, f"more than {MAX_ALIASES:,} aliases", node.start_mark)
            continue
        seen.add(id(node))
        if node.__class__ is ScalarNode:
            sizes[id(node)] = len(node.value) + 1
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node))


def alias_problem(text: str) -> str | None:
    """What is wrong with the aliases of YAML `text` ("line L, column C: ..."), None when nothing is, or when it is
    no YAML at all: for text that is YAML or something else (a conda file or pip requirements), before any
    other parser expands it."""
    loader = _BaseLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_aliases(node, len(text))
    except ConstructorError as exc:
        mark = exc.problem_mark
        return f"line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()
    return None


def _decode(raw: bytes, source: str | None) -> str:
    encoding = next((name for bom, name in _BOMS if raw.startswith(bom)), "utf-8-sig")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        before = raw[:exc.start].decode(encoding, errors="replace")
        line, column = _position(before, len(before))
        raise ValidationError([Problem(f"not {encoding.removesuffix('-sig').upper()} text: byte "
                                       f"0x{raw[exc.start]:02x} cannot be decoded (save the file as UTF-8)",
                                       "", source, line, column)]) from None


def _position(text: str, index: int) -> Mark:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _check_characters(text: str, source: str | None) -> None:
    bad = _NOT_YAML_TEXT.search(text)
    if bad is None:
        return
    more = len(_NOT_YAML_TEXT.findall(text, bad.start() + 1))
    what = "control character" if ord(bad.group()) < 0x20 or 0x7f <= ord(bad.group()) < 0xa0 else "character"
    message = f"{what} U+{ord(bad.group()):04X} is not allowed in YAML text" + (
        f" ({more} more in the file)" if more else "")
    raise ValidationError([Problem(message, "", source, *_position(text, bad.start()))])


def _syntax_message(exc: yaml.MarkedYAMLError, text: str) -> str:
    problem = exc.problem or ""
    if isinstance(exc, ConstructorError):
        if problem.startswith("could not determine a constructor for the tag"):
            return "unsupported tag " + problem.rsplit(" ", 1)[-1]
        if problem == "found unconstructable recursive node":
            return "an alias refers to a node that contains it (recursive anchors are not supported)"
        return problem
    mark = exc.problem_mark
    if mark is not None and text[mark.index:mark.index + 1] == "\t" or "tab character" in problem:
        return "YAML syntax: a tab cannot indent or start a value here; indent with spaces"
    if problem == "but found another document":
        return "YAML syntax: a second document (after `---`); a file holds one resource"
    if problem == "mapping values are not allowed in this context" and mark is not None:
        key = text[text.rfind("\n", 0, mark.index) + 1:mark.index].strip().lstrip("- ")
        if len(key) > 1024:  # PyYAML reads a longer plain key as a value
            return f"YAML syntax: a key of {len(key)} characters; a plain key is at most 1024 (no name Azure ML " \
                   "takes is that long)"
    message = f"YAML syntax: {problem}"
    if exc.context:
        where = exc.context_mark
        message += f" ({exc.context}" + (f" at line {where.line + 1})" if where else ")")
    return message


def _container_paths(root) -> dict[int, tuple]:
    """id of every mapping and list under `root` -> its path (first found; aliases share objects)."""
    paths, stack = {}, [(root, ())]
    while stack:
        node, path = stack.pop()
        if id(node) in paths:
            continue
        paths[id(node)] = path
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        stack.extend((value, path + (key,)) for key, value in items if isinstance(value, (dict, list)))
    return paths


class Document:
    """Parsed input: the data, where it came from, and where each part of it stood.

    `problems` holds what was wrong in the text but did not stop parsing (duplicate keys):
    `load_with` reports them with the schema's problems, all at once.
    """

    __slots__ = ("data", "root", "source", "base_dir", "marks", "aliases", "problems", "overridden", "root_mark")

    def __init__(self, data, source: str | None = None, base_dir: str | None = None, marks: dict | None = None):
        self.data = data
        self.root = data  # as written: locations are looked up here, even after normalising
        self.source = source
        self.base_dir = base_dir or os.getcwd()
        self.marks = marks if marks is not None else {}
        self.aliases: dict[tuple, tuple] = {}  # normalised path prefix -> path as written
        self.problems: list[Problem] = []
        self.overridden: list[tuple] = []  # paths set by params_override: they have no place in the text
        self.root_mark: Mark | None = None

    @classmethod
    def parse(cls, text: str | bytes, source: str | None = None, base_dir: str | None = None) -> "Document":
        if isinstance(text, bytes):
            text = _decode(text, source)
        _check_characters(text, source)
        loader = _MarkingLoader(text)
        try:
            node = loader.get_single_node()
            if node is not None:
                _check_aliases(node, len(text))
            data = loader.build(node) if node is not None else None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            raise ValidationError([Problem(_syntax_message(exc, text), "", source,
                                           *((mark.line + 1, mark.column + 1) if mark else (None, None)))]) from None
        finally:
            loader.dispose()
        doc = cls(data, source, base_dir, loader.marks)
        doc.root_mark = _mark(node) if node is not None else (1, 1)
        paths = _container_paths(data) if loader.problems else {}
        for container, key, mark, message in loader.problems:
            path = paths.get(id(container), ()) + (() if key is None else (key,))
            doc.problems.append(Problem(message, format_path(path, data), source, *mark))
        return doc

    # -- locations -------------------------------------------------------------------------
    def _written(self, path: tuple) -> tuple:
        """`path` as the user wrote it: the longest normalised prefix in `aliases` is mapped back."""
        best = None
        for prefix in self.aliases:
            if path[: len(prefix)] == prefix and (best is None or len(prefix) > len(best)):
                best = prefix
        return path if best is None else self.aliases[best] + path[len(best):]

    def locate(self, path: tuple) -> Mark | None:
        """Line and column of the deepest part of `path` that was written in the source."""
        path = self._written(path)
        node, found = self.root, self.root_mark
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
        written = self._written(path)
        # at or below an overridden key, or above one the override created
        if any(written[: len(o)] == o or written and o[: len(written)] == written for o in self.overridden):
            return Problem(message, format_path(path, self.data), OVERRIDE_SOURCE)
        mark = self.locate(path)
        return Problem(message, format_path(path, self.data), self.source, *(mark or (None, None)))

    def error(self, items: list[tuple[tuple, str]]) -> ValidationError:
        """One error with the given (path, message) problems and the text's own, in file order."""
        problems = self.problems + [self.problem(p, m) for p, m in items]
        problems.sort(key=lambda p: (p.line or 0, p.column or 0, p.path))
        return ValidationError.of(problems)


def format_path(path: tuple, data=None) -> str:
    """`a.b[0].c`; given the data, a number is an index only where the data has a list."""
    out, node = "", data
    for part in path:
        in_list = isinstance(node, list) if node is not None else isinstance(part, int) and not isinstance(part, bool)
        out += f"[{part}]" if in_list else f".{part}" if out else str(part)
        node = value_at(node, (part,)) if node is not None else None
    return out


def read(source, *, params_override=None) -> Document:
    """A path, a text stream or a dict -> Document (overrides applied)."""
    if isinstance(source, dict):
        # the caller's dict is never changed: overrides (and later normalising) work on a copy
        doc = Document(copy.deepcopy(source) if params_override else dict(source), None, os.getcwd())
    elif hasattr(source, "read"):
        name = getattr(source, "name", None)
        name = name if isinstance(name, str) else None
        exists = bool(name) and os.path.isfile(name)
        base = os.path.dirname(os.path.abspath(name)) if exists else os.getcwd()
        try:
            text = source.read()
        except UnicodeDecodeError as exc:  # a text stream opened with another encoding than the file's
            if not exists:
                raise ValidationError([Problem(f"not {exc.encoding.upper()} text: byte 0x{exc.object[exc.start]:02x} "
                                               "cannot be decoded", "", name or "<stream>")]) from None
            with open(name, "rb") as fh:  # read again as bytes, to say where
                text = fh.read()
        doc = Document.parse(text, name or "<stream>", base)
    else:
        try:
            path = os.fsdecode(source)
        except TypeError:
            raise ValidationError([Problem(f"expected a path, a text stream or a mapping, got {type_name(source)}",
                                           "", "<input>")]) from None
        try:
            with open(path, "rb") as fh:
                raw = fh.read()
        except OSError as exc:
            raise ValidationError([Problem(f"cannot read file: {exc.strerror}", "", path)]) from None
        doc = Document.parse(raw, path, os.path.dirname(os.path.abspath(path)))
    if doc.data is None:
        raise ValidationError([Problem("the document is empty", "", doc.source, *(doc.root_mark or (None, None)))])
    if not isinstance(doc.data, dict):
        raise doc.error([((), f"expected a mapping of fields at the top level, got {type_name(doc.data)}")])
    if params_override is not None:
        _apply_overrides(doc, params_override)
    return doc


def _apply_overrides(doc: Document, overrides) -> None:
    usage = 'expected a list of {"dotted.key": value} mappings'
    if not isinstance(overrides, (list, tuple)):
        raise ValidationError([Problem(f"{usage}, got {type_name(overrides)}", "", OVERRIDE_SOURCE)])
    for override in overrides:
        if not isinstance(override, dict):
            raise ValidationError([Problem(f"{usage}, got a list of {type_name(override)}", "", OVERRIDE_SOURCE)])
        for dotted, value in override.items():
            if not isinstance(dotted, str) or "" in dotted.split("."):
                raise ValidationError([Problem(f"{dotted!r} is not a dotted key such as resources.instance_count",
                                               "", OVERRIDE_SOURCE)])
            apply_override(doc.data, dotted, copy.deepcopy(value))  # a later override must not change it
            doc.overridden.append(tuple(dotted.split(".")))


def apply_override(data: dict, dotted: str, value) -> None:
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


_TYPE_NAMES = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
               float: "a number", type(None): "nothing (null)", bytes: "binary data", set: "a set"}


def value_at(data, path: tuple, default=None):
    """The part of `data` at `path`, or `default` where the path leads nowhere."""
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return default
    return data


def type_name(value) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)
