"""NYC TLC green-taxi trips, one month at a time: find the file, fetch it if needed, read it checked.

`read_month("2023-01")` is all a lesson needs. Behind it, `resolve` looks in this order:
  1. `data/green_tripdata_2023-01.parquet` (already fetched: the data dir is a cache);
  2. `$COURSE_TLC_DIR/green_tripdata_2023-01.parquet` (a local mirror, e.g. in CI), copied into `data/`;
  3. the TLC download site (`$TLC_BASE_URL`);
  4. if the download fails: a synthetic month with the exact TLC schema, with a notice saying so
     (`COURSE_OFFLINE_DATA=0` turns this fallback into an error).
Every file lands in the data dir through a temporary `*.part` file and an atomic rename, so a failure
at any point never leaves a half-written parquet behind.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import requests

from coursekit import console
from coursekit.files import atomic_file
from coursekit.lesson import paths

DEFAULT_BASE_URL = "https://d37ci6vzurychx.cloudfront.net/trip-data"
FIRST_MONTH = "2013-08"  # the first month of green-taxi data
PUBLISH_LAG_MONTHS = 2  # TLC publishes a month about two months after it ends
TIMEOUTS = (10, 60)  # seconds to connect, and to wait for each chunk
DEFAULT_ROWS = 65_000  # about one real month

# What the course's model and reports read; every green file since 2013 has these.
REQUIRED_COLUMNS = ("lpep_pickup_datetime", "lpep_dropoff_datetime", "PULocationID", "DOLocationID", "trip_distance")

_I, _F, _T, _S = pa.int64(), pa.float64(), pa.timestamp("us"), pa.string()
# The arrow schema of the real green_tripdata_2023-01.parquet, column for column.
GREEN_SCHEMA = pa.schema(
    [
        ("VendorID", _I),
        ("lpep_pickup_datetime", _T),
        ("lpep_dropoff_datetime", _T),
        ("store_and_fwd_flag", _S),
        ("RatecodeID", _F),
        ("PULocationID", _I),
        ("DOLocationID", _I),
        ("passenger_count", _F),
        ("trip_distance", _F),
        ("fare_amount", _F),
        ("extra", _F),
        ("mta_tax", _F),
        ("tip_amount", _F),
        ("tolls_amount", _F),
        ("ehail_fee", pa.null()),
        ("improvement_surcharge", _F),
        ("total_amount", _F),
        ("payment_type", _F),
        ("trip_type", _F),
        ("congestion_surcharge", _F),
    ]
)
# One dtype per column whatever the month: TLC files differ (int32 or int64 ids, ehail_fee null or double).
_PANDAS = {_I: "int64", _F: "float64", pa.null(): "float64", _S: "str", _T: "datetime64[us]"}
NORMAL_DTYPES = {field.name: _PANDAS[field.type] for field in GREEN_SCHEMA}

_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


class TaxiDataError(ValueError):
    """The trip data asked for cannot be used; the message says what is wrong and what to do."""


def latest_published_month(today: date | None = None) -> str:
    today = today or date.today()
    index = today.year * 12 + today.month - 1 - PUBLISH_LAG_MONTHS
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def validate(month_or_path: str | Path) -> str | Path:
    """Check a month ("2023-01") or a parquet path without fetching anything; return it parsed.

    Raises TaxiDataError saying what is wrong: a badly written month, a month TLC has no data for,
    or a path to nothing.
    """
    text = os.fspath(month_or_path)
    if _MONTH.fullmatch(text):
        return _published(text)
    path = Path(text).expanduser()
    if path.is_file():
        return path
    if _looks_like_a_path(text):
        raise TaxiDataError(f"No such file: {path}. Check the path, or give a month such as 2023-01.")
    raise TaxiDataError(
        f"{text!r} is not a month. Write it as YYYY-MM, e.g. 2023-01 for January 2023 "
        "(or give the path of a .parquet file)."
    )


def resolve(month_or_path: str | Path) -> Path:
    """The local parquet file for a month ("2023-01"), fetching it if needed; a parquet path as it is."""
    parsed = validate(month_or_path)
    return parsed if isinstance(parsed, Path) else _local_month(parsed)


def _looks_like_a_path(text: str) -> bool:
    # "2023/01" has a slash, yet it is a month written wrong: digits and slashes alone are no path.
    has_slash = "/" in text or "\\" in text
    return text.endswith(".parquet") or (has_slash and not re.fullmatch(r"[\d/\\]+", text))


def _published(month: str) -> str:
    latest = latest_published_month()
    if not FIRST_MONTH <= month <= latest:  # zero-padded "YYYY-MM" strings sort like the months
        raise TaxiDataError(
            f"There is no green-taxi data for {month}: TLC publishes the months from "
            f"{FIRST_MONTH} to {latest}. Pick one of those, e.g. 2023-01."
        )
    return month


def _local_month(month: str) -> Path:
    name = f"green_tripdata_{month}.parquet"
    target = paths.data_dir() / name
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    mirror = os.environ.get("COURSE_TLC_DIR")
    if mirror and (Path(mirror) / name).is_file():
        # A copy, not the mirror's path: the data dir stays the one place the course reads from, so
        # later runs (and workers that never saw COURSE_TLC_DIR) find the file too.
        with atomic_file(target) as part:
            shutil.copyfile(Path(mirror) / name, part)
            try:  # checked as a download is: a broken mirror file must not become the cached month
                pq.read_metadata(part)
            except (pa.ArrowException, OSError) as err:
                raise TaxiDataError(
                    f"{Path(mirror) / name} (in COURSE_TLC_DIR) is not a readable parquet file ({err}). "
                    "Replace it with the TLC file, or unset COURSE_TLC_DIR to download the month."
                ) from None
        console.ok(f"Copied {name} from the local mirror {mirror}")
        return target
    if mirror:
        console.warn(f"COURSE_TLC_DIR={mirror} holds no {name}; downloading it instead.")
    url = f"{os.environ.get('TLC_BASE_URL', DEFAULT_BASE_URL).rstrip('/')}/{name}"
    try:
        _download(url, target)
    except Exception as err:  # offline, DNS, timeout, HTTP error, cut-off or broken file: all the same to us
        return _synthetic_instead(month, url, err)
    return target


def _download(url: str, target: Path) -> None:
    # identity encoding: the bytes received must add up to Content-Length to prove the file complete.
    with requests.get(url, stream=True, timeout=TIMEOUTS, headers={"Accept-Encoding": "identity"}) as reply:
        reply.raise_for_status()
        total = int(reply.headers.get("Content-Length") or 0)
        with atomic_file(target) as part:
            received = _save_with_progress(reply, part, target.name, total)
            if total and received != total:
                raise OSError(f"the connection broke off after {received:,} of {total:,} bytes")
            pq.read_metadata(part)  # a truncated or non-parquet body fails here, before it is moved in
    console.ok(f"Downloaded {target.name} ({received / 1e6:.1f} MB) into {target.parent}")


def _save_with_progress(reply: requests.Response, part: Path, name: str, total: int) -> int:
    received, shown = 0, None
    try:
        with part.open("wb") as out:
            for chunk in reply.iter_content(chunk_size=64 * 1024):
                out.write(chunk)
                received += len(chunk)
                percent = received * 100 // total if total else received // 1_000_000
                if percent != shown:  # redraw only when the figure changes: logs stay short
                    print(f"\r… downloading {name}  {_progress(received, total)}", end="", flush=True)
                    shown = percent
    finally:
        print(flush=True)  # end the progress line, also when the download breaks off
    return received


def _progress(received: int, total: int) -> str:
    if not total:  # the server did not say how big the file is
        return f"{received / 1e6:.1f} MB"
    return f"{received * 100 // total:3d}% {received / 1e6:.1f}/{total / 1e6:.1f} MB"


def _why(err: Exception) -> str:
    if isinstance(err, requests.HTTPError) and err.response is not None:
        return f"the server answered HTTP {err.response.status_code} {err.response.reason}"
    if isinstance(err, requests.Timeout):
        return "the server did not answer in time"
    if isinstance(err, requests.exceptions.ChunkedEncodingError):  # fewer bytes came than were announced
        return "the connection broke off before the whole file arrived"
    if isinstance(err, requests.ConnectionError):
        return "no connection to the server (offline, DNS or firewall?)"
    return f"the download failed ({err})"


def _synthetic_instead(month: str, url: str, err: Exception) -> Path:
    name = f"green_tripdata_{month}.parquet"
    real_data = f"connect to the internet and run again, or set COURSE_TLC_DIR to a folder holding {name}"
    if os.environ.get("COURSE_OFFLINE_DATA", "1").lower() in {"0", "false", "no", "off"}:
        raise TaxiDataError(
            f"Could not download {url}: {_why(err)}. The synthetic fallback is off "
            f"(COURSE_OFFLINE_DATA=0). To go on, {real_data}."
        ) from err
    from coursekit.lesson.taxi_synthetic import synthetic_month

    target = paths.data_dir() / f"green_tripdata_{month}.synthetic.parquet"
    if not target.is_file():  # the same month is the same made-up trips: made once, then reused
        year, number = (int(part) for part in month.split("-"))
        table = pa.Table.from_pandas(synthetic_month(year, number), schema=GREEN_SCHEMA, preserve_index=False)
        with atomic_file(target) as part:
            pq.write_table(table, part)
    if _synthetic_said:  # the notice in full once per process (one run), a reminder for each other month
        if month not in _synthetic_said:
            console.warn(f"{month} is SYNTHETIC too (no download): {target}")
    else:
        console.warn(
            f"Could not download {url}: {_why(err)}.\n"
            f"  Using a SYNTHETIC {month} instead (exact TLC schema, made-up trips): {target}\n"
            f"  For the real data, {real_data}. Results on synthetic months are marked as such."
        )
    _synthetic_said.add(month)
    return target


_synthetic_said: set[str] = set()  # the months this process has said are synthetic


def read_month(month_or_path: str | Path) -> pd.DataFrame:
    """One month of green-taxi trips, checked, with the same dtypes whichever TLC file it came from."""
    path = resolve(month_or_path)
    try:
        trips = pd.read_parquet(path)
    except (pa.ArrowException, OSError) as err:
        raise TaxiDataError(
            f"{path} is not a readable parquet file ({err}). If it is a download, delete it "
            "and run again to fetch it afresh."
        ) from err
    if "tpep_pickup_datetime" in trips.columns:
        raise TaxiDataError(
            f"{path} is yellow-taxi data (tpep_* columns); the course uses green-taxi files "
            "(green_tripdata_YYYY-MM.parquet, lpep_* columns)."
        )
    missing = [column for column in REQUIRED_COLUMNS if column not in trips.columns]
    if missing:
        raise TaxiDataError(
            f"{path} lacks the column(s) {', '.join(missing)} that the course needs. "
            "Use a TLC green-taxi file (green_tripdata_YYYY-MM.parquet)."
        )
    for column, dtype in NORMAL_DTYPES.items():
        if column in trips.columns:
            nullable = dtype == "int64" and trips[column].isna().any()  # only pandas' Int64 can hold gaps
            try:
                trips[column] = trips[column].astype("Int64" if nullable else dtype)
            except (TypeError, ValueError) as err:
                raise TaxiDataError(f"{path}: column {column} does not hold {dtype} values ({err}).") from err
    trips.attrs["source"] = str(path)  # is_synthetic() reads it: synthetic data is never passed off as real
    return trips


def is_synthetic(trips: pd.DataFrame) -> bool:
    """True for trips read from a synthetic month (the offline stand-in), which results must say."""
    return ".synthetic." in Path(trips.attrs.get("source", "")).name
