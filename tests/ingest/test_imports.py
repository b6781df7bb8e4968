"""Ingestion does not depend on the store: the loader talks to a protocol (ingest/sink.py)
that the stores satisfy without naming it, and the record format depends on the model only."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import trackway.ingest
from trackway.ingest import records
from trackway.ingest.sink import Sink
from trackway.store.duck import DuckStore
from trackway.store.memory import MemoryStore

INGEST = Path(trackway.ingest.__file__).parent
MODULES = sorted(INGEST.glob("*.py"))


def _imports(tree: ast.AST, package: str) -> set[str]:
    """Every module an import statement anywhere in ``tree`` names (function bodies and
    ``if TYPE_CHECKING:`` blocks too), relative imports resolved against ``package``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0]
                base = f"{parent}.{base}" if base else parent
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # `from trackway import store`
    return names


def _is_store(name: str) -> bool:
    return name == "trackway.store" or name.startswith("trackway.store.")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_ingest_module_imports_the_store(path: Path) -> None:
    found = sorted(n for n in _imports(ast.parse(path.read_text()), "trackway.ingest") if _is_store(n))
    assert not found, f"expected trackway/ingest/{path.name} to import nothing of trackway.store, got {found}"


@pytest.mark.parametrize(
    ("source", "store_imports"),
    [
        ("from trackway.store.base import Store\n", ["trackway.store.base", "trackway.store.base.Store"]),
        ("from trackway import store\n", ["trackway.store"]),
        ("def f():\n    import trackway.store.duck\n", ["trackway.store.duck"]),
        ("from ..store import duck\n", ["trackway.store", "trackway.store.duck"]),
        ("from trackway.ingest import records\nimport trackway.storage\n", []),
    ],
)
def test_the_import_walk_sees_every_form(source: str, store_imports: list[str]) -> None:
    assert sorted(n for n in _imports(ast.parse(source), "trackway.ingest") if _is_store(n)) == store_imports


def test_the_record_format_imports_only_the_model() -> None:
    """What importing records pulls in of Trackway, at module level (its lazy
    ``__getattr__`` for the pipeline's old names runs only when one is asked for)."""
    tree = ast.parse(Path(records.__file__).read_text())
    top = ast.Module(body=[n for n in tree.body if not isinstance(n, ast.FunctionDef)], type_ignores=[])
    ours = {n for n in _imports(top, "trackway.ingest") if n.split(".")[0] == "trackway"}
    assert ours <= {"trackway.model", "trackway.model.Event", "trackway.model.to_json"}, ours


def test_loading_and_the_record_format_pull_in_no_store_module() -> None:
    """In a fresh interpreter: importing the loader, the pipeline and the record format
    imports no module of trackway.store (whatever imports them in turn)."""
    code = (
        "import sys\n"
        "import trackway.ingest.loader, trackway.ingest.pipeline, trackway.ingest.records\n"
        "print(sorted(m for m in sys.modules if m.startswith('trackway.store')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", f"expected no trackway.store module loaded, got {out.strip()}"


def _protocol_methods() -> list[str]:
    return sorted(n for n, v in vars(Sink).items() if inspect.isfunction(v) and not n.startswith("_"))


@pytest.mark.parametrize("store_class", [DuckStore, MemoryStore], ids=lambda c: c.__name__)
@pytest.mark.parametrize("method", _protocol_methods())
def test_each_store_has_the_sinks_methods_with_its_parameters(store_class: type, method: str) -> None:
    wanted = inspect.signature(getattr(Sink, method))
    got = inspect.signature(getattr(store_class, method))
    assert list(got.parameters) == list(wanted.parameters), f"{store_class.__name__}.{method}{got}"
    for name, param in wanted.parameters.items():
        assert got.parameters[name].default == param.default, f"{store_class.__name__}.{method}: {name}"


def test_the_protocol_holds_what_the_loader_calls() -> None:
    """Every ``store.<method>`` the loader calls (its quarantine retry included) is in the
    protocol (and nothing more)."""
    trees = [ast.parse((INGEST / name).read_text()) for name in ("loader.py", "retry.py")]
    called = {
        node.attr
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and (
            (isinstance(node.value, ast.Name) and node.value.id == "store")
            or (isinstance(node.value, ast.Attribute) and node.value.attr == "store")
        )
    }
    assert called == set(_protocol_methods())


@pytest.mark.parametrize("make", [lambda: DuckStore(":memory:"), MemoryStore], ids=["duckdb", "memory"])
def test_the_stores_are_sinks(make) -> None:  # type: ignore[no-untyped-def]
    store = make()
    try:
        assert isinstance(store, Sink)
    finally:
        store.close()


def test_an_object_without_the_methods_is_no_sink() -> None:
    assert not isinstance(object(), Sink)
