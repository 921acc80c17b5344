"""Exercise 4: a schedule whose runs use parameters of their own.

The lesson's deployments set parameters for every run they start. Here the deployment keeps the flow's
defaults (train on 2023-01, validate on 2023-02) for a run started by hand, and only the runs that its
schedule starts, every ten minutes, train on 2023-02 and validate on 2023-03.

DEPLOYMENT is one entry of the `deployments:` list of a prefect.yaml, as a Python dict (exercise 1 shows
the YAML). The check deploys it paused, asks the server to create the run its schedule would have started
in the last ten minutes (as the scheduler does when it catches up), lets the course's worker run it, and
reads the run's parameters, its log ("Training on 2023-02, validating on 2023-03") and the deployment's
own parameters back from the API. Check with `make check-3`.
"""

DEPLOYMENT = {
    "name": "taxi-every-ten-minutes",
    "description": "Retraining on the latest months every ten minutes; a run by hand keeps the flow's months.",
    "entrypoint": "02_workflow/orchestrate.py:main_flow",
    "parameters": {},
    "tags": ["lesson-3", "taxi", "scheduled"],
    "work_pool": {"name": "course-pool", "work_queue_name": "default"},
    # A schedule's parameters are merged over the deployment's for the runs that schedule starts.
    "schedules": [{"interval": 600, "parameters": {"train_month": "2023-02", "val_month": "2023-03"}}],
}
