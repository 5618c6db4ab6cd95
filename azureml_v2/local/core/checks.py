"""Checks of REST ``properties`` documents (shape, types, discriminators, required fields), as a PUT and a job
process creating a resource both need them. Each takes the `properties` object, raises :class:`Invalid`, and fills
defaults. The spec files are not read at runtime."""
from __future__ import annotations

import json

from ..._contract import DATA_TYPES, DEFAULT_EXPERIMENT


class Invalid(Exception):
    """A document the local workspace refuses (HTTP 400 InvalidRequestContent)."""


# Read-only fields clients echo back from a GET; a PUT ignores them.
_READ_ONLY = frozenset({"provisioningState", "latestVersion", "nextVersion", "environmentType", "isDefault",
                        "status", "parameters"})
# LocalFile (a folder on this machine) exists only here: Azure ML has no such datastore type
_DATASTORE_TYPES = ("AzureBlob", "AzureDataLakeGen1", "AzureDataLakeGen2", "AzureFile", "OneLake", "LocalFile")
_CREDENTIALS_TYPES = ("AccountKey", "Certificate", "None", "Sas", "ServicePrincipal")
_SECRETS_TYPES = ("AccountKey", "Certificate", "Sas", "ServicePrincipal")
# The fields each job type needs
JOB_REQUIRED = {
    "Command": ("command", "environmentId"),
    "Sweep": ("objective", "samplingAlgorithm", "searchSpace", "trial"),
    "AutoML": ("taskDetails",),
    "Spark": ("codeId", "entry"),
    "Pipeline": (),
}


def check(props: dict, key: str, kind: type, required: bool = False):
    value = props.get(key)
    if value is None:
        if required:
            raise Invalid(f"properties.{key} is required")
        return None
    if not isinstance(value, kind):
        raise Invalid(f"properties.{key}: expected {_TYPE_NAMES[kind]}, got {json.dumps(value)[:80]}")
    return value


_TYPE_NAMES = {str: "a string", dict: "an object", bool: "true or false", list: "an array"}


def check_map(props: dict, key: str) -> None:
    value = check(props, key, dict)
    bad = [k for k, v in (value or {}).items() if not isinstance(v, str)]
    if bad:
        raise Invalid(f"properties.{key}.{bad[0]}: expected a string value")
    props[key] = value or {}


def check_enum(props: dict, key: str, allowed: tuple[str, ...], required: bool = False, default: str | None = None,
                where: str = "properties") -> None:
    value = props.get(key)
    if value is None:
        if required:
            raise Invalid(f"{where}.{key} is required (one of {', '.join(allowed)})")
        if default is not None:
            props[key] = default
        return
    canonical = {a.lower(): a for a in allowed}.get(value.lower()) if isinstance(value, str) else None
    if canonical is None:
        raise Invalid(f"{where}.{key}: {json.dumps(value)[:80]} is not one of {', '.join(allowed)}")
    props[key] = canonical


def base(props: dict, flags: tuple[str, ...] = ()) -> dict:
    """ResourceBase: drop nulls and read-only fields, check description/tags/properties and boolean `flags`."""
    props = {k: v for k, v in props.items() if v is not None and k not in _READ_ONLY}
    check(props, "description", str)
    check_map(props, "tags")
    check_map(props, "properties")
    for flag in flags:
        props[flag] = check(props, flag, bool) or False
    return props


def check_code(props):
    check(props, "codeUri", str)


def check_data(props):
    check_enum(props, "dataType", DATA_TYPES, required=True)
    check(props, "dataUri", str, required=True)
    check(props, "referencedUris", list)


def check_environment(props):
    check_enum(props, "osType", ("Linux", "Windows"), default="Linux")
    check_enum(props, "autoRebuild", ("Disabled", "OnBaseImageUpdate"), default="Disabled")
    for key in ("image", "condaFile"):
        check(props, key, str)
    build = check(props, "build", dict)
    if build is not None and not isinstance(build.get("contextUri"), str):
        raise Invalid("properties.build.contextUri is required (a string)")
    if not props.get("image") and build is None:
        raise Invalid("an environment needs properties.image or properties.build")


def check_model(props):
    for key in ("modelUri", "modelType", "jobName", "stage"):
        check(props, key, str)
    check(props, "flavors", dict)
    if props.get("flavors") is None:  # clients read the flavors of every model version: none is an empty map
        props["flavors"] = {}


def check_component(props):
    check(props, "componentSpec", dict, required=True)


def datastore_props(props: dict) -> tuple[dict, dict | None]:
    """Checked datastore properties and the secret values apart (None: none sent, keep the stored ones)."""
    props = base(props)
    check_enum(props, "datastoreType", _DATASTORE_TYPES, required=True)
    if props["datastoreType"] == "LocalFile":
        check(props, "path", str, required=True)
    props["credentials"] = credentials = dict(check(props, "credentials", dict, required=True))
    check_enum(credentials, "credentialsType", _CREDENTIALS_TYPES, required=True, where="properties.credentials")
    secrets = credentials.get("secrets")
    if secrets is None:
        return props, None
    if not isinstance(secrets, dict):
        raise Invalid("properties.credentials.secrets: expected an object")
    secrets = dict(secrets)
    check_enum(secrets, "secretsType", _SECRETS_TYPES, required=True, where="properties.credentials.secrets")
    credentials["secrets"] = {"secretsType": secrets["secretsType"]}  # the values only through listSecrets
    if all(v is None for k, v in secrets.items() if k != "secretsType"):
        return props, None  # a GET body sent back
    return props, secrets


def check_job(props: dict, name: str, ignored: tuple[str, ...]) -> dict:
    """A job's checked properties: defaults filled, its `ignored` user properties (read-only ones) dropped."""
    props = base(props, ("isArchived",))
    props["properties"] = {k: v for k, v in props["properties"].items() if k not in ignored}
    check_enum(props, "jobType", tuple(JOB_REQUIRED), required=True)
    for key in JOB_REQUIRED[props["jobType"]]:
        if props.get(key) in (None, ""):
            raise Invalid(f"properties.{key} is required for a {props['jobType']} job")
    for key in ("command", "environmentId", "codeId", "computeId", "displayName", "experimentName"):
        check(props, key, str)
    props.setdefault("experimentName", DEFAULT_EXPERIMENT)
    props.setdefault("displayName", name)
    return props
