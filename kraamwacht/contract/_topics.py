"""The MQTT topic layout, versioned: ``kraamwacht/v1/<site>/...``."""

from __future__ import annotations

from kraamwacht.contract._ids import topic_id

__all__ = ["CONTRACT_VERSION", "Topics"]

CONTRACT_VERSION = 1


class Topics:
    """MQTT topic layout, versioned: ``kraamwacht/v1/<site>/...``."""

    ROOT = f"kraamwacht/v{CONTRACT_VERSION}"

    @classmethod
    def observations(cls, site: str, episode: str, subject: str) -> str:
        return f"{cls.ROOT}/{topic_id(site)}/{topic_id(episode)}/{topic_id(subject)}/obs"

    @classmethod
    def observations_filter(cls, site: str = "+") -> str:
        return f"{cls.ROOT}/{site}/+/+/obs"

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
        return f"{cls.ROOT}/{topic_id(site)}/gateway/{topic_id(gateway)}/status"

    @classmethod
    def gateway_status_filter(cls, site: str) -> str:
        return f"{cls.ROOT}/{topic_id(site)}/gateway/+/status"

    @classmethod
    def device_status(cls, site: str, device: str) -> str:
        return f"{cls.ROOT}/{topic_id(site)}/device/{topic_id(device)}/status"

    @classmethod
    def device_status_filter(cls, site: str) -> str:
        return f"{cls.ROOT}/{topic_id(site)}/device/+/status"

    @classmethod
    def parse_observations(cls, topic: str) -> tuple[str, str, str] | None:
        """``(site, episode, subject)`` of an observation topic, or None if it is not one."""
        parts = topic.split("/")
        if len(parts) != 6 or "/".join(parts[:2]) != cls.ROOT or parts[5] != "obs":
            return None
        return parts[2], parts[3], parts[4]
