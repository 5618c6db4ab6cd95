"""The `azml` command line: groups and verbs as `az ml`, on the local workspace or Azure ML."""
