"""Fuzzing every load_* with mutated corpus and seed YAML: the only failure a user may see is
azureml_v2.ValidationError, and each of its problems is located (a line) when the input was text.

CI runs hypothesis' default profile (100 examples per test). The long run registers a profile
in tests/conftest.py and is started with `--hypothesis-profile=long` (see benchmarks/README.md).
"""
from __future__ import annotations

import contextlib
import copy
import re
from pathlib import Path

import yaml
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings, strategies as st

import azureml_v2
from azureml_v2 import ValidationError
from azureml_v2._yaml.document import MAX_DEPTH, OVERRIDE_SOURCE, Document
from conftest import SEED
from support.corpus_kinds import ASSET_KINDS, corpus_files, kind_of

LOADERS = [getattr(azureml_v2, f"load_{kind}") for kind in ("job", "data", "environment", "model", "component",
                                                           "code", "datastore")]
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

ODD_TEXT = st.text(st.characters(categories=("Cc", "Cf", "Zl", "Zp", "Zs", "Mn", "So", "Lo", "Co", "Nd", "Po")),
                   min_size=1, max_size=12)
ODD_VALUES = st.one_of(
    st.sampled_from([None, True, False, 0, -1, 1.5, float("inf"), float("nan"), 10 ** 400, -(10 ** 30), "", " ",
                     "azureml:", "azureml://", "azureml:x:1:2", "azureml://datastores/x", "/subscriptions/x",
                     "file:", "file:missing.yml", "runs:/", "git+", "C:\\x", "../../..", "~", "${{inputs.x}}", [],
                     {}, [[]], [{}], {"type": None}, {"type": []}, {"type": "uniform"}, "x" * 300]),
    ODD_TEXT, st.integers(), st.floats(), st.lists(st.integers(), max_size=3))
SCALAR_TEXT = st.sampled_from(["9" * 5000, "1e999", "-.inf", ".nan", "0b_", "0x_", "._", "1:_", "!!binary AAAA",
                               "!!int x", "!!map [1]", "!!seq {a: 1}", "!!set {a, b}", "!!omap [a: 1]", "!foo x",
                               "!!python/object:os.system x", "*undefined", "&a [*a]", "'unterminated", "{", "[",
                               "|", ">", "? [a]", "{[a]: 1}", "<<: 1", "- x", "\"\\x00\"", "\"\\ud800\""])


# -- seeds ------------------------------------------------------------------------------------------
_SEEDS: dict = {}


def seeds(corpus_root: Path) -> list[tuple[Path, str, dict | None]]:
    """(path, text, data) of every corpus file of a kind we load and of every YAML example in the seed."""
    if corpus_root not in _SEEDS:
        found = [(p, p.read_text(encoding="utf-8")) for p in corpus_files(corpus_root) if kind_of(p) in ASSET_KINDS]
        if SEED.exists():
            folder = corpus_root.parent / "seed"
            folder.mkdir(exist_ok=True)
            blocks = re.findall(r"^```(?:yaml)?\n(.*?)^```", SEED.read_text(encoding="utf-8"), re.S | re.M)
            for i, block in enumerate(blocks):
                if _parsed(block) is not None:
                    found.append((folder / f"example{i}.yml", block))
        _SEEDS[corpus_root] = [(path, text, _parsed(text)) for path, text in found]
    return _SEEDS[corpus_root]


def a_seed(corpus_root: Path, *, with_data: bool = False):
    return st.sampled_from([s for s in seeds(corpus_root) if s[2] is not None or not with_data])


# -- the property -------------------------------------------------------------------------------------
def check_every_loader(source) -> None:
    """Each load_* either returns or raises ValidationError whose problems are located and one line each."""
    is_dict = isinstance(source, dict)
    before = repr(source)
    for load in LOADERS:
        try:
            load(source)
            outcome = "loaded"
        except ValidationError as exc:
            outcome = "ValidationError"
            lines = str(exc).split("\n")
            assert len(lines) == len(exc.problems) and exc.problems, str(exc)
            for problem in exc.problems:
                assert problem.message and len(str(problem)) < 800, str(problem)
                if not is_dict and problem.source != OVERRIDE_SOURCE:
                    assert problem.line is not None and problem.column is not None, f"not located: {problem}"
        if currently_in_test_context():  # counts shown by --hypothesis-show-statistics
            event(f"{load.__name__}: {outcome}")
    assert repr(source) == before, "a load_* changed the caller's dict"


@contextlib.contextmanager
def written(seed_path: Path, text: str | bytes):
    """The text in a file beside its seed, so that its relative paths resolve."""
    path = seed_path.with_name("_fuzz.yml")
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    try:
        yield str(path)
    finally:
        path.unlink()


def load_text(seed_path: Path, text: str | bytes) -> None:
    with written(seed_path, text) as path:
        check_every_loader(path)


# -- mutations of the text ------------------------------------------------------------------------------
def _lines(text: str) -> list[str]:
    return text.split("\n")


@st.composite
def text_mutation(draw, text: str) -> str | bytes:
    lines = _lines(text)
    at = draw(st.integers(0, max(len(lines) - 1, 0)))
    line = lines[at]
    how = draw(st.sampled_from(["drop", "duplicate", "tab", "indent", "dedent", "garbage", "unicode", "truncate",
                                "alias", "scalar", "deep_flow", "deep_block", "swap"]))
    if how == "drop":
        del lines[at]
    elif how == "duplicate":
        lines.insert(at, line)
    elif how == "tab":
        stripped = line.lstrip(" ")
        lines[at] = "\t" * draw(st.integers(1, 2)) + stripped if draw(st.booleans()) else line.replace(": ", ":\t", 1)
    elif how == "indent":
        lines[at] = " " * draw(st.integers(1, 4)) + line
    elif how == "dedent":
        lines[at] = line.lstrip(" ")
    elif how == "garbage":
        raw = text.encode("utf-8")
        cut = draw(st.integers(0, len(raw)))
        return raw[:cut] + draw(st.binary(min_size=1, max_size=64)) + raw[cut:]
    elif how == "unicode":
        cut = draw(st.integers(0, len(line)))
        lines[at] = line[:cut] + draw(ODD_TEXT) + line[cut:]
    elif how == "truncate":
        return text[: draw(st.integers(0, len(text)))]
    elif how == "alias":
        if ":" in line:
            key, _, value = line.partition(":")
            lines[at] = f"{key}: &a{value}" if value.strip() else f"{key}: &a"
            other = draw(st.integers(0, len(lines) - 1))
            if ":" in lines[other] and other != at:
                key, _, _ = lines[other].partition(":")
                lines[other] = f"{key}: *a"
            else:
                lines.insert(at + 1, " " * (len(line) - len(line.lstrip()) + 2) + "<<: *a")
    elif how == "scalar":
        key, sep, _ = line.partition(": ")
        lines[at] = f"{key}: {draw(SCALAR_TEXT)}" if sep else f"{line} {draw(SCALAR_TEXT)}"
    elif how in ("deep_flow", "deep_block"):
        depth = draw(st.integers(50, 1200))
        key, _, _ = line.partition(":")
        indent = " " * (len(key) - len(key.lstrip()))
        if how == "deep_flow":
            lines[at] = f"{key}: " + "[" * depth + "]" * depth
        else:
            lines[at:at + 1] = [f"{key}:"] + [indent + "  " * (i + 1) + f"k{i}:" for i in range(min(depth, 300))]
    else:  # swap two lines: keys land under the wrong parent
        other = draw(st.integers(0, len(lines) - 1))
        lines[at], lines[other] = lines[other], lines[at]
    return "\n".join(lines)


# -- mutations of the data -------------------------------------------------------------------------------
def _places(data, path=()):
    """(container, key) for every key and item, depth first."""
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in list(items):
        yield data, key
        yield from _places(value, path + (key,))


def _typo(word: str, draw) -> str:
    if not word:
        return "x"
    i = draw(st.integers(0, len(word) - 1))
    return draw(st.sampled_from([word[:i] + word[i + 1:], word[:i] + "x" + word[i:], word.upper(),
                                 word[:i] + word[i + 1:i + 2] + word[i:i + 1] + word[i + 2:], word + "s"]))


@st.composite
def data_mutation(draw, data: dict) -> dict:
    data = copy.deepcopy(data)
    for _ in range(draw(st.integers(1, 3))):
        places = list(_places(data))
        if not places:
            break
        container, key = draw(st.sampled_from(places))
        how = draw(st.sampled_from(["drop", "retype", "rename", "wrap_list", "wrap_map", "lift", "deep"]))
        if how == "drop":
            del container[key]
        elif how == "retype":
            container[key] = copy.deepcopy(draw(ODD_VALUES))  # later mutations must not change the constants
        elif how == "rename" and isinstance(container, dict):
            new = draw(st.one_of(st.just(_typo(str(key), draw)), ODD_TEXT, st.integers(), st.none()))
            container[new] = container.pop(key)
        elif how == "wrap_list":
            container[key] = [container[key]]
        elif how == "wrap_map":
            container[key] = {draw(st.sampled_from(["type", "value", str(key)])): container[key]}
        elif how == "lift" and isinstance(container, dict) and container is not data:
            data[key] = container.pop(key)
        elif how == "deep":
            value = container[key]
            for _ in range(draw(st.integers(20, 250))):
                value = [value] if draw(st.booleans()) else {"a": value}
            container[key] = value
    return data


def _parsed(text: str):
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


# -- the tests -------------------------------------------------------------------------------------------------
@FUZZ
@given(st.data())
def test_mutated_text(corpus_root, data):
    path, text, _ = data.draw(a_seed(corpus_root), label="seed")
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        if isinstance(text, bytes):
            break
        text = data.draw(text_mutation(text), label="text")
    load_text(path, text)


@FUZZ
@given(st.data())
def test_mutated_data(corpus_root, data):
    """Mutated data, given as a dict or written back as YAML."""
    path, _, parsed = data.draw(a_seed(corpus_root, with_data=True), label="seed")
    mutated = data.draw(data_mutation(parsed), label="data")
    if data.draw(st.booleans(), label="as a dict"):
        check_every_loader(mutated)
    else:
        load_text(path, yaml.safe_dump(mutated, sort_keys=False, allow_unicode=data.draw(st.booleans())))


@FUZZ
@given(st.data())
def test_params_override(corpus_root, data):
    path, text, parsed = data.draw(a_seed(corpus_root, with_data=True), label="seed")
    dotted = [".".join(str(k) for k in p) for p in _dotted_paths(parsed)] + ["resources.instance_count", "x.y"]
    override = data.draw(st.lists(st.dictionaries(st.sampled_from(dotted), ODD_VALUES, min_size=1, max_size=2),
                                  max_size=3), label="params_override")
    with written(path, text) as source:
        for load in LOADERS:
            try:
                load(source, params_override=override)
            except ValidationError as exc:
                for problem in exc.problems:
                    assert problem.line is not None or problem.source == OVERRIDE_SOURCE, f"not located: {problem}"


def _dotted_paths(data, path=()):
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str) and "." not in key and key:
                yield path + (key,)
                yield from _dotted_paths(value, path + (key,))


@FUZZ
@given(st.binary(max_size=512))
def test_binary_garbage(tmp_path_factory, raw):
    path = tmp_path_factory.getbasetemp() / "garbage.yml"
    path.write_bytes(raw)
    check_every_loader(str(path))


class _PyYAML(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """PyYAML's own construction over the same C parser, with the one difference we make on purpose
    (dates stay text)."""


_PyYAML.add_constructor("tag:yaml.org,2002:timestamp", _PyYAML.construct_yaml_str)


@FUZZ
@given(st.data())
def test_parser_builds_what_pyyaml_builds(corpus_root, data):
    """Our direct construction (marks, fast paths) gives PyYAML's data wherever PyYAML gives any."""
    _, text, _ = data.draw(a_seed(corpus_root), label="seed")
    for _ in range(data.draw(st.integers(0, 2), label="mutations")):
        mutated = data.draw(text_mutation(text), label="text")
        text = mutated if isinstance(mutated, str) else text
    try:
        expected = yaml.load(text, Loader=_PyYAML)
    except Exception:  # PyYAML refuses it (or crashes): the other tests check what we say
        return
    try:
        found = Document.parse(text, "x.yml").data
    except ValidationError as exc:  # what we refuse on purpose
        assert f"nested more than {MAX_DEPTH} levels deep" in str(exc) or "recursive anchors" in str(exc), str(exc)
        return
    assert repr(found) == repr(expected)


def test_the_seeds_themselves(corpus_root):
    """Unmutated seeds: loaded by their own load_* or refused with located problems."""
    assert len(seeds(corpus_root)) > 50
    for path, text, _ in seeds(corpus_root):
        load_text(path, text)
