"""Stage 5, the server as a team would host it: behind a login (COURSE_SERVER_AUTH) and on PostgreSQL
(COURSE_DATABASE_URL, the course's own from `python -m coursekit.services.postgres`) instead of SQLite.

A second course runs beside the session's: its own state folder, ports and server, driven by subprocesses
with the variables a learner exports, and stopped with `python -m coursekit stop` as a learner would.
Its server uses PostgreSQL when PostgreSQL's programs are installed, SQLite otherwise; the login tests
run either way, the PostgreSQL test skips (with the reason) without them.
"""

from __future__ import annotations

import json
import mailbox
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from unittest import mock

import pytest
import requests

from coursekit import config
from coursekit.config import REPO_ROOT
from coursekit.services import lifecycle, postgres
from tests.support.run import output

pytestmark = pytest.mark.e2e

LOGIN = "admin:course-secret"


def postgres_missing() -> str | None:
    """Why the PostgreSQL test cannot run here, or None."""
    try:
        postgres.find_programs()
    except lifecycle.ServiceError:
        return (
            "Debian's PostgreSQL is not installed (no initdb/postgres in /usr/lib/postgresql/*/bin or on PATH): "
            "apt-get install postgresql"
        )
    return None


class Course:
    """A second copy of the course: the variables a learner's shell would hold, and commands run in it."""

    def __init__(self, state_dir: Path, **variables: str) -> None:
        self.state_dir = state_dir
        self.variables = {**lifecycle.throwaway_course(state_dir), **variables}
        self.started = ""  # what `python -m coursekit server` printed when the fixture started it

    def env(self, **changes: str) -> dict[str, str]:
        """This process's environment without the session course's settings, plus this course's."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("COURSE_", "PREFECT_"))}
        env.update(self.variables, **changes)
        env = {k: v for k, v in env.items() if v}  # an empty value removes a variable
        with mock.patch.dict(os.environ, env, clear=True):
            env.update(config.current().prefect_env())
        return {**env, "COLUMNS": "200"}  # Prefect's tables cut names to fit 80 columns when piped

    @property
    def cfg(self) -> config.CourseConfig:
        with mock.patch.dict(os.environ, self.env(), clear=True):
            return config.current()

    def run(self, *command: str, timeout: float = 180, **changes: str) -> subprocess.CompletedProcess:
        argv = [sys.executable if command[0] == "python" else command[0], *command[1:]]
        env = self.env(**changes)
        return subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)

    def prefect(self, *args: str, timeout: float = 180, **changes: str) -> subprocess.CompletedProcess:
        return self.run(str(Path(sys.executable).parent / "prefect"), *args, timeout=timeout, **changes)

    def postgres_query(self, sql: str) -> str:
        with mock.patch.dict(os.environ, self.env(), clear=True):
            return postgres.query(sql)


@pytest.fixture(scope="module")
def hosted_course():
    """A second course whose server asks for LOGIN, on the course's PostgreSQL where it is installed."""
    # PostgreSQL runs as the `postgres` user when the tests run as root: that user must be able to enter
    # the state folder, which pytest's tmp_path (private to root) would not let it.
    state_dir = Path(tempfile.mkdtemp(prefix="course-hosted-"))
    state_dir.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    course = Course(state_dir, COURSE_SERVER_AUTH=LOGIN)
    try:
        if postgres_missing() is None:
            started = course.run("python", "-m", "coursekit.services.postgres", "url")
            assert started.returncode == 0, output(started)
            course.variables["COURSE_DATABASE_URL"] = started.stdout.strip()
        up = course.run("python", "-m", "coursekit", "server")
        assert up.returncode == 0, output(up)
        course.started = up.stdout
        yield course
    finally:
        stopped = course.run("python", "-m", "coursekit", "stop", timeout=60)
        shutil.rmtree(state_dir, ignore_errors=True)
        assert stopped.returncode == 0, output(stopped)


# --- the login ---------------------------------------------------------------------------------------


@pytest.mark.readme(
    "export COURSE_SERVER_AUTH=admin:change-me",
    "make stop && make server",
    because="with a login of its own, in a second course whose server starts with it",
)
def test_without_the_login_the_api_refuses_while_health_and_the_ui_still_answer(hosted_course: Course):
    cfg = hosted_course.cfg
    refused = requests.post(f"{cfg.api_url}/flows/filter", json={}, timeout=10)
    assert refused.status_code == 401
    assert refused.json() == {"exception_message": "Unauthorized"}
    assert requests.get(f"{cfg.api_url}/admin/version", timeout=10).status_code == 401
    assert requests.get(f"{cfg.api_url}/admin/version", auth=tuple(LOGIN.split(":")), timeout=10).ok
    # GET /api/health and /api/ready need no login (the course's readiness check uses /api/health).
    assert requests.get(f"{cfg.api_url}/health", timeout=10).status_code == 200
    # The UI's pages load, and the UI asks for the login before it calls the API.
    assert requests.get(cfg.ui_url, timeout=10).status_code == 200
    assert requests.get(f"{cfg.ui_url}/ui-settings", timeout=10).json()["auth"] == "BASIC"


def test_with_the_course_login_a_flow_run_and_the_cli_work(hosted_course: Course):
    ran = hosted_course.run("python", "-c", "from tests.support.flows import quick; print(quick(0))")
    assert ran.returncode == 0 and ran.stdout.strip().endswith("0"), output(ran)
    runs = hosted_course.prefect("flow-run", "ls", "--flow-name", "quick")
    assert runs.returncode == 0 and "COMPLETED" in runs.stdout, output(runs)


def test_a_wrong_login_is_refused_with_401(hosted_course: Course):
    refused = hosted_course.prefect("work-pool", "ls", COURSE_SERVER_AUTH="admin:wrong")
    assert refused.returncode == 1, output(refused)
    assert "401 Unauthorized" in refused.stderr and "'exception_message': 'Unauthorized'" in refused.stderr


def test_the_course_says_which_login_is_missing_or_wrong_and_never_prints_it(hosted_course: Course):
    missing = hosted_course.run("python", "-m", "coursekit", "server", COURSE_SERVER_AUTH="")
    assert missing.returncode == 1, output(missing)
    assert "asks for a login, and COURSE_SERVER_AUTH is not set" in missing.stderr, output(missing)
    assert "export COURSE_SERVER_AUTH=user:password" in missing.stderr

    wrong = hosted_course.run("python", "-m", "coursekit", "server", COURSE_SERVER_AUTH="admin:not-the-secret")
    assert wrong.returncode == 1, output(wrong)
    assert "refused the login in COURSE_SERVER_AUTH (user 'admin')" in wrong.stderr, output(wrong)
    assert "not-the-secret" not in wrong.stdout + wrong.stderr

    right = hosted_course.run("python", "-m", "coursekit", "server")
    assert right.returncode == 0 and "already up" in right.stdout, output(right)


def test_the_smtp_password_and_the_server_login_are_shown_nowhere_after_lesson_5(hosted_course: Course, tmp_path):
    """Lesson 5 with a mail server that wants a login, on a server that wants one: neither secret shows anywhere.

    Searched: what the scripts printed, the server's records as its API (and so the UI) returns them (logs, run
    parameters, task inputs, artifacts, blocks, events: tests/e2e/test_secrets.py), and the course's log files.
    """
    smtp_password = f"smtp-secret-{uuid.uuid4().hex}"
    login_password = LOGIN.split(":", 1)[1]
    port, maildir = lifecycle.free_port(), tmp_path / "mail"
    mail_server = lifecycle.start(
        "smtp-with-login",
        [sys.executable, "-m", "tests.support.smtp_with_login", str(port), str(maildir)],
        env={"SMTP_LOGIN": f"course:{smtp_password}"},
        cwd=REPO_ROOT,
    )
    own_mail = {
        "COURSE_SMTP_SERVER": "127.0.0.1",
        "COURSE_SMTP_PORT": str(port),
        "COURSE_SMTP_TYPE": "INSECURE",
        "COURSE_SMTP_USERNAME": "course",
        "COURSE_SMTP_PASSWORD": smtp_password,
    }
    try:
        lifecycle.wait_until(mail_server, lambda: lifecycle.port_in_use("127.0.0.1", port), what="Starting SMTP")
        wrong = hosted_course.run(
            "python", "05_cloud/create_email_block.py", **{**own_mail, "COURSE_SMTP_PASSWORD": "x"}
        )
        assert wrong.returncode == 1 and "refused the login for user 'course'" in wrong.stderr, output(wrong)
        printed = [wrong.stdout + wrong.stderr]
        for script in (
            ["05_cloud/create_email_block.py"],
            ["05_cloud/send_email.py", "--subject", "lesson 5, with a login", "--body", "sent through a login"],
        ):
            done = hosted_course.run("python", *script, **own_mail)
            assert done.returncode == 0, output(done)
            printed.append(done.stdout + done.stderr)
        assert [m["subject"] for m in mailbox.Maildir(maildir)] == ["lesson 5, with a login"]  # the login worked

        shows = hosted_course.run(
            "python",
            "-c",
            "import json; from tests.e2e.test_secrets import everything_the_server_shows as e; print(json.dumps(e()))",
        )
        assert shows.returncode == 0, output(shows)
        found = {"what the scripts printed": "\n".join(printed), **json.loads(shows.stdout)}
        found |= {p.name: p.read_text(errors="replace") for p in hosted_course.cfg.log_dir.glob("*.log")}
        assert '"password": "********"' in found["blocks"], found["blocks"]  # the block keeps it, masked
        for secret in (smtp_password, login_password):
            shown = sorted(where for where, text in found.items() if secret in text)
            assert shown == [], f"{secret[:6]}… is shown in: {', '.join(shown)}"
    finally:
        lifecycle.stop("smtp-with-login")


# --- PostgreSQL --------------------------------------------------------------------------------------


@pytest.mark.readme(
    "make postgres",
    'export COURSE_DATABASE_URL="$(.venv/bin/python -m coursekit.services.postgres url)"',
    "make stop && make server",
    because="in a second course, whose server starts on PostgreSQL: the session's own must keep running",
)
def test_a_deployment_runs_on_a_worker_with_every_record_in_postgres(hosted_course: Course):
    if reason := postgres_missing():
        pytest.skip(reason)
    database_url = hosted_course.variables["COURSE_DATABASE_URL"]
    port = hosted_course.variables["COURSE_POSTGRES_PORT"]
    assert database_url.startswith("postgresql+asyncpg://postgres:") and f"@127.0.0.1:{port}/prefect" in database_url
    # Said before the server starts, in one line, with the password hidden and the way back.
    assert (
        f"! This server keeps its state in PostgreSQL ({postgres.hide_password(database_url)}): a database of its "
        "own, empty the first time, without the SQLite server's runs, deployments and blocks. Back to SQLite: unset "
        "COURSE_DATABASE_URL, then make stop && make server."
    ) in hosted_course.started, hosted_course.started
    assert database_url.split(":")[2].split("@")[0] not in hosted_course.started  # the password

    again = hosted_course.run("python", "-m", "coursekit.services.postgres")  # idempotent: the same cluster and URL
    assert again.returncode == 0 and f"export COURSE_DATABASE_URL={database_url}" in again.stdout, output(again)

    # A process pool, a deployment and a worker, in one process (each start of Prefect costs seconds). The
    # deployment's pull step runs the flow in the repository itself: without one, Prefect 3.8 copies the
    # whole folder (.venv included) into a workspace before every run.
    setup = f"""
from prefect import flow
from coursekit.services import workers
workers.ensure_pool("pg-pool")
flow.from_source({str(REPO_ROOT)!r}, "tests/support/flows.py:quick").deploy(
    "pg", work_pool_name="pg-pool", ignore_warnings=True
)
workers.start_worker("pg-pool", env={{"PREFECT_WORKER_QUERY_SECONDS": "2"}})
"""
    ready = hosted_course.run("python", "-c", setup)
    assert ready.returncode == 0, output(ready)

    ran = hosted_course.prefect("deployment", "run", "quick/pg", "--param", "seconds=0", "--watch", timeout=240)
    assert ran.returncode == 0 and "Flow run finished successfully in 'Completed'" in ran.stdout, output(ran)

    assert hosted_course.postgres_query("SELECT name FROM deployment") == "pg"
    completed = "SELECT count(*) FROM flow_run WHERE state_type = 'COMPLETED' AND deployment_id IS NOT NULL"
    assert int(hosted_course.postgres_query(completed)) == 1
    assert not list(hosted_course.cfg.prefect_home.glob("*.db")), "the server wrote a SQLite database too"


def test_without_postgres_programs_the_message_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(postgres, "DEBIAN_ROOT", tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(lifecycle.ServiceError, match=r"apt-get install postgresql") as refused:
        postgres.find_programs()
    assert "COURSE_DATABASE_URL=postgresql+asyncpg://" in str(refused.value)


def test_a_database_url_where_nothing_answers_is_named_before_the_server_starts(tmp_path):
    port = lifecycle.free_port()
    course = Course(tmp_path, COURSE_DATABASE_URL=f"postgresql+asyncpg://me:hunter2@127.0.0.1:{port}/prefect")
    refused = course.run("python", "-m", "coursekit", "server", timeout=60)
    assert refused.returncode == 1, output(refused)
    assert f"Nothing answers at 127.0.0.1:{port}, where COURSE_DATABASE_URL points" in refused.stderr
    assert "me:***@" in refused.stderr and "hunter2" not in refused.stdout + refused.stderr
    assert not (tmp_path / "run" / "prefect-server.json").exists()
