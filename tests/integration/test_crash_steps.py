"""Every alert kind survives a crash of serve at each step (``kill -9`` semantics, a named crash point).

One input holds every kind that data can raise: a developing fever with a racing pulse (temperature
and heart-rate rules), a low battery, a serum bilirubin above the line (jaundice) and a gateway whose
status says offline. A run without a crash gives the reference events. Then, for each step (after the
store commit, after the publish, after the event log), serve dies there at the first batch that
produced events, is started again, and every reference event must arrive, at most once more.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kraamwacht.contract import BilirubinMethod, Topics, manual_bilirubin_message
from kraamwacht.crashpoints import SERVE_STEPS as STEPS
from kraamwacht.episodes import EpisodeRegistry
from kraamwacht.firmware_sim.physiology import MotherScenario
from kraamwacht.waiting import wait_for
from tests.integration.test_serve import Broker

ROOT = Path(__file__).resolve().parents[2]
KINDS = {"clinical", "battery", "jaundice", "gateway"}  # what the reference must hold


def _inputs(site: str, now: datetime) -> list[tuple[str, bytes]]:
    scenario = MotherScenario.draw(
        "m9", "fast", seed=4, delivered_at_s=(now - timedelta(days=2.2)).timestamp(), days=2.0
    )
    samples = scenario.wearable_samples(scenario.start_s, min(scenario.end_s, now.timestamp() - 300), interval_s=60.0)
    rows = sorted((t, s, v) for s, (ts, vs) in samples.items() for t, v in zip(ts.tolist(), vs.tolist(), strict=True))
    topic = Topics.observations(site, "ep9", "m9")
    out = []
    for k in range(0, len(rows), 120):
        body = {"v": 1, "device": "wb9", "stream": "gw-crash0000000000", "episode": "ep9", "subject": "m9",
                "samples": [{"signal": s, "value": v, "t": datetime.fromtimestamp(t, tz=UTC).isoformat(), "seq": k + j}
                            for j, (t, s, v) in enumerate(rows[k : k + 120])]}  # fmt: skip
        out.append((topic, json.dumps(body).encode()))
    battery = {"v": 1, "device": "wb9", "stream": "gw-crash0000000000", "episode": "ep9", "subject": "m9",
               "samples": [{"signal": "battery_pct", "value": 9, "t": (now - timedelta(minutes=2)).isoformat(),
                            "seq": len(rows)}]}  # fmt: skip
    out.append((topic, json.dumps(battery).encode()))
    out.append(manual_bilirubin_message(site=site, episode="ep9", subject="b9", value_umol_l=330.0,
                                        measured_at=now - timedelta(minutes=30), method=BilirubinMethod.TSB,
                                        body_site="heel", entered_by="anna", now=now))  # fmt: skip
    out.append((Topics.gateway_status(site, "gw9"), json.dumps({"state": "offline"}).encode()))
    return out


def _kind(event: dict) -> str:
    rule = event["rule"]
    if rule in ("low_battery",):
        return "battery"
    if rule.startswith("bili") or rule.startswith("jaundice"):
        return "jaundice"
    if rule.startswith("gateway"):
        return "gateway"
    return event["alert_id"].split(":")[1]


def _run(
    mosquitto: str, tmp: Path, site: str, *, crash_at: str | None, expect: set[tuple[str, str]] | None = None
) -> Counter[tuple[str, str]]:
    """The alert events serve published for the input; with ``expect``, once all of those have arrived."""
    now = datetime.now(tz=UTC)
    board = tmp / site / "board"
    EpisodeRegistry(board / "episodes.db").add("ep9", site=site, mother="m9", newborn="b9",
                                               birth_at=now - timedelta(hours=40), ga_weeks=39.0)  # fmt: skip
    events_topic = Topics.alert_events(site)
    watcher = Broker(mosquitto, events_topic, f"{Topics.ROOT}/{site}/status/serve")

    def serve(crash: str | None) -> subprocess.Popen:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        if crash:
            env["KRAAMWACHT_CRASH_AT"] = crash
        else:
            env.pop("KRAAMWACHT_CRASH_AT", None)
        return subprocess.Popen(
            [sys.executable, "-m", "kraamwacht.cli", "serve", "--broker", mosquitto, "--site", site,
             "--store", f"sqlite:///{tmp / site / 'k.db'}", "--state-dir", str(tmp / site / "state"),
             "--episodes", str(board / "episodes.db"), "--rebuild-h", "1000"],
            env=env, stdout=subprocess.DEVNULL, stderr=(tmp / site / "serve.log").open("ab"),
        )  # fmt: skip

    def online() -> bool:
        return any(
            json.loads(p).get("state") == "online"
            for p in watcher.received.get(f"{Topics.ROOT}/{site}/status/serve", [])
        )

    try:
        proc = serve(crash_at)
        wait_for(online, 60, what="serve online")  # subscribed with a persistent session: nothing published is lost
        for topic, payload in _inputs(site, now):
            watcher.publish(topic, payload)
        if crash_at:
            assert proc.wait(timeout=120) == 137, f"serve did not stop at {crash_at}"  # died at the crash point
            watcher.received.pop(f"{Topics.ROOT}/{site}/status/serve", None)
            proc = serve(None)
            wait_for(online, 60, what="serve online again")

        def seen() -> Counter[tuple[str, str]]:
            return Counter((e["alert_id"], e["event"]) for e in watcher.messages(events_topic)
                           if e["event"] in ("raised", "escalated", "joined", "resolved"))  # fmt: skip

        if expect is not None:
            wait_for(lambda: expect <= set(seen()), 240, what=f"every reference event ({site})")
            return seen()
        wait_for(lambda: {_kind(e) for e in watcher.messages(events_topic)} >= KINDS, 240, what=f"every kind ({site})")
        wait_for(lambda: _settled(seen), 120, what="the reference run settling")
        return seen()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        watcher.close()


def _settled(seen) -> bool:
    """No new event for 3 s: the reference run has worked through its input."""
    before = seen()
    threading.Event().wait(3.0)
    return seen() == before


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Counter[tuple[str, str]]:
    from tests.integration.conftest import Mosquitto

    tmp = tmp_path_factory.mktemp("reference")
    broker = Mosquitto(tmp / "mosquitto", persistence=False)
    broker.start()
    try:
        return _run(broker.url, tmp, "sref", crash_at=None)
    finally:
        broker.stop()


@pytest.mark.parametrize("step", STEPS)
def test_every_alert_kind_survives_a_crash_at_each_step(
    mosquitto: str, tmp_path: Path, reference: Counter[tuple[str, str]], step: str
) -> None:
    assert all(n == 1 for n in reference.values())  # without a crash: each event once
    crashed = _run(mosquitto, tmp_path, f"s{step}", crash_at=step, expect=set(reference))  # times out if one is lost
    assert set(reference) <= set(crashed)
    assert max(crashed.values()) <= 2, f"more than once more at {step}: {crashed.most_common(3)}"
