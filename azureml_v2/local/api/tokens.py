"""Bearer tokens a served local workspace takes besides its own secret: JSON Web Tokens signed with it (HS256).

Clients that read claims of their Azure AD token, as azure-ai-ml checks that a pipeline submission's token is for
the Azure ML audience, get a JWT for any audience they ask, and the server still needs only its secret to check it.
A JWT carries the audience it was asked for and an expiry; the secret never leaves the machine.
"""
from __future__ import annotations

import time

import jwt  # PyJWT

ALGORITHM = "HS256"
LIFETIME = 3600  # seconds, as long as an Azure AD access token lives
_DEFAULT_SUFFIX = "/.default"


def audience(scope: str) -> str:
    """The audience of an Azure AD scope: `https://ml.azure.com/.default` -> `https://ml.azure.com`."""
    resource = scope[:-len(_DEFAULT_SUFFIX)] if scope.endswith(_DEFAULT_SUFFIX) else scope
    return resource.rstrip("/")


def mint(secret: str, scope: str, lifetime: int = LIFETIME, now: float | None = None) -> tuple[str, int]:
    """A JWT for `scope`'s audience signed with `secret` -> (token, expiry as epoch seconds)."""
    issued = int(time.time() if now is None else now)
    claims = {"aud": audience(scope), "iat": issued, "nbf": issued, "exp": issued + lifetime, "iss": "azureml_v2"}
    return jwt.encode(claims, secret, algorithm=ALGORITHM), issued + lifetime


def verifies(token: bytes, secret: bytes) -> bool:
    """Whether `token` is a JWT signed with `secret` that has not expired (any audience)."""
    try:
        jwt.decode(token, secret, algorithms=[ALGORITHM], options={"verify_aud": False, "require": ["exp"]})
    except jwt.PyJWTError:
        return False
    return True
