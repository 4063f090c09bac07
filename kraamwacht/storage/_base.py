"""The storage interface and the factory that chooses an implementation from a URL."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import parse_qs, urlparse

import numpy as np
from numpy.typing import NDArray

from kraamwacht.contract import Observation, SampleColumn
from kraamwacht.errors import InvalidValueError, KraamwachtError

__all__ = ["SampleStore", "StoreError", "WriteResult", "open_store"]

Series = dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]]


class StoreError(KraamwachtError):
    """The store could not do what was asked (unreachable, refused); nothing is assumed written."""


@dataclass(frozen=True, slots=True)
class WriteResult:
    stored: int
    duplicates: int  # already stored (device, stream, seq), same content: redelivery after a reconnect or restart
    fresh: tuple[bool, ...] = ()  # per written observation: newly stored (empty if the store cannot tell)
    conflicts: tuple[bool, ...] = ()  # per written observation: its identity is stored with other content
    column_fresh: tuple[NDArray[np.bool_], ...] = ()  # per written column, per sample: newly stored
    column_conflicts: tuple[NDArray[np.bool_], ...] = ()  # per written column, per sample: conflicting


class SampleStore(Protocol):
    """What serve, replay/export and the dashboard need from storage."""

    def write(self, observations: Sequence[Observation], columns: Sequence[SampleColumn] = ()) -> WriteResult:
        """Store a batch; a sample already stored (same device, stream and sequence number) is not stored twice.

        ``columns``: version 2's samples as arrays (:class:`~kraamwacht.contract.SampleColumn`).
        """
        ...

    def read(
        self,
        *,
        subject: str,
        signals: Sequence[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Series:
        """``{signal: (device_time_s, value)}`` of one subject, ordered by time."""
        ...

    def latest(self, subject: str, signal: str, *, since_s: float) -> tuple[float, float] | None:
        """``(time_s, value)`` of the subject's newest sample of ``signal`` after ``since_s``; None without one."""
        ...

    def mean(self, subject: str, signal: str, *, start_s: float, end_s: float) -> float | None:
        """Mean of ``signal`` in ``[start_s, end_s)``; None without samples."""
        ...

    def with_method(self, subject: str, signal: str) -> list[tuple[float, float, str | None]]:
        """Readings ``(time_s, value, method)`` of one signal in time order: bilirubin (tcb/tsb), thermometer (where)."""
        ...

    def subjects(self, *, episode: str | None = None) -> list[tuple[str, str]]:
        """``(episode, subject)`` pairs that have data."""
        ...

    def delete_episode(self, episode: str, *, before: datetime) -> None:
        """Delete an episode's raw data measured before ``before`` (retention)."""
        ...

    def close(self) -> None: ...


def open_store(url: str) -> SampleStore:
    """The store named by ``url`` (see the package docstring)."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        from kraamwacht.storage.sqlite import SqliteStore

        path = parsed.path if not parsed.netloc else parsed.netloc + parsed.path
        if not path:
            raise InvalidValueError(f"store {url!r}: give a file, e.g. sqlite:///var/lib/kraamwacht/kraamwacht.db")
        return SqliteStore(path)
    if parsed.scheme in {"influx+v1", "influx+v2"}:
        from kraamwacht.storage.influx import InfluxStore

        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        known = {"org", "bucket", "tls", "ca"} if parsed.scheme == "influx+v2" else {"tls", "ca"}
        if set(query) - known:
            raise InvalidValueError(
                f"store {url!r}: unknown option(s) {sorted(set(query) - known)}; known: {sorted(known)}"
            )
        ca_file = query.get("ca")
        if ca_file is not None and not os.path.isfile(ca_file):
            raise InvalidValueError(f"store {url!r}: certificate authority file {ca_file} does not exist")
        https = ca_file is not None or query.get("tls", "0") in {"1", "true", "yes"}
        base = f"{'https' if https else 'http'}://{parsed.hostname}:{parsed.port or 8086}"
        token = os.environ.get("KRAAMWACHT_INFLUX_TOKEN")
        if parsed.scheme == "influx+v1":
            database = parsed.path.strip("/")
            if not database:
                raise InvalidValueError(f"store {url!r}: name the database, e.g. influx+v1://127.0.0.1:8086/kraamwacht")
            return InfluxStore(base, database=database, api="v1", token=token, ca_file=ca_file)
        bucket = query.get("bucket")
        if not bucket:
            raise InvalidValueError(f"store {url!r}: add ?org=...&bucket=...")
        return InfluxStore(
            base, database=bucket, api="v2", org=query.get("org", "kraamwacht"), token=token, ca_file=ca_file
        )
    raise InvalidValueError(
        f"unknown store {url!r}: use sqlite:///FILE, influx+v2://HOST:PORT?org=&bucket= or influx+v1://HOST:PORT/DB"
    )
