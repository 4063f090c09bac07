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


def _sweep(out: Path, *extra: str, streams: Path = DATA / "streams.csv.gz") -> str:
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


def _replay(out: Path, *extra: str, streams: Path = DATA / "streams.csv.gz") -> bytes:
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
    from kraamwacht.recordings import dataset_subjects, read_streams, write_streams

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
