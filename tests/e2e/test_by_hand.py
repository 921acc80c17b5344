"""The path a learner types by hand, after the README's `eval "$(make -s env)"`, checked by what they read.

The tour drives the stages in one process; this test does not. Each command is typed into a bash shell
prepared as the README says, offline (the TLC download points at a closed port and no local mirror is set),
with the data and models folders of this test's own, and the test reads what the learner would read: a
mistake in one line, synthetic data named once and marked in the result, a video's name pointed to the
course's, and a run that waits for a worker that is not there.
"""

from __future__ import annotations

import os
import re
import socket

import pytest

from coursekit import runs
from tests.support.run import output, shell

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]

UI_LINE = re.compile(r"^See this run in the UI: \S+/runs/flow-run/(?P<id>[0-9a-f-]{36})$", re.M)


@pytest.fixture
def typed(tmp_path):
    """Type one command into the course's shell, offline, with data/ and models/ of the test's own."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}"
    env = {k: v for k, v in os.environ.items() if k != "COURSE_TLC_DIR"}
    env |= {"TLC_BASE_URL": nowhere, "COURSE_DATA_DIR": str(tmp_path / "data"), "COURSE_MODELS_DIR": str(tmp_path)}

    def run(command: str):
        return shell(f'eval "$(make -s env)"\n{command}', env=env)

    run.data_dir = tmp_path / "data"
    return run


def said(done) -> list[str]:
    return [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]


@pytest.mark.readme(
    "python 02_workflow/orchestrate.py --train 2023-03 --val 2023-04",
    because='typed after eval "$(make -s env)", offline: both months synthetic, marked as such',
)
def test_the_by_hand_path_reads_as_the_pages_promise(typed):
    from prefect import get_client

    from coursekit.services import workers

    # 1. A mistake: one line from the course, no traceback, no warnings from Prefect's background workers.
    wrong = typed("python 02_workflow/orchestrate.py --train 2023-13")
    assert wrong.returncode == 1, output(wrong)
    lines = said(wrong)
    assert not [line for line in lines if "Traceback" in line or "WARNING" in line or "Worker" in line], output(wrong)
    assert [line for line in lines if line.startswith("✗")] == [
        "✗ Flow 'taxi-training' ended Failed: '2023-13' is not a month. Write it as YYYY-MM, e.g. 2023-01 for "
        "January 2023 (or give the path of a .parquet file)."
    ], output(wrong)
    assert len(lines) <= 4, f"a mistake printed {len(lines)} lines:\n{output(wrong)}"  # Prefect's 2, the link, ours

    # 2. Offline: each month is said to be synthetic once, the result is marked, nothing is named as real.
    offline = typed("python 02_workflow/orchestrate.py --train 2023-03 --val 2023-04")
    assert offline.returncode == 0, output(offline)
    text = offline.stdout + offline.stderr
    assert text.count("Using a SYNTHETIC 2023-03 instead") == 1, output(offline)
    assert text.count("2023-04 is SYNTHETIC too") == 1, output(offline)
    assert text.count("Results on synthetic months are marked as such") == 1, output(offline)
    assert "(pickup model, SYNTHETIC months, not comparable with real ones)" in text, output(offline)
    assert re.fullmatch(r"rmse=\d+\.\d{5}", offline.stdout.strip().splitlines()[-1]), output(offline)
    assert sorted(p.name for p in typed.data_dir.iterdir()) == [
        "green_tripdata_2023-03.synthetic.parquet",
        "green_tripdata_2023-04.synthetic.parquet",
    ]
    run_id = UI_LINE.search(text)["id"]
    assert runs.metrics_of(run_id)["data"] == "synthetic"  # the row the comparison table shows

    # 3. A name from the videos: pointed to the course's, and Prefect is not run.
    video = typed("prefect deployment run main-flow/taxi_local_data")
    assert video.returncode == 2, output(video)
    assert said(video) == [
        '✗ "main-flow/taxi_local_data" is what the course videos type; here: lesson 4\'s deployment of the training '
        "flow. Run: prefect deployment run taxi-training/taxi_local_data   (docs/course-map.md maps every name)"
    ], output(video)

    # 4. A run of a deployment whose pool no worker polls: said at once, with the command that starts one.
    #    (tests/test_readme_commands.py goes on from there with `make worker`.)
    pool = "by-hand-pool"  # a pool of this test's own: no stage's worker polls it
    workers.ensure_pool(pool)
    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name("by-hand")
        deployment_id = client.create_deployment(
            flow_id=flow_id, name="waits", work_pool_name=pool, entrypoint="x.py:f"
        )
    try:
        waiting = typed("prefect deployment run by-hand/waits")
    finally:
        with get_client(sync_client=True) as client:
            client.delete_deployment(deployment_id)
    assert waiting.returncode == 0 and "Created flow run" in waiting.stdout, output(waiting)
    first = waiting.stderr.strip().splitlines()[0]
    assert first.startswith(
        "! No worker polls work pool 'by-hand-pool': this run of by-hand/waits will wait as Late until one does. "
        f"Start one in the background with `make worker POOL={pool}`"
    ), output(waiting)


@pytest.mark.parametrize(
    ("script", "variable", "service"),
    [
        ("04_deploy_s3/create_blocks.py", "COURSE_S3_PORT", "the local S3 endpoint"),
        ("05_cloud/create_email_block.py", "COURSE_SMTP_PORT", "the local SMTP server"),
    ],
)
def test_a_lesson_script_whose_local_service_port_is_taken_says_so_in_one_line(script, variable, service, tmp_path):
    with socket.socket() as taken:  # another program's port
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # A state folder of its own: no service of this session's is found running there (a running one gets
        # another message, tested with the services), so the port check is the one that speaks.
        state = {"COURSE_STATE_DIR": str(tmp_path / "state"), variable: str(port)}
        done = shell(f".venv/bin/python {script}", env={**os.environ, **state})
    assert done.returncode == 1, output(done)
    assert done.stdout.strip() == "" and done.stderr.strip() == (
        f"✗ Port {port} on 127.0.0.1 is in use by a program this course did not start, so {service} cannot start "
        f"there. Stop that program, or move the course: export {variable}={port + 1}"
    ), output(done)
