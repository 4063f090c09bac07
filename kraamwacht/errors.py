"""One exception hierarchy for kraamwacht, with the facts as fields."""

from __future__ import annotations

from pathlib import Path

__all__ = ["ConfigError", "InputFileError", "InvalidValueError", "KraamwachtError"]


class KraamwachtError(Exception):
    """Root of every error kraamwacht raises on purpose."""


class InvalidValueError(KraamwachtError, ValueError):
    """A value given by a person, a file or a configuration is not acceptable; the message says why.

    Also a ``ValueError``, so pydantic validators and older callers treat it as one.
    """


class InputFileError(KraamwachtError):
    """A researcher's input file cannot be used; ``line`` is 1-based (None: the whole file)."""

    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        super().__init__(path, line, reason)
        self.path = path
        self.line = line
        self.reason = reason

    def __str__(self) -> str:
        where = f"{self.path}, line {self.line}" if self.line is not None else str(self.path)
        return f"{where}: {self.reason}"


class ConfigError(KraamwachtError):
    """A configuration file or value is invalid."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(source, reason)
        self.source = source
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"
