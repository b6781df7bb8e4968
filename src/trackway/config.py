"""``trackway.toml``: server settings and properties with their keys.

A property is a tenant: its keys decide where a request's events go, and no key
of one property ever writes into another. :class:`Keyring` is the lookup the
server does on every request; it is rebuilt when the file changes, so a property
added with ``trackway property add`` is live without a restart.

``trackway property add`` appends a table to the file rather than rewriting it, so
comments and layout written by hand are kept.

A :class:`ConfigError` never quotes a secret (a key, a token): error messages end up in
logs, and a log line must not hand out write or admin access. :func:`load` replaces
every secret setting's value found in a message with ``<secret>``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from trackway import vendors
from trackway.destinations import configured
from trackway.destinations.configured import Destination
from trackway.errors import ConfigError
from trackway.privacy.prepare import PrivacySettings
from trackway.rules.codes import is_currency
from trackway.settings import (
    COLLECT_KEY,
    funnel_steps_problem,
    property_declared,
    property_settings,
    server_declared,
    server_settings,
)

FILE_NAME = "trackway.toml"
REDACTED = "<secret>"
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")

HEADER = """\
# Trackway configuration. Settings are documented in docs/configuration.md.
# Any value can be "env:VARIABLE" to read it from the environment (keep secrets out of this file).
"""


@dataclass(frozen=True)
class Property:
    name: str
    settings: dict[str, Any]
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    destinations: dict[str, Destination] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.settings[key]

    @property
    def default_currency(self) -> str | None:
        return self.settings["default_currency"] or None

    @property
    def funnel_steps(self) -> tuple[str, ...]:
        return tuple(self.settings["funnel_steps"])

    def keys(self) -> dict[str, str]:
        """The wire keys, as ``trackway property add --format json`` prints them."""
        names = [COLLECT_KEY.name, *(s.name for k in vendors.key_specs() for s in k.settings), "admin_token"]
        return {"property": self.name} | {n: self[n] for n in names}


# The keys of Trackway's own endpoints (the vendors declare theirs: trackway.vendors.Key).
CORE_KEYS = (vendors.Key("collect", (COLLECT_KEY,)),)


@dataclass
class Keyring:
    """Every key, to the one property it belongs to: per kind of key (a
    :class:`trackway.vendors.Key`'s ``kind``), the key's value (a tuple when it is
    made of several settings) -> the property."""

    kinds: dict[str, dict[Any, Property]] = field(default_factory=dict)
    admin: dict[str, Property | None] = field(default_factory=dict)  # None: every property

    def find(self, kind: str, key: Any) -> Property | None:
        """The property ``key`` names among the keys of ``kind``, or None."""
        found = self.kinds.get(kind)
        return found.get(key) if found is not None else None

    @classmethod
    def build(cls, properties: dict[str, Property], server_admin: str) -> Keyring:
        ring = cls()
        seen: dict[str, str] = {}

        def claim(kind: str, key: Any, prop: Property, what: str) -> bool:
            if not key or (isinstance(key, tuple) and not all(key)):
                return False
            tag = f"{kind}:{key}"
            if tag in seen:
                raise ConfigError(
                    f"the same {what} key is in both [properties.{seen[tag]}] and "
                    f"[properties.{prop.name}]; a key must name one property. Give one of them a new key "
                    "(`trackway property add` makes fresh ones)"
                )
            seen[tag] = prop.name
            return True

        specs = (*CORE_KEYS, *vendors.key_specs())
        for spec in specs:
            ring.kinds.setdefault(spec.kind, {})
        for prop in properties.values():
            for spec in specs:
                parts = tuple(prop[s.name] for s in spec.settings)
                key = parts[0] if len(parts) == 1 else parts
                if claim(spec.kind, key, prop, "/".join(s.name for s in spec.settings)):
                    ring.kinds[spec.kind][key] = prop
            if claim("admin_token", prop["admin_token"], prop, "admin_token"):
                ring.admin[prop["admin_token"]] = prop
        if server_admin:
            if server_admin in ring.admin:
                raise ConfigError(
                    "server.admin_token equals a property's admin_token; give them different values"
                )
            ring.admin[server_admin] = None
        return ring


@dataclass
class Config:
    path: Path
    server: dict[str, Any]
    properties: dict[str, Property]
    keyring: Keyring
    mtime_ns: int = 0
    text: str = field(default="", repr=False)  # the file's text it was read from (holds secrets)

    @property
    def data_dir(self) -> Path:
        return self.path.parent

    def destinations(self) -> dict[str, Destination]:
        """Every property's destinations by id (``<property>.<name>``)."""
        return {d.id: d for p in self.properties.values() for d in p.destinations.values()}

    def funnel_steps(self) -> dict[str, tuple[str, ...]]:
        """Each property's funnel steps (the funnel report's default for it)."""
        return {name: prop.funnel_steps for name, prop in self.properties.items()}

    def changed(self) -> bool:
        try:
            return self.path.stat().st_mtime_ns != self.mtime_ns
        except FileNotFoundError:
            return False

    def reload(self) -> Config:
        """The file as it is now, or this config if the file is unreadable (the error is raised)."""
        return load(self.path)


def load(path: Path, *, sending: bool = True) -> Config:
    """The configuration in ``path``. ``sending``: this process sends to the destinations,
    so every ``env:VAR`` of their options must be set here; without it (a command that only
    reads the file, in a shell that need not have the server's variables) an unset one is
    left as written and the destination says so when asked to send (``Destination.require``)."""
    try:
        stat = path.stat()
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no configuration file; run `trackway serve` once or `trackway property add`"
        ) from None
    return loads(text, path, stat.st_mtime_ns, sending=sending)


def loads(text: str, path: Path, mtime_ns: int = 0, *, sending: bool = True) -> Config:
    """The configuration in ``text`` (read from ``path``). A ConfigError's message never
    holds a secret setting's value."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return _parse(data, path, text, mtime_ns, sending)
    except ConfigError as exc:
        message = redact(str(exc), data)
        if message == str(exc):
            raise
        raise ConfigError(message) from None


def redact(message: str, data: dict[str, Any]) -> str:
    """``message`` with the value of every secret setting in ``data`` (the file's tables,
    and the environment variables they name) replaced by ``<secret>``."""
    tables = [data.get("server", {})]
    properties = data.get("properties", {})
    if isinstance(properties, dict):
        tables += [t for t in properties.values() if isinstance(t, dict)]
    values: set[str] = set()
    secret_names = {s.name for s in (*server_declared(), *property_declared()) if s.secret}
    for table in tables:
        if not isinstance(table, dict):
            continue
        for name, value in table.items():
            if name not in secret_names:
                continue
            if isinstance(value, str) and value.startswith("env:"):
                values.add(os.environ.get(value[4:], ""))  # the name of the variable is no secret
            else:
                values.add(str(value))
    for s in server_declared():
        if s.secret and s.env in os.environ:
            values.add(os.environ[s.env])
    values |= configured.secret_values(data)
    for value in sorted((v for v in values if len(v) >= 4), key=len, reverse=True):
        message = message.replace(value, REDACTED)
    return message


def _parse(data: dict[str, Any], path: Path, text: str, mtime_ns: int, sending: bool) -> Config:
    where = str(path)
    unknown = set(data) - {"server", "properties"}
    if unknown:
        raise ConfigError(
            f"{where}: unknown table(s) {', '.join(sorted(unknown))}; expected [server] and [properties.NAME]"
        )
    server = server_settings(data.get("server", {}), where)
    properties = {}
    for name, table in data.get("properties", {}).items():
        check_name(name)
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: properties.{name} must be a table [properties.{name}]")
        table = dict(table)
        destinations = configured.parse(name, table.pop("destinations", {}), where, sending=sending)
        settings = property_settings(name, table, where)
        currency = settings["default_currency"]
        if currency and not is_currency(currency):
            raise ConfigError(
                f"{where} properties.{name}.default_currency: expected an ISO 4217 code such as EUR, "
                f"got {currency!r}"
            )
        problem = funnel_steps_problem(settings["funnel_steps"])
        if problem is not None:
            raise ConfigError(
                f"{where} properties.{name}.funnel_steps: {problem}; write a list of event names such as "
                '["view_item", "add_to_cart", "purchase"]'
            )
        settings["funnel_steps"] = [step.strip() for step in settings["funnel_steps"]]
        try:
            privacy = PrivacySettings(
                consent_required=tuple(settings["consent_required"]),
                consent_default=settings["consent_default"],
                category_map={str(k): str(v) for k, v in settings["consent_categories"].items()},
                identifiers=settings["identifiers"],
                truncate_ip=settings["truncate_ip"],
                hash_identifiers=settings["hash_identifiers"],
            )
        except ConfigError as exc:
            raise ConfigError(f"{where} [properties.{name}]: {exc}") from None
        properties[name] = Property(name, settings, privacy, destinations)
    try:
        keyring = Keyring.build(properties, server["admin_token"])
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return Config(path, server, properties, keyring, mtime_ns, text)


def check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"property name {name!r}: expected lower-case letters, digits, '-' and '_' (at most 63), "
            "starting with a letter or digit"
        )


def config_path(data_dir: Path, config_file: Path | None = None) -> Path:
    return config_file if config_file is not None else data_dir / FILE_NAME


def new_keys(existing: dict[str, Property]) -> dict[str, str]:
    """Fresh keys for every wire API (each setting that declares how to make one), none
    equal to a key already in use."""
    used = {str(v) for p in existing.values() for v in p.settings.values()}
    out = {}
    for setting in property_declared():
        if setting.new is None:
            continue
        for _ in range(100):
            value = setting.new()
            if value not in used:
                break
        else:
            raise ConfigError(
                f"expected the declaration of {setting.name} to make a fresh value, got one already in use "
                "100 times over; its `new` must draw random values (secrets.token_urlsafe)"
            )
        used.add(value)
        out[setting.name] = value
    return out


def property_table(name: str, settings: dict[str, Any]) -> str:
    values = {
        s.name: settings[s.name]
        for s in property_declared()
        if s.name in settings and settings[s.name] != s.default
    }
    return tomli_w.dumps({"properties": {name: values}})


def add_property(
    path: Path, name: str, default_currency: str = "", settings: Mapping[str, Any] | None = None
) -> Property:
    """Append ``[properties.NAME]`` with fresh keys to the file (created if missing);
    ``settings``: other property settings to write (such as ``funnel_steps``)."""
    check_name(name)
    if default_currency and not is_currency(default_currency):
        raise ConfigError(
            f"default currency: expected an ISO 4217 code such as EUR, got {default_currency!r}"
        )
    text = path.read_text() if path.exists() else HEADER
    current = load(path).properties if path.exists() else {}
    if name in current:
        raise ConfigError(f"property {name!r} already exists in {path}; choose another name")
    values = {s.name: s.default for s in property_declared()} | dict(settings or {}) | new_keys(current)
    values["default_currency"] = default_currency
    text = text.rstrip("\n") + "\n\n" + property_table(name, values)
    write_atomic(path, text)
    return load(path).properties[name]


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def ensure(path: Path) -> tuple[Config, Property | None]:
    """Load the file, creating it with one property ``default`` on first start.

    Returns the config and the property created now (None if the file existed).
    """
    if path.exists():
        return load(path), None
    prop = add_property(path, "default")
    return load(path), prop


def add_destination(path: Path, prop: str, name: str, values: Mapping[str, Any]) -> Destination:
    """Append ``[properties.PROP.destinations.NAME]`` with ``values`` (its type, options
    and selection) to the file, after checking the result reads back."""
    configured.check_name(name)
    cfg = load(path, sending=False)
    if prop not in cfg.properties:
        raise ConfigError(
            f"property {prop!r}: expected one of {', '.join(sorted(cfg.properties)) or '(none)'} in {path}; "
            "add it with `trackway property add`"
        )
    if name in cfg.properties[prop].destinations:
        raise ConfigError(f"destination {prop}.{name} already exists in {path}; choose another name")
    text = cfg.text.rstrip("\n") + "\n\n" + configured.table_text(prop, name, values)
    return _edit(path, text).properties[prop].destinations[name]


def remove_destination(path: Path, prop: str, name: str) -> None:
    cfg = load(path, sending=False)
    _known_destination(cfg, prop, name)
    after = _edit(path, configured.remove(path, cfg.text, prop, name), write=False)
    if name in after.properties[prop].destinations:
        raise ConfigError(f"{path}: destination {prop}.{name} is declared twice; remove it by hand")
    write_atomic(path, after.text)


def pause_destination(path: Path, prop: str, name: str, paused: bool) -> Destination:
    cfg = load(path, sending=False)
    _known_destination(cfg, prop, name)
    after = _edit(path, configured.set_paused(path, cfg.text, prop, name, paused), write=False)
    found = after.properties[prop].destinations[name]
    if found.paused != paused:
        raise ConfigError(f"{path}: could not set paused on {prop}.{name} (declared twice?); edit it by hand")
    write_atomic(path, after.text)
    return found


def _known_destination(cfg: Config, prop: str, name: str) -> Destination:
    found = cfg.properties.get(prop, Property(prop, {})).destinations.get(name)
    if found is None:
        known = ", ".join(sorted(cfg.destinations())) or "(none)"
        raise ConfigError(f"destination {prop}.{name}: expected one of {known} in {cfg.path}")
    return found


def set_server(path: Path, name: str, value: str) -> Config:
    """Set the server setting ``name`` to the string ``value`` in the file: the line in
    its ``[server]`` table replaced or added (the table added first if there is none).
    Checked as a whole before it is written."""
    text = path.read_text()
    line = f"{name} = {tomli_w.dumps({'v': value})[4:].strip()}"
    found = re.search(r"(?m)^\[server\][ \t]*$", text)
    if found is None:  # a new table, before the first one (root keys stay above it)
        first = re.search(r"(?m)^\[", text)
        at = first.start() if first else len(text)
        text = f"{text[:at].rstrip()}\n\n[server]\n{line}\n\n{text[at:]}".lstrip("\n")
    else:
        table_end = re.search(r"(?m)^\[", text[found.end() :])
        end = found.end() + table_end.start() if table_end else len(text)
        body = text[found.end() : end]
        own = re.compile(rf"(?m)^{re.escape(name)}[ \t]*=.*$")
        body = own.sub(line, body, count=1) if own.search(body) else f"\n{line}{body}"
        text = text[: found.end()] + body + text[end:]
    return _edit(path, text)


def _edit(path: Path, text: str, *, write: bool = True) -> Config:
    """``text`` checked as the whole file (raises, writing nothing, if it is not valid). The
    destinations' ``env:VAR`` need not be set in this shell: the server reads them."""
    checked = loads(text, path, sending=False)
    if write:
        write_atomic(path, text)
        return load(path, sending=False)
    return checked
