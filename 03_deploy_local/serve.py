"""Lesson 3b: the static deployment: a flow that serves itself, with no work pool and no worker.

`flow.serve()` registers a deployment with the server and then waits in this process, starting each
of its runs (scheduled or asked for) as a subprocess of this one. Nothing else is needed, which makes
it the quickest way to put a flow on a schedule; the price is that the runs happen wherever this
script happens to run, and stop when it stops. prefect.yaml plus a work pool and a worker (the
dynamic path, `make stage-3`) separates the two: deployments live on the server, and any worker
polling the pool can run them.

    python 03_deploy_local/serve.py             # serves until Ctrl-C
    prefect deployment run 'taxi-training/taxi-served' --param val_month=2023-01   # in another shell
"""

from __future__ import annotations

from coursekit.lesson import the_course_server_answers
from coursekit.lesson.lessons import training_flow

# The lesson-2 flow itself, loaded from its file: one flow, two ways to deploy it, no copy.
main_flow = training_flow()

if __name__ == "__main__":
    the_course_server_answers()  # one line, not a traceback, when the server is down (`make server`)
    main_flow.serve(
        name="taxi-served",
        cron="0 7 * * 1",  # 07:00 every Monday (in UTC unless a timezone is given)
        parameters={"train_month": "2023-01", "val_month": "2023-02"},
        tags=["lesson-3", "taxi", "served"],
    )

# What just happened: the deployment taxi-training/taxi-served appeared under Deployments, with its
# schedule. Runs started from the UI or the CLI are executed by this process; Ctrl-C stops serving.
