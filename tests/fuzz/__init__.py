"""Fuzzing the whole path: HTTP request -> log -> loader -> store -> reports."""
