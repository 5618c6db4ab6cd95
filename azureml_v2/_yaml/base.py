"""Marshmallow plumbing shared by every schema: entity building, hints, located errors."""
from __future__ import annotations

import contextvars
import os

from marshmallow import RAISE, Schema, ValidationError as MarshmallowError, post_dump, post_load

from ..exceptions import NOT_SUPPORTED, suggest
from .document import Document, type_name, value_at

# The folder relative paths are read from (while loading) or written against (while dumping).
BASE_DIR: contextvars.ContextVar[str] = contextvars.ContextVar("azureml_v2_base_dir")
DUMP_DIR: contextvars.ContextVar[str | None] = contextvars.ContextVar("azureml_v2_dump_dir", default=None)
# The files being loaded, outermost first (a component file that names one of them would be read forever).
LOADING: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("azureml_v2_loading", default=())

UNKNOWN = "Unknown field."


class BaseSchema(Schema):
    """Unknown keys fail (with a hint); keys we know but do not handle yet say so."""

    class Meta:
        unknown = RAISE

    entity: type | None = None  # built by post_load from the loaded fields
    not_supported: tuple[str, ...] = ()  # real Azure ML keys this project does not handle yet

    @post_load
    def _build(self, data, **_):
        return self.entity(**data) if self.entity is not None else data

    @post_dump
    def _drop_unset(self, data, **_):
        return {k: v for k, v in data.items() if v is not None}

    def handle_error(self, error, data, **_):
        messages = error.messages
        if not isinstance(messages, dict):
            return
        known = [f.data_key or name for name, f in self.fields.items() if not f.dump_only]
        for key, msgs in messages.items():
            if msgs == [UNKNOWN]:
                messages[key] = [NOT_SUPPORTED if key in self.not_supported
                                 else "unknown field" + suggest(key, known)]


_WORDING = {
    "Missing data for required field.": "required field is missing",
    "Field may not be null.": "must have a value (got null)",
    "Not a valid string.": "expected a string",
    "Not a valid integer.": "expected an integer",
    "Not a valid number.": "expected a number",
    "Not a valid boolean.": "expected true or false",
    "Not a valid mapping type.": "expected a mapping",
    "Not a valid list.": "expected a list",
    "Invalid input type.": "expected a mapping",
    "Invalid type.": "expected a mapping",
    "Invalid value.": "invalid value",
    "Unknown field.": "unknown field",
    "Number too large.": "number too large",
    "Not a valid utf-8 string.": "expected UTF-8 text",
    "Special numeric values (nan or infinity) are not permitted.": "must be a finite number",
}
_MISSING = object()


def flatten(messages, path=()) -> list[tuple[tuple, str]]:
    """Marshmallow's nested error dict -> [(path, message)]."""
    out = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            # Dict fields nest key errors under "key" and value errors under "value"
            if isinstance(value, dict) and set(value) <= {"key", "value"} and value:
                out += [(path + (key,), "invalid key: " + wording(m, key))
                        for _, m in flatten(value.get("key", []))]
                out += flatten(value.get("value", []), path + (key,))
            elif key == "_schema":
                out += flatten(value, path)
            else:
                out += flatten(value, path + (key,))
    elif isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            out += [(path, m) for m in messages]
        else:
            for m in messages:
                out += flatten(m, path)
    else:
        out.append((path, str(messages)))
    return out


def wording(message: str, value=_MISSING) -> str:
    """A marshmallow message in this project's words; `expected ...` says what was found instead."""
    text = _WORDING.get(message)
    if text is None:
        text = message
        if text[:1].isupper() and text[1:2].islower() and text.endswith("."):  # "Must be at least 1."
            text = text[0].lower() + text[1:-1]
    if text.startswith("expected") and ", got " not in text and value is not _MISSING:
        text += f", got {type_name(value)}"
    return text


def load_with(schema: Schema, doc: Document):
    """Run `schema` over `doc`; every problem becomes one located line of one error."""
    token = BASE_DIR.set(doc.base_dir)
    is_file = doc.source is not None and os.path.isfile(doc.source)
    chain = LOADING.set(LOADING.get() + (os.path.abspath(doc.source),)) if is_file else None
    try:
        entity = schema.load(doc.data)
    except MarshmallowError as exc:
        raise doc.error([(path, wording(message, value_at(doc.data, path, _MISSING)))
                         for path, message in flatten(exc.messages)]) from None
    except RecursionError:  # a dict input that contains itself
        raise doc.error([((), "nested too deeply (does the input contain itself?)")]) from None
    finally:
        BASE_DIR.reset(token)
        if chain is not None:
            LOADING.reset(chain)
    if doc.problems:  # the schema was content, but the text had problems of its own (duplicate keys)
        raise doc.error([])
    return entity
