"""Stage 1 end to end: the lesson scripts against a real Prefect server and the local facts API.
The stage itself runs in the tour (tests/e2e/test_tour.py)."""

from __future__ import annotations

import pytest

from coursekit import runs
from coursekit.services import facts_api
from tests.support.run import output, run

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]


@pytest.mark.readme("python 01_intro/cat_facts.py", because="with CAT_FACTS_URL where every attempt fails")
def test_exhausted_retries_end_in_one_line_naming_the_url_and_the_run_fails_after_four_attempts():
    url = f"{facts_api.ensure_running()}/bird/fact"  # a path the API does not have: every attempt fails
    done = run("python", "01_intro/cat_facts.py", env={"CAT_FACTS_URL": url})
    assert done.returncode == 1, output(done)
    assert done.stderr.strip().splitlines()[-1] == (
        f"✗ No cat fact after 4 attempts: 404 Client Error: Not Found for url: {url}"
    ), output(done)
    failed = runs.latest_flow_run("fetch")
    assert runs.state_name(failed) == "Failed"
    assert [(t.attempts, t.state) for t in runs.task_attempts(failed.id)] == [(4, "Failed")]


def test_with_no_facts_api_running_the_script_says_to_start_it(tmp_path):
    from coursekit.services.lifecycle import free_port

    url = f"http://127.0.0.1:{free_port()}/cat/fact"  # nothing listens there
    done = run("python", "01_intro/cat_facts.py", env={"CAT_FACTS_URL": url})
    assert done.returncode == 1, output(done)
    assert done.stderr.strip().splitlines()[-1] == (
        f"✗ Nothing answers at {url}: start the course's facts API with `make facts`."
    ), output(done)
