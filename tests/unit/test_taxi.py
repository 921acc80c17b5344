"""coursekit.lesson.taxi: month names, the fetch chain (cache, mirror, download, synthetic), and read checks.

No test reaches the internet: a local http.server plays the TLC download site, and every other test
points TLC_BASE_URL at a closed port. The real TLC files are only read, from COURSE_TLC_DIR, when set.
"""

from __future__ import annotations

import http.server
import io
import os
import re
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from coursekit.lesson import taxi
from coursekit.lesson.taxi_synthetic import synthetic_month

REAL_TLC_DIR = os.environ.get("COURSE_TLC_DIR")  # read now: the fixture below clears it for every test
MONTH = "2023-01"
NAME = f"green_tripdata_{MONTH}.parquet"
CLOSED_PORT_URL = "http://127.0.0.1:9"  # nothing listens on the discard port: "offline"


@pytest.fixture(autouse=True)
def data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TLC_BASE_URL", CLOSED_PORT_URL)
    monkeypatch.delenv("COURSE_TLC_DIR", raising=False)
    monkeypatch.delenv("COURSE_OFFLINE_DATA", raising=False)
    monkeypatch.setattr(taxi, "_synthetic_said", set())  # each test is a process of its own
    return tmp_path / "data"


def parquet_bytes(trips: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    trips.to_parquet(buffer, index=False)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def small_month() -> pd.DataFrame:
    return synthetic_month(2023, 1, rows=2_000, seed=7)


class FakeTLC:
    """The TLC download site on a free local port; `mode` makes it misbehave: 404, cut, garbage."""

    def __init__(self, body: bytes) -> None:
        self.body, self.mode, self.hits = body, "ok", 0
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.hits += 1
                if site.mode == "404" or self.path != f"/{NAME}":
                    self.send_error(404)
                    return
                body = b"<html>Access denied</html>" if site.mode == "garbage" else site.body
                promised = len(body) + (10_000 if site.mode == "cut" else 0)
                self.send_response(200)
                self.send_header("Content-Length", str(promised))
                self.end_headers()
                # "cut": half the body, then the connection closes (HTTP/1.0) short of Content-Length.
                self.wfile.write(body[: len(body) // 2] if site.mode == "cut" else body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def tlc(monkeypatch: pytest.MonkeyPatch, small_month: pd.DataFrame) -> Iterator[FakeTLC]:
    site = FakeTLC(parquet_bytes(small_month))
    threading.Thread(target=site.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    monkeypatch.setenv("TLC_BASE_URL", site.url)
    yield site
    site.server.shutdown()
    site.server.server_close()


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --- synthetic months --------------------------------------------------------------------------------


def real_files() -> list[Path]:
    if not REAL_TLC_DIR:
        pytest.skip("COURSE_TLC_DIR not set: real TLC files not available")
    files = sorted(Path(REAL_TLC_DIR).glob("green_tripdata_*.parquet"))
    if not files:
        pytest.skip(f"COURSE_TLC_DIR={REAL_TLC_DIR} holds no green_tripdata_*.parquet")
    return files


def test_synthetic_month_has_the_columns_and_dtypes_of_the_real_files() -> None:
    files = real_files()
    synthetic = synthetic_month(2023, 1)
    for real_file in files:
        assert list(pq.read_schema(real_file).names) == list(synthetic.columns), real_file.name
    january = Path(REAL_TLC_DIR) / NAME
    if january.exists():  # months differ in raw dtypes (int32 ids in 2023-02); the synthetic one is 2023-01's
        assert synthetic.dtypes.to_dict() == pd.read_parquet(january).dtypes.to_dict()


def test_synthetic_file_has_the_real_arrow_schema_and_all_months_read_alike() -> None:
    files = real_files()
    synthetic_file = taxi.resolve(MONTH)  # offline here, so this writes the synthetic month
    assert synthetic_file.name == f"green_tripdata_{MONTH}.synthetic.parquet"
    january = Path(REAL_TLC_DIR) / NAME
    if january.exists():
        real_schema = pq.read_schema(january).remove_metadata()
        assert pq.read_schema(synthetic_file).remove_metadata().equals(real_schema)
        assert pd.read_parquet(synthetic_file).dtypes.to_dict() == pd.read_parquet(january).dtypes.to_dict()
    expected = taxi.read_month(synthetic_file).dtypes.to_dict()
    for real_file in files:
        assert taxi.read_month(str(real_file)).dtypes.to_dict() == expected, real_file.name


def test_synthetic_month_is_deterministic() -> None:
    once = synthetic_month(2023, 3, rows=5_000)
    pd.testing.assert_frame_equal(once, synthetic_month(2023, 3, rows=5_000))
    assert not once.equals(synthetic_month(2023, 3, rows=5_000, seed=1))
    assert not once.equals(synthetic_month(2023, 4, rows=5_000))
    assert len(once) == 5_000


def test_synthetic_month_looks_like_real_trips() -> None:
    trips = synthetic_month(2023, 1)
    minutes = (trips.lpep_dropoff_datetime - trips.lpep_pickup_datetime).dt.total_seconds() / 60
    clean = minutes.between(1, 60) & trips.trip_distance.between(0.1, 50)
    assert np.corrcoef(trips.trip_distance[clean], minutes[clean])[0, 1] > 0.6
    speed = trips.trip_distance[clean] / minutes[clean]
    hour = trips.lpep_pickup_datetime[clean].dt.hour
    assert speed[hour.between(7, 9)].median() < speed[(hour < 5)].median()  # rush hours are slower

    assert trips.lpep_pickup_datetime.between("2023-01-01", "2023-02-01", inclusive="left").all()
    assert trips.PULocationID.between(1, 265).all() and trips.DOLocationID.between(1, 265).all()
    assert trips.PULocationID.value_counts(normalize=True).iloc[0] > 0.1  # a few zones dominate
    assert trips.ehail_fee.isna().all()
    missing = trips.RatecodeID.isna()
    assert 0.05 <= missing.mean() <= 0.10
    together = ("passenger_count", "payment_type", "trip_type", "store_and_fwd_flag", "congestion_surcharge")
    for column in together:
        assert trips[column].isna().equals(missing), column  # missing together, as in TLC files
    assert (minutes <= 0).any() and (minutes > 180).any() and (trips.trip_distance == 0).any()
    assert (trips.fare_amount < 0).any()
    assert 0.9 < clean.mean() < 0.99  # outliers are few


# --- resolve: month names and range ------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["2023-1", "2023/01", "23-01", "2023-13", "january"])
def test_badly_written_months_explain_the_form(bad: str) -> None:
    with pytest.raises(taxi.TaxiDataError, match=r"YYYY-MM, e\.g\. 2023-01"):
        taxi.resolve(bad)


def test_latest_month_follows_the_calendar() -> None:
    assert taxi.latest_published_month(date(2024, 3, 10)) == "2024-01"
    assert taxi.latest_published_month(date(2024, 1, 31)) == "2023-11"


@pytest.mark.parametrize("month", ["2013-07", "1999-12", f"{date.today().year + 1}-01"])
def test_months_without_data_list_the_range(month: str) -> None:
    with pytest.raises(taxi.TaxiDataError, match="from 2013-08 to " + taxi.latest_published_month()):
        taxi.resolve(month)


def test_an_existing_parquet_path_is_returned_as_it_is(tmp_path: Path, small_month: pd.DataFrame) -> None:
    path = tmp_path / "my trips.parquet"
    small_month.to_parquet(path)
    assert taxi.resolve(str(path)) == path
    assert len(taxi.read_month(path)) == len(small_month)


@pytest.mark.parametrize("missing", ["nowhere/trips.parquet", "trips.parquet"])
def test_a_missing_path_is_named(missing: str) -> None:
    with pytest.raises(taxi.TaxiDataError, match=f"No such file: {missing}"):
        taxi.resolve(missing)


# --- resolve: cache, mirror, download, fallback ------------------------------------------------------


def test_download_shows_progress_and_is_cached(
    tlc: FakeTLC, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = taxi.resolve(MONTH)
    assert path == data_dir / NAME and path.read_bytes() == tlc.body
    out = capsys.readouterr().out
    assert f"\r… downloading {NAME}" in out and "100%" in out
    assert taxi.resolve(MONTH) == path
    assert tlc.hits == 1  # the second call used the cached file
    assert files_in(data_dir) == [NAME]


@pytest.mark.parametrize(("mode", "why"), [("404", "HTTP 404"), ("cut", "broke off"), ("garbage", "magic bytes")])
def test_failed_download_falls_back_to_a_synthetic_month(
    tlc: FakeTLC, data_dir: Path, capsys: pytest.CaptureFixture[str], mode: str, why: str
) -> None:
    tlc.mode = mode
    path = taxi.resolve(MONTH)
    assert path == data_dir / f"green_tripdata_{MONTH}.synthetic.parquet"
    assert files_in(data_dir) == [path.name]  # no *.part, no half-downloaded green_tripdata_2023-01.parquet
    out = capsys.readouterr().out
    assert re.search(why, out), out
    assert "Could not download" in out and "SYNTHETIC" in out and "COURSE_TLC_DIR" in out
    assert len(taxi.read_month(MONTH)) == taxi.DEFAULT_ROWS


def test_offline_falls_back_with_a_notice(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = taxi.resolve(MONTH)
    assert path.name.endswith(".synthetic.parquet")
    assert "no connection" in capsys.readouterr().out


def test_the_synthetic_notice_is_said_once_per_process(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    taxi.read_month("2023-01")
    first = capsys.readouterr().out
    taxi.read_month("2023-02")
    taxi.read_month("2023-01")  # the same month again: its file is reused, and nothing more is said
    again = capsys.readouterr().out
    assert first.count("Using a SYNTHETIC 2023-01 instead") == 1
    synthetic_feb = data_dir / "green_tripdata_2023-02.synthetic.parquet"
    assert again.strip() == f"! 2023-02 is SYNTHETIC too (no download): {synthetic_feb}"


def test_fallback_can_be_switched_off(tlc: FakeTLC, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_OFFLINE_DATA", "0")
    tlc.mode = "404"
    with pytest.raises(taxi.TaxiDataError, match=r"HTTP 404.*COURSE_OFFLINE_DATA=0.*COURSE_TLC_DIR"):
        taxi.resolve(MONTH)
    assert files_in(data_dir) == []


def test_a_broken_file_in_the_mirror_is_refused_and_never_cached(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / NAME).write_bytes(b"PAR1 not really a parquet file")
    monkeypatch.setenv("COURSE_TLC_DIR", str(mirror))
    with pytest.raises(
        taxi.TaxiDataError, match=r"in COURSE_TLC_DIR\) is not a readable parquet file .*unset COURSE_TLC_DIR"
    ):
        taxi.resolve(MONTH)
    assert files_in(data_dir) == []  # nothing cached, no *.part: the next run reads the mirror again


@pytest.mark.readme("export COURSE_TLC_DIR=/folder/with/tlc/files", because="a folder of the test's own")
def test_mirror_is_copied_without_touching_it(
    tlc: FakeTLC, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / NAME).write_bytes(tlc.body)
    before = (mirror / NAME).stat()
    monkeypatch.setenv("COURSE_TLC_DIR", str(mirror))
    path = taxi.resolve(MONTH)
    assert path == data_dir / NAME and path.read_bytes() == tlc.body
    assert tlc.hits == 0
    assert (mirror / NAME).stat().st_mtime_ns == before.st_mtime_ns and files_in(mirror) == [NAME]


def test_mirror_without_the_month_falls_through_to_download(
    tlc: FakeTLC, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COURSE_TLC_DIR", str(tmp_path))
    assert taxi.resolve(MONTH).read_bytes() == tlc.body
    assert tlc.hits == 1


# --- read_month: checks and dtype normalisation ------------------------------------------------------


def test_yellow_taxi_file_is_refused(tmp_path: Path, small_month: pd.DataFrame) -> None:
    yellow = small_month.rename(columns=lambda c: c.replace("lpep_", "tpep_"))
    yellow.to_parquet(tmp_path / "yellow_tripdata_2023-01.parquet")
    with pytest.raises(taxi.TaxiDataError, match=r"yellow-taxi data \(tpep_\* columns\).*green_tripdata"):
        taxi.read_month(str(tmp_path / "yellow_tripdata_2023-01.parquet"))


def test_missing_columns_are_named(tmp_path: Path, small_month: pd.DataFrame) -> None:
    small_month.drop(columns=["trip_distance", "DOLocationID"]).to_parquet(tmp_path / "partial.parquet")
    with pytest.raises(taxi.TaxiDataError, match="DOLocationID, trip_distance"):
        taxi.read_month(str(tmp_path / "partial.parquet"))


@pytest.mark.parametrize("content", [b"", b"this is not a parquet file" * 100])
def test_corrupted_parquet_is_named(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "x.parquet").write_bytes(content)
    with pytest.raises(taxi.TaxiDataError, match=r"x\.parquet is not a readable parquet file"):
        taxi.read_month(str(tmp_path / "x.parquet"))


def test_corrupted_cached_month_is_named(data_dir: Path) -> None:
    data_dir.mkdir()
    (data_dir / NAME).write_bytes(b"PAR1 cut short")
    with pytest.raises(taxi.TaxiDataError, match=f"{NAME} is not a readable parquet.*delete it"):
        taxi.read_month(MONTH)


def test_tlc_dtype_variants_read_alike(tmp_path: Path, small_month: pd.DataFrame) -> None:
    """Real TLC months differ: int32 ids (2023-02), ehail_fee double, nullable ints, ns timestamps."""
    base = pa.Table.from_pandas(small_month, schema=taxi.GREEN_SCHEMA, preserve_index=False)
    variant_types = {
        "VendorID": pa.int32(),
        "PULocationID": pa.int32(),
        "DOLocationID": pa.int32(),
        "ehail_fee": pa.float64(),
        "passenger_count": pa.int64(),
        "payment_type": pa.int64(),
        "store_and_fwd_flag": pa.large_string(),
        "lpep_pickup_datetime": pa.timestamp("ns"),
    }
    variant = pa.schema([pa.field(f.name, variant_types.get(f.name, f.type)) for f in taxi.GREEN_SCHEMA])
    pq.write_table(base, tmp_path / "base.parquet")
    pq.write_table(base.cast(variant), tmp_path / "variant.parquet")
    expected = taxi.read_month(str(tmp_path / "base.parquet"))
    got = taxi.read_month(str(tmp_path / "variant.parquet"))
    assert got.dtypes.to_dict() == taxi.NORMAL_DTYPES
    assert got["PULocationID"].dtype == np.int64
    pd.testing.assert_frame_equal(got, expected)
