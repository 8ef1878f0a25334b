"""Our World in Data grapher CSV (`Entity,Code,Year,…`) plus its `.metadata.json` in, observation frames out."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
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
from fetchers.errors import SchemaDriftError

SOURCE_ID = "owid"
KEY_COLUMNS = ("Entity", "Code", "Year")
PROJECTED_SUFFIX = "(Projected)"


@dataclass(frozen=True)
class GrapherSeries:
    """One chart: which column(s) hold our indicator. `column=None` means "the chart's single value column"."""

    slug: str
    indicator: str
    unit: str
    column: str | None = None


GRAPHER_SERIES: dict[str, GrapherSeries] = {
    s.slug: s
    for s in (
        GrapherSeries("annual-scholarly-publications-on-artificial-intelligence", "ai_papers", "count", "All"),
        GrapherSeries("artificial-intelligence-patents-submitted", "ai_patent_applications", "count", "All"),
        GrapherSeries("private-investment-in-artificial-intelligence-cset", "ai_private_investment", "usd_const", "All"),
        GrapherSeries("private-investment-in-artificial-intelligence", "ai_private_investment_quid", "usd"),
        GrapherSeries("cumulative-number-of-large-scale-ai-systems-by-country", "large_scale_ai_systems", "count"),
        GrapherSeries("cumulative-number-artificial-intelligence-bills-passed", "ai_bills_passed", "count"),
    )
}


class OwidQuery(SourceQuery):
    slugs: tuple[str, ...] = tuple(GRAPHER_SERIES)
    since: int | None = None

    @field_validator("slugs")
    @classmethod
    def _known_slugs(cls, slugs: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [s for s in slugs if s not in GRAPHER_SERIES]
        if unknown or not slugs:
            raise ValueError(f"no catalog mapping for OWID chart(s): {unknown or 'none given'}")
        return slugs


def parse_grapher_metadata(content: bytes) -> dict[str, str]:
    """`.metadata.json` → {column title: lastUpdated}; the dates become the vintage of that column's values."""
    try:
        document = json.loads(content)
        columns = document["columns"]
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise SchemaDriftError(f"owid: metadata JSON lacks 'columns' ({exc})") from exc
    return {name: str(meta.get("lastUpdated")) for name, meta in columns.items()
            if isinstance(meta, dict) and meta.get("lastUpdated")}


def _value_columns(header: list[str], wanted: str | None) -> list[str]:
    """The measured column plus, when present, its `(Projected)` companion."""
    values = [c for c in header if c not in KEY_COLUMNS]
    measured = [c for c in values if not c.endswith(PROJECTED_SUFFIX)]
    if wanted is not None:
        if wanted not in header:
            raise SchemaDriftError(f"owid: column {wanted!r} missing; header is {header}")
        chosen = [wanted]
    elif len(measured) == 1:
        chosen = measured
    else:
        raise SchemaDriftError(f"owid: cannot tell which of {measured} holds the indicator; name the column")
    projected = [c for c in values if c.endswith(PROJECTED_SUFFIX) and c.startswith(chosen[0])]
    return chosen + projected


def parse_grapher_csv(payload: RawPayload, options: dict) -> pl.DataFrame:
    """Grapher CSV → observations for one indicator.

    options: `indicator`, `unit` (required); `column` (default: the single value column); `slug` (default: from the
    URL); `published` (vintage, default payload.published). `(Projected)` columns become value_kind `projection`, kept
    only for country-years without a measured value: OWID repeats the last measured point as the projection's anchor.
    """
    for key in ("indicator", "unit"):
        if key not in options:
            raise ValueError(f"owid.grapher_csv needs option '{key}'")
    slug = options.get("slug") or re.sub(r"\.csv$", "", payload.url.rsplit("/", 1)[-1].split("?")[0])
    try:
        text = payload.content.decode("utf-8-sig")
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader)
        rows = list(reader)
    except (UnicodeDecodeError, csv.Error, StopIteration) as exc:
        raise SchemaDriftError(f"owid: {slug} does not parse as CSV ({exc})") from exc
    missing = [c for c in KEY_COLUMNS if c not in header]
    if missing:
        raise SchemaDriftError(f"owid: {slug} lacks column(s) {missing}; header is {header}")
    columns = _value_columns(header, options.get("column"))
    at = {name: header.index(name) for name in (*KEY_COLUMNS, *columns)}
    resolve = CountryResolver(SOURCE_ID)
    measured: dict[tuple[str, int], dict] = {}
    projected: dict[tuple[str, int], dict] = {}
    for number, row in enumerate(rows, start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise SchemaDriftError(f"owid: {slug} line {number} has {len(row)} cells, header has {len(header)}")
        code, entity, year_text = row[at["Code"]], row[at["Entity"]], row[at["Year"]]
        country = resolve(code) if code else resolve(entity)
        if country is None:
            continue
        if not re.fullmatch(r"-?\d{1,4}", year_text):
            raise SchemaDriftError(f"owid: {slug} line {number} year {year_text!r} is not a year")
        for column in columns:
            cell = row[at[column]].strip()
            if not cell:
                continue
            try:
                value = float(cell)
            except ValueError as exc:
                raise SchemaDriftError(f"owid: {slug} line {number} column {column!r} has {cell!r}") from exc
            is_projection = column.endswith(PROJECTED_SUFFIX)
            record = {
                "indicator": options["indicator"], "country": country, "year": int(year_text), "value": value,
                "unit": options["unit"], "value_kind": "projection" if is_projection else "measured",
                "source_series": f"{slug}:{column}",
            }
            target = projected if is_projection else measured
            if (country, int(year_text)) in target:
                raise SchemaDriftError(f"owid: {slug} has two rows for {country} {year_text} in {column!r}")
            target[(country, int(year_text))] = record
    resolve.report(slug)
    records = list(measured.values()) + [r for key, r in projected.items() if key not in measured]
    return observations_from_records(records, payload, source=SOURCE_ID, vintage=options.get("published"))


class OwidFetcher(Fetcher):
    info = SourceInfo(
        id=SOURCE_ID,
        producer="Our World in Data (republishing CSET, Epoch AI, AI Index / Quid)",
        title="Our World in Data grapher charts on artificial intelligence",
        homepage="https://ourworldindata.org/artificial-intelligence",
        licence="CC BY 4.0",
        citation="Our World in Data, with the underlying producer named in each chart's metadata",
        redistributable=True,
        cadence_days=180,
    )
    Query = OwidQuery
    default_base_url: ClassVar[str] = "https://ourworldindata.org"

    def extract(self, query: OwidQuery, client) -> list[RawPayload]:
        payloads = []
        for slug in query.slugs:
            payloads.append(get_payload(client, SOURCE_ID, f"/grapher/{slug}.csv",
                                        {"v": "1", "csvType": "full", "useColumnShortNames": "false"},
                                        extra={"slug": slug, "kind": "csv"}))
            payloads.append(get_payload(client, SOURCE_ID, f"/grapher/{slug}.metadata.json", {"v": "1"},
                                        extra={"slug": slug, "kind": "metadata"}))
        return payloads

    def transform(self, payloads: list[RawPayload], query: OwidQuery) -> pl.DataFrame:
        metadata = {p.extra.get("slug"): p for p in payloads if p.extra.get("kind") == "metadata"}
        frames = []
        for p in payloads:
            if p.extra.get("kind") != "csv":
                continue
            series = GRAPHER_SERIES[p.extra["slug"]]
            options = {"indicator": series.indicator, "unit": series.unit, "slug": series.slug}
            if series.column:
                options["column"] = series.column
            if series.slug in metadata:
                updated = parse_grapher_metadata(metadata[series.slug].content)
                dates = sorted(d for name, d in updated.items() if series.column in (None, name))
                if dates:
                    options["published"] = dates[-1][:10]
            frames.append(parse_grapher_csv(p, options))
        return concat_observations(frames, source=SOURCE_ID, what=", ".join(query.slugs), since=query.since)
