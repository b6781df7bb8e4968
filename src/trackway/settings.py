"""Every setting of Trackway, declared once: name, type, default, help.

``trackway.toml`` holds them (``[server]`` for the server-wide ones, one
``[properties.NAME]`` table per property); ``docs/configuration.md`` is generated
from these declarations (``python -m trackway.docs_gen docs``). Any value may be
written as ``"env:VAR"`` to read it from the environment, which is how secrets are
kept out of the file; server settings can also be overridden with
``TRACKWAY_<NAME>`` (``TRACKWAY_PORT=9000``). Values in the file have TOML's types: a
number or a boolean is written without quotes (``port = 9000``, ``keep_log = true``), a
list as an array or one comma-separated string; text from the environment is read as the
setting's type (``1``/``true``/``yes``/``on``
and ``0``/``false``/``no``/``off`` for a boolean).
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from trackway import vendors
from trackway.errors import ConfigError


@dataclass(frozen=True)
class Setting:
    name: str
    type: type
    default: Any
    help: str
    secret: bool = False
    # A fresh value for a new property (`trackway property add`): keys and tokens.
    new: Callable[[], str] | None = field(default=None, compare=False)
    # An int setting's least and greatest values (None: no bound), checked as the file is read.
    bounds: tuple[int | None, int | None] = (None, None)
    # A further check of the value: what is wrong with it (expected, got), or None.
    check: Callable[[Any], str | None] | None = field(default=None, compare=False)

    @property
    def range_text(self) -> str:
        """The bounds in words ("" when none), for messages and the generated docs."""
        least, most = self.bounds
        if least is not None and most is not None:
            return f"from {least} to {most}"
        if least is not None:
            return f"at least {least}"
        return f"at most {most}" if most is not None else ""

    @property
    def env(self) -> str:
        return f"TRACKWAY_{self.name.upper()}"


KB = 1024
MB = 1024 * KB

# A memory size as DuckDB reads one (its memory_limit): a number and a unit, or a share of RAM.
# ASCII digits only: Python's \d takes other scripts' digits, which DuckDB refuses as the store opens.
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|kib|mib|gib|tib|%)\s*", re.IGNORECASE | re.ASCII)
_UNIT = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4}
_UNIT |= {"kib": KB, "mib": MB, "gib": 1024 * MB, "tib": 1024 * 1024 * MB}
MIN_STORE_MEMORY = 64 * 1000**2  # 64MB: less, and DuckDB fails its first queries out of memory
MAX_STORE_SIZE = 1024**5  # 1024TiB: far more, and DuckDB refuses it ("out of range") as the store opens


def _size(value: str) -> tuple[float, bool] | None:
    """``value`` as a number of bytes, or (True) a share of RAM in percent; None when it is
    neither."""
    m = _SIZE.fullmatch(value)
    if m is None:
        return None
    number, unit = float(m.group(1)), m.group(2).lower()
    return (number, True) if unit == "%" else (number * _UNIT[unit], False)


def memory_bytes(value: str) -> int | None:
    """``value`` (a size as DuckDB reads or prints one: 1GB, 953.6 MiB) in bytes; None
    for a share of RAM or what is not a size."""
    size = _size(value)
    return None if size is None or size[1] else round(size[0])


def memory_size_problem(value: str) -> str | None:
    """What is wrong with ``value`` as the store's memory limit, or None."""
    size = _size(value)
    if size is None:
        return (
            f"expected a memory size such as 1GB, 512MB or 2GiB, or a share of RAM such as 50%, got {value!r}"
        )
    number, share_of_ram = size
    if share_of_ram:
        if not 0 < number <= 100:
            return f"expected a share of RAM above 0% and at most 100%, got {value!r}"
        ram = _ram()
        share = number / 100 * ram
        if share < MIN_STORE_MEMORY:  # 0.001% passed, and the store failed to open with a traceback
            return (
                f"expected a share of RAM of at least 64MB, got {value!r}: {share / 1000**2:,.1f}MB of this "
                f"machine's {ram / 1000**3:,.1f}GB; give a larger share or a size such as 1GB"
            )
        return None
    if number < MIN_STORE_MEMORY:
        return f"expected at least 64MB, got {value!r}"
    return _too_large(number, value)


def _ram() -> int:
    """The machine's memory in bytes, as DuckDB reads a share of it."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _too_large(size: float, value: str) -> str | None:
    """The problem of a size over MAX_STORE_SIZE (a number of 400 digits is infinite), or None."""
    return f"expected at most 1024TiB, got {value!r}" if size > MAX_STORE_SIZE else None


# The store's memory limit and checkpoint threshold (store_memory_limit,
# store_checkpoint_threshold): DuckStore's defaults too.
STORE_MEMORY_LIMIT = "1GB"
SQL_TIMEOUT_S = 120  # sql_timeout_seconds: DuckStore.sql's default too
CHECKPOINT_THRESHOLD = "128MB"
MIN_CHECKPOINT_THRESHOLD = MB


def proxies_problem(value: str) -> str | None:
    """What is wrong with ``value`` as trusted_proxies, or None."""
    for item in (x.strip() for x in value.split(",")):
        if not item or item == "*":
            continue
        try:
            ipaddress.ip_network(item, strict=False) if "/" in item else ipaddress.ip_address(item)
        except ValueError:
            return (
                f"expected IP addresses or networks separated by commas (127.0.0.1, 10.0.0.0/8), * or "
                f"nothing, got {item!r} in {value!r}"
            )
    return None


def checkpoint_threshold_problem(value: str) -> str | None:
    """What is wrong with ``value`` as the store's checkpoint threshold, or None."""
    parsed = _size(value)
    if parsed is None or parsed[1]:
        return f"expected a size such as 128MB, 64MiB or 1GB (not a share of RAM), got {value!r}"
    size = parsed[0]
    if size < MIN_CHECKPOINT_THRESHOLD:
        return f"expected at least {MIN_CHECKPOINT_THRESHOLD // MB}MiB, got {value!r}"
    return _too_large(size, value)


_SERVER_CORE: tuple[Setting, ...] = (
    Setting("host", str, "127.0.0.1", "Address to listen on."),
    Setting("port", int, 8080, "TCP port to listen on.", bounds=(0, 65535)),
    Setting(
        "workers",
        int,
        2,
        "HTTP worker processes. Each has its own log; the store process loads them all. "
        "2 measured best on a 2-core machine (docs/performance.md).",
        bounds=(1, 64),
    ),
    Setting(
        "admin_token",
        str,
        "",
        "Token for /api/* across all properties. Empty: only per-property admin tokens work.",
        secret=True,
    ),
    Setting(
        "metrics_public",
        bool,
        True,
        "Serve /metrics without a token, with no property named (each series summed over the "
        "properties). An admin token (Authorization: Bearer) sees the series by property: the server's "
        "all of them, a property's its own. Off: /metrics answers 401 without a token.",
    ),
    Setting(
        "collect_max_body",
        int,
        512 * KB,
        "Largest /collect body in bytes; a gzip body is held to it once inflated.",
        bounds=(1, None),
    ),
    Setting("collect_max_events", int, 500, "Most payloads in one /collect batch.", bounds=(1, None)),
    Setting(
        "tracker_cache_seconds",
        int,
        7 * 24 * 3600,
        "How long browsers and CDNs may keep /t.js (Cache-Control max-age, and as long again "
        "stale while they revalidate it by its ETag).",
        bounds=(0, 2**31 - 1),
    ),
    Setting(
        "demo_shop",
        str,
        "",
        "The property whose collect key the demo shop page (/demo/shop: the browser tracker at "
        "work) uses; empty: the page is not served. `trackway demo` sets it.",
    ),
    Setting(
        "dashboard_session_seconds",
        int,
        12 * 3600,
        "How long a dashboard sign-in lasts (its HttpOnly, SameSite=Strict cookie). Signing in again, "
        "or changing the admin token it was made with, ends it sooner.",
        bounds=(1, None),
    ),
    Setting(
        "signin_attempts_per_minute",
        int,
        10,
        "Dashboard sign-in attempts one client address may make in a minute (per worker); more are "
        "answered 429 with Retry-After.",
        bounds=(1, None),
    ),
    Setting(
        "max_pending",
        int,
        20_000,
        "Records a worker may hold waiting for the disk before it answers 503 with Retry-After.",
        bounds=(1, None),
    ),
    Setting(
        "max_header_bytes",
        int,
        16 * KB,
        "Largest request line and headers of a request, in bytes; more is answered 431 and the "
        "connection closed.",
        bounds=(1, None),
    ),
    Setting(
        "max_url_bytes",
        int,
        8 * KB,
        "Longest URL (path and query string), in bytes; longer: 414.",
        bounds=(1, None),
    ),
    Setting("max_headers", int, 100, "Most header fields in a request; more: 431.", bounds=(1, None)),
    Setting(
        "header_timeout_seconds",
        int,
        10,
        "A connection that has not sent a whole request line and headers this many seconds after "
        "it began is closed (slow clients cannot hold connections).",
        bounds=(1, None),
    ),
    Setting(
        "body_timeout_seconds",
        int,
        10,
        "A request whose body stops arriving for this many seconds is closed; nothing of it is stored.",
        bounds=(1, None),
    ),
    Setting(
        "keep_alive_seconds",
        int,
        5,
        "An idle keep-alive connection is closed after this many seconds.",
        bounds=(1, None),
    ),
    Setting(
        "trusted_proxies",
        str,
        "127.0.0.1",
        "The addresses (comma-separated IPs or networks such as 10.0.0.0/8, `*` for any, empty for "
        "none) whose X-Forwarded-For and X-Forwarded-Proto headers are believed: a reverse proxy's. "
        "From them come the client address an event keeps (`context.ip`), the sign-in rate limit's "
        "address, and whether a cookie is Secure. The default believes a proxy on this machine; any "
        "other client on it can then name any address.",
        check=proxies_problem,
    ),
    Setting(
        "max_connections",
        int,
        4096,
        "Most connections a worker holds. Past it the connections waiting longest for their request "
        "are closed first; when none waits, new ones are answered 503. Lowered to fit the open files "
        "limit, which each worker raises to its hard limit.",
        bounds=(1, None),
    ),
    Setting(
        "log_segment_bytes",
        int,
        64 * MB,
        "A worker starts a new log file beyond this size.",
        bounds=(64 * KB, None),
    ),
    Setting(
        "keep_log",
        bool,
        False,
        "Keep log files after they are loaded into the store (an audit trail; costs disk). They hold "
        "the raw requests, personal data included: `trackway forget` rewrites the loaded ones without "
        "the person's identifiers (docs/people.md).",
    ),
    Setting(
        "loader_batch",
        int,
        5_000,
        "Most log records the loader writes in one transaction (its memory grows with this).",
        bounds=(1, None),
    ),
    Setting(
        "derive_state",
        bool,
        True,
        "Keep identities, carts, orders and procedures current while loading. Off (a bulk import): "
        "they are left as they are until `trackway rebuild`.",
    ),
    Setting(
        "store_memory_limit",
        str,
        STORE_MEMORY_LIMIT,
        "DuckDB's memory limit (its buffer pool; DuckDB's own default is 80% of RAM). It also bounds "
        "making the loader's indexes when a store written before them opens: one that does not fit is "
        "left out with a warning, and its table is scanned.",
        check=memory_size_problem,
    ),
    Setting(
        "store_checkpoint_threshold",
        str,
        CHECKPOINT_THRESHOLD,
        "How much the store's write-ahead log (trackway.duckdb.wal) holds before DuckDB writes it into "
        "the database file, a checkpoint (DuckDB's own default is 16MB). A checkpoint costs far more than "
        "writing the log it empties, so fewer of them cost the loader less: loading 1,000,000 events took "
        "20% less CPU at 128MB than at 16MB (docs/performance.md). Until its checkpoint "
        "the log's data is also held in memory (1.2-1.5 times the log, measured), within "
        "store_memory_limit: at its least, 64MB, loads still cost less at 128MB than at 16MB. After a "
        "crash the next start replays the log (0.5 s for 89 MiB, measured).",
        check=checkpoint_threshold_problem,
    ),
    Setting(
        "report_threads",
        int,
        0,
        "DuckDB threads while a report runs (0: one per CPU); the store is back to one thread after.",
        bounds=(0, 1024),
    ),
    Setting(
        "loader_nice",
        int,
        10,
        "CPU priority of the loader thread (Linux nice, 0-19). Above 0, requests being acknowledged "
        "come first under load and the loader catches up when they slow down; its backlog is on disk.",
        bounds=(0, 19),
    ),
    Setting(
        "forward_nice",
        int,
        15,
        "CPU priority of the forwarding process (Linux nice, 0-19). Above loader_nice, requests being "
        "acknowledged and then the loader come first under load; destinations catch up when it eases "
        "(their backlog is the log on disk).",
        bounds=(0, 19),
    ),
    Setting(
        "forward_defer_seconds",
        int,
        30,
        "While Trackway's workers use half the machine's CPUs or more (their own CPU time; other "
        "programs never count), destinations wait instead of sending, until what they have not "
        "delivered may be this many seconds old (then they send at forward_nice). Acknowledgements "
        "get the CPUs in a burst; 0: never wait.",
        bounds=(0, None),
    ),
    Setting(
        "loader_defer_seconds",
        int,
        5,
        "While Trackway's workers use half the machine's CPUs or more (their own CPU time; other "
        "programs never count), the loader waits instead of loading, until the oldest record it has "
        "not loaded is this many seconds old (then it loads at loader_nice). Acknowledgements get the "
        "CPUs in a burst; a query waiting for the loader (read_wait_seconds) ends the wait; 0: never "
        "wait.",
        bounds=(0, None),
    ),
    Setting(
        "max_backlog_seconds",
        int,
        0,
        "A bound on how stale the store may get: while the oldest acknowledged event not yet loaded "
        "is older than this, workers answer new events 503 with Retry-After (nothing is written) "
        "until the loader catches up. For load the loader cannot keep up with, it trades refused "
        "requests for freshness. 0: never refuse; the log on disk absorbs any backlog.",
        bounds=(0, None),
    ),
    Setting(
        "read_wait_seconds",
        int,
        10,
        "Read-your-writes: a query, report, export or /api/* call first waits, up to this long, until "
        "the loader has stored every event acknowledged before it began (`?wait=0` or `--no-wait` "
        "skips the wait). Past it the answer comes from the store as it is, with a Trackway-Stale "
        "header saying so.",
        bounds=(0, None),
    ),
    Setting(
        "sql_timeout_seconds",
        int,
        SQL_TIMEOUT_S,
        "A query of `trackway sql` still running after this long is stopped, with a message saying "
        "so; a server stopping stops the queries running. A runaway query ran on after its client "
        "gave up and held the server's stop.",
        bounds=(1, 86_400),
    ),
)

# The funnel (docs/reports.md): a shop's steps, each a canonical event name, are every
# property's default; a donations site names its procedure's (see funnel_steps below).
SHOP_FUNNEL_STEPS = (
    "view_item_list",
    "view_item",
    "add_to_cart",
    "begin_checkout",
    "add_payment_info",
    "purchase",
)
# Bounds on funnel steps (any admin token can ask for a funnel, and the store is shared):
# 600 steps took 8.4-18 s of the store.
MAX_FUNNEL_STEPS = 20
MAX_STEP_NAME = 100  # characters of a step (an event name)


def funnel_steps_problem(steps: Sequence[Any]) -> str | None:
    """What is wrong with ``steps`` as funnel steps (what was expected, what came, the
    fix), or None when they are fine."""
    if not steps:
        return "expected at least one funnel step"
    if len(steps) > MAX_FUNNEL_STEPS:
        return (
            f"expected at most {MAX_FUNNEL_STEPS} funnel steps, got {len(steps)}; ask for the steps "
            "that matter"
        )
    for step in steps:
        if not isinstance(step, str) or not step.strip():
            return f"expected funnel steps as event names (non-empty strings), got {step!r}"
        if len(step) > MAX_STEP_NAME:
            return (
                f"expected funnel steps of at most {MAX_STEP_NAME} characters (event names), "
                f"got one of {len(step)}: {step[:40]!r}..."
            )
    return None


# The key of Trackway's own endpoint, /collect (the vendors declare theirs).
COLLECT_KEY = Setting(
    "collect_key",
    str,
    "",
    "Key of /collect batches (the `key` field). Not a secret: it is in every page's t.js tag "
    "(data-key) and says which property a batch is for, as a GA4 measurement id does.",
    new=lambda: "tw_" + secrets.token_urlsafe(18),
)

# The property settings before the vendors' keys.
_PROPERTY_HEAD: tuple[Setting, ...] = (
    Setting(
        "default_currency",
        str,
        "",
        "ISO 4217 code filled in for events that carry amounts but no currency (Convead, some "
        "Koalect events); the event records that it was filled. Empty: no default, never USD.",
    ),
    Setting(
        "cors_origins",
        list,
        [],
        "Origins allowed to call /collect from a browser (exact, such as https://shop.example; "
        "'*' allows any).",
    ),
    COLLECT_KEY,
)

# The property settings after the vendors' keys.
_PROPERTY_TAIL: tuple[Setting, ...] = (
    Setting(
        "admin_token",
        str,
        "",
        "Token for /api/* limited to this property's data.",
        secret=True,
        new=lambda: "twa_" + secrets.token_urlsafe(24),
    ),
    Setting(
        "consent_required",
        list,
        [],
        "Purposes (analytics, marketing, personalization, functional) an event needs to be stored "
        "with its identifiers; without them it is stored cookieless (no ids, no traits, IP "
        "truncated) and still counted. Empty: every event keeps its identifiers.",
    ),
    Setting(
        "consent_default",
        str,
        "granted",
        "What a purpose no consent signal speaks of means: granted or denied.",
    ),
    Setting(
        "identifiers",
        str,
        "keep",
        "Plain email and phone, wherever an event holds them (traits, a user id that is one, "
        "Google's user_data, other keys, texts and URLs): keep (with server-side md5/sha256 "
        "hashes), hash (store only the hashes) or drop (neither). See docs/people.md.",
    ),
    Setting("hash_identifiers", bool, True, "Compute md5/sha256 of plain email and phone (normalised)."),
    Setting("truncate_ip", bool, False, "Store IPs truncated (IPv4 /24, IPv6 /48)."),
    Setting(
        "funnel_steps",
        list,
        list(SHOP_FUNNEL_STEPS),
        "The steps of this property's funnel report, canonical event names in order, used when a "
        "report names no --steps. A shop's by default, less the steps the property never sent "
        "(a Universal Analytics shop sends no add_payment_info); a Koalect donations site's procedure is "
        '["view_step", "add_to_cart", "add_payment_info", "begin_checkout", "purchase"] '
        "(Koalect's checkout is begin_checkout, its transaction purchase; docs/reports.md).",
    ),
)


# Server settings read when the server starts (its sockets, workers, log writer, store and
# loader are made with them): a change in the file takes a restart, and /health says so
# meanwhile (the alarm restart_needed). The others are read again as the file changes.
READ_AT_START = frozenset(
    {
        "host",
        "port",
        "workers",
        "log_segment_bytes",
        "max_pending",
        "store_memory_limit",
        "store_checkpoint_threshold",
        "derive_state",
        "loader_batch",
        "keep_log",
        "loader_defer_seconds",
        "loader_nice",
        "forward_nice",
        "max_header_bytes",
        "max_url_bytes",
        "max_headers",
        "header_timeout_seconds",
        "body_timeout_seconds",
        "max_connections",
        "keep_alive_seconds",
        "trusted_proxies",
    }
)


@functools.cache
def server_declared() -> tuple[Setting, ...]:
    """Every server setting: Trackway's, then the vendors' (trackway.vendors)."""
    return _SERVER_CORE + tuple(s for v in vendors.vendors() for s in v.server_settings)


@functools.cache
def property_declared() -> tuple[Setting, ...]:
    """Every property setting: Trackway's own, with the vendors' keys and settings in the middle."""
    own = tuple(s for v in vendors.vendors() for k in v.keys for s in k.settings)
    own += tuple(s for v in vendors.vendors() for s in v.property_settings)
    return _PROPERTY_HEAD + own + _PROPERTY_TAIL


@functools.cache
def _by_name() -> dict[str, Setting]:
    return {s.name: s for s in server_declared()}


@functools.cache
def _property_by_name() -> dict[str, Setting]:
    return {s.name: s for s in property_declared()}


def _forget() -> None:
    for f in (server_declared, property_declared, _by_name, _property_by_name):
        f.cache_clear()


vendors.on_reset(_forget)


def __getattr__(name: str) -> tuple[Setting, ...]:
    """``SERVER`` and ``PROPERTY``: every declared setting (computed when first asked)."""
    if name == "SERVER":
        return server_declared()
    if name == "PROPERTY":
        return property_declared()
    raise AttributeError(name)


def int_range(name: str) -> tuple[int | None, int | None]:
    """A server setting's bounds, for a command-line option that overrides it."""
    return _by_name()[name].bounds


def resolve(value: Any, where: str) -> Any:
    """``"env:VAR"`` -> the variable's value; anything else as it is."""
    if isinstance(value, str) and value.startswith("env:"):
        var = value[4:]
        if var not in os.environ:
            raise ConfigError(
                f"{where} = {value!r}: expected the environment variable {var} to be set; set it"
            )
        return os.environ[var]
    return value


def coerce(setting: Setting, value: Any, where: str, *, text: bool = False) -> Any:
    """``value`` as the setting's type, within its bounds and passing its check, or a
    ConfigError saying what was expected and what came. Text is read as the type only where
    text is all a source has (``text``: a ``TRACKWAY_*`` variable; ``env:VAR`` in the file);
    the file's own values are TOML's typed values, taken as they are, but for a list or a
    table, which may be written as one string (``"view_step, purchase"``) there too."""
    if isinstance(value, str) and value.startswith("env:"):
        value, text = resolve(value, where), True
    if text or setting.type in (list, dict):
        value = _converted(setting.type, value)
    want = setting.type
    if not isinstance(value, want) or (want is int and isinstance(value, bool)):  # True is no number
        raise ConfigError(
            f"{where}: expected {want.__name__}, got {_shown(value)}; {_fix(want, value)}{setting.help}"
        )
    least, most = setting.bounds  # only whole-number settings have bounds
    if isinstance(value, int) and (
        (least is not None and value < least) or (most is not None and value > most)
    ):
        raise ConfigError(
            f"{where}: expected a whole number {setting.range_text}, got {value}; {setting.help}"
        )
    problem = setting.check(value) if setting.check is not None else None
    if problem is not None:
        raise ConfigError(f"{where}: {problem}; {setting.help}")
    return value


def _shown(value: Any) -> str:
    """A value as the file spells it, and its TOML type: ``true (boolean)``, ``'30' (string)``."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (boolean)"
    names = {str: "string", int: "integer", float: "float", list: "array", dict: "table"}
    return f"{value!r} ({names.get(type(value), type(value).__name__)})"


def _fix(want: type, value: Any) -> str:
    """How to write a number or a boolean the file quoted (or text that is neither), or ""."""
    read = _converted(want, value) if want in (int, bool) else value
    if isinstance(value, str) and want is bool and isinstance(read, str):
        return "write true or false (from the environment: 1, true, yes, on or 0, false, no, off); "
    if not isinstance(value, str) or isinstance(read, str):
        return ""
    return f"write it without quotes ({str(read).lower()}); "


_INTEGER = re.compile(r"\s*-?[0-9]+\s*")  # what int() reads of a setting from the environment


def _converted(want: type, value: Any) -> Any:
    """A string (from the environment) read as ``want``; anything else as it is."""
    if not isinstance(value, str):
        return value
    if want is bool:
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
    elif want is int and _INTEGER.fullmatch(value):
        return int(value)
    elif want is list:
        return [v.strip() for v in value.split(",") if v.strip()]
    elif want is dict:  # "1=analytics,3=marketing" from the environment
        return {k.strip(): v.strip() for k, _, v in (p.partition("=") for p in value.split(",")) if k.strip()}
    return value


def server_settings(table: dict[str, Any], where: str) -> dict[str, Any]:
    """The server settings: defaults, then the file's ``[server]`` table, then TRACKWAY_* variables."""
    by_name = _by_name()
    unknown = set(table) - set(by_name)
    if unknown:
        raise ConfigError(
            f"{where}: unknown server setting(s) {', '.join(sorted(unknown))}; "
            f"expected some of {', '.join(by_name)}"
        )
    out = {}
    for s in server_declared():
        value = table.get(s.name, s.default)
        if s.env in os.environ:  # the message names the variable: the file does not hold the value
            out[s.name] = coerce(s, os.environ[s.env], f"{s.env} (server.{s.name})", text=True)
        else:
            out[s.name] = coerce(s, value, f"{where} server.{s.name}")
    return out


def property_settings(name: str, table: dict[str, Any], where: str) -> dict[str, Any]:
    by_name = _property_by_name()
    unknown = set(table) - set(by_name)
    if unknown:
        raise ConfigError(
            f"{where}: unknown setting(s) {', '.join(sorted(unknown))} in [properties.{name}]; "
            f"expected some of {', '.join(by_name)}"
        )
    return {
        s.name: coerce(s, table.get(s.name, s.default), f"{where} properties.{name}.{s.name}")
        for s in property_declared()
    }
