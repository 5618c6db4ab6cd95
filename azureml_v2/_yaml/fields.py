"""Custom marshmallow fields: local paths, references, enums with hints, type switches."""
from __future__ import annotations

import math
import os
import re

from marshmallow import ValidationError, fields

from .. import _contract
from ..exceptions import suggest
from .base import BASE_DIR, DUMP_DIR
from .document import type_name

NAME_PATTERN = _contract.NAME_PATTERN


def shown(value, limit: int = 60) -> str:
    """A value as a message quotes it: repr, cut short so that one problem stays one short line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


class Name(fields.String):
    """An asset or job name as the REST API admits it."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not NAME_PATTERN.match(value):
            raise ValidationError(f"invalid name {shown(value)}: use letters, digits, '-' and '_' (at most 255), "
                                  "starting with a letter or digit")
        return value


class ShortName(fields.String):
    """A registry's or a connection's name: the spec's shorter pattern (3 to 33 characters)."""

    PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_]{2,32}$")

    def __init__(self, what: str, **kwargs):
        super().__init__(**kwargs)
        self.what = what

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not self.PATTERN.match(value):
            raise ValidationError(f"invalid {self.what} name {shown(value)}: 3 to 33 letters, digits, '-' and '_', "
                                  "starting with a letter or digit")
        return value


class Version(fields.Field):
    """Versions are strings on the wire; YAML users often write `version: 1`. Any text that can stand in
    the version's URL path segment (`_contract.VERSION`)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValidationError("expected a version string")
        value = str(value)
        if not _contract.VERSION.fullmatch(value):
            raise ValidationError(f"invalid version {shown(value)}: at most 255 characters, none of / \\ % ? # "
                                  "or a space")
        return value

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class Enum(fields.String):
    """A string from a fixed set, matched case-insensitively, stored in its canonical spelling.

    `aliases` are other spellings the service takes for a value (`mount` for `rw_mount`): loaded as that value.
    """

    def __init__(self, values, *, aliases: dict[str, str] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.values = tuple(values)
        self._canonical = {**{a.lower(): v for a, v in (aliases or {}).items()}, **{v.lower(): v for v in self.values}}

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        canonical = self._canonical.get(value.lower())
        if canonical is None:
            raise ValidationError(f"invalid value {shown(value)}: expected one of {', '.join(self.values)}"
                                  + suggest(value, self.values))
        return canonical


class LocalPath(fields.String):
    """A path on this machine (relative to the YAML file) or a remote URI / asset reference.

    Local paths are held absolute and checked to exist; they are dumped relative to the
    file being written, so a dump does not depend on the current folder.
    """

    def __init__(self, *, must_exist: bool = True, local_only: bool = False, kind: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.must_exist, self.local_only, self.kind = must_exist, local_only, kind  # kind: what a reference names

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not value:
            raise ValidationError("empty path")
        if not _contract.is_local(value):
            if self.local_only:
                raise ValidationError(f"expected a local path, got {shown(value)}")
            try:
                _contract.check_uri(value, self.kind)
            except ValueError as exc:
                raise ValidationError(str(exc)) from None
            return value
        if _contract.is_windows_path(value) and os.sep == "/":
            raise ValidationError(f"{shown(value)} is a Windows path; on this machine write a path relative "
                                  "to the YAML file")
        path = os.path.normpath(os.path.join(BASE_DIR.get(os.getcwd()), os.path.expanduser(value)))
        if self.must_exist and not os.path.exists(path):
            raise ValidationError(f"no such file or folder: {path} (from {shown(value)})")
        return path

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None or not _contract.is_local(value):
            return value
        dump_dir = DUMP_DIR.get()
        if dump_dir is None or not os.path.isabs(value):
            return value
        rel = os.path.relpath(value, dump_dir).replace(os.sep, "/")
        return rel


class Reference(fields.String):
    """A reference to another resource: `azureml:name:version`, `azureml:name@label`, ARM id, ..."""

    def __init__(self, kind: str, **kwargs):
        super().__init__(**kwargs)
        self.kind = kind

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        try:
            _contract.parse_ref(value, self.kind)
        except ValueError as exc:  # the reason, in words
            raise ValidationError(str(exc)) from None
        return value


class Switch(fields.Field):
    """A mapping whose `key` (usually `type`) picks the schema that loads it."""

    def __init__(self, choices: dict, *, key: str = "type", default: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.choices, self.key, self.default = choices, key, default
        self._schemas: dict = {}

    def schema_for(self, name):
        schema = self._schemas.get(name)
        if schema is None:
            schema = self._schemas[name] = self.choices[name]()
        return schema

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("expected a mapping")
        name = value.get(self.key, self.default)
        if name is None:
            raise ValidationError({self.key: ["required field is missing"]})
        if not isinstance(name, str):
            raise ValidationError({self.key: [f"expected one of {', '.join(self.choices)}, got {type_name(name)}"]})
        if name not in self.choices:
            lowered = {str(k).lower(): k for k in self.choices}
            if str(name).lower() not in lowered:
                raise ValidationError({self.key: [f"invalid value {shown(name)}: expected one of "
                                                  f"{', '.join(self.choices)}" + suggest(name, self.choices)]})
            name = lowered[str(name).lower()]
        return self.schema_for(name).load(value)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        for name, schema_cls in self.choices.items():
            if schema_cls.entity is type(value) and (getattr(value, self.key, name) == name):
                return self.schema_for(name).dump(value)
        for name, schema_cls in self.choices.items():
            if schema_cls.entity is type(value):
                return self.schema_for(name).dump(value)
        raise ValueError(f"cannot write {type(value).__name__} here")


class Duration(fields.Field):
    """Seconds as an integer in YAML (as Azure ML writes limits); ISO 8601 strings accepted too."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            try:
                value = _contract.seconds_from_iso(value)
            except (ValueError, OverflowError):
                raise ValidationError(f"expected seconds or an ISO 8601 duration, got {shown(value)}") from None
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError("expected a number of seconds")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError("expected a finite number of seconds")
        if value < 0:
            raise ValidationError("must not be negative")
        return int(value) if isinstance(value, float) and value.is_integer() else value

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class StrMap(fields.Dict):
    """A mapping of names to strings (tags, properties, environment variables); numbers kept as written.

    Keys YAML reads as numbers or booleans (`2021: x`) are names all the same: they become strings. Values
    may be null where the REST API allows it (`nulls`: tags and properties, `owner: ~`).
    """

    def __init__(self, *, nulls: bool = False, **kwargs):
        super().__init__(keys=fields.String(), values=fields.Raw(allow_none=nulls), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dict):
            value = {str(k) if isinstance(k, (int, float)) else k: v for k, v in value.items()}
        value = super()._deserialize(value, attr, data, **kwargs)
        bad = {k: ["expected a plain value"] for k, v in value.items()
               if isinstance(v, (dict, list))}
        if bad:
            raise ValidationError(bad)
        return value
