"""A synthetic month of NYC green-taxi trips with the exact TLC schema: the course's offline data.

Not random noise: distances follow a fixed made-up map of the 265 zones, durations follow distance,
zones and hour (rush hours are slow), and a small share of rows is as broken as in real months, so
the lesson's filters and model behave as they do on real data.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from coursekit.lesson.taxi import DEFAULT_ROWS, GREEN_SCHEMA

# Shares of pickups (%) in the busiest zones of the real 2023 files; the other zones share the rest.
_BUSY_ZONES = {74: 19, 75: 13, 41: 6, 166: 6, 95: 5.5, 82: 4.3, 43: 4.2, 97: 3.2, 7: 2.9, 244: 2.6, 42: 2.6}
_PICKUPS_BY_HOUR = np.array(
    [17, 13, 10, 9, 7, 6, 15, 39, 47, 52, 53, 55, 56, 59, 65, 75, 76, 77, 77, 62, 47, 35, 28, 22]
)


@cache
def _city() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A made-up but fixed geography of zones 1..265: the same city every month, so months compare."""
    rng = np.random.default_rng(265)
    xy = rng.uniform(0, 14, (266, 2))  # zone centres in miles; row 0 stays unused (ids start at 1)
    xy[list(_BUSY_ZONES)] = rng.normal(7, 1.2, (len(_BUSY_ZONES), 2))  # the busy zones are neighbours
    miles = np.abs(xy[:, None] - xy[None]).sum(axis=2) * 1.1 + 0.5  # streets, not straight lines
    pickups = rng.pareto(2.0, 266) + 0.02
    pickups *= (100 - sum(_BUSY_ZONES.values())) / pickups.sum()
    pickups[list(_BUSY_ZONES)] = list(_BUSY_ZONES.values())
    pickups[0] = 0
    # Riders mostly go somewhere near, rather to popular places, now and then far across the city.
    pairs = (pickups[None] ** 0.3 + 0.3) * (np.exp(-miles / 1.2) + 0.004)
    pairs[:, 0] = 0
    pairs *= (pickups / pickups.sum())[:, None] / pairs.sum(axis=1, keepdims=True)
    slowness = rng.uniform(0.85, 1.2, 266)  # some zones are congested, some are not
    charged = rng.random(266) < 0.25  # drop-offs here pay the congestion surcharge
    return miles, pairs.ravel(), slowness, charged


def synthetic_month(year: int, month: int, rows: int | None = None, seed: int | None = None) -> pd.DataFrame:
    """Made-up trips with the columns and dtypes pandas reads from the real 2023-01 file; the same
    arguments give the same trips. Distance follows the zone pair; duration the distance, the zones and
    the hour (rush hours are slow); and a few rows are as broken as in real months."""
    n = DEFAULT_ROWS if rows is None else rows
    rng = np.random.default_rng([seed or 0, year, month])
    miles, pairs, slowness, charged = _city()
    pu, do = np.divmod(rng.choice(pairs.size, n, p=pairs), 266)
    first = pd.Timestamp(year, month, 1)
    weekday = (first.day_of_week + np.arange(first.days_in_month)) % 7
    day = rng.choice(weekday.size, n, p=(w := np.where(weekday < 5, 1.0, 0.82)) / w.sum())
    hour = rng.choice(24, n, p=_PICKUPS_BY_HOUR / _PICKUPS_BY_HOUR.sum())
    seconds = day * 86_400 + hour * 3_600 + rng.integers(0, 3_600, n)
    pickup = np.datetime64(first.date(), "us") + seconds.astype("timedelta64[s]")

    distance = miles[pu, do] * rng.lognormal(0, 0.35, n)
    rush = (weekday[day] < 5) & (((hour >= 7) & (hour < 10)) | ((hour >= 15) & (hour < 19)))
    night = (hour < 6) | (hour >= 21)
    mph = np.where(rush, 10.0, np.where(night, 14.0, 12.0)) * (0.8 + 0.2 * np.log1p(distance))  # highways
    minutes = 1 + distance / mph * 60 * np.sqrt(slowness[pu] * slowness[do]) * rng.lognormal(0, 0.35, n)
    ratecode = rng.choice([1, 5, 2, 4, 3, 99], n, p=[0.972, 0.024, 0.0025, 0.0009, 0.0005, 0.0001])
    payment = rng.choice([1, 2, 3, 4], n, p=[0.64, 0.351, 0.007, 0.002])  # card, cash, no charge, dispute
    fare = np.round(2.5 + 2.7 * distance + 0.45 * minutes, 1)  # like the meter: a start, miles, minutes
    tip = np.where((payment == 1) & (rng.random(n) < 0.8), fare * rng.uniform(0.1, 0.3, n), 0)  # by card
    congestion = np.where(charged[do], 2.75, 0.0)
    amounts = {
        "fare_amount": fare,
        "extra": np.where(night, 1.0, np.where(rush & (hour >= 15), 2.5, 0.0)),
        "mta_tax": np.full(n, 0.5),
        "tip_amount": np.round(tip, 2),
        "tolls_amount": np.where(rng.random(n) < 0.025, 6.55, 0.0),
        "improvement_surcharge": np.ones(n),
    }
    unmetered = rng.random(n) < 0.065  # trips without the meter's fields: all of them missing together
    total = np.round(sum(amounts.values()) + np.where(unmetered, 0, congestion), 2)

    # The errors real months have, each in a small share of rows (after the fare: the meter was right).
    glitches = {
        "none": 0.9514,
        "no distance": 0.04,
        "no time": 0.001,
        "backwards": 0.0002,
        "meter left on": 0.004,
        "odometer": 0.0005,
        "refund": 0.0029,
    }
    glitch = rng.choice(list(glitches), n, p=list(glitches.values()))
    distance[glitch == "no distance"] = 0.0
    distance[glitch == "odometer"] *= 5_000
    minutes[glitch == "no time"] = 0.0
    minutes[glitch == "backwards"] *= -1
    minutes[glitch == "meter left on"] = rng.uniform(180, 1440, n)[glitch == "meter left on"]
    for values in (*amounts.values(), total):
        values[glitch == "refund"] *= -1

    def unless_unmetered(values: np.ndarray) -> np.ndarray:
        return np.where(unmetered, np.nan, values)

    flag = np.where(rng.random(n) < 0.005, "Y", "N").astype(object)
    flag[unmetered] = None
    trips = pd.DataFrame(
        {
            "VendorID": rng.choice([2, 1], n, p=[0.86, 0.14]),
            "lpep_pickup_datetime": pickup,
            "lpep_dropoff_datetime": pickup + np.round(minutes * 60).astype("timedelta64[s]"),
            "store_and_fwd_flag": pd.array(flag, dtype="str"),
            "RatecodeID": unless_unmetered(ratecode),
            "PULocationID": pu,
            "DOLocationID": do,
            "passenger_count": unless_unmetered(
                rng.choice([1, 2, 5, 6, 3, 4, 0], n, p=[0.85, 0.08, 0.028, 0.016, 0.015, 0.006, 0.005])
            ),
            "trip_distance": np.round(distance, 2),
            **amounts,
            "ehail_fee": np.full(n, None, dtype=object),
            "total_amount": total,
            "payment_type": unless_unmetered(payment),
            "trip_type": unless_unmetered(np.where(ratecode == 5, 2, 1)),
            "congestion_surcharge": unless_unmetered(congestion),
        }
    )
    return trips[GREEN_SCHEMA.names].sort_values("lpep_pickup_datetime", ignore_index=True)
