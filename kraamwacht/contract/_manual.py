"""Readings typed in by a person, built and checked against the contract before anything is sent."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from kraamwacht.contract._models import ObservationMessage, SampleIn
from kraamwacht.contract._signals import BilirubinMethod, QualityFlag, Signal, ThermometerMethod
from kraamwacht.contract._topics import Topics
from kraamwacht.contract._validate import _schema_detail, parse_observation_message
from kraamwacht.errors import InvalidValueError

__all__ = ["entry_signed_bytes", "manual_bilirubin_message", "manual_message", "spot_check_messages"]

_last_seq = 0
_seq_lock = threading.Lock()
# this process's numbering: two laptops entering as one user never share a sample identity
_STREAM = f"entry-{secrets.token_hex(8)}"


def _next_seq() -> int:
    """The entry time in microseconds, strictly increasing in this process.

    Two readings typed in at one visit (a temperature and a pulse) are two samples of the same
    manual device; equal sequence numbers would make the second a "duplicate".
    """
    global _last_seq
    with _seq_lock:
        _last_seq = max(time.time_ns() // 1_000, _last_seq + 1)
        return _last_seq


def entry_signed_bytes(body: Mapping[str, Any]) -> bytes:
    """What a typed-in reading's signature covers: the message as sent, without its signature.

    Canonical JSON (sorted keys), so that signer and serve compute it from the same decoded JSON.
    """
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def manual_message(
    *,
    site: str,
    episode: str,
    subject: str,
    signal: Signal,
    value: float,
    measured_at: datetime,
    entered_by: str,
    method: BilirubinMethod | ThermometerMethod | None = None,
    body_site: str | None = None,
    device: str | None = None,
    now: datetime,
    signing_key: bytes | None = None,
) -> tuple[str, bytes]:
    """A typed-in reading as ``(topic, payload)``, checked against this contract.

    With ``signing_key`` (the key of ``entered_by``, kraamwacht.staffkeys) the message is signed,
    so a serve that checks staff keys records her name as verified; without it, such a serve refuses it.

    The device is ``manual-<entered_by>`` unless named, and its sequence number is the entry time
    in microseconds, strictly increasing within the process (:func:`_next_seq`). Raises ``InvalidValueError`` with what the contract
    refuses, so nothing is sent that serve would dead-letter.
    """
    try:
        message = ObservationMessage(
            v=1,
            device=device or f"manual-{entered_by}",
            stream=_STREAM,
            episode=episode,
            subject=subject,
            samples=(
                SampleIn(
                    signal=signal.value,
                    value=round(value, 1),
                    t=measured_at,
                    seq=_next_seq(),
                    q=(QualityFlag.MANUAL,),
                    method=method,
                    site=body_site,
                    entered_by=entered_by,
                ),
            ),
        )
    except ValidationError as exc:  # an id or field the contract refuses: said in one line
        raise InvalidValueError(_schema_detail(exc)) from exc
    body = message.model_dump(mode="json", exclude_none=True)
    if signing_key is not None:
        body["signature"] = hmac.new(signing_key, entry_signed_bytes(body), hashlib.sha256).hexdigest()
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    topic = Topics.entries(site, episode, subject)
    accepted, rejected = parse_observation_message(payload, topic=topic, receive_time=now)
    if rejected or len(accepted) != 1:
        raise InvalidValueError("; ".join(r.detail for r in rejected) or "the observation does not pass the contract")
    return topic, payload


def spot_check_messages(
    *,
    site: str,
    episode: str,
    subject: str,
    temp_c: float,
    method: ThermometerMethod,
    pulse_bpm: float | None,
    measured_at: datetime,
    entered_by: str,
    now: datetime,
    signing_key: bytes | None = None,
) -> list[tuple[str, bytes]]:
    """A visit's thermometer reading, and the pulse if it was counted, as checked ``(topic, payload)`` pairs."""

    def one(signal: Signal, value: float, method: ThermometerMethod | None = None) -> tuple[str, bytes]:
        return manual_message(site=site, episode=episode, subject=subject, signal=signal, value=value,
                              measured_at=measured_at, entered_by=entered_by, method=method, now=now,
                              signing_key=signing_key)  # fmt: skip

    out = [one(Signal.THERMOMETER_C, temp_c, method)]
    if pulse_bpm is not None:
        out.append(one(Signal.HEART_RATE_BPM, pulse_bpm))
    return out


def manual_bilirubin_message(
    *,
    site: str,
    episode: str,
    subject: str,
    value_umol_l: float,
    measured_at: datetime,
    method: BilirubinMethod,
    body_site: str,
    entered_by: str,
    device: str | None = None,
    now: datetime,
    signing_key: bytes | None = None,
) -> tuple[str, bytes]:
    """A typed-in bilirubin reading (:func:`manual_message` with the bilirubin's own fields)."""
    return manual_message(
        site=site, episode=episode, subject=subject, signal=Signal.BILIRUBIN_UMOL_L, value=value_umol_l,
        measured_at=measured_at, entered_by=entered_by, method=method, body_site=body_site, device=device, now=now,
        signing_key=signing_key,
    )  # fmt: skip
