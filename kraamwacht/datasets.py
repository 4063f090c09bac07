"""Where a stream dataset partitioned by subject lives: a local folder or an object store (fsspec URL).

A national registry of recordings does not fit one disk; an object store (S3, Google Cloud
Storage, Azure, ...) holds it and every Dask worker reads its own subjects' partitions from
there. Any URL with a scheme (``s3://bucket/cohort``) goes through fsspec, which finds the
filesystem by the scheme (``s3fs`` for ``s3://``, installed with ``kraamwacht[objectstore]``);
credentials and the endpoint come from the environment the way that filesystem reads them
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL`` for S3), on this machine
and on every worker alike, so no secret is ever on a command line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from kraamwacht.errors import InputFileError

__all__ = ["Location", "dataset_subjects", "ensure_empty_dataset", "is_dataset", "is_url", "parse_location"]

Location = Path | str  # a local path, or the fsspec URL of a dataset
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def parse_location(text: str) -> Location:
    """A URL with a scheme stays a string (fsspec's); anything else is a local path."""
    return text if _URL.match(text) else Path(text)


def is_url(location: Location) -> bool:
    return isinstance(location, str)


def is_dataset(location: Location) -> bool:
    """A folder or a URL: a Parquet dataset partitioned by subject (a URL is never a single file here)."""
    return is_url(location) or Path(location).is_dir()


def _filesystem(url: str) -> tuple[Any, str]:
    """fsspec's filesystem for ``url`` and the path within it; a clear error if there is none."""
    import fsspec

    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:  # an unknown scheme, or its package is not installed
        raise InputFileError(url, None, f"no filesystem for this URL: {exc}") from None


def dataset_subjects(location: Location) -> list[str]:
    """The subjects of a dataset partitioned by subject: its ``subject=<id>`` folders, sorted."""
    if not is_url(location):
        folder = Path(location)
        return sorted(p.name.split("=", 1)[1] for p in folder.iterdir() if p.is_dir() and p.name.startswith("subject="))
    fs, path = _filesystem(str(location))
    try:
        names = [str(entry).rstrip("/").rsplit("/", 1)[-1] for entry in fs.ls(path, detail=False)]
    except FileNotFoundError:
        raise InputFileError(location, None, "not found") from None
    except OSError as exc:  # refused, unreachable, no credentials: said, with the store's own words
        raise InputFileError(location, None, f"cannot list the dataset: {exc}") from None
    return sorted(name.split("=", 1)[1] for name in names if name.startswith("subject="))


def ensure_empty_dataset(location: Location) -> None:
    """Refuse to write a dataset where one already is: a partition would mix two exports."""
    if is_url(location):
        fs, path = _filesystem(str(location))
        occupied = fs.exists(path) and bool(fs.ls(path, detail=False))
    else:
        folder = Path(location)
        occupied = folder.exists() and any(folder.iterdir())
    if occupied:
        raise InputFileError(location, None, "the dataset folder is not empty")
