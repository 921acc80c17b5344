"""The course's own Prefect server: `prefect server start` in the background, on loopback, with a
repo-local PREFECT_HOME so the learner's own Prefect profile and database are never touched."""

from __future__ import annotations

import sys
from pathlib import Path

from coursekit import config, console, services

NAME = "prefect-server"


def healthy(api_url: str) -> bool:
    return services.answers(f"{api_url}/health")


def prefect_executable() -> str:
    """The `prefect` command of the environment the course runs in (the .venv, not whatever is on PATH)."""
    candidate = Path(sys.executable).parent / "prefect"
    return str(candidate) if candidate.exists() else "prefect"


def ensure_running(*, quiet: bool = False) -> str:
    """Start the server unless it is up already; return the API URL.

    Idempotent: a second call finds the running server and says so.
    """
    cfg = config.current()
    running = services.status_on_port(NAME, cfg.server_port, "COURSE_SERVER_PORT")
    if running is not None and healthy(cfg.api_url):
        if not quiet:
            console.ok(f"Prefect server already up at {cfg.ui_url}")
        return cfg.api_url
    if running is None and services.port_in_use(cfg.host, cfg.server_port):
        raise services.ServiceError(
            f"Port {cfg.server_port} on {cfg.host} is already in use by a program this course did not start "
            f"(another Prefect server?).\n"
            f"Stop that program, or give the course another port, for example:\n"
            f"    make stage-1 COURSE_SERVER_PORT={cfg.server_port + 1}\n"
            f"or `export COURSE_SERVER_PORT={cfg.server_port + 1}` for every command in this shell."
        )
    if running is None:
        cfg.prefect_home.mkdir(parents=True, exist_ok=True)
        running = services.start(
            NAME,
            [prefect_executable(), "server", "start", "--host", cfg.host, "--port", str(cfg.server_port)],
            port=cfg.server_port,
            env=cfg.prefect_env(),
        )
    services.wait_until(
        running,
        lambda: healthy(cfg.api_url),
        what=f"Waiting for the Prefect server on {cfg.ui_url} (log: {_short(running.log)})",
    )
    if not quiet:
        console.ok(f"Prefect server up. Open the UI at {cfg.ui_url}")
    return cfg.api_url


def stop() -> bool:
    return services.stop(NAME)


def _short(path: Path) -> str:
    try:
        return str(path.relative_to(config.REPO_ROOT))
    except ValueError:
        return str(path)
