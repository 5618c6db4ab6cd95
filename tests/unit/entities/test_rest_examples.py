"""Every x-ms-example body of a resource we model reads into an entity and writes back the same body.

The spec decides what "the same" means: read-only members (readOnly, or x-ms-mutability without
create/update) are the service's and are left out; a declared member set to null, or to its spec
default, is the same as an absent one. Everything else must come back unchanged. Each body we
write must also validate against the spec (request mode).
"""
from __future__ import annotations

import difflib
import importlib
import json

import pytest

from conftest import SPEC
from azureml_v2._contract import LOCAL_SCOPE

API_DIR = SPEC / "machinelearningservices/resource-manager/Microsoft.MachineLearningServices/stable/2024-04-01"

# ARM resource definition -> where its entity lives (jobs and datastores dispatch on their type)
ENTITIES = {
    "CodeVersionResource": ("azureml_v2.entities.assets", "Code"),
    "DataVersionBaseResource": ("azureml_v2.entities.assets", "Data"),
    "EnvironmentVersionResource": ("azureml_v2.entities.assets", "Environment"),
    "ModelVersionResource": ("azureml_v2.entities.model", "Model"),
    "ComponentVersionResource": ("azureml_v2.entities.component", "CommandComponent"),
    "DatastoreResource": ("azureml_v2.entities.datastore", "Datastore"),
    "JobBaseResource": None,
}
JOBS = {"Command": ("azureml_v2.entities.job", "CommandJob"), "Sweep": ("azureml_v2.entities.job", "SweepJob"),
        "Pipeline": ("azureml_v2.entities.pipeline", "PipelineJob")}


def _cases():
    """(resource definition, body) for each request and response body of the examples, with ids."""
    mfe = API_DIR / "mfe.json"
    if not mfe.exists():
        return []
    doc = json.loads(mfe.read_text(encoding="utf-8"))
    definitions = doc["definitions"]
    cases = []
    for ops in doc["paths"].values():
        for method, op in ops.items():
            if method not in ("get", "put") or not isinstance(op, dict):
                continue
            ref = op.get("responses", {}).get("200", {}).get("schema", {}).get("$ref", "")
            definition = ref.rsplit("/", 1)[-1]
            paged = definition.endswith("ArmPaginatedResult")
            if paged:
                definition = definitions[definition]["properties"]["value"]["items"]["$ref"].rsplit("/", 1)[-1]
            if definition not in ENTITIES:
                continue
            for example in op.get("x-ms-examples", {}).values():
                rel = example["$ref"].removeprefix("./")
                data = json.loads((API_DIR / rel).read_text(encoding="utf-8"))
                request = data["parameters"].get("body") if method == "put" else None
                if request is not None:
                    cases.append(pytest.param(definition, request, id=f"{rel}:request"))
                for status, response in data["responses"].items():
                    body = response.get("body")
                    if not body:
                        continue
                    items = body["value"] if paged else [body]
                    for i, item in enumerate(items):
                        where = f"{status}[{i}]" if paged else status
                        cases.append(pytest.param(definition, item, id=f"{rel}:{where}"))
    return cases


CASES = _cases()

# The examples write the placeholder "string" where the service always returns an ARM id.
_REAL_IDS = {"computeId": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
                          "Microsoft.MachineLearningServices/workspaces/ws/computes/cpu-cluster"}


def _realistic(body: dict) -> dict:
    props = body.get("properties")
    if not isinstance(props, dict):
        return body
    fixed = {k: _REAL_IDS[k] for k, v in props.items() if k in _REAL_IDS and v == "string"}
    return {**body, "properties": {**props, **fixed}} if fixed else body


@pytest.fixture(scope="session")
def spec(rest_validate):
    import restcheck  # on sys.modules once rest_validate has loaded it from ../shared/tools
    return restcheck.Spec(SPEC)


def _entity_class(definition: str, body: dict):
    props = body.get("properties") or {}
    target = ENTITIES[definition]
    if definition == "JobBaseResource":
        target = JOBS.get(props.get("jobType"))
        if target is None:
            pytest.skip(f"jobType {props.get('jobType')!r} is not modelled (Command, Sweep and Pipeline jobs are)")
    kind = (props.get("componentSpec") or {}).get("type")
    if definition == "ComponentVersionResource" and kind not in ("command", "pipeline", "parallel"):
        pytest.skip(f"the example's componentSpec has no component type (type: {kind!r}): a placeholder spec")
    module, name = target
    return getattr(importlib.import_module(module), name)


def _members(spec, path, schema, value):
    """Declared members (name -> (file, schema)) and the schema of any others, discriminator resolved."""
    chain = []
    for item in schema.get("allOf", []):
        if "$ref" in item:
            chain += spec.chain(*spec.deref(item["$ref"], path))
    chain.append((path, None, schema))
    disc = next((s["discriminator"] for _, _, s in reversed(chain) if "discriminator" in s), None)
    if disc and isinstance(value.get(disc), str):
        base = next((p, n) for p, n, s in reversed(chain) if n is not None)
        for sub in spec.subtypes(*base):
            if spec.definition(*sub).get("x-ms-discriminator-value", sub[1]) == value[disc]:
                chain = spec.chain(*sub)
                break
    props, extra = {}, None
    for p, _, s in chain:
        props.update({k: (p, prop) for k, prop in s.get("properties", {}).items()})
        if isinstance(s.get("additionalProperties"), dict):
            extra = (p, s["additionalProperties"])
    return props, extra


def settable(spec, value, path, schema):
    """`value` without what the client does not set: read-only, null and spec-default members."""
    if "$ref" in schema:
        path, name = spec.deref(schema["$ref"], path)
        schema = {"allOf": [{"$ref": f"#/definitions/{name}"}]}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [settable(spec, v, path, schema["items"]) for v in value]
    if not isinstance(value, dict):
        return value
    props, extra = _members(spec, path, schema, value)
    out = {}
    for key, item in value.items():
        if key in props:
            p, prop = props[key]
            if spec.read_only(prop) or item is None or ("default" in prop and item == prop["default"]):
                continue
            out[key] = settable(spec, item, p, prop)
        elif extra is not None:
            out[key] = settable(spec, item, *extra)
        else:
            out[key] = item  # not in the spec: kept, so that it shows in a difference
    return out


def _diff(expected, got) -> str:
    a = json.dumps(expected, indent=1, sort_keys=True).splitlines()
    b = json.dumps(got, indent=1, sort_keys=True).splitlines()
    return "\n".join(difflib.unified_diff(a, b, "example (settable part)", "entity.to_rest()", lineterm=""))


@pytest.mark.skipif(not CASES, reason=f"no REST spec examples at {API_DIR}")
@pytest.mark.parametrize("definition, body", CASES)
def test_example_round_trip(definition, body, spec, rest_validate):
    body = _realistic(body)
    cls = _entity_class(definition, body)
    path, _ = spec.find(definition)
    schema = {"$ref": f"#/definitions/{definition}"}
    entity = cls._from_rest(body)
    got = entity.to_rest(scope=LOCAL_SCOPE)
    expected, written = settable(spec, body, path, schema), settable(spec, got, path, schema)
    failures = []
    if written != expected:
        failures.append(f"{type(entity).__name__} does not give the body back:\n{_diff(expected, written)}")
    problems = rest_validate(got, definition)
    if problems:
        failures.append(f"not valid against {definition}:\n" + "\n".join(problems))
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)


def test_the_settable_part_is_what_the_spec_lets_a_client_set(spec):
    path, _ = spec.find("DatastoreResource")
    response = {"id": "/subscriptions/s/.../datastores/d", "name": "d", "systemData": {"createdBy": "someone"},
                "properties": {"isDefault": True, "properties": None, "serviceDataAccessAuthIdentity": "None",
                               "datastoreType": "AzureBlob", "accountName": "acct", "tags": {"kept": None},
                               "credentials": {"credentialsType": "AccountKey",
                                               "secrets": {"secretsType": "AccountKey", "key": "k"}},
                               "notInSpec": 1}}
    assert settable(spec, response, path, {"$ref": "#/definitions/DatastoreResource"}) == {
        "properties": {"datastoreType": "AzureBlob", "accountName": "acct", "tags": {"kept": None},
                       "credentials": {"credentialsType": "AccountKey",
                                       "secrets": {"secretsType": "AccountKey", "key": "k"}},
                       "notInSpec": 1}}
