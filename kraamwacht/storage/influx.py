"""InfluxDB storage: writes with influxdb-client (v2 API) or InfluxDB 1.x's ``/write``; InfluxQL reads.

Schema: measurement ``kraamwacht``; tags ``episode``, ``subject``, ``device``, ``signal`` (all
pseudonymous and of bounded number; never a per-sample id in a tag); fields ``value`` (float),
``seq`` and ``received_ms`` (integers) and, where present, ``stream``, ``quality``, ``method``,
``site``, ``entered_by`` (strings); timestamp = device time in milliseconds. A redelivered sample has the same
series and timestamp and overwrites itself, so a retry cannot double it; the store cannot tell how
many were duplicates, so ``WriteResult.duplicates`` is 0 here (serve deduplicates before writing).
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

import numpy as np

from kraamwacht.contract import Observation, SampleColumn
from kraamwacht.storage._base import Series, StoreError, WriteResult

__all__ = ["MEASUREMENT", "InfluxStore", "to_line_protocol"]

MEASUREMENT = "kraamwacht"
_TIMEOUT_S = 10.0


def _tag(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _string_field(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_line_protocol(o: Observation) -> str:
    """One observation as an InfluxDB line (millisecond precision)."""
    tags = f"episode={_tag(o.episode)},subject={_tag(o.subject)},device={_tag(o.device)},signal={_tag(o.signal.value)}"
    fields = [f"value={float(o.value)!r}", f"seq={o.seq}i", f"received_ms={round(o.receive_time.timestamp() * 1000)}i"]
    if o.stream:
        fields.append(f"stream={_string_field(o.stream)}")
    if o.quality:
        fields.append(f"quality={_string_field(','.join(q.value for q in o.quality))}")
    for name in ("method", "site", "entered_by"):
        value = getattr(o, name)
        if value is not None:
            fields.append(f"{name}={_string_field(str(getattr(value, 'value', value)))}")
    return f"{MEASUREMENT},{tags} {','.join(fields)} {round(o.device_time.timestamp() * 1000)}"


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class InfluxStore:
    def __init__(
        self,
        base_url: str,
        *,
        database: str,
        api: Literal["v1", "v2"] = "v2",
        org: str = "kraamwacht",
        token: str | None = None,
        ca_file: str | None = None,
    ) -> None:
        """``ca_file``: the authority that signed an HTTPS server's certificate (None: the system's)."""
        self.base_url = base_url.rstrip("/")
        self.database = database
        self.api = api
        self.org = org
        self._token = token
        self._ssl = ssl.create_default_context(cafile=ca_file) if base_url.startswith("https:") else None
        self._client = None
        if api == "v2":
            from influxdb_client import InfluxDBClient

            self._client = InfluxDBClient(
                url=self.base_url, token=token or "", org=org, timeout=int(_TIMEOUT_S * 1000),
                verify_ssl=True, ssl_ca_cert=ca_file,
            )  # fmt: skip

    def __repr__(self) -> str:  # no token in logs
        return f"InfluxStore({self.base_url!r}, database={self.database!r}, api={self.api!r})"

    # --- writes ---------------------------------------------------------------------------------
    def write(self, observations: Sequence[Observation], columns: Sequence[SampleColumn] = ()) -> WriteResult:
        """Points in line protocol; a column's samples become points like any other (InfluxDB stores columns)."""
        observations = [*observations, *(o for column in columns for o in column.observations())]
        if not observations:
            return WriteResult(0, 0)
        lines = [to_line_protocol(o) for o in observations]
        if self._client is not None:
            from influxdb_client import WritePrecision
            from influxdb_client.client.write_api import SYNCHRONOUS

            try:
                self._client.write_api(write_options=SYNCHRONOUS).write(
                    bucket=self.database, org=self.org, record=lines, write_precision=WritePrecision.MS
                )
            except Exception as exc:  # influxdb-client raises ApiException or urllib3 errors
                raise StoreError(f"writing {len(lines)} points to {self.base_url} failed: {str(exc)[:200]}") from exc
        else:
            query = urllib.parse.urlencode({"db": self.database, "precision": "ms"})
            self._http("POST", f"/write?{query}", "\n".join(lines).encode())
        return WriteResult(stored=len(lines), duplicates=0)

    # --- reads (InfluxQL over /query) -------------------------------------------------------------
    def query(self, influxql: str, *, method: str = "GET") -> list[dict]:
        params = urllib.parse.urlencode({"db": self.database, "q": influxql, "epoch": "ms"})
        if method == "GET":
            body = self._http("GET", f"/query?{params}")
        else:
            body = self._http("POST", "/query", params.encode(), content_type="application/x-www-form-urlencoded")
        results = json.loads(body or b"{}").get("results", [])
        errors = [r["error"] for r in results if "error" in r]
        if errors:
            raise StoreError(f"InfluxQL query failed: {errors[0]}")
        return results

    def read(
        self,
        *,
        subject: str,
        signals: Sequence[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Series:
        where = [f'"subject" = {_quote(subject)}']
        if signals:
            where.append("(" + " OR ".join(f'"signal" = {_quote(s)}' for s in signals) + ")")
        if start is not None:
            where.append(f"time >= {round(start.timestamp() * 1000)}ms")
        if end is not None:
            where.append(f"time < {round(end.timestamp() * 1000)}ms")
        results = self.query(f'SELECT "value" FROM "{MEASUREMENT}" WHERE {" AND ".join(where)} GROUP BY "signal"')
        out: Series = {}
        for series in results[0].get("series", []) if results else []:
            values = np.array(series["values"], dtype=np.float64)
            out[series["tags"]["signal"]] = (values[:, 0] / 1000.0, values[:, 1])
        return out

    def latest(self, subject: str, signal: str, *, since_s: float) -> tuple[float, float] | None:
        """``(time_s, value)`` of the newest sample after ``since_s`` (InfluxQL ``LAST``)."""
        rows = self._rows(
            f'SELECT LAST("value") FROM "{MEASUREMENT}" WHERE "subject" = {_quote(subject)}'
            f' AND "signal" = {_quote(signal)} AND time > {round(since_s * 1000)}ms'
        )
        return None if not rows or rows[0][1] is None else (rows[0][0] / 1000.0, float(rows[0][1]))

    def mean(self, subject: str, signal: str, *, start_s: float, end_s: float) -> float | None:
        """Mean of ``signal`` in ``[start_s, end_s)`` (InfluxQL ``MEAN``)."""
        rows = self._rows(
            f'SELECT MEAN("value") FROM "{MEASUREMENT}" WHERE "subject" = {_quote(subject)}'
            f' AND "signal" = {_quote(signal)} AND time >= {round(start_s * 1000)}ms AND time < {round(end_s * 1000)}ms'
        )
        return None if not rows or rows[0][1] is None else float(rows[0][1])

    def with_method(self, subject: str, signal: str) -> list[tuple[float, float, str | None]]:
        """Readings of one signal with their method (a string field), in time order."""
        rows = self._rows(
            f'SELECT "value", "method" FROM "{MEASUREMENT}" WHERE "subject" = {_quote(subject)}'
            f' AND "signal" = {_quote(signal)}'
        )
        return [(t / 1000.0, float(value), method) for t, value, method in rows]

    def _rows(self, influxql: str) -> list[list]:
        results = self.query(influxql)
        series = results[0].get("series", []) if results else []
        return [row for s in series for row in s["values"]]

    def subjects(self, *, episode: str | None = None) -> list[tuple[str, str]]:
        where = f' WHERE "episode" = {_quote(episode)}' if episode is not None else ""
        results = self.query(f'SHOW SERIES FROM "{MEASUREMENT}"{where}')
        pairs: set[tuple[str, str]] = set()
        for series in results[0].get("series", []) if results else []:
            for (key,) in series["values"]:
                tags = dict(part.split("=", 1) for part in key.split(",")[1:])
                pairs.add((tags["episode"], tags["subject"]))
        return sorted(pairs)

    def delete_episode(self, episode: str, *, before: datetime) -> None:
        if self._client is not None:
            try:
                self._client.delete_api().delete(
                    datetime(1970, 1, 1, tzinfo=UTC),
                    before,
                    f'_measurement="{MEASUREMENT}" AND episode="{episode}"',
                    bucket=self.database,
                    org=self.org,
                )
            except Exception as exc:
                raise StoreError(f"deleting episode data at {self.base_url} failed: {str(exc)[:200]}") from exc
            return
        stamp = before.astimezone(UTC).isoformat().replace("+00:00", "Z")
        self.query(
            f'DELETE FROM "{MEASUREMENT}" WHERE "episode" = {_quote(episode)} AND time < {_quote(stamp)}', method="POST"
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def _http(self, method: str, path: str, body: bytes | None = None, *, content_type: str = "text/plain") -> bytes:
        request = urllib.request.Request(self.base_url + path, data=body, method=method)
        request.add_header("Content-Type", content_type)
        if self._token:
            request.add_header("Authorization", f"Token {self._token}")
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT_S, context=self._ssl) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:200].decode("utf-8", "replace")
            raise StoreError(f"{method} {self.base_url}{path.split('?')[0]} answered {exc.code}: {detail}") from exc
        except OSError as exc:
            raise StoreError(f"cannot reach {self.base_url}: {exc}") from exc
