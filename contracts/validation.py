"""The value rules every observation obeys, whoever produced it (a fetcher, the snapshot, an analyst's file, a derived
series): an observation frame in, the first row that breaks a rule (or None) out.

One definition of each rule, used by the analyst's import (per chunk, so the first bad row is reported with its file
row number before the rest of the file is read), by the fetchers' transforms and by the writer, which checks every frame
again inside its transaction on either backend. Where SQL can say the same thing, `db.models` adds it as a CHECK
constraint generated from these definitions.

- text cells are bounded (the lengths of the database columns) and free of control characters;
- numbers are written with ASCII digits only (`1_000`, Arabic-Indic digits, `nan` are not numbers here);
- years lie in YEAR_RANGE; a value observed (measured, estimate, provisional) never describes a future year;
- a value lies in its unit's range (`contracts.units`: no negative counts or money, percentages 0–100, shares 0–1);
- an indicator's values carry the unit its catalog entry declares.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

import polars as pl

from contracts.kinds import OBSERVED_KINDS
from contracts.observations import ObservationFrameError
from contracts.units import UNITS

# Annual series of this project live between the first industrial statistics and the forecast horizon; a year
# outside is a typo (20200, 202) rather than data.
YEAR_RANGE: tuple[int, int] = (1800, 2200)

# Longest text each observation column may hold: the database column lengths (db.models uses these numbers).
# A vintage leaves room for the `#<digest>` suffix the writer adds to a same-day revision (db.write).
TEXT_LIMITS: dict[str, int] = {
    "indicator": 80,
    "country": 3,
    "unit": 40,
    "value_kind": 20,
    "source": 40,
    "source_series": 300,
    "vintage": 30,
    "snapshot_id": 64,
}
VINTAGE_COLUMN_LENGTH = 40
# Provenance text of an analyst's file that is not an observation column (stored in the payload's citation).
PROVENANCE_LIMITS: dict[str, int] = {"source_url": 2000, "licence": 300, "notes": 2000}

# C0 and C1 control characters (NUL, tab, newline, escape…): never part of a name, code or label.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_PATTERN = r"[\x00-\x1f\x7f-\x9f]"
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_YEAR = re.compile(r"[0-9]{4}", re.ASCII)


class ObservationValueError(ObservationFrameError):
    """A row breaks a value rule; `violation` says which row (position in the frame), column and why."""

    def __init__(self, violation: "Violation", label: str = "") -> None:
        super().__init__(f"{label}{violation.reason}")
        self.violation = violation


@dataclass(frozen=True)
class Violation:
    index: int  # position of the row in the checked frame
    column: str
    reason: str


# -- cells ---------------------------------------------------------------------------------------------------------


def parse_decimal(text: str) -> float:
    """A number written with ASCII digits (`12`, `-0.5`, `1.2e6`); ValueError for anything else, even what Python's
    float() would take (`1_000`, `١٠٠`, `nan`, `infinity`)."""
    cleaned = text.strip()
    if not _DECIMAL.fullmatch(cleaned):
        raise ValueError(f"{text!r} is not a number written with ASCII digits")
    value = float(cleaned)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def parse_year(text: str) -> int:
    """A four-digit ASCII year inside YEAR_RANGE; ValueError otherwise."""
    cleaned = text.strip()
    if not _YEAR.fullmatch(cleaned) or not YEAR_RANGE[0] <= int(cleaned) <= YEAR_RANGE[1]:
        raise ValueError(f"{text!r} is not a whole year in {YEAR_RANGE[0]}–{YEAR_RANGE[1]}")
    return int(cleaned)


def text_problem(name: str, text: str, limit: int) -> str | None:
    """Why `text` cannot be stored as `name` (too long, a control character), or None."""
    if len(text) > limit:
        return f"{name} is {len(text)} characters long, at most {limit} are allowed"
    found = CONTROL_CHARACTERS.search(text)
    if found:
        return f"{name} contains the control character U+{ord(found.group()):04X}"
    return None


def current_year(now: datetime | None = None) -> int:
    return (now or datetime.now(timezone.utc)).astimezone(timezone.utc).year


# -- frames --------------------------------------------------------------------------------------------------------


def _unit_range_rules() -> list[tuple[str, pl.Expr, str]]:
    rules = []
    for spec in UNITS.values():
        if spec.lower is not None:
            rules.append(("value", (pl.col("unit") == spec.name) & (pl.col("value") < spec.lower),
                          f"a value in {spec.name} cannot be below {spec.lower:g}"))  # fmt: skip
        if spec.upper is not None:
            rules.append(("value", (pl.col("unit") == spec.name) & (pl.col("value") > spec.upper),
                          f"a value in {spec.name} cannot be above {spec.upper:g}"))  # fmt: skip
    return rules


def _first(frame: pl.DataFrame, mask: pl.Expr) -> int | None:
    hits = frame.select(mask.fill_null(False).arg_true().first()).item()
    return None if hits is None else int(hits)


def _describe(frame: pl.DataFrame, index: int, reason: str) -> str:
    row = frame.row(index, named=True)
    key = " ".join(str(row[c]) for c in ("indicator", "country", "year") if c in row)
    return f"{key}: {reason}" if key else reason


def first_violation(frame: pl.DataFrame, *, now: datetime | None = None,
                    catalog_units: Mapping[str, str] | None = None) -> Violation | None:  # fmt: skip
    """The earliest row (by position) that breaks a value rule, with the rule it breaks; None when every row is fine.

    `catalog_units` (indicator → unit) checks each known indicator's unit; indicators it does not list are left to
    the caller (the writer refuses unregistered indicators on its own).
    """
    if frame.height == 0:
        return None
    year = current_year(now)
    checks: list[tuple[str, pl.Expr, str | None]] = []
    for column, limit in TEXT_LIMITS.items():
        if column not in frame.columns:
            continue
        checks.append((column, pl.col(column).str.len_chars() > limit, None))
        checks.append((column, pl.col(column).str.contains(_CONTROL_PATTERN), None))
    for column in ("year", "year_start"):
        if column in frame.columns:
            checks.append((column, ~pl.col(column).is_between(*YEAR_RANGE), f"{column} outside {YEAR_RANGE[0]}–{YEAR_RANGE[1]}"))
    if {"value", "unit"} <= set(frame.columns):
        checks.extend(_unit_range_rules())
    if {"value_kind", "year"} <= set(frame.columns):
        checks.append(("year", pl.col("value_kind").is_in(OBSERVED_KINDS) & (pl.col("year") > year),
                       f"an observed value (measured, estimate, provisional) cannot describe a year after {year}"))  # fmt: skip
    if catalog_units and {"indicator", "unit"} <= set(frame.columns):
        expected = pl.col("indicator").replace_strict(dict(catalog_units), default=None, return_dtype=pl.String)
        checks.append(("unit", expected.is_not_null() & (expected != pl.col("unit")), None))

    best: Violation | None = None
    for column, mask, reason in checks:
        index = _first(frame, mask)
        if index is None or (best is not None and index >= best.index):
            continue
        if reason is None:
            value = frame[column][index]
            if column == "unit" and catalog_units:
                indicator = frame["indicator"][index]
                reason = f"unit {value!r} is not {indicator}'s catalog unit {catalog_units[indicator]!r}"
            else:
                reason = text_problem(column, value, TEXT_LIMITS[column]) or f"{column} is not valid"
        best = Violation(index, column, _describe(frame, index, reason))
    return best


def check_observations(frame: pl.DataFrame, *, now: datetime | None = None,
                       catalog_units: Mapping[str, str] | None = None, label: str = "") -> pl.DataFrame:  # fmt: skip
    """The frame unchanged, or ObservationValueError naming the first row that breaks a value rule."""
    violation = first_violation(frame, now=now, catalog_units=catalog_units)
    if violation is not None:
        raise ObservationValueError(violation, label)
    return frame
