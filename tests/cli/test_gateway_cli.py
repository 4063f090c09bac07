"""`kraamwacht gateway pair/unpair/list`, the BLE backend choice, and the systemd notifications."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kraamwacht.cli import app
from kraamwacht.gateway.service import _backends, sd_notify

runner = CliRunner()


def test_pair_list_unpair(tmp_path: Path) -> None:
    state = ["--state-dir", str(tmp_path)]
    assert (
        runner.invoke(
            app, ["gateway", "pair", "0042", "--site", "s1", "--episode", "ep1", "--subject", "m1", *state]
        ).exit_code
        == 0
    )
    listed = runner.invoke(app, ["gateway", "list", *state])
    assert listed.output.split() == ["0042", "s1", "ep1", "m1", "wb-0042"]
    assert runner.invoke(app, ["gateway", "unpair", "0042", *state]).exit_code == 0
    again = runner.invoke(app, ["gateway", "unpair", "0042", *state])
    assert again.exit_code == 2
    assert "was not paired" in again.output


def test_pairing_refuses_names_where_pseudonyms_belong(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "gateway",
            "pair",
            "0042",
            "--site",
            "s1",
            "--episode",
            "ep1",
            "--subject",
            "Fatima B.",
            "--state-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 2
    assert "not a pseudonymous id" in result.output


def test_the_ble_backend_is_chosen_in_one_place() -> None:
    assert _backends("default") == (None, None)
    scanner, client = _backends("bumble:tcp-client:127.0.0.1:9100")
    assert (scanner.__name__, client.__name__) == ("BleakScannerBumble", "BleakClientBumble")
    with pytest.raises(ValueError, match="bumble:<transport>"):
        _backends("usb")


def test_sd_notify_talks_to_systemd_only_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sd_notify("READY=1") is False
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        monkeypatch.setenv("NOTIFY_SOCKET", path)
        assert sd_notify("WATCHDOG=1") is True
        assert server.recv(64) == b"WATCHDOG=1"
