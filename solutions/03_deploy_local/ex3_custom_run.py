"""Exercise 3: run a deployment from Python and read its result back from the API.

`prefect deployment run taxi-training/taxi-default --param train_month=...` starts a run from the shell.
Do the same from Python in `run_and_read_rmse`: run the deployment with the two months as parameters,
wait until the run has ended (a worker polling course-pool runs it), and return the validation RMSE the
run published in its "taxi-model-metrics" artifact. Check with `make check-3`.
"""

from __future__ import annotations

from prefect.deployments import run_deployment

from coursekit.runs import rmse_of

DEPLOYMENT = "taxi-training/taxi-default"  # FLOW_NAME/DEPLOYMENT_NAME


def run_and_read_rmse(train_month: str, val_month: str) -> float:
    # Creates a flow run of the deployment, then polls the API until the run reaches a final state
    # (pass timeout=... to stop waiting earlier). The run itself happens in the worker, not here.
    flow_run = run_deployment(DEPLOYMENT, parameters={"train_month": train_month, "val_month": val_month})
    rmse = rmse_of(flow_run.id)
    if rmse is None:
        raise RuntimeError(f"Run {flow_run.name} ended {flow_run.state.name}, without a taxi-model-metrics artifact")
    return rmse


if __name__ == "__main__":
    print(run_and_read_rmse("2023-02", "2023-01"))
