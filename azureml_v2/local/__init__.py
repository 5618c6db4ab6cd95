"""The embedded local workspace: the Azure ML REST API (service) over SQLite and file datastores (store)."""
