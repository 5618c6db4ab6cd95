"""A credential as azure-identity offers one (get_token), handing out a fixed token."""
from __future__ import annotations

import time

from azure.core.credentials import AccessToken

TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.secret-token-value"


class FakeCredential:
    """What azure-identity credentials offer: get_token(*scopes)."""

    def __init__(self):
        self.scopes = []

    def get_token(self, *scopes, **kwargs):
        self.scopes.extend(scopes)
        return AccessToken(TOKEN, int(time.time()) + 3600)
