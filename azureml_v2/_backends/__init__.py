"""What differs between the workspaces an MLClient talks to: an Azure ML workspace (`azure`) or the local one
(`local`, in this process or served by `azml server`).

MLClient picks one backend when it is built; the operation groups send every request through its pipeline and
ask it for what differs (a job's log, child jobs and sweep trials, metrics, curated environments, credentials
for uploads), never which one it is. A capability a backend lacks raises `NotAvailableError`, which says what
to use instead. The modules load when a client is built, not when `azureml_v2` is imported.
"""
