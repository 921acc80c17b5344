"""The promises the repository makes about itself: exercises are complete and documented, lesson
scripts stay short, every prefect.yaml parses, and no committed file records a download address."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from coursekit import course
from coursekit.cli import stages
from coursekit.config import REPO_ROOT
from tests.support.exercises import exercise_list

STAGES_WITH_EXERCISES = sorted(p.parent.parent.name for p in REPO_ROOT.glob("0*/exercises/exercises.yaml"))
TESTS = (REPO_ROOT / "tests" / "exercises").glob("test_stage*.py")
MARKED = set(re.findall(r'mark\.exercise\("([^"]+)", "([^"]+)"\)', "".join(p.read_text() for p in TESTS)))


def plain(markdown: str) -> str:
    return markdown.replace("`", "").replace('"', "")


@pytest.mark.parametrize("stage", STAGES_WITH_EXERCISES)
def test_every_exercise_has_starter_solution_test_and_readme_row(stage):
    readme = plain((REPO_ROOT / stage / "exercises" / "README.md").read_text())
    for entry in exercise_list(stage):
        name = entry["name"]
        assert (REPO_ROOT / stage / "exercises" / f"{name}.py").exists(), f"{name}: starter missing"
        assert (REPO_ROOT / stage / "exercises" / "solutions" / f"{name}.py").exists(), f"{name}: solution missing"
        assert (stage, name) in MARKED, f"{name}: no test is marked @pytest.mark.exercise({stage!r}, {name!r})"
        assert plain(entry["goal"]) in readme and plain(entry["hint"]) in readme, f"{name}: README row differs"


def test_the_stage_table_names_every_lesson_folder_and_each_has_a_runner_and_make_targets():
    folders = sorted(p.name for p in REPO_ROOT.glob("0[0-9]_*") if p.is_dir())
    assert list(course.FOLDERS) == folders, "coursekit/course.py's STAGES must list every numbered lesson folder"
    assert sorted(stages.STAGES) == list(course.NUMBERS), "every stage needs its runner in coursekit/cli/stages"
    makefile = (REPO_ROOT / "Makefile").read_text()
    for stage in course.STAGES:
        assert f"\nstage-{stage.number}:" in makefile and f"\ncheck-{stage.number}:" in makefile, stage
        assert stage.exercise_tests.exists(), f"{stage.folder}: no exercise tests at {stage.exercise_tests}"


def test_lesson_scripts_stay_short():
    scripts = [p for p in REPO_ROOT.glob("0*/*.py")]
    assert scripts
    too_long = {str(p.relative_to(REPO_ROOT)): n for p in scripts if (n := len(p.read_text().splitlines())) > 200}
    assert not too_long, f"lesson scripts over 200 lines (move plumbing into coursekit): {too_long}"


@pytest.mark.parametrize("path", sorted(REPO_ROOT.glob("0*/prefect.yaml")), ids=lambda p: p.parent.name)
def test_prefect_yaml_parses_and_names_its_deployments(path):
    config = yaml.safe_load(path.read_text())
    assert config["deployments"] and all(d["name"] and d["entrypoint"] for d in config["deployments"])


def test_no_committed_file_records_a_package_download_address():
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    if not tracked:
        pytest.skip("not a git checkout")
    lock_names = {"uv.lock", "poetry.lock", "Pipfile.lock", "pdm.lock"}
    assert not [f for f in tracked.split() if f.rsplit("/", 1)[-1] in lock_names]
    for lock in (REPO_ROOT / "requirements").glob("*.lock"):
        text = lock.read_text()
        options = {line.strip().split("=")[0] for line in text.splitlines() if line.strip().startswith("--")}
        assert options == {"--hash"}, f"{lock}: options other than --hash (an index setting?): {options}"
        assert "://" not in text, f"{lock} records an address"
