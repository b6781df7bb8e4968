"""The store process and its workers: they live and die together, a restart always
works, and a bad trackway.toml never takes the collector down.

- SIGKILL of the store process (the supervisor) alone: its workers stop by themselves
  (PR_SET_PDEATHSIG, and a parent check), so `serve` on the same port and data dir
  starts, and every acknowledged event is stored.
- A worker that cannot stop (SIGSTOPped) when its supervisor is killed: `trackway stop`
  finds it through run/w<slot>.pid and stops it; `serve` would do the same.
- A bad trackway.toml, then a worker restart: the worker starts with the last good
  configuration, the error is logged once and never with a secret, /health says
  degraded (200), and nothing restarts in a loop.
"""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest

from tests.support import server as support
from tests.support.server import ADMIN_TOKEN, Server, cli, process_state, wait_for

EVENTS = 20


@pytest.fixture
def fixed_port(monkeypatch):
    """`serve --port P` with one free port P for every start of the test (the harness asks for 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    real = support.command
    monkeypatch.setattr(
        support,
        "command",
        lambda *args: real(
            *[str(port) if a == "0" and args[i - 1] == "--port" else a for i, a in enumerate(args)]
        ),
    )
    return port


@pytest.fixture
def server(tmp_path, fixed_port):
    s = Server(tmp_path / "data")
    try:
        s.start()
        yield s
    finally:
        s.close()
        for pid in _workers(s.data):  # never leave a worker behind, whatever the test did
            for sig in (signal.SIGKILL, signal.SIGCONT):
                os.kill(pid, sig)


def _workers(data: Path) -> list[int]:
    found = []
    for path in (data / "run").glob("w*.pid"):
        pid = int(path.read_text().split()[0])
        state = process_state(pid)
        if state is not None and state[0] != "Z":
            found.append(pid)
    return found


def _send(server: Server, tag: str, keys: dict[str, str] | None = None) -> set[str]:
    keys = keys or server.keys()
    acked = set()
    for n in range(EVENTS):
        marker = f"{tag}-{n}"
        event = [
            "event",
            "add_to_cart",
            {"currency": "EUR", "value": 1, "items": [{"item_id": "a"}], "m": marker},
        ]
        if server.post("/collect", json={"key": keys["collect_key"], "events": [event]}).status_code == 200:
            acked.add(marker)
    return acked


def _stored(server: Server) -> list[str]:
    return sorted(e["properties"]["m"] for e in server.events() if "m" in e.get("properties", {}))


def _kill_supervisor(server: Server) -> list[int]:
    """SIGKILL the store process alone (not its workers); returns the workers' pids."""
    assert server.proc is not None
    workers = _workers(server.data)
    assert len(workers) == server.workers, f"expected {server.workers} worker pid files, found {workers}"
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(30)
    return workers


def test_workers_die_with_a_killed_store_process_and_serve_starts_again(server, fixed_port):
    acked = _send(server, "before")
    assert len(acked) == EVENTS
    workers = _kill_supervisor(server)

    wait_for(
        lambda: not any(_alive(pid) for pid in workers), 30, "the orphaned workers to stop by themselves"
    )
    server._reap_group()
    server.start()  # the same port and data dir
    assert server.url.endswith(f":{fixed_port}")
    acked |= _send(server, "after")
    server.wait_events(len(acked))
    assert _stored(server) == sorted(acked)  # acked 40, stored 40 once each, lost 0


def test_stop_stops_workers_a_killed_store_process_left_running(server, fixed_port):
    acked = _send(server, "before")
    stuck = _workers(server.data)[0]
    os.kill(stuck, signal.SIGSTOP)  # it cannot act on the death signal until continued
    _kill_supervisor(server)
    assert _alive(stuck)

    done = cli("stop", data=server.data)
    assert "left running by a server that died" in done.stdout and str(stuck) in done.stdout, done.stdout
    wait_for(lambda: not _alive(stuck), 30, "the stopped worker to exit")
    assert "no server runs" in cli("stop", data=server.data, check=False).stderr
    server._reap_group()
    server.start()
    server.wait_events(len(acked))
    assert _stored(server) == sorted(acked)


def test_a_bad_configuration_and_a_worker_restart_keep_serving(server):
    keys = server.keys()
    path = server.data / "trackway.toml"
    path.write_text(path.read_text() + f'\n[properties.copy]\ncollect_key = "{keys["collect_key"]}"\n')
    restarted = _workers(server.data)[0]
    os.kill(restarted, signal.SIGKILL)

    def replaced() -> bool:
        now = _workers(server.data)
        return len(now) == server.workers and restarted not in now

    wait_for(replaced, 60, "the killed worker to be replaced")
    acked = _send(server, "bad-file", keys)
    health = server.http.get(f"{server.url}/health")
    server.wait_events(len(acked))
    log = server.log_file.read_text()

    assert len(acked) == EVENTS  # both workers, the new one included, acknowledge
    assert health.status_code == 200, health.text
    body = health.json()
    assert body["status"] == "degraded" and "config_invalid" in [a["key"] for a in body["alarms"]], body
    assert log.count("the same collect_key key is in both") == 1, log
    assert log.count("exited with") == 1, log  # the kill, and no restart loop
    for secret in (keys["collect_key"], keys["admin_token"], ADMIN_TOKEN):
        assert secret not in log and secret not in health.text


def _alive(pid: int) -> bool:
    state = process_state(pid)
    return state is not None and state[0] != "Z"


def test_live_workers_reads_the_pid_files_and_only_leftover_workers_prunes(tmp_path: Path) -> None:
    from trackway.server.supervisor import _start_time, leftover_workers, live_workers

    run = tmp_path / "run"
    run.mkdir()
    me = os.getpid()
    started = _start_time(me)
    assert started is not None
    (run / "w1.pid").write_text(f"{me} {started[0]}\n")
    (run / "w2.pid").write_text(f"{me} {started[0] + 1}\n")  # a reused pid: another start time
    (run / "w3.pid").write_text("not a pid\n")
    assert live_workers(tmp_path) == [me]
    assert sorted(p.name for p in run.iterdir()) == ["w1.pid", "w2.pid", "w3.pid"]  # read only
    assert leftover_workers(tmp_path) == [me]
    assert sorted(p.name for p in run.iterdir()) == ["w1.pid", "w3.pid"]  # the gone one's file removed


def test_a_setting_read_at_start_changed_in_the_file_is_an_alarm_until_restored(server):
    # workers, port, max_header_bytes... changed while the server ran: taken, ignored, no word
    path = server.data / "trackway.toml"
    before = path.read_text()
    path.write_text(before.replace("[server]\n", "[server]\nkeep_alive_seconds = 7\n", 1))

    def alarm() -> dict | None:
        body = server.http.get(f"{server.url}/health").json()
        return next((a for a in body.get("alarms", []) if a["key"] == "restart_needed"), None)

    said = wait_for(alarm, 30, "the restart_needed alarm")
    assert "keep_alive_seconds" in said["message"] and "trackway stop" in said["message"], said
    path.write_text(before)
    wait_for(lambda: alarm() is None, 30, "the alarm to clear once the file is as the server started")


def test_a_server_started_with_a_relative_data_dir_is_found_from_anywhere(tmp_path: Path) -> None:
    """`serve --data data` in one directory, then `sql` and `stop` with the absolute path from
    another: the state file named a relative socket, so the server looked dead from there.
    `sql` then failed on the store's lock, and `stop` killed the live worker as a leftover."""
    import subprocess
    from concurrent.futures import ThreadPoolExecutor

    from trackway.server.supervisor import running

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "trackway.toml").write_text(f'[server]\nadmin_token = "{ADMIN_TOKEN}"\n')
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        support.command("serve", "--data", "data", "--port", "0", "--workers", "1"),
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env=support.environment(),
    )
    data = tmp_path / "data"
    try:
        wait_for((data / "run" / "server.json").exists, 120, "the server's state file")
        state = wait_for(lambda: running(data), 10, "the server to be found running")
        assert Path(state.socket).is_absolute(), state
        answer = cli("sql", "SELECT count(*) AS n FROM events", "--format", "json", data=data)
        assert '"n": 0' in answer.stdout or '"n":0' in answer.stdout, answer.stdout
        with ThreadPoolExecutor(1) as pool:  # the server is this process's child: reaped here
            stopping = pool.submit(cli, "stop", data=data)
            assert proc.wait(60) == 0
            stopped = stopping.result()
        assert "stopped the server" in stopped.stdout and "left running" not in stopped.stdout, stopped.stdout
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        for pid in _workers(data):
            os.kill(pid, signal.SIGKILL)


def test_top_and_ps_show_each_part_by_its_name(server):
    """The loader's thread, the workers and their fsync helpers named (trackway/osname.py):
    they all read "trackway" or "python" in top before."""
    from trackway.osname import FSYNC, LOADER, WORKER

    assert _send(server, "named")  # each worker's helper starts with its first sync
    assert server.proc is not None

    def names(pid: int) -> list[str]:  # of its threads
        task = Path(f"/proc/{pid}/task")
        return sorted((task / tid / "comm").read_text().strip() for tid in os.listdir(task))

    def name(pid: int) -> str:  # the process's (its main thread's)
        return Path(f"/proc/{pid}/comm").read_text().strip()

    assert LOADER in names(server.proc.pid)
    workers = _workers(server.data)
    assert len(workers) == 2 and [name(pid) for pid in workers] == [WORKER, WORKER]
    helpers = [int(p) for w in workers for p in Path(f"/proc/{w}/task/{w}/children").read_text().split()]
    assert FSYNC in [name(pid) for pid in helpers]


def test_a_setting_spelled_another_way_is_the_same_setting_for_restart_needed() -> None:
    # "1gb" for "1GB" (the default) raised restart_needed: a change the server would not make
    from trackway.server.supervisor import _meant

    assert _meant("1gb") == _meant("1GB") == _meant(" 1 GB ") == 1_000_000_000
    assert _meant("128 MB") == _meant("128MB") != _meant("128MiB")
    assert (_meant("50%"), _meant(7), _meant(True), _meant("auto")) == ("50%", 7, True, "auto")
