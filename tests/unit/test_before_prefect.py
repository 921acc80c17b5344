"""The videos' names map to names the course really has, and a command with one is corrected, not run."""

from __future__ import annotations

import importlib.util
import re

import yaml

from coursekit import before_prefect
from coursekit.config import REPO_ROOT


def course_deployments() -> set[str]:
    """flow-name/deployment-name for every deployment of the lessons' prefect.yaml files."""
    names = set()
    for prefect_yaml in REPO_ROOT.glob("0*/prefect.yaml"):
        for deployment in yaml.safe_load(prefect_yaml.read_text()).get("deployments") or []:
            file, function = deployment["entrypoint"].split(":")
            path = REPO_ROOT / file if (REPO_ROOT / file).is_file() else prefect_yaml.parent / file
            source = path.read_text()
            decorator = re.search(rf"@flow\((.*)\)\s*\n(?:async )?def {function}\(", source).group(1)
            named = re.search(r'name="([^"]+)"', decorator)  # else Prefect names the flow after the function
            flow = named.group(1) if named else function.replace("_", "-")
            names.add(f"{flow}/{deployment['name']}")
    return names


def test_every_course_name_in_the_map_exists_here():
    deployments = course_deployments()
    flows = {name.split("/")[0] for name in deployments}
    pools = {
        deployment["work_pool"]["name"]
        for prefect_yaml in REPO_ROOT.glob("0*/prefect.yaml")
        for deployment in yaml.safe_load(prefect_yaml.read_text()).get("deployments") or []
        if deployment.get("work_pool")
    }
    for old, new, _ in before_prefect.VIDEO_NAMES:
        if "/" in new:
            assert new in deployments, f"{old} -> {new}: no such deployment in the lessons' prefect.yaml"
        elif new.startswith("prefect_"):
            assert importlib.util.find_spec(new), f"{old} -> {new}: no such module"
        elif new.endswith("-pool"):
            assert new in pools, f"{old} -> {new}: no deployment uses that pool"
        else:
            assert new in flows, f"{old} -> {new}: no deployment runs a flow of that name"


def test_a_command_with_a_video_name_gets_the_course_command():
    command, why = before_prefect.corrected(["deployment", "run", "main-flow-s3/taxi_s3_data", "--watch"])
    assert command == ["deployment", "run", "taxi-training-s3/taxi_s3_data", "--watch"]
    assert why.startswith('"main-flow-s3/taxi_s3_data" is what the course videos type')
    assert before_prefect.corrected(["block", "register", "-m", "prefect-aws"])[0][-1] == "prefect_aws"
    assert before_prefect.corrected(["deployment", "run", "taxi-training/taxi_local_data"]) is None


def test_the_shell_guard_matches_whole_words_only():
    guard = before_prefect.shell_guard("/venv/bin/python")
    assert '*" main-flow "*' in guard and '*"main-flow' not in guard  # main-flow-s3 is not "main-flow"
    assert guard.splitlines()[-2] == '  command prefect "$@"'
