"""What the local workspace does, apart from HTTP: job lifecycle and supervision, the executor contract, asset
versions and reference resolution, metrics."""
