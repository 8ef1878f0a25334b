"""The observation frame contract (DESIGN §3): a polars schema in, a validated frame out."""

from __future__ import annotations

from datetime import datetime, timezone

import polars as pl

from contracts.kinds import VALUE_KINDS

OBSERVATION_SCHEMA: dict[str, pl.DataType] = {
    "indicator": pl.String(),
    "country": pl.String(),
    "year": pl.Int64(),  # the year the value describes; for a multi-year total, its last year
    "year_start": pl.Int64(),  # == year for an annual value; < year for a period total (never annual history)
    "value": pl.Float64(),
    "unit": pl.String(),
    "value_kind": pl.String(),
    "source": pl.String(),
    "source_series": pl.String(),
    "retrieved_at": pl.Datetime("us", "UTC"),
    "vintage": pl.String(),
    "snapshot_id": pl.String(),
}
OBSERVATION_COLUMNS = tuple(OBSERVATION_SCHEMA)
NATURAL_KEY = ("indicator", "country", "year", "source", "vintage")


class ObservationFrameError(ValueError):
    """A frame that breaks the observation contract (missing column, null value, bad code)."""


def empty_observations() -> pl.DataFrame:
    return pl.DataFrame(schema=OBSERVATION_SCHEMA)


def validate_observations(frame: pl.DataFrame) -> pl.DataFrame:
    """Cast to the contract's dtypes and check its rules; raise ObservationFrameError naming the rule.

    A frame without `year_start` holds annual values (year_start = year): producers of annual series need not
    say so; producers of multi-year totals must.
    """
    if "year" in frame.columns:
        start = pl.col("year_start").fill_null(pl.col("year")) if "year_start" in frame.columns else pl.col("year")
        frame = frame.with_columns(start.alias("year_start"))
    missing = [c for c in OBSERVATION_COLUMNS if c not in frame.columns]
    if missing:
        raise ObservationFrameError(f"observation frame lacks column(s): {', '.join(missing)}")
    try:
        out = frame.select(
            [pl.col(c).cast(dtype, strict=True) for c, dtype in OBSERVATION_SCHEMA.items()]
        )
    except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError) as exc:
        raise ObservationFrameError(f"observation frame has a column of the wrong type: {exc}") from exc
    if out.height == 0:
        return out
    nulls = [c for c in OBSERVATION_COLUMNS if out[c].null_count()]
    if nulls:
        raise ObservationFrameError(f"observation frame has nulls in: {', '.join(nulls)}")
    if not out["value"].is_finite().all():
        raise ObservationFrameError("observation frame has a non-finite value")
    bad_period = out.filter(pl.col("year_start") > pl.col("year"))
    if bad_period.height:
        row = bad_period.row(0, named=True)
        raise ObservationFrameError(f"{row['indicator']} {row['country']}: period starts ({row['year_start']}) after it ends ({row['year']})")
    bad_kind = out.filter(~pl.col("value_kind").is_in(VALUE_KINDS))
    if bad_kind.height:
        raise ObservationFrameError(
            f"unknown value_kind {bad_kind['value_kind'][0]!r}; expected one of {', '.join(VALUE_KINDS)}"
        )
    bad_country = out.filter(~pl.col("country").str.contains(r"^[A-Z]{3}$"))
    if bad_country.height:
        raise ObservationFrameError(f"country {bad_country['country'][0]!r} is not an ISO3 code")
    dupes = out.select(NATURAL_KEY).is_duplicated()
    if dupes.any():
        row = out.filter(dupes).row(0, named=True)
        raise ObservationFrameError(
            "observation frame repeats a key: " + ", ".join(f"{k}={row[k]}" for k in NATURAL_KEY)
        )
    return out


def annual_only(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows that describe one year: a period total is shown and cited, never used as an annual value."""
    if "year_start" not in frame.columns:
        return frame
    return frame.filter(pl.col("year_start") == pl.col("year"))


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
