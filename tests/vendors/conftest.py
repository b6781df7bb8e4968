from __future__ import annotations

from tests.support.fixtures import anyio_backend, h

__all__ = ["anyio_backend", "h"]
