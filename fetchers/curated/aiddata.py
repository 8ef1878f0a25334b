"""AidData GCDF 3.0 sums by recipient (odadata `cow_gcdf.csv`: COW code, commitment year, OOF/ODA/vague flows) → China-only influence series: commitments in total, per recipient, and recipients as a share of UN member states.

China is the only lender in the file and no comparable US file exists, so nothing here is a pair series: the
totals are CHN, the per-recipient rows are the recipient's ISO3 (what China committed to that country).
Recipients are Correlates-of-War codes, mapped to ISO3 by `fetchers/countries/cow.csv` (a data file derived from
the COW/ISO3 pairs of the Bailey–Strezhnev–Voeten UN voting file); a code that file does not list fails loudly —
it is never looked up as an ISO numeric code (COW 540 is Angola, ISO 540 is New Caledonia).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict

from fetchers import countries
from fetchers.base import RawPayload
from fetchers.curated.frame import Reading, observation_frame
from fetchers.curated.un_members import un_member_codes
from fetchers.errors import SchemaDriftError

SOURCE = "aiddata"
COW = "cow"  # the mapping file fetchers/countries/cow.csv
COMMITTED = "china_dev_finance_committed"
COMMITTED_ADJUSTED = "china_dev_finance_committed_adjusted"
BY_RECIPIENT = "china_dev_finance_by_recipient"
RECIPIENTS_SHARE = "china_dev_finance_recipients_share_un"
COLUMNS = ("ccode", "year", "oof_amt", "oof_adj", "oda_amt", "oda_adj", "vof_amt", "vof_adj")
AMOUNT = ("oof_amt", "oda_amt", "vof_amt")  # AidData amount_constant_usd_2021, per flow class
ADJUSTED = ("oof_adj", "oda_adj", "vof_adj")  # AidData adjusted_amount_constant_usd_2021
SERIES = "GCDF 3.0 recommended_for_aggregates, constant 2021 US$"


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Per-recipient rows are many (one per recipient-year); the CHN totals are what the tracker draws.
    by_recipient: bool = True


def recipient_iso3(ccode: str) -> str | None:
    """ISO3 of a COW code through cow.csv only; None for a listed historic state without a current ISO3 code."""
    label = ccode.strip()
    if not countries.is_listed(label, COW):
        raise SchemaDriftError(f"{SOURCE}: COW code {label!r} is not in fetchers/countries/{COW}.csv")
    return countries.to_iso3(label, COW)


def _amount(row: dict[str, str], columns: tuple[str, ...]) -> float:
    total = 0.0
    for column in columns:
        try:
            value = float(row[column])
        except (TypeError, ValueError) as exc:
            raise SchemaDriftError(f"{SOURCE}: {column} {row[column]!r} is not a number (ccode {row['ccode']})") from exc
        if not 0 <= value < float("inf"):
            raise SchemaDriftError(f"{SOURCE}: {column} {row[column]!r} is negative or not finite (ccode {row['ccode']})")
        total += value
    return total


def finance_readings(content: bytes, options: Options) -> list[Reading]:
    try:
        reader = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
        rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise SchemaDriftError(f"{SOURCE}: cow_gcdf.csv does not parse ({exc})") from exc
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise SchemaDriftError(f"{SOURCE}: expected columns {list(COLUMNS)}, got {reader.fieldnames}")
    members = un_member_codes()
    committed: dict[int, float] = defaultdict(float)
    adjusted: dict[int, float] = defaultdict(float)
    recipients: dict[int, set[str]] = defaultdict(set)
    readings: list[Reading] = []
    seen: set[tuple[str, int]] = set()
    for row in rows:
        try:
            year = int(row["year"])
        except (TypeError, ValueError) as exc:
            raise SchemaDriftError(f"{SOURCE}: year {row['year']!r} is not a year (ccode {row['ccode']})") from exc
        key = (row["ccode"].strip(), year)
        if key in seen:
            raise SchemaDriftError(f"{SOURCE}: COW {key[0]} {year} appears twice")
        seen.add(key)
        amount, adjusted_amount = _amount(row, AMOUNT), _amount(row, ADJUSTED)
        # The totals keep every row, mapped or not: China's commitments do not depend on our country table.
        committed[year] += amount
        adjusted[year] += adjusted_amount
        code = recipient_iso3(row["ccode"])
        if code is None:
            continue
        if amount > 0 and code in members:
            recipients[year].add(code)
        if options.by_recipient and amount > 0:
            readings.append(Reading(BY_RECIPIENT, code, year, amount, "usd_const", f"{SERIES}:COW {key[0]}"))
    for year in sorted(committed):
        readings.append(Reading(COMMITTED, "CHN", year, committed[year], "usd_const", f"{SERIES}:all recipients"))
        readings.append(Reading(COMMITTED_ADJUSTED, "CHN", year, adjusted[year], "usd_const",
                                f"{SERIES}:adjusted amount, all recipients"))
        readings.append(Reading(RECIPIENTS_SHARE, "CHN", year, 100.0 * len(recipients[year]) / len(members), "pct",
                                f"{SERIES}:recipients with a positive commitment / {len(members)} UN members (2024 list)"))
    return readings


def parse_aiddata_gcdf(payload: RawPayload, options: dict[str, Any]) -> pl.DataFrame:
    return observation_frame(finance_readings(payload.content, Options.model_validate(options)), payload)
