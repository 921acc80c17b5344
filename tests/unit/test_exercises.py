"""The learner's loop: hints earned by failed checks or asked for, and progress that follows the files."""

from __future__ import annotations

import pytest

from coursekit import exercises


@pytest.fixture(autouse=True)
def own_progress(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_STATE_DIR", str(tmp_path))


def test_a_stage_and_number_name_an_exercise_and_a_wrong_one_lists_the_right_ones():
    exercise = exercises.find("2-3")
    assert (exercise.stage.folder, exercise.name) == ("02_workflow", "ex3_artifact")
    assert exercises.find("02_workflow/ex3_artifact") == exercise
    with pytest.raises(exercises.NoSuchExercise, match=r"No exercise '9-1'. Name one as STAGE-NUMBER: 1-1, 1-2"):
        exercises.find("9-1")


def test_hints_come_one_failed_check_at_a_time_and_asking_brings_the_next():
    exercise = exercises.find("1-2")
    first, second = exercise.hints
    assert exercises.record_check(exercise, passed=False) == [first]
    assert exercises.record_check(exercise, passed=False) == [first, second]
    assert exercises.record_check(exercise, passed=False) == [first, second]  # there are two
    other = exercises.find("1-3")
    assert exercises.ask_hint(other) == [other.hints[0]]
    assert exercises.record_check(other, passed=False) == [other.hints[0]]  # already seen: no new one yet
    assert exercises.ask_hint(other) == list(other.hints)


def test_an_exercise_is_done_while_the_file_that_passed_is_unchanged(monkeypatch):
    exercise = exercises.find("1-1")
    assert not exercises.is_done(exercise)
    exercises.record_check(exercise, passed=True)
    assert exercises.is_done(exercise)
    assert "  ✓ 1-1  ex1_task_name" in exercises.progress_lines()
    stage_1 = len(exercises.of_stage(exercise.stage))
    assert exercises.progress_lines()[0] == f"01_intro         {exercises.bar(1, stage_1)} 1/{stage_1}"
    assert exercises.bar(1, 4) == "[#####---------------]" and exercises.bar(0, 0) == "[--------------------]"
    monkeypatch.setattr(exercises, "_digest", lambda path: "the learner edited it since")
    assert not exercises.is_done(exercise)
    total = len(exercises.every())
    assert exercises.progress_lines()[-1] == f"all              [--------------------] 0/{total}"
