"""Exercise 3: run a deployment from Python and read its result back from the API.

`prefect deployment run taxi-training/taxi-default --param train_month=...` starts a run from the shell.
Do the same from Python in `run_and_read_rmse`: run the deployment with the two months as parameters,
wait until the run has ended (a worker polling course-pool runs it), and return the validation RMSE the
run published in its "taxi-model-metrics" artifact. Check with `make check-3`.
"""

from __future__ import annotations

DEPLOYMENT = "taxi-training/taxi-default"  # FLOW_NAME/DEPLOYMENT_NAME


def run_and_read_rmse(train_month: str, val_month: str) -> float:
    # TODO: start a run of DEPLOYMENT with these two months as its parameters, wait until it has ended, and
    # return the RMSE that run reports (the course can read a run's RMSE for you: see coursekit/runs.py).
    raise NotImplementedError("run_and_read_rmse does not run the deployment yet")


if __name__ == "__main__":
    print(run_and_read_rmse("2023-02", "2023-01"))
