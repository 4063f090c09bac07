"""The published bilirubin threshold tables, loaded from the CSV files shipped in ``tables/``.

The files are verbatim copies of ``shared/reference/`` (provenance comment included, a test checks
they are unchanged), so the product does not depend on that folder. Values stay in the tables'
own units (mg/dL for AAP and Bhutani, µmol/L for NICE); conversion happens at the edges.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
from numpy.typing import NDArray

__all__ = ["MG_DL_TO_UMOL_L", "Table", "aap_exchange", "aap_phototherapy", "bhutani", "nice"]

MG_DL_TO_UMOL_L = 17.1  # reference/README.md: 1 mg/dL bilirubin = 17.1 µmol/L

# AAP 2022 exchange thresholds beyond hour 100 (aap2022_exchange_mgdl.csv, header comment, low
# confidence): the value at 336 h per column; between 100 h and 336 h linear, flat after.
AAP_EXCHANGE_AT_336H_MG_DL: dict[str, float] = {
    "norisk_35": 26.3,
    "norisk_36": 27.0,
    "norisk_37": 27.0,
    "norisk_38": 27.0,
    "risk_35": 22.9,
    "risk_36": 23.5,
    "risk_37": 23.5,
    "risk_38": 23.5,
}


@dataclass(frozen=True, slots=True)
class Table:
    """A reference table: its provenance line, the age column and one array per threshold column."""

    name: str
    provenance: str
    age_h: NDArray[np.float64]
    columns: dict[str, NDArray[np.float64]]  # NaN where the published table has a blank cell

    def plateau(self, column: str, row: int) -> float:
        """The value at ``row``, or the column's last value where the table is blank (plateau)."""
        values = self.columns[column]
        if not math.isnan(values[row]):
            return float(values[row])
        filled = values[: row + 1][~np.isnan(values[: row + 1])]
        return float(filled[-1])


def _load(name: str) -> Table:
    text = resources.files("kraamwacht.jaundice").joinpath("tables", name).read_text(encoding="utf-8")
    first, _, body = text.partition("\n")
    rows = list(csv.reader(io.StringIO(body)))
    header, data = rows[0], [r for r in rows[1:] if r]
    age = np.array([float(r[0]) for r in data])
    columns = {h: np.array([float(r[i]) if r[i] else np.nan for r in data]) for i, h in enumerate(header) if i}
    return Table(name, first.lstrip("# ").strip(), age, columns)


@lru_cache(maxsize=1)
def aap_phototherapy() -> Table:
    return _load("aap2022_phototherapy_mgdl.csv")


@lru_cache(maxsize=1)
def aap_exchange() -> Table:
    return _load("aap2022_exchange_mgdl.csv")


@lru_cache(maxsize=1)
def nice() -> Table:
    return _load("nice_cg98_term.csv")


@lru_cache(maxsize=1)
def bhutani() -> Table:
    return _load("bhutani1999_percentiles_mgdl.csv")
