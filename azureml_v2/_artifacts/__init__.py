"""Artifacts: code snapshots (ignore rules, content hash) and upload/download to a datastore."""
