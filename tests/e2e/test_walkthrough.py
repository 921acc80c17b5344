"""`make ui-walkthrough` on a throw-away course: each step done in Debian's Chromium, then read back from the server.

The walk needs what the lessons leave for it, not the whole tour: lesson 1's runs (a task that was retried),
lesson 3's deployments and a worker polling course-pool, and lesson 5's email block and send-email
deployment. Those are made here as the lessons make them, so this file runs beside the tour's instead of
after it. `make tour && make ui-walkthrough`, the learner's order, is the same walk on a fuller server.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from prefect import get_client

from coursekit import config, runs
from coursekit.config import REPO_ROOT
from coursekit.lesson.lessons import lesson_module
from coursekit.services import smtp, workers
from tests.support.run import output, prefect, run

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def course_to_walk(_stage3_deployed: None) -> None:
    """Lesson 1's runs, lesson 3's deployments and worker, lesson 5's send-email deployment and its block."""
    lesson_1 = run("python", "-m", "coursekit", "stage", "1")
    assert lesson_1.returncode == 0, output(lesson_1)
    workers.start_worker("course-pool")
    smtp.ensure_local_server()
    lesson_module("05_cloud/create_email_block.py").create_email_block()
    deployed = prefect("--no-prompt", "deploy", "--prefect-file", "05_cloud/prefect.yaml", "--name", "course-email")
    assert deployed.returncode == 0, output(deployed)


@pytest.mark.readme(
    "make ui-walkthrough",
    because="its command, python -m coursekit ui-walkthrough, on the lessons' deployments and runs",
)
@pytest.mark.readme(
    "prefect --no-prompt deploy 02_workflow/orchestrate.py:main_flow --name taxi-ui-pool --pool course-ui-pool",
    because="the walk's step 2 runs it as the page shows it, once the pool is made in the UI",
)
@pytest.mark.readme(
    "prefect worker start --pool course-ui-pool",
    because="the walk's step 2 starts it in the background, with --type process and a name, as make worker does",
)
def test_the_ui_walkthrough_leaves_on_the_server_what_each_step_did_in_the_ui(
    course_to_walk: None, chromium: None
) -> None:
    from coursekit.maintainer import walkthrough

    since = time.time()
    done = subprocess.run(
        [sys.executable, "-m", "coursekit", "ui-walkthrough"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, f"exit code {done.returncode}\n{done.stdout[-4000:]}\n{done.stderr[-3000:]}"
    for name, _ in walkthrough.STEPS:
        assert f"✓ {name} (" in done.stdout, done.stdout

    with get_client(sync_client=True) as client:
        default = client.read_deployment_by_name(walkthrough.DEPLOYMENT)
        of_default = client.read_flow_runs(deployment_filter=walkthrough._deployment_filter(default.id), limit=200)
        # 1. The custom run: Completed, with the months typed in the UI, after the walk began.
        custom = [r for r in of_default if r.name.startswith("custom-") and r.created.timestamp() >= since]
        assert len(custom) == 1, [r.name for r in custom]
        assert custom[0].state_name == "Completed"
        assert {k: custom[0].parameters[k] for k in ("train_month", "val_month")} == walkthrough.CUSTOM_PARAMETERS
        assert runs.rmse_of(custom[0].id) is not None
        # 2. The pool made in the UI, and one Completed run of the deployment on it.
        assert client.read_work_pool(walkthrough.UI_POOL).type == "process"
        on_pool = client.read_deployment_by_name(f"taxi-training/{walkthrough.UI_DEPLOYMENT}")
        pool_runs = client.read_flow_runs(deployment_filter=walkthrough._deployment_filter(on_pool.id))
        assert [(r.state_name, r.work_pool_name) for r in pool_runs] == [("Completed", walkthrough.UI_POOL)]
        # 3. The schedule, active, and the scheduler's runs on the 3rd of the month at 09:00 UTC.
        (schedule,) = [s for s in client.read_deployment_schedules(default.id) if s.schedule.cron == walkthrough.CRON]
        assert schedule.active and schedule.schedule.timezone == "UTC"
    # Resumed, it gets its runs back at the scheduler's next pass (pausing deleted them): the next three 3rds.
    fires = [t.astimezone(UTC) for t in runs.upcoming_runs(walkthrough.DEPLOYMENT, expected=3, timeout=120)]
    assert fires == _next_thirds_at_nine(3), fires
    with get_client(sync_client=True) as client:
        # 4. The automation, and the one email its run of send-email sent.
        (automation,) = client.read_automations_by_name(walkthrough.AUTOMATION)
        assert automation.enabled and automation.trigger.expect == {"prefect.flow-run.Completed"}
    send_email = lesson_module("05_cloud/send_email.py")
    assert [m.subject for m in smtp.received(since) if m.subject == send_email.DEFAULT_SUBJECT] == [
        send_email.DEFAULT_SUBJECT
    ]
    pictures = sorted(p.name for p in (config.current().state_dir / "walkthrough").iterdir())
    assert len(pictures) == 12 and pictures[0].startswith("01-") and pictures[-1].startswith("12-"), pictures


def test_a_walkthrough_step_the_ui_does_not_allow_fails_in_one_line_that_names_it(
    course_to_walk: None, chromium: None, monkeypatch, capsys
) -> None:
    from coursekit.maintainer import walkthrough

    monkeypatch.setattr(walkthrough, "TIMEOUT_MS", 5_000)
    monkeypatch.setattr(walkthrough, "CUSTOM_PARAMETERS", {"no_such_parameter": "2023-02"})
    with pytest.raises(SystemExit) as failed:
        walkthrough.main(keep_screenshots=False)
    assert failed.value.code == 1
    said = capsys.readouterr()
    printed = [line for line in (said.out + said.err).splitlines() if line.startswith("✗")]
    assert len(printed) == 1, said
    assert printed[0].startswith(
        "✗ Step 1, a custom run with months typed as JSON: the UI did not let it type the months as JSON"
    ), printed[0]
    assert "ui-walkthrough-failure.png" in printed[0]


def _next_thirds_at_nine(count: int) -> list[datetime]:
    """The next `count` times a cron of 0 9 3 * * fires in UTC, from now."""
    now, fires = datetime.now(UTC), []
    year, month = now.year, now.month
    while len(fires) < count:
        fire = datetime(year, month, 3, 9, 0, tzinfo=UTC)
        if fire > now:
            fires.append(fire)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return fires
