"""The per-event app: one process per event over its SQLite database."""
