"""The stage runner runs lesson scripts and prefect commands inside its own process: exit codes, argv,
working directory and sys.path must behave as they would for `python SCRIPT` and `prefect ...`."""

from __future__ import annotations

import os
import sys

import pytest

from coursekit import config, console
from coursekit.cli.stages import common


def script(tmp_path, body: str) -> str:
    path = tmp_path / "lesson_script.py"
    path.write_text(body)
    return str(path)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("print('fine')", 0),
        ("import sys; sys.exit(0)", 0),
        ("import sys; sys.exit(3)", 3),
        ("import sys; sys.exit('✗ a clear message')", 1),
        ("raise ValueError('boom')", 1),
    ],
)
def test_a_script_run_in_process_reports_the_exit_code_python_would(tmp_path, capsys, body, code):
    argv, path, cwd = list(sys.argv), list(sys.path), os.getcwd()
    if code == 0:
        common.run_script(script(tmp_path, body))
    else:
        with pytest.raises(common.StageFailed, match=f"exited with code {code}"):
            common.run_script(script(tmp_path, body))
    assert (sys.argv, sys.path, os.getcwd()) == (argv, path, cwd)  # nothing leaks into the stage runner
    err = capsys.readouterr().err
    assert ("a clear message" in err) == ("a clear message" in body)
    assert ("ValueError: boom" in err) == ("boom" in body)  # the traceback, as python would print it


def test_a_script_sees_its_own_argv_folder_and_the_repository_as_working_directory(tmp_path, capsys):
    (tmp_path / "sibling.py").write_text("NAME = 'the sibling module'\n")
    common.run_script(
        script(tmp_path, "import os, sys, sibling\nprint(sys.argv[1:], os.getcwd(), sibling.NAME, __name__)"),
        "--months",
        "2023-01",
    )
    out = capsys.readouterr().out
    assert f"▶ python {tmp_path}/lesson_script.py --months 2023-01" in out
    assert f"['--months', '2023-01'] {config.REPO_ROOT} the sibling module __main__" in out


def test_the_modules_of_the_scripts_folder_are_forgotten_afterwards(tmp_path, capsys):
    (tmp_path / "sibling.py").write_text("NAME = 'first'\n")
    common.run_script(script(tmp_path, "import sibling; print('sibling says', sibling.NAME)"))
    assert "sibling" not in sys.modules
    (tmp_path / "sibling.py").write_text("NAME = 'second'\n")  # another lesson's module of the same name
    common.run_script(script(tmp_path, "import sibling; print('sibling says', sibling.NAME)"))
    out = capsys.readouterr().out
    assert "sibling says first" in out and "sibling says second" in out
    assert "sibling" not in sys.modules


def test_waiting_marks_each_second_and_every_tenth_with_its_number(monkeypatch, capsys):
    now = [100.0]
    monkeypatch.setattr(console.time, "monotonic", lambda: now[0])
    with console.waiting("Waiting for 2 runs to finish") as wait:
        for _ in range(23):
            now[0] += 1
            wait.tick()
        wait.done("Completed")
    assert capsys.readouterr().out == "… Waiting for 2 runs to finish .........10s.........20s... Completed in 23.0 s\n"


def test_stage_5_says_the_mail_server_is_down_when_it_stopped_before_the_emails_came(tmp_path, monkeypatch, capsys):
    import time

    from coursekit.cli.stages import stage5
    from coursekit.services import lifecycle

    port = lifecycle.free_port()  # nothing listens: the local SMTP server after it went away
    monkeypatch.setenv("COURSE_SMTP_PORT", str(port))
    monkeypatch.setenv("COURSE_STATE_DIR", str(tmp_path))  # an empty mailbox
    monkeypatch.delenv("COURSE_SMTP_SERVER", raising=False)
    with pytest.raises(common.StageFailed) as failed:
        stage5.wait_for_mail(since=time.time(), timeout=1)
    assert str(failed.value) == (
        f"Only 0 of {stage5.EXPECTED_MAILS} emails arrived: the mail server at 127.0.0.1:{port} is down "
        "(it stopped during the stage). `make stage-5` starts it again and sends them anew."
    )
