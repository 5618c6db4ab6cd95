"""The embedded local workspace: Azure ML's ARM and MLflow REST APIs on this machine (``api``), job lifecycle and
supervision (``core``), SQLite and file storage (``storage``), and the processes that run jobs (``executors``).

These are the only names the client and the CLI use; importing this module loads no store and no server.
"""
from __future__ import annotations

from pathlib import Path

from .storage.paths import default_home, job_folder

__all__ = ["ServerCredential", "curated_environment", "default_home", "job_folder", "make_app", "served_certificate",
           "served_token"]


def make_app(home, **options):
    """The WSGI application of the local workspace in folder `home` (created on first use), with ``.close()``;
    see :func:`azureml_v2.local.api.app.make_app` for the options."""
    from .api.app import make_app as make  # import-time budget: the store and the APIs load on first use

    return make(home, **options)


def served_token(endpoint: str, home: Path | None = None) -> str | None:
    """The contributor token of the served local workspace `home` (default: $AZUREML_V2_HOME) when `endpoint` is
    where its server listens, else None."""
    from .api.server import served_token as token  # import-time budget: the server module loads waitress

    return token(endpoint, home)


def served_certificate(endpoint: str, home: Path | None = None) -> str | None:
    """The certificate file to trust for the https server of `home` at `endpoint` when `azml server start --tls`
    made it, else None."""
    from .api.server import served_certificate as certificate  # import-time budget: as served_token

    return certificate(endpoint, home)


class ServerCredential:
    """An azure-core token credential for the server of the local home `home` (default: $AZUREML_V2_HOME): each
    `get_token(scope)` is a JSON Web Token for that scope's audience, signed with the home's token of `role`
    ("contributor" or "reader"). For clients that read their token's claims, as azure-ai-ml does before it submits a
    pipeline job; the token itself never leaves the machine."""

    def __init__(self, home: Path | str | None = None, role: str = "contributor"):
        self._home = Path(home) if home is not None else default_home()
        self._role = role

    def _mint(self, scopes) -> tuple[str, int]:
        from .api.server import ensure_token  # import-time budget: as served_token
        from .api.tokens import mint

        return mint(ensure_token(self._home, self._role)[0], scopes[0] if scopes else "")

    def get_token(self, *scopes: str, **kwargs):
        from azure.core.credentials import AccessToken

        return AccessToken(*self._mint(scopes))

    def get_token_info(self, *scopes: str, options=None):
        from azure.core.credentials import AccessTokenInfo

        return AccessTokenInfo(*self._mint(scopes))


def curated_environment(name: str) -> dict | None:
    """The local equivalent of Azure ML curated environment `name` (its REST properties), None when not curated."""
    from .executors.envs import curated  # import-time budget: only job submission asks

    return curated(name)
