"""What the demo's tests share: the end of their data sets and their properties' keys."""

from __future__ import annotations

from datetime import UTC, datetime

END = datetime(2026, 3, 1, 12, tzinfo=UTC)


def keys_for(*names: str) -> dict[str, dict[str, str]]:
    """Each property's keys, as ``trackway property add NAME --format json`` prints them."""
    return {
        p: {
            "property": p,
            "convead_app_key": f"{n:032x}",
            "ga4_measurement_id": f"G-DEMO{n:05d}",
            "ga4_api_secret": f"secret-{p}",
            "commanders_act_site": str(1000 + n),
            "commanders_act_token": f"token-{p}",
            "collect_key": f"tw_{p}",
        }
        for n, p in enumerate(names, 1)
    }
