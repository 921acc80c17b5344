"""The course's own processes: started on demand, found again, and all gone after `stop`.

Uses its own state directory and ports, so stopping everything does not touch the session's server.
"""

from __future__ import annotations

import psutil
import pytest
import requests

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
