"""Any module of a vendor package can be the first one a program imports: vendors build
on each other's modules (UA's gtag on GA4's, Koalect on GA4's vocabulary), and an import
cycle between their packages would fail in one order and pass in another."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import trackway.vendors


def _modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(trackway.vendors.__path__, "trackway.vendors.")]


def test_every_vendor_module_imports_first_in_a_fresh_interpreter():
    modules = _modules()
    assert len(modules) > 30  # every package and module found, not only the folder
    script = (
        "import subprocess, sys\n"
        "bad = []\n"
        "for m in sys.argv[1:]:\n"
        "    code = f'import {m}; import trackway; trackway.dialect_names()'\n"
        "    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)\n"
        "    if r.returncode: bad.append((m, r.stderr.strip().splitlines()[-1]))\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", script, *modules], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_a_vendor_package_alone_imports_no_adapter():
    code = (
        "import sys, trackway.vendors.ua.common\n"
        "print(sorted(m for m in sys.modules if m.startswith('trackway.vendors.') and m.count('.') == 3))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "trackway.vendors.ua.gtag" not in out.stdout and "trackway.vendors.ua.common" in out.stdout
