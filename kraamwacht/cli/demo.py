"""make demo: the whole system with four scripted families, in time-lapse."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kraamwacht.cli._console import OUT

__all__ = ["demo"]


def demo(
    out_dir: Annotated[Path, typer.Option(help="The demo's folder (emptied at start).")] = Path("demo-live"),
    time_lapse: Annotated[
        float, typer.Option(min=1.0, max=600.0, help="How much faster than real time the clock runs once started.")
    ] = 60.0,
    start_in_s: Annotated[float, typer.Option(min=0.0, help="Real seconds before the time-lapse starts.")] = 20.0,
    broker: Annotated[
        str | None, typer.Option(help="A real broker, mqtt://[user:pass@]host:port; default: the embedded one.")
    ] = None,
    store: Annotated[
        str | None,
        typer.Option(help="A real database, influx+v1://host:8086/DB or influx+v2://...; default: embedded."),
    ] = None,
    port: Annotated[int, typer.Option(help="Port of the board.")] = 8501,
    broker_port: Annotated[int, typer.Option(help="Port of the embedded broker.")] = 1883,
    run_for_s: Annotated[float | None, typer.Option(help="Stop by itself after this many seconds.")] = None,
) -> None:
    """The whole system with four scripted families, in time-lapse, until Ctrl-C."""
    from kraamwacht.demo.run import DemoOptions, run_demo

    options = DemoOptions(out_dir=out_dir, time_lapse=time_lapse, start_in_s=start_in_s, broker=broker, store=store,
                          board_port=port, broker_port=broker_port, run_for_s=run_for_s, say=OUT.print)  # fmt: skip
    raise typer.Exit(code=run_demo(options))
