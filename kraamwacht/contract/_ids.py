"""Pseudonymous identifiers: the one pattern every episode, subject, device and site id follows."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

from kraamwacht.errors import InvalidValueError

__all__ = ["ID_PATTERN", "PseudoId", "is_pseudo_id", "topic_id"]

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"  # pydantic's (Rust) regex: `$` is the end of the text
# Python's `$` also matches before a trailing newline, so Python code checks with fullmatch
_ID_BODY = re.compile(ID_PATTERN[1:-1])
PseudoId = Annotated[str, Field(pattern=ID_PATTERN)]


def is_pseudo_id(value: str) -> bool:
    """Whether ``value`` is a valid pseudonymous id (the whole string, no trailing newline)."""
    return _ID_BODY.fullmatch(value) is not None


def topic_id(value: str) -> str:
    """``value`` if it may stand in a topic level; ``ValueError`` otherwise."""
    if not is_pseudo_id(value):
        raise InvalidValueError(f"not a valid pseudonymous id for a topic: {value!r}")
    return value
