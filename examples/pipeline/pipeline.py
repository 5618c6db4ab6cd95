"""The pipeline of pipeline.yml, built in Python: `python pipeline.py` submits it to the local workspace."""
from pathlib import Path

from azureml_v2 import MLClient, load_component
from azureml_v2.dsl import pipeline

COMPONENTS = Path(__file__).resolve().parent / "components"
train = load_component(COMPONENTS / "train.yml")
evaluate = load_component(COMPONENTS / "evaluate.yml")
register = load_component(COMPONENTS / "register.yml")


@pipeline(display_name="diabetes-train-evaluate-register", experiment_name="diabetes-pipeline",
          description="Train a regressor, evaluate it on held-out data, and keep it as the pipeline's model if good "
                      "enough.", default_compute="local")
def diabetes(n_estimators: int = 200, max_rmse: float = 70.0):
    train_step = train(n_estimators=n_estimators)
    evaluate_step = evaluate(model=train_step.outputs.model, test_data=train_step.outputs.test_data)
    register_step = register(model=train_step.outputs.model, metrics=evaluate_step.outputs.metrics,
                             max_rmse=max_rmse)
    return {"model": register_step.outputs.registered_model}


if __name__ == "__main__":
    job = MLClient().jobs.create_or_update(diabetes())
    print(f"created {job.name}: azml job stream -n {job.name}")
