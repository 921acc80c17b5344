"""The real NYC TLC files, when the run has them (CI sets COURSE_TLC_DIR to ../shared/data)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def real_month(month: str) -> Path:
    folder = os.environ.get("COURSE_TLC_DIR")
    if not folder:
        pytest.skip("COURSE_TLC_DIR not set: real TLC files not available")
    path = Path(folder) / f"green_tripdata_{month}.parquet"
    if not path.is_file():
        pytest.skip(f"{path} not found: real TLC file for {month} not available")
    return path
