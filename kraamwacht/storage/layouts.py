"""The embedded store's layouts of earlier versions, as those versions created them.

``SqliteStore`` moves any of them to the current layout when it opens a store (``sqlite.py``).
They are kept here, once, for what must build an old store: the migration tests, and
``benchmarks/bench_store.py``, which measures the current layout against version 2.
"""

from __future__ import annotations

__all__ = ["OLD_COLUMNS", "VERSION_1", "VERSION_2", "VERSION_3"]

# the observations' columns before streams (version 1); later versions add ``stream`` after them
OLD_COLUMNS = (
    "device TEXT NOT NULL, seq INTEGER NOT NULL, episode TEXT NOT NULL, subject TEXT NOT NULL, signal TEXT NOT NULL,"
    " value REAL NOT NULL, unit TEXT NOT NULL, device_time REAL NOT NULL, receive_time REAL NOT NULL,"
    " quality TEXT NOT NULL DEFAULT '', method TEXT, site TEXT, entered_by TEXT"
)

# a wearable's numbering alone identified a sample
VERSION_1 = (
    f"CREATE TABLE observations ({OLD_COLUMNS}, PRIMARY KEY (device, seq)) WITHOUT ROWID;"
    "CREATE TABLE outbox (device TEXT NOT NULL, seq INTEGER NOT NULL, UNIQUE (device, seq));"
)

# streams: rows ordered by identity, an index by subject and one by episode
VERSION_2 = (
    f"CREATE TABLE observations ({OLD_COLUMNS}, stream TEXT NOT NULL DEFAULT '',"
    " PRIMARY KEY (device, stream, seq)) WITHOUT ROWID;"
    "CREATE INDEX observations_by_subject ON observations (subject, signal, device_time);"
    "CREATE INDEX observations_by_episode ON observations (episode, device_time);"
    "CREATE TABLE outbox (device TEXT NOT NULL, seq INTEGER NOT NULL, stream TEXT NOT NULL DEFAULT '',"
    " UNIQUE (device, stream, seq));"
)

# rows appended, one time line per subject ordered by signal first, and the subjects' table
VERSION_3 = (
    f"CREATE TABLE observations ({OLD_COLUMNS}, stream TEXT NOT NULL DEFAULT '');"
    "CREATE UNIQUE INDEX observations_identity ON observations (device, stream, seq);"
    "CREATE INDEX observations_by_subject ON observations (subject, signal, device_time);"
    "CREATE TABLE subjects (episode TEXT NOT NULL, subject TEXT NOT NULL, PRIMARY KEY (episode, subject))"
    " WITHOUT ROWID;"
    "CREATE TABLE outbox (device TEXT NOT NULL, seq INTEGER NOT NULL, stream TEXT NOT NULL DEFAULT '',"
    " UNIQUE (device, stream, seq));"
)
