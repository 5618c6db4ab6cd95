"""HTTP layer: the azure-core pipeline (policies, auth, logging) and the in-process transport."""
