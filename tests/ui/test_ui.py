"""The Prefect UI after the whole tour, in a real browser: each page against what the API says.

The module runs `python -m coursekit tour` once, as a learner would (about 3 minutes on 2 cores, more
while other tests run), on this test session's own server and ports, then drives Debian's Chromium
headless through the pages.
Screenshots go to a temporary folder; only `make screenshots` writes docs/screenshots/.
"""

from __future__ import annotations

import dataclasses
import os
import re
import struct
import subprocess
import sys

import pytest

from coursekit.config import REPO_ROOT
from coursekit.maintainer import browser
from coursekit.services import lifecycle
from tests.support import server_log

pytestmark = pytest.mark.e2e

TOUR_TIMEOUT = 1800  # generous: under 3 minutes alone, 15 were seen on a 2-core machine busy with other work


@pytest.fixture(scope="module")
def chromium() -> None:
    """Debian's Chromium, which the browser checks drive: CI must have it, a learner's machine may not."""
    if not browser.CHROMIUM.exists():
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(browser.install_hint())
        pytest.skip(browser.install_hint())


@pytest.fixture(scope="module")
def tour(chromium: None) -> str:
    """The output of the whole tour, run once for this module against the session's own server."""
    done = subprocess.run(
        [sys.executable, "-m", "coursekit", "tour"],
        cwd=REPO_ROOT,
        env=os.environ.copy(),  # tests/conftest.py has pointed it at this session's state folder and ports
        capture_output=True,
        text=True,
        timeout=TOUR_TIMEOUT,
    )
    # The tour prints a lot: the end of it says which stage failed and why.
    assert done.returncode == 0, (
        f"exit code {done.returncode}\n{done.stdout[-6000:]}\n--- stderr\n{done.stderr[-4000:]}"
    )
    return done.stdout


# What the server may log during a tour without anything being wrong, each with its reason. Empty: a
# tour on the pinned versions logs no error; an entry here must say why it is harmless.
EXPECTED_SERVER_ERRORS: dict[str, str] = {}


def test_the_tour_leaves_no_error_in_the_servers_log(tour: str) -> None:
    found = server_log.problems(EXPECTED_SERVER_ERRORS)
    assert not found, f"{len(found)} unexpected ERROR/traceback lines in {server_log.server_log()}:\n" + "\n".join(
        found[:40]
    )


@pytest.mark.readme("make tour")
def test_the_tour_ends_with_its_summary_table(tour: str) -> None:
    summary = tour[tour.index("Tour summary") :]
    assert re.search(r"^stage\s+what ran\s+final states\s+key figure\s+time$", summary, re.M), summary
    for stage in browser.STAGE_RUNS:
        assert re.search(rf"^{stage}\s+\S.*\s\d+ s$", summary, re.M), f"no row for stage {stage}:\n{summary}"


def test_the_ui_shows_what_the_api_says(tour: str, tmp_path) -> None:
    passed = browser.check_ui(tmp_path)

    assert len(passed) == len(browser.CHECKS)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(browser.SHOTS)
    for shot in tmp_path.iterdir():
        header = shot.read_bytes()[:24]
        assert header[:8] == b"\x89PNG\r\n\x1a\n", shot
        assert struct.unpack(">II", header[16:24]) == (browser.VIEWPORT["width"], browser.VIEWPORT["height"]), shot


def test_a_page_that_differs_from_the_api_fails_its_check(tour: str, monkeypatch) -> None:
    monkeypatch.setattr(browser, "TIMEOUT_MS", 5_000)  # the right page is there: waiting longer changes nothing
    expected = browser.read_expected()
    newest = expected.metrics[0]
    wrong_rmse = dataclasses.replace(expected, metrics=[dataclasses.replace(newest, rmse=newest.rmse + 0.001)])
    one_more_deployment = dataclasses.replace(expected, deployment_count=expected.deployment_count + 1)
    one_more_attempt = dataclasses.replace(
        expected, retried=dataclasses.replace(expected.retried, run_count=expected.retried.run_count + 1)
    )
    no_shots = browser.Screenshots(None)

    with browser.browser_page() as page:
        with pytest.raises(browser.UICheckFailed, match=f"the RMSE of version {newest.id[:8]}"):
            browser.check_rmse_history(page, wrong_rmse, no_shots)
        with pytest.raises(browser.UICheckFailed, match=f"'{expected.deployment_count + 1} Deployments'"):
            browser.check_deployments(page, one_more_deployment, no_shots)
        with pytest.raises(browser.UICheckFailed, match="retry log lines"):
            browser.check_retries(page, one_more_attempt, no_shots)


def test_without_a_server_the_check_says_to_start_one(chromium: None, monkeypatch) -> None:
    monkeypatch.setenv("COURSE_SERVER_PORT", str(lifecycle.free_port()))
    with pytest.raises(browser.UICheckFailed, match=r"make server.*make tour"):
        browser.check_ui()


def test_without_chromium_the_check_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setattr(browser, "CHROMIUM", REPO_ROOT / "no-such-chromium")
    with pytest.raises(browser.UICheckFailed, match="apt-get install chromium"), browser.browser_page():
        pass
