"""The ARM and MLflow REST APIs of the local workspace, and its HTTP server."""
