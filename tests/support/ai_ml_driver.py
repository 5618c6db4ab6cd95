"""Runs inside the azure-ai-ml environment: drives azure-ai-ml, unchanged, against an `azml server --tls` and prints
{operation: "ok" | the error} as JSON. Arguments: endpoint, token, a scratch folder, and the names of a sweep and a
pipeline (submitted by the caller) to download once they have ended; the caller has also made the batch endpoint
`dl-batch` with its deployment `sums`, which this invokes. The caller makes the server's certificate trusted
(REQUESTS_CA_BUNDLE).
"""
import json
import sys
import time
import warnings
from pathlib import Path

import jwt  # PyJWT, an azure-ai-ml dependency

warnings.simplefilter("ignore")

from azure.ai.ml import Input, MLClient, Output, command
from azure.ai.ml.dsl import pipeline as dsl_pipeline
from azure.ai.ml.entities import AmlCompute, Data, Environment, Model
from azure.core.credentials import AccessToken, AccessTokenInfo

endpoint, token, scratch, sweep, pipeline = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4], sys.argv[5]


class SignedToken:
    """JWTs for the audience asked, signed with the server's token, as `azureml_v2.local.ServerCredential` gives
    them: azure-ai-ml reads its token's audience before it submits a pipeline job."""

    def _mint(self, scopes):
        now = int(time.time())
        claims = {"aud": scopes[0].removesuffix("/.default").rstrip("/"), "iat": now, "exp": now + 3600}
        return jwt.encode(claims, token, algorithm="HS256"), now + 3600

    def get_token(self, *scopes, **kwargs):
        return AccessToken(*self._mint(scopes))

    def get_token_info(self, *scopes, options=None):
        return AccessTokenInfo(*self._mint(scopes))


cloud = {"azure_portal": endpoint + "/", "resource_manager": endpoint + "/", "aml_resource_id": endpoint + "/",
         "active_directory": "https://login.microsoftonline.com/", "storage_endpoint": "core.windows.net",
         "registry_discovery_endpoint": endpoint + "/"}
ml = MLClient(SignedToken(), "00000000-0000-0000-0000-000000000000", "local", "local", cloud="AzureMLLocal",
              cloud_metadata=cloud, show_progress=False, enable_telemetry=False)
results = {}


def op(name, fn):
    try:
        value = fn()
        results[name] = "ok"
        return value
    except Exception as exc:  # every failure is a result
        results[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
        return None


op("workspaces.get", lambda: ml.workspaces.get("local"))
op("datastores.list", lambda: list(ml.datastores.list()))
op("datastores.get_default", lambda: ml.datastores.get_default())
op("compute.list", lambda: list(ml.compute.list()))
op("environments.create_or_update",
   lambda: ml.environments.create_or_update(Environment(name="ai-env", version="1", image="python:3.11-slim")))
op("environments.get", lambda: ml.environments.get("ai-env", version="1"))
op("environments.list", lambda: list(ml.environments.list()))
op("data.create_or_update", lambda: ml.data.create_or_update(
    Data(name="ai-data", version="1", path="https://example.com/iris.csv", type="uri_file")))
op("data.get", lambda: ml.data.get("ai-data", version="1"))
op("data.list", lambda: list(ml.data.list()))
op("models.create_or_update", lambda: ml.models.create_or_update(
    Model(name="ai-model", version="1", path="https://example.com/model.pkl")))
op("models.get", lambda: ml.models.get("ai-model", version="1"))
op("models.list", lambda: list(ml.models.list()))
op("components.create_or_update", lambda: ml.components.create_or_update(
    command(name="ai_comp", version="1", command="echo hi", environment="azureml:ai-env:1").component))
op("components.get", lambda: ml.components.get("ai_comp", version="1"))
op("components.list", lambda: list(ml.components.list()))
job = op("jobs.create_or_update", lambda: ml.jobs.create_or_update(
    command(command="sleep 60", environment="azureml:ai-env:1", compute="local", experiment_name="ai")))
if job is not None:
    results["job"] = job.name
    op("jobs.get", lambda: ml.jobs.get(job.name))
    op("jobs.list", lambda: list(ml.jobs.list()))
    op("jobs.begin_cancel", lambda: ml.jobs.begin_cancel(job.name).result())
    op("jobs.stream", lambda: ml.jobs.stream(job.name))
# local files: uploaded to the datastore (data, models) or a pending upload (code) on the server's blob endpoint
(scratch / "iris.csv").write_text("a,b\n1,2\n")
(scratch / "model" / "sub").mkdir(parents=True)
(scratch / "model" / "weights.bin").write_bytes(bytes(range(256)) * 4096)  # 1 MiB
(scratch / "model" / "sub" / "config.json").write_text("{}")
(scratch / "src").mkdir()
(scratch / "src" / "main.py").write_text("print('hello from uploaded code')\n")
op("data.create_or_update (local file)", lambda: ml.data.create_or_update(
    Data(name="ai-local", version="1", path=str(scratch / "iris.csv"), type="uri_file")))
op("models.create_or_update (local folder)", lambda: ml.models.create_or_update(
    Model(name="ai-local-model", version="1", path=str(scratch / "model"))))
op("components.create_or_update (local code)", lambda: ml.components.create_or_update(
    command(name="ai_code", version="1", code=str(scratch / "src"), command="python main.py",
            environment="azureml:ai-env:1").component))
coded = op("jobs.create_or_update (local code)", lambda: ml.jobs.create_or_update(
    command(code=str(scratch / "src"), command="python main.py", environment="azureml:ai-env:1", compute="local",
            experiment_name="ai")))
if coded is not None:
    results["coded_job"] = coded.name
    op("jobs.stream (local code)", lambda: ml.jobs.stream(coded.name))  # prints the job's log as it grows
# a job with a file in ./outputs and named uri_folder and uri_file outputs, then its files downloaded as the service
# lays them out
(scratch / "train").mkdir()
(scratch / "train" / "train.py").write_text(
    "import os, sys\n"
    "os.makedirs('outputs', exist_ok=True)\n"
    "open('outputs/metrics.json', 'w').write('{\"acc\": 0.9}')\n"
    "os.makedirs(os.path.join(sys.argv[1], 'sub'), exist_ok=True)\n"
    "open(os.path.join(sys.argv[1], 'sub', 'model.bin'), 'wb').write(bytes(range(256)) * 64)\n"
    "open(sys.argv[2], 'w').write('id,score\\n1,0.9\\n')\n"
    "print('trained')\n")
trained = op("jobs.create_or_update (named output)", lambda: ml.jobs.create_or_update(
    command(code=str(scratch / "train"), command="python train.py ${{outputs.model}} ${{outputs.score}}",
            outputs={"model": Output(type="uri_folder"), "score": Output(type="uri_file")},
            environment="azureml:ai-env:1", compute="local",
            experiment_name="ai")))
if trained is not None:
    results["trained_job"] = trained.name
    ml.jobs.stream(trained.name)
    op("jobs.download", lambda: ml.jobs.download(trained.name, download_path=scratch / "dl-default"))
    op("jobs.download (output_name)", lambda: ml.jobs.download(trained.name, download_path=scratch / "dl-named",
                                                               output_name="model"))
    op("jobs.download (output_name, uri_file)", lambda: ml.jobs.download(
        trained.name, download_path=scratch / "dl-file", output_name="score"))
    op("jobs.download (all)", lambda: ml.jobs.download(trained.name, download_path=scratch / "dl-all", all=True))
# a pipeline of azure-ai-ml's own, on a cluster (azure-ai-ml itself cannot submit one with compute "local")
op("compute.begin_create_or_update (cluster)", lambda: ml.compute.begin_create_or_update(
    AmlCompute(name="ai-cluster", max_instances=2)).result())
make = command(command="echo made > ${{outputs.out}}/data.txt", environment="azureml:ai-env:1",
               outputs={"out": Output(type="uri_folder")})


@dsl_pipeline(compute="ai-cluster", experiment_name="ai")
def made():
    return {"result": make().outputs.out}


ours = op("jobs.create_or_update (pipeline)", lambda: ml.jobs.create_or_update(made()))
# a batch invocation: the local folder is uploaded, the deployment scores its files
(scratch / "numbers").mkdir()
for i in range(3):
    (scratch / "numbers" / f"n{i}.txt").write_text(f"{i} {i * 10}")
batch = op("batch_endpoints.invoke", lambda: ml.batch_endpoints.invoke(
    endpoint_name="dl-batch", deployment_name="sums", inputs={"data": Input(type="uri_folder",
                                                                          path=str(scratch / "numbers"))}))
ended = [sweep, pipeline] + [job.name for job in (ours, batch) if job is not None]
for _ in range(600):  # the jobs run meanwhile; azure-ai-ml downloads a job that has ended
    if all(ml.jobs.get(name).status in ("Completed", "Failed", "Canceled") for name in ended):
        break
    time.sleep(0.5)
if ours is not None:
    results["ai_pipeline"] = ours.name


    def completed(name):
        status = ml.jobs.get(name).status
        if status != "Completed":
            raise RuntimeError(f"pipeline {name} is {status}")

    op("jobs.get (pipeline, completed)", lambda: completed(ours.name))
    op("jobs.download (pipeline, its own)", lambda: ml.jobs.download(
        ours.name, download_path=scratch / "dl-ai-pipeline", output_name="result"))
if batch is not None:
    results["batch_job"] = batch.name
    op("jobs.download (batch)", lambda: ml.jobs.download(batch.name, download_path=scratch / "dl-batch"))
op("jobs.download (sweep)", lambda: ml.jobs.download(sweep, download_path=scratch / "dl-sweep"))
op("jobs.download (pipeline)", lambda: ml.jobs.download(pipeline, download_path=scratch / "dl-pipeline-default"))
op("jobs.download (pipeline, output_name)", lambda: ml.jobs.download(
    pipeline, download_path=scratch / "dl-pipeline-output_name", output_name="result"))
op("jobs.download (pipeline, all)", lambda: ml.jobs.download(pipeline, download_path=scratch / "dl-pipeline-all",
                                                            all=True))
print(json.dumps(results))
