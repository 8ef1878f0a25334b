"""OpenAlex server-side `group_by` counts (JSON) in, AI works / top-cited / co-authored / author-inflow observations out."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, ClassVar

import polars as pl
import pycountry
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
from contracts.pair import PAIR_CODE
from fetchers.errors import SchemaDriftError

SOURCE_ID = "openalex"
# Subfield 1702 "Artificial Intelligence" (field 17 Computer Science) of the topic hierarchy that replaced concepts.
AI_WORKS_FILTER = "primary_topic.subfield.id:subfields/1702"
AI_AUTHORS_FILTER = "topics.subfield.id:subfields/1702"
COUNTRY_GROUP = "authorships.institutions.country_code"
GROUPS_PER_PAGE = 200  # the API's maximum; more groups than this need the cursor
MAX_GROUP_PAGES = 10


@dataclass(frozen=True)
class WorkCount:
    """A per-year count of AI works by institution country: the AI filter plus `extra` conditions."""

    indicator: str
    extra: str = ""


WORK_COUNTS: tuple[WorkCount, ...] = (
    WorkCount("ai_works_openalex"),
    WorkCount("ai_papers_top1pct", "citation_normalized_percentile.is_in_top_1_percent:true"),
    WorkCount("ai_papers_top10pct", "citation_normalized_percentile.is_in_top_10_percent:true"),
    # A work whose authors' institutions span more than one country.
    WorkCount("ai_papers_intl_coauthored", "countries_distinct_count:>1"),
)
ALL_MEASURES = (*(w.indicator for w in WORK_COUNTS), "ai_papers_us_china_coauthored", "ai_author_inflow")


class OpenAlexQuery(SourceQuery):
    since: int | None = 2010
    until: int | None = None  # default: the last complete year (the current year is still filling up)
    measures: tuple[str, ...] = ALL_MEASURES
    works_filter: str = AI_WORKS_FILTER
    authors_filter: str = AI_AUTHORS_FILTER

    @field_validator("measures")
    @classmethod
    def _known(cls, measures: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [m for m in measures if m not in ALL_MEASURES]
        if unknown or not measures:
            raise ValueError(f"unknown OpenAlex measure(s): {unknown or 'none given'}")
        return measures

    @model_validator(mode="after")
    def _years_in_order(self) -> "OpenAlexQuery":
        if self.since is not None and self.until is not None and self.since > self.until:
            raise ValueError("since is after until")
        return self

    def years(self, today: datetime) -> range:
        last = self.until if self.until is not None else today.year - 1
        first = self.since if self.since is not None else last - 14
        return range(first, last + 1)


def _iso2(iso3: str) -> str:
    """OpenAlex filters take lower-case ISO 3166 alpha-2 codes."""
    record = pycountry.countries.get(alpha_3=iso3)
    if record is None:
        raise ValueError(f"no ISO2 code for {iso3}")
    return record.alpha_2.lower()


def parse_group_by_json(payload: RawPayload, options: dict) -> pl.DataFrame:
    """One `group_by` response → observations.

    options: `indicator` (required); `group` = "country" (keys are countries, `year` required) or "year" (keys are
    years, `country` required); `countries` keeps only those ISO3 codes; `unit` (count), `value_kind` (measured),
    `source_series` (default: the request's filter and group_by).
    """
    if "indicator" not in options:
        raise ValueError("openalex.group_by_json needs option 'indicator'")
    group = options.get("group", "country")
    try:
        document = json.loads(payload.content)
        groups = document["group_by"]
    except (UnicodeDecodeError, ValueError) as exc:
        raise SchemaDriftError(f"openalex: body of {payload.url} is not JSON ({exc})") from exc
    except (KeyError, TypeError) as exc:
        raise SchemaDriftError(f"openalex: response lacks 'group_by' ({payload.url})") from exc
    if not isinstance(groups, list):
        raise SchemaDriftError(f"openalex: 'group_by' is not a list ({payload.url})")
    series = options.get("source_series") or "; ".join(
        f"{k}={payload.params[k]}" for k in ("filter", "group_by") if k in payload.params) or payload.url
    resolve = CountryResolver(SOURCE_ID)
    keep = set(options.get("countries") or ())
    records = []
    for item in groups:
        try:
            key, count = str(item["key"]), item["count"]
        except (KeyError, TypeError) as exc:
            raise SchemaDriftError(f"openalex: group lacks field {exc} ({payload.url})") from exc
        if key.lower() == "unknown" or count is None:
            continue
        if group == "country":
            country = resolve(key.rstrip("/").rsplit("/", 1)[-1])
            year = options["year"]
        else:
            if not re.fullmatch(r"\d{4}", key):
                raise SchemaDriftError(f"openalex: year group key {key!r} ({payload.url})")
            country, year = options["country"], int(key)
        if country is None or (keep and country not in keep):
            continue
        records.append({
            "indicator": options["indicator"], "country": country, "year": int(year), "value": float(count),
            "unit": options.get("unit", "count"), "value_kind": options.get("value_kind", "measured"),
            "source_series": series,
        })
    resolve.report(payload.url)
    return observations_from_records(records, payload, source=SOURCE_ID, vintage=options.get("published"))


def next_cursor(payload: RawPayload) -> str | None:
    """The cursor for the next page of groups, when the API says there is one."""
    try:
        document = json.loads(payload.content)
    except ValueError as exc:
        raise SchemaDriftError(f"openalex: body of {payload.url} is not JSON ({exc})") from exc
    meta = document.get("meta") if isinstance(document, dict) else None
    if not isinstance(meta, dict):
        raise SchemaDriftError(f"openalex: response lacks 'meta' ({payload.url})")
    groups = document.get("group_by") or []
    cursor = meta.get("next_cursor")
    return cursor if cursor and len(groups) >= GROUPS_PER_PAGE else None


class OpenAlexFetcher(Fetcher):
    info = SourceInfo(
        id=SOURCE_ID,
        producer="OurResearch (OpenAlex)",
        title="OpenAlex works and authors, counted server-side with group_by",
        homepage="https://openalex.org/",
        licence="CC0 1.0",
        citation="Priem, J., Piwowar, H., & Orr, R. (2022). OpenAlex: A fully-open index of scholarly works, authors, venues, institutions, and concepts. arXiv:2205.01833",
        redistributable=True,
        cadence_days=30,
    )
    Query = OpenAlexQuery
    default_base_url: ClassVar[str] = "https://api.openalex.org"

    def _grouped(self, client, path: str, filter_text: str, group_by: str, extra: dict) -> list[RawPayload]:
        """All pages of one group_by request (usually one page: cursor paging only past 200 groups)."""
        pages: list[RawPayload] = []
        cursor: str | None = "*"
        while cursor and len(pages) < MAX_GROUP_PAGES:
            params = {"filter": filter_text, "group_by": group_by, "per_page": GROUPS_PER_PAGE, "cursor": cursor}
            page = get_payload(client, SOURCE_ID, path, params, extra={**extra, "page": len(pages) + 1})
            pages.append(page)
            cursor = next_cursor(page)
        return pages

    def extract(self, query: OpenAlexQuery, client) -> list[RawPayload]:
        today = datetime.now(timezone.utc)
        years = query.years(today)
        payloads: list[RawPayload] = []
        for measure in WORK_COUNTS:
            if measure.indicator not in query.measures:
                continue
            for year in years:
                conditions = [query.works_filter, f"publication_year:{year}"] + ([measure.extra] if measure.extra else [])
                payloads += self._grouped(client, "/works", ",".join(conditions), COUNTRY_GROUP,
                                          {"indicator": measure.indicator, "group": "country", "year": year})
        if "ai_papers_us_china_coauthored" in query.measures:
            # Repeating a filter key ANDs the conditions: works with both a US and a Chinese institution.
            conditions = [query.works_filter, f"{COUNTRY_GROUP}:us", f"{COUNTRY_GROUP}:cn",
                          f"publication_year:{years.start}-{years.stop - 1}"]
            payloads += self._grouped(client, "/works", ",".join(conditions), "publication_year",
                                      {"indicator": "ai_papers_us_china_coauthored", "group": "year", "country": PAIR_CODE})
        if "ai_author_inflow" in query.measures:
            for destination, origin in (("USA", "CHN"), ("CHN", "USA")):
                conditions = [query.authors_filter, f"affiliations.institution.country_code:{_iso2(origin)}",
                              f"last_known_institutions.country_code:{_iso2(destination)}"]
                payloads += self._grouped(client, "/authors", ",".join(conditions), "last_known_institutions.country_code",
                                          {"indicator": "ai_author_inflow", "group": "country", "year": today.year,
                                           "countries": [destination], "value_kind": "estimate"})
        return payloads

    def transform(self, payloads: list[RawPayload], query: OpenAlexQuery) -> pl.DataFrame:
        frames = []
        for p in payloads:
            options: dict[str, Any] = {k: p.extra[k] for k in ("indicator", "group", "year", "country", "countries", "value_kind")
                                       if k in p.extra}
            frames.append(parse_group_by_json(p, options))
        return concat_observations(frames, source=SOURCE_ID, what="OpenAlex group_by counts")
