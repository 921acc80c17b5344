"""`make stage-5` on a machine busy with other work, as a learner's laptop often is.

On a throw-away course of its own, not after the tour: lesson 5 deploys and runs what it emails about,
so it needs no earlier stage, and this file runs beside the tour's instead of after it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from coursekit.cli.stages import stage5
from coursekit.config import REPO_ROOT
from coursekit.maintainer import burn
from coursekit.services import smtp

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]

STAGE_TIMEOUT = 1800  # about a minute alone; the burner and the other test processes slow it many times


@pytest.mark.readme(
    "python -m coursekit.maintainer.burn 2 900 make stage-5",
    because="the stage's runner under burn.burning, the burner that command starts, one spinner per core",
)
def test_stage_5_on_a_machine_busy_with_other_work_sends_each_email_exactly_once() -> None:
    """`make stage-5` while one spinning process per core competes for the CPU, as another job on a shared laptop.

    Under such load the server's SQLite database is locked now and then, its event handling retries and
    redelivers, and the automation fires more than once for one run end; each email must still arrive once.
    """
    since = time.time()
    with burn.burning(os.cpu_count() or 2, seconds=900):
        done = subprocess.run(
            [sys.executable, "-m", "coursekit", "stage", "5"],
            cwd=REPO_ROOT,
            env={**os.environ, "COURSE_TARGET": "local"},
            capture_output=True,
            text=True,
            timeout=STAGE_TIMEOUT,
        )
        assert done.returncode == 0, f"exit code {done.returncode}\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
        time.sleep(10)  # an email sent twice by a late redelivery would have arrived by now
    assert re.search(r"Waiting for 4 emails .* 4 received in", done.stdout), done.stdout[-3000:]
    subjects = sorted(m.subject for m in smtp.received(since=since) if stage5.about_a_notified_run(m.subject))
    kinds = [(s.split()[0], s.rsplit(": ", 1)[-1]) for s in subjects]
    assert sorted(kinds) == sorted((k, state) for k in ("[automation]", "[hook]") for state in ("Completed", "Failed"))
    assert len(set(subjects)) == 4, subjects
