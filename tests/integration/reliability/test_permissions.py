"""Attack: another user of the machine plants code. A home (or environment cache) others may write to is refused;
a new home is private (0700); a file uploaded or downloaded keeps its permissions, never wider."""
from __future__ import annotations

import os
import stat

import pytest

from azureml_v2 import MLClient
from azureml_v2.entities import Data
from azureml_v2.exceptions import AzureMLError

pytestmark = pytest.mark.integration


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mode", [0o777, 0o775, 0o757], ids=["0777", "0775", "0757"])
def test_a_home_others_may_write_is_refused(tmp_path, mode):
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(mode)
    with pytest.raises(AzureMLError) as err:
        with MLClient.local(home) as client:
            list(client.data.list())
    assert str(err.value) == (f"{home}: the local workspace's home is writable by other users (mode {mode:04o}): "
                              f"anyone could plant code its jobs run; make it private with `chmod 700 {home}`")


def test_an_environment_cache_others_may_write_is_refused(tmp_path):
    from azureml_v2.local.executors.envs import EnvironmentBuildError, prepare
    home = tmp_path / "home"
    (home / "envs").mkdir(parents=True)
    home.chmod(0o700)
    (home / "envs").chmod(0o777)
    with pytest.raises(EnvironmentBuildError, match="envs: the environment cache is writable by other users"):
        prepare({"condaFile": "dependencies:\n  - pip:\n    - six\n"}, home, log=open(os.devnull, "w"))


def test_a_new_home_is_private_and_an_upload_keeps_its_permissions(tmp_path):
    home = tmp_path / "home"
    secret = tmp_path / "secret.csv"
    secret.write_text("a,b\n")
    secret.chmod(0o600)
    with MLClient.local(home) as client:
        data = client.data.create_or_update(Data(name="secret", path=str(secret), type="uri_file"))
        assert _mode(home) == 0o700
        stored = [p for p in (home / "datastores").rglob("secret.csv")]
        assert stored and all(_mode(p) == 0o600 for p in stored)
    assert data.version == "1"
