"""OECD.AI "VC investments in AI by country" export (Country, Country_label, INDUSTRY, STAGE, Sum_of_deals, Year) → `ai_vc_investment` in US$ million."""

from __future__ import annotations

import io
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict

from fetchers.base import RawPayload
from fetchers.curated.frame import Reading, country_code, observation_frame, parse_number
from fetchers.errors import SchemaDriftError

SOURCE = "oecd_ai"
INDICATOR = "ai_vc_investment"
ALL_INDUSTRIES = "-- All industries --"


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # The export's last year is the year it was downloaded in: a partial year, so provisional.
    partial_from_year: int | None = None
    stage: str = "VC"


def vc_readings(content: bytes, options: Options) -> list[Reading]:
    """All-industries rows of the chosen stage → one reading per country-year (aggregates: EU27 → EUU, others dropped)."""
    try:
        frame = pl.read_csv(io.BytesIO(content), infer_schema_length=0)
    except pl.exceptions.PolarsError as exc:
        raise SchemaDriftError(f"OECD.AI VC export does not parse: {exc}") from exc
    need = {"Country", "INDUSTRY", "STAGE", "Sum_of_deals", "Year"}
    if not need <= set(frame.columns):
        raise SchemaDriftError(f"OECD.AI VC export lacks {sorted(need - set(frame.columns))}")
    readings = []
    seen: set[tuple[str, int]] = set()
    for row in frame.iter_rows(named=True):
        if row["INDUSTRY"].strip() != ALL_INDUSTRIES or row["STAGE"].strip() != options.stage:
            continue
        code = country_code(row["Country"], SOURCE)
        if code is None:
            continue
        parsed = parse_number(row["Sum_of_deals"])
        if parsed is None:
            continue
        year = int(row["Year"])
        if (code, year) in seen:
            raise SchemaDriftError(f"OECD.AI VC export: {code} {year} appears twice")
        seen.add((code, year))
        partial = options.partial_from_year is not None and year >= options.partial_from_year
        readings.append(Reading(INDICATOR, code, year, parsed[0], "usd_million",
                                f"oecd.ai:vc_investments:{row['Country'].strip()}:{options.stage}",
                                "provisional" if partial else "measured"))
    return readings


def parse_oecd_ai_vc(payload: RawPayload, options: dict[str, Any]) -> pl.DataFrame:
    return observation_frame(vc_readings(payload.content, Options.model_validate(options)), payload)
