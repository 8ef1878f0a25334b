"""Epoch AI "GPU Clusters" CSV (one row per AI supercomputer) → operational GPU-cluster capacity in H100 equivalents per country and year-end, and the world total.

Rules (docs/sources.md, "Epoch GPU clusters"):
- a cluster counts when Epoch itself counts it: `Status` Existing or Decommissioned and `Include in Standard
  Analysis` True (Epoch's filter, which drops possible duplicates and unlikely entries); planned clusters never;
- it counts from the year of its `First Operational Date` and stops counting from the year of its
  `Decommissioned Date (if applicable)`; a cluster without a date or without `H100 equivalents` cannot be placed
  and is left out;
- a blank `Country` counts in the world total (WLD) only;
- a country-year with no capacity is a missing row, not a zero (Epoch's coverage is thin, not a measured nothing).
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict

from fetchers.base import RawPayload
from fetchers.curated.frame import Reading, country_code, observation_frame
from fetchers.errors import SchemaDriftError

SOURCE = "epoch_clusters"
INDICATOR = "gpu_cluster_capacity_h100e"
SERIES = "gpu_clusters:H100 equivalents:operational at year end"
COUNTED_STATUSES = frozenset({"Existing", "Decommissioned"})
KNOWN_STATUSES = COUNTED_STATUSES | {"Planned"}
REQUIRED = ("Name", "Status", "H100 equivalents", "Country", "First Operational Date",
            "Include in Standard Analysis", "Decommissioned Date (if applicable)")
_DATE = re.compile(r"^(\d{4})(?:-\d{2}(?:-\d{2})?)?$")


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # The file's last year is cut off at the download: its values are provisional, never history.
    partial_from_year: int | None = None


def _year(text: str, what: str, name: str) -> int | None:
    cell = (text or "").strip()
    if not cell:
        return None
    match = _DATE.match(cell)
    if match is None:
        raise SchemaDriftError(f"Epoch GPU clusters: {name!r} has {what} {cell!r}, not YYYY[-MM[-DD]]")
    return int(match.group(1))


def _capacity(text: str, name: str) -> float | None:
    cell = (text or "").strip()
    if not cell:
        return None
    try:
        value = float(cell)
    except ValueError as exc:
        raise SchemaDriftError(f"Epoch GPU clusters: {name!r} has H100 equivalents {cell!r}") from exc
    if not value >= 0 or value == float("inf"):
        raise SchemaDriftError(f"Epoch GPU clusters: {name!r} has H100 equivalents {cell!r}")
    return value


def counted_clusters(content: bytes) -> list[tuple[str, int, int | None, float]]:
    """(ISO3 or "" for a blank country, first year, decommissioning year or None, H100e) of every counted cluster."""
    try:
        reader = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
        rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise SchemaDriftError(f"Epoch GPU clusters CSV does not parse: {exc}") from exc
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise SchemaDriftError(f"Epoch GPU clusters CSV lacks column(s) {missing}")
    clusters = []
    for row in rows:
        name, status = row["Name"], row["Status"].strip()
        if status not in KNOWN_STATUSES:
            raise SchemaDriftError(f"Epoch GPU clusters: {name!r} has unknown Status {status!r}")
        if status not in COUNTED_STATUSES or row["Include in Standard Analysis"].strip() != "True":
            continue
        start = _year(row["First Operational Date"], "First Operational Date", name)
        capacity = _capacity(row["H100 equivalents"], name)
        if start is None or capacity is None:
            continue
        end = _year(row["Decommissioned Date (if applicable)"], "Decommissioned Date", name)
        label = row["Country"].strip()
        code = country_code(label, SOURCE) if label else ""
        if code is None:
            continue  # a label the mapping file lists as "not a country" (none today)
        clusters.append((code, start, end, capacity))
    if not clusters:
        raise SchemaDriftError("Epoch GPU clusters: no cluster passes the counting rules")
    return clusters


def capacity_readings(content: bytes, options: Options) -> list[Reading]:
    """Year-end operational capacity per country (and WLD, which includes clusters without a country)."""
    clusters = counted_clusters(content)
    first = min(start for _, start, _, _ in clusters)
    last = max(start for _, start, _, _ in clusters)
    totals: dict[tuple[str, int], float] = defaultdict(float)
    for code, start, end, capacity in clusters:
        for year in range(start, last + 1):
            if end is not None and end <= year:
                break
            totals[("WLD", year)] += capacity
            if code:
                totals[(code, year)] += capacity
    readings = []
    for (code, year), value in sorted(totals.items()):
        if value <= 0 or year < first:
            continue
        partial = options.partial_from_year is not None and year >= options.partial_from_year
        readings.append(Reading(INDICATOR, code, year, value, "count", SERIES,
                                "provisional" if partial else "measured"))
    return readings


def parse_epoch_gpu_clusters(payload: RawPayload, options: dict[str, Any]) -> pl.DataFrame:
    return observation_frame(capacity_readings(payload.content, Options.model_validate(options)), payload)
