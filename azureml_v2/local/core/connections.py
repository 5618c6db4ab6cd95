"""Workspace connections: checked, their secrets kept apart from what reads show."""
from __future__ import annotations

from ..._contract import CONNECTION_CATEGORIES, CONNECTION_CREDENTIALS
from . import checks

_AUTH_TYPES = tuple(CONNECTION_CREDENTIALS)
# Read-only members clients echo back from a GET
_READ_ONLY = ("group", "createdByWorkspaceArmId")
_MEMBERS = ("authType", "category", "credentials", "expiryTime", "isSharedToAll", "metadata", "sharedUserList",
            "target", "value", "valueFormat")


def connection_props(props: dict) -> tuple[dict, dict]:
    """A connection PUT's `properties` -> (what reads show, its secrets): checked as the spec's
    WorkspaceConnectionPropertiesV2 subtype of its authType."""
    props = {k: v for k, v in props.items() if v is not None and k not in _READ_ONLY}
    unknown = sorted(set(props) - set(_MEMBERS))
    if unknown:
        raise checks.Invalid(f"properties.{unknown[0]}: not a member of a connection ({', '.join(_MEMBERS)})")
    checks.check_enum(props, "authType", _AUTH_TYPES, required=True)
    checks.check_enum(props, "category", CONNECTION_CATEGORIES)
    for key in ("target", "expiryTime", "value"):
        checks.check(props, key, str)
    checks.check(props, "isSharedToAll", bool)
    checks.check_map(props, "metadata")
    if props.get("valueFormat") not in (None, "JSON"):
        raise checks.Invalid("properties.valueFormat: only JSON")
    users = checks.check(props, "sharedUserList", list) or []
    if not all(isinstance(u, str) for u in users):
        raise checks.Invalid("properties.sharedUserList: expected an array of strings")
    members = CONNECTION_CREDENTIALS[props["authType"]]
    credentials = checks.check(props, "credentials", dict)
    if credentials is None:
        return props, {}
    if not members:
        raise checks.Invalid(f"properties.credentials: a connection of authType {props['authType']} has none")
    unknown = sorted(set(credentials) - set(members))
    if unknown:
        raise checks.Invalid(f"properties.credentials.{unknown[0]}: not a member of {props['authType']} credentials "
                             f"({', '.join(members)})")
    for key, value in credentials.items():
        if key == "keys":
            if not (isinstance(value, dict) and all(isinstance(v, str) for v in value.values())):
                raise checks.Invalid("properties.credentials.keys: expected an object of strings")
        elif value is not None and not isinstance(value, str):
            raise checks.Invalid(f"properties.credentials.{key}: expected a string")
    shown = {k: v for k, v in credentials.items() if v is not None and not members[k]}
    secrets = {k: v for k, v in credentials.items() if v is not None and members[k]}
    return {**props, "credentials": shown}, secrets
