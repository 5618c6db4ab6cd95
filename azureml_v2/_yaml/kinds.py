"""The dispatch on `type` for load_job and load_component: the document's type picks its schema."""
from __future__ import annotations

from marshmallow import ValidationError

from ..exceptions import suggest
from .api import _schema
from .document import type_name


# -- dispatch on `type` --------------------------------------------------------------------
class _Dispatch:
    """Picks the schema for a document from its `type`; loads like a schema (for load_with)."""

    kind: str
    # type -> (module under _yaml, schema name), imported on first use: a command job never loads the sweep schemas
    supported: dict[str, tuple[str, str]]
    known: tuple[str, ...] = ()  # real Azure ML types this project does not handle yet

    def load(self, data):
        name = data.get("type", "command")
        if not isinstance(name, str):
            raise ValidationError({"type": [f"expected a string, got {type_name(name)}"]})
        key = name.lower()
        if key in self.supported:
            return _schema(*self.supported[key]).load(data)
        if key in self.known:
            raise ValidationError({"type": [f"not supported yet: {key} {self.kind}s"]})
        choices = tuple(self.supported) + self.known
        raise ValidationError({"type": [f"invalid value {name!r}: expected one of {', '.join(choices)}"
                                        + suggest(name, choices)]})


class JobSchema(_Dispatch):
    kind = "job"
    supported = {"command": ("jobs", "CommandJobSchema"), "sweep": ("sweep", "SweepJobSchema"),
                 "pipeline": ("pipelines", "PipelineJobSchema"), "spark": ("spark", "SparkJobSchema")}
    known = ("automl", "parallel", "import", "data_transfer", "finetuning", "distillation")


class ComponentSchema(_Dispatch):
    kind = "component"
    supported = {"command": ("jobs", "CommandComponentSchema"), "pipeline": ("pipelines", "PipelineComponentSchema"),
                 "parallel": ("pipelines", "ParallelComponentSchema"), "spark": ("spark", "SparkComponentSchema")}
    known = ("import", "data_transfer", "flow_parallel")
