"""The package's imports, read with `ast`: no cycles, no arrow against the layers, no unexplained lazy import.

Layers, lowest first (a module may import its own layer and those below it):

    contract   _contract, exceptions                         (the standard library only)
    model      entities, _yaml, _builders, dsl, sweep, constants, _trials, _steps, _plot, _firings, _artifacts
    client     the package root, _client, _http, operations, _backends
    aio        aio (the async client, over the client layer)
    cli        cli

azureml_v2.local is apart: local.api -> local.core -> local.storage, local.executors -> local.core; the
package root of local is its facade. It may use the contract and model layers; only _client, _backends and
cli import it, and nothing imports cli. An import inside a function is an edge like any other (for cycles
and layers) and needs a comment on its line or the line above saying why it is lazy: `import budget` (keeps
an import light, see test_import_light) or `optional extra` (a dependency installed with an extra).
`importlib.import_module` by name (the lazy exports, `_yaml.api`'s schema table) is not followed.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import azureml_v2

ROOT = Path(azureml_v2.__file__).resolve().parent
PACKAGE = "azureml_v2"
REASON = re.compile(r"#.*(import(-time)? budget|optional extra)", re.IGNORECASE)

LAYERS = {  # first matching prefix wins
    "azureml_v2._contract": ("contract", 0),
    "azureml_v2.exceptions": ("contract", 0),
    "azureml_v2.entities": ("model", 1),
    "azureml_v2._yaml": ("model", 1),
    "azureml_v2._builders": ("model", 1),
    "azureml_v2.dsl": ("model", 1),
    "azureml_v2.sweep": ("model", 1),
    "azureml_v2.constants": ("model", 1),
    "azureml_v2._trials": ("model", 1),
    "azureml_v2._steps": ("model", 1),
    "azureml_v2._plot": ("model", 1),
    "azureml_v2._firings": ("model", 1),
    "azureml_v2._artifacts": ("model", 1),
    "azureml_v2._http": ("client", 2),
    "azureml_v2._client": ("client", 2),
    "azureml_v2.operations": ("client", 2),
    "azureml_v2._backends": ("client", 2),
    "azureml_v2.aio": ("aio", 3),
    "azureml_v2.cli": ("cli", 4),
}
LOCAL_LAYERS = {"storage": 0, "core": 1, "api": 2, "executors": 2}
MAY_IMPORT_LOCAL = ("azureml_v2._client", "azureml_v2._backends", "azureml_v2.cli", "azureml_v2.local")
# A job process serves its command the MLflow tracking API: the one arrow from an executor to the API layer.
SERVES_API = {("azureml_v2.local.executors.command", "azureml_v2.local.api.mlflow")}

# Violations in code that is being reorganised (local/, operations/, _client): listed, never hidden. An entry that
# no longer occurs fails test_known_violations_still_occur, so this list only shrinks.
KNOWN: set[str] = set()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES.get(name, Path()).name == "__init__.py"


def _resolve(module: str, node: ast.ImportFrom | ast.Import) -> list[str]:
    """The package modules an import statement loads (its own target, and submodules named in `from x import y`)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.split(".")[0] == PACKAGE]
    if node.level:
        base = module.split(".")
        if not _is_package(module):
            base = base[:-1]
        base = base[:len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target.split(".")[0] != PACKAGE:
        return []
    found = [f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in MODULES]
    if not found or node.module:
        found.insert(0, target)
    return found


def _type_checking_block(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"
        or isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(module: str, path: Path):
    """(target, line, inside a function, explained) for each intra-package import of `module`."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()

    def visit(node: ast.AST, in_function: bool):
        for child in ast.iter_child_nodes(node):
            if _type_checking_block(child):
                continue  # annotations only: never imported at run time
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                here = lines[child.lineno - 1]
                above = lines[child.lineno - 2] if child.lineno > 1 else ""
                explained = bool(REASON.search(here) or REASON.search(above))
                for target in _resolve(module, child):
                    yield target, child.lineno, in_function, explained
            yield from visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                       ast.Lambda)))

    yield from visit(ast.parse(text, str(path)), False)


EDGES = {module: list(_imports(module, path)) for module, path in MODULES.items()}


def _layer(module: str):
    for prefix, layer in LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            return layer
    if module == PACKAGE:
        return ("client", 2)  # the root's lazy exports reach up to MLClient
    return None


def _local_layer(module: str):
    parts = module.split(".")
    if len(parts) == 2:
        return ("local", 3)  # local/__init__: the facade
    if len(parts) > 3 or parts[2] in LOCAL_LAYERS:
        return (parts[2], LOCAL_LAYERS.get(parts[2]))
    return ("local (not in a sub-package)", None)


def _is_local(module: str) -> bool:
    return module == "azureml_v2.local" or module.startswith("azureml_v2.local.")


def _arrow_problem(source: str, target: str) -> str | None:
    if target.startswith("azureml_v2.cli") and not source.startswith("azureml_v2.cli"):
        return "nothing imports cli"
    if _is_local(target) and not source.startswith(MAY_IMPORT_LOCAL):
        return "only _client, _backends and cli import azureml_v2.local"
    if (source, target) in SERVES_API:
        return None
    if _is_local(source) and _is_local(target):
        (s_name, s_rank), (t_name, t_rank) = _local_layer(source), _local_layer(target)
        if s_rank is None or t_rank is None:
            return "local's modules belong in api, core, storage or executors"
        if t_rank > s_rank or (t_rank == s_rank and s_name != t_name):
            return f"local.{s_name} may not import local.{t_name}"
        return None
    if _is_local(source):
        layer = _layer(target)
        if layer is None or layer[1] > 1:
            return f"local may use the contract and model layers only, not {layer[0] if layer else target}"
        return None
    if _is_local(target):
        return None
    s_layer, t_layer = _layer(source), _layer(target)
    if s_layer is None or t_layer is None:
        return f"no layer for {source if s_layer is None else target}"
    if t_layer[1] > s_layer[1]:
        return f"{s_layer[0]} may not import {t_layer[0]}"
    return None


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    graph = {m: sorted({t for t, *_ in EDGES[m] if t in MODULES and t != m}) for m in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def connect(v: str):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in graph:
        if module not in index:
            connect(module)
    return sorted(found)


def _short(module: str) -> str:
    return module.removeprefix(PACKAGE + ".")


def violations() -> set[str]:
    found = set()
    for component in _cycles():
        found.add("cycle: " + " <-> ".join(map(_short, component)))
    for source, edges in EDGES.items():
        for target, _line, in_function, explained in edges:
            if target == source:
                continue
            problem = _arrow_problem(source, target)
            if problem:
                found.add(f"layer: {_short(source)} imports {_short(target)}: {problem}")
            if in_function and not explained:
                found.add(f"lazy import without a reason: {_short(source)} imports {_short(target)} in a function")
    return found


def test_no_cycle_no_arrow_against_the_layers_no_unexplained_lazy_import():
    unexpected = sorted(violations() - KNOWN)
    assert unexpected == [], "\n".join(unexpected)


def test_known_violations_still_occur():
    stale = sorted(KNOWN - violations())
    assert stale == [], "fixed: remove from KNOWN\n" + "\n".join(stale)


def test_the_contract_layer_imports_nothing_from_the_package():
    for module in ("azureml_v2._contract", "azureml_v2.exceptions"):
        assert [t for t, *_ in EDGES[module]] == []


@pytest.mark.parametrize("source, target, problem", [
    ("azureml_v2.entities.job", "azureml_v2.operations.jobs", "model may not import client"),
    ("azureml_v2._contract", "azureml_v2.entities.job", "contract may not import model"),
    ("azureml_v2.operations.jobs", "azureml_v2.cli.main", "nothing imports cli"),
    ("azureml_v2.operations.jobs", "azureml_v2.local.core.jobs", "only _client, _backends and cli import"),
    ("azureml_v2.local.storage.sqlite", "azureml_v2.local.core.jobs", "local.storage may not import local.core"),
    ("azureml_v2.local.core.jobs", "azureml_v2.local.api.arm", "local.core may not import local.api"),
    ("azureml_v2.local.api.arm", "azureml_v2.local.executors.command", "local.api may not import local.executors"),
    ("azureml_v2.local.core.jobs", "azureml_v2.operations.jobs", "local may use the contract and model layers"),
])
def test_the_rules_catch_arrows_against_the_layers(source, target, problem):
    assert problem in (_arrow_problem(source, target) or "")


@pytest.mark.parametrize("source, target", [
    ("azureml_v2.cli.commands", "azureml_v2.local.api.server"),
    ("azureml_v2._backends.local", "azureml_v2.local"),
    ("azureml_v2.local.api.arm", "azureml_v2.local.core.jobs"),
    ("azureml_v2.local.executors.sweep", "azureml_v2.local.core.jobs"),
    ("azureml_v2.local.core.refs", "azureml_v2._contract"),
    ("azureml_v2.operations.jobs", "azureml_v2.entities.job"),
    ("azureml_v2.entities.job", "azureml_v2._contract"),
])
def test_the_rules_let_arrows_along_the_layers_pass(source, target):
    assert _arrow_problem(source, target) is None


def test_relative_imports_resolve_to_modules():
    node = ast.parse("from ..entities import job\nfrom . import _base\nfrom .._contract import LOCAL_SCOPE").body
    assert _resolve("azureml_v2.entities.sweep", node[0]) == ["azureml_v2.entities", "azureml_v2.entities.job"]
    assert _resolve("azureml_v2.entities.sweep", node[1]) == ["azureml_v2.entities._base"]
    assert _resolve("azureml_v2.entities", node[2]) == ["azureml_v2._contract"]
