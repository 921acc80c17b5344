"""Lesson 2's experiment tracking: which MLflow tracking server a training run logs to, if any answers.

The lesson file makes every MLflow call itself (set_tracking_uri, set_experiment, start_run, log_params,
log_metric, log_model); this only answers "where, and is anyone there?", so that a run whose tracking
server is down says so in one line and still trains, instead of failing after the work is done:

    MLFLOW_TRACKING_URI   an MLflow server of your own (or file:, sqlite: URIs); unset = the course's
    COURSE_MLFLOW_PORT    the course's own server on 127.0.0.1 (default 5000; `make mlflow` starts it)
"""

from __future__ import annotations

import requests

from coursekit import config, console

EXPERIMENT = "nyc-taxi-experiment"  # the original course's experiment name


def tracking_server() -> str | None:
    """The tracking URI to log to, or None (after one line saying why) when no server answers there."""
    uri = config.current().tracking_uri
    if not uri.startswith(("http://", "https://")):
        return uri  # a local store (file:, sqlite:) needs no server
    try:
        answers = requests.get(f"{uri.rstrip('/')}/health", timeout=3).ok
    except requests.RequestException:
        answers = False
    if answers:
        return uri
    console.warn(
        f"No MLflow tracking server answers at {uri}: this run is not tracked. "
        + (
            "Start the course's with `make mlflow`."
            if uri == config.current().mlflow_url
            else "Start that server (MLFLOW_TRACKING_URI), or unset the variable to use the course's: `make mlflow`."
        )
    )
    return None


def run_link(uri: str, experiment_id: str, run_id: str) -> str:
    """The run's page in the MLflow UI."""
    return f"{uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"
