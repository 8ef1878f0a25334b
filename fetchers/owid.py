"""Our World in Data grapher CSV (`Entity,Code,Year,…`) plus its `.metadata.json` in, observation frames out."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any, ClassVar

import polars as pl
from pydantic import model_validator

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


# Which value column of a chart holds the indicator, where the chart has several (CSET's charts split "All" by field);
# None: the chart's single value column. Which indicator and unit a chart is comes from the catalog
# (`Catalog.series_map("owid")`, slug → indicator, unit), handed in as the query's `series` or the option `series`.
GRAPHER_COLUMNS: dict[str, str | None] = {
    "annual-scholarly-publications-on-artificial-intelligence": "All",
    "artificial-intelligence-patents-submitted": "All",
    "private-investment-in-artificial-intelligence-cset": "All",
}


class OwidQuery(SourceQuery):
    # Chart slug → (catalog indicator, unit): the catalog's map (aitrack passes `Catalog.series_map("owid")`).
    series: dict[str, tuple[str, str]] = {}
    slugs: tuple[str, ...] = ()  # default: every slug of `series`
    since: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_slugs(cls, values: Any) -> Any:
        if isinstance(values, dict) and not values.get("slugs"):
            values = {**values, "slugs": tuple(values.get("series") or ())}
        return values

    @model_validator(mode="after")
    def _known_slugs(self) -> "OwidQuery":
        unknown = [s for s in self.slugs if s not in self.series]
        if unknown or not self.slugs:
            raise ValueError(f"no catalog mapping for OWID chart(s): {unknown or 'none given'}")
        return self


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

    options: `series` (slug → catalog indicator and unit) or `indicator` and `unit` directly; `column` (default:
    GRAPHER_COLUMNS, else the single value column); `slug` (default: from the URL); `published` (vintage, default
    payload.published). `(Projected)` columns become value_kind `projection`, kept
    only for country-years without a measured value: OWID repeats the last measured point as the projection's anchor.
    """
    slug = options.get("slug") or re.sub(r"\.csv$", "", payload.url.rsplit("/", 1)[-1].split("?")[0])
    named = (options.get("series") or {}).get(slug)
    indicator = options.get("indicator") or (named[0] if named else None)
    unit = options.get("unit") or (named[1] if named else None)
    if indicator is None or unit is None:
        raise ValueError(f"owid.grapher_csv: the catalog names no indicator for chart {slug!r}")
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
    columns = _value_columns(header, options.get("column", GRAPHER_COLUMNS.get(slug)))
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
                "indicator": indicator, "country": country, "year": int(year_text), "value": value,
                "unit": unit, "value_kind": "projection" if is_projection else "measured",
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
            slug = p.extra["slug"]
            column = GRAPHER_COLUMNS.get(slug)
            options: dict[str, Any] = {"series": dict(query.series), "slug": slug}
            if slug in metadata:
                updated = parse_grapher_metadata(metadata[slug].content)
                dates = sorted(d for name, d in updated.items() if column in (None, name))
                if dates:
                    options["published"] = dates[-1][:10]
            frames.append(parse_grapher_csv(p, options))
        return concat_observations(frames, source=SOURCE_ID, what=", ".join(query.slugs), since=query.since)
