"""A bank's customers and whether they left: the dataset of lesson 2's classification flow.

Generated here, deterministically, in the shape of the well-known bank-churn table (credit score,
country, gender, age, tenure, balance, products, card, activity, salary -> Exited), so the lesson
needs no download and no account. Churn depends on the features the way it does in the real table:
older, inactive customers, customers in Germany, and those with three or more products leave more
often. A few values are missing, as in any export from a real system.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from coursekit.files import atomic_file

NUMERIC = ["CreditScore", "Age", "Tenure", "Balance", "NumOfProducts", "HasCrCard", "IsActiveMember", "EstimatedSalary"]
CATEGORICAL = ["Geography", "Gender"]
TARGET = "Exited"


def make_customers(rows: int = 10_000, seed: int = 42) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    geography = rng.choice(["France", "Germany", "Spain"], rows, p=[0.5, 0.25, 0.25])
    gender = rng.choice(["Male", "Female"], rows, p=[0.55, 0.45])
    age = np.clip(rng.gamma(9, 4.3, rows), 18, 92).round()
    tenure = rng.integers(0, 11, rows)
    balance = np.where(rng.random(rows) < 0.36, 0.0, rng.normal(119_000, 30_000, rows).clip(0)).round(2)
    products = rng.choice([1, 2, 3, 4], rows, p=[0.50, 0.46, 0.027, 0.013])
    active = (rng.random(rows) < 0.52).astype(int)
    logit = (
        -2.1
        + 0.075 * (age - 38)
        + 0.9 * (geography == "Germany")
        + 0.5 * (gender == "Female")
        - 1.0 * active
        - 0.6 * (products == 2)
        + 2.6 * (products >= 3)
        + 0.3 * (balance > 0)
    )
    customers = pd.DataFrame(
        {
            "CustomerId": np.arange(15_600_000, 15_600_000 + rows),
            "CreditScore": rng.normal(650, 96, rows).clip(350, 850).round(),
            "Geography": geography,
            "Gender": gender,
            "Age": age,
            "Tenure": tenure,
            "Balance": balance,
            "NumOfProducts": products,
            "HasCrCard": (rng.random(rows) < 0.7).astype(int),
            "IsActiveMember": active,
            "EstimatedSalary": rng.uniform(11, 200_000, rows).round(2),
            TARGET: (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int),
        }
    )
    # Missing values, as in a real export: the flow's preprocessing has to fill them.
    for column, share in {"CreditScore": 0.02, "Age": 0.01, "Geography": 0.01, "EstimatedSalary": 0.02}.items():
        customers.loc[rng.random(rows) < share, column] = np.nan if column != "Geography" else None
    return customers


def write_customers(path: Path, rows: int = 10_000, seed: int = 42) -> Path:
    """Generate the table and write it to a CSV file, whole or not at all; the flow reads it back."""
    with atomic_file(path) as part:
        make_customers(rows, seed).to_csv(part, index=False)
    return path
