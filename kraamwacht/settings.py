"""Loading detector configuration from TOML files (the shell side of ``signal.config``)."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from kraamwacht.errors import ConfigError
from kraamwacht.signal.config import DetectorConfig

__all__ = ["default_config_text", "load_detector_config"]


def default_config_text() -> str:
    """The shipped ``defaults.toml``: every parameter with its default and reason."""
    return resources.files("kraamwacht.signal").joinpath("defaults.toml").read_text(encoding="utf-8")


def load_detector_config(path: Path | None = None) -> DetectorConfig:
    """Defaults, overlaid with the TOML file at ``path`` if given."""
    if path is None:
        return DetectorConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(str(path), "file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from exc
    try:
        return DetectorConfig.from_mapping(data)
    except (ValueError, TypeError) as exc:
        raise ConfigError(str(path), str(exc)) from exc
