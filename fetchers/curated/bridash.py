"""NC State LAS "bridash" files → China-only influence series: Belt and Road MoU partners by year (count and share of UN members) from `bri_countries.csv`, and a cross-section of listed Confucius Institutes by host country from `confucius_institutes.csv`.

Known flaws of the files, and what the parsers do about them (docs/sources.md, "bridash"):
- the BRI list puts the year 2018 on "American Samoa" and leaves "Samoa" blank, a name-matching slip (Samoa, the
  independent state, is the signatory): `fetchers/countries/bridash.csv` maps that label to WSM, and rows that
  land on one code merge (a year beats a blank; two different years fail loudly);
- "unknown" signing years cannot be placed in a year, so the yearly series leave them out (a lower bound) and
  each reading says how many were left out;
- Confucius Institute `status` was set by an automatic web-page check (a page that is down or says "close" →
  Closed), so Closed over-counts and Open under-counts: no open/closed series is built, only counts of listed
  entries; `date_est` is blank for more than half of the rows, so no time series is built from it either.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from fetchers.base import RawPayload
from fetchers.curated.frame import Reading, country_code, observation_frame
from fetchers.curated.un_members import un_member_codes
from fetchers.errors import SchemaDriftError

SOURCE = "bridash"
BRI_PARTNERS = "bri_partner_countries"
BRI_SHARE = "bri_partner_share_un"
CI_BY_HOST = "confucius_institutes_by_host"
CI_TOTAL = "confucius_institutes_listed"
CI_HOST_SHARE = "confucius_host_share_un"
UNKNOWN_YEAR = "unknown"
INITIATOR = "CHN"  # China's own row in the BRI list is the initiator, not a partner
BRI_COLUMNS = ("name", "country_id", "bri_partner")
CI_COLUMNS = ("id", "confucius_institute", "partner_uni", "date_est", "location_name", "nearest_city", "country",
              "status", "ci_webpage", "sources", "gl3_id", "country_id")
CI_STATUSES = frozenset({"Open", "Closed"})
_DATE_EST = re.compile(r"^\d{1,2}/\d{1,2}/(\d{2}|\d{4})$")


class BriOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # The list was compiled in 2022 (repository files of 2022-05): a year without any recorded signing at the
    # end of the list is no evidence of none, so the series ends at the last year with a signing.
    last_year: int | None = None


class ConfuciusOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    year: int  # the year the listing describes (status checked 2022-04-22; world list "2021")
    exclude_ids: tuple[str, ...] = Field(default=())  # rows that are not Confucius Institutes (each with a reason in docs)


def _rows(content: bytes, columns: tuple[str, ...], what: str) -> list[dict[str, str]]:
    try:
        reader = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
        rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise SchemaDriftError(f"{SOURCE} {what}: does not parse ({exc})") from exc
    if tuple(reader.fieldnames or ()) != columns:
        raise SchemaDriftError(f"{SOURCE} {what}: expected columns {list(columns)}, got {reader.fieldnames}")
    return rows


def bri_signing_years(content: bytes) -> tuple[dict[str, int], set[str]]:
    """{ISO3: MoU year} of the dated partners and the set of partners with an "unknown" year (China excluded)."""
    years: dict[str, str] = {}
    origin: dict[str, str] = {}
    for row in _rows(content, BRI_COLUMNS, "bri_countries.csv"):
        name, cell = row["name"].strip(), row["bri_partner"].strip()
        if cell and cell != UNKNOWN_YEAR and not re.fullmatch(r"\d{4}", cell):
            raise SchemaDriftError(f"{SOURCE} bri_countries.csv: {name!r} has bri_partner {cell!r}")
        code = country_code(name, SOURCE)
        if code is None:
            if cell:
                raise SchemaDriftError(f"{SOURCE} bri_countries.csv: {name!r} is dropped as not a country but has {cell!r}")
            continue
        previous = years.get(code, "")
        if previous and cell and previous != cell:
            raise SchemaDriftError(
                f"{SOURCE} bri_countries.csv: {code} is {previous!r} as {origin[code]!r} and {cell!r} as {name!r}"
            )
        if cell or code not in years:
            years[code] = cell or previous
            origin[code] = name
    dated = {c: int(y) for c, y in years.items() if y and y != UNKNOWN_YEAR and c != INITIATOR}
    unknown = {c for c, y in years.items() if y == UNKNOWN_YEAR and c != INITIATOR}
    return dated, unknown


def bri_readings(content: bytes, options: BriOptions) -> list[Reading]:
    dated, unknown = bri_signing_years(content)
    if not dated:
        raise SchemaDriftError(f"{SOURCE} bri_countries.csv: no partner has a signing year")
    members = un_member_codes()
    first, last = min(dated.values()), options.last_year or max(dated.values())
    note = f"{len(unknown)} partner(s) with an unknown year left out"
    readings = []
    for year in range(first, last + 1):
        partners = {c for c, y in dated.items() if y <= year}
        readings.append(Reading(BRI_PARTNERS, INITIATOR, year, float(len(partners)), "count",
                                f"bri_countries.csv:MoU by year end ({note})"))
        in_un = partners & members
        readings.append(Reading(BRI_SHARE, INITIATOR, year, 100.0 * len(in_un) / len(members), "pct",
                                f"bri_countries.csv:UN members with an MoU by year end / {len(members)} "
                                f"UN members (2024 list) ({note})"))
    return readings


def confucius_readings(content: bytes, options: ConfuciusOptions) -> list[Reading]:
    """Listed institutes per host country (any status), their total, and the share of UN members hosting one."""
    rows = _rows(content, CI_COLUMNS, "confucius_institutes.csv")
    ids = [row["id"].strip() for row in rows]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise SchemaDriftError(f"{SOURCE} confucius_institutes.csv: ids {repeated[:5]} repeat")
    unknown_ids = set(options.exclude_ids) - set(ids)
    if unknown_ids:
        raise SchemaDriftError(f"{SOURCE} confucius_institutes.csv: exclude_ids {sorted(unknown_ids)} are not in the file")
    per_host: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row["status"].strip() not in CI_STATUSES:
            raise SchemaDriftError(f"{SOURCE} confucius_institutes.csv: id {row['id']} has status {row['status']!r}")
        date = row["date_est"].strip()
        if date and not _DATE_EST.match(date):
            raise SchemaDriftError(f"{SOURCE} confucius_institutes.csv: id {row['id']} has date_est {date!r}")
        if row["id"].strip() in options.exclude_ids:
            continue
        code = country_code(row["country"], SOURCE)
        if code is None:
            continue
        # The US list was merged from two press lists: the same host spelt twice (a trailing space) is one entry.
        per_host[code].add(" ".join(row["confucius_institute"].split()).casefold())
    members = un_member_codes()
    series = f"confucius_institutes.csv:listed, any status (checked 2022-04-22), {len(options.exclude_ids)} id(s) excluded"
    readings = [Reading(CI_BY_HOST, code, options.year, float(len(names)), "count", series)
                for code, names in sorted(per_host.items())]
    readings.append(Reading(CI_TOTAL, INITIATOR, options.year, float(sum(len(n) for n in per_host.values())),
                            "count", series))
    hosts_in_un = {c for c in per_host if c != INITIATOR} & members
    readings.append(Reading(CI_HOST_SHARE, INITIATOR, options.year, 100.0 * len(hosts_in_un) / len(members), "pct",
                            f"{series}; UN members hosting one / {len(members)} UN members (2024 list)"))
    return readings


def parse_bri_partners(payload: RawPayload, options: dict[str, Any]) -> pl.DataFrame:
    return observation_frame(bri_readings(payload.content, BriOptions.model_validate(options)), payload)


def parse_confucius_institutes(payload: RawPayload, options: dict[str, Any]) -> pl.DataFrame:
    return observation_frame(confucius_readings(payload.content, ConfuciusOptions.model_validate(options)), payload)
