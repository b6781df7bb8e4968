"""Derived state kept current on ingest: identities, carts, orders, Koalect procedures."""
