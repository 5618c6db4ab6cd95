"""The host of one batch endpoint: it answers the endpoint's invocations with scoring jobs.

    python -m azureml_v2.local.executors.batch --home H --workspace WS --endpoint NAME

Started, supervised and stopped as an online endpoint's host is (:mod:`azureml_v2.local.executors.online`): one
detached process per endpoint holding ``host.lock``, its port in ``state.json``. A batch endpoint and its
deployments are provisioned as soon as they are stored; the work is done by the jobs. ``POST /jobs`` (the
endpoint's scoring URI, as on Azure ML) with ``{"properties": {"InputData": {name: {"JobInputType": ..., "Uri":
...}}}}`` creates a job for the deployment named by the ``azureml-model-deployment`` header, else the endpoint's
default, and answers it. For a model deployment, as on Azure ML, that is a pipeline job (tagged ``azureml.batchrun``)
whose one step ``batchscoring`` is a ``Parallel`` job (:mod:`azureml_v2.local.executors.parallel`; its component an
anonymous parallel component made from the deployment): it runs the deployment's ``init()``/``run(mini_batch)`` over
the files of a ``uri_folder`` (or the rows of an ``mltable``), with its model at ``AZUREML_MODEL_DIR`` as Azure ML
lays it out, and writes ``predictions.csv`` (append_row) or a summary to its output ``score``, the pipeline's
``score``. An MLflow model without a scoring script is scored by
:mod:`azureml_v2.local.executors.mlflow_batch_scoring` in the environment of the model's own conda file. A pipeline
component deployment runs as a pipeline job (one node: the component, its inputs bound to the invocation's; its
default compute is this machine).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import uuid
from pathlib import Path

from ..._contract import (BATCH_DEPLOYMENT_PROPERTY, BATCH_DEPLOYMENT_TAG, BATCH_ENDPOINT_PROPERTY, BATCH_JOB_TYPE_TAG,
                           BATCH_RUN_TAG, PIPELINE_JOB_TYPE, SCORE_OUTPUT, SCORING_NODE, seconds_from_iso)
from ..core import serving
from ..core.assets import put_asset_version
from ..core.jobs import Jobs
from ..core.refs import RefError
from ..core.workspace import NotFound, workspace_id
from .online import DeploymentError, Host, error_answer, host_main

SCORER = Path(__file__).with_name("mlflow_batch_scoring.py")
_INPUT_TYPES = {"urifolder": "uri_folder", "urifile": "uri_file", "mltable": "mltable", "literal": "literal"}
_JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,254}")


class BatchHost(Host):
    kind = "batch"

    def reconcile(self) -> None:
        """Provision what is stored at once; end deletes at once (running jobs go on)."""
        if self.record["state"] in ("Creating", "Updating"):
            self.store.set_provisioning(self.ws, self.kind, self.endpoint, None, "Succeeded")
            self.record = {**self.record, "state": "Succeeded"}
        for record in self.store.list_deployments(self.ws, self.kind, self.endpoint):
            if record["state"] == "Deleting":
                self.store.finish_endpoint_delete(self.ws, self.kind, self.endpoint, record["name"])
            elif record["state"] in ("Creating", "Updating"):
                self.store.set_provisioning(self.ws, self.kind, self.endpoint, record["name"], "Succeeded")

    def supervise(self) -> None:
        pass  # no servers: supervision of the jobs is the app's

    def write_state(self) -> None:
        """state.json: this process and its port."""
        if self._state_text is None:
            serving.write_json(self.folder / "state.json", {"pid": os.getpid(), "port": self.port})
            self._state_text = "written"

    async def respond(self, method: bytes, target: bytes, headers: dict, body: bytes):
        if target.split(b"?", 1)[0] != b"/jobs" or method != b"POST":
            return error_answer(404, "a batch endpoint answers POST /jobs")
        if not self.refresh():
            return error_answer(404, f"batch endpoint {self.endpoint!r} not found")
        try:
            request = json.loads(body or b"{}")
            properties = request.get("properties") or {}
            # InputData as the REST reference writes it, inputData as azure-ai-ml's invoke sends it
            inputs = properties.get("InputData") or properties.get("inputData") or {}
            if not isinstance(inputs, dict):
                raise KeyError("InputData")
        except (ValueError, KeyError, TypeError):
            return error_answer(400, 'the body must be {"properties": {"InputData": {"<name>": {"JobInputType": '
                               '"UriFolder", "Uri": "..."}}}}')
        named = headers.get(b"azureml-model-deployment", b"").decode("latin-1") or \
            (self.record["doc"]["properties"].get("defaults") or {}).get("deploymentName")
        if not named:
            return error_answer(400, f"batch endpoint {self.endpoint!r} has no default deployment: name one with the "
                               "azureml-model-deployment header or set defaults.deployment_name")
        try:
            deployment = self.store.get_deployment(self.ws, self.kind, self.endpoint, named)
            given = headers.get(serving.JOB_NAME_HEADER.encode(), b"").decode("latin-1")
            if given and not _JOB_NAME.fullmatch(given):
                raise ValueError(f"{serving.JOB_NAME_HEADER}: {given[:100]!r} is not a job name")
            name, props = self.scoring_job(deployment, inputs, given or None)
            record, _ = Jobs(self.store, self.record["modified_by"]).create(self.ws, name, props)
        except NotFound as exc:
            return error_answer(404, str(exc))
        except (DeploymentError, RefError, OSError, ValueError) as exc:
            return error_answer(400, str(exc))
        answer = {"id": f"{workspace_id(self.ws)}/jobs/{name}", "name": name, "type": "Microsoft.MachineLearningServices/"
                  "workspaces/jobs", "properties": {**record["doc"], "status": record["status"]}}
        return 200, [(b"Content-Type", b"application/json")], json.dumps(answer).encode()

    def scoring_job(self, deployment: dict, inputs: dict, name: str | None = None) -> tuple[str, dict]:
        """The job that scores `inputs` (InputData) with a stored batch deployment -> (name, properties): a pipeline
        of one parallel step (a model deployment) or of the deployment's component."""
        props = deployment["doc"]["properties"]
        name = name or f"batchjob-{uuid.uuid4()}"
        job_inputs = _job_inputs(inputs)
        config = props.get("deploymentConfiguration") or {}
        if config.get("deploymentConfigurationType") == "PipelineComponent":
            return name, self.pipeline_job(deployment, config, job_inputs)
        first = next((key for key, value in job_inputs.items() if value["jobInputType"] != "literal"), None)
        if first is None:
            raise ValueError("a model deployment scores a data input: give InputData (UriFolder, UriFile or MLTable)")
        folder = self.folder / "jobs" / name
        folder.mkdir(parents=True, exist_ok=True)  # a named job invoked again is the same job
        model = props.get("model") or {}
        reference = model.get("assetId") if isinstance(model, dict) else model
        model_dir, model_path, model_type = self._model(reference, folder)
        code = props.get("codeConfiguration") or {}
        if code.get("codeId") and code.get("scoringScript"):
            code_id, script, environment_id = code["codeId"], code["scoringScript"], props.get("environmentId")
        elif model_type == "mlflowmodel" and model_path is not None:
            code_id, script = self._scorer_code(), SCORER.name
            environment_id = props.get("environmentId") or self._model_environment(model_path)
        else:
            raise DeploymentError("a batch deployment needs code_configuration (code and scoring_script) unless its "
                                  "model is an MLflow model (type mlflow_model)")
        retry = props.get("retrySettings") or {}
        timeout = retry.get("timeout")
        task = {"type": "run_function", "entry_script": script, "code": code_id, "environment": environment_id}
        if props.get("outputAction", "AppendRow") == "AppendRow":
            task["append_row_to"] = "${{outputs.score}}"
        spec = {"type": "parallel", "is_deterministic": False,  # an invocation always scores
                "inputs": {key: {"type": value["jobInputType"] if value["jobInputType"] != "literal" else "string"}
                           for key, value in job_inputs.items()},
                "outputs": {SCORE_OUTPUT: {"type": "uri_folder"}}, "task": task,
                "input_data": "${{inputs.%s}}" % first,
                "mini_batch_size": props.get("miniBatchSize") or 10,
                "error_threshold": props.get("errorThreshold", -1),
                "max_concurrency_per_instance": props.get("maxConcurrencyPerInstance") or 1,
                "retry_settings": {"max_retries": retry.get("maxRetries", 3),
                                   "timeout": seconds_from_iso(timeout) if timeout else 30},
                "logging_level": str(props.get("loggingLevel") or "Info").upper()}
        node = {"type": "parallel", "name": SCORING_NODE, "componentId": self._component(spec),
                "inputs": _bound_inputs(job_inputs),
                "outputs": {SCORE_OUTPUT: {"value": "${{parent.outputs.%s}}" % SCORE_OUTPUT, "type": "literal"}},
                "computeId": props.get("compute"),
                "resources": {"instance_count": int((props.get("resources") or {}).get("instanceCount") or 1)},
                "environment_variables": {**(props.get("environmentVariables") or {}),
                                          "AZUREML_MODEL_DIR": str(model_dir)},
                "output_file_name": props.get("outputFileName") or "predictions.csv",
                **({"input_kind": "files"} if job_inputs[first]["jobInputType"] == "uri_file" else {})}
        return name, {"jobType": "Pipeline", "experimentName": self.endpoint, "displayName": name,
                      "inputs": job_inputs, "outputs": {SCORE_OUTPUT: {"jobOutputType": "uri_folder"}},
                      "tags": {BATCH_RUN_TAG: "true", BATCH_DEPLOYMENT_TAG: deployment["name"]},
                      "properties": {BATCH_ENDPOINT_PROPERTY: self.endpoint,
                                     BATCH_DEPLOYMENT_PROPERTY: deployment["name"]},
                      "jobs": {SCORING_NODE: {k: v for k, v in node.items() if v is not None}}}

    def pipeline_job(self, deployment: dict, config: dict, job_inputs: dict) -> dict:
        """The pipeline job of a pipeline component deployment: one node running the component, its inputs bound to
        the job's. The component's default compute is this machine's."""
        component = (config.get("componentId") or {}).get("assetId")
        if not component:
            raise DeploymentError(f"deployment {deployment['name']!r} names no component")
        settings = {k: v for k, v in (config.get("settings") or {}).items() if k != "default_compute"}
        node = {"type": "pipeline", "name": "main", "componentId": component, "inputs": _bound_inputs(job_inputs)}
        return {"jobType": "Pipeline", "experimentName": self.endpoint, "inputs": job_inputs, "settings": settings,
                "tags": {BATCH_RUN_TAG: "true", BATCH_DEPLOYMENT_TAG: deployment["name"],
                         BATCH_JOB_TYPE_TAG: PIPELINE_JOB_TYPE},
                "properties": {BATCH_ENDPOINT_PROPERTY: self.endpoint, BATCH_DEPLOYMENT_PROPERTY: deployment["name"]},
                "jobs": {"main": node}}

    def _scorer_code(self) -> str:
        """The MLflow batch scorer as an anonymous code asset (versioned by its content)."""
        digest = hashlib.sha256(SCORER.read_bytes()).hexdigest()[:16]
        folder = self.home / "endpoints" / "scorers" / digest
        if not (folder / SCORER.name).exists():
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy2(SCORER, folder / SCORER.name)
        put_asset_version(self.store, self.ws, "codes", "azureml-mlflow-batch-scorer", digest,
                          {"codeUri": str(folder), "isAnonymous": True}, self.record["modified_by"])
        return f"{workspace_id(self.ws)}/codes/azureml-mlflow-batch-scorer/versions/{digest}"

    def _component(self, spec: dict) -> str:
        """A model deployment's scoring step as an anonymous parallel component (versioned by its content)."""
        digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
        put_asset_version(self.store, self.ws, "components", "azureml_batch_scoring", digest,
                          {"componentSpec": {**spec, "name": "azureml_batch_scoring", "version": digest},
                           "isAnonymous": True}, self.record["modified_by"])
        return f"{workspace_id(self.ws)}/components/azureml_batch_scoring/versions/{digest}"

    def _model_environment(self, model_path: Path) -> str:
        """The environment of an MLflow model's own conda file, as an anonymous environment asset."""
        environment = self._mlflow_environment(model_path)
        digest = hashlib.sha256(json.dumps(environment, sort_keys=True).encode()).hexdigest()[:16]
        put_asset_version(self.store, self.ws, "environments", "azureml-mlflow-model-env", digest,
                          {**environment, "isAnonymous": True}, self.record["modified_by"])
        return f"{workspace_id(self.ws)}/environments/azureml-mlflow-model-env/versions/{digest}"


def _bound_inputs(job_inputs: dict) -> dict:
    """A node's inputs, each bound to the pipeline's input of its name."""
    return {key: {"job_input_type": "literal", "value": "${{parent.inputs.%s}}" % key} for key in job_inputs}


def _job_inputs(inputs: dict) -> dict:
    """An invocation's InputData as a job's inputs."""
    job_inputs = {}
    for key, item in inputs.items():
        kind = str(item.get("JobInputType") or item.get("jobInputType") or "UriFolder").replace("_", "").lower()
        if kind == "literal" and ("Value" in item or "value" in item):
            job_inputs[key] = {"jobInputType": "literal", "value": str(item.get("Value", item.get("value")))}
            continue
        if kind not in _INPUT_TYPES or not (item.get("Uri") or item.get("uri")):
            raise ValueError(f"input {key!r}: expected a JobInputType of UriFolder, UriFile or MLTable and a Uri, or "
                             "Literal and a Value")
        job_inputs[key] = {"jobInputType": _INPUT_TYPES[kind], "uri": item.get("Uri") or item.get("uri"),
                           "mode": "ReadOnlyMount"}
    return job_inputs


def main(argv: list[str] | None = None) -> int:
    return host_main(BatchHost, __name__, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
