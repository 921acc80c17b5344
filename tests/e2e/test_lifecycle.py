"""The course's own processes: started on demand, found again, and all gone after `stop`.

Uses its own state directory and ports, so stopping everything does not touch the session's server.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import psutil
import pytest
import requests

from coursekit.config import REPO_ROOT
from coursekit.services import lifecycle
from tests.support.run import output, run

pytestmark = pytest.mark.e2e


@pytest.mark.readme("make stop", because="in a course of its own: the session's server must keep running")
def test_server_is_idempotent_and_stop_leaves_no_course_process(tmp_path):
    port, facts_port = lifecycle.free_port(), lifecycle.free_port()
    env = {
        "COURSE_STATE_DIR": str(tmp_path / "state"),
        "COURSE_SERVER_PORT": str(port),
        "COURSE_FACTS_PORT": str(facts_port),
        "PREFECT_HOME": str(tmp_path / "state" / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
    }
    try:
        first = run("python", "-m", "coursekit", "server", env=env)
        assert first.returncode == 0 and "Prefect server up" in first.stdout, output(first)
        # The database holds the key to the blocks' secrets: no other local user may read it, or list its folder.
        state = tmp_path / "state"
        modes = {p.name: p.stat().st_mode & 0o777 for p in (state, state / "prefect", state / "prefect" / "prefect.db")}
        assert modes == {"state": 0o711, "prefect": 0o700, "prefect.db": 0o600}
        again = run("python", "-m", "coursekit", "server", env=env)
        assert again.returncode == 0 and "already up" in again.stdout, output(again)
        assert "<html" in requests.get(f"http://127.0.0.1:{port}/", timeout=10).text.lower()  # the UI

        stage = run("python", "-m", "coursekit", "stage", "1", env=env)  # a second run, on a fresh server
        assert stage.returncode == 0 and "5 failed attempts were retried" in stage.stdout, output(stage)
        started = [psutil.Process(p) for p in _pids_listening_on(port, facts_port)]
        assert started, "the server and the facts API should be listening"
    finally:
        stopped = run("python", "-m", "coursekit", "stop", env=env)
    assert stopped.returncode == 0 and "prefect-server" in stopped.stdout and "facts-api" in stopped.stdout
    gone, alive = psutil.wait_procs(started, timeout=10)
    assert not alive and not _pids_listening_on(port, facts_port)
    assert "Nothing was running" in run("python", "-m", "coursekit", "stop", env=env).stdout


def _pids_listening_on(*ports: int) -> set[int]:
    return {c.pid for c in psutil.net_connections("tcp") if c.status == psutil.CONN_LISTEN and c.laddr.port in ports}


@pytest.mark.usefixtures("prefect_server")
def test_one_ctrl_c_stops_a_stage_in_one_line_and_the_services_keep_running():
    stage = subprocess.Popen(
        [sys.executable, "-m", "coursekit", "stage", "1"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    printed = []
    for line in stage.stdout:  # the first lesson script has started: its flow run is under way
        printed.append(line)
        if line.startswith("▶ python 01_intro/cat_facts.py"):
            break
    time.sleep(1)
    stage.send_signal(signal.SIGINT)  # what Ctrl-C sends
    rest, errors = stage.communicate(timeout=60)
    assert stage.returncode == 130, "".join(printed) + rest + errors
    assert errors.strip().splitlines()[-1] == (
        "✗ Stopped by Ctrl-C in stage 1: its workers are stopped; the server and the other services keep running "
        "(`make status`; `make stop` ends them). `make stage-1` runs it again."
    ), errors
    assert "Traceback" not in errors and "KeyboardInterrupt" not in errors, errors
    assert "▶ python 01_intro/cat_dog_facts.py" not in rest  # the stage stopped: the next script never began
    assert lifecycle.status("prefect-server") is not None and lifecycle.status("facts-api") is not None
