"""Forwarding to destinations (issue 15): what is sent where, as pure functions.

A destination type (``ga4``, ``commanders-act``, ``convead``, ``segment``, ``webhook``)
turns a batch of stored canonical events into the HTTP requests its vendor accepts
(:class:`~trackway.destinations.base.Encoder`); selecting which events go (names,
dialects, consent, identifiers) is :mod:`trackway.destinations.select`. Both do no I/O:
the delivery loop, a consumer of the durable log with its own committed position, is a
thin shell around them.
"""
