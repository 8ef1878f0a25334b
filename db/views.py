"""The read views for dashboards and the API (documented column by column in docs/dashboard-views.md): SQL text
generated from the contracts, one definition per schema revision.

A migration creates the views of its own revision (`VIEWS_BY_REVISION[rev]`), so upgrading an old database replays
each revision's views as they were; `CURRENT_VIEWS` is what the models' head revision expects, and `db check`
compares the live database against it.
"""

from __future__ import annotations

from contracts.kinds import OBSERVED_KINDS, sql_list

OFFICIAL_RUN = "official"
RUN_KINDS = (OFFICIAL_RUN, "adhoc", "backtest")

_V_LATEST_OBSERVATION = f"""
SELECT ranked.indicator_id AS indicator, ranked.country, ranked.year, ranked.year_start, ranked.value, ranked.unit,
       ranked.value_kind, ranked.source_id AS source, ranked.source_series, ranked.vintage,
       ranked.retrieved_at, ranked.snapshot_id
FROM (
    SELECT o.*, ROW_NUMBER() OVER (
        PARTITION BY o.indicator_id, o.country, o.year
        ORDER BY CASE WHEN o.value_kind IN {sql_list(OBSERVED_KINDS)} THEN 0 ELSE 1 END,
                 COALESCE(s.priority, 1000), o.vintage DESC, o.retrieved_at DESC, o.id DESC
    ) AS rn
    FROM observation o
    LEFT JOIN indicator_source s ON s.indicator_id = o.indicator_id AND s.source_id = o.source_id
) ranked
WHERE ranked.rn = 1
"""

# The latest official run per (subject, pair): ad-hoc analyst runs and backtests never replace it.
_V_FORECAST_LATEST = f"""
WITH subject_runs AS (
    SELECT DISTINCT f.subject, f.pair, f.run_id, r.created_at
    FROM forecast f JOIN forecast_run r ON r.id = f.run_id
    WHERE r.kind = '{OFFICIAL_RUN}'
), latest AS (
    SELECT subject, pair, run_id FROM (
        SELECT subject, pair, run_id,
               ROW_NUMBER() OVER (PARTITION BY subject, pair ORDER BY created_at DESC, run_id DESC) AS rn
        FROM subject_runs
    ) t WHERE t.rn = 1
)
SELECT f.run_id, r.created_at, f.subject, f.subject_kind, f.pair, f.country, f.model, f.year,
       f.mean, f.lo_80, f.hi_80, f.lo_95, f.hi_95, f.nowcast
FROM forecast f
JOIN latest l ON l.subject = f.subject AND l.pair = f.pair AND l.run_id = f.run_id
JOIN forecast_run r ON r.id = f.run_id
"""

_V_CROSSOVER_LATEST = f"""
SELECT ranked.run_id, ranked.created_at, ranked.subject, ranked.subject_kind, ranked.pair, ranked.leader_now,
       ranked.leader_since, ranked.status, ranked.data_end_year, ranked.last_crossing_year,
       ranked.historical_crossings, ranked.median_year, ranked.lo_80, ranked.hi_80, ranked.lo_95, ranked.hi_95,
       ranked.p_by, ranked.p_after_horizon, ranked.p_crossed_by_now, ranked.horizon, ranked.n_paths, ranked.model,
       ranked.stale, ranked.notes
FROM (
    SELECT c.*, r.created_at, ROW_NUMBER() OVER (
        PARTITION BY c.subject, c.pair ORDER BY r.created_at DESC, c.run_id DESC
    ) AS rn
    FROM crossover c JOIN forecast_run r ON r.id = c.run_id
    WHERE r.kind = '{OFFICIAL_RUN}'
) ranked
WHERE ranked.rn = 1
"""

_V_DIMENSION_LATEST = """
WITH latest AS (
    SELECT dimension, pair, build_id FROM (
        SELECT dimension, pair, build_id, ROW_NUMBER() OVER (
            PARTITION BY dimension, pair ORDER BY computed_at DESC, build_id DESC
        ) AS rn
        FROM (SELECT DISTINCT dimension, pair, build_id, computed_at FROM dimension_score) b
    ) t WHERE t.rn = 1
)
SELECT d.build_id, d.computed_at, d.dimension, d.pair, d.year, d.score, d.lo_80, d.hi_80, d.lo_95, d.hi_95,
       d.n_present, d.n_indicators, d.weight_present, d.weight_nowcast, d.status, d.leader
FROM dimension_score d
JOIN latest l ON l.dimension = d.dimension AND l.pair = d.pair AND l.build_id = d.build_id
"""

VIEWS_BY_REVISION: dict[str, dict[str, str]] = {
    "0002": {
        "v_latest_observation": _V_LATEST_OBSERVATION,
        "v_forecast_latest": _V_FORECAST_LATEST,
        "v_crossover_latest": _V_CROSSOVER_LATEST,
        "v_dimension_latest": _V_DIMENSION_LATEST,
    },
}
CURRENT_VIEWS: dict[str, str] = VIEWS_BY_REVISION["0002"]


def create_views(execute, views: dict[str, str]) -> None:
    """CREATE VIEW for each (name, text) through `execute` (alembic's op.execute or a connection's exec_driver_sql)."""
    for name, body in views.items():
        execute(f"CREATE VIEW {name} AS {body}")


def drop_views(execute, names) -> None:
    for name in names:
        execute(f"DROP VIEW IF EXISTS {name}")
