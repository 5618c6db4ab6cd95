"""The processes that run local jobs, one module per job type (see azureml_v2.local.core.executors)."""
