"""Background services: started, found again, stopped, and never a process the course did not start."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time

import psutil
import pytest

from coursekit import config
from coursekit.services import lifecycle, server
from tests.support.run import process_group


@pytest.fixture
def isolated_state(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_STATE_DIR", str(tmp_path))
    yield tmp_path
    lifecycle.stop_all()


def sleeper(name: str) -> lifecycle.Running:
    return lifecycle.start(name, [sys.executable, "-c", "import time; time.sleep(60)"])


def test_start_status_stop_roundtrip(isolated_state):
    running = sleeper("sleepy")
    assert lifecycle.status("sleepy").pid == running.pid
    assert lifecycle.stop("sleepy") is True
    assert not psutil.pid_exists(running.pid) or psutil.Process(running.pid).status() == psutil.STATUS_ZOMBIE
    assert lifecycle.status("sleepy") is None
    assert lifecycle.stop("sleepy") is False  # stopping twice is fine


def test_stop_ends_the_whole_process_group(isolated_state):
    parent = lifecycle.start(
        "family",
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time; "
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)",
        ],
    )
    proc = psutil.Process(parent.pid)
    psutil.wait_procs([], timeout=0.5)
    children = proc.children(recursive=True)
    lifecycle.stop("family")
    gone, alive = psutil.wait_procs([proc, *children], timeout=5)
    assert not alive


def test_stop_also_ends_children_that_left_the_group(isolated_state):
    """As a worker's flow-run process does: started by the service, in a session of its own."""
    parent = lifecycle.start(
        "worker-like",
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], "
            "start_new_session=True); time.sleep(60)",
        ],
    )
    proc = psutil.Process(parent.pid)
    # The child shows up between its fork and its setsid() too: wait until it has left the parent's group.
    deadline = time.monotonic() + 10
    while not _left_the_group(proc) and time.monotonic() < deadline:
        psutil.wait_procs([], timeout=0.1)
    children = proc.children(recursive=True)
    assert _left_the_group(proc), [(c.pid, process_group(c.pid)) for c in children]
    lifecycle.stop("worker-like")
    gone, alive = psutil.wait_procs([proc, *children], timeout=5)
    assert not alive


def _left_the_group(parent: psutil.Process) -> bool:
    children = parent.children(recursive=True)
    return bool(children) and process_group(children[0].pid) not in (None, process_group(parent.pid))


def test_a_reused_pid_is_never_signalled(isolated_state):
    """A pid file whose pid now belongs to another program (here: this test) must not stop it."""
    run_dir = config.current().run_dir
    run_dir.mkdir(parents=True)
    (run_dir / "ghost.json").write_text(
        json.dumps({"pid": os.getpid(), "create_time": 1.0, "port": None, "log": "x.log", "command": []})
    )
    assert lifecycle.stop("ghost") is False
    assert psutil.pid_exists(os.getpid())
    assert not (run_dir / "ghost.json").exists()


def test_stop_all_stops_every_course_process(isolated_state):
    a, b = sleeper("one"), sleeper("two")
    assert sorted(lifecycle.stop_all()) == ["one", "two"]
    assert lifecycle.status("one") is None and lifecycle.status("two") is None
    assert all(not psutil.pid_exists(p.pid) or psutil.Process(p.pid).status() == "zombie" for p in (a, b))


def test_stop_all_stops_the_last_named_after_the_others(isolated_state):
    started = [sleeper("server-like"), sleeper("worker-like")]
    assert lifecycle.stop_all(last=("server-like",)) == ["worker-like", "server-like"]
    assert all(not psutil.pid_exists(p.pid) or psutil.Process(p.pid).status() == "zombie" for p in started)


def test_a_service_started_while_sigint_is_ignored_still_stops_on_sigint(isolated_state, monkeypatch):
    """A background job (`make tour &`, CI) and pytest's xdist workers start with SIGINT ignored. Prefect's
    worker turns SIGTERM into a SIGINT to itself, so a service that inherited "ignored" would never stop."""
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        shows_its_handler = "import signal, time; print(signal.getsignal(signal.SIGINT)); time.sleep(60)"
        running = lifecycle.start("sigint", [sys.executable, "-c", shows_its_handler])
    finally:
        signal.signal(signal.SIGINT, before)
    deadline = time.monotonic() + 20
    while "default_int_handler" not in running.new_log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "default_int_handler" in running.new_log(), running.new_log()
    os.kill(running.pid, signal.SIGINT)
    assert psutil.wait_procs([psutil.Process(running.pid)], timeout=10)[1] == []


def test_a_busy_port_is_named_with_the_variable_to_change_it(isolated_state, monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("COURSE_SERVER_PORT", str(port))
        with pytest.raises(lifecycle.ServiceError) as error:
            server.ensure_running()
    message = str(error.value)
    assert f"Port {port}" in message and f"COURSE_SERVER_PORT={port + 1}" in message


def test_a_service_that_dies_while_starting_shows_its_log(isolated_state):
    running = lifecycle.start("broken", [sys.executable, "-c", "import sys; print('bad config'); sys.exit(3)"])
    with pytest.raises(lifecycle.ServiceError, match="(?s)broken exited while starting.*bad config"):
        lifecycle.wait_until(running, lambda: False, what="waiting for nothing", timeout=10)


@pytest.mark.parametrize("value, problem", [("http", "not a port number"), ("70000", "out of range")])
def test_a_bad_port_setting_says_what_to_do(monkeypatch, value, problem):
    monkeypatch.setenv("COURSE_SERVER_PORT", value)
    with pytest.raises(SystemExit, match=problem):
        config.current()


def test_a_new_course_database_is_a_private_copy_of_the_migrated_empty_one(tmp_path, monkeypatch):
    template = tmp_path / "empty.db"
    template.write_bytes(b"migrated schema")
    monkeypatch.setattr(server, "EMPTY_DATABASE", template)
    database = tmp_path / "home" / "prefect.db"
    database.parent.mkdir()
    server._start_from_empty_database(database)
    assert database.read_bytes() == b"migrated schema"
    assert database.stat().st_mode & 0o777 == 0o600  # it will hold the key that decrypts the blocks
    database.write_bytes(b"a course's runs")
    server._start_from_empty_database(database)  # an existing database is never replaced
    assert database.read_bytes() == b"a course's runs"


def test_without_the_empty_database_the_server_migrates_its_own(tmp_path, monkeypatch):
    monkeypatch.setattr(server, "EMPTY_DATABASE", tmp_path / "not-made.db")
    server._start_from_empty_database(tmp_path / "prefect.db")
    assert list(tmp_path.iterdir()) == []
