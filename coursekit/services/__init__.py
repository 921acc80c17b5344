"""The course's local services and their lifecycle: each is a real program on 127.0.0.1, started in
the background by `lifecycle.ensure`, recorded under .course/run/, stopped by `make stop`.

    lifecycle   start, find, wait for and stop a background process (the one routine: ensure)
    server      the Prefect server (`prefect server start`), repo-local PREFECT_HOME
    facts_api   lesson 1's flaky facts API
    s3          lesson 4's S3-compatible endpoint (moto's server mode) and its bucket
    smtp        lesson 5's SMTP server (aiosmtpd into a Maildir) and reading what it received
    postgres    lesson 5's PostgreSQL, for a server that is not on SQLite
    workers     work pools and process workers
    gitrepo     the local bare git repository lesson 3's git pull step clones from
    containers  lesson 3's image (`make image`) and the course's containers
    container_start  the image's entrypoint: reach the server first, or say in one line why not
"""
