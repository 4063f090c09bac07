"""Configuration: the shipped TOML is the dataclass defaults; bad files give clear errors."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from kraamwacht.errors import ConfigError
from kraamwacht.settings import default_config_text, load_detector_config
from kraamwacht.signal import DetectorConfig


def test_shipped_toml_equals_the_dataclass_defaults() -> None:
    from_file = DetectorConfig.from_mapping(tomllib.loads(default_config_text()))
    assert from_file == DetectorConfig()
    # and every parameter is present in the file, each under a comment saying why
    assert tomllib.loads(default_config_text()) == DetectorConfig().to_mapping()


def test_every_parameter_has_a_comment() -> None:
    text = default_config_text()
    for section in DetectorConfig().to_mapping():
        block = text.split(f"[{section}]")[1].split("\n[")[0]
        assert block.strip().startswith("#"), f"[{section}] has no explanation"


def test_partial_file_overrides_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "cfg.toml"
    path.write_text("[rise]\nk_c = 0.5\n")
    cfg = load_detector_config(path)
    assert cfg.rise.k_c == 0.5
    assert cfg.fever == DetectorConfig().fever


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[rise]\nk = 0.5\n", "unknown key rise.k"),
        ("[riser]\nk_c = 0.5\n", "unknown config section"),
        ("[rise]\nk_c = 'high'\n", "rise.k_c must be float"),
        ("[fever]\ncore_c = 38.0\nclear_core_c = 38.5\n", "clear_core_c"),
        ("[rise\n", "not valid TOML"),
        ("[epoch]\nepoch_s = 7\n", "divide an hour"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "cfg.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=words):
        load_detector_config(path)
