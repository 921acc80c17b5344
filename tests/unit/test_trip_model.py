"""Lesson 2's trip-duration model, as 02_workflow/orchestrate.py defines it: accurate on real months,
blind to what is only known after the trip, and the same code in the plain script and in the flow."""

from __future__ import annotations

import ast
import os

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from prefect.states import Failed
from skops.io.exceptions import UntrustedTypesFoundException

from coursekit.config import REPO_ROOT
from coursekit.lesson import model_types, paths, taxi
from coursekit.lesson.lessons import lesson_module
from coursekit.lesson.taxi_synthetic import synthetic_month
from tests.support.tlc import real_month

AFTER_THE_TRIP = {"fare_amount", "extra", "mta_tax", "tip_amount", "tolls_amount", "ehail_fee",
                  "improvement_surcharge", "total_amount", "payment_type", "congestion_surcharge",
                  "lpep_dropoff_datetime"}  # fmt: skip

pipeline = lesson_module("02_workflow/orchestrate.py")
# The plain functions under the lesson's tasks: these tests need no flow and no server.
prepare, train, evaluate = pipeline.prepare_features.fn, pipeline.train_model.fn, pipeline.evaluate.fn


def test_validation_rmse_on_real_january_to_february_is_at_most_4_6_minutes():
    X_train, y_train = prepare(taxi.read_month(real_month("2023-01")))
    X_val, y_val = prepare(taxi.read_month(real_month("2023-02")))
    score = evaluate(train(X_train, y_train), X_val, y_val)
    assert score <= 4.6, f"validation RMSE {score:.3f} minutes is above the course's 4.6 bound"


def test_features_are_known_at_pickup():
    assert not AFTER_THE_TRIP & set(pipeline.FEATURES)


def test_predictions_ignore_everything_recorded_after_the_trip():
    trips = synthetic_month(2023, 1, rows=3_000, seed=1)
    model = train(*prepare(trips))
    scrambled = trips.copy()
    rng = np.random.default_rng(0)
    for column in AFTER_THE_TRIP - {"lpep_dropoff_datetime", "ehail_fee"}:
        scrambled[column] = rng.permutation(scrambled[column].to_numpy())
    before, _ = prepare(trips)
    after, _ = prepare(scrambled)
    assert np.array_equal(model.predict(before), model.predict(after))


def test_only_trips_of_one_to_sixty_minutes_are_kept():
    trips = synthetic_month(2023, 1, rows=5_000, seed=2)
    X, y = prepare(trips)
    assert len(X) == len(y) < len(trips) and y.min() >= 1 and y.max() <= 60


def test_a_month_with_no_usable_trip_says_how_many_came_in_and_why_none_is_left():
    trips = synthetic_month(2023, 1, rows=500)
    trips["lpep_dropoff_datetime"] = trips["lpep_pickup_datetime"]  # every trip lasts 0 minutes
    with pytest.raises(pipeline.NoTripsLeft, match=r"500 rows came in.*1-60 minutes"):
        prepare(trips)


def test_missing_columns_are_named():
    trips = synthetic_month(2023, 1, rows=100).drop(columns=["trip_distance"])
    with pytest.raises(pipeline.MissingColumns, match=r"^Trip data lacks column\(s\) \['trip_distance'\]"):
        prepare(trips)


def test_dtypes_of_other_tlc_months_give_the_same_features():
    trips = synthetic_month(2023, 1, rows=2_000, seed=3)
    other = trips.astype({"PULocationID": "int32", "DOLocationID": "int32", "VendorID": "int32"})
    other["RatecodeID"] = other["RatecodeID"].astype("Int64")
    other["ehail_fee"] = other["ehail_fee"].astype("float64")
    pd.testing.assert_frame_equal(prepare(trips)[0], prepare(other)[0])


def test_training_is_deterministic():
    X, y = prepare(synthetic_month(2023, 1, rows=3_000, seed=4))
    assert np.array_equal(train(X, y).predict(X), train(X, y).predict(X))


def test_the_model_is_saved_where_lessons_4_and_5_read_it(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_MODELS_DIR", str(tmp_path / "models"))
    model = train(*prepare(synthetic_month(2023, 1, rows=2_000, seed=5)))
    saved = pipeline.save_model.fn(model)
    assert saved == str(paths.model_file()) and type(
        sio.load(paths.model_file(), trusted=model_types.TRIP_MODEL)
    ) is type(model)
    assert [p.name for p in paths.models_dir().iterdir()] == ["trip_duration.skops"], "no *.part file is left behind"


def test_a_read_is_retried_for_a_passing_failure_but_not_for_bad_data():
    worth_retrying = pipeline.worth_retrying
    assert worth_retrying(pipeline.read_data, None, Failed(data=ConnectionError("connection reset")))
    assert worth_retrying(pipeline.read_data, None, Failed(data=OSError("the connection broke off")))
    bad_data = taxi.TaxiDataError("… is yellow-taxi data (tpep_* columns) …")
    assert not worth_retrying(pipeline.read_data, None, Failed(data=bad_data))
    assert pipeline.read_data.retry_condition_fn is worth_retrying and pipeline.read_data.retries == 3


def _definitions(relative_path: str) -> dict[str, str]:
    """Every top-level function, class and constant of a lesson file, without decorators."""
    tree = ast.parse((REPO_ROOT / relative_path).read_text())
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            node.decorator_list = []
            found[node.name] = ast.dump(node)
        elif isinstance(node, ast.Assign) and all(isinstance(t, ast.Name | ast.Tuple) for t in node.targets):
            found[ast.unparse(node.targets[0])] = ast.dump(node)
    return found


def test_the_plain_script_and_the_flow_run_the_same_code():
    plain = _definitions("02_workflow/orchestrate_pre_prefect.py")
    flow = {**_definitions("02_workflow/course_model.py"), **_definitions("02_workflow/orchestrate.py")}
    assert {"read_data", "prepare_features", "train_model", "evaluate", "save_model", "main"} <= set(plain)
    differs = [name for name in plain if name != "main" and plain[name] != flow.get(name)]
    assert not differs, f"orchestrate.py should add Prefect to these, not change them: {differs}"


def test_a_model_file_that_carries_another_type_is_refused(tmp_path):
    X, y = pipeline.prepare_features.fn(synthetic_month(2023, 1, rows=2_000, seed=5))
    crafted = tmp_path / "trip_duration.skops"
    sio.dump({"model": pipeline.train_model.fn(X, y), "payload": os.system}, crafted)  # a function to call
    with pytest.raises(UntrustedTypesFoundException, match="system"):
        sio.load(crafted, trusted=model_types.TRIP_MODEL)


# --- the original course's model (--model course) --------------------------------------------------------


@pytest.mark.parametrize(
    ("train_month", "val_month", "answer"),
    [("2023-01", "2023-02", "5.19931"), ("2023-02", "2023-03", "5.37")],  # the 2023 homework's Q3 and Q4
)
def test_the_course_model_gives_the_2023_homework_answers_on_the_real_months(train_month, val_month, answer):
    X_train, y_train = pipeline.course_model.prepare_course_features.fn(taxi.read_month(real_month(train_month)))
    X_val, y_val = pipeline.course_model.prepare_course_features.fn(taxi.read_month(real_month(val_month)))
    fitted = pipeline.course_model.train_course_model.fn(X_train, y_train, X_val, y_val)
    rmse = pipeline.course_model.evaluate_course_model.fn(*fitted, X_val, y_val)
    decimals = len(answer.split(".")[1])
    assert f"{rmse:.{decimals}f}" == answer, (
        f"RMSE {rmse:.5f} on {train_month} -> {val_month}, the homework says {answer}"
    )


def test_the_course_features_are_the_route_as_text_and_the_distance_of_trips_of_1_to_60_minutes():
    trips = synthetic_month(2023, 1, rows=2_000, seed=9)
    dicts, minutes = pipeline.course_model.prepare_course_features.fn(trips)
    kept = (trips.lpep_dropoff_datetime - trips.lpep_pickup_datetime).dt.total_seconds().between(60, 3600)
    assert len(dicts) == len(minutes) == kept.sum()
    assert minutes.min() >= 1 and minutes.max() <= 60
    first = trips[kept].iloc[0]
    assert dicts[0] == {"PU_DO": f"{first.PULocationID}_{first.DOLocationID}", "trip_distance": first.trip_distance}


def test_the_course_model_is_saved_in_formats_that_load_without_pickle(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_MODELS_DIR", str(tmp_path))
    dicts, minutes = pipeline.course_model.prepare_course_features.fn(synthetic_month(2023, 1, rows=2_000, seed=9))
    vectorizer, booster = pipeline.course_model.train_course_model.fn(
        dicts[:1500], minutes[:1500], dicts[1500:], minutes[1500:]
    )
    pipeline.course_model.save_course_model.fn(vectorizer, booster)
    loaded = pipeline.course_model.xgb.Booster(model_file=tmp_path / "course_xgboost.json")
    again = sio.load(tmp_path / "course_preprocessor.skops")  # a DictVectorizer: trusted by skops as it is
    before = booster.predict(pipeline.course_model.xgb.DMatrix(vectorizer.transform(dicts[1500:])))
    after = loaded.predict(pipeline.course_model.xgb.DMatrix(again.transform(dicts[1500:])))
    assert np.array_equal(before, after)
