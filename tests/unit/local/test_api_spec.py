"""Spec-driven API tests: schemathesis generates requests from the official 2024-04-01 swagger for every operation the
local service implements, valid ones and mutated invalid ones, against the WSGI app in-process.

Each response must be: never a 5xx; a 2xx with a status the spec documents and a body that conforms to the spec's
response schema (restcheck.py, response mode); a 4xx with an ARM error body. ``--hypothesis-profile=long`` runs
more examples per operation.
"""
from __future__ import annotations

import copy
import json
import sys

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (pip install .[test])")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402

from azureml_v2.local import make_app  # noqa: E402
from azureml_v2.local.api import arm as service  # noqa: E402
from azureml_v2._contract import API_VERSION, LOCAL_RESOURCE_GROUP, LOCAL_SUBSCRIPTION  # noqa: E402

from conftest import SPEC, TOOLS  # noqa: E402  (tests/conftest.py)

SWAGGER = SPEC / "machinelearningservices/resource-manager/Microsoft.MachineLearningServices/stable" / API_VERSION
FILES = ("mfe.json", "machineLearningServices.json")
FIXED_PATH = {"subscriptionId": LOCAL_SUBSCRIPTION, "resourceGroupName": LOCAL_RESOURCE_GROUP}
# a resource of each kind is created first under these names, so that GETs of it answer 2xx too
SEEDED = {"workspaceName": "local", "name": "seed", "version": "1", "id": "seed", "computeName": "local"}
SEED_BODIES = {
    "codes/seed/versions/1": {"properties": {"codeUri": "https://example.com/code"}},
    "data/seed/versions/1": {"properties": {"dataType": "uri_folder", "dataUri": "https://example.com/data"}},
    "environments/seed/versions/1": {"properties": {"image": "python:3.11-slim"}},
    "models/seed/versions/1": {"properties": {"modelUri": "https://example.com/model"}},
    "components/seed/versions/1": {"properties": {"componentSpec": {"name": "seed", "version": "1"}}},
    "datastores/seed": {"properties": {"datastoreType": "AzureBlob", "accountName": "acct", "containerName": "c",
                                       "credentials": {"credentialsType": "None"}}},
    "environments/host/versions/1": {"properties": {"image": "python:3.11-slim"}},
}
SEED_JOB = {"properties": {"jobType": "Command", "command": "echo hello",
                           "environmentId": f"{service.workspace_id('local')}/environments/host/versions/1"}}


def _implemented(path: str, method: str) -> bool:
    """Whether the local service routes `method` on the spec's `path` template."""
    tail = path.split("/workspaces", 1)[1].strip("/").split("/")
    if tail == [""]:  # the list of workspaces
        return method == "GET"
    methods, _ = service._route(tail[1:])
    return methods is not None and method in methods


RAW = {name: json.loads((SWAGGER / name).read_text(encoding="utf-8"))
       for name in FILES if (SWAGGER / name).exists()}
if len(RAW) < len(FILES):
    pytest.skip(f"the Azure REST spec is not at {SWAGGER} (reference data lives in ../shared)", allow_module_level=True)


def _cases() -> list[tuple[str, str, str, GenerationMode, bool]]:
    """(file, path template, METHOD, mode, seeded) for each spec operation the service implements: valid and invalid
    requests with generated names, and valid ones naming the seeded resources when the path names one."""
    found = []
    for name, doc in RAW.items():
        for path, item in doc["paths"].items():
            for method in (m.upper() for m in item if m in ("get", "put", "post", "patch", "delete")):
                if "/workspaces" in path and _implemented(path, method):
                    found += [(name, path, method, GenerationMode.POSITIVE, False),
                              (name, path, method, GenerationMode.NEGATIVE, False)]
                    if path.endswith("}"):
                        found.append((name, path, method, GenerationMode.POSITIVE, True))
    return found


CASES = _cases()


def _load(name: str):
    """The swagger file for schemathesis, with autorest's `allOf` inheritance flattened: a derived definition gets the
    properties and `required` of its bases in this file. JSON Schema would apply `additionalProperties: false` of a
    base or a derived definition to its own part alone, which no body satisfies."""
    doc = copy.deepcopy(RAW[name])
    definitions = doc.get("definitions", {})

    def flatten(definition: dict) -> dict:
        local = [p for p in definition.get("allOf", ()) if p.get("$ref", "").startswith("#/definitions/")]
        for part in local:
            base = flatten(definitions[part["$ref"].rsplit("/", 1)[1]])
            definition["properties"] = {**base.get("properties", {}), **definition.get("properties", {})}
            definition["required"] = sorted({*base.get("required", ()), *definition.get("required", ())})
            definition["allOf"] = [p for p in definition["allOf"] if p is not part]
        if "allOf" in definition and not definition["allOf"]:
            del definition["allOf"]
        return definition

    for definition in definitions.values():
        flatten(definition)
    schema = schemathesis.openapi.from_dict(doc)
    schema.location = (SWAGGER / name).as_uri()  # the base of its cross-file $refs
    return schema


SCHEMAS = {name: _load(name) for name in FILES}


@pytest.fixture(scope="module")
def restcheck():
    sys.path.insert(0, str(TOOLS))
    try:
        import restcheck
    finally:
        sys.path.remove(str(TOOLS))
    return restcheck


def _seed(client) -> None:
    """Create (again: a seeded DELETE removes them) the resources named by SEEDED."""
    for path, body in SEED_BODIES.items():
        assert client.put("/" + path, body).status in (200, 201), path
    assert client.put("/jobs/seed", SEED_JOB).status in (200, 201)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from support.local import Client
    wsgi = make_app(tmp_path_factory.mktemp("home"), run_jobs=False, user="spec")
    for name in FILES:
        SCHEMAS[name].app = wsgi
    yield Client(wsgi)
    wsgi.close()


def _response_definition(name: str, path: str, method: str, status: int) -> str | None:
    """The definition the spec gives for a `status` response of the operation; '' when it documents no body."""
    responses = RAW[name]["paths"][path][method.lower()]["responses"]
    if str(status) not in responses:
        return None
    schema = responses[str(status)].get("schema")
    return schema["$ref"].rsplit("/", 1)[1] if schema else ""


def _body_definition(name: str, path: str, method: str) -> str | None:
    """The definition of the operation's request body, if it takes one."""
    for parameter in RAW[name]["paths"][path][method.lower()].get("parameters", ()):
        if parameter.get("in") == "body":
            return parameter["schema"]["$ref"].rsplit("/", 1)[1]
    return None


def _conformance(restcheck, body: dict, definition: str) -> list[str]:
    """What in a response body breaks the spec; secrets are left out of responses (as Azure ML does, the spec marks
    them required)."""
    return [p for p in restcheck.validate(body, definition, str(SPEC), request=False)
            if ".credentials.secrets: required" not in p]


def _check(restcheck, name: str, path: str, method: str, case, response) -> None:
    status = response.status_code
    text = response.text
    where = f"{method} {response.request.url} body {json.dumps(case.body, default=str)[:400]} -> {status}"
    assert status < 500, f"{where}: {text[:500]}"
    body = json.loads(text) if text else None
    if 200 <= status < 300:
        definition = _response_definition(name, path, method, status)
        assert definition is not None, f"{where}: status not documented by the spec"
        request = _body_definition(name, path, method)
        # the service checks bodies minimally: a body outside the spec that it accepts is echoed, so only the
        # responses to spec-valid requests must conform
        if request and restcheck.validate(case.body, request, str(SPEC)):
            return
        if definition and body is not None:
            problems = _conformance(restcheck, body, definition)
            assert not problems, f"{where}: not a conforming {definition}: {problems[:5]}"
    elif status >= 400:
        error = body.get("error") if isinstance(body, dict) else None
        assert isinstance(error, dict) and isinstance(error.get("code"), str) \
            and isinstance(error.get("message"), str), f"{where}: not an ARM error body: {text[:300]}"


def _params(path: str, seeded: bool) -> dict:
    names = {p.strip("{}") for p in path.split("/") if p.startswith("{")}
    fixed = {k: v for k, v in FIXED_PATH.items() if k in names}
    if seeded:
        fixed.update({k: v for k, v in SEEDED.items() if k in names})
    return fixed


@pytest.mark.parametrize("name,path,method,mode,seeded", CASES, ids=[
    f"{m} {p.split('/workspaces', 1)[1] or '/'} {g.value}{' seeded' if s else ''}" for _, p, m, g, s in CASES])
def test_operation_from_spec(client, restcheck, name, path, method, mode, seeded):
    if seeded:
        _seed(client)
    operation = SCHEMAS[name][path][method]
    strategy = operation.as_strategy(mode, path_parameters=_params(path, seeded), query={"api-version": API_VERSION})

    @settings(max_examples=max(5, settings.default.max_examples // 10), deadline=None, database=None,
              phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case):
        _check(restcheck, name, path, method, case, case.call())

    run()
