"""coursekit: what the lessons share, so that the lesson folders hold only the lesson.

Where each kind of code lives (docs/architecture.md has the longer map):

    config.py, console.py, course.py, files.py, runs.py
                    what every part shares: paths, ports and URLs from the environment; how the
                    course prints; the table of stages; writing a file whole or not at all; what the
                    server knows about runs, artifacts and logs
    lesson/         what lesson files import: taxi months (fetch, cache, synthetic fallback), the
                    churn table, where data and models go, running a flow with a one-line failure,
                    error wording for object storage
    services/       the course's local services and their lifecycle: the Prefect server, the facts API,
                    the S3 endpoint, the SMTP server, PostgreSQL, workers, the local git remote; one
                    start routine (lifecycle.ensure) for all of them
    cli/            the command line (`python -m coursekit`, which the Makefile calls) and the stage
                    runners that `make stage-N` and `make tour` run
    maintainer/     tools for whoever keeps the course working: the benchmark, the browser checks and the
                    UI walkthrough (the lessons' UI steps done in Chromium)

A lower layer never imports a higher one: lesson/ and services/ import only the shared modules above
(and lesson/ reads services/s3's settings for its messages); cli/ and maintainer/ import everything.
"""
