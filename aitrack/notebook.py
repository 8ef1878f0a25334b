"""The configured database in, polars frames out: `Tracker` for analysts in Jupyter, with the CLI's parameters, allowed
values and messages (aitrack.queries) and the surfaces' presentations (crossovers, evidence citations, provenance)."""

from __future__ import annotations

from typing import Any

import polars as pl

from aitrack.queries import (
    CrossoverFilter, DimensionFilter, EvidenceFilter, ForecastFilter, ObservationFilter, ProvenanceQuery,
    ReaderVocabulary, check_known, filter_crossovers, filter_dimensions, filter_evidence, filter_forecasts,
    filter_observations,
)  # fmt: skip
from contracts.records import CrossoverRow


class Tracker:
    """One database: `Tracker()` opens the configured one (AITRACK_DATABASE_URL, else ./data/aitrack.db), or pass a URL.

    Every method validates like the CLI and the API: a malformed value raises `aitrack.queries.QueryError`, an unknown
    id `aitrack.queries.UnknownIdError` (both `aitrack.errors.UsageError`), with the same one-line message.
    """

    def __init__(self, database_url: str | None = None) -> None:
        from aitrack.context import AppContext
        from aitrack.settings import load_settings

        settings = load_settings(**({"database_url": database_url} if database_url else {}))
        self._context = AppContext(settings)
        self.reader = self._context.require_schema()
        self._catalog: Any = None

    # ------------------------------------------------------------------ plumbing
    @property
    def catalog(self) -> Any:
        if self._catalog is None:
            from aitrack.jobs.catalog import current_catalog

            self._catalog = current_catalog(self.reader)
        return self._catalog

    def _checked(self, query: Any) -> Any:
        check_known(query, ReaderVocabulary(self.reader, self.catalog))
        return query

    def close(self) -> None:
        self.reader.engine.dispose()

    def __enter__(self) -> "Tracker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Tracker({self.reader.engine.url.render_as_string(hide_password=True)!r})"

    # ------------------------------------------------------------------ reads
    def indicators(self) -> pl.DataFrame:
        """The catalog as stored: id, name, unit, category, direction, caveats, number of stored values."""
        return self.reader.indicators()

    def observations(self, indicator: str | None = None, *, country: str | None = None, year_from: int | None = None,
                     year_to: int | None = None, kind: str | None = None) -> pl.DataFrame:  # fmt: skip
        """Current values (latest vintage, preferred source), every kind unless `kind` says: /api/observations."""
        query = self._checked(ObservationFilter.parse(indicator=indicator, country=country, year_from=year_from,
                                                      year_to=year_to, kind=kind))  # fmt: skip
        relation = self.reader.latest_observations(indicators=None if indicator is None else [query.indicator],
                                                   kinds=None)  # fmt: skip
        return filter_observations(relation, query)

    def forecasts(self, subject: str | None = None, *, run: str | None = None, country: str | None = None) -> pl.DataFrame:
        """Forecast rows of the latest official run per subject, or of one run (backtests included): /api/forecasts."""
        query = self._checked(ForecastFilter.parse(subject=subject, run=run, country=country))
        return filter_forecasts(self.reader.forecasts(run_id=query.run)[0], query)

    def crossovers(self, subject: str | None = None) -> pl.DataFrame:
        """The crossover presentation (columns in docs/forecasting.md): the rows of `aitrack crossovers`."""
        from aitrack.present import crossovers

        query = self._checked(CrossoverFilter.parse(subject=subject))
        views = crossovers.load(self.reader, self.catalog)
        keep = {r["subject"] for r in filter_crossovers([v.as_dict() for v in views], query)}
        return crossovers.to_frame([v for v in views if v.subject in keep])

    def crossover_records(self, subject: str | None = None) -> list[CrossoverRow]:
        """The stored contract records behind the presentation, with the full P(by year) curve."""
        query = self._checked(CrossoverFilter.parse(subject=subject))
        return self.reader.crossovers(subject=query.subject)

    def dimensions(self, dimension: str | None = None) -> pl.DataFrame:
        """Dimension scores of the latest build, with coverage: /api/dimensions."""
        query = self._checked(DimensionFilter.parse(dimension=dimension))
        return filter_dimensions(self.reader.dimension_scores()[0], query)

    def evidence(self, indicator: str | None = None, *, kind: str | None = None, country: str | None = None) -> pl.DataFrame:
        """Figures cited in the seed documents, with the seed's author, title, year, URL and line: /api/evidence."""
        from aitrack.present.evidence import with_citations

        query = self._checked(EvidenceFilter.parse(indicator=indicator, kind=kind, country=country))
        return filter_evidence(with_citations(self.reader.evidence()[0]), query)

    def provenance(self, indicator: str, country: str, year: int) -> pl.DataFrame:
        """Every stored vintage of one value with its raw payload chain: `aitrack provenance`, /api/provenance."""
        from aitrack.present.provenance import provenance

        query = self._checked(ProvenanceQuery.parse(indicator=indicator, country=country, year=year))
        return provenance(self.reader, query)

    def payload(self, sha256: str) -> bytes:
        """The raw bytes of one stored payload, as downloaded (`aitrack payload SHA256`)."""
        from aitrack.errors import UsageError

        found = self.reader.payload(sha256.lower())
        if found is None:
            raise UsageError(f"no stored raw payload with sha256 {sha256.lower()}")
        return found[0]
