"""Signing in to the studio as Jupyter does: a login URL carries a ticket, which the server swaps for a cookie.

A ticket is ``<role>.<expiry>.<nonce>.<mac>``, the MAC keyed with that role's server token, so that `azml studio`
(another process, which can read the token files) mints it and the server checks it without sharing any state. A
ticket is good once, for TICKET_TTL seconds. The cookie is ``<role>.<expiry>.<mac>`` under the same key: HttpOnly,
SameSite=Strict, scoped to the studio's path, and Secure when the studio is served over https (`--tls`). A new server token invalidates every ticket and cookie of its role.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

from ..http import CONTRIBUTOR, READER

COOKIE = "azml_studio"
TICKET_TTL = 3600  # seconds a login URL is good for
SESSION_TTL = 12 * 3600  # seconds a studio session lasts


def _mac(token: str, *parts: str) -> str:
    return hmac.new(token.encode(), "|".join(("azml-studio", *parts)).encode(), hashlib.sha256).hexdigest()


def ticket(token: str, role: str = CONTRIBUTOR, *, now: float | None = None) -> str:
    """A one-time login ticket for `role`, signed with that role's server `token`."""
    expiry = str(int((time.time() if now is None else now) + TICKET_TTL))
    nonce = secrets.token_urlsafe(16)
    return ".".join((role, expiry, nonce, _mac(token, "ticket", role, expiry, nonce)))


class Sessions:
    """Checks tickets and cookies against the server's tokens (role -> token); remembers used tickets."""

    def __init__(self, tokens: dict[str, str]):
        self.tokens = {role: token for role, token in tokens.items() if token}
        self._used: dict[str, float] = {}  # nonce -> expiry
        self._lock = threading.Lock()

    def _signed(self, role: str, expiry: str, mac: str, *parts: str) -> bool:
        token = self.tokens.get(role)
        if token is None or not expiry.isdigit() or int(expiry) < time.time():
            return False
        return hmac.compare_digest(mac, _mac(token, *parts))

    def redeem(self, text: str) -> str | None:
        """The role of a valid, unused ticket (now used), else None."""
        parts = text.split(".")
        if len(parts) != 4:
            return None
        role, expiry, nonce, mac = parts
        if not self._signed(role, expiry, mac, "ticket", role, expiry, nonce):
            return None
        with self._lock:
            now = time.time()
            self._used = {n: e for n, e in self._used.items() if e >= now}
            if nonce in self._used:
                return None
            self._used[nonce] = int(expiry)
        return role

    def cookie(self, role: str, *, secure: bool = False) -> str:
        """The Set-Cookie value of a new session of `role`; `secure` (served over https): never sent over http."""
        expiry = str(int(time.time() + SESSION_TTL))
        value = ".".join((role, expiry, _mac(self.tokens[role], "session", role, expiry)))
        return f"{COOKIE}={value}; Path=/studio; Max-Age={SESSION_TTL}; HttpOnly; SameSite=Strict" \
            + ("; Secure" if secure else "")

    def role(self, cookie_header: str) -> str | None:
        """The role of the session in a Cookie header, None without a valid one."""
        for item in cookie_header.split(";"):
            name, _, value = item.strip().partition("=")
            if name != COOKIE:
                continue
            parts = value.split(".")
            if len(parts) == 3 and parts[0] in (CONTRIBUTOR, READER) \
                    and self._signed(parts[0], parts[1], parts[2], "session", parts[0], parts[1]):
                return parts[0]
        return None
