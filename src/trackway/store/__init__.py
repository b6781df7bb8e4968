"""Where events live: DuckDB by default, memory for tests; one row mapping for both."""
