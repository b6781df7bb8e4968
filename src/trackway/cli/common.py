"""Options every command that touches the store or the configuration shares, and how
such a command reaches the store: through the running server, or directly."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import click
import httpx
import msgspec

from trackway import config as configuration
from trackway.config import Config
from trackway.destinations.runner import retention
from trackway.errors import ConfigError, StoreError, TrackwayError
from trackway.ingest.freshness import STALE_HEADER
from trackway.ingest.loader import Loader, loader_options
from trackway.server.supervisor import Paths, running
from trackway.store.duck import DuckStore, configured

F = TypeVar("F", bound=Callable[..., Any])


def data_options(func: F) -> F:
    func = click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Configuration file (default: DIR/trackway.toml).",
    )(func)
    func = click.option(
        "--data",
        "data",
        type=click.Path(file_okay=False, path_type=Path),
        default=lambda: os.environ.get("TRACKWAY_DATA", "data"),
        show_default="data, or $TRACKWAY_DATA",
        help="Data directory: configuration, log, store.",
    )(func)
    return func


NO_WAIT = "trackway.no_wait"  # click context meta key set by --no-wait


def _no_wait(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    ctx.meta[NO_WAIT] = value
    return value


def property_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--property``'s check: an empty name is refused (it was taken for no --property,
    and the command covered every property)."""
    if value is not None and not value.strip():
        raise click.BadParameter(
            f"expected a property name, got {value!r}; leave --property out to cover every property"
        )
    return value


def store_options(func: F) -> F:
    """:func:`data_options` and ``--no-wait``, for the commands that read the store."""
    func = click.option(
        "--no-wait",
        is_flag=True,
        expose_value=False,
        callback=_no_wait,
        help="Answer from the store as it is, without first waiting (up to read_wait_seconds) for the "
        "loader to store what was acknowledged before the command began.",
    )(func)
    return data_options(func)


def load_config(data: Path, config_file: Path | None, *, required: bool = True) -> Config | None:
    path = configuration.config_path(data, config_file)
    if not path.exists() and not required:
        return None
    try:
        return configuration.load(path, sending=False)  # the server's env:VAR need not be set here
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


_exact = msgspec.json.Decoder(float_hook=Decimal)  # an answer's numbers with a fraction, exact


class AdminClient:
    """The running server's admin API over its Unix socket."""

    def __init__(self, socket_path: str, *, wait: bool = True) -> None:
        self.http = httpx.Client(
            transport=httpx.HTTPTransport(uds=socket_path), base_url="http://store", timeout=None
        )
        self.wait = wait  # read-your-writes (server/admin.py): off, the store answers as it is

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """The answer as it came (for a body read otherwise than as JSON: a report's exact
        decimals), asked with ``wait=0`` under ``--no-wait``, the store's warning printed
        when it answered without waiting for the loader."""
        if not self.wait:
            kw["params"] = {**(kw.get("params") or {}), "wait": "0"}
        try:
            response = self.http.request(method, path, **kw)
        except httpx.TransportError as exc:  # the server stopped or died under the request: a traceback
            raise click.ClickException(
                f"the server stopped answering during {method} {path} ({type(exc).__name__}: {exc}); "
                "what was asked may or may not have been done: check `trackway serve`'s log, start it "
                "again if it stopped, and run the command again (forget, replay and retry can be repeated)"
            ) from None
        stale = response.headers.get(STALE_HEADER)
        if stale:
            click.echo(f"warning: {stale}", err=True)
        return response

    def call(self, method: str, path: str, **kw: Any) -> Any:
        """The answer's JSON, its numbers with a fraction read as Decimal (a float would
        print 1234567890123456.78 as 1234567890123456.8: the same command gave other
        amounts with the server running than stopped)."""
        response = self.request(method, path, **kw)
        try:
            body = _exact.decode(response.content)
        except msgspec.DecodeError:
            raise click.ClickException(
                f"expected JSON from {method} {path}, got {response.content[:80]!r} "
                f"(status {response.status_code}); check `trackway serve`'s log"
            ) from None
        if response.status_code != 200:
            raise click.ClickException(body.get("error", f"the server answered {response.status_code}"))
        return body


@contextlib.contextmanager
def store_access(
    data: Path, config_file: Path | None
) -> Iterator[tuple[AdminClient | None, DuckStore | None, Config | None]]:
    """(admin client, None) when a server runs on ``data``; else (None, store) with
    the log loaded first (what was acknowledged before a stop or a crash)."""
    state = running(data)
    cfg = load_config(data, config_file, required=False)
    if state is not None:
        ctx = click.get_current_context(silent=True)
        yield AdminClient(state.socket, wait=not (ctx is not None and ctx.meta.get(NO_WAIT))), None, cfg
        return
    paths = Paths(data)
    if not paths.database.exists() and not paths.log.exists():
        raise click.ClickException(f"no store in {data}: run `trackway serve --data {data}` first")
    # What the store and its loader write in the data directory (a .damaged note, the
    # quarantine) is the owner's alone, as when the server writes it (serve's umask); what
    # the command itself writes after (an export's file) is as the user's umask makes it
    umask = os.umask(0o077)
    try:
        try:
            # the server's store settings (no configuration file: their defaults, DuckStore's)
            store = DuckStore(paths.database, **(configured(cfg.server) if cfg is not None else {}))
        except StoreError as exc:
            raise click.ClickException(str(exc)) from None
        try:
            # The destinations' retention, as the server's loader has it: a segment a destination
            # has not read is kept (deleted here, the destination skipped what it held).
            options = loader_options(cfg.server) if cfg is not None else {}
            Loader(paths.log, store, lambda: cfg, **options, retain=retention(data, lambda: cfg)).catch_up()
        except BaseException:
            store.close()
            raise
    finally:
        os.umask(umask)
    try:
        yield None, store, cfg
    finally:
        store.close()


def fail(exc: TrackwayError) -> click.ClickException:
    return click.ClickException(str(exc))
