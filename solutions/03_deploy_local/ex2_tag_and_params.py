"""Exercise 2: tag a deployment and override a parameter, with no change to the flow's code.

DEPLOYMENT is one entry of the `deployments:` list of a prefect.yaml, as a Python dict with the same keys
(exercise 1 shows the YAML). Tag it "experiment", so the UI's filters find its runs, and make its runs
validate on March 2023: a deployment's parameters override the flow's defaults (train on 2023-01,
validate on 2023-02) in every run it starts. The check deploys it and reads it back from the API.
Check with `make check-3`.
"""

DEPLOYMENT = {
    "name": "taxi-validate-march",
    "description": "Train on January 2023, validate on March 2023.",
    "entrypoint": "02_workflow/orchestrate.py:main_flow",
    # Only what differs from the flow's defaults: train_month stays 2023-01.
    "parameters": {"val_month": "2023-03"},
    "tags": ["lesson-3", "taxi", "experiment"],
    "work_pool": {"name": "course-pool", "work_queue_name": "default"},
}
