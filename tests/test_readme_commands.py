"""Every command the READMEs show is exercised: run by this file, or by a named test or the tour.

A README command that nothing runs goes stale unnoticed; course notes written for Prefect 2 are full of
them. Each command in a fenced block of README.md, */README.md and */exercises/README.md must be in
EXERCISED, which says how:
- Here: a test in this file runs it and checks what it did;
- Elsewhere: the stage runners or other tests run it; each file named must still hold the command's
  distinctive parts, so the entry cannot rot while the code moves on;
- NotHere: it cannot run here (Prefect Cloud, a benchmark of minutes): why, and the files that run the
  nearest thing, checked the same way.
A command run in another form (another port, the test's state folder for .course/) says so in `runs`
and `because`. `make TARGET` is tied to the course command it runs by `make -n` (MAKE_RUNS).

Besides: every `prefect` command in the READMEs, inline ones too, must parse in the installed CLI; the
Prefect 2 -> 3 map in README.md must hold for the installed Prefect; the messages the troubleshooting
section quotes must be the ones the course prints; links between the READMEs must resolve.
"""

from __future__ import annotations

import json
import os
import re
import socket
import string
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from coursekit import config, services, smtp
from coursekit.config import REPO_ROOT
from tests.support import one_interpreter
from tests.support.readme_commands import (
    all_commands,
    code_spans,
    commands_in,
    prefect_args,
    readmes,
    section,
    table_rows,
)
from tests.support.run import output

MAP_HEADING = "Prefect 2 → 3: the command map"
TROUBLESHOOTING = "Troubleshooting"


def top_readme() -> str:
    return (REPO_ROOT / "README.md").read_text()


@dataclass(frozen=True)
class Here:
    """Run by `test` in this file; `runs` is the command as the test runs it when it differs."""

    test: str
    runs: str = ""
    because: str = ""


@dataclass(frozen=True)
class Elsewhere:
    """Run by the files named; each must still contain its tokens."""

    evidence: dict[str, tuple[str, ...]]
    note: str = ""


@dataclass(frozen=True)
class NotHere:
    """Cannot run here, for the reason given; `nearest` runs the nearest thing and must hold its tokens."""

    why: str
    nearest: dict[str, tuple[str, ...]]


STAGE_TESTS = {n: f"tests/e2e/test_stage{n}.py" for n in range(1, 6)}
STAGE_RUNNERS = {n: f"coursekit/stages/stage{n}.py" for n in range(1, 6)}
CHECK = ("coursekit/__main__.py", ("def cmd_check", "--exercises=learner", 'f"test_stage{args.number}.py"'))
CLOUD = "coursekit/cloud.py"
SAME_AS_CHECK_1 = "the same command as make check-1, which this file runs, for another stage's tests"


def stage(n: int, *more: tuple[str, tuple[str, ...]]) -> Elsewhere:
    """`make stage-N`: `python -m coursekit stage N`, which the stage's end-to-end test runs."""
    return Elsewhere({STAGE_TESTS[n]: (f'"coursekit", "stage", "{n}"',), **dict(more)})


def check(n: int) -> Elsewhere:
    """`make check-N`: `python -m coursekit check N`, pytest on the stage's exercise tests with your files."""
    folder = next(p.parent.parent.name for p in REPO_ROOT.glob(f"0{n}_*/exercises/exercises.yaml"))
    return Elsewhere(
        {f"tests/exercises/test_stage{n}.py": (f'@pytest.mark.exercise("{folder}"',), CHECK[0]: CHECK[1]},
        note=SAME_AS_CHECK_1,
    )


EXERCISED: dict[str, Here | Elsewhere | NotHere] = {
    # --- the top README ------------------------------------------------------------------------------
    "make tour": Elsewhere(
        {
            "coursekit/__main__.py": ("stages.tour()",),
            "coursekit/stages/__init__.py": ("def tour(", "for number in STAGES", "run_stage(number)"),
            **{STAGE_TESTS[n]: (f'"coursekit", "stage", "{n}"',) for n in range(1, 6)},
        },
        note="the tour is the five stage runners in order; each one's end-to-end test runs it",
    ),
    "make test": Elsewhere({".ci/run": ("make test",), "Makefile": ("test: lint", "-m pytest")}),
    'eval "$(make -s env)"': Here("test_eval_make_env_points_a_shell_at_the_course"),
    "make bench": NotHere(
        "minutes long by design: it tours every stage from cold, and timing goals stay out of the tests",
        {
            "coursekit/bench.py": ("def compute(", "def whole_run(", "def tour_cold("),
            "tests/unit/test_trip_model.py": ("trip_model",),
            "tests/e2e/test_stage2.py": ('"02_workflow/orchestrate.py", "--train"',),
        },
    ),
    "make help": Here("test_make_help_lists_every_target_of_the_readme"),
    "make stage-1 COURSE_SERVER_PORT=4300": Here(
        "test_a_port_given_to_make_or_exported_reaches_the_course",
        runs="make -s env COURSE_SERVER_PORT=4300",
        because="make hands a variable on its command line to every target alike; stage-1 would start a "
        "second server there, env prints where the course points",
    ),
    "export COURSE_SERVER_PORT=4300": Here("test_a_port_given_to_make_or_exported_reaches_the_course"),
    "make status": Here("test_make_status_and_make_server_find_the_running_server"),
    "make server": Here("test_make_status_and_make_server_find_the_running_server"),
    ".venv/bin/python -c \"from importlib.metadata import version; print('fastapi', version('fastapi'), "
    "'prefect', version('prefect'))\"": Here("test_the_installed_fastapi_and_prefect_are_the_locked_ones"),
    "rm .venv/.installed && make setup": NotHere(
        "it reinstalls the packages of the .venv the tests run in; a fresh machine runs the same recipe",
        {"Makefile": ("$(STAMP): requirements/course.lock", "uv pip sync"), ".ci/run": ("make setup",)},
    ),
    "make s3": Here("test_real_s3_settings_are_read_and_make_s3_starts_the_local_endpoint"),
    "export COURSE_TLC_DIR=/folder/with/tlc/files": Elsewhere(
        {
            "tests/unit/test_taxi.py": ('"COURSE_TLC_DIR"', "def test_mirror_is_copied_without_touching_it"),
            ".ci/run": ("export COURSE_TLC_DIR",),
        }
    ),
    # --- 01_intro ------------------------------------------------------------------------------------
    "make stage-1": stage(1, (STAGE_RUNNERS[1], ('"01_intro/cat_facts.py"', '"01_intro/cat_dog_facts.py"'))),
    "python 01_intro/cat_facts.py": Elsewhere(
        {STAGE_TESTS[1]: ('"python", "01_intro/cat_facts.py"',), STAGE_RUNNERS[1]: ('"01_intro/cat_facts.py"',)}
    ),
    "prefect work-pool create course-pool --type process --overwrite": Here("test_lesson_commands_in_one_interpreter"),
    "cd 01_intro && prefect --no-prompt deploy --all": Elsewhere(
        {"tests/e2e/test_deploy_files.py": ('"--no-prompt", "deploy", "--all"', '"01_intro"', "cwd=REPO_ROOT / stage")}
    ),
    "make check-1": Here("test_make_check_1_reports_each_exercise_with_its_hint"),
    # --- 02_workflow ---------------------------------------------------------------------------------
    "make stage-2": stage(2, (STAGE_RUNNERS[2], ('"02_workflow/orchestrate.py"', '"02_workflow/classification.py"'))),
    "python 02_workflow/orchestrate.py --train 2023-03 --val 2023-04": Elsewhere(
        {
            STAGE_TESTS[2]: ('"python", "02_workflow/orchestrate.py", "--train"', '"--val"', "rmse="),
            STAGE_RUNNERS[2]: ('"02_workflow/orchestrate.py", "--train", "2023-01", "--val", "2023-02"',),
            "tests/unit/test_taxi.py": ("def test_failed_download_falls_back_to_a_synthetic_month",),
        },
        note="other months, the same command line: a month not in data/ is downloaded, or synthesised offline",
    ),
    "python 02_workflow/orchestrate_pre_prefect.py --train 2023-01 --val 2023-02": Here(
        "test_the_plain_script_trains_offline_on_a_synthetic_month_with_the_readme_notice"
    ),
    "make check-2": check(2),
    # --- 03_deploy_local -----------------------------------------------------------------------------
    "make stage-3": stage(3, (STAGE_RUNNERS[3], ('"03_deploy_local/prefect.yaml"', "taxi-training/taxi-from-git"))),
    "python 03_deploy_local/serve.py": Elsewhere({STAGE_TESTS[3]: ('"03_deploy_local/serve.py"',)}),
    "prefect deployment run 'taxi-training/taxi-served'": Elsewhere(
        {
            STAGE_TESTS[3]: ('"taxi-training/taxi-served"', "run_deployment("),
            "tests/e2e/test_stage5_server.py": ('prefect("deployment", "run"', '"--watch"'),
        },
        note="test_stage3 runs the served deployment; the CLI form is run against a server on PostgreSQL",
    ),
    "make check-3": check(3),
    # --- 04_deploy_s3 --------------------------------------------------------------------------------
    "make stage-4": stage(4, (STAGE_RUNNERS[4], ('"04_deploy_s3/create_blocks.py"', '"04_deploy_s3/prefect.yaml"'))),
    "prefect block register -m prefect_aws": Elsewhere(
        {STAGE_TESTS[4]: ('prefect("block", "register", "-m", "prefect_aws")',)}
    ),
    "prefect block type ls": Elsewhere({STAGE_TESTS[4]: ('prefect("block", "type", "ls")',)}),
    "prefect block ls": Elsewhere({STAGE_TESTS[4]: ('prefect("block", "ls")',), STAGE_RUNNERS[4]: ('"block", "ls"',)}),
    "export COURSE_S3_ENDPOINT_URL=aws": Here("test_real_s3_settings_are_read_and_make_s3_starts_the_local_endpoint"),
    "export COURSE_S3_BUCKET=my-existing-bucket": Here(
        "test_real_s3_settings_are_read_and_make_s3_starts_the_local_endpoint"
    ),
    "export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... AWS_DEFAULT_REGION=eu-west-1": Here(
        "test_real_s3_settings_are_read_and_make_s3_starts_the_local_endpoint"
    ),
    "make check-4": check(4),
    # --- 05_cloud ------------------------------------------------------------------------------------
    "make stage-5": stage(5, (STAGE_RUNNERS[5], ('"05_cloud/create_email_block.py"', '"05_cloud/prefect.yaml"'))),
    "prefect deployment inspect send-email/course-email": Here("test_lesson_commands_in_one_interpreter"),
    "prefect automation create --from-file .course/automations/email-on-run-end.yaml": Here(
        "test_lesson_commands_in_one_interpreter",
        runs="prefect automation create --from-file $COURSE_STATE_DIR/automations/email-on-run-end.yaml",
        because=".course/ is the default COURSE_STATE_DIR; the test's course has a state folder of its own",
    ),
    "prefect automation ls": Here("test_lesson_commands_in_one_interpreter"),
    "python 05_cloud/create_email_block.py": Here("test_lesson_commands_in_one_interpreter"),
    "python 05_cloud/notify.py": Elsewhere(
        {"tests/e2e/test_stage5_notify.py": ('"05_cloud/notify.py"', 'train_month="2023-01", val_month="2023-02"')},
        note="the test calls the flow that the script's command line runs, with the command line's defaults",
    ),
    "python 05_cloud/notify.py --val 2023-13": Elsewhere(
        {"tests/e2e/test_stage5_notify.py": ('val_month="2023-13"',), "05_cloud/notify.py": ('"--val"',)},
        note="the test calls the flow with the month that --val passes it",
    ),
    'python 05_cloud/send_email.py --subject "Hello" --body "From the course"': Here(
        "test_lesson_commands_in_one_interpreter"
    ),
    "prefect work-pool create course-scale --type process --overwrite": Here("test_lesson_commands_in_one_interpreter"),
    "prefect worker start --pool course-scale --name worker-course-scale-1 --limit 1": Elsewhere(
        {
            "coursekit/workers.py": ('"worker", "start", "--pool"', '"--name"', '"--limit"'),
            STAGE_RUNNERS[5]: ('SCALE_POOL = "course-scale"', "limit=1"),
            STAGE_TESTS[5]: ("worker-course-scale-1",),
        }
    ),
    "prefect worker start --pool course-scale --name worker-course-scale-2 --limit 1": Elsewhere(
        {
            "coursekit/workers.py": ('"worker", "start", "--pool"', '"--name"', '"--limit"'),
            STAGE_TESTS[5]: ("worker-course-scale-2",),
        }
    ),
    "python 05_cloud/sweep.py": Elsewhere(
        {STAGE_RUNNERS[5]: ('run_script("05_cloud/sweep.py")',), "tests/e2e/test_stage5_sweep.py": ("LocalCluster",)}
    ),
    "python 05_cloud/sweep.py --sequential": Elsewhere(
        {"tests/e2e/test_stage5_sweep.py": ("sequential=True",), "05_cloud/sweep.py": ('"--sequential"',)}
    ),
    "python 05_cloud/sweep.py --address tcp://HOST:8786": Elsewhere(
        {"tests/e2e/test_stage5_sweep.py": ('"05_cloud/sweep.py", "--address"', "cluster.scheduler_address")}
    ),
    "make postgres": Elsewhere({"tests/e2e/test_stage5_server.py": ('"python", "-m", "coursekit.postgres"',)}),
    'export COURSE_DATABASE_URL="$(.venv/bin/python -m coursekit.postgres url)"': Elsewhere(
        {"tests/e2e/test_stage5_server.py": ('"-m", "coursekit.postgres", "url"', '"COURSE_DATABASE_URL"')}
    ),
    "make stop && make server": Elsewhere(
        {
            "tests/e2e/test_lifecycle.py": ('"coursekit", "stop"', '"coursekit", "server"'),
            "tests/e2e/test_stage5_server.py": ('"coursekit", "stop"', '"coursekit", "server"'),
        },
        note="on a course of the test's own: stopping the session's server would end the other tests",
    ),
    "export COURSE_SERVER_AUTH=admin:change-me": Elsewhere(
        {
            "tests/e2e/test_stage5_server.py": ("COURSE_SERVER_AUTH=LOGIN",),
            "coursekit/config.py": ("COURSE_SERVER_AUTH",),
        }
    ),
    "export PREFECT_API_KEY=pnu_...": Elsewhere(
        {STAGE_TESTS[5]: ('"PREFECT_API_KEY"',), CLOUD: ('"PREFECT_API_KEY"',)}
    ),
    "export COURSE_CLOUD_WORKSPACE=my-account/my-ws": Elsewhere(
        {STAGE_TESTS[5]: ('"COURSE_CLOUD_WORKSPACE", "my-account/my-ws"',), CLOUD: ('"COURSE_CLOUD_WORKSPACE"',)}
    ),
    "export COURSE_CLOUD_GIT_URL=https://github.com/YOU/THIS-REPO.git": Elsewhere(
        {STAGE_TESTS[5]: ('"COURSE_CLOUD_GIT_URL"',), CLOUD: ('"COURSE_CLOUD_GIT_URL"',)}
    ),
    "make stage-5 TARGET=cloud": Elsewhere(
        {STAGE_TESTS[5]: ('["make", "-n", "stage-5", "TARGET=cloud"]', 'setenv("COURSE_TARGET", "cloud")')}
    ),
    "prefect profile create course-cloud": Elsewhere(
        {CLOUD: ('"profile", "create", PROFILE', 'PROFILE = "course-cloud"'), STAGE_TESTS[5]: ("cloud.deploy()",)},
        note="test_stage5 runs the cloud path against a Cloud address where nothing answers",
    ),
    "prefect --profile course-cloud cloud login -k $PREFECT_API_KEY -w $COURSE_CLOUD_WORKSPACE": Elsewhere(
        {
            CLOUD: ('"cloud",\n        "login",\n        "-k"',),
            STAGE_TESTS[5]: ("cloud login -k **** -w my-account/my-ws",),
        },
        note="run against a Cloud address where nothing answers: the login fails, as it must, and says so",
    ),
    "prefect --profile course-cloud work-pool create course-managed --type prefect:managed": NotHere(
        "needs a Prefect Cloud account: a managed pool exists only there",
        {CLOUD: ('"work-pool", "create", POOL, "--type", "prefect:managed"', 'POOL = "course-managed"')},
    ),
    "prefect --profile course-cloud --no-prompt deploy --all --prefect-file 05_cloud/prefect.cloud.yaml": NotHere(
        "needs a Prefect Cloud account; the file is checked instead (it parses, loads its flow, pins the lock)",
        {
            CLOUD: ('"--no-prompt", "deploy", "--all", "--prefect-file", PREFECT_FILE',),
            STAGE_TESTS[5]: ("def test_the_managed_pool_file_loads_and_pins_the_locked_versions",),
        },
    ),
    "prefect --profile course-cloud deployment run taxi-training/taxi-managed --watch": NotHere(
        "needs a Prefect Cloud account; the local path runs the same flow on a process worker",
        {
            CLOUD: ('"deployment", "run", DEPLOYMENT, "--watch"', 'DEPLOYMENT = "taxi-training/taxi-managed"'),
            STAGE_TESTS[5]: ('summary["states"]["notified-local"] == "Completed"',),
        },
    ),
    "make check-5": check(5),
}


# --- finding the commands ---------------------------------------------------------------------------


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


def test_every_readme_command_is_exercised():
    found = all_commands()
    assert {c.readme for c in found} == {str(p.relative_to(REPO_ROOT)) for p in readmes()}, "a README without commands?"
    missing = [str(c) for c in found if c.text not in EXERCISED]
    assert not missing, (
        "README commands that no test runs. Run each in a test (here or elsewhere) and add it to EXERCISED in "
        "tests/test_readme_commands.py, or fix the README:\n  " + "\n  ".join(missing)
    )


def test_every_entry_is_a_command_a_readme_shows():
    shown = {c.text for c in all_commands()}
    stale = sorted(set(EXERCISED) - shown)
    assert not stale, f"EXERCISED names commands that no README shows any more (remove them): {stale}"


def _evidence() -> list[tuple[str, str, tuple[str, ...]]]:
    cases = []
    for command, how in EXERCISED.items():
        files = how.evidence if isinstance(how, Elsewhere) else how.nearest if isinstance(how, NotHere) else {}
        cases += [(command, path, tokens) for path, tokens in files.items()]
    return cases


@pytest.mark.parametrize("command, path, tokens", _evidence(), ids=lambda v: v if isinstance(v, str) else "")
def test_the_files_that_run_a_command_still_hold_it(command, path, tokens):
    text = (REPO_ROOT / path).read_text()
    gone = [token for token in tokens if token not in text]
    assert not gone, f"{path} no longer holds {gone}: is `{command}` still exercised there? Update EXERCISED."


def test_each_command_run_here_names_a_test_of_this_file():
    tests = {name for name in globals() if name.startswith("test_")}
    named = {how.test for how in EXERCISED.values() if isinstance(how, Here)}
    assert named <= tests, f"EXERCISED names tests that do not exist: {sorted(named - tests)}"
    for how in EXERCISED.values():
        if isinstance(how, Here) and how.runs:
            assert how.because, f"{how.runs}: say why running it this way exercises the README's command"


# --- make -----------------------------------------------------------------------------------------

# What `make -n TARGET` must print for each target a README runs: the course command the tests run.
MAKE_RUNS = {
    **{f"stage-{n}": f"-m coursekit stage {n}" for n in range(1, 6)},
    **{f"check-{n}": f"-m coursekit check {n}" for n in range(1, 6)},
    "server": "-m coursekit server",
    "stop": "-m coursekit stop",
    "status": "-m coursekit status",
    "s3": "-m coursekit s3",
    "env": "-m coursekit env",
    "tour": "-m coursekit tour",
    "bench": "-m coursekit bench",
    "postgres": "-m coursekit.postgres",
    "test": "-m pytest",
    "help": "grep -E",
    "setup": "uv pip sync",
}
# `make -n setup` prints nothing while .venv matches the lock: -W makes make take the lock as changed.
MAKE_AS_IF = {"setup": "-W requirements/course.lock"}


def shell(script: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """`bash -c script` from the top of the repository, as a learner types it.

    `make` never reinstalls .venv here (`-o .venv/.installed`): the tests check the environment they run in.
    """
    never_reinstall = 'make() { command make -o .venv/.installed "$@"; }\n'
    return subprocess.run(
        ["bash", "-c", never_reinstall + script],
        cwd=REPO_ROOT,
        env=env if env is not None else dict(os.environ),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def make_targets_in_readmes() -> list[str]:
    targets = set()
    for command in all_commands():
        for part in re.split(r"&&|;|\$\(|\)|\"", command.text):
            words = part.split()
            if words and words[0] == "make":
                targets |= {w for w in words[1:] if not w.startswith("-") and "=" not in w}
    return sorted(targets)


@pytest.mark.parametrize("target", make_targets_in_readmes())
def test_make_targets_of_the_readmes_run_the_course_commands(target):
    assert target in MAKE_RUNS, f"make {target}: add what it runs to MAKE_RUNS and a test that runs that"
    dry = shell(f"command make -n {MAKE_AS_IF[target]} {target}" if target in MAKE_AS_IF else f"make -n {target}")
    assert dry.returncode == 0 and MAKE_RUNS[target] in dry.stdout, output(dry)


def test_make_help_lists_every_target_of_the_readme():
    done = shell("make help")
    assert done.returncode == 0, output(done)
    table = section(top_readme(), "Make targets")
    listed = re.findall(r"^\| `make ([\w-]+)`", table, flags=re.MULTILINE)
    targets = [t.replace("-N", f"-{n}") for t in listed for n in (range(1, 6) if t.endswith("-N") else [0])]
    assert len(targets) > 20
    missing = [t for t in targets if not re.search(rf"^  make {re.escape(t)}\s", done.stdout, flags=re.MULTILINE)]
    assert not missing, f"make help does not list {missing}:\n{done.stdout}"


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


@pytest.mark.usefixtures("prefect_server")
def test_eval_make_env_points_a_shell_at_the_course():
    cfg = config.current()
    # A shell as a learner opens it: the course's folder and ports, but no Prefect settings and no .venv.
    bare = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    bare["PATH"] = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if ".venv" not in p)
    done = shell(
        'eval "$(make -s env)"\ncommand -v python prefect\necho "api=$PREFECT_API_URL"\nprefect config view',
        env={**bare, "COLUMNS": "200"},
    )
    assert done.returncode == 0, output(done)
    venv_bin = Path(sys.executable).parent
    assert done.stdout.splitlines()[:3] == [str(venv_bin / "python"), str(venv_bin / "prefect"), f"api={cfg.api_url}"]
    assert f"PREFECT_API_URL='{cfg.api_url}' (from env)" in done.stdout, output(done)


def test_a_port_given_to_make_or_exported_reaches_the_course():
    for script in ("make -s env COURSE_SERVER_PORT=4300", "export COURSE_SERVER_PORT=4300\nmake -s env"):
        done = shell(script)
        assert done.returncode == 0, output(done)
        assert "export PREFECT_API_URL=http://127.0.0.1:4300/api" in done.stdout, output(done)


def test_a_busy_port_is_reported_as_the_readme_quotes_it(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = shell(f"make server COURSE_SERVER_PORT={port}", env={**os.environ, "COURSE_STATE_DIR": str(tmp_path)})
    assert done.returncode != 0, output(done)
    quoted = troubleshooting_block("### Port 4200 is in use")
    expected = quoted.replace("4201", str(port + 1)).replace("4200", str(port))
    assert expected in done.stderr, f"the README quotes:\n{expected}\n{output(done)}"


@pytest.mark.usefixtures("prefect_server")
def test_a_pool_of_another_type_is_reported_as_the_readme_quotes_it():
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    from coursekit import workers

    pool = f"docker-pool-{time.monotonic_ns()}"
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=pool, type="docker"))
        try:
            with pytest.raises(services.ServiceError) as refused:
                workers.ensure_pool(pool)
        finally:
            client.delete_work_pool(pool)
    quoted = re.search(r"`(Work pool 'course-pool' exists with type[^`]*)`", section(top_readme(), TROUBLESHOOTING))
    assert quoted and quoted.group(1).replace("course-pool", pool) in str(refused.value), str(refused.value)


# --- lesson commands --------------------------------------------------------------------------------


@pytest.mark.usefixtures("prefect_server")
def test_make_check_1_reports_each_exercise_with_its_hint():
    done = shell("make check-1", timeout=300)
    exercises = yaml.safe_load((REPO_ROOT / "01_intro" / "exercises" / "exercises.yaml").read_text())
    assert "Checking your exercises in 01_intro/exercises/" in done.stdout, output(done)
    marks = {e["name"]: re.search(rf"^  ([✓✗]) {e['name']}\s", done.stdout, re.MULTILINE) for e in exercises}
    assert all(marks.values()), f"not every exercise is reported:\n{output(done)}"
    failing = [e for e in exercises if marks[e["name"]].group(1) == "✗"]
    assert all(f"hint: {e['hint']}" in done.stdout for e in failing), output(done)
    assert (done.returncode == 0) == (not failing), output(done)


def test_the_plain_script_trains_offline_on_a_synthetic_month_with_the_readme_notice(tmp_path):
    command = "python 02_workflow/orchestrate_pre_prefect.py --train 2023-01 --val 2023-02"
    offline = f"http://127.0.0.1:{services.free_port()}/trip-data"  # nothing answers: offline, at once
    env = {k: v for k, v in os.environ.items() if k != "COURSE_TLC_DIR"}
    env.update(TLC_BASE_URL=offline, COURSE_DATA_DIR=str(tmp_path / "data"), COURSE_MODELS_DIR=str(tmp_path / "models"))
    done = shell(f'eval "$(make -s env)"\n{command}', env=env)
    assert done.returncode == 0, output(done)
    assert re.fullmatch(r"rmse=\d+\.\d{3}", done.stdout.strip().splitlines()[-1]), output(done)
    from coursekit.taxi import DEFAULT_BASE_URL

    printed = done.stdout.replace(offline, DEFAULT_BASE_URL).replace(str(tmp_path), "…")
    quoted = troubleshooting_block("### Offline: a synthetic month instead of the TLC data")
    assert quoted in printed, f"the README quotes:\n{quoted}\n{output(done)}"
    assert (tmp_path / "models" / "trip_duration.pkl").is_file()


def test_real_s3_settings_are_read_and_make_s3_starts_the_local_endpoint():
    from coursekit import s3

    exports = [c.text for c in all_commands() if c.readme == "04_deploy_s3/README.md" and c.text.startswith("export ")]
    assert len(exports) == 3, exports
    settings = "from coursekit import s3; s = s3.settings(); print(s.where, s.bucket, s.access_key_id, s.local)"
    real = shell("\n".join([*exports, "make s3", f"{sys.executable} -c '{settings}'"]))
    assert real.returncode == 0, output(real)
    assert real.stdout.splitlines()[-2:] == [
        "COURSE_S3_ENDPOINT_URL points at AWS S3 (eu-west-1): no local endpoint needed.",
        "AWS S3 (eu-west-1) my-existing-bucket ... False",
    ], output(real)

    was_running = services.status(s3.SERVICE) is not None
    try:
        local = shell("make s3")
        assert local.returncode == 0, output(local)
        assert f"✓ Local S3 endpoint up at {s3.local_url()}, bucket 'prefect-course'" in local.stdout, output(local)
        assert services.answers(f"{s3.local_url()}/moto-api/")
    finally:
        if not was_running:
            services.stop(s3.SERVICE)


def test_the_installed_fastapi_and_prefect_are_the_locked_ones():
    command = next(c.text for c in all_commands() if c.text.startswith(".venv/bin/python -c"))
    done = shell(command)
    assert done.returncode == 0, output(done)
    lock = (REPO_ROOT / "requirements" / "course.lock").read_text()
    pins = {name: re.search(rf"^{name}==([^\s;]+)", lock, re.MULTILINE).group(1) for name in ("fastapi", "prefect")}
    expected = f"fastapi {pins['fastapi']} prefect {pins['prefect']}"
    assert done.stdout.strip() == expected, output(done)
    assert f"It prints `{expected}`" in section(top_readme(), TROUBLESHOOTING)


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


@pytest.mark.usefixtures("prefect_server")
def test_lesson_commands_in_one_interpreter():
    from prefect import get_client

    from coursekit import automations

    sent_after = time.time()
    send = 'python 05_cloud/send_email.py --subject "Hello" --body "From the course"'
    first = in_one_interpreter(
        "prefect work-pool create course-pool --type process --overwrite",
        "prefect work-pool create course-scale --type process --overwrite",
        "python 05_cloud/create_email_block.py",
        send,
        # Deployed as tests/exercises/test_stage5.py does it; make stage-5 deploys all of 05_cloud/prefect.yaml.
        "prefect --no-prompt deploy --prefect-file 05_cloud/prefect.yaml --name course-email",
        "prefect deployment inspect send-email/course-email",
    )
    assert [code for code, _ in first] == [0] * 6, "\n\n".join(out for _, out in first)
    (_, pool), (_, scale), (_, block), _, _, (_, inspected) = first
    assert "course-pool" in pool and "course-scale" in scale
    assert "Saved block email-server-credentials/course-email" in block
    with get_client(sync_client=True) as client:
        assert {client.read_work_pool(p).type for p in ("course-pool", "course-scale")} == {"process"}
        deployment_id = str(client.read_deployment_by_name("send-email/course-email").id)
    assert deployment_id in inspected, inspected
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
    return section(top_readme(), MAP_HEADING)


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
    for path in readmes():
        markdown = path.read_text()
        if path == REPO_ROOT / "README.md":
            markdown = markdown.replace(command_map(), "")
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


def test_every_prefect_command_in_the_readmes_exists_in_the_installed_prefect(installed_prefect):
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
    text = section(top_readme(), TROUBLESHOOTING)
    after = text[text.index(heading) :]
    return re.search(r"```text\n(.*?)\n```", after, flags=re.DOTALL).group(1)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_between_the_readmes_point_at_files_and_headings_that_exist():
    broken = []
    for path in readmes():
        for target, anchor in re.findall(r"\]\(([^)\s#]*)(?:#([^)\s]+))?\)", path.read_text()):
            if re.match(r"\w+://", target):
                continue
            linked = (path.parent / target).resolve() if target else path
            if not linked.exists():
                broken.append(f"{path.relative_to(REPO_ROOT)}: {target} does not exist")
            elif anchor and linked.suffix == ".md":
                headings = re.findall(r"^#+ (.+)$", linked.read_text(), flags=re.MULTILINE)
                if anchor not in {slug(h) for h in headings}:
                    broken.append(f"{path.relative_to(REPO_ROOT)}: no heading #{anchor} in {target or path.name}")
    assert not broken, "\n".join(broken)
