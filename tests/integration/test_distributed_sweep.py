"""`kraamwacht sweep` and `replay` on Dask: a local cluster of two worker processes, and a running
`dask scheduler` with two `dask worker` processes as a real cluster has, give the same table and the
same alerts as one process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kraamwacht.waiting import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "cohort"
BIN = Path(sys.executable).parent
GRID = ["--grid", "rise.k_c=0.3,0.4,0.5", "--grid", "rise.h_c_epochs=10,20"]


def _sweep(out: Path, *extra: str, streams: Path | str = DATA / "streams.csv.gz") -> str:
    done = subprocess.run(
        [sys.executable, "-m", "kraamwacht.cli", "sweep", str(streams), "--labels",
         str(DATA / "labels.csv"), *GRID, "--out-dir", str(out), *extra],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return (out / "sweep.csv").read_text()


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _sweep(tmp_path_factory.mktemp("single"))


@pytest.fixture
def scheduler(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--dashboard-address", ":0"], env=env, stdout=subprocess.DEVNULL,
                              stderr=(tmp_path / "scheduler.log").open("w"))]  # fmt: skip
    try:
        wait_for_port(port, 60)
        for n in range(2):
            procs.append(subprocess.Popen([str(BIN / "dask"), "worker", f"tcp://127.0.0.1:{port}", "--nthreads", "1",
                                           "--nworkers", "1", "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
                                          stderr=(tmp_path / f"worker{n}.log").open("w")))  # fmt: skip
        yield f"tcp://127.0.0.1:{port}"
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_a_local_cluster_of_two_workers_gives_the_same_table(single: str, tmp_path: Path) -> None:
    assert single.count("\n") == 1 + 6  # the header and six settings
    assert _sweep(tmp_path / "two", "--workers", "2") == single


def test_a_running_scheduler_with_two_workers_gives_the_same_table(single: str, scheduler: str, tmp_path: Path) -> None:
    assert _sweep(tmp_path / "cluster", "--scheduler", scheduler) == single


def _replay(out: Path, *extra: str, streams: Path | str = DATA / "streams.csv.gz") -> bytes:
    done = subprocess.run(
        [sys.executable, "-m", "kraamwacht.cli", "replay", str(streams), "--subjects",
         str(DATA / "subjects.csv"), "--out", str(out), *extra],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return out.read_bytes() + Path(str(out) + ".coverage.csv").read_bytes()


def test_replay_on_two_workers_and_on_a_running_scheduler_writes_the_same_alerts(
    scheduler: str, tmp_path: Path
) -> None:
    one = _replay(tmp_path / "one.jsonl")
    assert one.count(b'"event": "raised"') >= 3  # something to compare: the cohort's alerts
    assert _replay(tmp_path / "two.jsonl", "--workers", "2") == one
    assert _replay(tmp_path / "cluster.jsonl", "--scheduler", scheduler) == one


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cohort as a Parquet dataset partitioned by subject (what `kraamwacht export --out DIR` writes)."""
    from kraamwacht.datasets import dataset_subjects
    from kraamwacht.recordings import read_streams, write_streams

    folder = tmp_path_factory.mktemp("dataset") / "streams"
    data = read_streams(DATA / "streams.csv.gz")
    write_streams(folder, ((s, k, t, v) for s, series in data.recordings.items() for k, (t, v) in series.items()))
    assert dataset_subjects(folder) == sorted(data.recordings)  # one partition per subject
    return folder


def test_workers_read_a_partitioned_dataset_and_give_the_same_alerts_and_table(
    dataset: Path, single: str, tmp_path: Path
) -> None:
    one = _replay(tmp_path / "one.jsonl")  # the CSV in one process
    assert _replay(tmp_path / "parts.jsonl", "--workers", "2", streams=dataset) == one
    assert _sweep(tmp_path / "parts", "--workers", "2", streams=dataset) == single


@pytest.fixture
def object_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An S3 endpoint over real HTTP (moto's server, the S3 API on a local port) with one bucket; the
    credentials and the endpoint in the environment, where s3fs reads them on this side and on the workers."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=(tmp_path / "s3.log").open("w"))  # fmt: skip
    try:
        wait_for_port(port, 60)
        for name, value in (("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}"), ("AWS_ACCESS_KEY_ID", "kraamwacht"),
                            ("AWS_SECRET_ACCESS_KEY", "test-only"), ("AWS_DEFAULT_REGION", "us-east-1")):  # fmt: skip
            monkeypatch.setenv(name, value)
        import s3fs

        s3fs.S3FileSystem(skip_instance_cache=True).mkdir("cohort")
        yield "s3://cohort"
    finally:
        server.terminate()
        server.wait(30)


def test_workers_read_a_dataset_from_an_object_store_and_give_the_same_alerts_and_table(
    object_store: str, single: str, tmp_path: Path
) -> None:
    """The national-registry case: the dataset in an object store, every worker reading its own subjects' partitions."""
    import s3fs

    from kraamwacht.datasets import dataset_subjects
    from kraamwacht.recordings import read_streams, write_streams

    url = f"{object_store}/streams"
    data = read_streams(DATA / "streams.csv.gz")
    write_streams(url, ((s, k, t, v) for s, series in data.recordings.items() for k, (t, v) in series.items()))
    assert dataset_subjects(url) == sorted(data.recordings)  # one partition per subject, listed over HTTP
    one = _replay(tmp_path / "one.jsonl")  # the CSV in one process
    assert _replay(tmp_path / "s3.jsonl", "--workers", "2", streams=url) == one
    assert _sweep(tmp_path / "s3", "--workers", "2", streams=url) == single
    assert _replay(tmp_path / "s3-here.jsonl", streams=url) == one  # without workers: read whole, here
    files = s3fs.S3FileSystem(skip_instance_cache=True).find("cohort/streams")  # what is in the bucket, by S3 itself
    assert {f.split("/")[2] for f in files if f.endswith(".parquet")} == {f"subject={s}" for s in data.recordings}


def test_export_writes_a_dataset_to_an_object_store_and_refuses_a_bad_url(object_store: str, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from kraamwacht.contract import SIGNAL_UNITS, Observation, Signal
    from kraamwacht.storage.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "live.db")
    t0 = datetime(2026, 11, 20, 8, tzinfo=UTC).timestamp()
    store.write([Observation(episode="ep1", subject=f"m{k}", device=f"wb{k}", signal=Signal.TEMPERATURE_C, value=36.5,
                             unit=SIGNAL_UNITS[Signal.TEMPERATURE_C], device_time=datetime.fromtimestamp(t0 + i, tz=UTC),
                             receive_time=datetime.fromtimestamp(t0 + i + 1, tz=UTC), seq=i)
                 for k in (1, 2) for i in range(60)])  # fmt: skip
    store.close()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kraamwacht.cli", *args],
                              env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"},
                              capture_output=True, text=True, timeout=300, check=False)  # fmt: skip

    store_url = f"sqlite:///{tmp_path / 'live.db'}"
    exported = cli("export", "--store", store_url, "--out", f"{object_store}/live")
    assert exported.returncode == 0, exported.stdout + exported.stderr
    assert "120 samples of 2 subjects" in exported.stdout
    replayed = cli("replay", f"{object_store}/live", "--out", str(tmp_path / "live.jsonl"))
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "120 rows" in replayed.stdout  # every sample back from the object store
    again = cli("export", "--store", store_url, "--out", f"{object_store}/live")
    assert again.returncode == 2  # never over an existing dataset
    assert "not empty" in again.stdout + again.stderr
    for bad, said in (
        (f"{object_store}/nothing-here", "nothing-here: not found"),
        ("s3://no-such-bucket/x", "not found"),
        ("nosuch://x/y", "no filesystem"),
    ):
        refused = cli("replay", bad, "--out", str(tmp_path / "x.jsonl"))
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert said in refused.stdout + refused.stderr
        assert "Traceback" not in refused.stderr
