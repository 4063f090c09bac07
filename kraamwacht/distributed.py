"""Replays and sweeps spread over a Dask cluster: the work split by subject (× grid setting).

A detector's run on one subject depends on that subject's recording and the configuration only,
so a sweep is a set of independent pieces: each setting × each block of subjects gives its raised
alarms and coverage; the metrics are then computed per setting over all blocks, exactly as
:func:`kraamwacht.replay.sweep` does in one process (the same :func:`evaluate` on the same alarms),
so the table is identical whatever the number of workers.

``client`` is a ``distributed.Client``: a local cluster of processes (``--workers N``) or a
running ``dask scheduler`` with its workers (``--scheduler tcp://host:8786``), as a real cluster has.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from kraamwacht.datasets import Location, dataset_subjects
from kraamwacht.recordings import Recording, read_streams
from kraamwacht.replay import ReplayResult, SweepRow, grid_settings, raised_alarms, replay
from kraamwacht.signal import DetectorConfig
from kraamwacht.signal.evaluate import Alarm, Label, evaluate

__all__ = ["DatasetBlocks", "open_client", "replay_on_cluster", "sweep_on_cluster"]


class DatasetBlocks:
    """A Parquet dataset partitioned by subject, read block by block *on the workers* (never whole here).

    ``path`` is a folder every worker can reach (a shared disk) or an object store's URL.
    """

    def __init__(self, path: Location, *, skip_bad: bool = False) -> None:
        self.path, self.skip_bad = path, skip_bad
        self.subjects = dataset_subjects(path)
        self.rows = 0  # what the workers read: rows, and bad rows skipped by reason (--skip-bad)
        self.skipped: Counter[str] = Counter()

    def blocks(self, n: int) -> list[list[str]]:
        return _runs(self.subjects, n)


def _read_block(path: Location, subjects: list[str], skip_bad: bool) -> dict[str, Recording]:
    """On a worker: its block's partitions of the dataset."""
    return read_streams(path, subjects=subjects, skip_bad=skip_bad).recordings


def _replay_partitions(
    path: Location,
    block: list[str],
    skip_bad: bool,
    cfg: DetectorConfig,
    subjects: Mapping[str, Mapping[str, str]] | None,
) -> tuple[ReplayResult, int, Counter[str]]:
    """On a worker: read its block's partitions and replay them; what it read comes back with the alerts."""
    read = read_streams(path, subjects=block, skip_bad=skip_bad)
    return replay(read.recordings, cfg, subjects=subjects), read.rows, read.skipped


def open_client(*, workers: int | None = None, scheduler: str | None = None) -> Any:
    """A Dask client: a local cluster of ``workers`` single-threaded processes, or a running scheduler."""
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler, timeout="60s")
    cluster = LocalCluster(n_workers=workers or 1, threads_per_worker=1, processes=True, dashboard_address=None)
    return Client(cluster)


def _piece(
    base: DetectorConfig, overrides: dict[str, float | int], part: Mapping[str, Recording]
) -> tuple[list[Alarm], dict[str, Any]]:
    """One setting on one block of subjects: its raised alarms and its coverage."""
    result = replay(part, base.with_overrides(overrides))
    return raised_alarms(result), dict(result.coverage)


def _runs(subjects: list[str], n: int) -> list[list[str]]:
    """At most ``n`` consecutive runs of the sorted subjects (one process's order, split for the workers)."""
    size = max(1, -(-len(subjects) // n))
    return [subjects[i : i + size] for i in range(0, len(subjects), size)]


def _blocks(recordings: Mapping[str, Recording], n: int) -> list[dict[str, Recording]]:
    return [{s: recordings[s] for s in run} for run in _runs(sorted(recordings), n)]


def sweep_on_cluster(
    client: Any,
    recordings: Mapping[str, Recording] | DatasetBlocks,
    labels: Mapping[str, Label],
    base: DetectorConfig,
    grid: Mapping[str, Sequence[float | int]],
    *,
    rules: frozenset[str] | None,
    onset_tolerance_h: float = 6.0,
    post_reference_h: float = 24.0,
    progress: Callable[[Iterable[Any]], Iterable[Any]] = lambda it: it,
) -> list[SweepRow]:
    """:func:`kraamwacht.replay.sweep` with the pieces run by the cluster's workers."""
    from distributed import as_completed

    combos = grid_settings(grid)
    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    if isinstance(recordings, DatasetBlocks):  # each worker reads its blocks' partitions itself
        order = recordings.subjects
        blocks = [client.submit(_read_block, recordings.path, block, recordings.skip_bad, pure=False)
                  for block in recordings.blocks(2 * n_workers)]  # fmt: skip
    else:
        order = list(recordings)
        blocks = [client.scatter(block) for block in _blocks(recordings, 2 * n_workers)]  # each sent once
    futures = {
        client.submit(_piece, base, overrides, block, pure=False): index
        for index, overrides in enumerate(combos)
        for block in blocks
    }
    alarms: dict[int, list[Alarm]] = {i: [] for i in range(len(combos))}
    coverage: dict[int, dict[str, Any]] = {i: {} for i in range(len(combos))}
    for future in progress(as_completed(futures)):
        index = futures[future]
        found, covered = future.result()
        alarms[index] += found
        coverage[index].update(covered)
    rows = []
    for index, overrides in enumerate(combos):
        ordered = sorted(alarms[index], key=lambda a: (a.subject, a.time_s, a.rule))
        # the subjects in the order one process meets them: sums of floats depend on their order
        covered = {s: coverage[index][s] for s in order if s in coverage[index]}
        report = evaluate(ordered, labels, covered, rules=rules, onset_tolerance_h=onset_tolerance_h,
                          post_reference_h=post_reference_h)  # fmt: skip
        rows.append(SweepRow(overrides, report))
    return rows


def replay_on_cluster(
    client: Any,
    recordings: Mapping[str, Recording] | DatasetBlocks,
    cfg: DetectorConfig,
    *,
    subjects: Mapping[str, Mapping[str, str]] | None = None,
    progress: Callable[[Iterable[Any]], Iterable[Any]] = lambda it: it,
) -> ReplayResult:
    """:func:`kraamwacht.replay.replay` with blocks of subjects run by the cluster's workers.

    The events, the coverage and the sample count are put together in the order one process meets
    the subjects (sorted), so the result is the same whatever the number of workers.
    """
    from distributed import as_completed

    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    if isinstance(recordings, DatasetBlocks):  # each worker reads its block's partitions itself
        dataset = recordings
        names = dataset.blocks(2 * n_workers)
        futures = {client.submit(_replay_partitions, dataset.path, block, dataset.skip_bad, cfg, subjects,
                                 pure=False): index for index, block in enumerate(names)}  # fmt: skip
        n_blocks = len(names)
    else:
        blocks = _blocks(recordings, 2 * n_workers)
        futures = {
            client.submit(replay, block, cfg, subjects=subjects, pure=False): index
            for index, block in enumerate(blocks)
        }
        n_blocks = len(blocks)
    parts: dict[int, ReplayResult] = {}
    for future in progress(as_completed(futures)):
        answer = future.result()
        if isinstance(answer, tuple):  # a dataset block: the replay and what the worker read
            answer, rows, skipped = answer
            dataset.rows += rows
            dataset.skipped.update(skipped)
        parts[futures[future]] = answer
    ordered = [parts[i] for i in range(n_blocks)]  # blocks hold consecutive runs of the sorted subjects
    events = [event for part in ordered for event in part.events]
    coverage = {subject: c for part in ordered for subject, c in part.coverage.items()}
    return ReplayResult(events, coverage, sum(part.samples for part in ordered))
