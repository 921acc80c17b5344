"""Stage 1 end to end: the lesson scripts against a real Prefect server and the local facts API."""

from __future__ import annotations

import json

import pytest

from coursekit import config, runs
from coursekit.services import facts_api
from tests.support.run import output, run

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]


@pytest.mark.readme("make stage-1")
def test_stage_1_recovers_from_every_outage():
    # The same outages every time (the seeded sequence is a unit test); test_lifecycle runs it once more.
    done = run("python", "-m", "coursekit", "stage", "1")
    assert done.returncode == 0, output(done)
    assert "5 failed attempts were retried and recovered" in done.stdout, output(done)

    summary = json.loads((config.current().state_dir / "summary" / "stage-1.json").read_text())
    assert summary["states"] == {"fetch": "Completed", "animal-facts": "Completed"}
    fetch_run = runs.latest_flow_run("fetch")
    assert [(t.task_run.split("-")[0], t.attempts, t.state) for t in runs.task_attempts(fetch_run.id)] == [
        ("fetch_cat_fact", 3, "Completed")
    ]
    animal_run = runs.latest_flow_run("animal-facts")
    assert [t.attempts for t in runs.task_attempts(animal_run.id)] == [2, 3]


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
