"""make stage-5: emails from hooks and from an automation, runs shared by two workers, a sweep on Dask.

`make stage-5 TARGET=cloud` with PREFECT_API_KEY set deploys to Prefect Cloud instead (coursekit/cloud.py);
without a key it says what that would do and runs this local path.
"""

from __future__ import annotations

import os
import string
import time
from datetime import UTC, datetime
from typing import cast

from prefect import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment

from coursekit import config, console, runs
from coursekit.cli import automations, cloud
from coursekit.cli.stages.common import (
    StageFailed,
    StageResult,
    deployment_run,
    logged_after,
    prefect_cli,
    run_script,
    show_deployment_runs,
)
from coursekit.services import server, smtp, workers

AUTOMATION_FILE = "05_cloud/email-on-run-end.yaml"
NOTIFIED_FLOW = "notified-training"  # notify.py's flow: its hooks and the automation email about its runs
SCALE_POOL = "course-scale"
SCALE_WORKERS = 2  # each with --limit 1, so each takes one of the score-week runs
# Two weeks at once, one per worker. (Four took two rounds of Python start-ups, 20 s more on 2 cores; the
# README shows them by hand, each worker taking a second run once its first is done.)
WEEKS_AT_ONCE = (1, 2)
EXPECTED_MAILS = 4  # hooks and automation, each for one completed and one failed run
DUPLICATE_GRACE = 3.0  # seconds to wait, once all have come, for an email that should not


def stage_5() -> StageResult:
    target = os.environ.get("COURSE_TARGET", "local")
    if target not in ("local", "cloud"):
        raise StageFailed(f"TARGET={target!r}: use TARGET=local (the default) or TARGET=cloud.")
    if target == "cloud" and os.environ.get("PREFECT_API_KEY"):
        return _on_cloud()
    if target == "cloud":
        console.warn("PREFECT_API_KEY is not set, so nothing goes to Prefect Cloud.")
    console.say(cloud.WHAT_IT_WOULD_DO)

    started = time.time()
    server.ensure_running()
    run_script("05_cloud/create_email_block.py")  # starts the local SMTP server when that is the one in use
    workers.ensure_pool("course-pool")
    workers.ensure_pool(SCALE_POOL)
    # course-pool's worker stays after the stage, as `make worker` starts it: the automation's emails are
    # send-email runs on that pool, and a notified run that ends later must still get its email.
    workers.start_worker("course-pool")
    with workers.running(SCALE_POOL, count=SCALE_WORKERS, limit=1):
        prefect_cli("--no-prompt", "deploy", "--all", "--prefect-file", "05_cloud/prefect.yaml")
        apply_automation()
        result = StageResult(stage=5, ran="email hooks + automation, 2 workers on one pool, Dask sweep")
        flow_run_ids = {
            "notified-local": deployment_run(f"{NOTIFIED_FLOW}/notified-local"),
            "notified-local (bad month)": deployment_run(f"{NOTIFIED_FLOW}/notified-local", "val_month=2023-13"),
        }
        runs.wait_for_runs(flow_run_ids)
        show_deployment_runs(result, flow_run_ids)
        if result.states != {"notified-local": "Completed", "notified-local (bad month)": "Failed"}:
            raise StageFailed(f"Expected one Completed and one Failed run, got {result.states}; see the links above.")
        console.ok("The second run failed on purpose (2023-13 is not a month): its email says why.")
        # The weeks score the model the Completed run has just saved; then the sweep runs here, one run
        # whose tasks go to a Dask cluster. (Side by side, on 2 cores, the two took longer than in turn.)
        shared = share_runs(result, start_week_runs())
        run_script("05_cloud/sweep.py")
        mails = wait_for_mail(since=started)

    result.key_figure = (
        f"{len(mails)} emails received, {len(shared)} runs shared by {len(set(shared.values()))} workers"
    )
    ui = config.current().ui_page("")
    console.say(
        f"In the UI:\n  automations:  {ui}/automations\n  work pools:   {ui}/work-pools\n"
        f"  sweep table:  {ui}/artifacts/key/taxi-sweep"
    )
    console.say(
        "A worker keeps polling course-pool, so runs that end later still get their automation email "
        "(`make stop` ends it)."
    )
    return result


def apply_automation() -> None:
    """Fill the send-email deployment's id into a copy of the automation file, and create it from that file.

    Deleted first when it exists: `prefect automation create` always adds one, and two would send two emails.
    """
    with get_client(sync_client=True) as client:
        deployment_id = client.read_deployment_by_name("send-email/course-email").id
    source = config.REPO_ROOT / AUTOMATION_FILE
    rendered = config.current().state_dir / "automations" / source.name
    rendered.parent.mkdir(parents=True, exist_ok=True)
    rendered.write_text(
        string.Template(source.read_text()).safe_substitute(
            SEND_EMAIL_DEPLOYMENT_ID=deployment_id, COURSE_UI_URL=config.current().ui_url
        )
    )
    console.step(f"Filled in the id of send-email/course-email ({deployment_id}): {config.shown(rendered)}")
    if automations.delete("email-on-run-end"):
        console.say("(replaced the automation of the last run)")
    prefect_cli("automation", "create", "--from-file", config.shown(rendered))


def start_week_runs() -> dict[int, FlowRun]:
    """Runs at once on the pool that two workers poll, each taking one at a time."""
    console.step(
        f"{len(WEEKS_AT_ONCE)} runs of score-week/weekly at once, on pool {SCALE_POOL!r} with two workers "
        "(--limit 1 each)"
    )
    flow_runs = {
        week: cast(FlowRun, run_deployment("score-week/weekly", parameters={"week": week}, timeout=0))
        for week in WEEKS_AT_ONCE
    }
    console.say("Created " + ", ".join(f"{fr.name} (week {week})" for week, fr in flow_runs.items()))
    return flow_runs


def share_runs(result: StageResult, flow_runs: dict[int, FlowRun]) -> dict[str, str]:
    """Wait for the score-week runs; print and return which worker ran each week."""
    console.step(f"The score-week runs on pool {SCALE_POOL!r}")
    runs.wait_for_runs({f"week {week}": str(fr.id) for week, fr in flow_runs.items()})
    rows, shared, failed = [], {}, []
    for week, flow_run in flow_runs.items():
        final = runs.read_flow_run(flow_run.id)
        worker = shared[f"week {week}"] = runs.worker_of(flow_run.id)
        state = result.states[f"score-week {week}"] = runs.state_name(final)
        scored = logged_after(f"2023-02 week {week} ", str(flow_run.id))  # the line score_week.py prints
        rows.append([f"week {week}", state, worker, scored, runs.ui_link(flow_run.id)])
        if state != "Completed":
            failed.append(f"week {week} ended {state}: {final.state.message if final.state else ''}")
    console.say(console.table(["run", "final state", "worker", "logged", "in the UI"], rows))
    if failed:
        raise StageFailed("; ".join(failed) + ". Open its link above for the logs.")
    return shared


def wait_for_mail(since: float, timeout: float = 120) -> list[smtp.Received]:
    """The emails this stage sent, once all have arrived (the automation's go through a worker)."""
    settings = smtp.settings()
    if not settings.local:
        console.say(f"The emails went to {settings.email_to} through {settings.where}: look in that mailbox.")
        return []
    with console.waiting(f"Waiting for {EXPECTED_MAILS} emails at the local SMTP server") as wait:
        while wait.elapsed < timeout and len(_stage_mails(since)) < EXPECTED_MAILS:
            wait.tick()
            time.sleep(1)
        if len(_stage_mails(since)) >= EXPECTED_MAILS:
            time.sleep(DUPLICATE_GRACE)  # a duplicate comes seconds after the first: give it time to show
        mails = _stage_mails(since)
        wait.done(f"{len(mails)} received")
    console.step(f"Emails received at {settings.where} (Maildir {config.shown(smtp.mail_dir())})")
    console.say(
        console.table(["from", "subject", "first lines"], [[m.sender, m.subject, m.first_lines[:90]] for m in mails])
    )
    if len(mails) > EXPECTED_MAILS:
        subjects = sorted(m.subject for m in mails)
        twice = sorted({s for s in subjects if subjects.count(s) > 1})
        raise StageFailed(
            f"{len(mails)} emails arrived where {EXPECTED_MAILS} were expected (one [hook] and one [automation] "
            f"per run end): sent more than once: {'; '.join(twice) or 'see the table above'}."
        )
    if len(mails) < EXPECTED_MAILS and not smtp.answers(settings):
        raise StageFailed(
            f"Only {len(mails)} of {EXPECTED_MAILS} emails arrived: the mail server at {settings.where} is down "
            "(it stopped during the stage). `make stage-5` starts it again and sends them anew."
        )
    if len(mails) < EXPECTED_MAILS:
        why = runs.automation_failures("email-on-run-end", datetime.fromtimestamp(since, UTC))
        raise StageFailed(
            f"Only {len(mails)} of {EXPECTED_MAILS} emails arrived within {timeout:.0f} s. "
            + (
                f"The automation email-on-run-end could not run send-email: {why[0]}"
                + (" (a {{ }} template in its parameters does not render)" if "Jinja" in why[0] else "")
                if why
                else "The automation's emails are sent by send-email/course-email runs: look for them (and their "
                "logs) under Runs in the UI."
            )
        )
    return mails


def _on_cloud() -> StageResult:
    started = time.monotonic()
    state = cloud.deploy()
    result = StageResult(
        stage=5, ran=f"cloud login, deploy to managed pool {cloud.POOL}", states={cloud.DEPLOYMENT: state}
    )
    result.key_figure = f"{cloud.DEPLOYMENT} {state} on Prefect Cloud in {time.monotonic() - started:.0f} s"
    if state != "Completed":
        raise StageFailed(
            f"The run of {cloud.DEPLOYMENT} on Prefect Cloud ended {state}; see its logs in the Cloud UI."
        )
    return result


def about_a_notified_run(subject: str) -> bool:
    """Is this the subject of an email about a notified-training run? notify.py's hooks and
    email-on-run-end.yaml both write "[hook|automation] notified-training run RUN: STATE"."""
    return f" {NOTIFIED_FLOW} run " in subject


def _stage_mails(since: float) -> list[smtp.Received]:
    """The emails about this stage's runs of notified-training: not those of an automation of your own (one
    made in the UI, say) that reacts to other flows' runs."""
    return [m for m in smtp.received(since) if about_a_notified_run(m.subject)]
