"""Where a handover comes from: serve's ledger and event log, and the episode registry (I/O only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kraamwacht.episodes import Episode
from kraamwacht.errors import KraamwachtError
from kraamwacht.handover import EpisodeRecord
from kraamwacht.service import EventLog
from kraamwacht.storage.sqlite import SqliteStore

__all__ = ["read_record"]


def read_record(item: Episode, *, store: str, events: Path | None) -> EpisodeRecord:
    """Everything the handover may hold for ``item``; the alerts only when serve's event log is at hand."""
    if not store.startswith("sqlite:///"):
        raise KraamwachtError("the handover reads serve's embedded ledger: --store sqlite:///PATH")
    ledger = SqliteStore(store.removeprefix("sqlite:///"))
    try:
        series = ledger.read(subject=item.mother, signals=["temperature_c", "heart_rate_bpm"])
        empty = (np.array([]), np.array([]))
        logged = EventLog(events).all() if events is not None and events.exists() else []
        return EpisodeRecord(
            episode=item,
            skin_c=series.get("temperature_c", empty),
            hr_bpm=series.get("heart_rate_bpm", empty),
            spot_checks=ledger.with_method(item.mother, "thermometer_c"),
            bilirubin=ledger.with_method(item.newborn, "bilirubin_umol_l"),
            devices=[d for subject in (item.mother, *item.newborns) for d in ledger.devices(subject)],
            events=[e for e in logged if e.episode in (None, item.episode)],
            twin_bilirubin={twin: ledger.with_method(twin, "bilirubin_umol_l") for twin in item.twins},
        )
    finally:
        ledger.close()
