"""Deploy the best model of the LightGBM sweep (../lightgbm/sweep.yml) to an online endpoint with blue/green
traffic (90/10) and to a batch endpoint, on the local workspace; then score a request and a folder of files.

    azml job create -f ../lightgbm/sweep.yml --stream      # once: the sweep whose best trial is deployed
    python deploy.py                                      # from this folder
"""
import json
import time
from pathlib import Path

from azureml_v2 import (MLClient, load_batch_deployment, load_batch_endpoint, load_model, load_online_deployment,
                        load_online_endpoint)
from azureml_v2.entities import BatchEndpointDefaults, Input

HERE = Path(__file__).parent
ml = MLClient()

# the model: outputs/model.txt of the best trial of the latest completed sweep
sweep = next(job for job in ml.jobs.list() if job.type == "sweep" and job.status == "Completed")
best = ml.jobs.get(sweep.name).properties["best_child_run_id"]
model = load_model(HERE / "model.yml",
                   params_override=[{"path": f"azureml://jobs/{best}/outputs/artifacts/paths/outputs/model.txt"}])
ml.models.create_or_update(model)

# online: blue and green, 90/10
ml.online_endpoints.begin_create_or_update(load_online_endpoint(HERE / "endpoint.yml")).result()
for name in ("blue", "green"):
    ml.online_deployments.begin_create_or_update(load_online_deployment(HERE / f"{name}.yml")).result()
endpoint = ml.online_endpoints.get("diabetes-endpoint")
endpoint.traffic = {"blue": 90, "green": 10}
ml.online_endpoints.begin_create_or_update(endpoint).result()
print("scoring URI:", endpoint.scoring_uri)
print("answer:", ml.online_endpoints.invoke("diabetes-endpoint", request_file=HERE / "sample-request.json"))

# batch: the files of data/, two per mini-batch, predictions.csv in the output `score` of the job's step batchscoring
ml.batch_endpoints.begin_create_or_update(load_batch_endpoint(HERE / "batch-endpoint.yml")).result()
ml.batch_deployments.begin_create_or_update(load_batch_deployment(HERE / "batch-deployment.yml")).result()
batch = ml.batch_endpoints.get("diabetes-batch")
batch.defaults = BatchEndpointDefaults(deployment_name="lightgbm")
ml.batch_endpoints.begin_create_or_update(batch).result()
job = ml.batch_endpoints.invoke("diabetes-batch", inputs={"data": Input(type="uri_folder", path=str(HERE / "data"))})
while (job := ml.jobs.get(job.name)).status not in ("Completed", "Failed", "Canceled"):
    time.sleep(1)
step = ml.jobs.get(f"{job.name}_batchscoring")
print("batch job:", job.name, job.status, json.loads(step.properties.get("azureml.parallel.summary", "{}")))
