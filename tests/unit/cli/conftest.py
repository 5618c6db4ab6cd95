"""`azml` run in this process on a fresh local home, as a user types it: azml("compute", "list") -> (out, err)."""
from __future__ import annotations

import pytest

from azureml_v2.cli.main import main
from azureml_v2.local.api import app
from azureml_v2.local.core.jobs import Jobs
from azureml_v2.local.core.serving import Serving


@pytest.fixture
def azml(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AZUREML_V2_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    # a unit test starts no process: jobs are recorded, not run; endpoints and deployments are provisioned as soon
    # as they are stored
    monkeypatch.setattr(app, "Jobs", lambda store, user, launch: Jobs(store, user, launch=False))
    monkeypatch.setattr(app, "Serving", lambda store, launch: Serving(store, launch=False))

    def run(*args, rc=0):
        capsys.readouterr()
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        assert code == rc, out + err
        return out, err
    return run
