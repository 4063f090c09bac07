"""Observations for storage tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kraamwacht.contract import SIGNAL_UNITS, BilirubinMethod, Observation, QualityFlag, Signal

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def observations(
    n: int = 50,
    *,
    episode: str = "ep1",
    subject: str = "m1",
    device: str = "wb1",
    start_seq: int = 0,
    stream: str = "",
    start: datetime = T0,
) -> list[Observation]:
    out = []
    for i in range(n):
        signal = Signal.TEMPERATURE_C if i % 2 == 0 else Signal.HEART_RATE_BPM
        out.append(
            Observation(
                episode=episode,
                subject=subject,
                device=device,
                signal=signal,
                value=36.0 + i / 100 if signal is Signal.TEMPERATURE_C else 70.0 + i,
                unit=SIGNAL_UNITS[signal],
                device_time=start + timedelta(seconds=i),
                receive_time=start + timedelta(seconds=i, milliseconds=250),
                seq=start_seq + i,
                stream=stream,
                quality=(QualityFlag.NO_SKIN_CONTACT,) if i == 7 else (),
            )
        )
    return out


def bilirubin(episode: str = "ep1", subject: str = "baby1") -> Observation:
    return Observation(
        episode=episode,
        subject=subject,
        device="manual-kv-12",
        signal=Signal.BILIRUBIN_UMOL_L,
        value=210.0,
        unit="umol/L",
        device_time=T0,
        receive_time=T0 + timedelta(seconds=3),
        seq=1,
        quality=(QualityFlag.MANUAL,),
        method=BilirubinMethod.TCB,
        site="sternum",
        entered_by="kv-12",
    )
