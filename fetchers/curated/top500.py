"""TOP500 lists (the derived per-list by-country CSV, or one official list xlsx) → November-list systems and Rmax share per country-year."""

from __future__ import annotations

import io
import re
from collections import defaultdict
from typing import Any, Iterable

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from fetchers.base import RawPayload
from fetchers.curated.frame import Reading, country_code, observation_frame
from fetchers.errors import SchemaDriftError

SOURCE = "top500"
SYSTEMS = "top500_systems"
RMAX_SHARE = "top500_rmax_share"
# The indicator is the November list: one list a year, and the one published at year end.
YEAR_END_MONTH = 11
LIST_SIZE = 500


class ListOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    list: str = Field(pattern=r"^\d{4}-\d{2}$")  # which list the file is, "YYYY-MM"


def country_shares(list_rows: Iterable[tuple[str | None, float]]) -> dict[str, tuple[int, float]]:
    """(ISO3 country or None, Rmax) per system of one list → {country: (systems, Rmax share in %)}.

    The share's denominator is the whole list, including systems whose location is not a country.
    """
    systems: dict[str, int] = defaultdict(int)
    rmax: dict[str, float] = defaultdict(float)
    total = 0.0
    for country, system_rmax in list_rows:
        total += system_rmax
        if country is None:
            continue
        systems[country] += 1
        rmax[country] += system_rmax
    if total <= 0:
        raise SchemaDriftError("TOP500 list has no positive Rmax")
    return {c: (systems[c], 100.0 * rmax[c] / total) for c in systems}


def _readings(year: int, month: int, per_country: dict[str, tuple[float, float]], series: str,
              zero_for: Iterable[str] = ()) -> list[Reading]:
    """Both indicators for one list; countries in `zero_for` absent from the list get a measured 0."""
    out = []
    for country in sorted(set(per_country) | set(zero_for)):
        n_systems, share = per_country.get(country, (0, 0.0))
        out.append(Reading(SYSTEMS, country, year, float(n_systems), "count", f"{series}:n_systems"))
        out.append(Reading(RMAX_SHARE, country, year, float(share), "pct", f"{series}:rmax_share_pct"))
    return out


def by_country_readings(content: bytes) -> list[Reading]:
    """The derived CSV (year, month, country, n_systems, rmax_sum, rmax_share_pct) → November lists only.

    A country that appears on any November list but not on a given one had no system on it: that is a
    measured zero, not a gap (China has none on the 1993, 1994, 1997, 1998 and 2000 lists).
    """
    try:
        frame = pl.read_csv(io.BytesIO(content), schema_overrides={"year": pl.Int64, "month": pl.Int64,
                                                                    "country": pl.String})
    except pl.exceptions.PolarsError as exc:
        raise SchemaDriftError(f"TOP500 by-country CSV does not parse: {exc}") from exc
    need = {"year", "month", "country", "n_systems", "rmax_share_pct"}
    if not need <= set(frame.columns):
        raise SchemaDriftError(f"TOP500 by-country CSV lacks {sorted(need - set(frame.columns))}")
    november = frame.filter(pl.col("month") == YEAR_END_MONTH)
    per_list: dict[int, dict[str, tuple[float, float]]] = defaultdict(dict)
    list_sizes: dict[int, int] = defaultdict(int)
    for row in november.iter_rows(named=True):
        list_sizes[row["year"]] += int(row["n_systems"])
        code = country_code(row["country"], SOURCE)
        if code is None:
            continue
        n_before, share_before = per_list[row["year"]].get(code, (0, 0.0))
        per_list[row["year"]][code] = (n_before + int(row["n_systems"]), share_before + float(row["rmax_share_pct"]))
    seen = {c for countries in per_list.values() for c in countries}
    readings = []
    for year, per_country in sorted(per_list.items()):
        if list_sizes[year] != LIST_SIZE:
            raise SchemaDriftError(f"TOP500 {year}-11 list sums to {list_sizes[year]} systems, not {LIST_SIZE}")
        readings += _readings(year, YEAR_END_MONTH, per_country, f"TOP500 {year}-11", zero_for=seen)
    return readings


def _header_index(header: tuple[Any, ...]) -> tuple[int, int]:
    names = [str(c).strip() if c is not None else "" for c in header]
    country = names.index("Country") if "Country" in names else -1
    rmax = next((i for i, n in enumerate(names) if re.fullmatch(r"r ?max.*", n, re.IGNORECASE)), -1)
    if country < 0 or rmax < 0:
        raise SchemaDriftError(f"TOP500 list header lacks Country/Rmax: {names[:16]}")
    return country, rmax


def list_xlsx_rows(content: bytes) -> list[tuple[str, float]]:
    """An official TOP500 list workbook → (country label, Rmax) per system; the header row starts with "Rank"."""
    import openpyxl  # imported lazily: only this parser needs it

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a file that is not a workbook
        raise SchemaDriftError(f"TOP500 list is not a readable xlsx: {exc}") from exc
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        columns = None
        systems = []
        for row in rows:
            if columns is None:
                if row and row[0] is not None and str(row[0]).strip() == "Rank":
                    columns = _header_index(row)
                continue
            if row[0] is None:
                continue
            label, rmax = row[columns[0]], row[columns[1]]
            if label is None or rmax is None:
                raise SchemaDriftError(f"TOP500 list row rank {row[0]} lacks Country or Rmax")
            systems.append((str(label), float(rmax)))
    finally:
        workbook.close()
    if columns is None:
        raise SchemaDriftError("TOP500 list has no header row starting with 'Rank'")
    if len(systems) != LIST_SIZE:
        raise SchemaDriftError(f"TOP500 list has {len(systems)} systems, not {LIST_SIZE}")
    return systems


def list_readings(content: bytes, options: ListOptions) -> list[Reading]:
    """One list workbook → readings; only a November list is the year's value, other lists give none."""
    year, month = (int(part) for part in options.list.split("-"))
    coded = [(country_code(label, SOURCE), rmax) for label, rmax in list_xlsx_rows(content)]
    if month != YEAR_END_MONTH:
        return []
    per_country = country_shares(coded)
    return _readings(year, month, per_country, f"TOP500 {options.list}")


def parse_top500_by_country(payload: RawPayload, options: dict[str, Any]) -> pl.DataFrame:
    if options:
        raise SchemaDriftError(f"curated.top500_by_country takes no options, got {sorted(options)}")
    return observation_frame(by_country_readings(payload.content), payload)


def parse_top500_list_xlsx(payload: RawPayload, options: dict[str, Any]) -> pl.DataFrame:
    return observation_frame(list_readings(payload.content, ListOptions.model_validate(options)), payload)
