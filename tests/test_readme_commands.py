"""Every command the course's pages show is run by a test that says so with a marker.

A README command that nothing runs goes stale unnoticed; course notes written for Prefect 2 are full of
them. Each command in a fenced block of README.md, */README.md, */exercises/README.md and docs/*.md must be
named by a `@pytest.mark.readme("command", ...)` on a test that runs it, here or anywhere under tests/, or
be in NOT_HERE, which says why it cannot run here and which tests run the nearest thing. A marker that
names a command no page shows any more fails too, so markers and pages change together.

The markers are read from the test files' source with `ast` (tests/support/readme_commands.py): no test
module is imported, so this check takes milliseconds and cannot be skipped by a module that fails to
import. A test that runs a command in another form (another port, a state folder of its own for
.course/, the flow called with the command line's arguments) says how in the marker's `because`.
`make TARGET` counts as run when the test runs the course command the recipe runs: `make -n` ties
each target of the pages to that command (MAKE_RUNS).

Besides: every `prefect` command on the pages, inline ones too, must parse in the installed CLI; the
Prefect 2 -> 3 map in docs/prefect-2-to-3.md must hold for the installed Prefect; the messages
docs/troubleshooting.md quotes must be the ones the course prints; links between the pages must resolve.
"""

from __future__ import annotations

import json
import os
import re
import smtplib
import socket
import string
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml

from coursekit import config
from coursekit.config import REPO_ROOT
from coursekit.services import lifecycle, smtp
from tests.support import one_interpreter
from tests.support.readme_commands import (
    all_commands,
    code_spans,
    commands_in,
    learner_docs,
    linked_docs,
    markers_in,
    prefect_args,
    readme_markers,
    readmes,
    section,
    table_rows,
)
from tests.support.run import output, shell

COMMAND_MAP = REPO_ROOT / "docs" / "prefect-2-to-3.md"
TROUBLESHOOTING = REPO_ROOT / "docs" / "troubleshooting.md"
# Pages the README links to that are written on other branches; once one exists, its links are checked like
# any other, and its entry here must go.
WRITTEN_ELSEWHERE = {}
THIS_FILE = "tests/test_readme_commands.py"
STAGE_5 = "tests/e2e/test_stage5.py"


def top_readme() -> str:
    return (REPO_ROOT / "README.md").read_text()


def troubleshooting() -> str:
    return TROUBLESHOOTING.read_text()


@dataclass(frozen=True)
class NotHere:
    """A command no test can run here: why, and the tests that run the nearest thing."""

    why: str
    nearest: tuple[str, ...]


NOT_HERE: dict[str, NotHere] = {
    # Not a marker on a test that runs `make -n test`: a dry run shows the recipe, it runs nothing, and a
    # test cannot run the suite it belongs to. The recipe is checked by the make test below.
    "make test": NotHere(
        "it is the suite itself, which .ci/run runs on a fresh machine",
        (f"{THIS_FILE}::test_make_targets_of_the_pages_run_the_course_commands",),
    ),
    "make test-fast": NotHere(
        "it is the suite itself less its end-to-end tests, which .ci/run runs whole on a fresh machine",
        (f"{THIS_FILE}::test_make_targets_of_the_pages_run_the_course_commands",),
    ),
    "make bench": NotHere(
        "minutes long by design: it tours every stage from cold, and timing goals stay out of the tests",
        (
            "tests/unit/test_trip_model.py::test_validation_rmse_on_real_january_to_february_is_at_most_4_6_minutes",
            "tests/e2e/test_stage2.py::test_an_unchanged_rerun_serves_the_prepared_features_from_cache",
            "tests/e2e/test_tour.py::test_the_tour_ends_with_its_summary_table",
        ),
    ),
    "rm .venv/.installed && make setup": NotHere(
        "it reinstalls the packages of the .venv the tests run in; .ci/run runs make setup on a fresh machine",
        (f"{THIS_FILE}::test_make_targets_of_the_pages_run_the_course_commands",),
    ),
    "prefect --profile course-cloud work-pool create course-managed --type prefect:managed": NotHere(
        "needs a Prefect Cloud account: a managed pool exists only there",
        (f"{STAGE_5}::test_an_unreachable_cloud_is_a_clear_error_and_the_key_is_never_printed",),
    ),
    "prefect --profile course-cloud --no-prompt deploy --all --prefect-file 05_cloud/prefect.cloud.yaml": NotHere(
        "needs a Prefect Cloud account; the file is checked instead (it parses, loads its flow, pins the lock)",
        (f"{STAGE_5}::test_the_managed_pool_file_loads_and_pins_the_locked_versions",),
    ),
    "prefect --profile course-cloud deployment run taxi-training/taxi-managed --watch": NotHere(
        "needs a Prefect Cloud account; the local path runs the same flow on a process worker",
        ("tests/e2e/test_tour.py::test_stage_5_emails_on_both_run_ends_and_shares_the_runs_between_two_workers",),
    ),
}


# --- finding the commands, and the tests that run them ------------------------------------------------


def test_commands_are_read_as_a_learner_would_paste_them():
    markdown = """
```bash
# a comment line
make stage-1            # a trailing comment
export A="x # not a comment"
python 02_workflow/orchestrate.py \\
    --train 2023-01
```
```console
$ prefect version
Version: 3.8.8
```
```
flow run  task run
make stage-2
```
```python
print("not a command")
```
```text
    make stage-1 COURSE_SERVER_PORT=4201
```
"""
    assert [c.text for c in commands_in(markdown)] == [
        "make stage-1",
        'export A="x # not a comment"',
        "python 02_workflow/orchestrate.py --train 2023-01",
        "prefect version",
        "make stage-2",
    ]
    assert prefect_args("cd 01_intro && prefect --no-prompt --profile p deploy --all") == [["deploy", "--all"]]


def test_markers_are_read_from_the_source_of_the_tests():
    source = """
import pytest
from pytest import mark

pytestmark = [pytest.mark.e2e, pytest.mark.readme("make stage-9")]


@pytest.mark.readme("make check-9", "python   09_x/a.py", because="with a port of its own")
@pytest.mark.parametrize("n", [1, pytest.param(2, marks=pytest.mark.readme("make b"))])
def test_one(n):
    pytest.mark.readme("make c")


class TestGroup:
    @mark.readme("make d")
    def test_two(self):
        pass


@pytest.mark.readme(COMMAND)
def test_three():
    pass


@pytest.mark.readme("make e")
def helper():
    pass


readme = pytest.mark.readme
"""
    found = markers_in(source, "tests/test_x.py")
    assert [(m.test, m.commands, m.because) for m in found.found] == [
        ("tests/test_x.py", ("make stage-9",), ""),
        ("tests/test_x.py::test_one", ("make check-9", "python 09_x/a.py"), "with a port of its own"),
        ("tests/test_x.py::test_one", ("make b",), ""),
        ("tests/test_x.py::TestGroup::test_two", ("make d",), ""),
    ]
    assert found.tests == {
        "tests/test_x.py",
        "tests/test_x.py::test_one",
        "tests/test_x.py::TestGroup",
        "tests/test_x.py::TestGroup::test_two",
        "tests/test_x.py::test_three",
    }
    assert [problem.split(": ", 1) for problem in found.problems] == [
        ["tests/test_x.py:11", "a readme marker inside a function or class body is not read: put it on the test"],
        ["tests/test_x.py:20", 'a readme marker takes the commands as plain strings and, optionally, because="..."'],
        ["tests/test_x.py:25", "helper is not a test: a readme marker belongs on the test that runs the commands"],
        ["tests/test_x.py:30", "write @pytest.mark.readme(...) where it marks a test, not through a name"],
    ]


def test_every_readme_marker_is_plain_and_on_a_test():
    problems = readme_markers().problems
    assert not problems, "readme markers that this check cannot read:\n  " + "\n  ".join(problems)


def test_every_command_of_the_pages_is_run_by_a_marked_test():
    found = all_commands()
    assert {str(p.relative_to(REPO_ROOT)) for p in readmes()} <= {c.readme for c in found}, "a README without commands?"
    marked = {command for marker in readme_markers().found for command in marker.commands}
    missing = [str(c) for c in found if c.text not in marked and c.text not in NOT_HERE]
    assert not missing, (
        "Commands on the pages that no test runs. Mark the test that runs each with "
        '@pytest.mark.readme("<the command as the page shows it>"), put it in NOT_HERE in '
        f"{THIS_FILE} with the reason it cannot run here, or fix the page:\n  " + "\n  ".join(missing)
    )


def test_every_readme_marker_names_a_command_a_page_shows():
    shown = {c.text for c in all_commands()}
    stale = [
        f"{marker}: `{command}`"
        for marker in readme_markers().found
        for command in marker.commands
        if command not in shown
    ]
    assert not stale, (
        "readme markers name commands that no page shows (any more). Change the marker to the command as the "
        "page shows it, or remove it with the command:\n  " + "\n  ".join(stale)
    )


def test_each_command_that_cannot_run_here_says_why_and_names_the_nearest_tests():
    markers = readme_markers()
    shown = {c.text for c in all_commands()}
    marked = {command: marker for marker in markers.found for command in marker.commands}
    wrong = []
    for command, entry in NOT_HERE.items():
        if command not in shown:
            wrong.append(f"`{command}`: no page shows it any more; remove it from NOT_HERE")
        if command in marked:
            wrong.append(f"`{command}`: {marked[command]} runs it, so it does not belong in NOT_HERE")
        if not entry.why or not entry.nearest:
            wrong.append(f"`{command}`: say why it cannot run here and which tests run the nearest thing")
        wrong += [f"`{command}`: there is no test {test}" for test in entry.nearest if test not in markers.tests]
    assert not wrong, "\n".join(wrong)


# --- make -----------------------------------------------------------------------------------------

# What `make -n TARGET` must print for each target the pages run: the course command the tests run (in order).
MAKE_RUNS: dict[str, str | tuple[str, ...]] = {
    **{f"stage-{n}": f"-m coursekit stage {n}" for n in range(1, 6)},
    **{f"check-{n}": f"-m coursekit check {n}" for n in range(1, 6)},
    "server": "-m coursekit server",
    "stop": "-m coursekit stop",
    "status": "-m coursekit status",
    "ui": "-m coursekit ui",
    "s3": "-m coursekit s3",
    "facts": "-m coursekit facts",
    "smtp": "-m coursekit smtp",
    "mlflow": "-m coursekit mlflow",
    "worker": "-m coursekit worker --pool course-pool",
    "image": "-m coursekit image",
    "hint": "-m coursekit hint",
    "progress": "-m coursekit progress",
    "watch": "-m coursekit watch",
    "env": "-m coursekit env",
    "tour": "-m coursekit tour",
    "ui-walkthrough": "-m coursekit ui-walkthrough",
    "bench": "-m coursekit bench",
    "postgres": "-m coursekit.services.postgres",
    "test": ("ruff check", "mypy", "-m pytest"),
    "test-fast": ("ruff check", "mypy", '-m pytest -n 2 --dist loadfile -m "not e2e"'),
    "help": "grep -E",
    "setup": "uv pip sync",
}
# `make -n setup` prints nothing while .venv matches the lock: -W makes make take the lock as changed.
MAKE_AS_IF = {"setup": "-W requirements/course.lock"}


def make_targets_on_the_pages() -> list[str]:
    targets = set()
    for command in all_commands():
        for part in re.split(r"&&|;|\$\(|\)|\"", command.text):
            words = part.split()
            if words and words[0] == "make":
                targets |= {w for w in words[1:] if not w.startswith("-") and "=" not in w}
    return sorted(targets)


@pytest.mark.parametrize("target", make_targets_on_the_pages())
def test_make_targets_of_the_pages_run_the_course_commands(target):
    assert target in MAKE_RUNS, f"make {target}: add what it runs to MAKE_RUNS and a test that runs that"
    dry = shell(f"command make -n {MAKE_AS_IF[target]} {target}" if target in MAKE_AS_IF else f"make -n {target}")
    assert dry.returncode == 0, output(dry)
    expected = MAKE_RUNS[target]
    parts = [expected] if isinstance(expected, str) else list(expected)
    assert re.search(".*".join(map(re.escape, parts)), dry.stdout, flags=re.DOTALL), output(dry)


@pytest.mark.readme("make help")
def test_make_help_lists_every_target_of_the_readme():
    done = shell("make help")
    assert done.returncode == 0, output(done)
    table = section(top_readme(), "Make targets")
    listed = re.findall(r"^\| `make ([\w-]+)`", table, flags=re.MULTILINE)
    targets = [t.replace("-N", f"-{n}") for t in listed for n in (range(1, 6) if t.endswith("-N") else [0])]
    assert len(targets) > 20
    missing = [t for t in targets if not re.search(rf"^  make {re.escape(t)}\s", done.stdout, flags=re.MULTILINE)]
    assert not missing, f"make help does not list {missing}:\n{done.stdout}"


@pytest.mark.e2e
@pytest.mark.readme("make status", "make server")
@pytest.mark.usefixtures("prefect_server")
def test_make_status_and_make_server_find_the_running_server():
    cfg = config.current()
    status = shell("make status")
    assert status.returncode == 0, output(status)
    assert re.search(rf"^prefect-server\s+pid \d+ on port {cfg.server_port}\s", status.stdout, re.MULTILINE), (
        status.stdout
    )
    server = shell("make server")
    assert server.returncode == 0 and f"✓ Prefect server already up at {cfg.ui_url}" in server.stdout, output(server)


@pytest.mark.e2e
@pytest.mark.readme("make ui")
@pytest.mark.usefixtures("prefect_server")
def test_make_ui_prints_the_address_of_the_running_server():
    # BROWSER=true: where a browser could open, `true URL` runs instead, so no window opens during the tests.
    done = shell("make ui", env={**os.environ, "BROWSER": "true"})
    assert done.returncode == 0, output(done)
    assert f"Prefect UI: {config.current().ui_url}" in done.stdout, output(done)


@pytest.mark.e2e
@pytest.mark.readme("make facts")
def test_make_facts_and_make_smtp_start_the_lessons_services_once():
    cfg = config.current()
    for _ in range(2):  # the second call finds each service running
        done = shell("make facts && make smtp")
        assert done.returncode == 0, output(done)
        assert f"✓ Local facts API up at {cfg.facts_url}" in done.stdout, output(done)
        assert f"✓ Local SMTP server up at {cfg.host}:{cfg.smtp_port}" in done.stdout, output(done)
    assert requests.get(f"{cfg.facts_url}/cat/fact", timeout=5).status_code in (200, 503)  # the flaky API
    with smtplib.SMTP(cfg.host, cfg.smtp_port, timeout=5) as client:
        assert client.noop()[0] == 250
    assert [lifecycle.status(name) is not None for name in ("facts-api", "smtp-server")] == [True, True]


@pytest.mark.e2e
@pytest.mark.readme('eval "$(make -s env)"')
@pytest.mark.usefixtures("prefect_server")
def test_eval_make_env_points_a_shell_at_the_course():
    cfg = config.current()
    # A shell as a learner opens it: the course's folder and ports, but no Prefect settings and no .venv.
    bare = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    bare["PATH"] = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if ".venv" not in p)
    done = shell(
        'eval "$(make -s env)"\ntype -P python prefect\necho "api=$PREFECT_API_URL"\nprefect config view\n'
        'prefect deployment run main-flow/taxi_local_data\necho "rc=$?"',
        env={**bare, "COLUMNS": "200"},
    )
    assert done.returncode == 0, output(done)
    venv_bin = Path(sys.executable).parent
    assert done.stdout.splitlines()[:3] == [str(venv_bin / "python"), str(venv_bin / "prefect"), f"api={cfg.api_url}"]
    assert f"PREFECT_API_URL='{cfg.api_url}' (from env)" in done.stdout, output(done)  # other commands: Prefect's
    # The videos' deployment name: one line with the course's command, exit 2, and Prefect never ran.
    assert done.stdout.splitlines()[-1] == "rc=2", output(done)
    assert done.stderr.strip().splitlines()[-1] == (
        '✗ "main-flow/taxi_local_data" is what the course videos type; here: lesson 4\'s deployment of the training '
        "flow. Run: prefect deployment run taxi-training/taxi_local_data   (docs/course-map.md maps every name)"
    ), output(done)


@pytest.mark.e2e
@pytest.mark.usefixtures("prefect_server")
def test_an_automation_created_twice_from_its_file_in_the_course_shell_is_replaced_not_doubled(tmp_path):
    from prefect import get_client

    automation = tmp_path / "hand-typed.yaml"
    automation.write_text(
        "name: hand-typed-automation\n"
        "trigger: {type: event, expect: [course.hand.typed], posture: Reactive, threshold: 1, within: 0}\n"
        "actions: [{type: do-nothing}]\n"
    )
    create = f'eval "$(make -s env)"\nprefect automation create --from-file {automation}'
    first, second = shell(create), shell(create)
    assert first.returncode == 0 and "Created automation" in first.stdout, output(first)
    assert second.returncode == 0, output(second)
    assert second.stderr.strip().startswith(
        "! An automation named 'hand-typed-automation' exists already: replacing it rather than adding a second one"
    ), output(second)
    with get_client(sync_client=True) as client:
        assert len(client.read_automations_by_name("hand-typed-automation")) == 1
    deleted = shell('eval "$(make -s env)"\nprefect automation delete hand-typed-automation')
    assert deleted.returncode == 0, output(deleted)  # one of that name: the name is enough
    with get_client(sync_client=True) as client:
        assert client.read_automations_by_name("hand-typed-automation") == []


def test_a_lesson_script_in_a_shell_not_pointed_at_the_course_says_so_in_one_line(tmp_path):
    bare = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    unset = shell(".venv/bin/python 02_workflow/classification.py", env={**bare, "PREFECT_HOME": str(tmp_path)})
    assert unset.returncode == 1, output(unset)
    assert unset.stderr.strip() == (
        "✗ This shell is not pointed at the course's Prefect server (PREFECT_API_URL is not set), so Prefect would "
        'start a throwaway one just for this script. Run eval "$(make -s env)" in this shell first.'
    ), output(unset)
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/api"
    scripts = (
        "02_workflow/classification.py",
        "03_deploy_local/serve.py",
        "04_deploy_s3/create_blocks.py",
        "05_cloud/create_email_block.py",
    )
    for script in scripts:
        down = shell(f".venv/bin/python {script}", env={**bare, "PREFECT_API_URL": url})
        assert down.returncode == 1, output(down)
        assert down.stderr.strip() == (
            f"✗ The Prefect server is not answering at {url}: start it, or point PREFECT_API_URL at one that runs."
        ), output(down)


@pytest.mark.e2e
@pytest.mark.readme("make worker", because="make worker POOL=...: a pool of the test's own, then the same command")
@pytest.mark.readme(
    "prefect deployment run 'taxi-training/taxi-default' --param val_month=2023-03 --watch",
    because="typed in the course's shell on a deployment of the test's own pool, before and after make worker; "
    "make stage-3 runs taxi-default with --param and --watch on its worker (tests/e2e/test_tour.py)",
)
@pytest.mark.usefixtures("prefect_server")
def test_a_deployment_run_typed_by_hand_says_when_no_worker_polls_its_pool_and_make_worker_starts_one():
    from prefect import get_client

    from coursekit.services import lifecycle, workers

    pool = "hand-typed-pool"  # a pool of this test's own: no stage's worker polls it
    workers.ensure_pool(pool)
    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name("hand-typed")
        client.create_deployment(flow_id=flow_id, name="no-worker", work_pool_name=pool, entrypoint="x.py:f")
    run_it = 'eval "$(make -s env)"\nprefect deployment run hand-typed/no-worker'
    waiting = shell(run_it)
    assert waiting.returncode == 0 and "Created flow run" in waiting.stdout, output(waiting)  # still created
    assert waiting.stderr.strip().splitlines()[0] == (
        "! No worker polls work pool 'hand-typed-pool': this run of hand-typed/no-worker will wait as Late until one "
        "does. Start one in the background with `make worker POOL=hand-typed-pool` (or `prefect worker start "
        "--pool hand-typed-pool`)."
    ), output(waiting)
    try:
        started = shell(f"make worker POOL={pool}")
        assert started.returncode == 0, output(started)
        assert f"Worker worker-{pool}-1 polls work pool {pool!r} in the background" in started.stdout, output(started)
        assert lifecycle.status(f"worker-{pool}-1") is not None
        deadline = time.time() + 30  # the pool turns READY on the worker's first heartbeat
        while (polled := shell(run_it)).stderr.strip() and time.time() < deadline:
            time.sleep(1)
        assert polled.returncode == 0 and polled.stderr.strip() == "", output(polled)
    finally:
        workers.stop_worker(pool)


@pytest.mark.readme(
    "make stage-1 COURSE_SERVER_PORT=4300",
    because="run as make -s env COURSE_SERVER_PORT=4300: make hands a variable on its command line to every "
    "target alike; stage-1 would start a second server there, env prints where the course points",
)
@pytest.mark.readme("export COURSE_SERVER_PORT=4300")
def test_a_port_given_to_make_or_exported_reaches_the_course():
    for script in ("make -s env COURSE_SERVER_PORT=4300", "export COURSE_SERVER_PORT=4300\nmake -s env"):
        done = shell(script)
        assert done.returncode == 0, output(done)
        assert "export PREFECT_API_URL=http://127.0.0.1:4300/api" in done.stdout, output(done)


def test_a_busy_port_is_reported_as_troubleshooting_quotes_it(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = shell(f"make server COURSE_SERVER_PORT={port}", env={**os.environ, "COURSE_STATE_DIR": str(tmp_path)})
    assert done.returncode != 0, output(done)
    quoted = troubleshooting_block("## Port 4200 is in use")
    # One pass: replacing 4201 first and then 4200 would also rewrite the new port when it starts with 4200.
    expected = re.sub(r"\b420([01])\b", lambda m: str(port + int(m.group(1))), quoted)
    assert expected in done.stderr, f"docs/troubleshooting.md quotes:\n{expected}\n{output(done)}"


@pytest.mark.e2e
@pytest.mark.usefixtures("prefect_server")
def test_a_pool_of_another_type_is_reported_as_troubleshooting_quotes_it():
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    from coursekit.services import workers

    pool = f"docker-pool-{time.monotonic_ns()}"
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=pool, type="docker"))
        try:
            with pytest.raises(lifecycle.ServiceError) as refused:
                workers.ensure_pool(pool)
        finally:
            client.delete_work_pool(pool)
    quoted = re.search(r"`(Work pool 'course-pool' exists with type[^`]*)`", troubleshooting())
    assert quoted and quoted.group(1).replace("course-pool", pool) in str(refused.value), str(refused.value)


# --- lesson commands --------------------------------------------------------------------------------


STAGES_WITH_EXERCISES = sorted(p.parent.parent.name for p in REPO_ROOT.glob("0*/exercises/exercises.yaml"))


# Each make check-N for real (about 20 s each): the checks are the exercise tests, but what the learner runs
# is this command, with its own pytest options and its summary, on their files.
@pytest.mark.e2e
@pytest.mark.readme("make check-1", "make check-2", "make check-3", "make check-4", "make check-5")
@pytest.mark.usefixtures("prefect_server")
@pytest.mark.parametrize("stage", STAGES_WITH_EXERCISES)
def test_make_check_n_reports_each_exercise_with_its_hint(stage):
    done = shell(f"make check-{int(stage[:2])}", timeout=300)
    exercises = yaml.safe_load((REPO_ROOT / stage / "exercises" / "exercises.yaml").read_text())
    assert f"Checking your exercises in {stage}/exercises/" in done.stdout, output(done)
    marks = {e["name"]: re.search(rf"^  ([✓✗]) {e['name']}\s", done.stdout, re.MULTILINE) for e in exercises}
    assert all(marks.values()), f"not every exercise is reported:\n{output(done)}"
    failing = [e for e in exercises if marks[e["name"]].group(1) == "✗"]
    # A failed check earns the first hint (and the second, after another failed check of the same file).
    assert all(f"hint 1: {e['hints'][0]}" in done.stdout for e in failing), output(done)
    assert (done.returncode == 0) == (not failing), output(done)
    # One count, of exercises: pytest's count of tests ("5 passed" for 4 exercises) is not printed.
    assert done.stdout.strip().splitlines()[-1] == (
        f"{len(exercises) - len(failing)} of {len(exercises)} exercises done (make progress shows them all)"
    )
    assert not re.search(r"\d+ (passed|failed)", done.stdout), output(done)


@pytest.mark.e2e
@pytest.mark.readme(
    'eval "$(make -s env)"', "python 02_workflow/orchestrate_pre_prefect.py --train 2023-01 --val 2023-02"
)
def test_the_plain_script_trains_offline_on_a_synthetic_month_with_the_quoted_notice(tmp_path):
    command = "python 02_workflow/orchestrate_pre_prefect.py --train 2023-01 --val 2023-02"
    offline = f"http://127.0.0.1:{lifecycle.free_port()}/trip-data"  # nothing answers: offline, at once
    env = {k: v for k, v in os.environ.items() if k != "COURSE_TLC_DIR"}
    env.update(TLC_BASE_URL=offline, COURSE_DATA_DIR=str(tmp_path / "data"), COURSE_MODELS_DIR=str(tmp_path / "models"))
    done = shell(f'eval "$(make -s env)"\n{command}', env=env)
    assert done.returncode == 0, output(done)
    assert re.fullmatch(r"rmse=\d+\.\d{5}", done.stdout.strip().splitlines()[-1]), output(done)
    from coursekit.lesson.taxi import DEFAULT_BASE_URL

    printed = done.stdout.replace(offline, DEFAULT_BASE_URL).replace(str(tmp_path), "…")
    quoted = troubleshooting_block("## Offline: a synthetic month instead of the TLC data")
    assert quoted in printed, f"docs/troubleshooting.md quotes:\n{quoted}\n{output(done)}"
    assert (tmp_path / "models" / "trip_duration.skops").is_file()


@pytest.mark.e2e
@pytest.mark.readme(
    "make s3",
    "export COURSE_S3_ENDPOINT_URL=aws",
    "export COURSE_S3_BUCKET=my-existing-bucket",
    "export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... AWS_DEFAULT_REGION=eu-west-1",
)
def test_real_s3_settings_are_read_and_make_s3_starts_the_local_endpoint():
    from coursekit.services import s3

    exports = [c.text for c in all_commands() if c.readme == "04_deploy_s3/README.md" and c.text.startswith("export ")]
    assert len(exports) == 3, exports
    settings = (
        "from coursekit.services import s3; s = s3.settings(); print(s.where, s.bucket, s.access_key_id, s.local)"
    )
    real = shell("\n".join([*exports, "make s3", f"{sys.executable} -c '{settings}'"]))
    assert real.returncode == 0, output(real)
    assert real.stdout.splitlines()[-2:] == [
        "COURSE_S3_ENDPOINT_URL points at AWS S3 (eu-west-1): no local endpoint needed.",
        "AWS S3 (eu-west-1) my-existing-bucket ... False",
    ], output(real)

    was_running = lifecycle.status(s3.SERVICE) is not None
    try:
        local = shell("make s3")
        assert local.returncode == 0, output(local)
        assert f"✓ Local S3 endpoint up at {s3.local_url()}, bucket 'prefect-course'" in local.stdout, output(local)
        assert lifecycle.answers(f"{s3.local_url()}/moto-api/")
    finally:
        if not was_running:
            lifecycle.stop(s3.SERVICE)


@pytest.mark.readme(
    '.venv/bin/python -c "from importlib.metadata import version; '
    "print('fastapi', version('fastapi'), 'prefect', version('prefect'))\""
)
def test_the_installed_fastapi_and_prefect_are_the_locked_ones():
    command = next(c.text for c in all_commands() if c.text.startswith(".venv/bin/python -c"))
    done = shell(command)
    assert done.returncode == 0, output(done)
    lock = (REPO_ROOT / "requirements" / "course.lock").read_text()
    pins = {name: re.search(rf"^{name}==([^\s;]+)", lock, re.MULTILINE).group(1) for name in ("fastapi", "prefect")}
    expected = f"fastapi {pins['fastapi']} prefect {pins['prefect']}"
    assert done.stdout.strip() == expected, output(done)
    assert f"It prints `{expected}`" in troubleshooting()


def in_one_interpreter(*commands: str, timeout: float = 300) -> list[tuple[int, str]]:
    """Run README commands in one interpreter (tests/support/one_interpreter.py): (exit code, output) each."""
    request = Path(config.current().state_dir) / f"readme-commands-{time.monotonic_ns()}.json"
    request.write_text(json.dumps({"run": list(commands)}))
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.one_interpreter", str(request), f"{request}.out"],
        cwd=REPO_ROOT,
        env={**os.environ, "COLUMNS": "200", "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    ran = one_interpreter.sections(done.stdout)
    assert len(ran) == len(commands), done.stdout
    return ran


@pytest.mark.e2e
@pytest.mark.readme(
    "prefect work-pool create course-pool --type process --overwrite",
    "prefect work-pool create course-scale --type process --overwrite",
    "python 05_cloud/create_email_block.py",
    "python 05_cloud/notify.py",
    "python 05_cloud/notify.py --val 2023-13",
    'python 05_cloud/send_email.py --subject "Hello" --body "From the course"',
    "prefect deployment inspect send-email/course-email",
    "prefect automation ls",
)
@pytest.mark.readme(
    "prefect automation create --from-file .course/automations/email-on-run-end.yaml",
    because=".course/ is the default COURSE_STATE_DIR; the test's course has a state folder of its own",
)
@pytest.mark.usefixtures("prefect_server")
def test_lesson_commands_in_one_interpreter():
    from prefect import get_client

    from coursekit.cli import automations

    sent_after = time.time()
    first = in_one_interpreter(
        "prefect work-pool create course-pool --type process --overwrite",
        "prefect work-pool create course-scale --type process --overwrite",
        # 05_cloud/README.md's "By hand", in its order: the block, the two hooked runs, a mail of your own.
        "python 05_cloud/create_email_block.py",
        "python 05_cloud/notify.py",
        "python 05_cloud/notify.py --val 2023-13",
        'python 05_cloud/send_email.py --subject "Hello" --body "From the course"',
        # Deployed as tests/exercises/test_stage5.py does it; make stage-5 deploys all of 05_cloud/prefect.yaml.
        "prefect --no-prompt deploy --prefect-file 05_cloud/prefect.yaml --name course-email",
        "prefect deployment inspect send-email/course-email",
    )
    # The run with 2023-13 fails on purpose, and the script exits 1 with one line saying why.
    assert [code for code, _ in first] == [0, 0, 0, 0, 1, 0, 0, 0], "\n\n".join(out for _, out in first)
    (_, pool), (_, scale), (_, block), _, (_, bad_month), _, _, (_, inspected) = first
    assert "course-pool" in pool and "course-scale" in scale
    assert "Saved block email-server-credentials/course-email" in block
    assert "✗ Flow 'notified-training' ended Failed" in bad_month and "'2023-13' is not a month" in bad_month
    with get_client(sync_client=True) as client:
        assert {client.read_work_pool(p).type for p in ("course-pool", "course-scale")} == {"process"}
        deployment_id = str(client.read_deployment_by_name("send-email/course-email").id)
    assert deployment_id in inspected, inspected
    subjects = [m.subject for m in smtp.received(sent_after)]
    for state in ("Completed", "Failed"):  # what the README's comments say each notify.py run mails
        assert any(s.startswith("[hook] notified-training run ") and s.endswith(f": {state}") for s in subjects), (
            subjects
        )
    mails = [m for m in smtp.received(sent_after) if m.subject == "Hello"]
    assert len(mails) == 1 and "From the course" in mails[0].first_lines, smtp.received(sent_after)

    # The automation file with the two values filled in, where make stage-5 puts it.
    cfg = config.current()
    source = REPO_ROOT / "05_cloud" / "email-on-run-end.yaml"
    filled = cfg.state_dir / "automations" / source.name
    filled.parent.mkdir(parents=True, exist_ok=True)
    filled.write_text(
        string.Template(source.read_text()).substitute(SEND_EMAIL_DEPLOYMENT_ID=deployment_id, COURSE_UI_URL=cfg.ui_url)
    )
    automations.delete("email-on-run-end")  # one left by an earlier test would make the name ambiguous
    second = in_one_interpreter(
        f"prefect automation create --from-file {filled}",
        "prefect automation ls",
        "prefect automation delete email-on-run-end",
    )
    assert [code for code, _ in second] == [0] * 3, "\n\n".join(out for _, out in second)
    assert "email-on-run-end" in second[1][1]
    with get_client(sync_client=True) as client:
        assert not client.read_automations_by_name("email-on-run-end")


# --- every prefect command parses; the command map holds -----------------------------------------

# Python names in the map: whether the pinned Prefect has them, and the map's words for them.
PYTHON_NAMES = {
    "prefect.deployments:Deployment": (False, "Deployment.build_from_flow"),
    "prefect.flows:Flow.deploy": (True, "main_flow.deploy(NAME, work_pool_name=POOL)"),
    "prefect.flows:Flow.serve": (True, "main_flow.serve(NAME)"),
    "prefect.flows:Flow.from_source": (True, "flow.from_source(REPO, ENTRYPOINT)"),
    "prefect.flows:Flow.run": (False, "`flow.run()`"),
    "prefect.projects": (False, "prefect.projects.steps.git_clone_project"),
    "prefect.deployments.steps:git_clone": (True, "prefect.deployments.steps.git_clone"),
    "prefect.agent:PrefectAgent": (False, "agents became workers"),
    "prefect.infrastructure:Process": (False, "`Process`"),
    "prefect.infrastructure:DockerContainer": (False, "`DockerContainer`"),
    "prefect.infrastructure:KubernetesJob": (False, "`KubernetesJob`"),
    "prefect.filesystems:S3": (False, "`prefect.filesystems:S3` has been removed"),
    "prefect.filesystems:GitHub": (False, "`GitHub`"),
    "prefect_aws.deployments.steps:pull_from_s3": (True, "`pull_from_s3`"),
    "prefect_aws:S3Bucket": (True, "prefect_aws.S3Bucket"),
    "prefect_aws:S3Bucket.download_object_to_path": (True, "S3Bucket.download_object_to_path"),
    "prefect_aws:S3Bucket.upload_from_path": (True, "S3Bucket.upload_from_path"),
    "prefect.blocks.system:String": (False, "`String`"),
    "prefect.blocks.system:JSON": (False, "`JSON`"),
    "prefect.variables:Variable.get": (True, 'Variable.get("NAME")'),
    "prefect.settings:PREFECT_ORION_API_PORT": (False, "PREFECT_ORION_API_PORT"),
    "prefect.settings:PREFECT_SERVER_API_PORT": (True, "PREFECT_SERVER_API_PORT"),
    "prefect.settings:PREFECT_API_DATABASE_CONNECTION_URL": (True, "the old name is still read"),
    "prefect.settings:PREFECT_SERVER_DATABASE_CONNECTION_URL": (True, "PREFECT_SERVER_DATABASE_CONNECTION_URL"),
    "prefect.task_runners:ConcurrentTaskRunner": (True, "ConcurrentTaskRunner"),
    "prefect.task_runners:ThreadPoolTaskRunner": (True, "ThreadPoolTaskRunner"),
    "prefect.task_runners:SequentialTaskRunner": (False, "SequentialTaskRunner"),
    "prefect_dask:DaskTaskRunner": (True, "DaskTaskRunner"),
    "prefect.tasks:task_input_hash": (True, "task_input_hash"),
    "prefect.cache_policies:TASK_SOURCE": (True, "INPUTS + TASK_SOURCE"),
}
# What the issue asked the map to cover; each must appear in it.
MAP_COVERS = [
    "prefect agent start -q",
    "prefect worker start -p",
    "prefect deployment build",
    "prefect deployment apply",
    "prefect deploy",
    "prefect.yaml",
    "Deployment.build_from_flow",
    "flow.deploy",
    "serve(",
    "prefect work-queue create",
    "prefect work-pool create",
    "storage blocks",
    "pull steps",
    "prefect deployment run",
    "prefect orion start",
    "prefect server start",
    "prefect block register",
    "prefect cloud login",
    "prefect profile",
    "prefect config set",
    "infrastructure blocks",
    "base job template",
    "prefect concurrency-limit create",
    "prefect automation create",
    "notifications",
    "flow.run()",
]
STATUSES = {"Gone", "Renamed", "Changed", "Same"}


def command_map() -> str:
    return COMMAND_MAP.read_text()


def map_rows() -> list[tuple[list[str], str, list[str]]]:
    """(Prefect 2 snippets, status, Prefect 3 snippets) of each row of the map."""
    rows = []
    for old, new in (row[:2] for row in table_rows(command_map())):
        status = re.match(r"\*\*(\w+)", new)
        rows.append((code_spans(old), status.group(1) if status else "", code_spans(new)))
    return rows


def prefect_snippets_outside_the_map() -> list[tuple[str, str, bool]]:
    """(README, `prefect ...` snippet, in a Prefect 2 -> 3 section) for every prefect command outside the map.

    Fenced and inline alike. A lesson's "Prefect 2 -> 3" section names old commands on purpose.
    """
    found = []
    for path in learner_docs():
        if path == COMMAND_MAP:
            continue
        markdown = path.read_text()
        readme = str(path.relative_to(REPO_ROOT))
        old_notes = "\n".join(section(markdown, h) for h in re.findall(r"^## (Prefect 2 → 3.*)$", markdown, re.M))
        fenced = [c.text for c in commands_in(markdown, readme)]
        inline = [span for span in code_spans(markdown) if span.startswith("prefect ")]
        found += [(readme, s, f"`{s}`" in old_notes) for s in fenced + inline if prefect_args(s)]
    return found


@pytest.fixture(scope="module")
def installed_prefect(tmp_path_factory) -> dict:
    """What the installed Prefect says about every snippet and name: one interpreter parses them all."""
    snippets = {s for _, s, _ in prefect_snippets_outside_the_map()}
    snippets |= {s for old, _, new in map_rows() for s in old + new if s.startswith("prefect ")}
    argument_lists = {s: args for s in snippets for args in prefect_args(s)}
    folder = tmp_path_factory.mktemp("installed-prefect")
    request = {"parse": list(argument_lists.values()), "names": list(PYTHON_NAMES)}
    (folder / "request.json").write_text(json.dumps(request))
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.one_interpreter", str(folder / "request.json"), str(folder / "out")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, output(done)
    result = json.loads((folder / "out").read_text())
    return {"parse": dict(zip(argument_lists, result["parse"], strict=True)), "names": result["names"]}


def test_every_prefect_command_on_the_pages_exists_in_the_installed_prefect(installed_prefect):
    gone_in_the_map = [s for old, status, _ in map_rows() if status in {"Gone", "Renamed"} for s in old]
    refused = []
    for readme, snippet, in_old_notes in prefect_snippets_outside_the_map():
        said = installed_prefect["parse"][snippet]
        # Prose may name an option without its value ("`prefect server start --host`"): that parses short.
        names_an_option = snippet.split()[-1].startswith("--") and said.startswith("MissingArgumentError")
        # A lesson's Prefect 2 -> 3 section names old commands: each must be one the map marks gone.
        named_as_gone = in_old_notes and any(old.startswith(snippet) for old in gone_in_the_map)
        if said != "ok" and not names_an_option and not named_as_gone:
            refused.append(f"{readme}: `{snippet}`: {said}")
    assert not refused, "The pinned Prefect refuses these README commands:\n  " + "\n  ".join(refused)


def test_the_command_map_holds_for_the_installed_prefect(installed_prefect):
    text = command_map()
    assert not [c for c in MAP_COVERS if c not in text], (
        f"the map leaves out {[c for c in MAP_COVERS if c not in text]}"
    )
    rows = map_rows()
    assert len(rows) > 25
    wrong = []
    for old, status, new in rows:
        if status not in STATUSES:
            wrong.append(f"{old}: the Prefect 3 cell must start with one of {sorted(STATUSES)} in bold")
        for snippet in [s for s in new if s.startswith("prefect ")]:
            if installed_prefect["parse"][snippet] != "ok":
                wrong.append(f"`{snippet}`: {installed_prefect['parse'][snippet]}")
        for snippet in [s for s in old if s.startswith("prefect ")]:
            said = installed_prefect["parse"][snippet]
            refused = said.startswith(("UnknownCommandError", "UnknownOptionError"))
            if refused != (status in {"Gone", "Renamed"}):
                wrong.append(f"`{snippet}` is marked {status}, and the pinned Prefect says: {said}")
    assert not wrong, "The command map disagrees with the installed Prefect:\n  " + "\n  ".join(wrong)


@pytest.mark.parametrize("name", list(PYTHON_NAMES))
def test_the_python_names_of_the_command_map_exist_or_are_gone_as_it_says(installed_prefect, name):
    exists, words = PYTHON_NAMES[name]
    assert words in command_map(), f"the map does not mention {words!r} ({name})"
    said = installed_prefect["names"][name]
    assert (said == "ok") == exists, f"{name}: the map says it {'exists' if exists else 'is gone'}; Python: {said}"


# --- troubleshooting and links -------------------------------------------------------------------


def troubleshooting_block(heading: str) -> str:
    """The first ```text block under a troubleshooting heading: the message a learner sees."""
    text = troubleshooting()
    after = text[text.index(heading) :]
    return re.search(r"```text\n(.*?)\n```", after, flags=re.DOTALL).group(1)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_between_the_pages_point_at_files_and_headings_that_exist():
    broken = []
    for path in linked_docs():
        for target, anchor in re.findall(r"\]\(([^)\s#]*)(?:#([^)\s]+))?\)", path.read_text()):
            if re.match(r"\w+://", target):
                continue
            linked = (path.parent / target).resolve() if target else path
            pending = linked.is_relative_to(REPO_ROOT) and str(linked.relative_to(REPO_ROOT)) in WRITTEN_ELSEWHERE
            if pending and not linked.exists() and not anchor:
                continue
            if not linked.exists():
                broken.append(f"{path.relative_to(REPO_ROOT)}: {target} does not exist")
            elif anchor and linked.suffix == ".md":
                headings = re.findall(r"^#+ (.+)$", linked.read_text(), flags=re.MULTILINE)
                if anchor not in {slug(h) for h in headings}:
                    broken.append(f"{path.relative_to(REPO_ROOT)}: no heading #{anchor} in {target or path.name}")
    assert not broken, "\n".join(broken)


def test_the_pages_written_elsewhere_are_still_missing_here():
    arrived = [page for page in WRITTEN_ELSEWHERE if (REPO_ROOT / page).exists()]
    assert not arrived, f"{arrived} exist now: remove them from WRITTEN_ELSEWHERE, so their links are checked"
