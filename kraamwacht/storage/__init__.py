"""Storage of observations behind one small interface, used by serve, replay/export and the board.

``open_store(url)`` picks the implementation:

* ``sqlite:///path/to/kraamwacht.db``: the embedded default for one machine (no server);
* ``influx+v2://host:8086?org=ORG&bucket=BUCKET`` (token from ``KRAAMWACHT_INFLUX_TOKEN``):
  InfluxDB 1.8+, 2.x, 3.x and compatible servers, written with influxdb-client;
* ``influx+v1://host:8086/DATABASE``: InfluxDB 1.x's own ``/write`` (1.6 and 1.7 have no v2 API).

Either Influx URL takes ``?ca=/path/ca.crt`` (HTTPS, the server's certificate checked against that
authority, e.g. the one ``kraamwacht broker-config`` wrote) or ``?tls=1`` (HTTPS with the system's
authorities); without them plain HTTP, where the token travels readable.

Reads use InfluxQL over the v1 ``/query`` API, the one query language that InfluxDB 1.x, 2.x (with
a DBRP mapping) and 3.x all answer.
"""

from kraamwacht.storage._base import SampleStore, StoreError, WriteResult, open_store

__all__ = ["SampleStore", "StoreError", "WriteResult", "open_store"]
