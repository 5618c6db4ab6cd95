"""Code, Data and Environment assets."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from .._contract import is_local

from ._base import Asset
from ._rest import compact, keep_service_state, name_version_from_id, service_state, str_map


def _asset_rest(asset: Asset, **own) -> dict:
    return {"properties": compact({**service_state(asset), "description": asset.description,
                                   "tags": str_map(asset.tags), "properties": str_map(asset.properties), **own})}


def _asset_fields(resource: dict) -> dict:
    props = resource.get("properties", {})
    name, version = name_version_from_id(resource)
    return {"name": name, "version": version, "description": props.get("description"),
            "tags": props.get("tags") or None, "properties": props.get("properties") or None}


@dataclass(kw_only=True)
class Code(Asset):
    """A snapshot of source code: a local folder or file, or a URI where it already lives."""

    path: str | None = None

    def _rest(self, scope: str) -> dict:
        return _asset_rest(self, codeUri=self.path)

    @classmethod
    def _from_rest(cls, resource: dict) -> "Code":
        code = cls(path=resource.get("properties", {}).get("codeUri"), **_asset_fields(resource))
        return keep_service_state(code, resource)


@dataclass(kw_only=True)
class Data(Asset):
    """A data asset: a file, a folder or an MLTable, local or in a datastore."""

    type: str = "uri_folder"
    path: str | None = None
    datastore: str | None = None  # where a local path is uploaded (default: the workspace's default datastore)

    def _rest(self, scope: str) -> dict:
        return _asset_rest(self, dataType=self.type, dataUri=self.path)

    @classmethod
    def _from_rest(cls, resource: dict) -> "Data":
        props = resource.get("properties", {})
        data = cls(type=props.get("dataType", "uri_folder"), path=props.get("dataUri"), **_asset_fields(resource))
        return keep_service_state(data, resource)


@dataclass(kw_only=True)
class Route:
    path: str
    port: int


@dataclass(kw_only=True)
class InferenceConfig:
    liveness_route: Route | None = None
    readiness_route: Route | None = None
    scoring_route: Route | None = None

    _REST = (("liveness_route", "livenessRoute"), ("readiness_route", "readinessRoute"),
             ("scoring_route", "scoringRoute"))

    def _to_rest(self) -> dict:
        return {rest: {"path": r.path, "port": r.port} for attr, rest in self._REST
                if (r := getattr(self, attr)) is not None}

    @classmethod
    def _from_rest(cls, body: dict) -> "InferenceConfig":
        return cls(**{attr: Route(**body[rest]) for attr, rest in cls._REST if body.get(rest)})


@dataclass(kw_only=True)
class BuildContext:
    """A docker build context: a folder (local or URI) and the Dockerfile inside it."""

    path: str | None = None
    dockerfile_path: str | None = None


@dataclass(kw_only=True)
class Environment(Asset):
    """Where a job runs: a docker image, optionally with a conda file, or a docker build context.

    `conda_file` is a path to a conda YAML file or the same content inline as a mapping.
    """

    image: str | None = None
    conda_file: str | dict[str, Any] | None = None
    build: BuildContext | None = None
    inference_config: InferenceConfig | None = None
    os_type: str | None = None

    def conda_spec(self) -> dict | None:
        """The conda specification as a mapping, read from the file when it is a path."""
        if self.conda_file is None or isinstance(self.conda_file, dict):
            return self.conda_file
        import yaml  # import budget: entities load without YAML
        with open(self.conda_file, encoding="utf-8") as fh:
            return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))

    def _rest(self, scope: str) -> dict:
        conda = getattr(self, "_conda_text", None)  # REST text that was not a mapping
        if isinstance(self.conda_file, dict):
            import yaml  # import budget: as in conda_spec
            conda = yaml.safe_dump(self.conda_file, sort_keys=False)
        elif self.conda_file is not None:
            with open(self.conda_file, encoding="utf-8") as fh:
                conda = fh.read()
        build = None
        if self.build is not None:
            build = compact({"contextUri": self.build.path, "dockerfilePath": self.build.dockerfile_path})
        return _asset_rest(self, image=self.image, condaFile=conda, build=build,
                           inferenceConfig=self.inference_config._to_rest() if self.inference_config else None,
                           osType=self.os_type.capitalize() if self.os_type else None)

    def _anonymous_version(self, scope: str) -> str:
        """The version of this environment as an anonymous one, named as azure-ai-ml names it, so that the same
        inline environment submitted by either SDK is one version: sha256 over its fixed mix of the sha256 of
        the image, the inference config and the conda file (both as sorted YAML), or of a local build context's
        object hash and Dockerfile path. A build context that is already a URI has no such name there: the
        sha256 of the REST properties names it here."""
        def sha(text: str) -> str:
            return hashlib.sha256(text.encode()).hexdigest()

        build = self.build
        if build is not None and build.path and is_local(build.path):
            from .._artifacts.snapshot import object_hash, take_snapshot  # import budget: reads the build folder
            mixed = sha(object_hash(take_snapshot(build.path)))
            if build.dockerfile_path:
                mixed = mixed.join(sha(build.dockerfile_path))  # str.join, as azure-ai-ml mixes them
            return sha(mixed)
        if self.image and build is None:
            import yaml  # import budget: as in conda_spec
            mixed = sha(self.image)
            if self.inference_config is not None:
                mixed = mixed.join(sha(yaml.dump(self.inference_config._to_rest(), sort_keys=True)))
            conda = self.conda_spec()
            if conda:
                mixed = mixed.join(sha(yaml.dump(conda, sort_keys=True)))
            return sha(mixed)
        props = self._rest(scope)["properties"]
        return sha(json.dumps(props, sort_keys=True, separators=(",", ":")))

    @classmethod
    def _from_rest(cls, resource: dict) -> "Environment":
        props = resource.get("properties", {})
        conda = props.get("condaFile")
        if conda is not None:
            import yaml  # import budget: as in conda_spec
            try:
                parsed = yaml.safe_load(conda)
            except yaml.YAMLError:
                parsed = None
            conda = parsed if isinstance(parsed, dict) else conda
        build = props.get("build")
        inference = props.get("inferenceConfig")
        env = cls(image=props.get("image"), conda_file=conda if isinstance(conda, dict) else None,
                  build=BuildContext(path=build.get("contextUri"), dockerfile_path=build.get("dockerfilePath"))
                  if build else None,
                  inference_config=InferenceConfig._from_rest(inference) if inference else None,
                  os_type=props["osType"].lower() if props.get("osType") else None,
                  **_asset_fields(resource))
        if conda is not None and not isinstance(conda, dict):
            env._conda_text = conda
        return keep_service_state(env, resource)
