"""Freedom House "Freedom in the World" all-data workbook (sheet FIW13-24 …) → `freedom_house_total` (0–100) per country and year under review."""

from __future__ import annotations

import io
import re
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict

from fetchers.base import RawPayload
from fetchers.curated.frame import Reading, country_code, observation_frame
from fetchers.errors import SchemaDriftError

SOURCE = "freedomhouse"
INDICATOR = "freedom_house_total"
# Edition N of Freedom in the World rates events of calendar year N - 1 (the workbook's own
# "Historical distribution" sheet pairs edition 2024 with year under review 2023).
EDITION_LAG = 1
_SHEET = re.compile(r"^FIW\d{2}-\d{2}$")
# Nominally 0–100, but the discretionary question (Add Q) subtracts from political rights, so a Total
# can fall a little below zero (Syria, edition 2018: -1). The lower bound only guards against garbage.
TOTAL_RANGE = (-10, 100)


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sheet: str | None = None  # default: the one sheet named like FIW13-24


def _header_row(rows: list[tuple[Any, ...]]) -> int:
    for i, row in enumerate(rows[:10]):
        if row and row[0] is not None and str(row[0]).strip() == "Country/Territory":
            return i
    raise SchemaDriftError("Freedom House sheet has no header row starting with 'Country/Territory'")


def fiw_readings(content: bytes, options: Options) -> list[Reading]:
    """Every country or territory with an ISO3 code and a Total score → one reading per year under review."""
    import openpyxl  # imported lazily: only the xlsx parsers need it

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a file that is not a workbook
        raise SchemaDriftError(f"Freedom House file is not a readable xlsx: {exc}") from exc
    try:
        names = [options.sheet] if options.sheet else [n for n in workbook.sheetnames if _SHEET.match(n)]
        if len(names) != 1 or names[0] not in workbook.sheetnames:
            raise SchemaDriftError(f"Freedom House workbook: expected one FIWyy-yy sheet, found {workbook.sheetnames}")
        sheet_name = names[0]
        rows = list(workbook[sheet_name].iter_rows(values_only=True))
    finally:
        workbook.close()
    start = _header_row(rows)
    header = [str(c).strip() if c is not None else "" for c in rows[start]]
    try:
        at = {name: header.index(name) for name in ("Country/Territory", "Edition", "Total")}
    except ValueError as exc:
        raise SchemaDriftError(f"Freedom House sheet {sheet_name} header lacks a column: {exc}") from exc
    readings = []
    seen: set[tuple[str, int]] = set()
    for row in rows[start + 1:]:
        label, edition, total = row[at["Country/Territory"]], row[at["Edition"]], row[at["Total"]]
        if label is None and edition is None:
            continue
        code = country_code(str(label), SOURCE)
        if code is None:
            continue
        if not isinstance(edition, int) or not isinstance(total, (int, float)):
            raise SchemaDriftError(f"Freedom House {label} edition {edition!r}: Total {total!r} is not a score")
        if not TOTAL_RANGE[0] <= total <= TOTAL_RANGE[1]:
            raise SchemaDriftError(f"Freedom House {label} edition {edition}: Total {total} outside {TOTAL_RANGE}")
        year = edition - EDITION_LAG
        if (code, year) in seen:
            raise SchemaDriftError(f"Freedom House: {code} edition {edition} appears twice")
        seen.add((code, year))
        readings.append(Reading(INDICATOR, code, year, float(total), "score", f"{sheet_name}:Total:edition {edition}"))
    return readings


def parse_freedomhouse_fiw(payload: RawPayload, options: dict[str, Any]) -> pl.DataFrame:
    return observation_frame(fiw_readings(payload.content, Options.model_validate(options)), payload)
