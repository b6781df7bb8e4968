"""One exception tree: every exception class a caller of Trackway can meet is a TrackwayError."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import trackway
from trackway import errors
from trackway.errors import TrackwayError

# Control-flow signals that never leave the function that catches them, named here so
# that a new one is a decision: the fast path's give-up (dialects/fastpath.py; its
# docstring says why it stays out: one that escaped is a bug, not an error to answer);
# the store's request to run a batch's transaction again with INSERT OR IGNORE
# (store/claims.py; DuckStore._written catches it around every write that raises it).
INTERNAL = {"Fallback", "Claimed"}

# What must stay catchable as the built-in error it also is (callers rely on it).
ALSO = [
    (errors.ParseError, ValueError),
    (errors.UnknownDialectError, LookupError),
    (errors.CommitFailed, OSError),
    (errors.HelperGone, OSError),
]


def _modules() -> list[str]:
    names = [trackway.__name__]
    for info in pkgutil.walk_packages(trackway.__path__, trackway.__name__ + "."):
        if not info.name.endswith("__main__"):  # running it is the command line
            names.append(info.name)
    return names


def _exceptions() -> dict[str, type[BaseException]]:
    """Every public exception class defined in a trackway module, by qualified name."""
    found: dict[str, type[BaseException]] = {}
    for name in _modules():
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
                and not attr.startswith("_")
            ):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


EXCEPTIONS = _exceptions()


def test_the_walk_finds_the_server_and_log_errors() -> None:
    short = {qualified.rsplit(".", 1)[1] for qualified in EXCEPTIONS}
    expected = {"HttpError", "ClientGone", "Overloaded", "LogClosed", "LogLocked", "CommitFailed", "Shed"}
    assert expected <= short, f"expected the walk to find {sorted(expected - short)}"


@pytest.mark.parametrize("qualified", sorted(EXCEPTIONS))
def test_each_exception_is_a_trackway_error(qualified: str) -> None:
    cls = EXCEPTIONS[qualified]
    if cls.__name__ in INTERNAL:
        assert not issubclass(cls, TrackwayError), (
            f"{qualified} is a TrackwayError now: drop it from INTERNAL"
        )
        return
    assert issubclass(cls, TrackwayError), (
        f"expected {qualified} to derive from trackway.errors.TrackwayError (or one of its subclasses), "
        f"got the bases {[b.__name__ for b in cls.__mro__[1:]]}; declare it in src/trackway/errors.py"
    )


@pytest.mark.parametrize(("cls", "builtin"), ALSO)
def test_errors_stay_catchable_as_their_builtin(cls: type[Exception], builtin: type[Exception]) -> None:
    assert issubclass(cls, TrackwayError)
    assert issubclass(cls, builtin)


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("trackway.server.http", "HttpError"),
        ("trackway.server.http", "ClientGone"),
        ("trackway.ingest.writer", "Overloaded"),
        ("trackway.ingest.writer", "LogClosed"),
        ("trackway.ingest.writer", "CommitFailed"),
    ],
)
def test_the_old_import_paths_name_the_same_classes(module: str, name: str) -> None:
    assert getattr(importlib.import_module(module), name) is getattr(errors, name)


def test_an_http_error_keeps_its_answer() -> None:
    exc = errors.HttpError(503, "busy", headers=[(b"retry-after", b"1")], request_id="r1")
    assert (exc.status, str(exc), exc.headers) == (503, "busy", [(b"retry-after", b"1")])
    assert exc.body() == {"error": "busy", "request_id": "r1"}
