"""The shared grammar: placeholders, references, durations, scopes."""
from __future__ import annotations

import pytest

from azureml_v2 import _contract as C


def values(**given):
    """A resolver from `root.name` to text; None for anything not given."""
    return lambda p: given.get(p.expression.replace(".", "__"))


# -- placeholders ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expression, root, path, name", [
    ("${{inputs.lr}}", "inputs.lr", "inputs", ("lr",), "lr"),
    ("${{ inputs.lr }}", "inputs.lr", "inputs", ("lr",), "lr"),
    ("${{\tsearch_space.batch_size  }}", "search_space.batch_size", "search_space", ("batch_size",), "batch_size"),
    ("${{parent.inputs.x}}", "parent.inputs.x", "parent", ("inputs", "x"), None),
    ("${{parent.jobs.step.outputs.model}}", "parent.jobs.step.outputs.model", "parent",
     ("jobs", "step", "outputs", "model"), None),
    ("${{inputs}}", "inputs", "inputs", (), None),
    ("${{inputs.}}", "inputs.", "inputs", (), None),
    ("${{input.lr}}", "input.lr", "input", ("lr",), "lr"),  # an unknown root parses; callers judge it
])
def test_a_placeholder_splits_into_root_and_names(text, expression, root, path, name):
    [p] = C.placeholders(f"python train.py --x {text} --y 1")
    assert (p.text, p.expression, p.root, p.path, p.name) == (text, expression, root, path, name)


def test_placeholders_are_found_in_order_blocks_included():
    found = C.placeholders("a ${{inputs.a}} $[[--b ${{ inputs.b }}]] ${{outputs.c}}")
    assert [p.expression for p in found] == ["inputs.a", "inputs.b", "outputs.c"]


@pytest.mark.parametrize("text", ["${inputs.a}", "${{inputs.a}", "$[[inputs.a]]", "{{inputs.a}}", "${{ }x}}"])
def test_near_misses_are_not_placeholders(text):
    assert C.placeholders(text) == []


def test_substitute_fills_every_placeholder():
    resolve = values(inputs__lr="0.1", outputs__model="/tmp/m")
    assert C.substitute("t --lr ${{inputs.lr}} --out ${{ outputs.model }}", resolve) == "t --lr 0.1 --out /tmp/m"


def test_substitute_keeps_a_block_whose_placeholders_all_have_values():
    resolve = values(inputs__a="1", inputs__b="2")
    assert C.substitute("t $[[--a ${{inputs.a}} --b ${{inputs.b}}]] end", resolve) == "t --a 1 --b 2 end"


def test_substitute_drops_a_block_with_a_placeholder_without_value():
    resolve = values(inputs__a="1")
    assert C.substitute("t $[[--a ${{inputs.a}} --b ${{inputs.b}}]] $[[--c ${{inputs.a}}]]", resolve) == "t  --c 1"


def test_a_block_spans_lines():
    assert C.substitute("t $[[\n--a ${{inputs.a}}\n]]", values()) == "t "


def test_outside_a_block_a_missing_value_raises_with_the_placeholder():
    with pytest.raises(C.UnresolvedPlaceholder) as info:
        C.substitute("t ${{inputs.a}} ${{ inputs.b }}", values(inputs__a="1"))
    assert info.value.placeholder.text == "${{ inputs.b }}" and info.value.placeholder.name == "b"
    assert isinstance(info.value, ValueError)


def test_a_resolver_may_leave_placeholders_as_written():
    def only_search_space(p):
        return "7" if p.root == "search_space" else p.text
    text = "t ${{search_space.n}} ${{ inputs.x }} $[[--y ${{inputs.y}}]]"
    assert C.substitute(text, only_search_space, optional_blocks=False) == (
        "t 7 ${{ inputs.x }} $[[--y ${{inputs.y}}]]")


def test_a_value_that_looks_like_a_placeholder_is_not_replaced_again():
    resolve = values(inputs__a="${{inputs.b}}", inputs__b="no")
    assert C.substitute("$[[${{inputs.a}}]] ${{inputs.a}}", resolve) == "${{inputs.b}} ${{inputs.b}}"


def test_a_resolver_may_raise_its_own_error():
    def refuse(p):
        raise KeyError(p.expression)
    with pytest.raises(KeyError):
        C.substitute("${{parent.inputs.x}}", refuse)


@pytest.mark.parametrize("text, unclosed", [
    ("a $[[b]] c", False), ("a $[[b", True), ("$[[a]] $[[b", True), ("a ]] b", False), ("plain", False)])
def test_unclosed_optional_blocks(text, unclosed):
    assert C.unclosed_optional_block(text) is unclosed


@pytest.mark.parametrize("text, stray", [
    ("a ${{inputs.x}} ${{ outputs.y }}", []), ("${{{inputs.x}}}", ["${{{inputs.x}}"]),
    ("${{inputs.x} b", ["${{inputs.x} b"]), ("${{ ${{inputs.x}}", ["${{"]), ("$ {{x}} ${x}", [])])
def test_openings_that_are_no_placeholder(text, stray):
    assert C.stray_openings(text) == stray


# -- references ---------------------------------------------------------------------------------------------
SCOPE = C.workspace_scope("sub", "rg", "ws")


def test_the_local_scope_is_built_from_its_parts():
    assert C.LOCAL_SCOPE == C.workspace_scope(C.LOCAL_SUBSCRIPTION, C.LOCAL_RESOURCE_GROUP, C.LOCAL_WORKSPACE)
    assert SCOPE == "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"


def test_a_workspace_or_registry_scope_passes_its_check():
    C.check_scope(SCOPE)
    C.check_scope(C.LOCAL_SCOPE)
    C.check_scope(C.registry_scope("sub", "rg", "shared"))


@pytest.mark.parametrize("scope", [None, 5, "", "bad", "/subscriptions/x", SCOPE + "/", SCOPE + "/data/x",
                                   SCOPE.replace("/workspaces/", "/computes/")])
def test_a_scope_that_is_no_workspace_is_refused(scope):
    with pytest.raises(ValueError, match="is not a workspace's ARM id"):
        C.check_scope(scope)


@pytest.mark.parametrize("scope", [None, "bad", SCOPE + "/"])
def test_to_rest_refuses_a_bad_scope_with_one_validation_error(scope):
    from azureml_v2 import CommandJob, Data, ValidationError
    for entity in (CommandJob(command="echo", environment="azureml:env:1"), Data(name="d", version="1", path="x")):
        with pytest.raises(ValidationError, match="scope .* is not a workspace's ARM id"):
            entity.to_rest(scope=scope)


@pytest.mark.parametrize("value, kind, expected", [
    ("azureml:iris:3", "data", f"{SCOPE}/data/iris/versions/3"),
    ("azureml:cpu-cluster", "computes", f"{SCOPE}/computes/cpu-cluster"),
    ("azureml:iris@latest", "data", "azureml:iris@latest"),  # labels are resolved by the service
    ("azureml://datastores/blob/paths/a.csv", "data", "azureml://datastores/blob/paths/a.csv"),
    (f"azureml:{SCOPE}/codes/c/versions/1", "codes", f"{SCOPE}/codes/c/versions/1"),
    ("./local/path", "codes", "./local/path"),
    (None, "data", None),
])
def test_to_arm(value, kind, expected):
    assert C.to_arm(value, kind, SCOPE) == expected


@pytest.mark.parametrize("value, form, name, version, label", [
    ("azureml:AzureML-sklearn-1.5:2", "short", "AzureML-sklearn-1.5", "2", None),
    ("azureml:iris@latest", "short", "iris", None, "latest"),
    ("azureml://registries/azureml/environments/sklearn/versions/3", "registry", "sklearn", "3", None),
    ("azureml://datastores/blob/paths/x/y.csv", "datastore", "blob", None, None),
    ("azureml://jobs/j1/outputs/model", "job_output", "j1", None, None),
])
def test_parse_ref(value, form, name, version, label):
    assert C.parse_ref(value) == C.Ref(form, name, version, label)


def test_parse_ref_takes_arm_ids():
    assert C.parse_ref(f"{SCOPE}/computes/cpu").form == C.parse_ref(f"azureml:{SCOPE}/data/d/versions/1").form == "arm"


@pytest.mark.parametrize("value", ["azureml:iris", "azureml://elsewhere/x", "azureml:", "plain"])
def test_parse_ref_refuses(value):
    with pytest.raises(ValueError):
        C.parse_ref(value, "data")


def test_job_locations():
    assert C.job_artifacts_uri("j1") == "azureml://datastores/workspaceartifactstore/paths/ExperimentRun/dcid.j1"
    # an output given no path is where Azure ML keeps it: the default datastore's azureml/<job>/<output>/
    assert C.output_uri("j1", "model", {"jobOutputType": "mlflow_model"}) == \
        "azureml://datastores/workspaceblobstore/paths/azureml/j1/model/"
    assert C.output_uri("j1", "data", {}) == "azureml://datastores/workspaceblobstore/paths/azureml/j1/data/"
    assert C.output_uri("j1", "score", {"jobOutputType": "uri_file"}) == \
        "azureml://datastores/workspaceblobstore/paths/azureml/j1/score/score"
    assert C.output_uri("j1", "m", {"uri": "azureml://datastores/b/paths/m"}) == "azureml://datastores/b/paths/m"
    assert C.legacy_output_uri("j1", "model") == C.job_artifacts_uri("j1") + "/model"
    # a path may name the job and the output, as Azure ML fills them in: each job its own folder
    assert C.output_uri("j1", "m", {"uri": "azureml://datastores/b/paths/runs/${{name}}/${{ output_name }}/"}) == \
        "azureml://datastores/b/paths/runs/j1/m/"
    m = C.ASSET_ID.match(f"{SCOPE}/data/iris/versions/3")
    assert m.group("workspace", "kind", "name", "version") == ("ws", "data", "iris", "3")


@pytest.mark.parametrize("value, local", [("./a", True), ("C:\\a", True), ("azureml:x:1", False),
                                          ("https://h/x", False), ("git+https://h/r", False)])
def test_is_local(value, local):
    assert C.is_local(value) is local


# -- durations ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, seconds", [("PT1H30M", 5400), ("PT0.5S", 0.5), ("P1D", 86400), (None, None)])
def test_durations(text, seconds):
    assert C.seconds_from_iso(text) == seconds
    if seconds is not None:
        assert C.seconds_from_iso(C.iso_from_seconds(seconds)) == seconds


def test_a_duration_in_months_is_refused():
    with pytest.raises(ValueError):
        C.seconds_from_iso("P1M")


def test_the_contract_imports_only_the_standard_library():
    import ast
    import sys
    tree = ast.parse(open(C.__file__, encoding="utf-8").read())
    names = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
             for alias in node.names}
    names |= {node.module.split(".")[0] for node in ast.walk(tree)
              if isinstance(node, ast.ImportFrom) and node.module and not node.level}
    assert {n for n in names if n not in sys.stdlib_module_names} <= {"isodate"}


# -- pipeline bindings -----------------------------------------------------------------------------------
@pytest.mark.parametrize("text, path", [
    ("${{parent.inputs.x}}", ("inputs", "x")),
    (" ${{ parent.outputs.y }} ", ("outputs", "y")),
    ("${{parent.jobs.train.outputs.model}}", ("jobs", "train", "outputs", "model")),
    ("${{inputs.x}}", None), ("--x ${{parent.inputs.x}}", None), (3, None), ("plain", None)])
def test_a_binding_is_one_parent_placeholder_and_nothing_else(text, path):
    assert C.binding(text) == path


@pytest.mark.parametrize("path, ok", [
    (("inputs", "x"), True), (("jobs", "a", "outputs", "b"), True), (("jobs", "a", "inputs", "b"), False),
    (("inputs",), False), (("outputs", "y", "z"), False), (("settings", "x"), False)])
def test_binding_shapes(path, ok):
    assert (C.binding_problem(path) is None) == ok
