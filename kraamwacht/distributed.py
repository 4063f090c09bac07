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

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from kraamwacht.recordings import Recording
from kraamwacht.replay import ReplayResult, SweepRow, grid_settings, raised_alarms, replay
from kraamwacht.signal import DetectorConfig
from kraamwacht.signal.evaluate import Alarm, Label, evaluate

__all__ = ["open_client", "replay_on_cluster", "sweep_on_cluster"]


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


def _blocks(recordings: Mapping[str, Recording], n: int) -> list[dict[str, Recording]]:
    subjects = sorted(recordings)
    size = max(1, -(-len(subjects) // n))
    return [{s: recordings[s] for s in subjects[i : i + size]} for i in range(0, len(subjects), size)]


def sweep_on_cluster(
    client: Any,
    recordings: Mapping[str, Recording],
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
        covered = {s: coverage[index][s] for s in recordings if s in coverage[index]}
        report = evaluate(ordered, labels, covered, rules=rules, onset_tolerance_h=onset_tolerance_h,
                          post_reference_h=post_reference_h)  # fmt: skip
        rows.append(SweepRow(overrides, report))
    return rows


def replay_on_cluster(
    client: Any,
    recordings: Mapping[str, Recording],
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
    blocks = _blocks(recordings, 2 * n_workers)
    futures = {
        client.submit(replay, block, cfg, subjects=subjects, pure=False): index for index, block in enumerate(blocks)
    }
    parts: dict[int, ReplayResult] = {}
    for future in progress(as_completed(futures)):
        parts[futures[future]] = future.result()
    ordered = [parts[i] for i in range(len(blocks))]  # blocks hold consecutive runs of the sorted subjects
    events = [event for part in ordered for event in part.events]
    coverage = {subject: c for part in ordered for subject, c in part.coverage.items()}
    return ReplayResult(events, coverage, sum(part.samples for part in ordered))
