"""Stage 5 beyond the tour (tests/e2e/test_tour.py runs the stage itself): the parts of the Cloud path
that can be checked without a Prefect Cloud account, and how TARGET reaches the stage."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml
from prefect.flows import load_flow_from_entrypoint

from coursekit import config
from coursekit.cli import cloud
from coursekit.services import lifecycle
from tests.support.run import run

pytestmark = pytest.mark.e2e


def test_make_passes_target_to_the_stage():
    dry = subprocess.run(
        ["make", "-n", "stage-5", "TARGET=cloud"], cwd=config.REPO_ROOT, capture_output=True, text=True
    )
    assert "COURSE_TARGET=cloud" in dry.stdout and "stage 5" in dry.stdout, dry.stdout + dry.stderr


def test_an_unknown_target_is_named(prefect_server: str):
    done = run("python", "-m", "coursekit", "stage", "5", env={"COURSE_TARGET": "aws"})
    assert done.returncode != 0
    assert "TARGET='aws': use TARGET=local (the default) or TARGET=cloud." in done.stdout + done.stderr


def test_the_cloud_path_names_every_missing_variable(monkeypatch):
    for name in ("PREFECT_API_KEY", "COURSE_CLOUD_WORKSPACE", "COURSE_CLOUD_GIT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PREFECT_API_KEY", "pnu_not-a-real-key")
    with pytest.raises(cloud.CloudError) as refused:
        cloud.requirements()
    assert "COURSE_CLOUD_WORKSPACE" in str(refused.value) and "COURSE_CLOUD_GIT_URL" in str(refused.value)
    assert "PREFECT_API_KEY:" not in str(refused.value)

    monkeypatch.setenv("COURSE_CLOUD_GIT_URL", "https://example.org/course.git")
    monkeypatch.setenv("COURSE_CLOUD_WORKSPACE", "just-an-account")
    with pytest.raises(cloud.CloudError, match="is not ACCOUNT/WORKSPACE"):
        cloud.requirements()


@pytest.mark.readme(
    "export PREFECT_API_KEY=pnu_...",
    "export COURSE_CLOUD_WORKSPACE=my-account/my-ws",
    "export COURSE_CLOUD_GIT_URL=https://github.com/YOU/THIS-REPO.git",
    "prefect profile create course-cloud",
    "prefect --profile course-cloud cloud login -k $PREFECT_API_KEY -w $COURSE_CLOUD_WORKSPACE",
    because="with a key that is not real and a Cloud address where nothing answers: the login fails, and says so",
)
def test_an_unreachable_cloud_is_a_clear_error_and_the_key_is_never_printed(monkeypatch, capfd):
    key = "pnu_this-key-must-never-be-printed"
    monkeypatch.setenv("PREFECT_API_KEY", key)
    monkeypatch.setenv("COURSE_CLOUD_WORKSPACE", "my-account/my-ws")
    monkeypatch.setenv("COURSE_CLOUD_GIT_URL", "https://example.org/course.git")
    # Where Cloud would be, nothing listens: the login fails as it does offline, but at once.
    monkeypatch.setenv("PREFECT_CLOUD_API_URL", f"http://127.0.0.1:{lifecycle.free_port()}/api")
    with pytest.raises(cloud.CloudError, match="Could not log in to Prefect Cloud"):
        cloud.deploy()
    printed = capfd.readouterr()
    assert key not in printed.out + printed.err
    assert "cloud login -k **** -w my-account/my-ws" in printed.out


def test_the_managed_pool_file_loads_and_pins_the_locked_versions():
    spec = yaml.safe_load((config.REPO_ROOT / cloud.PREFECT_FILE).read_text())
    (deployment,) = spec["deployments"]
    assert deployment["work_pool"]["name"] == cloud.POOL
    assert f"{spec['deployments'][0]['entrypoint'].split(':')[1]}" == "main_flow"
    flow = load_flow_from_entrypoint(str(config.REPO_ROOT / deployment["entrypoint"]))
    assert f"{flow.name}/{deployment['name']}" == cloud.DEPLOYMENT
    assert [step for step in spec["pull"] if "prefect.deployments.steps.git_clone" in step]

    # The pins agree with the lock's (for the newest Python the lock covers, as Prefect's image has).
    lock = (config.REPO_ROOT / "requirements" / "course.lock").read_text()
    for pin in deployment["work_pool"]["job_variables"]["pip_packages"]:
        name, version = pin.split("==")
        locked = re.findall(rf"^{re.escape(name)}==([^\s;]+)", lock, flags=re.MULTILINE)
        assert locked and version == locked[-1], f"{pin}: the lock has {name} {locked}"
