"""Times on the wire and in files: UTC, ISO 8601 with a zone, one parser and one formatter."""

from __future__ import annotations

from datetime import UTC, datetime

from kraamwacht.errors import InvalidValueError

__all__ = ["format_time", "format_timestamp", "parse_time", "require_utc"]


def require_utc(v: datetime) -> datetime:
    """The same moment in UTC; a time without a zone is refused (its meaning would be a guess)."""
    if v.tzinfo is None:
        raise InvalidValueError("time must carry a UTC offset (e.g. 2026-11-23T09:00:00Z)")
    return v.astimezone(UTC)


def format_time(t: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, the form used on the wire and in files."""
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def format_timestamp(t_s: float) -> str:
    """:func:`format_time` for seconds since the epoch."""
    return format_time(datetime.fromtimestamp(t_s, tz=UTC))


def parse_time(text: str, *, what: str = "time") -> datetime:
    """An ISO 8601 time that must say its zone (``Z`` or an offset), in UTC.

    Raises ``ValueError`` naming ``what`` and the text, so every caller reports the same way.
    """
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidValueError(f"{what} {text!r} is not an ISO 8601 time (e.g. 2026-11-20T03:00:00Z)") from exc
    if moment.tzinfo is None:
        raise InvalidValueError(f"{what} {text!r} needs Z or a UTC offset")
    return moment.astimezone(UTC)
