"""Lesson 2: each training run tracked in MLflow, reported, and compared with every run so far.

orchestrate.py calls these at the end of its flow, whichever model it trained.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path
from typing import Any

from prefect import get_client, runtime, task
from prefect.artifacts import create_table_artifact
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort

from coursekit.lesson import ui_link, where_this_runs
from coursekit.lesson.model_types import TRIP_MODEL
from coursekit.lesson.timing import Stopwatch
from coursekit.lesson.tracking import EXPERIMENT, run_link, tracking_server

# Said, not inferred: to infer them MLflow starts a Python process that loads the model (seconds).
REQUIREMENTS = [f"{package}=={version(package)}" for package in ("scikit-learn", "skops", "xgboost-cpu")]


@task(name="Track in MLflow")
def track_in_mlflow(model_name: str, model: Any, params: dict, rmse: float, saved: str) -> str | None:
    uri = tracking_server()  # None, after a line saying so, when no tracking server answers
    if uri is None:
        return None
    import mlflow  # here, not at the top: ~2 s of import that a run with no tracking server never needs

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(EXPERIMENT)
    prefect_run = {"prefect.flow_run_id": runtime.flow_run.id, "prefect.flow_run_url": ui_link(runtime.flow_run.id)}
    with mlflow.start_run(run_name=runtime.flow_run.name, tags={"model": model_name, **prefect_run}) as run:
        mlflow.log_params(params)
        mlflow.log_metric("rmse", rmse)
        if model_name == "course":
            vectorizer, booster = model
            mlflow.xgboost.log_model(booster, name="models_mlflow", pip_requirements=REQUIREMENTS)
            # The DictVectorizer's file, saved beside the booster's (the course logged its preprocessor.b).
            mlflow.log_artifact(str(Path(saved).with_name("course_preprocessor.skops")), artifact_path="preprocessor")
        else:
            # skops, as our own file: MLflow checks that the file loads with the types the course trusts.
            mlflow.sklearn.log_model(
                model,
                name="model",
                serialization_format="skops",
                skops_trusted_types=TRIP_MODEL,
                pip_requirements=REQUIREMENTS,
            )
    link = run_link(uri, run.info.experiment_id, run.info.run_id)
    print(f"Tracked in MLflow: {link}")
    return link


# --- Every training run so far, in one table: the comparison is one page, not one artifact per run ---
@task(name="Compare runs")
def compare_runs(limit: int = 50) -> list[dict]:
    """Each run publishes its row as the taxi-model-metrics artifact; gather them, newest first."""
    with get_client(sync_client=True) as client:
        versions = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["taxi-model-metrics"])),
            sort=ArtifactSort.CREATED_DESC,
            limit=limit,
        )
    rows = []
    for artifact in versions:
        table = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data  # the API sends JSON
        rows += [{"when": f"{artifact.created:%Y-%m-%d %H:%M}", **row} for row in table if "model" in row]
    create_table_artifact(
        key="taxi-training-runs", table=rows, description="Every training run so far, newest first (RMSE in minutes)"
    )
    return rows


def report(metrics: dict, features: list[str], clock: Stopwatch) -> str:
    """The run's markdown report (artifact taxi-model-report): RMSE, data, features, time per step."""
    rmse = metrics["rmse_minutes"]
    steps = "\n".join(f"| {step} | {seconds:.2f} s |" for step, seconds in clock.seconds.items())
    return (
        f"# Trip duration model ({metrics['model']})\n\n**Validation RMSE: {rmse:.2f} minutes** "
        f"(trained on {metrics['train_month']}, validated on {metrics['validation_month']}"
        f"{', synthetic data' if metrics['data'] == 'synthetic' else ''})\n\n"
        f"MLflow run: {metrics['mlflow_run']}\n\n"
        f"Ran in: {where_this_runs()}\n\n"  # lesson 3: a process, or a Docker container
        f"| data | trips |\n|---|---|\n| train | {metrics['train_trips']:,} |\n"
        f"| validation | {metrics['validation_trips']:,} |\n\n"
        f"Features: {', '.join(features)}\n\n"
        f"| step | time |\n|---|---|\n{steps}\n| **total** | {clock.total:.2f} s |\n"
    )
