"""OECD SDMX REST (SDMX-CSV, `format=csvfilewithlabels`) in, MSTI R&D and AI patent-family observations out."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import ClassVar

import polars as pl
from pydantic import field_validator

from fetchers.base import (
    CountryResolver,
    Fetcher,
    RawPayload,
    SourceInfo,
    SourceQuery,
    concat_observations,
    get_payload,
    observations_from_records,
)
from fetchers.errors import EmptyDataError, SchemaDriftError, SourceQueryError

SOURCE_ID = "oecd"
REQUIRED_COLUMNS = ("REF_AREA", "TIME_PERIOD", "OBS_VALUE")


@dataclass(frozen=True)
class Dataflow:
    """One SDMX dataflow and how to build its key from the countries asked for."""

    name: str
    agency: str
    flow: str
    version: str
    key_template: str  # `{countries}` is replaced by e.g. USA+CHN

    def path(self, countries: tuple[str, ...]) -> str:
        key = self.key_template.format(countries="+".join(countries))
        return f"/data/{self.agency},{self.flow},{self.version}/{key}"


@dataclass(frozen=True)
class SdmxSeries:
    """Which rows of a dataflow are one catalog indicator: a code for each dimension that must match."""

    flow: str
    match: dict[str, str] = field(hash=False)
    indicator: str = ""
    unit: str = ""


DATAFLOWS: dict[str, Dataflow] = {
    # Key: REF_AREA.FREQ.MEASURE.UNIT_MEASURE.PRICE_BASE.TRANSFORMATION
    "msti": Dataflow("msti", "OECD.STI.STP", "DSD_MSTI@DF_MSTI", "1.0", "{countries}.A.G+GV+H+T_RS..."),
    # Key: PATENT_AUTHORITIES.FREQ.MEASURE.UNIT_MEASURE.DATE_TYPE.REF_AREA.PARTNER_AREA.AGENT_ROLE.COOPERATION_TYPE.WIPO.
    # OECD_TECHNOLOGY_PATENT; 9P50_3 = IP5 families, by inventor country and priority date, technology AI.
    "ai_patents": Dataflow("ai_patents", "OECD.STI.PIE", "DSD_PATENTS@DF_PATENTS_OECDSPECIFIC", "1.0",
                           "9P50_3.A.PF.PATN_FM.PRIORITY.{countries}._Z.INVENTOR._Z._Z.AI"),
}

# The % GDP codes are those of a published MSTI download (see docs/sources.md); the PPP and FTE codes are taken from
# public client code and still need a live check (tests/live).
SDMX_SERIES: tuple[SdmxSeries, ...] = (
    SdmxSeries("DSD_MSTI@DF_MSTI", {"MEASURE": "G", "UNIT_MEASURE": "PT_B1GQ"}, "gerd_pct_gdp", "pct_gdp"),
    SdmxSeries("DSD_MSTI@DF_MSTI", {"MEASURE": "GV", "UNIT_MEASURE": "PT_B1GQ"}, "goverd_pct_gdp", "pct_gdp"),
    SdmxSeries("DSD_MSTI@DF_MSTI", {"MEASURE": "H", "UNIT_MEASURE": "PT_B1GQ"}, "herd_pct_gdp", "pct_gdp"),
    SdmxSeries("DSD_MSTI@DF_MSTI", {"MEASURE": "G", "UNIT_MEASURE": "USD_PPP", "PRICE_BASE": "V"}, "gerd_ppp_usd",
               "usd_ppp_million"),
    SdmxSeries("DSD_MSTI@DF_MSTI", {"MEASURE": "T_RS", "UNIT_MEASURE": "FTE"}, "researchers_fte", "count"),
    SdmxSeries("DSD_PATENTS@DF_PATENTS_OECDSPECIFIC",
               {"PATENT_AUTHORITIES": "9P50_3", "MEASURE": "PF", "UNIT_MEASURE": "PATN_FM", "AGENT_ROLE": "INVENTOR",
                "OECD_TECHNOLOGY_PATENT": "AI"}, "ai_patent_families_ip5", "count"),
)


class OecdQuery(SourceQuery):
    dataflows: tuple[str, ...] = tuple(DATAFLOWS)
    countries: tuple[str, ...] = ("USA", "CHN")
    since: int | None = 2000

    @field_validator("dataflows")
    @classmethod
    def _known(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [n for n in names if n not in DATAFLOWS]
        if unknown or not names:
            raise ValueError(f"unknown OECD dataflow(s): {unknown or 'none given'}")
        return names

    @field_validator("countries")
    @classmethod
    def _iso3(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
        if not codes or any(not re.fullmatch(r"[A-Z]{3}", c) for c in codes):
            raise ValueError("countries must be ISO3 codes")
        return codes


def _structure_flow(structure_id: str) -> str:
    """`OECD.STI.STP:DSD_MSTI@DF_MSTI(1.0)` → `DSD_MSTI@DF_MSTI`."""
    match = re.search(r":([^()]+)\(", structure_id)
    return match.group(1) if match else structure_id


def parse_sdmx_csv(payload: RawPayload, options: dict) -> pl.DataFrame:
    """SDMX-CSV (with or without label columns) → observations for the rows that match a known series.

    options: `series` — a list of {match: {DIMENSION: code}, indicator, unit} to use instead of SDMX_SERIES; `published`
    (vintage). Rows no series claims are ignored (the request may bring neighbours); a matched row with a
    non-numeric value is drift.
    """
    try:
        text = payload.content.decode("utf-8-sig")
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader)
        rows = list(reader)
    except (UnicodeDecodeError, csv.Error, StopIteration) as exc:
        raise SchemaDriftError(f"oecd: SDMX-CSV does not parse ({exc})") from exc
    if not header or header[0] != "STRUCTURE":
        raise SchemaDriftError(f"oecd: not SDMX-CSV (first column {header[:1]}) from {payload.url}")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise SchemaDriftError(f"oecd: SDMX-CSV lacks column(s) {missing} ({payload.url})")
    at = {name: i for i, name in reversed(list(enumerate(header)))}  # first occurrence wins: codes precede labels
    if options.get("series"):
        series = [SdmxSeries("*", dict(s["match"]), s["indicator"], s["unit"]) for s in options["series"]]
    else:
        series = list(SDMX_SERIES)
    resolve = CountryResolver(SOURCE_ID)
    records = []
    seen: set[tuple[str, str, int]] = set()
    for number, row in enumerate(rows, start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise SchemaDriftError(f"oecd: line {number} has {len(row)} cells, header has {len(header)}")
        flow = _structure_flow(row[at["STRUCTURE_ID"]]) if "STRUCTURE_ID" in at else "*"
        chosen = [s for s in series if s.flow in ("*", flow)
                  and all(d in at and row[at[d]] == code for d, code in s.match.items())]
        if not chosen:
            continue
        cell = row[at["OBS_VALUE"]].strip()
        if not cell:
            continue
        try:
            value = float(cell)
        except ValueError as exc:
            raise SchemaDriftError(f"oecd: line {number} OBS_VALUE {cell!r}") from exc
        period = row[at["TIME_PERIOD"]].strip()
        if not re.fullmatch(r"\d{4}", period):
            raise SchemaDriftError(f"oecd: line {number} TIME_PERIOD {period!r} is not a year")
        country = resolve(row[at["REF_AREA"]])
        if country is None:
            continue
        spec = chosen[0]
        key = (spec.indicator, country, int(period))
        if key in seen:
            raise SchemaDriftError(f"oecd: two rows for {spec.indicator} {country} {period}: the series match is ambiguous")
        seen.add(key)
        series_code = ".".join(f"{d}={c}" for d, c in spec.match.items())
        records.append({"indicator": spec.indicator, "country": country, "year": int(period), "value": value,
                        "unit": spec.unit, "source_series": f"{flow}:{series_code}"})
    resolve.report(payload.url)
    return observations_from_records(records, payload, source=SOURCE_ID, vintage=options.get("published"))


class OecdFetcher(Fetcher):
    info = SourceInfo(
        id=SOURCE_ID,
        producer="OECD",
        title="OECD Data Explorer (SDMX): Main Science and Technology Indicators; AI patent families",
        homepage="https://data-explorer.oecd.org/",
        licence="CC BY 4.0 (OECD terms since 2024)",
        citation="OECD (2025), Main Science and Technology Indicators; OECD, Patents by technology (AI), OECD Data Explorer",
        redistributable=True,
        cadence_days=180,
    )
    Query = OecdQuery
    default_base_url: ClassVar[str] = "https://sdmx.oecd.org/public/rest"

    def extract(self, query: OecdQuery, client) -> list[RawPayload]:
        payloads = []
        for name in query.dataflows:
            flow = DATAFLOWS[name]
            params = {"dimensionAtObservation": "AllDimensions", "format": "csvfilewithlabels"}
            if query.since is not None:
                params["startPeriod"] = str(query.since)
            try:
                payloads.append(get_payload(client, SOURCE_ID, flow.path(query.countries), params,
                                            extra={"dataflow": name}, published_from_last_modified=True))
            except SourceQueryError as exc:
                # SDMX REST answers 404 when the key is valid but selects no observations.
                if exc.status == 404:
                    raise EmptyDataError(f"oecd: no observations for {flow.flow} ({exc})") from exc
                raise
        return payloads

    def transform(self, payloads: list[RawPayload], query: OecdQuery) -> pl.DataFrame:
        frames = [parse_sdmx_csv(p, {"published": p.published} if p.published else {}) for p in payloads]
        return concat_observations(frames, source=SOURCE_ID, what=", ".join(query.dataflows))
