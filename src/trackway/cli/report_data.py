"""A report's sections for the command line: through the running server, else from the store.

``trackway report`` prints them whole; ``trackway demo`` prints the first rows of each.
"""

from __future__ import annotations

from pathlib import Path

import click

from trackway import reports
from trackway.cli.common import fail, store_access
from trackway.errors import TrackwayError
from trackway.reports import render
from trackway.server.scoping import existing


def fetch_report(
    name: str, values: dict[str, str | None], data: Path, config_file: Path | None
) -> reports.Sections:
    """Report ``name`` through the running server, else from the store directly."""
    query = {k: v for k, v in values.items() if v}
    with store_access(data, config_file) as (client, store, cfg):
        if client is not None:
            # not client.call: its JSON has floats, a report's decimals are exact (render.from_json)
            response = client.request("GET", f"/api/reports/{name}", params=query)
            if response.status_code != 200:
                raise click.ClickException(
                    response.json().get("error", f"the server answered {response.status_code}")
                )
            return render.from_json(response.content)[1]
        assert store is not None
        threads = cfg.server["report_threads"] if cfg is not None else 0
        steps = cfg.funnel_steps() if cfg is not None else {}
        try:
            params = reports.parse(query, property_steps=steps)
            existing(store, params.property, cfg.properties if cfg is not None else {})
            return reports.run(store, name, params, threads=threads)
        except TrackwayError as exc:
            raise fail(exc) from None
