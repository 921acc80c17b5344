"""Where the course keeps its state and which ports it uses, read from the environment at call time.

Every port of every service the course starts is here, with its variable and its check, and nowhere
else. Every default can be changed by an environment variable, so tests (and learners with a busy
port) can run the course side by side with another copy of it:

    COURSE_SERVER_PORT    4200  the Prefect server and its UI
    COURSE_FACTS_PORT     8765  lesson 1's flaky facts API
    COURSE_S3_PORT        9000  lesson 4's local S3-compatible endpoint
    COURSE_SMTP_PORT      8025  lesson 5's local SMTP server (or a real server's port, with COURSE_SMTP_SERVER)
    COURSE_POSTGRES_PORT  5433  lesson 5's PostgreSQL
    COURSE_MLFLOW_PORT    5000  lesson 2's MLflow tracking server (MLFLOW_TRACKING_URI points at another one)
    COURSE_STATE_DIR, COURSE_DATA_DIR, COURSE_MODELS_DIR   .course, data, models
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


# Retries of each Prefect API call that finds the server gone (see prefect_env); tests/e2e/test_server_restart.py
# shows what they buy.
CLIENT_MAX_RETRIES = 6


# Prefect 3.9's server opens its new UI at /v2/ (its old one stays at the root paths): the course links there.
UI_PREFIX = "/v2"


@dataclass(frozen=True)
class CourseConfig:
    host: str
    server_port: int
    facts_port: int
    state_dir: Path
    data_dir: Path
    models_dir: Path
    s3_port: int = 9000
    smtp_port: int = 8025
    postgres_port: int = 5433
    mlflow_port: int = 5000
    # Opt-in: "user:password" that the course's server asks for (and every course process sends).
    server_auth: str | None = None
    # Opt-in: the server's database instead of SQLite in PREFECT_HOME (`make postgres` prints one).
    database_url: str | None = None

    @property
    def prefect_home(self) -> Path:
        return self.state_dir / "prefect"

    @property
    def run_dir(self) -> Path:
        """Pid files of the background processes the course started (and may stop)."""
        return self.state_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.server_port}/api"

    @property
    def ui_url(self) -> str:
        """The server's address: it opens the UI the course teaches, Prefect's new one, at /v2/."""
        return f"http://{self.host}:{self.server_port}"

    def ui_page(self, path: str) -> str:
        """A page of Prefect's new UI (the one the server opens by default): ui_page("/runs")."""
        return f"{self.ui_url}{UI_PREFIX}{path}"

    @property
    def facts_url(self) -> str:
        return f"http://{self.host}:{self.facts_port}"

    @property
    def s3_url(self) -> str:
        """The local S3-compatible endpoint (lesson 4's embedded default)."""
        return f"http://{self.host}:{self.s3_port}"

    @property
    def mlflow_url(self) -> str:
        """The course's MLflow tracking server (lesson 2's embedded default; `make mlflow`)."""
        return f"http://{self.host}:{self.mlflow_port}"

    @property
    def tracking_uri(self) -> str:
        """Where training runs are tracked: MLFLOW_TRACKING_URI when set, else the course's own server."""
        return os.environ.get("MLFLOW_TRACKING_URI") or self.mlflow_url

    @property
    def git_url(self) -> str:
        """The local bare git repository that lesson 3's git pull step clones from (no GitHub needed)."""
        return (self.state_dir / "git" / "course.git").as_uri()

    def prefect_env(self) -> dict[str, str]:
        """The variables that point every Prefect command and flow at the course's server."""
        env = {
            "COURSE_ROOT": str(REPO_ROOT),  # prefect.yaml files point pull steps at lesson folders with it
            "COURSE_GIT_URL": self.git_url,
            "COURSE_FACTS_URL": self.facts_url,  # lesson 1's flaky facts API (make facts)
            # Absolute, so code that a worker runs from elsewhere (a git clone, a bucket) shares them.
            "COURSE_STATE_DIR": str(self.state_dir),
            "COURSE_DATA_DIR": str(self.data_dir),
            "COURSE_MODELS_DIR": str(self.models_dir),
            # Lesson 3's containers run as you (user:group ids), so what they write in data/ is yours.
            "COURSE_USER": f"{os.getuid()}:{os.getgid()}",
            # Lesson 2's training runs log to MLflow here (make mlflow), and so does the `mlflow` command.
            "MLFLOW_TRACKING_URI": self.tracking_uri,
            "PREFECT_HOME": str(self.prefect_home),
            "PREFECT_API_URL": self.api_url,
            "PREFECT_SERVER_API_HOST": self.host,
            "PREFECT_SERVER_API_PORT": str(self.server_port),
            # Deployment runs send a heartbeat every 30 s (Prefect's default: 180), so the automation in
            # 03_deploy_local/crash-zombies.yaml can tell a run whose process died within 90 s.
            "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30",
            # A server restart must not end the runs in progress. Each API call that finds the server gone
            # is retried after 2, 4, 8, 16, 32 and 64 s (Prefect's default: 5 retries, about a minute), so a
            # flow-run process and its worker ride out an outage of up to about 2 minutes; after that the
            # call fails and the run ends Failed or Crashed, saying it could not reach the server.
            "PREFECT_CLIENT_MAX_RETRIES": str(CLIENT_MAX_RETRIES),
            # Workers ask for due runs every 2 s (Prefect's default: 10 s), so a run a lesson starts
            # begins at once. Against a busy shared server, the default is kinder.
            "PREFECT_WORKER_QUERY_SECONDS": "2",
            # The course runs offline: no usage telemetry, no update checks.
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
        }
        if self.server_auth:
            env["PREFECT_SERVER_API_AUTH_STRING"] = self.server_auth  # the server asks for it...
            env["PREFECT_API_AUTH_STRING"] = self.server_auth  # ...and every client, worker and flow run sends it
        if self.database_url:
            # The current name of the setting; PREFECT_API_DATABASE_CONNECTION_URL is its older alias.
            env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = self.database_url
        return env


class BadSetting(SystemExit):
    """A course variable holds a value the course cannot use; the message names it and says what to set."""


# The course's own services never take a privileged port (below 1024 needs root, and is some system
# service's); a real mail server the learner names may well listen on 465 or 587.
OWN_PORTS = range(1024, 65536)
ANY_PORT = range(1, 65536)


def port_from(name: str, default: int, allowed: range = OWN_PORTS) -> int:
    raw = os.environ.get(name, "").strip() or str(default)
    try:
        port = int(raw)
    except ValueError:
        raise BadSetting(f"✗ {name}={raw!r} is not a port number. Set it to a number such as {default}.") from None
    if port not in allowed:
        raise BadSetting(
            f"✗ {name}={port} is out of range. Use a port between {allowed.start} and {allowed.stop - 1}, "
            f"such as {default}."
        )
    return port


def apply_to_environment() -> CourseConfig:
    """Point this process, and every command it starts, at the course's server (the CLI's first step)."""
    cfg = current()
    env = cfg.prefect_env()
    os.environ.update(env)
    # Prefect creates its home at import, but not the folders above it: on a fresh clone it would warn.
    home = Path(env["PREFECT_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    # Prefect's home holds the server's database (with the key that decrypts the blocks' secrets) and the
    # task results: the owner's only. The state folder above can be entered by others but not listed, so
    # that PostgreSQL, which runs as its own user, reaches its cluster in .course/postgres.
    with contextlib.suppress(OSError):  # a folder someone else owns stays as it is
        cfg.state_dir.chmod(0o711)
        home.chmod(0o700)
    return cfg


def current() -> CourseConfig:
    return CourseConfig(
        host=os.environ.get("COURSE_HOST", "127.0.0.1"),
        server_port=port_from("COURSE_SERVER_PORT", 4200),
        facts_port=port_from("COURSE_FACTS_PORT", 8765),
        s3_port=port_from("COURSE_S3_PORT", 9000),
        # With COURSE_SMTP_SERVER set, the port is that server's (465, 587...); else the course's own.
        smtp_port=port_from("COURSE_SMTP_PORT", 8025, ANY_PORT if _real_smtp_server() else OWN_PORTS),
        state_dir=_folder("COURSE_STATE_DIR", ".course"),
        data_dir=_folder("COURSE_DATA_DIR", "data"),
        models_dir=_folder("COURSE_MODELS_DIR", "models"),
        postgres_port=port_from("COURSE_POSTGRES_PORT", 5433),
        mlflow_port=port_from("COURSE_MLFLOW_PORT", 5000),
        # An empty value means "not set": an empty auth string would still switch the server's login on.
        server_auth=os.environ.get("COURSE_SERVER_AUTH") or None,
        database_url=os.environ.get("COURSE_DATABASE_URL") or None,
    )


def _real_smtp_server() -> bool:
    return os.environ.get("COURSE_SMTP_SERVER", "") not in ("", "local")


def _folder(variable: str, default: str) -> Path:
    return Path(os.environ.get(variable, REPO_ROOT / default)).resolve()


def shown(path: Path) -> str:
    """A path as a learner would type it: relative to the top of the repository when it is inside it."""
    try:
        return str(Path(path).relative_to(REPO_ROOT))
    except ValueError:
        return str(path)
