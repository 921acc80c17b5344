"""`make ui-walkthrough`: the steps the lessons do by hand in the Prefect UI, done for real in a browser.

After `make tour`, Playwright drives Debian's Chromium through Prefect's new UI (at /v2/, the one the
server opens) as a learner does with a mouse, and after each step reads the server's API: a step that
only looks done fails.

1. A custom run of taxi-training/taxi-default with other months, typed as JSON (homework Q3): it is
   Completed on the course's worker, with those parameters, and its RMSE artifact is on its page.
2. A process work pool made in the UI: a worker started for it runs a deployment on it, started from
   the UI's Quick run.
3. A schedule added to taxi-default, the third day of every month at 09:00 UTC: the scheduler's next
   runs fall on it; paused (no run ahead) and resumed.
4. An automation made in the wizard (homework Q6): when a taxi-training run completes, run
   send-email/course-email. A run of taxi-default then brings one email to the course's mailbox.
5. A flow run's graph and logs, a task run's retries (lesson 1), and the versions of lesson 2's metrics.

Selectors are the UI's accessible roles and names where it has them; a UI release that changes one
breaks that step with a line naming it. Each step saves a picture: `make screenshots` keeps them in
docs/screenshots/walkthrough/, where lessons 3 and 5 show them; otherwise they go to .course/walkthrough/.
What the walk makes stays on the server (the run, the pool, the schedule, the automation); a second walk
first removes what the first one made.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowFilter,
    FlowFilterName,
    TaskRunFilter,
    TaskRunFilterFlowRunId,
)
from prefect.client.schemas.sorting import FlowRunSort
from prefect.exceptions import ObjectNotFound

from coursekit import config, console, runs
from coursekit.lesson.lessons import lesson_module
from coursekit.maintainer import browser
from coursekit.services import lifecycle, server, smtp, workers

DEPLOYMENT = "taxi-training/taxi-default"
CUSTOM_PARAMETERS = {"train_month": "2023-02", "val_month": "2023-03"}  # homework Q3 trains on other months
UI_POOL = "course-ui-pool"
UI_DEPLOYMENT = "taxi-ui-pool"  # taxi-default's flow, deployed to the pool made in the UI
CRON, CRON_WORDS = "0 9 3 * *", "At 09:00 AM, on day 3 of the month"  # the homework's schedule, as the UI reads it
AUTOMATION = "email-when-training-completes"
EMAIL_DEPLOYMENT = "send-email/course-email"
TRAINING_FLOW = "taxi-training"
METRICS_KEY = "taxi-model-metrics"
RETRYING_FLOWS = ("cat-fact-flow", "dog-fact-flow")  # lesson 1's subflows: their tasks retry a flaky API
SHOTS_DIR = config.REPO_ROOT / "docs" / "screenshots" / "walkthrough"
TIMEOUT_MS = 30_000  # a button or a field to show, a check to hold
NAVIGATION_TIMEOUT_MS = 60_000  # a page to load: on a busy machine the UI's first load is the slow part
RUN_TIMEOUT = 300  # a training run on a busy 2-core machine


class WalkFailed(Exception):
    """A step did not do what it should; the message names the step and says what to do."""


class Walk:
    """The browser page, the pictures, and which step is being done (for a failure's one line)."""

    def __init__(self, page: Any, shots: Path) -> None:
        self.page, self.shots = page, shots
        self.step_name, self.doing = "", ""
        self.taken: list[str] = []

    def ui(self, path: str) -> None:
        self.page.goto(config.current().ui_page(path), wait_until="domcontentloaded")

    def open_deployment(self, name: str, doing: str) -> Any:
        """Open the page of deployment `name` ("flow/deployment"), saying what the step does there."""
        with get_client(sync_client=True) as client:
            deployment = client.read_deployment_by_name(name)
        self.at(doing)
        self.ui(f"/deployments/deployment/{deployment.id}")
        return deployment

    def at(self, doing: str) -> None:
        self.doing = doing

    def shot(self, name: str) -> None:
        self.page.wait_for_load_state("networkidle")
        self.page.screenshot(path=self.shots / name)
        self.taken.append(name)

    def toast(self, text: str) -> None:
        """Wait for the UI's confirmation (a toast), the sign that the server took the change."""
        self.page.locator("[data-sonner-toast]").filter(has_text=text).first.wait_for(state="visible")

    def fail(self, why: str) -> WalkFailed:
        picture = config.current().log_dir / "ui-walkthrough-failure.png"
        try:
            picture.parent.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=picture)
            seen = f" The page it showed: {config.shown(picture)}"
        except Exception:  # the page may be gone; the message matters more than the picture
            seen = ""
        return WalkFailed(f"Step {self.step_name}: {why}.{seen}")


@contextmanager
def step(walk: Walk, name: str) -> Iterator[None]:
    """One step: a UI error (a button that is not there, a page that never shows) becomes one line."""
    from playwright.sync_api import Error as PlaywrightError

    walk.step_name, walk.doing = name, ""
    started = time.monotonic()
    try:
        yield
    except PlaywrightError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise walk.fail(f"the UI did not let it {walk.doing or 'go on'} ({first})") from None
    except AssertionError as error:
        raise walk.fail(f"the UI did not show it {walk.doing} ({str(error).splitlines()[0]})") from None
    except lifecycle.ServiceError as error:  # a run that did not come or end
        raise walk.fail(str(error).rstrip(".")) from None
    console.ok(f"{name} ({time.monotonic() - started:.0f} s)")


# --- API reads and the step's checks --------------------------------------------------------------------


def _wait(predicate: Callable[[], Any], timeout: float, interval: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def _final(flow_run_id: UUID, walk: Walk, what: str) -> Any:
    with get_client(sync_client=True) as client:
        flow_run = _wait(lambda: _if_final(client.read_flow_run(flow_run_id)), RUN_TIMEOUT, 2)
    if not flow_run:
        raise walk.fail(f"{what} did not end within {RUN_TIMEOUT} s: is a worker polling its pool? (make status)")
    if runs.state_name(flow_run) != "Completed":
        message = flow_run.state.message if flow_run.state else ""
        raise walk.fail(f"{what} ended {runs.state_name(flow_run)}: {message}")
    return flow_run


def _if_final(flow_run: Any) -> Any:
    return flow_run if flow_run.state and flow_run.state.is_final() else None


def remove_earlier_walk() -> None:
    """What an earlier walk made (a second walk makes it anew): its automation, schedule, pool, deployment."""
    with get_client(sync_client=True) as client:
        for automation in client.read_automations_by_name(AUTOMATION):
            client.delete_automation(automation.id)
        deployment = client.read_deployment_by_name(DEPLOYMENT)
        for schedule in client.read_deployment_schedules(deployment.id):
            if getattr(schedule.schedule, "cron", None) == CRON:
                client.delete_deployment_schedule(deployment.id, schedule.id)
        with suppress(ObjectNotFound):
            client.delete_deployment(client.read_deployment_by_name(f"{TRAINING_FLOW}/{UI_DEPLOYMENT}").id)
        with suppress(ObjectNotFound):
            client.delete_work_pool(UI_POOL)


# --- the steps --------------------------------------------------------------------------------------------


def custom_run(walk: Walk) -> None:
    page = walk.page
    deployment = walk.open_deployment(DEPLOYMENT, f"open the deployment {DEPLOYMENT}")
    walk.at("click Run, then Custom run")
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Custom run").click()
    walk.at("type the months as JSON (each parameter's menu: Use JSON Input)")
    name_box = page.get_by_label("Run Name")
    _expect(name_box).not_to_have_value("")  # the form fills in a generated name first: typing before is lost
    run_name = f"custom-{datetime.now(UTC):%H%M%S}"
    name_box.fill(run_name)
    for parameter, value in CUSTOM_PARAMETERS.items():
        row = (
            page.locator("div")
            .filter(has=page.get_by_text(f"{parameter} (Optional)", exact=True))
            .filter(has=page.get_by_role("button", name="Open menu"))
            .filter(has=page.get_by_role("group"))
            .last
        )
        row.get_by_role("button", name="Open menu").click()
        page.get_by_role("menuitem", name="Use JSON Input").click()
        editor = row.locator(".cm-content")  # a JSON editor (CodeMirror): it has no accessible name
        editor.click()
        page.keyboard.press("ControlOrMeta+a")
        page.keyboard.type(json.dumps(value))
        _expect(editor).to_have_text(json.dumps(value))
    walk.shot("01-custom-run-json.png")
    walk.at("click Submit and follow View run")
    _submit(walk, run_name)
    page.locator("[data-sonner-toast]").filter(has_text=f"{run_name} scheduled").get_by_role(
        "button", name="View run"
    ).click()
    page.wait_for_url(re.compile(r"/runs/flow-run/[0-9a-f-]{36}"))
    flow_run_id = UUID(re.search(r"flow-run/([0-9a-f-]{36})", page.url).group(1))  # type: ignore[union-attr]

    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(flow_run_id)
    typed = {key: flow_run.parameters.get(key) for key in CUSTOM_PARAMETERS}  # the form sends the others' defaults
    if typed != CUSTOM_PARAMETERS or flow_run.deployment_id != deployment.id:
        raise walk.fail(f"the server has the run with parameters {flow_run.parameters}, not with {CUSTOM_PARAMETERS}")
    flow_run = _final(flow_run_id, walk, f"the custom run {run_name}")
    rmse = runs.rmse_of(flow_run_id)
    walk.at(f"show the run Completed and its RMSE {rmse} on the Artifacts tab")
    page.reload()
    _expect(page.get_by_text("Completed").first).to_be_visible()
    page.get_by_role("tab", name="Artifacts").click()
    _expect(page.get_by_text(METRICS_KEY).first).to_be_visible()
    walk.shot("02-custom-run-completed.png")
    console.say(f"  {run_name}: {CUSTOM_PARAMETERS}, Completed, RMSE {rmse} min")


def _submit(walk: Walk, run_name: str) -> None:
    """Submit the custom run. Seen once in about ten walks: a click that sent nothing. Then click again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page = walk.page
    for _ in range(3):
        try:
            with page.expect_request(lambda r: r.method == "POST" and "create_flow_run" in r.url, timeout=15_000):
                page.get_by_role("button", name="Submit").click()
            break
        except PlaywrightTimeout:
            if page.locator("[data-sonner-toast]").filter(has_text=run_name).count():
                break
    walk.toast(f"{run_name} scheduled to start now")


def _quick_run(walk: Walk, deployment_id: UUID) -> None:
    """Run ▸ Quick run on the open deployment page, until the server has made a run of that deployment.

    Seen on a busy machine: a menu that did not open, a click that sent nothing, and a request the server
    did not take (its SQLite database busy); then it opens the menu again, as a learner clicks again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page = walk.page
    answers = []
    for _ in range(3):
        try:
            page.get_by_role("button", name="Run", exact=True).click()
            item = page.get_by_role("menuitem", name="Quick run")
            item.wait_for(state="visible", timeout=5_000)
            with page.expect_response(
                lambda r: r.request.method == "POST" and f"{deployment_id}/create_flow_run" in r.url, timeout=60_000
            ) as response:
                item.click()
            if response.value.ok:
                return
            answers.append(str(response.value.status))
        except PlaywrightTimeout:
            answers.append("no answer")
            page.keyboard.press("Escape")
    said = ", ".join(answers)
    raise walk.fail(f"Run ▸ Quick run made no run on the server, three times (the server answered: {said})")


def work_pool(walk: Walk) -> None:
    page = walk.page
    walk.at("open Work Pools and its create button")
    walk.ui("/work-pools")
    page.locator('a[href$="/work-pools/create"]').click()  # the "+" beside the heading has no accessible name
    walk.at("choose the Process type, then Next")
    page.get_by_role("radio", name=re.compile(r"\bProcess\b")).click()
    page.get_by_role("button", name="Next").click()
    walk.at(f"name the pool {UI_POOL}, then Next and Create Work Pool")
    page.get_by_label("Name", exact=True).fill(UI_POOL)
    walk.shot("03-work-pool-name.png")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Create Work Pool").click()
    walk.toast(f'Work pool "{UI_POOL}" created successfully')
    with get_client(sync_client=True) as client:
        pool = client.read_work_pool(UI_POOL)
    if pool.type != "process":
        raise walk.fail(f"the server has {UI_POOL} of type {pool.type!r}, not 'process'")

    # What the pool page then asks for: a worker, and a deployment on the pool (Prefect's commands).
    deploy = _prefect("--no-prompt", "deploy", "02_workflow/orchestrate.py:main_flow", "--name", UI_DEPLOYMENT,
                      "--pool", UI_POOL)  # fmt: skip
    if deploy.returncode != 0:
        raise walk.fail(f"prefect deploy to {UI_POOL} failed: {deploy.stdout[-300:]}")
    with workers.running(UI_POOL):
        deployment = walk.open_deployment(f"{TRAINING_FLOW}/{UI_DEPLOYMENT}", f"start a Quick run of {UI_DEPLOYMENT}")
        _quick_run(walk, deployment.id)
        with get_client(sync_client=True) as client:
            started = _wait(lambda: client.read_flow_runs(deployment_filter=_deployment_filter(deployment.id)), 30)
        if not started:
            raise walk.fail(f"Quick run made no run of {UI_DEPLOYMENT} on the server")
        flow_run = _final(started[0].id, walk, f"the run of {UI_DEPLOYMENT}")
        worker = runs.worker_of(flow_run.id)
        if flow_run.work_pool_name != UI_POOL or worker != workers.service_name(UI_POOL):
            raise walk.fail(f"the run ran on pool {flow_run.work_pool_name!r} by worker {worker!r}")
        walk.at("list the pool's worker on its Workers tab")
        walk.ui(f"/work-pools/work-pool/{UI_POOL}")
        page.get_by_role("tab", name="Workers").click()
        _expect(page.get_by_text(workers.service_name(UI_POOL))).to_be_visible()
        walk.shot("04-work-pool-worker.png")
    console.say(f"  {UI_POOL}: type process; {flow_run.name} Completed by {worker}")


def _deployment_filter(deployment_id: UUID) -> DeploymentFilter:
    return DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))


def _prefect(*args: str) -> subprocess.CompletedProcess[str]:
    command = [server.prefect_executable(), *args]
    return subprocess.run(command, cwd=config.REPO_ROOT, capture_output=True, text=True, timeout=180)


def schedule(walk: Walk) -> None:
    page = walk.page
    deployment = walk.open_deployment(DEPLOYMENT, f"open {DEPLOYMENT} and its Schedule button")
    page.get_by_role("button", name="Schedule", exact=True).click()
    dialog = page.get_by_role("dialog", name="Add Schedule")
    walk.at(f"type the cron {CRON!r} on the Cron tab and pick the timezone UTC")
    dialog.get_by_role("tab", name="Cron").click()
    dialog.get_by_label("Value").fill(CRON)
    _expect(dialog.get_by_text(CRON_WORDS)).to_be_visible()
    dialog.get_by_role("button", name="Select timezone").click()
    page.get_by_placeholder("Search", exact=True).fill("UTC")  # the picker opens outside the dialog
    page.get_by_role("option", name="UTC", exact=True).click()
    walk.shot("05-schedule-cron.png")
    walk.at("Save the schedule")
    dialog.get_by_role("button", name="Save").click()
    walk.toast("Deployment schedule created")

    def ours() -> Any:
        with get_client(sync_client=True) as client:
            return next(
                (
                    s
                    for s in client.read_deployment_schedules(deployment.id)
                    if getattr(s.schedule, "cron", None) == CRON
                ),
                None,
            )

    made = _wait(ours, 15)
    if not made or made.schedule.timezone != "UTC" or not made.active:
        raise walk.fail(f"the server has no active schedule {CRON!r} in UTC on {DEPLOYMENT}: {made}")
    fires = [t.astimezone(UTC) for t in runs.upcoming_runs(DEPLOYMENT, expected=3, timeout=90)]
    wrong = [t for t in fires if (t.day, t.hour, t.minute) != (3, 9, 0)]
    if len(fires) < 3 or wrong:
        raise walk.fail(f"the scheduler's next runs are {[t.isoformat() for t in fires]}, not on the 3rd at 09:00 UTC")
    walk.at("show the scheduled runs on the Upcoming tab")
    page.get_by_role("tab", name="Upcoming").click()
    _expect(page.get_by_text(fires[0].strftime("%Y/%m/%d")).first).to_be_visible()
    walk.shot("06-schedule-upcoming.png")

    switch = page.get_by_role("switch", name=f"toggle {CRON_WORDS}")
    walk.at("pause the schedule with its switch")
    _flip(walk, switch, False, lambda: ours().active)
    walk.at("resume the schedule with its switch")
    _flip(walk, switch, True, lambda: ours().active)
    nexts = ", ".join(t.strftime("%Y-%m-%d %H:%M") for t in fires[:3])
    console.say(f"  {CRON} UTC on {DEPLOYMENT}: next {nexts}; paused, resumed")


def _flip(walk: Walk, switch: Any, active: bool, server_active: Callable[[], bool]) -> None:
    """Set a schedule's switch to `active` until the server has it so. Seen on a busy machine: a click that
    lands while the page redraws after the last change is lost; then the switch still shows the old state,
    and it is clicked again (never while it already shows the new one, which would undo it)."""
    for _ in range(3):
        _expect(switch).to_be_enabled()
        if switch.is_checked() != active:
            switch.click()
        if _wait(lambda: server_active() is active, 10) is True:
            _expect(switch).to_be_checked(checked=active)
            return
    said = "active" if active else "paused"
    raise walk.fail(f"the server does not have the schedule {said} after its switch was set so three times")


def automation(walk: Walk) -> None:
    page = walk.page
    walk.at("open Automations and create one")
    walk.ui("/automations/create")
    walk.at("choose the trigger: Flow run state, the flow taxi-training, the state Completed")
    _pick(walk, page.get_by_role("combobox", name="Trigger Template"), "Flow run state")
    _pick(walk, page.get_by_role("button", name="All flows"), TRAINING_FLOW)
    page.keyboard.press("Escape")
    _pick(walk, page.get_by_role("button", name="Any state"), "Completed")
    page.keyboard.press("Escape")
    walk.shot("07-automation-trigger.png")
    page.get_by_role("button", name="Next").click()
    walk.at(f"choose the action: Run a deployment, {EMAIL_DEPLOYMENT}")
    _pick(walk, page.get_by_role("combobox", name="select action"), "Run a deployment")
    _pick(walk, page.get_by_role("button", name="Select Deployment to Run"), EMAIL_DEPLOYMENT.split("/")[1])
    walk.shot("08-automation-action.png")
    page.get_by_role("button", name="Next").click()
    walk.at(f"name it {AUTOMATION} and Save")
    page.get_by_label("Automation Name").fill(AUTOMATION)
    page.get_by_role("button", name="Save").click()
    walk.toast("Automation created successfully")

    with get_client(sync_client=True) as client:
        made = client.read_automations_by_name(AUTOMATION)
        training = client.read_flow_by_name(TRAINING_FLOW)
        email = client.read_deployment_by_name(EMAIL_DEPLOYMENT)
    if len(made) != 1:
        raise walk.fail(f"the server has {len(made)} automations named {AUTOMATION}, not 1")
    trigger, actions = made[0].trigger, made[0].actions
    if getattr(trigger, "expect", None) != {"prefect.flow-run.Completed"} or f"prefect.flow.{training.id}" not in str(
        getattr(trigger, "match_related", "")
    ):
        raise walk.fail(f"the automation's trigger is not a completed run of {TRAINING_FLOW}: {trigger}")
    if [(a.type, getattr(a, "deployment_id", None)) for a in actions] != [("run-deployment", email.id)]:
        raise walk.fail(f"the automation's actions are not one run of {EMAIL_DEPLOYMENT}: {actions}")

    since = time.time()
    deployment = walk.open_deployment(DEPLOYMENT, f"run {DEPLOYMENT} (Quick run) and wait for the email")
    _quick_run(walk, deployment.id)
    started = datetime.fromtimestamp(since, UTC)
    runs.wait_for_run_of(DEPLOYMENT, started, timeout=RUN_TIMEOUT)
    try:
        sent = runs.wait_for_run_of(EMAIL_DEPLOYMENT, started, timeout=120)
    except lifecycle.ServiceError:
        why = runs.automation_failures(AUTOMATION, started)
        if why:  # the server's own words, e.g. a deployment whose parameters it could not fill
            raise walk.fail(f"the automation could not run {EMAIL_DEPLOYMENT}: {why[0]}") from None
        raise
    if runs.state_name(sent) != "Completed":
        raise walk.fail(f"the automation's run of {EMAIL_DEPLOYMENT} ended {runs.state_name(sent)}")
    mails = _wait(lambda: _ours(smtp.received(since)), 30)
    time.sleep(5)  # a second email, if the automation fired twice, would come seconds after the first
    mails = _ours(smtp.received(since))
    if len(mails) != 1:
        raise walk.fail(f"{len(mails)} emails from the automation arrived at the course's mailbox, not 1")
    walk.at("list the automation, switched on")
    walk.ui("/automations")
    _expect(page.get_by_text(AUTOMATION)).to_be_visible()
    walk.shot("09-automation-list.png")
    console.say(f"  {AUTOMATION}: {sent.name} sent {mails[0].subject!r} to {smtp.settings().email_to}")


def _pick(walk: Walk, opener: Any, option: str) -> None:
    if not browser.choose(walk.page, opener, option):
        raise walk.fail(f"its drop-down never offered {option!r}")


@cache
def _default_subject() -> str:
    return lesson_module("05_cloud/send_email.py").DEFAULT_SUBJECT


def _ours(mails: list[smtp.Received]) -> list[smtp.Received]:
    """The emails an automation made in the UI sends: send-email's default subject (it passes no parameters)."""
    return [m for m in mails if m.subject == _default_subject()]


def run_pages(walk: Walk) -> None:
    page = walk.page
    with get_client(sync_client=True) as client:
        retried = _retried_task_run(client, walk)
    walk.at("show the flow run's graph and logs")
    walk.ui(f"/runs/flow-run/{retried.flow_run_id}")
    _expect(page.locator("canvas").first).to_be_visible()  # the run graph: a canvas, with no accessible content
    _expect(page.get_by_role("log")).to_contain_text("Retry")
    walk.shot("10-flow-run-graph-logs.png")
    walk.at(f"open the task run {retried.name} from the Task Runs tab")
    page.get_by_role("tab", name="Task Runs").click()
    page.get_by_role("link", name=retried.name).click()
    page.wait_for_url(re.compile(r"/runs/task-run/"))
    walk.at(f"show Run Count {retried.run_count} on the task run's page")
    count = (
        page.get_by_role("term").filter(has_text=re.compile(r"^Run Count$")).locator("xpath=following-sibling::dd[1]")
    )
    _expect(count).to_have_text(str(retried.run_count))
    walk.shot("11-task-run-retries.png")

    versions = runs.artifact_history(METRICS_KEY, limit=200)
    walk.at(f"list the {len(versions)} versions of {METRICS_KEY}, newest first")
    walk.ui(f"/artifacts/key/{METRICS_KEY}")
    links = page.get_by_role("link", name=re.compile(r"^[0-9a-f]{8}$"))
    _expect(links.first).to_have_text(str(versions[0].id)[:8])
    _expect(links).to_have_count(len(versions))
    walk.shot("12-artifact-versions.png")
    console.say(f"  {retried.name}: Run Count {retried.run_count}; {METRICS_KEY}: {len(versions)} versions")


def _retried_task_run(client: Any, walk: Walk) -> Any:
    """The most retried task run of lesson 1's fact flows, whose API fails on purpose."""
    fact_runs = client.read_flow_runs(
        flow_filter=FlowFilter(name=FlowFilterName(any_=list(RETRYING_FLOWS))),
        sort=FlowRunSort.START_TIME_DESC,
        limit=20,
    )
    task_runs = client.read_task_runs(
        task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[r.id for r in fact_runs]))
    )
    retried = [t for t in task_runs if t.run_count > 1 and t.state and t.state.is_completed()]
    if not retried:
        raise walk.fail("no task run of lesson 1 was retried on this server: run `make stage-1` (or `make tour`) first")
    return max(retried, key=lambda t: t.run_count)


def _expect(locator: Any) -> Any:
    from playwright.sync_api import expect

    return expect(locator)


STEPS: tuple[tuple[str, Callable[[Walk], None]], ...] = (
    ("1, a custom run with months typed as JSON", custom_run),
    ("2, a process work pool made in the UI", work_pool),
    ("3, a schedule: the 3rd of every month at 09:00 UTC", schedule),
    ("4, an automation that emails when a training run completes", automation),
    ("5, a run's graph, logs, retries and artifact versions", run_pages),
)


def walk(shots: Path) -> list[str]:
    """Every step, in order; the pictures go into `shots`. Returns their names."""
    cfg = config.current()
    if not server.healthy(cfg.api_url):
        raise WalkFailed(
            f"The Prefect server is not running at {cfg.ui_url}: start it with `make server`, "
            "and run `make tour` first if it has no runs yet."
        )
    with get_client(sync_client=True) as client:
        try:
            client.read_deployment_by_name(DEPLOYMENT)
            client.read_deployment_by_name(EMAIL_DEPLOYMENT)
        except ObjectNotFound:
            raise WalkFailed(f"The server has no {DEPLOYMENT} or {EMAIL_DEPLOYMENT}: run `make tour` first.") from None
    smtp.ensure_local_server()
    if lifecycle.status(workers.service_name("course-pool")) is None:
        workers.start_worker("course-pool")  # it stays, as `make worker` leaves it: runs of course-pool need it
    remove_earlier_walk()
    with browser.browser_page() as page:
        page.set_default_timeout(TIMEOUT_MS)
        page.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        _expect_timeout()
        walk = Walk(page, shots)
        for name, do in STEPS:
            with step(walk, name):
                do(walk)
    return walk.taken


def _expect_timeout() -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)


def main(*, keep_screenshots: bool) -> None:
    """`make ui-walkthrough` (pictures in .course/walkthrough/) or, for `make screenshots`, docs/screenshots/."""
    console.step(f"Walking through the Prefect UI at {config.current().ui_page('/')} in Chromium (headless)")
    target = SHOTS_DIR if keep_screenshots else config.current().state_dir / "walkthrough"
    with tempfile.TemporaryDirectory(prefix="course-walk-") as tmp:
        try:
            taken = walk(Path(tmp))
        except (WalkFailed, browser.UICheckFailed, lifecycle.ServiceError) as failed:
            console.fail(str(failed))
            raise SystemExit(1) from None
        target.mkdir(parents=True, exist_ok=True)
        for name in taken:  # a failed walk leaves the pictures as they were
            shutil.move(Path(tmp) / name, target / name)
    console.ok(f"Every step done in the UI and found on the server; {len(taken)} pictures in {config.shown(target)}/")
