"""The local workspace's files: SQLite databases (workspace.db, tracking.db) and the folders of its home."""
