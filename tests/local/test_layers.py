"""The local workspace's layers, read from its source with ast: api -> core -> storage, executors -> core (and
api's MLflow serving), no cycles, nothing from the client side, function-level imports only with a reason."""
from __future__ import annotations

import ast
from pathlib import Path

import azureml_v2.local

ROOT = Path(azureml_v2.local.__file__).parent
# layer -> the layers below it that it may import ("" is the package's facade)
ALLOWED = {"api": {"core"}, "core": {"storage"}, "storage": set(), "executors": {"core"},
           "": {"storage", "api", "executors"}}
# an executor serves a job's MLflow endpoint with the API's tracking routes
EXCEPTIONS = {("executors", "azureml_v2.local.api.mlflow")}
OUTSIDE = ("azureml_v2.entities", "azureml_v2.exceptions")


def _modules() -> dict[str, tuple[Path, list[tuple[str, bool, int]]]]:
    """module -> (file, [(imported module, at module level, line)])."""
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        tree = ast.parse(path.read_text())
        imports = []
        for node in ast.walk(tree):
            top = node in tree.body
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                imports += [(f"{target}.{a.name}", top, node.lineno) for a in node.names] + [(target, top, node.lineno)]
            elif isinstance(node, ast.Import):
                imports += [(a.name, top, node.lineno) for a in node.names]
        found[name] = (path, imports)
    return found


def _layer(module: str) -> str:
    parts = module.split(".")[2:]
    return parts[0] if parts else ""


def _allowed(source: str, target: str) -> bool:
    layer = _layer(source)
    return _layer(target) in ALLOWED[layer] | {layer} or (layer, target) in EXCEPTIONS


def test_layers_point_down_and_nothing_from_the_client_side():
    modules = _modules()
    wrong = []
    for name, (_, imports) in modules.items():
        for target, _, line in imports:
            if target.startswith("azureml_v2.local"):
                if target in modules and not _allowed(name, target):
                    wrong.append(f"{name}:{line} imports {target}")
            elif target.startswith("azureml_v2") and not target.startswith(OUTSIDE):
                wrong.append(f"{name}:{line} imports {target}")
    assert wrong == []


def test_no_import_cycles():
    modules = _modules()
    graph = {name: {t for t, _, _ in imports if t in modules and t != name} for name, (_, imports) in modules.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_function_level_imports_say_why():
    silent = []
    for name, (path, imports) in _modules().items():
        lines = path.read_text().splitlines()
        for target, top, line in imports:
            if not top and target != "__future__":
                text = lines[line - 1]
                if "#" not in text and not any("#" in lines[i] for i in range(max(0, line - 4), line - 1)):
                    silent.append(f"{name}:{line} {text.strip()}")
    assert silent == []
