"""The promises the repository makes about itself: exercises are complete and documented, lesson
scripts stay short, every prefect.yaml parses, and no committed file records a download address."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from coursekit import course, exercises
from coursekit.cli import stages
from coursekit.config import REPO_ROOT

STAGES_WITH_EXERCISES = sorted(p.parent.parent.name for p in REPO_ROOT.glob("0*/exercises/exercises.yaml"))
TESTS = (REPO_ROOT / "tests" / "exercises").glob("test_stage*.py")
MARKED = set(re.findall(r'mark\.exercise\("([^"]+)", "([^"]+)"\)', "".join(p.read_text() for p in TESTS)))


def committed(relative: str) -> str:
    """A file as committed (the working copy where git has none): a learner's solved exercise has no TODO left."""
    shown = subprocess.run(["git", "show", f"HEAD:{relative}"], cwd=REPO_ROOT, capture_output=True, text=True)
    return shown.stdout if shown.returncode == 0 else (REPO_ROOT / relative).read_text()


def plain(markdown: str) -> str:
    return markdown.replace("`", "").replace('"', "")


@pytest.mark.parametrize("stage", STAGES_WITH_EXERCISES)
def test_every_exercise_has_starter_solution_test_and_readme_row(stage):
    readme = plain((REPO_ROOT / stage / "exercises" / "README.md").read_text())
    for entry in exercises.of_stage(course.by_folder(stage)):
        name = entry.name
        assert (REPO_ROOT / stage / "exercises" / f"{name}.py").exists(), f"{name}: starter missing"
        assert entry.solution.exists(), f"{name}: solution missing at {entry.solution}"
        assert (stage, name) in MARKED, f"{name}: no test is marked @pytest.mark.exercise({stage!r}, {name!r})"
        starter = committed(f"{stage}/exercises/{name}.py")  # the starter as shipped, not a learner's answer
        assert "# TODO:" in starter, f"{name}: the starter says nowhere (# TODO:) what to achieve"
        assert "# TODO:" not in entry.solution.read_text(), name
        assert plain(entry.goal) in readme, f"{name}: README row differs from the goal in exercises.yaml"
        # The hints show when they are earned (make check-N, make hint), never up front on the page.
        assert len(entry.hints) == 2 and not any(plain(hint) in readme for hint in entry.hints), name


def test_the_stage_table_names_every_lesson_folder_and_each_has_a_runner_and_make_targets():
    folders = sorted(p.name for p in REPO_ROOT.glob("0[0-9]_*") if p.is_dir())
    assert list(course.FOLDERS) == folders, "coursekit/course.py's STAGES must list every numbered lesson folder"
    assert sorted(stages.STAGES) == list(course.NUMBERS), "every stage needs its runner in coursekit/cli/stages"
    makefile = (REPO_ROOT / "Makefile").read_text()
    for stage in course.STAGES:
        assert f"\nstage-{stage.number}:" in makefile and f"\ncheck-{stage.number}:" in makefile, stage
        assert stage.exercise_tests.exists(), f"{stage.folder}: no exercise tests at {stage.exercise_tests}"


def coursekit_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    found |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return {name for name in found if name.split(".")[0] == "coursekit"}


def test_the_plain_pipeline_imports_nothing_from_the_package_but_data_fetching():
    assert coursekit_imports(REPO_ROOT / "02_workflow" / "orchestrate_pre_prefect.py") == {"coursekit.lesson.taxi"}


# The calls each lesson teaches stand in its own files, not behind a helper of the package.
LESSON_CALLS = {
    "01_intro/cat_facts.py": ("@task(retries=", "requests.get(", ".raise_for_status()", "@flow("),
    "02_workflow/orchestrate.py": ("@task(", "cache_policy=", "retry_condition_fn=", "create_table_artifact("),
    "04_deploy_s3/create_blocks.py": ("AwsCredentials(", "S3Bucket(", ".save("),
    "04_deploy_s3/upload_data.py": ("S3Bucket.load(", ".upload_from_path(", "emit_event("),
    "04_deploy_s3/orchestrate_s3.py": ("S3Bucket.load(", ".download_object_to_path(", ".upload_from_path("),
    "05_cloud/sweep.py": ("DaskTaskRunner(", ".map(", "unmapped("),
    "05_cloud/notify.py": ("on_completion=", "on_failure=", "email_send_message("),
}


@pytest.mark.parametrize("lesson", sorted(LESSON_CALLS))
def test_each_lesson_file_shows_the_calls_it_teaches(lesson):
    text = (REPO_ROOT / lesson).read_text()
    assert [call for call in LESSON_CALLS[lesson] if call not in text] == []


def test_the_package_makes_none_of_the_calls_lessons_teach():
    taught = {"download_object_to_path", "upload_from_path", "emit_event", "email_send_message"}
    made = {
        f"{path.relative_to(REPO_ROOT)}:{node.lineno} {name}"
        for path in (REPO_ROOT / "coursekit").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and (name := getattr(node.func, "attr", getattr(node.func, "id", None))) in taught
    }
    assert not made, f"these calls belong in a lesson file: {sorted(made)}"


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


def test_lint_checks_the_course_code_and_leaves_the_learners_exercise_files_alone():
    """`make test` lints first; a learner's answer in ruff's bad books must not stop their tests running."""
    ruff = str(Path(sys.executable).parent / "ruff")
    linted = {
        Path(line).relative_to(REPO_ROOT).as_posix()
        for line in subprocess.run(
            [ruff, "check", "--show-files", "."], cwd=REPO_ROOT, capture_output=True, text=True
        ).stdout.split()
        if line.endswith(".py")
    }
    starters = {p.relative_to(REPO_ROOT).as_posix() for p in REPO_ROOT.glob("0*/exercises/ex*.py")}
    solutions = {p.relative_to(REPO_ROOT).as_posix() for p in REPO_ROOT.glob("solutions/0*/ex*.py")}
    assert starters and solutions and "coursekit/lesson/taxi.py" in linted
    assert not starters & linted, sorted(starters & linted)
    assert solutions <= linted, sorted(solutions - linted)


def test_the_retry_waits_lesson_1_states_are_the_ones_prefect_draws():
    """retry_jitter_factor=0.5 on a 1 s delay: Prefect's clamped Poisson interval, bounded as the pages say."""
    from prefect.utilities.math import clamped_poisson_interval

    waits = [clamped_poisson_interval(1, clamping_factor=0.5) for _ in range(20_000)]
    assert (round(min(waits), 2), round(max(waits), 2)) == (0.63, 1.5)
    assert abs(sum(waits) / len(waits) - 1) < 0.02
    for page in ("01_intro/README.md", "01_intro/cat_facts.py"):
        assert "between 0.63 and 1.5 s" in " ".join((REPO_ROOT / page).read_text().split()), page


def test_the_pythons_the_readme_names_are_the_ones_requires_python_admits_and_the_ones_tested():
    import tomllib

    from packaging.specifiers import SpecifierSet

    admitted = SpecifierSet(tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["requires-python"])
    claimed = re.search(r"You need Python ([\d., or]+),", (REPO_ROOT / "README.md").read_text())
    assert claimed, "README's 'You need Python ...' line is gone"
    named = re.findall(r"3\.\d+", claimed.group(1))
    assert [f"3.{minor}" for minor in range(8, 20) if f"3.{minor}" in admitted] == named, (admitted, named)
    tested = {"3.11": (REPO_ROOT / ".ci" / "run"), "3.13": (REPO_ROOT / ".ci" / "python-3.13")}
    assert all(path.is_file() for path in tested.values()) and "trixie" in tested["3.13"].read_text()
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in admitted


def test_the_suites_longest_first_order_names_only_test_files_that_exist():
    # Read, not imported: importing conftest.py again would make a second throw-away course.
    tree = ast.parse((REPO_ROOT / "tests" / "conftest.py").read_text())
    (order,) = [
        ast.literal_eval(n.value) for n in tree.body
        if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", None) == "LONGEST_FIRST"
    ]  # fmt: skip
    missing = [name for name in order if not (REPO_ROOT / name).is_file()]
    assert missing == [], f"tests/conftest.py LONGEST_FIRST names files that are gone: {missing}"
    assert len(set(order)) == len(order), "tests/conftest.py LONGEST_FIRST names a file twice"
