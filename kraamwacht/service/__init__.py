"""``kraamwacht serve``: MQTT in, validated and deduplicated, stored, detected live, alerts out."""

from kraamwacht.service._core import Counters, IngestCore, Output, RawMessage
from kraamwacht.service._eventlog import EventLog

__all__ = ["Counters", "EventLog", "IngestCore", "Output", "RawMessage"]
