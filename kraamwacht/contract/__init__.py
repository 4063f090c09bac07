"""The data contract: observations, care episodes, MQTT topics and payloads, alert events.

Everything that crosses a process boundary is defined here and nowhere else; ``docs/contract.md``
describes the same for people. Identifiers are pseudonymous (no names, no MAC addresses).
Validation never raises on bad input (see :func:`parse_observation_message`).

One job per module: ``_ids`` (identifiers), ``_time`` (times on the wire), ``_signals`` (what is
measured and its ranges), ``_models`` (observations, episodes), ``_alerts`` (severity, alert events,
commands), ``_topics`` (the topic layout), ``_validate`` (message validation), ``_manual``
(typed-in readings).
"""

from kraamwacht.contract._alerts import AlertEvent, AlertEventKind, CommandMessage, Severity
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
    PAST_LIMIT,
    Rejection,
    RejectReason,
    parse_observation_message,
    validate_value,
)

__all__ = [
    "CONTRACT_VERSION",
    "FUTURE_TOLERANCE",
    "ID_PATTERN",
    "MAX_MESSAGE_BYTES",
    "MAX_SAMPLES_PER_MESSAGE",
    "PAST_LIMIT",
    "SIGNAL_RANGES",
    "SIGNAL_UNITS",
    "AlertEvent",
    "AlertEventKind",
    "BaselineMessage",
    "BilirubinMethod",
    "CareEpisode",
    "CommandMessage",
    "Observation",
    "ObservationMessage",
    "ObservationTopic",
    "PolicyMessage",
    "PseudoId",
    "QualityFlag",
    "RejectReason",
    "Rejection",
    "Role",
    "SampleIn",
    "Severity",
    "Signal",
    "Subject",
    "ThermometerMethod",
    "Topics",
    "entry_signed_bytes",
    "format_time",
    "format_timestamp",
    "is_pseudo_id",
    "manual_bilirubin_message",
    "manual_message",
    "out_of_range",
    "parse_observation_message",
    "parse_time",
    "range_problem",
    "require_utc",
    "spot_check_messages",
    "topic_id",
    "validate_value",
]
