"""References between resources, as users write them and as the REST API wants them."""
from __future__ import annotations

import re
from typing import NamedTuple

# The local workspace's scope: ARM-shaped so the same REST code serves both backends.
LOCAL_SCOPE = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/"
               "Microsoft.MachineLearningServices/workspaces/local")

# Where Azure ML keeps a job's artifacts and unnamed outputs: a folder of this datastore.
ARTIFACT_STORE = "workspaceartifactstore"


def job_artifacts_path(job: str) -> str:
    return f"ExperimentRun/dcid.{job}"


def job_artifacts_uri(job: str) -> str:
    return f"azureml://datastores/{ARTIFACT_STORE}/paths/{job_artifacts_path(job)}"


def output_uri(job: str, key: str, uri: str | None) -> str:
    """Where a job's named output is stored: its own datastore `uri`, else the job's artifacts folder."""
    return uri if uri and _DATASTORE.match(uri) else f"{job_artifacts_uri(job)}/{key}"


# Curated names carry dots (AzureML-sklearn-1.5), so references are looser than new names.
_REF_NAME = r"[A-Za-z0-9][A-Za-z0-9._\-]{0,254}"
_SHORT = re.compile(rf"^azureml:(?P<name>{_REF_NAME})(?::(?P<version>[^:@/\s]+)|@(?P<label>[A-Za-z0-9._\-]+))?$")
_REGISTRY = re.compile(rf"^azureml://registries/(?P<registry>[^/\s]+)/(?P<kind>[a-z]+)/(?P<name>{_REF_NAME})"
                       r"(?:/versions/(?P<version>[^/\s]+)|/labels/(?P<label>[^/\s]+))?$")
_DATASTORE = re.compile(r"^azureml://(?:subscriptions/[^/]+/resource[gG]roups/[^/]+/workspaces/[^/]+/)?"
                        r"datastores/(?P<name>[^/\s]+)/paths(?:/(?P<path>.*))?$")
_JOB_OUTPUT = re.compile(r"^azureml://jobs/(?P<name>[^/\s]+)/outputs/(?P<output>[^/\s]+)(?:/paths/(?P<path>.*))?$")
_ARM = re.compile(r"^(?:azureml:)?/subscriptions/[^/\s]+/resource[gG]roups/[^/\s]+/providers/"
                  r"Microsoft\.MachineLearningServices/(?P<rest>\S+)$", re.IGNORECASE)
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://\S+$")
_WINDOWS = re.compile(r"^[A-Za-z]:[\\/]")
_REMOTE_PREFIXES = ("azureml:", "git+", "/subscriptions/")


class Ref(NamedTuple):
    form: str  # "short", "registry", "datastore", "job_output", "arm"
    name: str | None = None
    version: str | None = None
    label: str | None = None


def is_windows_path(value: str) -> bool:
    return bool(_WINDOWS.match(value))


def is_local(value: str) -> bool:
    """A path on this machine, as opposed to a URI or an asset reference."""
    return not (value.startswith(_REMOTE_PREFIXES) or "://" in value)


def parse(value: str, kind: str | None = None) -> Ref:
    """Check a reference's syntax; ValueError says what is wrong with it."""
    if value.startswith("azureml://"):
        for form, pattern in (("registry", _REGISTRY), ("datastore", _DATASTORE), ("job_output", _JOB_OUTPUT)):
            m = pattern.match(value)
            if m:
                groups = m.groupdict()
                return Ref(form, groups.get("name"), groups.get("version"), groups.get("label"))
        raise ValueError(f"malformed reference {value!r}: expected azureml://datastores/<datastore>/paths/<path>, "
                         "azureml://jobs/<job>/outputs/<output> or azureml://registries/<registry>/<kind>/<name>/"
                         "versions/<version>")
    m = _ARM.match(value)
    if m:
        parts = m.group("rest").split("/")
        return Ref("arm", parts[-1] if len(parts) % 2 == 0 else None)
    if value.startswith("azureml:"):
        m = _SHORT.match(value)
        if not m:
            raise ValueError(f"malformed reference {value!r}: expected azureml:<name>:<version> or "
                             "azureml:<name>@<label>")
        if kind not in ("computes", None) and not (m.group("version") or m.group("label")):
            raise ValueError(f"reference {value!r} names no version: write azureml:<name>:<version> or "
                             "azureml:<name>@latest")
        return Ref("short", m.group("name"), m.group("version"), m.group("label"))
    raise ValueError(f"malformed reference {value!r}: expected azureml:<name>:<version>, azureml:<name>@<label> "
                     "or an ARM id")


def check_uri(value: str) -> None:
    if value.startswith("azureml:"):
        parse(value)
    elif value.startswith("git+"):
        if not _URI.match(value[4:]):
            raise ValueError(f"malformed git URL {value!r}")
    elif not _URI.match(value):
        raise ValueError(f"malformed URI {value!r}")


def to_arm(value: str | None, kind: str, scope: str = LOCAL_SCOPE) -> str | None:
    """`azureml:name:version` -> the ARM id the REST API takes; other forms pass through.

    Labels (`@latest`) need the service to resolve and are left to the operations layer.
    """
    if not value or not value.startswith("azureml:") or value.startswith("azureml://"):
        return value
    if value.startswith("azureml:/subscriptions/"):
        return value[len("azureml:"):]
    m = _SHORT.match(value)
    if not m or m.group("label"):
        return value
    if kind == "computes":
        return f"{scope}/computes/{m.group('name')}"
    if not m.group("version"):
        return value
    return f"{scope}/{kind}/{m.group('name')}/versions/{m.group('version')}"
