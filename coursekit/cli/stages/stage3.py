"""make stage-3: deploy lesson 3's prefect.yaml, run two deployments on a process worker, and the same flow
in a Docker container on a Docker worker when a Docker daemon answers."""

from __future__ import annotations

import contextlib

from coursekit import config, console, runs
from coursekit.cli import automations
from coursekit.cli.stages.common import (
    StageFailed,
    StageResult,
    deployment_run,
    prefect_cli,
    require_completed,
    show_deployment_runs,
)
from coursekit.services import containers, gitrepo, lifecycle, server, workers

SCHEDULED = ("taxi-monthly", "taxi-every-6h")  # the deployments of 03_deploy_local/prefect.yaml with a schedule


def stage_3() -> StageResult:
    server.ensure_running()
    workers.ensure_pool("course-pool")
    workers.ensure_pool(containers.POOL, pool_type="docker")  # taxi-docker's pool: a Docker worker polls it
    automations.apply("03_deploy_local/crash-zombies.yaml")
    automations.apply("03_deploy_local/explain-pull-failures.yaml")
    has_git = gitrepo.publish_head() is not None
    in_docker = docker_part()
    with (
        workers.running("course-pool"),
        workers.running(containers.POOL, worker_type="docker", wait=False) if in_docker else contextlib.nullcontext(),
    ):
        prefect_cli("--no-prompt", "deploy", "--all", "--prefect-file", "03_deploy_local/prefect.yaml")
        # Runs side by side: each command returns once its run is scheduled, and the last, with --watch,
        # streams its run's events until it ends. The override: train on February. taxi-docker is the same
        # flow on the Docker pool: its worker starts the run in a container.
        flow_run_ids = {}
        if has_git:
            flow_run_ids["taxi-from-git"] = deployment_run("taxi-training/taxi-from-git")
        if in_docker:
            flow_run_ids["taxi-docker"] = deployment_run("taxi-training/taxi-docker")
        flow_run_ids["taxi-default"] = deployment_run(
            "taxi-training/taxi-default", "train_month=2023-02", "val_month=2023-01", watch=True
        )
        runs.wait_for_runs(flow_run_ids)
    if in_docker:
        console.say(
            "The container of taxi-docker is kept (`docker ps -a`); `make stop` removes the course's containers."
        )
    ran = "deploy --all, 2 deployment runs side by side on a process worker"
    result = StageResult(stage=3, ran=ran + (", 1 in a Docker container" if in_docker else ""))
    rmses = show_deployment_runs(result, flow_run_ids, show_where=True)
    require_completed(result)
    rmse = rmses[list(flow_run_ids).index("taxi-default")]
    result.key_figure = f"{len(rmses)} deployment runs Completed, RMSE {rmse} min (taxi-default)"
    # The scheduled deployments run by themselves when their time comes; the scheduler has made those runs.
    console.step("Upcoming runs, made by the server's scheduler (Deployments -> NAME -> Upcoming)")
    upcoming = {name: runs.upcoming_runs(f"taxi-training/{name}") for name in SCHEDULED}
    console.say(
        console.table(
            ["deployment", "scheduled runs", "next three (UTC)"],
            [
                [name, str(len(times)), ", ".join(t.strftime("%Y-%m-%d %H:%M") for t in times[:3]) or "none"]
                for name, times in upcoming.items()
            ],
        )
    )
    if not all(upcoming.values()):
        raise StageFailed(
            "The server's scheduler made no runs for a scheduled deployment: see .course/logs/prefect-server.log"
        )
    console.say(f"Deployments and their schedules: {config.current().ui_page('/deployments')}")
    if lifecycle.status(workers.service_name("course-pool")) is None:  # the stage's worker has stopped
        console.say("Runs you start now wait as Late until a worker polls course-pool: `make worker` starts one.")
    return result


def docker_part() -> bool:
    """Whether stage 3 runs taxi-docker: with a Docker daemon, once `make image`'s image is up to date;
    without one, it says in one line what it skipped."""
    why_not = containers.daemon_answers()
    if why_not:
        console.warn(f"Skipped the Docker part of this lesson (taxi-docker): {why_not}")
        return False
    built = containers.ensure_image()
    console.ok(f"Image {built.reference} on base {built.base} ({built.base_came})")
    return True
