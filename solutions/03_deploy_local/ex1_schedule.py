"""Exercise 1: schedule a deployment, so Prefect starts its runs on a calendar of its own.

DEPLOYMENT is one entry of the `deployments:` list of a prefect.yaml, written as a Python dict with the
same keys (so the check can read it). In 03_deploy_local/prefect.yaml it would read:

    - name: taxi-third-of-month
      entrypoint: 02_workflow/orchestrate.py:main_flow
      tags: [lesson-3, taxi, scheduled]
      work_pool: {name: course-pool, work_queue_name: default}
      schedules: [...]          # your part

Give it a schedule that fires at 09:00 UTC on the 3rd day of every month. The check deploys it (paused,
so it never starts a run by itself) and asks Prefect for its next fire times: any cron or rrule that
fires then passes. Check with `make check-3`.
"""

DEPLOYMENT = {
    "name": "taxi-third-of-month",
    "description": "Monthly retraining at 09:00 UTC on the 3rd.",
    "entrypoint": "02_workflow/orchestrate.py:main_flow",
    "parameters": {},
    "tags": ["lesson-3", "taxi", "scheduled"],
    "work_pool": {"name": "course-pool", "work_queue_name": "default"},
    # minute hour day-of-month month day-of-week. The same calendar as an rrule:
    # {"rrule": "FREQ=MONTHLY;BYMONTHDAY=3;BYHOUR=9;BYMINUTE=0;BYSECOND=0", "timezone": "UTC"}
    "schedules": [{"cron": "0 9 3 * *", "timezone": "UTC"}],
}
