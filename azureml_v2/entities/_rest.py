"""Small helpers for the hand-written entity <-> REST JSON mappings (api-version 2024-04-01)."""
from __future__ import annotations


def literal(value) -> str:
    """A YAML scalar in a string map as the wire's string (booleans as JSON spells them: tags, properties and
    environment variables are not command-line values; a literal input's value is `inputs.literal`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def str_map(d: dict | None) -> dict | None:
    """Tags, properties, environment variables: YAML may hold numbers, the wire holds strings."""
    return {k: None if v is None else literal(v) for k, v in d.items()} if d is not None else None


def compact(d: dict) -> dict:
    """Drop unset (None) members so bodies carry only what the user gave."""
    return {k: v for k, v in d.items() if v is not None}


def name_version_from_id(resource: dict) -> tuple[str | None, str | None]:
    """ARM ids end in `.../<kind>/<name>/versions/<version>` for versioned assets."""
    parts = (resource.get("id") or "").rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "versions":
        return parts[-3], parts[-1]
    return resource.get("name"), None


# state the service holds that YAML does not describe: read from a response, sent back on update
_SERVICE_STATE = ("isAnonymous", "isArchived", "referencedUris")


def keep_service_state(entity, resource: dict):
    props = resource.get("properties", {})
    kept = {key: props[key] for key in _SERVICE_STATE if props.get(key) is not None}
    if kept:
        entity._kept = kept
    return entity


def service_state(entity) -> dict:
    return getattr(entity, "_kept", {})
