"""Runs inside the reference environment (azure-ai-ml, never a dependency): reads [[path, kind], ...] as JSON on
stdin and prints {path: {"body": <azure-ai-ml's REST body>} | {"error": "..."}} as JSON.

The body is what azure-ai-ml builds from the YAML before its operations resolve references: an inline
environment stands as the anonymous version azure-ai-ml names it (`azureml:CliV2AnonymousEnvironment:<hash>`),
a local path as the path."""
import json
import logging
import os
import sys
import warnings

warnings.filterwarnings("ignore")
logging.disable(logging.CRITICAL)

from azure.ai.ml import load_component, load_data, load_datastore, load_environment, load_job, load_model  # noqa: E402
from azure.ai.ml._restclient.arm_ml_service._utils.model_base import SdkJSONEncoder  # noqa: E402
from azure.ai.ml.entities import Environment  # noqa: E402
from azure.ai.ml.entities._job.to_rest_functions import to_rest_job_object  # noqa: E402

LOADERS = {"job": load_job, "component": load_component, "data": load_data, "environment": load_environment,
           "model": load_model, "datastore": load_datastore}


class Encoder(SdkJSONEncoder):
    def default(self, o):
        if isinstance(o, Environment):
            return f"azureml:{o.name}:{o.version}"
        if isinstance(o, os.PathLike):
            return os.fspath(o)
        return super().default(o)


def main() -> None:
    out = {}
    for path, kind in json.load(sys.stdin):
        try:
            entity = LOADERS[kind](path)
            rest = to_rest_job_object(entity) if kind == "job" else entity._to_rest_object()
            out[path] = {"body": json.loads(json.dumps(rest, cls=Encoder, exclude_readonly=True))}
        except Exception as exc:  # noqa: BLE001 - reported per file
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            out[path] = {"error": f"{type(exc).__name__}: {first}"[:300]}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
