"""Placeholder: this dialect is being written."""
