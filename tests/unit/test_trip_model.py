"""The trip-duration model: accurate on real months, blind to what is only known after the trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coursekit.lesson import taxi, trip_model
from coursekit.lesson.taxi_synthetic import synthetic_month
from tests.support.tlc import real_month

AFTER_THE_TRIP = {"fare_amount", "extra", "mta_tax", "tip_amount", "tolls_amount", "ehail_fee",
                  "improvement_surcharge", "total_amount", "payment_type", "congestion_surcharge",
                  "lpep_dropoff_datetime"}  # fmt: skip


def test_validation_rmse_on_real_january_to_february_is_at_most_4_6_minutes():
    train = taxi.read_month(real_month("2023-01"))
    val = taxi.read_month(real_month("2023-02"))
    X_train, y_train = trip_model.prepare(train)
    X_val, y_val = trip_model.prepare(val)
    score = trip_model.rmse(trip_model.train(X_train, y_train), X_val, y_val)
    assert score <= 4.6, f"validation RMSE {score:.3f} minutes is above the course's 4.6 bound"


def test_features_are_known_at_pickup():
    assert not AFTER_THE_TRIP & set(trip_model.FEATURES)


def test_predictions_ignore_everything_recorded_after_the_trip():
    trips = synthetic_month(2023, 1, rows=3_000, seed=1)
    model = trip_model.train(*trip_model.prepare(trips))
    scrambled = trips.copy()
    rng = np.random.default_rng(0)
    for column in AFTER_THE_TRIP - {"lpep_dropoff_datetime", "ehail_fee"}:
        scrambled[column] = rng.permutation(scrambled[column].to_numpy())
    before, _ = trip_model.prepare(trips)
    after, _ = trip_model.prepare(scrambled)
    assert np.array_equal(model.predict(before), model.predict(after))


def test_only_trips_of_one_to_sixty_minutes_are_kept():
    trips = synthetic_month(2023, 1, rows=5_000, seed=2)
    X, y = trip_model.prepare(trips)
    assert len(X) == len(y) < len(trips) and y.min() >= 1 and y.max() <= 60


def test_a_month_with_no_usable_trip_says_how_many_came_in_and_why_none_is_left():
    trips = synthetic_month(2023, 1, rows=500)
    trips["lpep_dropoff_datetime"] = trips["lpep_pickup_datetime"]  # every trip lasts 0 minutes
    with pytest.raises(trip_model.NoTripsLeft, match=r"500 rows came in.*1-60 minutes"):
        trip_model.prepare(trips)


def test_missing_columns_are_named():
    trips = synthetic_month(2023, 1, rows=100).drop(columns=["trip_distance"])
    with pytest.raises(trip_model.MissingColumns, match="trip_distance"):
        trip_model.prepare(trips)


def test_dtypes_of_other_tlc_months_give_the_same_features():
    trips = synthetic_month(2023, 1, rows=2_000, seed=3)
    other = trips.astype({"PULocationID": "int32", "DOLocationID": "int32", "VendorID": "int32"})
    other["RatecodeID"] = other["RatecodeID"].astype("Int64")
    other["ehail_fee"] = other["ehail_fee"].astype("float64")
    pd.testing.assert_frame_equal(trip_model.prepare(trips)[0], trip_model.prepare(other)[0])


def test_training_is_deterministic():
    X, y = trip_model.prepare(synthetic_month(2023, 1, rows=3_000, seed=4))
    assert np.array_equal(trip_model.train(X, y).predict(X), trip_model.train(X, y).predict(X))
