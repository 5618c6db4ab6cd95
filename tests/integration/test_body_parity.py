"""Body parity with azure-ai-ml on the corpus: every spec of a kind both SDKs load goes through our `to_rest` and
azure-ai-ml's own REST serialisation (in its cached reference environment, as the benchmarks use it; never a
dependency), and the two bodies must agree on everything that changes what the service does.

References are compared as both SDKs name them before submission resolves them (a local path by its name, an ARM
id or `azureml:` reference by name and version, an inline environment by its anonymous version, which checks
azure-ai-ml's environment naming across the corpus). What remains must be one of the named cosmetic
differences below; anything else fails the test, listed per spec and field."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from support.corpus_kinds import corpus_files, kind_of

from azureml_v2 import load_component, load_data, load_datastore, load_environment, load_job, load_model
from azureml_v2._backends.base import Backend
from azureml_v2._contract import workspace_scope
from azureml_v2.exceptions import AzureMLError
from azureml_v2.operations.datastores import cloud_defaults

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).resolve().parents[1] / "support" / "parity_worker.py"
SCOPE = workspace_scope("00000000-0000-0000-0000-000000000000", "rg", "ws")
LOADERS = {"job": load_job, "component": load_component, "data": load_data, "environment": load_environment,
           "model": load_model, "datastore": load_datastore}
# fields whose value names another resource or a local path: resolved at submission by either SDK
REFERENCES = ("codeId", "environmentId", "computeId", "componentId", "uri", "contextUri", "code", "environment",
              "default_compute")
_ARM = re.compile(r"^(?:azureml:)?/subscriptions/[^/]+/resourceGroups/[^/]+/providers/"
                  r"Microsoft\.MachineLearningServices/workspaces/[^/]+/\w+/([^/]+)(?:/versions/([^/]+))?$")


def _reference(value, base: Path):
    """`name:version`, `name@label` or a local path's folder or file name, however the SDK wrote it."""
    if not isinstance(value, str) or "://" in value:
        return value
    m = _ARM.match(value)
    if m:
        return m.group(1) + (f":{m.group(2)}" if m.group(2) else "")
    if value.startswith("azureml:"):
        return value[len("azureml:"):]
    return (base / value).resolve().name if (base / value).exists() else value


def _flat(node, base: Path, path=()):
    if isinstance(node, dict):
        if not node:
            yield path, {}
        if path and path[-1] == "environment" and {"name", "version"} <= set(node):  # an inline one, by its name
            yield path, f"{node['name']}:{node['version']}"
            return
        for key, value in node.items():
            yield from _flat(value, base, (*path, key))
    else:
        yield path, _reference(node, base) if path and path[-1] in REFERENCES else node


ABSENT = "<absent>"


def _conda(text):
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


# name -> (why it changes nothing, does this difference at `key` (ref, ours) belong to it)
COSMETIC = {
    "empty maps": ("azure-ai-ml writes out {} for tags, properties, inputs, outputs and environment variables it "
                   "has none of; the service reads an absent map as empty",
                   lambda key, ref, ours: ref == {} and ours == ABSENT),
    "spec defaults": ("isArchived/isAnonymous false, is_deterministic true and a parameter-server count of 0 are "
                      "the spec's defaults, which azure-ai-ml writes out",
                      lambda key, ref, ours: ours == ABSENT and (key[-1], ref) in [
                          ("isArchived", False), ("isAnonymous", False), ("is_deterministic", True),
                          ("parameterServerCount", 0), ("parameter_server_count", 0)]),
    "additional_includes": ("both SDKs copy the included files into the code snapshot they upload; azure-ai-ml also "
                            "lists the local paths in the spec, which the service does not read",
                            lambda key, ref, ours: key[-1] == "additional_includes" and ours == ABSENT),
    "_source": ("azure-ai-ml labels where an entity came from (YAML.JOB, YAML.COMPONENT, ...) for its telemetry",
                lambda key, ref, ours: key[-1] == "_source" and ours == ABSENT),
    "client_component_hash": ("azure-ai-ml's own record of a component's content, in the user properties",
                              lambda key, ref, ours: key[-1] == "client_component_hash" and ours == ABSENT),
    "displayName": ("azure-ai-ml makes up a display name client-side; without one the service shows the job's name",
                    lambda key, ref, ours: key == ("properties", "displayName") and ours == ABSENT),
    "experimentName": ("both SDKs name the experiment after the current folder when the job is submitted; ours does "
                       "it in jobs.create_or_update, not in to_rest",
                       lambda key, ref, ours: key == ("properties", "experimentName") and ours == ABSENT),
    "sweep goal case": ("azure-ai-ml sends `minimize`/`maximize`; the spec's enum (which we send) is capitalised, "
                        "and the service reads either",
                        lambda key, ref, ours: key[-1] == "goal" and str(ref).lower() == str(ours).lower()),
    "conda file text": ("azure-ai-ml re-dumps the conda file with sorted keys; we send the file's text: the same "
                        "YAML document",
                        lambda key, ref, ours: key[-1] == "condaFile" and _conda(ref) == _conda(ours)),
}


@pytest.fixture(scope="module")
def reference_python():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from bench_yaml import reference_python as make  # the benchmarks' cached azure-ai-ml environment
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    python, why = make()
    if python is None:
        pytest.skip(f"azure-ai-ml could not be installed in its cached reference environment: {why}")
    return python


def _ours(path: str, kind: str) -> dict:
    entity = LOADERS[kind](path)
    if kind == "datastore":
        entity = cloud_defaults(entity, Backend)  # what datastores.create_or_update fills (the public cloud)
    return entity.to_rest(scope=SCOPE)


def test_our_bodies_differ_from_azure_ai_mls_only_cosmetically(corpus_root, reference_python, tmp_path):
    items, skipped = [], {}  # what is compared; what is not, and why
    specs = [p for p in corpus_files(corpus_root) if kind_of(p) in LOADERS]
    for path in specs:
        kind, name = kind_of(path), path.relative_to(corpus_root).as_posix()
        if kind == "job" and (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("type") == "pipeline":
            skipped[name] = "pipeline job: its nodes' components are resolved at submission, not compared here"
        else:
            items.append((str(path), kind))
    done = subprocess.run([reference_python, str(WORKER)], input=json.dumps(items), capture_output=True, text=True,
                          cwd=tmp_path, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    theirs = json.loads(done.stdout.splitlines()[-1])
    compared, identical, cosmetic, behavioural, anonymous = [], [], Counter(), [], 0
    for path, kind in items:
        name = Path(path).relative_to(corpus_root).as_posix()
        ref = theirs[path]
        if "error" in ref:
            skipped[name] = f"azure-ai-ml: {ref['error']}"
            continue
        try:
            ours = _ours(path, kind)
        except AzureMLError as exc:
            skipped[name] = f"ours: {str(exc).splitlines()[0].replace(str(corpus_root) + '/', '')}"
            continue
        compared.append(name)
        base = Path(path).parent
        mine, reference = dict(_flat(ours, base)), dict(_flat(ref["body"], base))
        named = set()
        anonymous += sum(1 for key, value in reference.items() if key[-1] in ("environmentId", "environment")
                         and str(value).startswith("CliV2AnonymousEnvironment:") and mine.get(key) == value)
        for key in sorted(set(mine) | set(reference), key=str):
            a, b = reference.get(key, ABSENT), mine.get(key, ABSENT)
            if a == b:
                continue
            label = next((label for label, (_, fits) in COSMETIC.items() if fits(key, a, b)), None)
            if label is None:
                behavioural.append(f"{name} {'.'.join(map(str, key))}: azure-ai-ml {a!r}, ours {b!r}")
            else:
                named.add(label)
        cosmetic.update(named)
        if not named and not any(line.startswith(f"{name} ") for line in behavioural):
            identical.append(name)
    print(f"\nbody parity: {len(specs)} corpus specs of kinds {', '.join(LOADERS)}; "
          f"{len(compared)} compared: {len(identical)} identical field for field, "
          f"{len(compared) - len(identical) - len({b.split(' ')[0] for b in behavioural})} identical but for the "
          f"named cosmetic differences; {anonymous} inline environments named alike by both SDKs")
    for label, count in cosmetic.most_common():
        print(f"  cosmetic, {count} specs: {label}: {COSMETIC[label][0]}")
    for name, why in sorted(skipped.items()):
        print(f"  not compared: {name}: {why}")
    assert not behavioural, "differences that change what the service does:\n" + "\n".join(behavioural)
    assert len(compared) >= 90, f"only {len(compared)} specs compared"
