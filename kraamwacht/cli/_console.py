"""Output and small helpers every command shares: consoles, progress, failing with a clear message."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import NoReturn, TypeVar

import typer
from rich.console import Console
from tqdm import tqdm

__all__ = ["ERR", "OUT", "fail", "fmt", "parse_utc", "pct", "progress"]

OUT = Console(soft_wrap=True)
ERR = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")


def progress(desc: str) -> Callable[[Iterable[T]], Iterable[T]]:
    """A tqdm progress bar on stderr when it is a terminal; silent otherwise."""

    def wrap(items: Iterable[T]) -> Iterable[T]:
        unit = {"sweep": "setting", "read": "chunk"}.get(desc, "subject")
        return tqdm(items, desc=desc, unit=unit, disable=None, leave=False)

    return wrap


def fail(exc: Exception) -> NoReturn:
    """Print the error in one line and exit with status 2 (no traceback for a person's mistake)."""
    ERR.print(f"[bold red]error:[/] {exc}", highlight=False)
    raise typer.Exit(code=2)


def parse_utc(text: str, what: str) -> datetime:
    """An option's ISO 8601 time, or typer's own error naming the option."""
    from kraamwacht.contract import parse_time

    try:
        return parse_time(text, what=what)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def fmt(x: float, decimals: int = 2) -> str:
    """A number for a table; ``–`` for NaN."""
    return "–" if math.isnan(x) else f"{x:.{decimals}f}"


def pct(x: float) -> str:
    """A share as a percentage for a table; ``–`` for NaN."""
    return "–" if math.isnan(x) else f"{100 * x:.1f} %"
