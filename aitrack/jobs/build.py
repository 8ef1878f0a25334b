"""The build job: stored observations in; derived indicators (stored with their inputs as a raw payload) and the four
dimension scores (stored as one build) out."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

import polars as pl

from aitrack.jobs.ingest import SourceOutcome, payload_record, source_record, store
from contracts.kinds import HISTORY_KINDS
from contracts.observations import annual_only, data_fingerprint
from contracts.pair import DEFAULT_PAIR, pair_label
from db.read import Reader
from db.write import Writer
from fetchers.base import RawPayload
from fetchers.registry import DERIVED_SOURCE
from indicators.catalog import Catalog


@dataclass
class BuildResult:
    derived: SourceOutcome | None
    build_id: str
    dimension_rows: int
    fingerprint: str
    scores: pl.DataFrame


def scoring_observations(reader: Reader) -> pl.DataFrame:
    """What derived series and dimension scores are computed from: current annual history values (no provisional
    partial years, no period totals, no targets or projections)."""
    return annual_only(reader.latest_observations(kinds=HISTORY_KINDS))


def store_derived(writer: Writer, observations: pl.DataFrame, catalog: Catalog) -> SourceOutcome | None:
    """Derived indicators from `observations`, stored with the rows they were computed from as their raw payload."""
    from indicators.derive import DERIVATIONS, derive_all

    started_at, t0 = datetime.now(timezone.utc), time.perf_counter()
    derived = derive_all(observations, catalog)
    if not derived.height:
        return None
    inputs = sorted({i for d in DERIVATIONS.values() for i in d.inputs})
    used = observations.filter(pl.col("indicator").is_in(inputs)).select(
        "indicator", "country", "year", "value", "source", "vintage", "snapshot_id"
    ).sort("indicator", "country", "year")
    # The derivation's inputs are its raw payload: any derived number traces to the rows it came from.
    payload = RawPayload(
        source=DERIVED_SOURCE.id, url="aitrack://derive", params={"derivations": sorted(DERIVATIONS)}, status=200,
        content=used.write_csv().encode(), retrieved_at=started_at, media_type="text/csv",
    )  # fmt: skip
    derived = derived.with_columns(pl.lit(payload.sha256).alias("snapshot_id"))
    record = payload_record(payload, licence=DERIVED_SOURCE.licence, citation=DERIVED_SOURCE.citation,
                            redistributable=True)  # fmt: skip
    return store(writer, run_source=DERIVED_SOURCE.id, trigger="build", sources=[source_record(DERIVED_SOURCE)],
                 payloads=[record], observations=derived, started_at=started_at, t0=t0)  # fmt: skip


def build(reader: Reader, writer: Writer, catalog: Catalog, *, n_draws: int = 2000, seed: int = 0,
          pair: tuple[str, str] = DEFAULT_PAIR) -> BuildResult:  # fmt: skip
    """Derived indicators, then the four dimension scores of `pair` from the observed data."""
    from indicators.composites import dimension_scores, pair_shares

    outcome = store_derived(writer, scoring_observations(reader), catalog)
    observations = scoring_observations(reader)
    shares = pair_shares(observations, catalog, pair=pair)
    scores = dimension_scores(shares, catalog, n_draws=n_draws, seed=seed, pair=pair).with_columns(
        pl.lit(pair_label(pair)).alias("pair")
    )
    fingerprint = data_fingerprint(observations)
    build_id = str(uuid.uuid4())
    n = writer.save_dimension_scores(scores, build_id=build_id, fingerprint=fingerprint)
    return BuildResult(derived=outcome, build_id=build_id, dimension_rows=n, fingerprint=fingerprint, scores=scores)


@dataclass
class PairScores:
    pair: tuple[str, str]
    scores: pl.DataFrame  # SCORES_SCHEMA + pair
    missing: dict[str, dict[str, list[str]]]  # dimension → side → member indicators without data


def pair_dimension_scores(reader: Reader, catalog: Catalog, pair: tuple[str, str], *, n_draws: int = 2000,
                          seed: int = 0) -> PairScores:  # fmt: skip
    """The four dimension scores of any pair from the observed data, computed on demand (not stored): pair-dependent
    derived series are derived again for the pair, and the members a side lacks are listed."""
    from indicators.composites import dimension_scores, missing_members, pair_shares
    from indicators.derive import rederive_for_pair

    observations = scoring_observations(reader)
    if pair != DEFAULT_PAIR:
        observations = rederive_for_pair(observations, catalog, pair)
    shares = pair_shares(observations, catalog, pair=pair)
    scores = dimension_scores(shares, catalog, n_draws=n_draws, seed=seed, pair=pair).with_columns(
        pl.lit(pair_label(pair)).alias("pair")
    )
    return PairScores(pair, scores, missing_members(observations, catalog, pair))
