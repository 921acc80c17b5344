"""make stage-3: deploy lesson 3's prefect.yaml and run two deployments on a process worker."""

from __future__ import annotations

from coursekit import automations, config, console, gitrepo, server, workers
from coursekit.stages.common import StageResult, prefect_cli, require_completed, show_deployment_runs


def stage_3() -> StageResult:
    server.ensure_running()
    workers.ensure_pool("course-pool")
    automations.apply("03_deploy_local/crash-zombies.yaml")
    has_git = gitrepo.publish_head() is not None
    workers.start_worker("course-pool")
    try:
        prefect_cli("--no-prompt", "deploy", "--all", "--prefect-file", "03_deploy_local/prefect.yaml")
        # The run with a parameter override: train on February, validate on January.
        flow_run_ids = {
            "taxi-default": workers.run_deployment_cli(
                "taxi-training/taxi-default", "train_month=2023-02", "val_month=2023-01"
            )
        }
        if has_git:
            flow_run_ids["taxi-from-git"] = workers.run_deployment_cli("taxi-training/taxi-from-git")
    finally:
        workers.stop_worker("course-pool")

    result = StageResult(stage=3, ran="deploy --all, 2 deployment runs by a process worker")
    rmses = show_deployment_runs(result, flow_run_ids)
    require_completed(result)
    result.key_figure = f"{len(rmses)} deployment runs Completed, RMSE {rmses[0]} min"
    console.say(f"Deployments and their schedules: {config.current().ui_url}/deployments")
    return result
