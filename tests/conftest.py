"""Shared fixtures: the reference corpus and REST spec from ../shared, copied or skipped clearly; Azurite."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("long", max_examples=20_000)  # pytest --hypothesis-profile=long: >= 100,000 fuzzed inputs

SHARED = Path(os.environ.get("AZUREML_V2_SHARED", Path(__file__).resolve().parents[2] / "shared"))
CORPUS = SHARED / "corpus" / "azureml-examples"
SPEC = SHARED / "azure-rest-spec"
TOOLS = SHARED / "tools"
SEED = SHARED / "seed" / "azureml-2.0-preview.md"


def _needs(path: Path, what: str):
    if not path.exists():
        pytest.skip(f"{what} not found at {path} (reference data lives in ../shared beside the checkout)")


@pytest.fixture(scope="session")
def corpus_root(tmp_path_factory) -> Path:
    """A private copy of the corpus with the source folders its YAMLs name (left out upstream) created."""
    _needs(CORPUS, "the YAML corpus")
    root = tmp_path_factory.mktemp("corpus") / "azureml-examples"
    shutil.copytree(CORPUS, root)
    from corpus_kinds import create_missing_paths
    create_missing_paths(root)
    return root


@pytest.fixture(scope="session")
def rest_validate():
    """validate(body, definition) -> list of problems, using ../shared/tools/restcheck.py."""
    _needs(SPEC, "the Azure REST spec")
    _needs(TOOLS / "restcheck.py", "restcheck.py")
    sys.path.insert(0, str(TOOLS))
    try:
        import restcheck
    finally:
        sys.path.remove(str(TOOLS))
    def validate(body: dict, definition: str) -> list[str]:
        return restcheck.validate(body, definition, str(SPEC))

    return validate


@pytest.fixture(scope="session")
def azurite_url():
    """The blob endpoint of a running Azurite (`http://127.0.0.1:PORT/devstoreaccount1`); skipped without one,
    a failure when CI=true."""
    import azurite
    with azurite.azurite() as url:
        if url is None:
            if os.environ.get("CI") == "true":
                pytest.fail(azurite.MISSING + " (CI=true: a missing Azurite is a failure)")
            pytest.skip(azurite.MISSING)
        yield url


@pytest.fixture(scope="session")
def azurite_connection_string(azurite_url):
    import azurite
    return azurite.connection_string(azurite_url)


@pytest.fixture
def blob_container(azurite_connection_string):
    """A fresh, empty container on Azurite, deleted afterwards."""
    import uuid

    from azureml_v2._artifacts.storage import open_container

    container = open_container(f"test-{uuid.uuid4().hex[:16]}", connection_string=azurite_connection_string)
    container.create_container()
    yield container
    container.delete_container()


def pytest_terminal_summary(terminalreporter):
    try:
        import test_corpus
    except ImportError:
        return
    if test_corpus.COUNTS:
        counts = test_corpus.COUNTS
        terminalreporter.write_line(
            f"corpus: {counts['files']} files of supported kinds; {counts['loaded']} load, "
            f"{counts['round-trip']} round-trip, {counts['spec-valid']} spec-valid, "
            f"{counts['not supported']} located 'not supported yet'")
        for line in test_corpus.UNSUPPORTED:
            terminalreporter.write_line(f"  not supported yet: {line}")
