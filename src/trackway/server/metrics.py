"""Prometheus metrics across processes.

Each process (every worker, and the store process with the loader) keeps its own
counters and writes a snapshot to ``run/metrics/<name>.json`` about once a second
(atomically). ``GET /metrics`` on any worker sums every snapshot with its own live
counters and renders the Prometheus text format. Requests are counted by the
workers; events accepted, rejected and duplicated are counted by the loader, which
is where they are decided for every endpoint.
"""

from __future__ import annotations

import os
import time
from bisect import bisect_left
from pathlib import Path

import msgspec

from trackway.store.base import StoreMemory

Labels = tuple[tuple[str, str], ...]

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
SIZE_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)

HELP = {
    "trackway_requests_total": ("counter", "HTTP requests by endpoint and status (every property's)."),
    "trackway_events_total": (
        "counter",
        "Events loaded into the store by endpoint, dialect, property and outcome "
        "(accepted, rejected, duplicate).",
    ),
    "trackway_commit_seconds": ("histogram", "Time of one group commit (write + fdatasync of the log)."),
    "trackway_commit_records": (
        "histogram",
        "Log records per group commit (how many requests shared one write).",
    ),
    "trackway_request_events": ("histogram", "Payloads per request (batch size) by endpoint."),
    "trackway_queue_depth": ("gauge", "Log records waiting for the disk, per worker."),
    "trackway_log_lag_bytes": ("gauge", "Bytes of log acknowledged but not yet loaded into the store."),
    "trackway_backlog_refused_total": (
        "counter",
        "Requests refused (503) because the store was further behind than max_backlog_seconds.",
    ),
    "trackway_log_oldest_unloaded_seconds": (
        "gauge",
        "Age of the oldest acknowledged event not yet loaded into the store (0: everything is loaded).",
    ),
    "trackway_store_memory_bytes": (
        "gauge",
        "What the store's database holds in memory (its buffer pool), by part: all, indexes.",
    ),
    "trackway_store_memory_limit_bytes": (
        "gauge",
        "The store's memory limit (store_memory_limit): a load that needs more fails until it is raised.",
    ),
    "trackway_store_wal_bytes": (
        "gauge",
        "The store's write-ahead log on disk, which DuckDB writes into the database file once it holds "
        "store_checkpoint_threshold (and at a stop); its data is held in memory until then.",
    ),
    "trackway_overloaded_total": ("counter", "Requests answered 503 because the commit queue was full."),
    "trackway_connections_closed_total": (
        "counter",
        "Connections a worker closed on its own, by reason: header_timeout (the request's head not "
        "complete in time), body_timeout (a body stalled), evicted (over max_connections).",
    ),
    "trackway_commit_failures_total": (
        "counter",
        "Log commits that failed (a write or fdatasync error); their requests were answered 503.",
    ),
    "trackway_quarantined_records": (
        "gauge",
        "Log records the loader could not load, waiting in the quarantine (`trackway quarantine list`).",
    ),
    "trackway_loader_errors_total": (
        "counter",
        "Loader errors: kind=record, a record put in the quarantine; kind=batch, a batch the store "
        "could not write (kept in the log and tried again).",
    ),
    "trackway_loader_reruns_total": (
        "counter",
        "Batches the store wrote twice: a key the first try inserted plainly was stored already (a "
        "client's retry of an event id or failed payload, or a derived state row presumed new), so "
        "that try was rolled back. Each costs the loader a second transaction.",
    ),
    "trackway_alarms": ("gauge", "Active alarms of the store process (/health lists them)."),
    "trackway_destination_events_total": (
        "counter",
        "Events per destination by outcome: delivered, dead_lettered (refused or failed for good), "
        "skipped_consent, skipped_name, skipped_dialect, skipped_failed (failed payloads are not forwarded).",
    ),
    "trackway_destination_retries_total": (
        "counter",
        "Requests to a destination tried again after an error.",
    ),
    "trackway_destination_failed_requests_total": (
        "counter",
        "Requests to a destination that failed (retried, or dead-lettered with the answer).",
    ),
    "trackway_destination_requests_total": (
        "counter",
        "Requests sent to a destination and answered (or failed), any outcome.",
    ),
    "trackway_destination_request_seconds_total": (
        "counter",
        "Seconds the requests to a destination took, from send to answer, added up (over "
        "trackway_destination_requests_total: the mean round trip).",
    ),
    "trackway_destination_lag_events": (
        "gauge",
        "Events acknowledged but not yet passed by the destination (a lower bound past 20,000 records).",
    ),
    "trackway_destination_lag_seconds": (
        "gauge",
        "Age of the oldest event the destination has not passed (0: caught up).",
    ),
    "trackway_destination_up": (
        "gauge",
        "1 while a destination's forwarder runs (running, retrying or deferred), 0 when paused or failing.",
    ),
    "trackway_log_retained_bytes": (
        "gauge",
        "Bytes of log on disk that the store has loaded but a destination has not yet passed.",
    ),
}


class Histogram(msgspec.Struct):
    buckets: list[float]
    counts: list[int]
    sum: float = 0.0
    count: int = 0

    def observe(self, value: float, n: int = 1) -> None:
        i = bisect_left(self.buckets, value)
        if i < len(self.counts):
            self.counts[i] += n
        self.sum += value * n
        self.count += n


class Snapshot(msgspec.Struct):
    counters: list[tuple[str, dict[str, str], float]] = []
    gauges: list[tuple[str, dict[str, str], float]] = []
    histograms: list[tuple[str, dict[str, str], Histogram]] = []


class Metrics:
    def __init__(self) -> None:
        self.counters: dict[tuple[str, Labels], float] = {}
        self.gauges: dict[tuple[str, Labels], float] = {}
        self.histograms: dict[tuple[str, Labels], Histogram] = {}
        self._request_keys: dict[tuple[str, int], tuple[str, Labels]] = {}
        self.carried = Snapshot()  # what this process's predecessor counted (see carry)

    def carry(self, previous: Snapshot) -> None:
        """Count on from ``previous``, the last snapshot of the process this one replaces (a
        worker restarted in its slot): its counters and histograms are added to this one's,
        so the sums /metrics gives never go down. They did, and Prometheus took the drop
        for a reset to 0 and the whole remaining count for an increase."""
        self.carried = Snapshot(counters=list(previous.counters), histograms=list(previous.histograms))

    def inc(self, name: str, n: float = 1, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        self.counters[key] = self.counters.get(key, 0) + n

    def inc_request(self, endpoint: str, status: int) -> None:
        """``inc("trackway_requests_total", ...)`` for every request, with its key cached."""
        key = self._request_keys.get((endpoint, status))
        if key is None:
            key = ("trackway_requests_total", (("endpoint", endpoint), ("status", str(status))))
            self._request_keys[(endpoint, status)] = key
        self.counters[key] = self.counters.get(key, 0) + 1

    def set(self, name: str, value: float, **labels: str) -> None:
        self.gauges[(name, tuple(sorted(labels.items())))] = value

    def observe(self, name: str, value: float, buckets: tuple[float, ...], n: int = 1, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        h = self.histograms.get(key)
        if h is None:
            h = self.histograms[key] = Histogram(list(buckets), [0] * len(buckets))
        h.observe(value, n)

    def snapshot(self) -> Snapshot:
        """This process's series, with those it carries (render sums a series given twice)."""
        return Snapshot(
            [(n, dict(labels), v) for (n, labels), v in self.counters.items()] + self.carried.counters,
            [(n, dict(labels), v) for (n, labels), v in self.gauges.items()],
            [
                (n, dict(labels), msgspec.structs.replace(h, counts=list(h.counts)))
                for (n, labels), h in self.histograms.items()
            ]
            + self.carried.histograms,
        )


_enc = msgspec.json.Encoder()
_dec = msgspec.json.Decoder(Snapshot)


def write(directory: Path, name: str, snapshot: Snapshot) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{name}.tmp"
    tmp.write_bytes(_enc.encode(snapshot))
    os.replace(tmp, directory / f"{name}.json")


def read(path: Path) -> Snapshot | None:
    """One process's last snapshot, None when there is none to read."""
    try:
        return _dec.decode(path.read_bytes())
    except (OSError, msgspec.DecodeError):
        return None


def gauge(path: Path, name: str) -> float | None:
    """A gauge's value (without labels) in one process's snapshot, None when absent."""
    snapshot = read(path)
    if snapshot is None:
        return None
    return next((v for n, labels, v in snapshot.gauges if n == name and not labels), None)


def read_all(directory: Path, skip: str | None = None) -> list[Snapshot]:
    out: list[Snapshot] = []
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return out
    for n in names:
        if not n.endswith(".json") or n == f"{skip}.json":
            continue
        snapshot = read(directory / n)
        if snapshot is not None:
            out.append(snapshot)
    return out


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return "{" + inner + "}"


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render(snapshots: list[Snapshot]) -> str:
    """Prometheus text format, summing the same series over every snapshot."""
    counters: dict[tuple[str, str], float] = {}
    gauges: dict[tuple[str, str], float] = {}
    hists: dict[tuple[str, str], tuple[dict[str, str], Histogram]] = {}
    for snap in snapshots:
        for name, labels, v in snap.counters:
            key = (name, _labels(labels))
            counters[key] = counters.get(key, 0) + v
        for name, labels, v in snap.gauges:
            key = (name, _labels(labels))
            gauges[key] = gauges.get(key, 0) + v
        for name, labels, h in snap.histograms:
            key = (name, _labels(labels))
            if key in hists:
                acc = hists[key][1]
                acc.counts = [a + b for a, b in zip(acc.counts, h.counts, strict=True)]
                acc.sum += h.sum
                acc.count += h.count
            else:
                hists[key] = (labels, msgspec.structs.replace(h, counts=list(h.counts)))
    lines: list[str] = []
    names = sorted({k[0] for k in counters} | {k[0] for k in gauges} | {k[0] for k in hists} | set(HELP))
    for name in names:
        kind, help_ = HELP.get(name, ("untyped", name))
        lines += [f"# HELP {name} {help_}", f"# TYPE {name} {kind}"]
        for (n, lab), v in sorted(counters.items()):
            if n == name:
                lines.append(f"{n}{lab} {_num(v)}")
        for (n, lab), v in sorted(gauges.items()):
            if n == name:
                lines.append(f"{n}{lab} {_num(v)}")
        for (n, _), (labels, h) in sorted(hists.items(), key=lambda kv: kv[0]):
            if n != name:
                continue
            running = 0
            for bound, c in zip(h.buckets, h.counts, strict=True):
                running += c
                lines.append(f"{n}_bucket{_labels({**labels, 'le': _num(bound)})} {running}")
            lines.append(f"{n}_bucket{_labels({**labels, 'le': '+Inf'})} {h.count}")
            lines.append(f"{n}_sum{_labels(labels)} {_num(h.sum)}")
            lines.append(f"{n}_count{_labels(labels)} {h.count}")
    return "\n".join(lines) + "\n"


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def loader_snapshot(
    by_key: dict[tuple[str, str, str, str], int],
    duplicates: int,
    lag: int,
    *,
    quarantined: int = 0,
    record_errors: int = 0,
    batch_errors: int = 0,
    reruns: int = 0,
    alarms: int = 0,
    oldest_unloaded: float | None = None,
    now: float | None = None,
    retained: int = 0,
    memory: StoreMemory | None = None,
) -> Snapshot:
    """The store process's metrics, from the loader's totals: ``quarantined`` rows in the
    quarantine now, ``record_errors`` records this process quarantined, ``batch_errors``
    batches whose load raised, ``reruns`` batches written twice, ``alarms`` active."""
    m = Metrics()
    m.set("trackway_quarantined_records", quarantined)
    m.inc("trackway_loader_errors_total", record_errors, kind="record")
    m.inc("trackway_loader_errors_total", batch_errors, kind="batch")
    m.inc("trackway_loader_reruns_total", reruns)
    m.set("trackway_alarms", alarms)
    for (endpoint, dialect, prop, outcome), n in by_key.items():
        m.inc("trackway_events_total", n, endpoint=endpoint, dialect=dialect, property=prop, outcome=outcome)
    if duplicates:
        m.inc("trackway_events_total", duplicates, outcome="duplicate")
    m.set("trackway_log_lag_bytes", lag)
    m.set("trackway_log_retained_bytes", retained)
    age = (
        0.0 if oldest_unloaded is None else max(0.0, (time.time() if now is None else now) - oldest_unloaded)
    )
    m.set("trackway_log_oldest_unloaded_seconds", round(age, 3))
    if memory is not None:
        m.set("trackway_store_memory_bytes", memory.used, part="all")
        m.set("trackway_store_memory_bytes", memory.indexes, part="indexes")
        m.set("trackway_store_memory_limit_bytes", memory.limit)
        m.set("trackway_store_wal_bytes", memory.wal)
    return m.snapshot()
