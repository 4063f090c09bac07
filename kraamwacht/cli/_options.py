"""Command-line options that several commands share, so that their help says the same thing."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["DEFAULT_BROKER", "BrokerUrl", "DaskScheduler", "DaskWorkers"]

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
