"""The Prefect UI checked in a real browser, and the screenshots the READMEs show.

After `make tour`, `python -m coursekit ui-check` opens Prefect's new UI, the one the course server opens
by default at /v2/ (config.current().ui_page), in Debian's Chromium (driven by Playwright, headless), finds
what it checks by role, label and text, and checks that it shows what the API says: each stage's flow runs, a
stage-1 task run's retries, the RMSE of every taxi-model-metrics version, the deployments, the stage-4
blocks and event-triggered run, the stage-5 automations and work pools; and MLflow's own UI, the runs it
tracked. Every expected value is read from the API first, so a page that shows something else fails the check.
`python -m coursekit screenshots` runs the same checks and saves what they looked at in docs/screenshots/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterName,
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterDeploymentId,
    FlowRunFilterId,
    FlowRunFilterParentTaskRunId,
    FlowRunFilterState,
    FlowRunFilterStateType,
    TaskRunFilter,
    TaskRunFilterFlowRunId,
    TaskRunFilterSubFlowRuns,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.exceptions import ObjectNotFound

from coursekit import config, console, runs

# Debian's package; no browser is downloaded. COURSE_CHROMIUM points elsewhere (a Chrome or Chromium binary).
from coursekit.services import lifecycle, server

CHROMIUM = Path(os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = config.REPO_ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 30_000  # a page of the UI on a busy 2-core machine can take several seconds

# What the tour leaves on the server, by stage: flow names, or "flow/deployment" for runs of a deployment.
STAGE_RUNS: dict[int, tuple[str, ...]] = {
    1: ("fetch", "animal-facts", "cat-fact-flow", "dog-fact-flow"),
    2: ("taxi-training", "churn-classification"),
    3: ("taxi-training/taxi-default", "taxi-training/taxi-from-git"),
    4: ("taxi-training-s3/taxi_s3_data", "taxi-training-s3/taxi_s3_code"),
    5: ("notified-training/notified-local", "send-email/course-email", "score-week/weekly", "taxi-sweep"),
}
SUBFLOWS = {"cat-fact-flow", "dog-fact-flow"}  # run inside animal-facts; every other flow above runs on its own
DEPLOYMENTS: dict[int, tuple[str, ...]] = {
    3: (
        "taxi-training/taxi-default",
        "taxi-training/taxi-from-git",
        "taxi-training/taxi-monthly",
        "taxi-training/taxi-every-6h",
    ),
    4: ("taxi-training-s3/taxi_s3_data", "taxi-training-s3/taxi_s3_code"),
    5: ("notified-training/notified-local", "send-email/course-email", "score-week/weekly"),
}
BLOCKS = {4: ("aws-credentials/course-aws", "s3-bucket/course-bucket")}
AUTOMATIONS = {5: ("email-on-run-end",)}
WORK_POOLS = {3: ("course-pool",), 5: ("course-scale",)}
METRICS_KEY = "taxi-model-metrics"
RUNS_KEY = "taxi-training-runs"  # every training run so far, one table
TRIGGERED = "taxi-training-s3/taxi_s3_data"  # its run is started by an event, through the deployment's trigger
HISTORY = 10  # the newest versions of the metrics artifact whose RMSE is checked one by one

SHOTS = (
    "runs.png",
    "stage1-flow-run-retries.png",
    "stage1-task-run-attempts.png",
    "stage2-rmse-history.png",
    "stage2-rmse-table.png",
    "stage2-training-runs.png",
    "stage2-mlflow-runs.png",
    "stage2-mlflow-compare.png",
    "stage3-deployments.png",
    "stage4-blocks.png",
    "stage4-event-triggered-run.png",
    "stage5-automations.png",
    "stage5-work-pools.png",
)


class UICheckFailed(Exception):
    """The UI did not show what the API says, or the check could not start; the message says what to do."""


def install_hint() -> str:
    return (
        f"Chromium is not installed at {CHROMIUM}. `make ui-test` installs it when run as root; "
        "otherwise: sudo apt-get install chromium"
    )


# --- what the API says ------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    stage: int
    what: str  # a flow name, or "flow/deployment"
    id: str
    name: str
    flow: str
    state: str
    created_by: str | None = None  # the automation that created it, if one did


@dataclass(frozen=True)
class TaskRun:
    id: str
    name: str
    run_count: int
    flow_run: Run


@dataclass(frozen=True)
class MetricsVersion:
    id: str
    flow_run_name: str
    rmse: float


@dataclass(frozen=True)
class Tracked:
    """The newest MLflow run of each model in the course's experiment: what the MLflow UI should list."""

    url: str
    experiment_id: str
    runs: dict[str, tuple[str, str]]  # model -> (run id, run name)


@dataclass(frozen=True)
class Named:
    """A deployment, block, automation or work pool, with the one detail its list page shows beside the name."""

    stage: int
    name: str
    id: str
    detail: str  # the deployment's flow, the block's type, the automation's description, the pool's type
    enabled: bool = True  # an automation's switch


@dataclass(frozen=True)
class Expected:
    runs: list[Run]
    retried: TaskRun
    metrics: list[MetricsVersion]
    deployment_count: int
    deployments: list[Named]
    blocks: list[Named]
    automations: list[Named]
    work_pools: list[Named]
    training_runs: tuple[str, list[dict]]  # the newest taxi-training-runs version: its id and rows
    tracked: Tracked

    def run(self, what: str) -> Run:
        return next(r for r in self.runs if r.what == what)


def read_expected() -> Expected:
    """Everything the UI should show, read from the API; a stage with nothing on the server says `make tour`."""
    missing: dict[int, list[str]] = {}
    with get_client(sync_client=True) as client:
        found_runs = []
        for stage, names in STAGE_RUNS.items():
            for what in names:
                run = _latest_run(client, stage, what)
                if run is None:
                    missing.setdefault(stage, []).append(f"a run of {what}")
                else:
                    found_runs.append(run)
        deployments = _named(DEPLOYMENTS, missing, lambda name: _deployment(client, name))
        blocks = _named(BLOCKS, missing, lambda name: _block(client, name))
        automations = _named(AUTOMATIONS, missing, lambda name: _automation(client, name))
        work_pools = _named(WORK_POOLS, missing, lambda name: _work_pool(client, name))
        if missing:
            raise UICheckFailed(
                "The server has nothing yet from "
                + "; ".join(f"stage {stage} ({', '.join(items)})" for stage, items in sorted(missing.items()))
                + ". Run `make tour` first, then check again."
            )
        stage1 = [r for r in found_runs if r.stage == 1]
        retried = _most_attempted_task_run(client, stage1)
        metrics = _metrics_history(client)
        deployment_count = len(client.read_deployments())
    return Expected(
        found_runs,
        retried,
        metrics,
        deployment_count,
        deployments,
        blocks,
        automations,
        work_pools,
        _training_runs(),
        _tracked(),
    )


def _training_runs() -> tuple[str, list[dict]]:
    newest = runs.artifact_history(RUNS_KEY, limit=1)
    if not newest:
        raise UICheckFailed(f"No {RUNS_KEY} artifact on the server: run `make stage-2` first.")
    data = newest[0].data
    return str(newest[0].id), json.loads(data) if isinstance(data, str) else data


def _tracked() -> Tracked:
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from coursekit.lesson.tracking import EXPERIMENT

    url = config.current().tracking_uri
    if not lifecycle.answers(url):  # MLflow's client would retry for minutes before it says so
        raise UICheckFailed(f"The MLflow tracking server at {url} does not answer: start it with `make mlflow`.")
    try:
        client = MlflowClient(url)
        experiment = client.get_experiment_by_name(EXPERIMENT)
        found = client.search_runs([experiment.experiment_id], order_by=["start_time DESC"]) if experiment else []
    except MlflowException as err:
        raise UICheckFailed(f"The MLflow tracking server at {url} does not answer ({err}): `make mlflow`.") from None
    newest: dict[str, tuple[str, str]] = {}
    for run in found:
        model = run.data.tags.get("model")
        if model and run.info.status == "FINISHED":
            newest.setdefault(model, (run.info.run_id, run.info.run_name))
    if experiment is None or set(newest) != {"course", "pickup"}:
        raise UICheckFailed(f"MLflow at {url} has no finished run of both models in {EXPERIMENT}: `make stage-2`.")
    return Tracked(url, experiment.experiment_id, newest)


def _latest_run(client, stage: int, what: str) -> Run | None:
    flow, _, deployment = what.partition("/")
    started = FlowRunFilterState(type=FlowRunFilterStateType(not_any_=[StateType.SCHEDULED, StateType.PENDING]))
    if deployment:
        run_filter = FlowRunFilter(state=started)
    else:  # a run of the lesson script itself: no deployment, and a subflow only where the lesson has one
        run_filter = FlowRunFilter(
            state=started,
            deployment_id=FlowRunFilterDeploymentId(is_null_=True),
            parent_task_run_id=FlowRunFilterParentTaskRunId(is_null_=flow not in SUBFLOWS),
        )
    found = client.read_flow_runs(
        flow_filter=FlowFilter(name=FlowFilterName(any_=[flow])),
        flow_run_filter=run_filter,
        deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[deployment])) if deployment else None,
        sort=FlowRunSort.EXPECTED_START_TIME_DESC,
        limit=1,
    )
    if not found:
        return None
    fr = found[0]
    created_by = fr.created_by.display_value if fr.created_by and fr.created_by.type == "AUTOMATION" else None
    return Run(stage, what, str(fr.id), fr.name, flow, fr.state.name if fr.state else "?", created_by)


def _named(by_stage: Mapping[int, tuple[str, ...]], missing: dict[int, list[str]], read) -> list[Named]:
    found = []
    for stage, names in by_stage.items():
        for name in names:
            try:
                found.append(Named(stage, name, *read(name)))
            except (ObjectNotFound, LookupError):
                missing.setdefault(stage, []).append(name)
    return found


def _deployment(client, name: str) -> tuple[str, str]:
    # Its status (Ready / Not Ready) is left out: it changes a minute after the last worker stops polling.
    return str(client.read_deployment_by_name(name).id), name.split("/")[0]


def _block(client, slug_and_name: str) -> tuple[str, str]:
    block_type, _, name = slug_and_name.partition("/")
    document = client.read_block_document_by_name(name, block_type_slug=block_type)
    return str(document.id), document.block_type.name if document.block_type else block_type


def _automation(client, name: str) -> tuple[str, str, bool]:
    found = client.read_automations_by_name(name)
    if not found:
        raise LookupError(name)
    return str(found[0].id), found[0].description, found[0].enabled


def _work_pool(client, name: str) -> tuple[str, str]:
    pool = client.read_work_pool(name)
    return str(pool.id), pool.type


def _most_attempted_task_run(client, stage1: list[Run]) -> TaskRun:
    task_runs = client.read_task_runs(
        task_run_filter=TaskRunFilter(
            flow_run_id=TaskRunFilterFlowRunId(any_=[UUID(r.id) for r in stage1]),
            subflow_runs=TaskRunFilterSubFlowRuns(exists_=False),  # not the placeholders of the subflows
        )
    )
    if not task_runs:
        raise UICheckFailed("The stage-1 flow runs have no task runs: run `make stage-1` again.")
    most = max(task_runs, key=lambda tr: tr.run_count)
    return TaskRun(str(most.id), most.name, most.run_count, next(r for r in stage1 if r.id == str(most.flow_run_id)))


def _metrics_history(client) -> list[MetricsVersion]:
    versions = runs.artifact_history(METRICS_KEY, limit=HISTORY)
    if not versions:
        raise UICheckFailed(f"No {METRICS_KEY} artifact on the server: run `make tour` (or `make stage-2`) first.")
    flow_runs = client.read_flow_runs(
        flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[v.flow_run_id for v in versions if v.flow_run_id]))
    )
    names = {str(fr.id): fr.name for fr in flow_runs}
    return [
        MetricsVersion(
            str(v.id),
            names.get(str(v.flow_run_id), "?"),
            float((json.loads(v.data) if isinstance(v.data, str) else v.data)[0]["rmse_minutes"]),
        )
        for v in versions
    ]


# --- what the browser shows -------------------------------------------------------------------


class Screenshots:
    """Saves a picture of the page into a folder, or does nothing when there is no folder."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def take(self, page, name: str, *, settled: bool = True, centred=None) -> None:
        if self.folder is None:
            return
        # The checked content is on the page; the rest (counts, graphs) has arrived once the network is quiet.
        # MLflow's UI polls its server for as long as it is open: its network is never quiet (settled=False).
        if settled:
            page.wait_for_load_state("networkidle")
        if centred is not None:  # scrolled to once the page is complete: what loads above it would push it down
            centred.first.evaluate("e => e.scrollIntoView({block: 'center'})")
        page.screenshot(path=self.folder / name)


def _page_failure(page, what: str) -> UICheckFailed:
    """A failed check: what was expected, where, and a screenshot of what the page showed instead."""
    picture = config.current().log_dir / "ui-check-failure.png"
    try:
        picture.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=picture)
        seen = f" What the page showed: {config.shown(picture)}"
    except Exception:  # the page itself may be gone; the message matters more than the picture
        seen = ""
    return UICheckFailed(f"The UI at {page.url} does not show {what}.{seen}")


def _visible(page, locator, what: str):
    """Wait until a locator shows (the UI loads its data after the page); fail with `what` if it never does."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        locator.first.wait_for(state="visible", timeout=TIMEOUT_MS)
    except PlaywrightTimeout:
        raise _page_failure(page, what) from None
    return locator.first


def _item(page, scope, href: str, what: str):
    """The list item (a row, a list item or a card in `scope`) that links to `href` on the UI, once it shows."""
    item = scope.filter(has=page.locator(f'a[href="{config.UI_PREFIX}{href}"]'))
    _visible(page, item, what)
    return item


def _shows(page, scope, text: str, what: str) -> None:
    """Wait until an element inside `scope` reads exactly `text` ("Ready" is not found in "Not Ready")."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        scope.get_by_text(text, exact=True).first.wait_for(state="visible", timeout=TIMEOUT_MS)
    except PlaywrightTimeout:
        shown = scope.first.inner_text().strip().replace("\n", " | ")[:300] if scope.count() else "nothing"
        raise _page_failure(page, f"{what} (expected {text!r}, shown: {shown!r})") from None


def _open(page, path: str) -> None:
    page.goto(config.current().ui_page(path), wait_until="domcontentloaded")


def _search(page, name: str, text: str) -> None:
    box = _visible(page, page.get_by_role("textbox", name=name, exact=True), f"a search box {name!r}")
    box.fill(text)


def _heading(page):
    """The top of a run's page: its name (the last step of the breadcrumb), tags, state, start and duration."""
    return page.get_by_role("main").locator("div", has=page.get_by_role("navigation", name="breadcrumb")).last


def _term(page, label: str):
    """The value beside a label in the UI's details panels (<dt>Run Count</dt><dd>3</dd>)."""
    term = page.get_by_role("term").filter(has_text=re.compile(f"^{re.escape(label)}$"))
    return term.locator("xpath=following-sibling::dd[1]")


def _retry_lines(scope):
    return scope.get_by_role("log").get_by_role("listitem").filter(has_text=re.compile(r"Retry \d+/\d+"))


def check_runs(page, expected: Expected, shots: Screenshots) -> str:
    """The runs list shows each stage's latest runs, with their flow and final state."""
    _open(page, "/runs")
    # A run is a list item holding a breadcrumb (flow / run), itself a list of items: the outer items are the runs.
    rows = (
        page.get_by_role("tabpanel", name="Flow Runs")
        .get_by_role("listitem")
        .filter(has=page.get_by_role("navigation", name="breadcrumb"))
    )
    _visible(page, rows, "any flow run (the list is empty)")
    # The picture shows the list's controls and first rows rather than the whole duration chart above them.
    shots.take(page, "runs.png", centred=rows)
    for run in expected.runs:
        _search(page, "Search by flow run name", run.name)
        what = f"stage {run.stage}'s run {run.name!r} of {run.what} (the list holds the past 7 days)"
        row = _item(page, rows, f"/runs/flow-run/{run.id}", what)
        _shows(page, row, run.flow, f"the flow of {what}")
        _shows(page, row, run.state, f"the state of {what}")
    return f"runs list: the latest {len(expected.runs)} runs of the 5 stages, with their flow and state"


def check_retries(page, expected: Expected, shots: Screenshots) -> str:
    """A stage-1 task run that was retried: its flow run's logs show the retries; its page, each and its run count."""
    task = expected.retried
    _open(page, f"/runs/flow-run/{task.flow_run.id}")  # it opens on its Logs tab, below the run graph
    _shows(page, _heading(page), task.flow_run.name, "the flow run's name in the heading")
    _visible(page, page.locator("canvas"), "the flow run's graph")
    if task.run_count > 1:
        _visible(page, _retry_lines(page), f"the retries of task run {task.name!r} in the logs")
    shots.take(page, "stage1-flow-run-retries.png")

    # The flow run's log lines do not name their task run; the task run's page shows only its own.
    _open(page, f"/runs/task-run/{task.id}")
    _shows(page, _heading(page), task.name, "the task run's name in the heading")
    retries = _retry_lines(page).filter(has_text=task.name)
    if task.run_count > 1:
        _visible(page, retries, f"the retries of task run {task.name!r} in its logs")
    _count(page, retries, task.run_count - 1, f"retry log lines of task run {task.name!r}")
    _shows(page, _term(page, "Run Count"), str(task.run_count), f"the run count of task run {task.name!r}")
    shots.take(page, "stage1-task-run-attempts.png")
    return f"stage 1: task run {task.name} ran {task.run_count} times, its logs show {task.run_count - 1} retries"


def _count(page, locator, n: int, what: str) -> None:
    from playwright.sync_api import expect

    try:
        expect(locator).to_have_count(n, timeout=TIMEOUT_MS)
    except AssertionError:
        raise _page_failure(page, f"{n} {what} (it shows {locator.count()})") from None


def _table_rows(page):
    """The rows of an artifact's table, below its header row."""
    return page.get_by_role("row").filter(has=page.get_by_role("cell"))


def _column(page, name: str, what: str) -> int:
    """The position of a table's column, by its header."""
    _visible(page, page.get_by_role("columnheader", name=name, exact=True), f"a {name} column in {what}")
    return page.get_by_role("columnheader").all_inner_texts().index(name)


def check_rmse_history(page, expected: Expected, shots: Screenshots) -> str:
    """The taxi-model-metrics page lists every version, newest first; each version's table shows its RMSE."""
    _open(page, f"/artifacts/key/{METRICS_KEY}")
    links = page.get_by_role("main").get_by_role("link", name=re.compile(r"^[0-9a-f]{8}$"))  # by its short id
    _visible(page, links, f"the versions of {METRICS_KEY}")
    newest = expected.metrics[0]
    _shows(page, page.locator("body"), newest.flow_run_name, "the newest version's flow run")
    hrefs = links.evaluate_all("els => els.map(e => e.href)")
    shown_ids = list(dict.fromkeys(h.rsplit("/", 1)[-1].split("?")[0] for h in hrefs))
    wanted = [v.id for v in expected.metrics]
    if shown_ids[: len(wanted)] != wanted:
        raise _page_failure(page, f"the versions of {METRICS_KEY} newest first: {wanted} (shown: {shown_ids})")
    shots.take(page, "stage2-rmse-history.png")

    for n, version in enumerate(expected.metrics):
        _open(page, f"/artifacts/artifact/{version.id}")
        what = f"the RMSE of version {version.id[:8]} (run {version.flow_run_name})"
        column = _column(page, "rmse_minutes", what)
        cell = _table_rows(page).first.get_by_role("cell").nth(column)
        _visible(page, cell.filter(has_text=re.compile(r"\d")), what)
        if abs(float(cell.inner_text()) - version.rmse) > 1e-9:
            raise _page_failure(page, f"{what}: {version.rmse} (shown: {cell.inner_text()})")
        if n == 0:
            shots.take(page, "stage2-rmse-table.png")
    figures = ", ".join(f"{v.rmse:g}" for v in expected.metrics)
    return (
        f"RMSE history: {METRICS_KEY} lists its {len(expected.metrics)} newest versions, each with its RMSE ({figures})"
    )


TABLE_PAGE = 10  # rows an artifact's table shows at first; its "Items per page" goes up to 50
TABLE_MAX_PAGE = 50


def choose(page, opener, option: str) -> bool:
    """Choose `option` in one of the UI's drop-downs, opened by clicking `opener`; False if it never offered it.

    Seen on a busy machine: a click that lands before the drop-down is wired up opens nothing (then it opens
    it again), and a long list whose scroll arrow moves it under the pointer (then the option is chosen
    with the keyboard, as Tab and Enter would)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    choice = page.get_by_role("option", name=option, exact=True)
    for _ in range(3):
        opener.click()
        try:
            choice.wait_for(state="visible", timeout=5_000)
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            continue
        try:
            choice.click(timeout=5_000)
        except PlaywrightTimeout:
            choice.focus()
            page.keyboard.press("Enter")
        return True
    return False


def _choose(page, combobox, option: str, what: str) -> None:
    opener = _visible(page, combobox, f"the drop-down {option!r} is chosen in, for {what}")
    if not choose(page, opener, option):
        raise _page_failure(page, f"the option {option!r} of its drop-down, for {what}")


def check_training_runs(page, expected: Expected, shots: Screenshots) -> str:
    """The taxi-training-runs table lists every training run so far: one row each, both models among them."""
    artifact_id, rows = expected.training_runs
    _open(page, f"/artifacts/artifact/{artifact_id}")
    what = f"the table of {RUNS_KEY} with its {len(rows)} runs"
    column = _column(page, "model", what)
    if len(rows) > TABLE_PAGE:
        _choose(page, page.get_by_role("combobox", name="Items per page"), str(TABLE_MAX_PAGE), what)
    pages = -(-len(rows) // TABLE_MAX_PAGE) if len(rows) > TABLE_PAGE else 1
    _count(page, _table_rows(page), min(len(rows), TABLE_MAX_PAGE), what)
    _shows(page, page.get_by_role("navigation", name="pagination"), f"Page 1 of {pages}", f"the pages of {what}")
    models = _table_rows(page).locator(f"xpath=td[{column + 1}]")
    for model in ("course", "pickup"):
        _visible(page, models.get_by_text(model, exact=True), f"a run of the {model} model in {what}")
    shots.take(page, "stage2-training-runs.png")
    return f"training runs: {RUNS_KEY} lists all {len(rows)} runs so far, of both models"


def check_mlflow(page, expected: Expected, shots: Screenshots) -> str:
    """MLflow's own UI lists the newest run of each model, and compares the two."""
    tracked = expected.tracked
    page.goto(f"{tracked.url}/#/experiments/{tracked.experiment_id}/runs", wait_until="domcontentloaded")
    for model, (_, name) in tracked.runs.items():
        _visible(page, page.get_by_role("link", name=name, exact=True), f"MLflow's run {name!r} of the {model} model")
    shots.take(page, "stage2-mlflow-runs.png", settled=False)
    ids = json.dumps([run_id for run_id, _ in tracked.runs.values()])
    page.goto(
        f"{tracked.url}/#/compare-runs?runs={ids}&experiments={json.dumps([tracked.experiment_id])}",
        wait_until="domcontentloaded",
    )
    _visible(page, page.get_by_text("rmse", exact=True), "the rmse metric in MLflow's comparison of the two models")
    shots.take(page, "stage2-mlflow-compare.png", settled=False)
    names = " and ".join(name for _, name in tracked.runs.values())
    return f"MLflow: the experiment lists and compares the newest run of each model ({names})"


def check_deployments(page, expected: Expected, shots: Screenshots) -> str:
    """The deployments page counts every deployment and shows the course's, each with its flow."""
    _open(page, "/deployments")  # 10 a page: the search below finds each of the course's on the first
    count = f"{expected.deployment_count} Deployment" + ("" if expected.deployment_count == 1 else "s")
    _visible(page, page.get_by_role("main").get_by_text(count, exact=True), f"{count!r}")
    shots.take(page, "stage3-deployments.png")
    for deployment in expected.deployments:
        _search(page, "Search deployments", deployment.name.split("/")[1])
        what = f"stage {deployment.stage}'s deployment {deployment.name}"
        row = _item(page, page.get_by_role("row"), f"/deployments/deployment/{deployment.id}", what)
        _shows(page, row, deployment.detail, f"the flow of {what}")
    return f"deployments: {count}, the course's {len(expected.deployments)} with their flow"


def check_blocks_and_trigger(page, expected: Expected, shots: Screenshots) -> str:
    """Stage 4: the blocks with their type, and the run its event trigger started, linked to the automation."""
    _open(page, "/blocks")
    for block in expected.blocks:
        what = f"block {block.name}"
        _search(page, "search blocks", block.name.split("/")[1])  # 10 a page
        row = _item(page, page.get_by_role("row"), f"/blocks/block/{block.id}", what)
        _shows(page, row, block.detail, f"the type of {what}")
    _search(page, "search blocks", "")  # the picture shows them all
    _visible(page, page.get_by_role("row").filter(has_text=expected.blocks[0].name.split("/")[1]), "the blocks")
    shots.take(page, "stage4-blocks.png")

    run = expected.run(TRIGGERED)
    _open(page, f"/runs/flow-run/{run.id}?tab=Details")
    heading = _heading(page)
    _shows(page, heading, run.name, f"the name of run {run.name}")
    _shows(page, heading, run.state, f"the state of run {run.name}")
    if run.created_by is None:
        raise UICheckFailed(
            f"The latest run of {TRIGGERED} ({run.name}) was not started by its trigger: run `make stage-4` again."
        )
    _shows(page, _term(page, "Created By"), run.created_by, f"the automation that started run {run.name}")
    shots.take(page, "stage4-event-triggered-run.png")
    return f"stage 4: blocks {', '.join(b.name for b in expected.blocks)}; run {run.name} started by {run.created_by}"


def check_automations_and_pools(page, expected: Expected, shots: Screenshots) -> str:
    """Stage 5: the automation with its description and its on/off switch; the work pools with their type."""
    _open(page, "/automations")
    for automation in expected.automations:
        what = f"automation {automation.name}"
        item = page.get_by_role("listitem", name=f"automation item {automation.name}", exact=True)
        card = _item(page, item, f"/automations/automation/{automation.id}", what)
        _shows(page, card, automation.detail, f"the description of {what}")
        switch = card.get_by_role("switch", name="toggle automation")
        if switch.get_attribute("aria-checked") != str(automation.enabled).lower():
            raise _page_failure(page, f"{what} switched {'on' if automation.enabled else 'off'}")
    shots.take(page, "stage5-automations.png")

    _open(page, "/work-pools")
    for pool in expected.work_pools:
        what = f"work pool {pool.name}"
        # A pool's card (shadcn's Card: no role of its own) holds its name, its pause switch and its type.
        card = _item(page, page.locator("[data-slot=card]"), f"/work-pools/work-pool/{pool.name}", what)
        _shows(page, card, pool.detail.title(), f"the type of {what}")
    shots.take(page, "stage5-work-pools.png")
    return (
        f"stage 5: automation {', '.join(a.name for a in expected.automations)}; "
        f"work pools {', '.join(p.name for p in expected.work_pools)}"
    )


CHECKS: tuple[Callable[..., str], ...] = (
    check_runs,
    check_retries,
    check_rmse_history,
    check_training_runs,
    check_mlflow,
    check_deployments,
    check_blocks_and_trigger,
    check_automations_and_pools,
)


# --- running it ------------------------------------------------------------------------------


def _require_chromium() -> None:
    if not CHROMIUM.exists():
        raise UICheckFailed(install_hint())


@contextmanager
def browser_page() -> Iterator:
    """A headless Chromium page at the screenshots' size, that fetches nothing beyond the course server."""
    _require_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise UICheckFailed("Playwright is not installed in this environment: run `make setup`.") from None
    local = (config.current().ui_url, config.current().tracking_uri)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            context = browser.new_context(viewport={"width": VIEWPORT["width"], "height": VIEWPORT["height"]})
            # The UI asks a CDN for block logos; offline, the request would only hang until it fails.
            context.route(lambda url: not url.startswith(local), lambda route: route.abort())
            yield context.new_page()
        finally:
            browser.close()


def check_ui(screenshots: Path | None = None) -> list[str]:
    """Check every page against the API; save the screenshots into `screenshots` if given. Returns what passed."""
    _require_chromium()  # before anything else: there is no point reading the API without a browser
    cfg = config.current()
    if not server.healthy(cfg.api_url):
        raise UICheckFailed(
            f"The Prefect server is not running at {cfg.ui_url}: start it with `make server`, "
            "and run `make tour` if it has no runs yet."
        )
    expected = read_expected()
    shots = Screenshots(screenshots)
    passed = []
    from playwright.sync_api import Error as PlaywrightError

    with browser_page() as page:
        for check in CHECKS:
            try:
                passed.append(check(page, expected, shots))
            except PlaywrightError as error:  # a control the check needs is not there: one line, not a traceback
                first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                raise UICheckFailed(f"{check.__name__}: the UI at {page.url} did not let it go on ({first})") from None
            console.ok(passed[-1])
    return passed


def _run(screenshots: Path | None) -> None:
    console.step(f"Checking the Prefect UI at {config.current().ui_url} in Chromium (headless)")
    try:
        check_ui(screenshots)
    except UICheckFailed as exc:
        console.fail(str(exc))
        raise SystemExit(1) from None


def main_check() -> None:
    """`python -m coursekit ui-check`: every check; no screenshot is written."""
    _run(None)
    console.ok("The UI shows what the API says.")


def main_screenshots() -> None:
    """`python -m coursekit screenshots`: every check, then the pictures replace those in docs/screenshots/."""
    with tempfile.TemporaryDirectory(prefix="course-screenshots-") as tmp:
        _run(Path(tmp))  # into a temporary folder first: a failed check leaves the committed pictures as they were
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for name in SHOTS:
            shutil.move(Path(tmp) / name, SCREENSHOTS / name)
    console.ok(f"{len(SHOTS)} screenshots in {config.shown(SCREENSHOTS)}/: " + ", ".join(SHOTS))
