"""Operation groups of MLClient: one per kind of resource, the same for Azure and the local workspace."""
