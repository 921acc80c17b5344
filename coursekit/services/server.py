"""The course's own Prefect server: `prefect server start` in the background, on loopback, with a
repo-local PREFECT_HOME so the learner's own Prefect profile and database are never touched."""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

import psutil
import requests

from coursekit import config, console, files
from coursekit.services import lifecycle, postgres

NAME = "prefect-server"


def healthy(api_url: str) -> bool:
    return lifecycle.answers(f"{api_url}/health")


def prefect_executable() -> str:
    """The `prefect` command of the environment the course runs in (the .venv, not whatever is on PATH)."""
    candidate = Path(sys.executable).parent / "prefect"
    return str(candidate) if candidate.exists() else "prefect"


def ensure_running(*, quiet: bool = False, wait: bool = True) -> str:
    """Start the server unless it is up already; return the API URL.

    Idempotent: a second call finds the running server and says so, or waits for it while it starts.
    `wait=False` returns once the server's process is started.
    """
    cfg = config.current()

    def prepare() -> None:
        postgres.check_database(cfg)
        cfg.prefect_home.mkdir(parents=True, exist_ok=True)
        if cfg.database_url is None:
            _start_from_empty_database(cfg.prefect_home / "prefect.db")
        else:  # said before it happens: a learner moving to PostgreSQL would otherwise find an empty UI
            sqlite = cfg.prefect_home / "prefect.db"
            kept = f" They stay in {config.shown(sqlite)}." if sqlite.is_file() else ""
            console.warn(
                f"This server keeps its state in PostgreSQL ({postgres.hide_password(cfg.database_url)}): a database "
                f"of its own, empty the first time, without the SQLite server's runs, deployments and blocks.{kept} "
                "Back to SQLite: unset COURSE_DATABASE_URL, then make stop && make server."
            )

    running = lifecycle.ensure(
        lifecycle.Service(
            name=NAME,
            what="the Prefect server",
            host=cfg.host,
            port=cfg.server_port,
            port_variable="COURSE_SERVER_PORT",
            command=[prefect_executable(), "server", "start", "--host", cfg.host, "--port", str(cfg.server_port)],
            ready=lambda: healthy(cfg.api_url),
            env=cfg.prefect_env(),
            stranger_hint="another Prefect server?",
            prepare=prepare,
        ),
        wait=wait,
    )
    if not running.fresh:
        _check_it_is_the_server_asked_for(cfg, running)
    if not quiet and wait:
        console.ok(
            f"Prefect server up. Open the UI at {cfg.ui_url}"
            if running.fresh
            else f"Prefect server already up at {cfg.ui_url}"
        )
    return cfg.api_url


def login_refused(cfg: config.CourseConfig) -> bool:
    """True when the server answers but refuses the course's login (COURSE_SERVER_AUTH, or none).

    /api/health answers without a login (PREFECT_SERVER_API_AUTH_STRING exempts GET /health and /ready),
    so `healthy` alone cannot tell.
    """
    headers = {}
    if cfg.server_auth:
        headers["Authorization"] = "Basic " + base64.b64encode(cfg.server_auth.encode()).decode()
    try:
        return requests.get(f"{cfg.api_url}/admin/version", headers=headers, timeout=5).status_code == 401
    except requests.RequestException:
        return False


# A new SQLite database takes Prefect ~15 s of CPU to migrate (about a hundred Alembic steps), on every
# fresh clone, throw-away test course and benchmark. `make setup` migrates one empty database per Prefect
# release, once; a course whose database does not exist yet starts from a copy of it.
EMPTY_DATABASE = Path(sys.prefix) / "course" / f"prefect-{version('prefect')}-empty.db"


def make_empty_database() -> Path:
    """Migrate an empty SQLite database with `prefect server database upgrade` (what `make setup` runs).

    It holds the schema only: no block, key or run (Prefect makes its encryption key at the first block
    saved, so every course still gets its own). Written to a temporary file first: never half a template.
    """
    if EMPTY_DATABASE.exists():
        return EMPTY_DATABASE
    with tempfile.TemporaryDirectory() as tmp, files.atomic_file(EMPTY_DATABASE) as compact:
        migrated = Path(tmp, "migrated.db")
        env = {
            **os.environ,
            "PREFECT_HOME": tmp,
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{migrated}",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }
        done = subprocess.run(
            [prefect_executable(), "server", "database", "upgrade", "-y"], env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise lifecycle.ServiceError(f"Could not migrate an empty Prefect database:\n{done.stdout}{done.stderr}")
        with contextlib.closing(sqlite3.connect(migrated)) as db:
            db.execute("VACUUM INTO ?", (str(compact),))  # one file, without the write-ahead log beside it
    return EMPTY_DATABASE


def _start_from_empty_database(database: Path) -> None:
    """A course with no database yet gets a copy of the migrated empty one, readable by its owner only
    (the database holds the key that decrypts the blocks' secrets)."""
    if database.exists() or not EMPTY_DATABASE.exists():
        return  # no template (setup skipped): the server migrates its new database itself, as Prefect does
    with files.atomic_file(database, mode=0o600) as partial:
        shutil.copyfile(EMPTY_DATABASE, partial)


def _check_it_is_the_server_asked_for(cfg: config.CourseConfig, running: lifecycle.Running) -> None:
    """A server started earlier with another login or database than this shell asks for: say so, now."""
    if login_refused(cfg):
        if cfg.server_auth:
            user = cfg.server_auth.split(":", 1)[0]
            problem = f"refused the login in COURSE_SERVER_AUTH (user {user!r})"
        else:
            problem = "asks for a login, and COURSE_SERVER_AUTH is not set"
        raise lifecycle.ServiceError(
            f"The Prefect server at {cfg.ui_url} {problem}.\n"
            "Set COURSE_SERVER_AUTH to the user:password the server was started with "
            "(export COURSE_SERVER_AUTH=user:password),\n"
            "or restart the server with this shell's settings: make stop && make server"
        )
    with contextlib.suppress(psutil.Error):
        theirs = psutil.Process(running.pid).environ().get("PREFECT_SERVER_DATABASE_CONNECTION_URL")
        if theirs != cfg.database_url:
            raise lifecycle.ServiceError(
                f"The course's Prefect server runs on {_database(theirs)}, but COURSE_DATABASE_URL asks for "
                f"{_database(cfg.database_url)}.\nRestart it with this shell's settings: make stop && make server"
            )


def _database(url: str | None) -> str:
    return "SQLite in PREFECT_HOME" if url is None else postgres.hide_password(url)


def stop() -> bool:
    return lifecycle.stop(NAME)
