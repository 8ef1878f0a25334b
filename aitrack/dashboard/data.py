"""A Reader and the catalog in, every row the dashboard and the report show out: the only database access of the
dashboard (everything after it — view model, pages — is a pure function of these rows)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from aitrack.present import crossovers as crossover_presentation
from aitrack.present.crossovers import CrossoverView
from aitrack.present.evidence import with_citations
from contracts.pair import DEFAULT_PAIR, PAIR_CODE, pair_label

CHART_COUNTRIES = (*DEFAULT_PAIR, PAIR_CODE)


@dataclass(frozen=True)
class DashboardData:
    """Rows as read from the views: current observations of the charted countries (every kind), the latest official
    forecasts, the crossover presentation, dimension scores, cited seed evidence, indicators, sources and runs."""

    observations: pl.DataFrame
    forecasts: pl.DataFrame
    crossovers: list[CrossoverView]
    dimensions: pl.DataFrame
    evidence: pl.DataFrame
    indicators: pl.DataFrame
    sources: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    pair: tuple[str, str] = DEFAULT_PAIR

    @property
    def chart_countries(self) -> tuple[str, ...]:
        """The pair's two sides, and the bilateral US–China unit when the pair is the default one."""
        return CHART_COUNTRIES if self.pair == DEFAULT_PAIR else self.pair

    @property
    def nbytes(self) -> int:
        """For the API cache's byte bound."""
        frames = (self.observations, self.forecasts, self.dimensions, self.evidence, self.indicators)
        return sum(int(f.estimated_size()) for f in frames) + 2048 * (len(self.crossovers) + len(self.sources)
                                                                      + len(self.runs))  # fmt: skip

    @property
    def empty(self) -> bool:
        return not (self.observations.height or self.forecasts.height or self.crossovers or self.dimensions.height)


def load_dashboard_data(reader: Any, catalog: Any, pair: tuple[str, str] = DEFAULT_PAIR) -> DashboardData:
    """The I/O edge: read the views through the Reader (read-only), the official rows of one pair."""
    countries = CHART_COUNTRIES if pair == DEFAULT_PAIR else pair
    return DashboardData(
        observations=reader.latest_observations(countries=list(countries), kinds=None),
        forecasts=reader.forecasts(pair=pair_label(pair))[0],
        crossovers=crossover_presentation.load(reader, catalog, pair=pair),
        dimensions=reader.dimension_scores(pair=pair_label(pair))[0],
        evidence=with_citations(reader.evidence()[0]),
        indicators=reader.indicators(),
        sources=reader.sources(),
        runs=[r for r in reader.forecast_runs() if r.get("pair") == pair_label(pair)],
        pair=pair,
    )
