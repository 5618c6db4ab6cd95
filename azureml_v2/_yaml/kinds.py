"""The dispatch on `type` for load_job and load_component: the document's type picks its schema."""
from __future__ import annotations

from marshmallow import ValidationError

from ..exceptions import suggest
from .document import type_name
from .jobs import CommandComponentSchema, CommandJobSchema


# -- dispatch on `type` --------------------------------------------------------------------
class _Dispatch:
    """Picks the schema for a document from its `type`; loads like a schema (for load_with)."""

    kind: str
    supported: dict  # type -> schema class, or a function that imports and returns one
    known: tuple[str, ...] = ()  # real Azure ML types this project does not handle yet

    def __init__(self):
        self._instances: dict = {}

    def load(self, data):
        name = data.get("type", "command")
        if not isinstance(name, str):
            raise ValidationError({"type": [f"expected a string, got {type_name(name)}"]})
        key = name.lower()
        if key in self.supported:
            schema = self._instances.get(key)
            if schema is None:
                schema = self._instances[key] = self.supported[key]()
            return schema.load(data)
        if key in self.known:
            raise ValidationError({"type": [f"not supported yet: {key} {self.kind}s"]})
        choices = tuple(self.supported) + self.known
        raise ValidationError({"type": [f"invalid value {name!r}: expected one of {', '.join(choices)}"
                                        + suggest(name, choices)]})


def _sweep_schema():
    from .sweep import SweepJobSchema  # import budget: a command job never loads the sweep schemas
    return SweepJobSchema()


class JobSchema(_Dispatch):
    kind = "job"
    supported = {"command": CommandJobSchema, "sweep": _sweep_schema}
    known = ("pipeline", "automl", "spark", "parallel", "import", "data_transfer", "finetuning", "distillation")


class ComponentSchema(_Dispatch):
    kind = "component"
    supported = {"command": CommandComponentSchema}
    known = ("pipeline", "parallel", "spark", "import", "data_transfer", "flow_parallel")
