"""The server-log check: a record with its traceback is one finding, and only named causes are excused."""

from __future__ import annotations

from tests.support import server_log

LOG = """\
01:28:01.530 | ERROR   | prefect.server.api.workers - Worker channel setup failed due to a transient server error
Traceback (most recent call last):
  File "/x/sqlalchemy/engine/base.py", line 1967, in _exec_single_context
sqlite3.OperationalError: database is locked

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) database is locked
01:28:05.000 | INFO    | prefect.server - an ordinary line
01:29:00.100 | ERROR   | docket.dependencies - Failed to run schedule_recent_deployments()
Traceback (most recent call last):
  File "/x/prefect/server/models/deployments.py", line 900, in _insert_scheduled_flow_runs
sqlalchemy.exc.InvalidRequestError: Can't evaluate bulk DML statement; please supply a bulk_dml decorated function
"""


def test_only_the_scheduler_failure_is_found_and_it_is_one_finding(tmp_path):
    log = tmp_path / "prefect-server.log"
    log.write_text(LOG)
    assert server_log.problems(log=log) == [
        "01:29:00.100 | ERROR   | docket.dependencies - Failed to run schedule_recent_deployments()  ...  "
        "sqlalchemy.exc.InvalidRequestError: Can't evaluate bulk DML statement; "
        "please supply a bulk_dml decorated function"
    ]


def test_a_cause_named_by_the_test_is_excused_and_reading_can_start_midway(tmp_path):
    log = tmp_path / "prefect-server.log"
    log.write_text(LOG)
    assert server_log.problems({"bulk DML statement": "a test that expects it"}, log=log) == []
    assert server_log.problems(log=log, start=LOG.index("01:28:05")) != []
    assert server_log.problems(log=log, start=len(LOG)) == []
