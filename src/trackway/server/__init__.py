"""The collector: wire-compatible endpoints around the core (see docs/architecture.md)."""
