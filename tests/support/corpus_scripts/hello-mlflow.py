"""Stand-in for the corpus's hello-mlflow.py: logs a parameter and a metric to the job's MLflow run."""
import mlflow

mlflow.log_param("greeting", "hello")
for step, value in enumerate((0.5, 0.25, 0.125)):
    mlflow.log_metric("halving", value, step=step)
print("hello-mlflow: logged halving x3")
