"""The course's MLflow tracking server (lesson 2): a real `mlflow server` on loopback, like the course's.

Started in the background by `make mlflow`, `make stage-2` and `make tour`, stopped by `make stop`.
Its runs live in a SQLite database and its artifacts (the logged models) in a folder, both under
`.course/mlflow/`, so `make clean` removes them with the rest of the course's state. Set
MLFLOW_TRACKING_URI to log to a server of your own instead: then none is started here.
"""

from __future__ import annotations

import sys
from pathlib import Path

from coursekit import config
from coursekit.services import lifecycle

SERVICE = "mlflow-server"


def folder() -> Path:
    return config.current().state_dir / "mlflow"


def uses_own_server() -> bool:
    """True unless MLFLOW_TRACKING_URI points somewhere else than the course's server."""
    cfg = config.current()
    return cfg.tracking_uri == cfg.mlflow_url


def ensure_running(*, wait: bool = True) -> str:
    """Start the course's tracking server unless it is up; return its URL (idempotent)."""
    cfg = config.current()
    store = folder()
    lifecycle.ensure(
        lifecycle.Service(
            name=SERVICE,
            what="the MLflow tracking server",
            host=cfg.host,
            port=cfg.mlflow_port,
            port_variable="COURSE_MLFLOW_PORT",
            command=[
                str(Path(sys.executable).with_name("mlflow")),
                "server",
                "--backend-store-uri",
                f"sqlite:///{store / 'mlflow.db'}",
                "--artifacts-destination",
                str(store / "artifacts"),
                "--host",
                cfg.host,
                "--port",
                str(cfg.mlflow_port),
                "--workers",  # one request worker (MLflow's default is 4 processes): enough for one learner
                "1",
            ],
            # MLflow's job runner (seven more processes for its GenAI jobs) has nothing to do in this course.
            env={"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
            cwd=store,
            ready=lambda: lifecycle.answers(f"{cfg.mlflow_url}/health"),
            stranger_hint="another MLflow server, or macOS's AirPlay Receiver on port 5000?",
            prepare=lambda: store.mkdir(parents=True, exist_ok=True),
        ),
        wait=wait,
    )
    return cfg.mlflow_url
