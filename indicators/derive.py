"""Derived indicators: selected observation frames in, new observation frames (source `aitrack`, provenance hashed from their inputs) out."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from contracts.kinds import HISTORY_KINDS
from contracts.observations import OBSERVATION_SCHEMA, empty_observations, validate_observations
from indicators.catalog import Catalog
from indicators.countries import DEFAULT_PAIR, states_only
from indicators.transforms import per_capita

DERIVED_SOURCE = "aitrack"
# Two distances closer than this are a tie: scores are published to three decimals, and float
# subtraction must not turn an exact tie into a win.
TIE_TOLERANCE = 1e-9


def _history(observations: pl.DataFrame, indicator: str) -> pl.DataFrame:
    rows = observations.filter((pl.col("indicator") == indicator) & pl.col("value_kind").is_in(HISTORY_KINDS))
    if rows.select("country", "year").is_duplicated().any():
        raise ValueError(
            f"{indicator} has more than one observation per (country, year); select one first "
            "(the latest-value view, db.read.Reader.latest_observations)"
        )
    return rows


def _fingerprint(rows: pl.DataFrame) -> str:
    """sha256 over the sorted input rows, so the same inputs always give the same snapshot_id."""
    lines = sorted(
        "|".join([r["indicator"], r["country"], str(r["year"]), repr(float(r["value"])), r["source"], r["vintage"], r["snapshot_id"]])
        for r in rows.iter_rows(named=True)
    )
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def _provenance(inputs: pl.DataFrame) -> dict[str, object]:
    return {
        "vintage": inputs.get_column("vintage").max(),
        "retrieved_at": inputs.get_column("retrieved_at").max(),
        "snapshot_id": _fingerprint(inputs),
    }


def _frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    if not rows:
        return empty_observations()
    return validate_observations(pl.DataFrame(rows, schema=OBSERVATION_SCHEMA))


def _row(indicator: str, unit: str, series: str, country: str, year: int, value: float, inputs: pl.DataFrame) -> dict[str, object]:
    return {
        "indicator": indicator, "country": country, "year": year, "value": float(value), "unit": unit,
        "value_kind": "estimate", "source": DERIVED_SOURCE, "source_series": series, **_provenance(inputs),
    }


def _states_closer(
    observations: pl.DataFrame, *, indicator: str, score: str, unit: str, series: str,
    pair: tuple[str, str], weight_by: str | None,
) -> pl.DataFrame:
    """For each year: how many other states (or how many people in them) have a `score` closer to a's than to b's."""
    a, b = pair
    scores = _history(observations, score)
    weights = _history(observations, weight_by) if weight_by else None
    rows: list[dict[str, object]] = []
    for (year,), group in scores.partition_by("year", as_dict=True, maintain_order=True).items():
        anchor = {c: group.filter(pl.col("country") == c) for c in pair}
        if any(frame.height == 0 for frame in anchor.values()):
            continue
        x_a, x_b = float(anchor[a]["value"][0]), float(anchor[b]["value"][0])
        others = states_only(group).filter(~pl.col("country").is_in(pair))
        used = pl.concat([anchor[a], anchor[b], others])
        if weights is not None:
            year_weights = weights.filter(pl.col("year") == year).select("country", pl.col("value").alias("_weight"))
            others = others.join(year_weights, on="country", how="inner")
            used = pl.concat([used, weights.filter((pl.col("year") == year) & pl.col("country").is_in(others["country"].to_list()))])
        else:
            others = others.with_columns(pl.lit(1.0).alias("_weight"))
        if others.height == 0:
            continue
        gap = (pl.col("value") - x_a).abs() - (pl.col("value") - x_b).abs()
        sides = others.with_columns(
            pl.when(gap < -TIE_TOLERANCE).then(pl.lit(a)).when(gap > TIE_TOLERANCE).then(pl.lit(b)).otherwise(None).alias("_closer")
        )
        for country in pair:
            total = sides.filter(pl.col("_closer") == country).get_column("_weight").sum()
            rows.append(_row(indicator, unit, series, country, int(year), float(total or 0.0), used))
    return _frame(rows)


def states_closer_democracy(observations: pl.DataFrame, *, pair: tuple[str, str] = DEFAULT_PAIR) -> pl.DataFrame:
    """Number of states whose liberal-democracy score is closer to each pair country's than to the other's; ties count for neither."""
    return _states_closer(
        observations, indicator="states_closer_democracy", score="liberal_democracy", unit="count",
        series="closer(liberal_democracy)", pair=pair, weight_by=None,
    )


def population_closer_democracy(observations: pl.DataFrame, *, pair: tuple[str, str] = DEFAULT_PAIR) -> pl.DataFrame:
    """Population of the states counted by states_closer_democracy; states without a population that year are left out."""
    return _states_closer(
        observations, indicator="population_closer_democracy", score="liberal_democracy", unit="people",
        series="closer(liberal_democracy) weighted by population", pair=pair, weight_by="population",
    )


def states_closer_freedom(observations: pl.DataFrame, *, pair: tuple[str, str] = DEFAULT_PAIR) -> pl.DataFrame:
    """Number of states whose Freedom House total score is closer to each pair country's than to the other's."""
    return _states_closer(
        observations, indicator="states_closer_freedom", score="freedom_house_total", unit="count",
        series="closer(freedom_house_total)", pair=pair, weight_by=None,
    )


def _combine(
    observations: pl.DataFrame, *, indicator: str, unit: str, series: str, inputs: tuple[str, str],
    compute: Callable[[pl.DataFrame, pl.DataFrame], pl.DataFrame],
) -> pl.DataFrame:
    left, right = (_history(observations, name) for name in inputs)
    result = compute(left, right)
    rows = []
    for r in result.iter_rows(named=True):
        used = pl.concat([
            left.filter((pl.col("country") == r["country"]) & (pl.col("year") == r["year"])),
            right.filter((pl.col("country") == r["country"]) & (pl.col("year") == r["year"])),
        ])
        rows.append(_row(indicator, unit, series, r["country"], int(r["year"]), r["value"], used))
    return _frame(rows)


def gerd_usd(observations: pl.DataFrame) -> pl.DataFrame:
    """R&D spending in current US$: gerd_pct_gdp × gdp_usd / 100, where both exist for the country-year."""
    def compute(pct: pl.DataFrame, gdp: pl.DataFrame) -> pl.DataFrame:
        joined = pct.select("country", "year", pl.col("value").alias("_pct")).join(
            gdp.select("country", "year", pl.col("value").alias("_gdp")), on=["country", "year"], how="inner"
        )
        return joined.select("country", "year", (pl.col("_pct") * pl.col("_gdp") / 100.0).alias("value"))

    return _combine(
        observations, indicator="gerd_usd", unit="usd", series="gerd_pct_gdp * gdp_usd / 100",
        inputs=("gerd_pct_gdp", "gdp_usd"), compute=compute,
    )


def ai_papers_per_million(observations: pl.DataFrame) -> pl.DataFrame:
    """AI publications per million people: ai_papers / population × 1e6."""
    def compute(papers: pl.DataFrame, population: pl.DataFrame) -> pl.DataFrame:
        return per_capita(papers.select("country", "year", "value"), population.select("country", "year", "value"), scale=1e6)

    return _combine(
        observations, indicator="ai_papers_per_million", unit="per_million", series="ai_papers / population * 1e6",
        inputs=("ai_papers", "population"), compute=compute,
    )


@dataclass(frozen=True)
class Derivation:
    function: Callable[..., pl.DataFrame]
    unit: str
    inputs: tuple[str, ...]
    pairwise: bool  # computed relative to a pair (takes `pair=`)


DERIVATIONS: dict[str, Derivation] = {
    "states_closer_democracy": Derivation(states_closer_democracy, "count", ("liberal_democracy",), True),
    "population_closer_democracy": Derivation(population_closer_democracy, "people", ("liberal_democracy", "population"), True),
    "states_closer_freedom": Derivation(states_closer_freedom, "count", ("freedom_house_total",), True),
    "gerd_usd": Derivation(gerd_usd, "usd", ("gerd_pct_gdp", "gdp_usd"), False),
    "ai_papers_per_million": Derivation(ai_papers_per_million, "per_million", ("ai_papers", "population"), False),
}


def check_catalog(catalog: Catalog) -> None:
    """Every catalog entry with derived_from has a derivation here with the same unit and inputs, and vice versa."""
    derived = {e.id: e for e in catalog if e.is_derived}
    if set(derived) != set(DERIVATIONS):
        raise ValueError(
            "catalog derived entries and indicators.derive disagree: "
            f"only in catalog {sorted(set(derived) - set(DERIVATIONS))}, only in code {sorted(set(DERIVATIONS) - set(derived))}"
        )
    for indicator, entry in derived.items():
        spec = DERIVATIONS[indicator]
        if entry.unit != spec.unit or tuple(entry.derived_from or ()) != spec.inputs:
            raise ValueError(f"{indicator}: catalog says unit {entry.unit} from {entry.derived_from}, code says {spec.unit} from {spec.inputs}")


def derive_all(observations: pl.DataFrame, catalog: Catalog, *, pair: tuple[str, str] = DEFAULT_PAIR) -> pl.DataFrame:
    """All derived indicators the catalog lists, from a frame with one observation per (indicator, country, year)."""
    check_catalog(catalog)
    frames = [
        spec.function(observations, pair=pair) if spec.pairwise else spec.function(observations)
        for spec in DERIVATIONS.values()
    ]
    frames = [f for f in frames if f.height]
    if not frames:
        return empty_observations()
    return validate_observations(pl.concat(frames))


def pairwise_indicators() -> tuple[str, ...]:
    """The derived indicators whose values depend on the pair (e.g. states closer to a's democracy level than b's)."""
    return tuple(name for name, spec in DERIVATIONS.items() if spec.pairwise)


def rederive_for_pair(observations: pl.DataFrame, catalog: Catalog, pair: tuple[str, str]) -> pl.DataFrame:
    """`observations` with the pair-dependent derived indicators recomputed for `pair`.

    The stored rows of those indicators were derived for the default pair (the build): for another pair they answer
    the wrong question, so they are dropped and derived again from their inputs. A pair side the inputs do not cover
    (V-Dem scores no EU) gets no rows: the dimension's coverage then says so.
    """
    check_catalog(catalog)
    names = pairwise_indicators()
    kept = observations.filter(~pl.col("indicator").is_in(list(names)))
    frames = [DERIVATIONS[name].function(observations, pair=pair) for name in names]
    frames = [f for f in frames if f.height]
    if not frames:
        return kept
    return pl.concat([kept, *frames], how="diagonal_relaxed").select(kept.columns)
