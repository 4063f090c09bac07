"""The data contract: observations, care episodes, MQTT topics and payloads, alert events.

Everything that crosses a process boundary is defined here and nowhere else; ``docs/contract.md``
describes the same for people. Identifiers are pseudonymous (no names, no MAC addresses).
Validation never raises on bad input (see :func:`parse_observation_message`).

One job per module: ``_ids`` (identifiers), ``_time`` (times on the wire), ``_signals`` (what is
measured and its ranges), ``_models`` (observations, episodes), ``_alerts`` (severity, alert events,
commands), ``_topics`` (the topic layout), ``_validate`` (message validation), ``_manual``
(typed-in readings), ``_columns`` (version 2 of the observation message: a wearable's samples as
columns).
"""

from kraamwacht.contract._alerts import AlertEvent, AlertEventKind, CommandMessage, Severity
from kraamwacht.contract._columns import (
    COLUMN_SIGNALS,
    QUALITY_BITS,
    ColumnsMessage,
    SampleColumn,
    columns_payload,
    flags_of,
)
from kraamwacht.contract._derived import BaselineMessage, PolicyMessage
from kraamwacht.contract._ids import ID_PATTERN, PseudoId, is_pseudo_id, topic_id
from kraamwacht.contract._manual import (
    entry_signed_bytes,
    manual_bilirubin_message,
    manual_message,
    spot_check_messages,
)
from kraamwacht.contract._models import (
    MAX_SAMPLES_PER_MESSAGE,
    CareEpisode,
    Observation,
    ObservationMessage,
    SampleIn,
    Subject,
)
from kraamwacht.contract._signals import (
    SIGNAL_RANGES,
    SIGNAL_UNITS,
    BilirubinMethod,
    QualityFlag,
    Role,
    Signal,
    ThermometerMethod,
    out_of_range,
    range_problem,
)
from kraamwacht.contract._time import format_time, format_timestamp, parse_time, require_utc
from kraamwacht.contract._topics import CONTRACT_VERSION, ObservationTopic, Topics
from kraamwacht.contract._validate import (
    FUTURE_TOLERANCE,
    MAX_MESSAGE_BYTES,
    MESSAGE_VERSIONS,
    PAST_LIMIT,
    ParsedMessage,
    Rejection,
    RejectReason,
    parse_message,
    parse_observation_message,
    validate_value,
)

__all__ = [
    "COLUMN_SIGNALS",
    "CONTRACT_VERSION",
    "FUTURE_TOLERANCE",
    "ID_PATTERN",
    "MAX_MESSAGE_BYTES",
    "MAX_SAMPLES_PER_MESSAGE",
    "MESSAGE_VERSIONS",
    "PAST_LIMIT",
    "QUALITY_BITS",
    "SIGNAL_RANGES",
    "SIGNAL_UNITS",
    "AlertEvent",
    "AlertEventKind",
    "BaselineMessage",
    "BilirubinMethod",
    "CareEpisode",
    "ColumnsMessage",
    "CommandMessage",
    "Observation",
    "ObservationMessage",
    "ObservationTopic",
    "ParsedMessage",
    "PolicyMessage",
    "PseudoId",
    "QualityFlag",
    "RejectReason",
    "Rejection",
    "Role",
    "SampleColumn",
    "SampleIn",
    "Severity",
    "Signal",
    "Subject",
    "ThermometerMethod",
    "Topics",
    "columns_payload",
    "entry_signed_bytes",
    "flags_of",
    "format_time",
    "format_timestamp",
    "is_pseudo_id",
    "manual_bilirubin_message",
    "manual_message",
    "out_of_range",
    "parse_message",
    "parse_observation_message",
    "parse_time",
    "range_problem",
    "require_utc",
    "spot_check_messages",
    "topic_id",
    "validate_value",
]
