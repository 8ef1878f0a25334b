"""World Bank WDI: API v2 JSON pages or bulk CSV files in, observation frames (one row per country-year) out."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from datetime import datetime, timezone
from typing import Any, ClassVar

import polars as pl
from pydantic import field_validator, model_validator

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
from contracts.units import unit_spec
from fetchers.errors import SchemaDriftError, SourceQueryError

log = logging.getLogger("fetchers.worldbank")

SOURCE_ID = "worldbank"

# WDI code → (catalog indicator, unit). The map is not kept here: it is the catalog's (`Catalog.series_map`), handed
# in by the application as the query's `series` (live) or the parser option `series` (snapshot files).
SeriesMap = dict[str, tuple[str, str]]
_WDI_CODE = re.compile(r"^[A-Z0-9_]+(\.[A-Z0-9_]+)*$")
MAX_PAGES = 100  # a cap on paging: per_page=1000 × 3 countries never needs more than one page per indicator


def _outside_unit(value: float, unit: str, where: str, dropped: list[str]) -> bool:
    """True (and noted) for a value the unit cannot hold: the WDI's balance-of-payments series carry a few negative
    "receipts" and "payments" (reversals; e.g. Guinea's IP receipts of 2013 in the 2021 release). They are not
    receipts, so they are left out — logged with the file, never stored — instead of failing the whole source."""
    if unit_spec(unit).contains(value):
        return False
    dropped.append(f"{where}={value:g}")
    return True


def _report_dropped(dropped: list[str], what: str) -> None:
    if dropped:
        log.warning("worldbank: %s: %d value(s) outside their unit's range left out: %s", what, len(dropped),
                    ", ".join(dropped[:10]))


def series_for(code: str, series: SeriesMap) -> tuple[str, str]:
    """Catalog id and unit for a WDI code; an uncatalogued code keeps its own name (`wdi_<code>`) and unit `as_published`."""
    if code in series:
        indicator, unit = series[code]
        return indicator, unit
    return "wdi_" + code.lower().replace(".", "_"), "as_published"


class WorldBankQuery(SourceQuery):
    # WDI code → (catalog indicator, unit): the catalog's map (aitrack passes `Catalog.series_map("worldbank")`).
    series: dict[str, tuple[str, str]] = {}
    # Codes to fetch; default: every code of `series`.
    indicators: tuple[str, ...] = ()
    countries: tuple[str, ...] = ("USA", "CHN", "WLD")
    since: int | None = 1990
    per_page: int = 1000

    @model_validator(mode="before")
    @classmethod
    def _default_codes(cls, values: Any) -> Any:
        if isinstance(values, dict) and not values.get("indicators"):
            values = {**values, "indicators": tuple(values.get("series") or ())}
        return values

    @field_validator("indicators")
    @classmethod
    def _codes_look_like_wdi(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
        bad = [c for c in codes if not _WDI_CODE.match(c)]
        if bad or not codes:
            raise ValueError(f"not WDI indicator codes: {bad or 'none given'}")
        return codes

    @field_validator("countries")
    @classmethod
    def _iso3(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
        bad = [c for c in codes if not re.fullmatch(r"[A-Z]{3}", c)]
        if bad or not codes:
            raise ValueError(f"countries must be ISO3 codes: {bad or 'none given'}")
        return codes


# -- API JSON ------------------------------------------------------------------------------------------


def api_error_message(document: Any) -> str | None:
    """The provider's message when the body is the error envelope the API sends with HTTP 200, else None."""
    candidates = document if isinstance(document, list) else [document]
    for item in candidates[:1]:
        if isinstance(item, dict) and "message" in item:
            messages = item["message"] if isinstance(item["message"], list) else [item["message"]]
            texts = []
            for m in messages:
                if isinstance(m, dict):
                    texts.append(" — ".join(str(m.get(k)) for k in ("id", "key", "value") if m.get(k)))
                else:
                    texts.append(str(m))
            return "; ".join(texts) or "error body without text"
    return None


def _load_api_page(payload: RawPayload) -> tuple[dict, list]:
    try:
        document = json.loads(payload.content)
    except (UnicodeDecodeError, ValueError) as exc:
        raise SchemaDriftError(f"worldbank: body of {payload.url} is not JSON ({exc})") from exc
    message = api_error_message(document)
    if message is not None:
        raise SourceQueryError(f"worldbank: {message} ({payload.url})", status=payload.status, url=payload.url)
    if not (isinstance(document, list) and len(document) == 2 and isinstance(document[0], dict)):
        raise SchemaDriftError(f"worldbank: expected [meta, rows] from {payload.url}")
    meta, rows = document
    for field in ("page", "pages"):
        if field not in meta:
            raise SchemaDriftError(f"worldbank: page metadata lacks '{field}' ({payload.url})")
    if rows is None:
        rows = []
    if not isinstance(rows, list):
        raise SchemaDriftError(f"worldbank: rows are not a list ({payload.url})")
    return meta, rows


def parse_api_json(payload: RawPayload, options: dict) -> pl.DataFrame:
    """One API v2 page `[meta, rows]` → observations. Null values are skipped; aggregates dropped by the mapping file.

    options: `series` (WDI code → catalog indicator and unit), `indicator`/`unit` override it; `countries` keeps only
    those.
    """
    meta, rows = _load_api_page(payload)
    resolve = CountryResolver(SOURCE_ID)
    keep = set(options.get("countries") or ())
    records: list[dict] = []
    dropped: list[str] = []
    for row in rows:
        try:
            code = row["indicator"]["id"]
            iso = row["countryiso3code"]
            date = row["date"]
            value = row["value"]
        except (KeyError, TypeError) as exc:
            raise SchemaDriftError(f"worldbank: row lacks field {exc} ({payload.url})") from exc
        if value is None:
            continue
        country = resolve(iso or "")
        if country is None or (keep and country not in keep):
            continue
        if not re.fullmatch(r"\d{4}", str(date)):
            raise SchemaDriftError(f"worldbank: date {date!r} is not a year ({payload.url})")
        indicator, unit = series_for(code, options.get("series") or {})
        if _outside_unit(float(value), options.get("unit", unit), f"{code} {country} {date}", dropped):
            continue
        records.append({
            "indicator": options.get("indicator", indicator),
            "country": country,
            "year": int(date),
            "value": float(value),
            "unit": options.get("unit", unit),
            "source_series": code,
        })
    resolve.report(payload.url)
    _report_dropped(dropped, payload.url)
    return observations_from_records(records, payload, source=SOURCE_ID, vintage=_date_or_none(meta.get("lastupdated"), payload))


def _date_or_none(text: Any, payload: RawPayload) -> str | None:
    if isinstance(text, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return text
    return payload.published[:10] if payload.published else None


# -- bulk CSV (downloadformat=csv) -------------------------------------------------------------------------


def parse_bulk_csv(payload: RawPayload, options: dict) -> pl.DataFrame:
    """`API_<code>_DS2_en_csv_v2_<n>.csv` → observations. Preamble gives "Last Updated Date" (the vintage).

    options: `series` (WDI code → catalog indicator and unit; the file's Indicator Code is looked up), `indicator`/`unit`
    override it; `countries` to keep (default: every country and WLD/EUU).
    """
    try:
        text = payload.content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SchemaDriftError(f"worldbank: bulk CSV is not UTF-8 ({exc})") from exc
    lines = list(csv.reader(io.StringIO(text)))
    header_at = next((i for i, row in enumerate(lines) if row[:2] == ["Country Name", "Country Code"]), None)
    if header_at is None:
        raise SchemaDriftError("worldbank: bulk CSV has no 'Country Name,Country Code' header")
    header = lines[header_at]
    if "Indicator Code" not in header:
        raise SchemaDriftError("worldbank: bulk CSV header lacks 'Indicator Code'")
    updated = next((row[1] for row in lines[:header_at] if len(row) > 1 and row[0] == "Last Updated Date"), None)
    years = [(i, int(name)) for i, name in enumerate(header) if re.fullmatch(r"\d{4}", name)]
    if not years:
        raise SchemaDriftError("worldbank: bulk CSV header has no year columns")
    code_at = header.index("Indicator Code")
    resolve = CountryResolver(SOURCE_ID)
    keep = set(options.get("countries") or ())
    records: list[dict] = []
    dropped: list[str] = []
    for number, row in enumerate(lines[header_at + 1:], start=header_at + 2):
        if not row:
            continue
        if len(row) < len(header) - 1:  # the provider ends each line with a comma; fewer cells means a cut file
            raise SchemaDriftError(f"worldbank: bulk CSV line {number} has {len(row)} cells, header has {len(header)}")
        country = resolve(row[1])
        if country is None or (keep and country not in keep):
            continue
        indicator, unit = series_for(row[code_at], options.get("series") or {})
        for at, year in years:
            cell = row[at].strip() if at < len(row) else ""
            if not cell:
                continue
            try:
                value = float(cell)
            except ValueError as exc:
                raise SchemaDriftError(f"worldbank: bulk CSV line {number} year {year} has {cell!r}") from exc
            if _outside_unit(value, options.get("unit", unit), f"{row[code_at]} {country} {year}", dropped):
                continue
            records.append({
                "indicator": options.get("indicator", indicator),
                "country": country,
                "year": year,
                "value": value,
                "unit": options.get("unit", unit),
                "source_series": row[code_at],
            })
    resolve.report("bulk CSV")
    _report_dropped(dropped, "bulk CSV")
    return observations_from_records(records, payload, source=SOURCE_ID, vintage=_date_or_none(updated, payload))


def parse_derived_wide_csv(payload: RawPayload, options: dict) -> pl.DataFrame:
    """A reshaped extract `year,<col>,…` (e.g. WDI GDP carried in another dataset) → observations.

    options: `source_series` (the WDI code, looked up in `series`) and `columns` {column name: ISO3}, both required.
    Used only for snapshot files whose manifest says how they were derived; the live fetcher never sees this layout.
    """
    for key in ("source_series", "columns"):
        if key not in options:
            raise ValueError(f"worldbank.derived_wide_csv needs option '{key}'")
    indicator, unit = series_for(options["source_series"], options.get("series") or {})
    try:
        reader = csv.DictReader(io.StringIO(payload.content.decode("utf-8-sig")))
        rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise SchemaDriftError(f"worldbank: derived CSV does not parse ({exc})") from exc
    fields = reader.fieldnames or []
    missing = [c for c in ["year", *options["columns"]] if c not in fields]
    if missing:
        raise SchemaDriftError(f"worldbank: derived CSV lacks column(s) {missing}")
    records = []
    for row in rows:
        if row["year"] is None or not re.fullmatch(r"\d{4}", row["year"].strip()):
            raise SchemaDriftError(f"worldbank: derived CSV year {row['year']!r}")
        for column, country in options["columns"].items():
            cell = (row[column] or "").strip()
            if not cell or cell.upper() == "NA":
                continue
            records.append({
                "indicator": indicator, "country": country, "year": int(row["year"]),
                "value": float(cell), "unit": unit, "source_series": options["source_series"],
            })
    return observations_from_records(records, payload, source=SOURCE_ID)


# -- the fetcher -----------------------------------------------------------------------------------------


class WorldBankFetcher(Fetcher):
    info = SourceInfo(
        id=SOURCE_ID,
        producer="World Bank",
        title="World Development Indicators (API v2)",
        homepage="https://data.worldbank.org/",
        licence="CC BY 4.0 (some WDI series carry third-party terms)",
        citation="World Bank, World Development Indicators",
        redistributable=True,
        cadence_days=120,
    )
    Query = WorldBankQuery
    default_base_url: ClassVar[str] = "https://api.worldbank.org"

    def extract(self, query: WorldBankQuery, client) -> list[RawPayload]:
        countries = ";".join(query.countries)
        payloads = []
        for code in query.indicators:
            page, pages = 1, 1
            while page <= pages and page <= MAX_PAGES:
                params: dict[str, Any] = {"format": "json", "per_page": query.per_page, "page": page}
                if query.since is not None:
                    params["date"] = f"{query.since}:{datetime.now(timezone.utc).year}"
                payload = get_payload(client, SOURCE_ID, f"/v2/country/{countries}/indicator/{code}", params,
                                      extra={"indicator_code": code, "page": page})
                meta, _ = _load_api_page(payload)  # raises on the error-in-200 body before we ask for more pages
                payloads.append(payload)
                try:
                    pages = int(meta.get("pages") or 0)
                except (TypeError, ValueError) as exc:
                    raise SchemaDriftError(f"worldbank: 'pages' is {meta.get('pages')!r}") from exc
                page += 1
        return payloads

    def transform(self, payloads: list[RawPayload], query: WorldBankQuery) -> pl.DataFrame:
        options = {"countries": list(query.countries), "series": dict(query.series)}
        frames = [parse_api_json(p, options) for p in payloads]
        return concat_observations(frames, source=SOURCE_ID, what=f"{', '.join(query.indicators)}")
