"""Mini-batches of a parallel job, as Azure ML's parallel run step makes them, and how many failures a job may have.

- File input (a ``uri_folder``, or an MLTable with ``paths`` and no ``read_*`` transformation): every file under
  the folder, in path order, ``mini_batch_size`` files per mini-batch (default 10); ``run()`` gets a list of paths.
- Tabular input (an MLTable with ``read_delimited``, or a delimited ``uri_file``): the rows of its files, cut into
  mini-batches of about ``mini_batch_size`` bytes (``1024``, ``10kb``, ``1mb``, ``1gb``; default 1 MB) at record
  boundaries; ``run()`` gets a pandas DataFrame. A mini-batch is a list of byte ranges (:class:`Piece`) that the
  worker reads with the file's header line in front.
- Failures: a mini-batch fails when ``run()`` raises, times out or its process dies (tried again up to
  ``max_retries`` times), or returns fewer results than it got items (not tried again). The job fails as soon as
  more mini-batches failed than ``mini_batch_error_threshold``, more items than ``error_threshold``, or a greater
  share of mini-batches than ``--allowed_failed_percent`` (-1 and absent: no limit).

Pure logic: it reads the input's files to cut them, and starts nothing.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_FILES = 10  # files per mini-batch when mini_batch_size is not set
DEFAULT_BYTES = 1024 * 1024  # bytes per mini-batch of tabular input when it is not set
DEFAULT_RETRIES = 3
DEFAULT_TIMEOUT = 60.0  # seconds one run() call may take
_UNITS = {"": 1, "kb": 1024, "mb": 1024 ** 2, "gb": 1024 ** 3}
_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]b)?\s*$", re.IGNORECASE)
# MLTable encodings -> Python codecs
_ENCODINGS = {"utf8": "utf-8", "utf-8": "utf-8", "ascii": "ascii", "latin1": "latin-1", "iso88591": "latin-1",
              "utf16": "utf-16", "utf32": "utf-32", "utf8bom": "utf-8-sig", "windows1252": "cp1252"}
_HEADERS = ("all_files_same_headers", "all_files_different_headers", "from_first_file", "no_header")
_DELIMITED = {".csv": ",", ".tsv": "\t", ".txt": ","}


class InputError(Exception):
    """The input cannot be cut into mini-batches; the message is for the job's user."""


def mini_batch_size(value, tabular: bool) -> int:
    """``mini_batch_size`` (an int, ``"10"``, ``"10kb"``, ``"1mb"``; None: the default) -> files per mini-batch
    for file input, bytes per mini-batch for tabular input."""
    if value is None or value == "":
        return DEFAULT_BYTES if tabular else DEFAULT_FILES
    m = _SIZE.match(str(value)) if not isinstance(value, bool) else None
    if m is None or int(m.group(1)) <= 0:
        raise InputError(f"mini_batch_size {value!r} is not a positive number, optionally with a unit kb, mb or gb "
                         "(e.g. 10, 1024, 10kb, 1mb)")
    return int(m.group(1)) * _UNITS[(m.group(2) or "").lower()]


# -- the input ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Files:
    """File input: run() gets lists of these paths."""

    paths: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """Tabular input: delimited files read as one table."""

    paths: tuple[str, ...]
    delimiter: str = ","
    encoding: str = "utf-8"
    header: str = "all_files_same_headers"  # one of _HEADERS, as MLTable's read_delimited
    multi_line: bool = False  # a quoted value may hold line breaks (support_multi_line)

    def options(self) -> dict:
        """What a worker needs to read a piece."""
        return {"delimiter": self.delimiter, "encoding": self.encoding}


@dataclass(frozen=True)
class Piece:
    """Bytes [start, end) of a delimited file; `header` is the (path, start, end) of its header line, None when the
    table has none (columns Column1, Column2, ... as MLTable names them)."""

    path: str
    start: int
    end: int
    header: tuple[str, int, int] | None


def read_input(path: Path, input_type: str, kind: str | None = None) -> Files | Table:
    """The input of a parallel job: `path` is its local file or folder, `input_type` its jobInputType (uri_folder,
    uri_file, mltable); `kind` ('files' or 'rows') overrides what the type implies."""
    path = Path(path)
    if kind not in (None, "files", "rows"):
        raise InputError(f"input kind {kind!r} is not 'files' or 'rows'")
    if input_type == "mltable":
        found = read_mltable(path)
    elif path.is_dir():
        found = Files(_files_under(path))
    elif input_type == "uri_file" and kind != "files":
        found = Table((str(path),), delimiter=_DELIMITED.get(path.suffix.lower(), ","))
    else:
        found = Files((str(path),))
    if kind == "files" and isinstance(found, Table):
        return Files(found.paths)
    if kind == "rows" and isinstance(found, Files):
        return Table(found.paths, delimiter=_DELIMITED.get(Path(found.paths[0]).suffix.lower(), ",") if found.paths
                     else ",")
    return found


def _files_under(folder: Path) -> tuple[str, ...]:
    return tuple(str(p) for p in sorted(folder.rglob("*")) if p.is_file())


def read_mltable(path: Path) -> Files | Table:
    """An MLTable folder (or its MLTable file): its `paths` (file, folder, pattern) relative to the folder; with a
    read_delimited transformation, a table, else files."""
    import yaml  # import budget: only MLTable inputs need YAML here

    file = path / "MLTable" if path.is_dir() else path
    if not file.is_file():
        raise InputError(f"the mltable input has no MLTable file (looked for {file})")
    try:
        doc = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeError, yaml.YAMLError) as exc:
        raise InputError(f"{file}: not a readable MLTable file: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("paths"), list) or not doc["paths"]:
        raise InputError(f"{file}: an MLTable needs a non-empty list of paths")
    paths = []
    for n, entry in enumerate(doc["paths"]):
        if not isinstance(entry, dict) or len(entry) != 1 or next(iter(entry)) not in ("file", "folder", "pattern"):
            raise InputError(f"{file}: paths[{n}] must be one of file: ..., folder: ... or pattern: ...")
        (how, where), = entry.items()
        paths += _mltable_paths(file.parent, how, str(where), f"{file}: paths[{n}]")
    readers = []
    for n, step in enumerate(doc.get("transformations") or []):
        name, options = (next(iter(step.items())) if isinstance(step, dict) and len(step) == 1 else (step, None))
        if name == "read_delimited":
            readers.append(_delimited(paths, options or {}, f"{file}: transformations[{n}].read_delimited"))
        else:
            raise InputError(f"{file}: transformation {name!r} is not supported by the local workspace (it reads "
                             "paths, as files or with read_delimited)")
    return readers[0] if readers else Files(tuple(paths))


def _mltable_paths(base: Path, how: str, where: str, what: str) -> list[str]:
    if "://" in where:
        raise InputError(f"{what}: {where!r} is remote; the local workspace reads an MLTable's local paths")
    if how == "pattern":
        return [str(p) for p in sorted(base.glob(where.removeprefix("./")))
                if p.is_file()]
    target = (base / where).resolve()
    if how == "file":
        if not target.is_file():
            raise InputError(f"{what}: file {where!r} does not exist (looked in {target})")
        return [str(target)]
    if not target.is_dir():
        raise InputError(f"{what}: folder {where!r} does not exist (looked in {target})")
    return list(_files_under(target))


def _delimited(paths: list[str], options: dict, what: str) -> Table:
    if not isinstance(options, dict):
        raise InputError(f"{what}: expected a mapping of options")
    delimiter = str(options.get("delimiter", ","))
    encoding = _ENCODINGS.get(str(options.get("encoding", "utf8")).lower().replace("-", "").replace("_", ""))
    header = str(options.get("header", "all_files_same_headers"))
    if encoding is None:
        raise InputError(f"{what}.encoding {options.get('encoding')!r} is not one of {', '.join(_ENCODINGS)}")
    if header not in _HEADERS:
        raise InputError(f"{what}.header {header!r} is not one of {', '.join(_HEADERS)}")
    if len(delimiter) != 1:
        raise InputError(f"{what}.delimiter {delimiter!r} must be one character")
    return Table(tuple(paths), delimiter, encoding, header, bool(options.get("support_multi_line", False)))


# -- cutting ------------------------------------------------------------------------------------------------------

def split(data: Files | Table, size: int) -> list[list]:
    """The mini-batches of an input, in order: lists of paths (files) or of :class:`Piece` (tables)."""
    if isinstance(data, Files):
        return [list(data.paths[i:i + size]) for i in range(0, len(data.paths), size)]
    return split_rows(data, size)


def split_rows(table: Table, size: int) -> list[list[Piece]]:
    """Cut a table's records into mini-batches of at least `size` bytes (the last may be smaller); a mini-batch may
    span files. Blank lines are skipped, as pandas does."""
    batches: list[list[Piece]] = []
    pieces: list[Piece] = []
    filled = 0
    shared_header = None
    for n, path in enumerate(table.paths):
        with open(path, "rb") as f:
            start = 0
            header = None
            if table.header in ("all_files_same_headers", "all_files_different_headers") or (
                    table.header == "from_first_file" and n == 0):
                first = _record(f, table.multi_line)
                start = len(first)
                if first.strip():
                    header = (path, 0, len(first.rstrip(b"\r\n")))
                if n == 0:
                    shared_header = header
            if table.header == "from_first_file":
                header = shared_header
            begin = offset = start
            while True:
                record = _record(f, table.multi_line)
                if not record:
                    break
                offset += len(record)
                filled += len(record)
                if filled >= size:
                    pieces.append(Piece(path, begin, offset, header))
                    batches.append(pieces)
                    pieces, filled, begin = [], 0, offset
            if offset > begin:
                pieces.append(Piece(path, begin, offset, header))
    if pieces:
        batches.append(pieces)
    return [b for b in batches if any(p.end > p.start for p in b)]


def _record(f, multi_line: bool) -> bytes:
    """The next record of a delimited file, with its line break; with `multi_line`, lines are joined while a quote
    is open (an odd number of double quotes so far)."""
    line = f.readline()
    if multi_line:
        while line and line.count(b'"') % 2:
            more = f.readline()
            if not more:
                break
            line += more
    return line


# -- failures -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Limits:
    """What failures a job accepts and how mini-batches are tried again; -1 or None: no limit."""

    mini_batch_error_threshold: int = -1
    error_threshold: int = -1
    allowed_failed_percent: float | None = None
    max_retries: int = DEFAULT_RETRIES
    timeout: float = DEFAULT_TIMEOUT

    def retry(self, attempt: int) -> bool:
        """Whether a mini-batch whose `attempt` (0: the first) failed is tried again."""
        return attempt < self.max_retries


@dataclass
class Tally:
    """The count of a job's mini-batches and items, finished so far; `first_error` names the first failure."""

    total: int
    limits: Limits = field(default_factory=Limits)
    succeeded: int = 0
    failed: int = 0
    items: int = 0
    failed_items: int = 0
    results: int = 0
    first_error: str | None = None

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed

    def add(self, index: int, items: int, results: int, error: str | None = None) -> None:
        """Count a finished mini-batch: `items` it got, `results` its run() returned, `error` when it raised (all
        its items failed). Fewer results than items fail the mini-batch and the missing items."""
        self.items += items
        self.results += results
        if error is None and results >= items:
            self.succeeded += 1
            return
        self.failed += 1
        self.failed_items += items if error is not None else items - results
        if self.first_error is None:
            self.first_error = f"mini-batch {index}: " + (error or f"run() returned {results} result(s) for "
                                                                    f"{items} item(s)")

    def exceeded(self) -> str | None:
        """Why the job must stop now, None while its failures are within its limits."""
        limits = self.limits
        if -1 < limits.mini_batch_error_threshold < self.failed:
            return (f"{self.failed} mini-batch(es) failed, more than mini_batch_error_threshold "
                    f"{limits.mini_batch_error_threshold}")
        if -1 < limits.error_threshold < self.failed_items:
            return f"{self.failed_items} item(s) failed, more than error_threshold {limits.error_threshold}"
        percent = limits.allowed_failed_percent
        if percent is not None and self.total and self.failed * 100 / self.total > percent:
            return (f"{self.failed} of {self.total} mini-batches failed, more than --allowed_failed_percent "
                    f"{percent:g}")
        return None

    def summary(self) -> dict:
        return {"mini_batches": self.total, "succeeded": self.succeeded, "failed": self.failed, "items": self.items,
                "failed_items": self.failed_items, "results": self.results}


def run_options(program_arguments: str) -> dict[str, str]:
    """The parallel run step's own ``--name value`` options in `program_arguments` (error_threshold,
    allowed_failed_percent, append_row_dataframe_header, ...); the entry script sees every argument too."""
    try:
        words = shlex.split(program_arguments or "")
    except ValueError as exc:
        raise InputError(f"program_arguments cannot be split into words: {exc}") from None
    options = {}
    for word, value in zip(words, [*words[1:], None]):
        if word.startswith("--") and value is not None and not value.startswith("--"):
            options[word[2:]] = value
    return options
