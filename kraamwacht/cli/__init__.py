"""The ``kraamwacht`` command: one thin module per command group, the work in the modules they call.

``research`` (export, replay, evaluate, sweep, plot, simulate-cohort, config), ``serve`` (serve, broker,
broker-config, status, doctor), ``gateway`` (gateway pair/unpair/list/run, sim), ``bili`` (bili
assess/enter), ``temp`` (temp enter: a thermometer spot check), ``board`` (dashboard, user, episode), ``demo``,
``handover`` (an episode as FHIR R4).
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from kraamwacht import __version__
from kraamwacht.cli import demo, gateway, research, serve
from kraamwacht.cli._console import OUT
from kraamwacht.cli.bili import app as bili_app
from kraamwacht.cli.board import dashboard, episode_app, user_app
from kraamwacht.cli.handover import handover
from kraamwacht.cli.temp import app as temp_app

__all__ = ["app", "main"]

app = typer.Typer(
    help="kraamwacht: early warning for postnatal care (decision support, not a certified medical device).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what is skipped and why.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@app.command()
def version() -> None:
    """Print the version."""
    OUT.print(f"kraamwacht {__version__}")


app.add_typer(research.config_app, name="config")
for command in (research.export, research.replay, research.evaluate, research.sweep, research.plot):
    app.command()(command)
app.command("simulate-cohort")(research.simulate_cohort)
for command in (serve.serve, serve.broker, serve.status, serve.doctor):
    app.command()(command)
app.command("broker-config")(serve.broker_config)
app.add_typer(gateway.gateway_app, name="gateway")
app.command()(gateway.sim)
app.command()(demo.demo)
app.add_typer(bili_app, name="bili")
app.add_typer(temp_app, name="temp")
app.add_typer(user_app, name="user")
app.add_typer(episode_app, name="episode")
app.command("dashboard")(dashboard)
app.command()(handover)


def main() -> None:
    """The console script's entry point."""
    app()
