"""Each lesson's prefect.yaml deploys as written: `prefect --no-prompt deploy --all` from its folder."""

from __future__ import annotations

import pytest
import yaml
from prefect import get_client

from coursekit.config import REPO_ROOT
from tests.support.run import output, prefect

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]


@pytest.fixture(scope="module", autouse=True)
def course_pool():
    from coursekit.services import workers

    workers.ensure_pool("course-pool")


@pytest.mark.readme("cd 01_intro && prefect --no-prompt deploy --all")
@pytest.mark.parametrize("stage", ["01_intro", "02_workflow"])
def test_prefect_yaml_deploys_every_deployment_it_declares(stage):
    declared = yaml.safe_load((REPO_ROOT / stage / "prefect.yaml").read_text())["deployments"]
    deployed = prefect("--no-prompt", "deploy", "--all", cwd=REPO_ROOT / stage)
    assert deployed.returncode == 0, output(deployed)
    with get_client(sync_client=True) as client:
        deployments = {d.name: d for d in client.read_deployments()}
    for spec in declared:
        deployment = deployments[spec["name"]]
        assert deployment.entrypoint == spec["entrypoint"]
        assert deployment.work_pool_name == "course-pool" and deployment.tags == spec["tags"]
        assert deployment.parameters == spec["parameters"]
        assert deployment.pull_steps == [
            {"prefect.deployments.steps.set_working_directory": {"directory": f"{REPO_ROOT}/{stage}"}}
        ]
