"""The ``trackway`` command line."""
