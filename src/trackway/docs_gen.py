"""Generate the reference pages in ``docs/`` from the code.

``python -m trackway.docs_gen docs`` writes them; ``tests/test_docs.py`` fails when
a committed page differs from what the code generates, so the mapping tables in
the docs are the ones the adapters run.
"""

from __future__ import annotations

import sys
from pathlib import Path

from trackway import dialects, vendors
from trackway.dialects.base import Adapter
from trackway.issues import CODES
from trackway.vendors import Vendor


def _doc(rule: object) -> str:
    name = getattr(rule, "__name__", "rule")
    doc = (getattr(rule, "__doc__", None) or "").strip().splitlines()
    if name == "rule" and doc:
        return doc[0]
    return name


def dialect_page(adapter: Adapter) -> str:
    lines = [
        f"# `{adapter.name}`: {adapter.title}",
        "",
        "Generated from the code by `python -m trackway.docs_gen docs`; do not edit.",
        "",
    ]
    if adapter.alias_of:
        lines += [f"Same wire format as `{adapter.alias_of}`.", ""]
    module_doc = (sys.modules[type(adapter).__module__].__doc__ or "").strip()
    if module_doc:
        lines += [module_doc, ""]
    lines += ["## Events", "", "| wire name | canonical name | notes |", "| --- | --- | --- |"]
    for e in adapter.events:
        lines.append(f"| `{e.wire}` | `{e.canonical}` | {e.summary} |")
    for table in adapter.tables():
        lines += [
            "",
            f"## {table.title}",
            "",
            "| wire field | canonical field | rule | notes |",
            "| --- | --- | --- | --- |",
        ]
        for f in table.fields:
            target = f"`{f.target}`" if f.target else "(kept as sent)"
            lines.append(f"| `{f.wire}` | {target} | {_doc(f.rule)} | {f.doc} |")
    return "\n".join(lines) + "\n"


def vendor_page(vendor: Vendor) -> str:
    """A vendor's page: its package's own text, then what its declaration provides."""
    lines = [vendor.doc.strip() or f"# {vendor.title}", ""]
    lines += [
        f"Generated from `trackway.vendors.{vendor.name}` by `make docs`; do not edit.",
        "",
        "## Dialects",
        "",
    ]
    lines += [f"- [`{a.name}`](../dialects/{a.name}.md): {a.title}" for a in vendor.dialects] or ["(none)"]
    if vendor.endpoints:
        lines += ["", "## Endpoints", "", "| path | methods |", "| --- | --- |"]
        lines += [f"| `{e.path}` | {', '.join(e.handlers)} |" for e in vendor.endpoints]
    settings = [(s, "property") for k in vendor.keys for s in k.settings]
    settings += [(s, "property") for s in vendor.property_settings]
    settings += [(s, "server") for s in vendor.server_settings]
    if settings:
        lines += ["", "## Settings", "", "| setting | table | meaning |", "| --- | --- | --- |"]
        lines += [f"| `{s.name}` | {table} | {s.help} |" for s, table in settings]
    if vendor.presets:
        lines += ["", "## Encoder presets (`trackway convert --preset`)", ""]
        lines += [f"- `{name}`: {dict(options)}" for name, options in vendor.presets.items()]
    if vendor.consent:
        lines += ["", "## Consent signals", ""]
        lines += [f"- `{key}`: {(reader.__doc__ or '').strip()}" for key, reader in vendor.consent.items()]
    return "\n".join(lines) + "\n"


def codes_page() -> str:
    lines = [
        "# Issue codes",
        "",
        "Generated from `trackway.issues.CODES`; do not edit. Every issue has a JSON `path` into the",
        "payload as sent, a `code`, a `severity` (`error` rejects the event, `warning` keeps it) and a",
        "`message` saying what was expected, what came and how to fix it. The first seven codes are GA4",
        "Measurement Protocol validation codes; the others are Trackway's, each answered on",
        "`/debug/mp/collect` as the GA4 code in the second column.",
        "",
        "| code | GA4 code | meaning |",
        "| --- | --- | --- |",
    ]
    for c in CODES.values():
        lines.append(f"| `{c.name}` | `{c.ga4}` | {c.summary} |")
    return "\n".join(lines) + "\n"


def configuration_page() -> str:
    from trackway import settings

    doc = (settings.__doc__ or "").strip()
    lines = ["# Configuration", "", "Generated from `trackway.settings`; do not edit.", "", doc, ""]
    for title, table, declared in (
        ("Server settings: `[server]`", "server", settings.SERVER),
        ("Property settings: `[properties.NAME]`", "properties.NAME", settings.PROPERTY),
    ):
        lines += [
            f"## {title}",
            "",
            "| setting | type | default | environment | meaning |",
            "| --- | --- | --- | --- | --- |",
        ]
        for st in declared:
            env = f"`{st.env}`" if table == "server" else ""
            default = "(generated)" if st.new is not None else repr(st.default)
            secret = ' Secret: prefer `"env:VAR"`.' if st.secret else ""
            bounds = f" Allowed: {st.range_text}." if st.range_text else ""
            start = (
                " Read at start: a change takes a restart."
                if table == "server" and st.name in settings.READ_AT_START
                else ""
            )
            meaning = f"{st.help}{bounds}{secret}{start}"
            lines.append(f"| `{st.name}` | {st.type.__name__} | `{default}` | {env} | {meaning} |")
        lines.append("")
    return "\n".join(lines)


def pages() -> dict[str, str]:
    out = {"issue-codes.md": codes_page(), "configuration.md": configuration_page()}
    for adapter in dialects.adapters():
        out[f"dialects/{adapter.name}.md"] = dialect_page(adapter)
    for vendor in vendors.vendors():
        out[f"vendors/{vendor.name}.md"] = vendor_page(vendor)
    return out


def write(root: Path) -> list[Path]:
    written = []
    for rel, text in pages().items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            written.append(path)
    return written


if __name__ == "__main__":
    for p in write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs")):
        print(f"wrote {p}")
