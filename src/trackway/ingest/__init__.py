"""Ingest: the log (commit point), records, and the loader that moves them into the store."""
