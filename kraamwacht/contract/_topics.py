"""The MQTT topic layout, versioned: ``kraamwacht/v1/<site>/...``."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal, NamedTuple

from kraamwacht.contract._ids import topic_id

__all__ = ["CONTRACT_VERSION", "ObservationTopic", "Topics"]

CONTRACT_VERSION = 1

Source = Literal["open", "gateway", "entry"]


class ObservationTopic(NamedTuple):
    """Where an observation message came in, and so who may have sent it.

    ``gateway``: ``.../obs/<gateway>``, writable only by that gateway's account; ``entry``:
    ``.../entry``, typed-in readings (the board, ``bili enter``, ``temp enter``); ``open``: the bare
    ``.../obs`` of a deployment without per-account rights (the demo, the embedded broker).
    """

    site: str
    episode: str
    subject: str
    source: Source
    gateway: str | None = None


class Topics:
    """MQTT topic layout, versioned: ``kraamwacht/v1/<site>/...``."""

    ROOT = f"kraamwacht/v{CONTRACT_VERSION}"

    @classmethod
    def observations(cls, site: str, episode: str, subject: str, *, gateway: str | None = None) -> str:
        """A gateway's observations (``.../obs/<gateway>``), or the open topic without ``gateway``."""
        topic = f"{cls.ROOT}/{topic_id(site)}/{topic_id(episode)}/{topic_id(subject)}/obs"
        return topic if gateway is None else f"{topic}/{topic_id(gateway)}"

    @classmethod
    def entries(cls, site: str, episode: str, subject: str) -> str:
        """Typed-in readings (bilirubin, thermometer): the board's and the entry commands' topic."""
        return f"{cls.ROOT}/{topic_id(site)}/{topic_id(episode)}/{topic_id(subject)}/entry"

    @classmethod
    def gateway_observations_filter(cls, site: str, gateway: str = "+") -> str:
        return f"{cls.ROOT}/{site}/+/+/obs/{gateway}"

    @classmethod
    def entries_filter(cls, site: str = "+") -> str:
        return f"{cls.ROOT}/{site}/+/+/entry"

    @classmethod
    def observations_filters(cls, site: str = "+") -> list[str]:
        """Every topic an observation message may arrive on: the open one, the gateways', the entries'."""
        return [f"{cls.ROOT}/{site}/+/+/obs", cls.gateway_observations_filter(site), cls.entries_filter(site)]

    @classmethod
    def alert_state(cls, site: str, episode: str) -> str:
        return f"{cls.ROOT}/{topic_id(site)}/alerts/{topic_id(episode)}"

    @classmethod
    def alert_state_filter(cls, site: str) -> str:
        return f"{cls.ROOT}/{topic_id(site)}/alerts/+"

    @classmethod
    def baseline(cls, site: str, episode: str, subject: str) -> str:
        return f"{cls.ROOT}/{topic_id(site)}/baseline/{topic_id(episode)}/{topic_id(subject)}"

    @classmethod
    def baseline_filter(cls, site: str) -> str:
        return f"{cls.ROOT}/{topic_id(site)}/baseline/+/+"

    @classmethod
    def policy(cls, site: str) -> str:
        return f"{cls.ROOT}/{topic_id(site)}/policy"

    @classmethod
    def alert_events(cls, site: str) -> str:
        return f"{cls.ROOT}/{topic_id(site)}/events"

    @classmethod
    def commands(cls, site: str) -> str:
        return f"{cls.ROOT}/{topic_id(site)}/cmd"

    @classmethod
    def command_results(cls, site: str) -> str:
        return f"{cls.ROOT}/{topic_id(site)}/cmd/result"

    @classmethod
    def dead_letter(cls, site: str) -> str:
        return f"{cls.ROOT}/{topic_id(site)}/dead"

    @classmethod
    def gateway_status(cls, site: str, gateway: str) -> str:
        return f"{cls.gateway_branch(site, gateway)}/status"

    @classmethod
    def gateway_status_filter(cls, site: str) -> str:
        return f"{cls.ROOT}/{topic_id(site)}/gateway/+/status"

    @classmethod
    def device_status(cls, site: str, gateway: str, device: str) -> str:
        """A wearable's status as the gateway it is connected to sees it (under that gateway's branch)."""
        return f"{cls.gateway_branch(site, gateway)}/device/{topic_id(device)}/status"

    @classmethod
    def device_status_filter(cls, site: str, gateway: str = "+") -> str:
        return f"{cls.ROOT}/{topic_id(site)}/gateway/{gateway}/device/+/status"

    @classmethod
    def gateway_branch(cls, site: str, gateway: str) -> str:
        return f"{cls.ROOT}/{topic_id(site)}/gateway/{topic_id(gateway)}"

    @classmethod
    def parse_observations(cls, topic: str) -> ObservationTopic | None:
        """Site, episode, subject and source of an observation topic, or None if it is not one."""
        return _parse_observations(topic)


@lru_cache(maxsize=2**16)
def _parse_observations(topic: str) -> ObservationTopic | None:
    """Cached: a home sends on the same topic every second, and serve asks twice per message."""
    parts = topic.split("/")
    if len(parts) not in (6, 7) or "/".join(parts[:2]) != Topics.ROOT:
        return None
    site, episode, subject = parts[2:5]
    if len(parts) == 7:
        return ObservationTopic(site, episode, subject, "gateway", parts[6]) if parts[5] == "obs" else None
    if parts[5] in ("obs", "entry"):
        return ObservationTopic(site, episode, subject, "open" if parts[5] == "obs" else "entry")
    return None
