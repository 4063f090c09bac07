"""Command-line options that several commands share, so that their help says the same thing."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["DEFAULT_BROKER", "BrokerUrl", "DaskScheduler", "DaskWorkers", "PasswordStdin", "staff_signing_key"]

DEFAULT_BROKER = "mqtt://127.0.0.1:1883"
BrokerUrl = Annotated[
    str,
    typer.Option(
        help="The broker: mqtt://host:1883, or mqtts://ACCOUNT@host:8883?ca=CA.crt with the password in "
        "KRAAMWACHT_MQTT_PASSWORD or &password_file=FILE (see kraamwacht broker-config)."
    ),
]

# replay and sweep on Dask: a local cluster, or a running one
DaskWorkers = Annotated[int | None, typer.Option(min=1, help="Run on a local Dask cluster of N worker processes.")]
DaskScheduler = Annotated[
    str | None, typer.Option(help="Run on a running Dask cluster: its scheduler, e.g. tcp://host:8786.")
]

# a typed-in reading signed with the staff member's key, for a serve that checks staff keys
PasswordStdin = Annotated[
    bool,
    typer.Option(
        help="Read ENTERED_BY's board password from standard input and sign the reading with her key; a serve "
        "started with --staff-keys refuses a reading that is not signed (dead letter: unverified_actor)."
    ),
]


def staff_signing_key(entered_by: str, password_stdin: bool) -> bytes | None:
    """Her signing key from the password on standard input, or None (unsigned)."""
    if not password_stdin:
        return None
    import sys

    from kraamwacht.staffkeys import derive_key

    password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise typer.BadParameter("--password-stdin: no password on standard input")
    return derive_key(entered_by, password)
