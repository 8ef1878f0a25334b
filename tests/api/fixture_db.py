"""Real extracts (fixtures/observations.csv) in, a migrated test database with observations, evidence, forecasts,
crossovers and dimension scores out.

The observations are verbatim rows of files under ../shared/data (see fixtures/README.md); `extract_observations`
rebuilds the CSV from those files so a test can check the copy. Forecasts, crossovers and dimension scores are
*derived* here from those values by a small, seeded random walk with drift: they satisfy the database contract so the
API and the dashboard have something honest to show, but they are not the project's forecasting method.
"""

from __future__ import annotations

import csv
import hashlib
import io
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import polars as pl

from contracts.observations import OBSERVATION_SCHEMA
from db.repository import PayloadRecord, Repository, SourceRecord

FIXTURES = Path(__file__).with_name("fixtures")
OBSERVATIONS_CSV = FIXTURES / "observations.csv"
CSV_COLUMNS = (
    "indicator", "country", "year", "value", "unit", "value_kind", "source", "source_series", "vintage",
    "retrieved_at", "origin_file",
)  # fmt: skip

# (file under ../shared/data, indicator, unit, column) for the OWID grapher files; the "(Projected)" column of the
# CSET investment file is CSET's projection, so it is stored as value_kind=projection.
OWID_FILES = (
    ("owid/annual-scholarly-publications-on-artificial-intelligence.csv", "ai_papers", "count"),
    ("owid/artificial-intelligence-patents-submitted.csv", "ai_patent_applications", "count"),
    ("owid/private-investment-in-artificial-intelligence-cset.csv", "ai_private_investment", "usd_const"),
)
OWID_RETRIEVED = "2026-05-08"  # owid/SOURCES.md: "retrieved May 7–8, 2026"
WORLDBANK_FILE = "worldbank/API_GB.XPD.RSDV.GD.ZS_DS2_en_csv_v2_232.csv"
WORLDBANK_FIRST_YEAR = 2000

SOURCES = {
    "owid": SourceRecord(
        id="owid", producer="Our World in Data", title="OWID grapher (CSET Country Activity Tracker series)",
        homepage="https://ourworldindata.org", licence="CC BY 4.0",
        citation="Our World in Data, based on CSET Country Activity Tracker", redistributable=True,
    ),
    "worldbank": SourceRecord(
        id="worldbank", producer="World Bank", title="World Development Indicators",
        homepage="https://data.worldbank.org", licence="CC BY 4.0", citation="World Bank, WDI",
        redistributable=True, cadence_days=182,
    ),
}  # fmt: skip

HORIZON = 2035
N_PATHS = 2000
SEED = 20260720
CURRENT_RUN_ID = "fixture-current-run"
BACKTEST_RUN_ID = "fixture-backtest-2019"
BACKTEST_AS_OF = 2019
BUILD_ID = "fixture-build"
PAIR = ("CHN", "USA")


# ----------------------------------------------------------------------------------------------- extraction
def _owid_rows(shared: Path, relative: str, indicator: str, unit: str) -> list[dict]:
    rows = []
    slug = Path(relative).stem
    with (shared / relative).open(newline="", encoding="utf-8") as handle:
        for record in csv.DictReader(handle):
            if record["Code"] not in PAIR:
                continue
            for column, kind in (("All", "measured"), ("All (projected) (Projected)", "projection")):
                raw = record.get(column)
                if not raw:
                    continue
                # CSET repeats the last measured year in the projected column; only later years are projections.
                if kind == "projection" and record.get("All"):
                    continue
                rows.append(
                    {
                        "indicator": indicator, "country": record["Code"], "year": int(record["Year"]),
                        "value": raw, "unit": unit, "value_kind": kind, "source": "owid",
                        "source_series": f"{slug}#{column}", "vintage": OWID_RETRIEVED,
                        "retrieved_at": OWID_RETRIEVED, "origin_file": relative,
                    }
                )  # fmt: skip
    return rows


def _worldbank_rows(shared: Path) -> list[dict]:
    lines = (shared / WORLDBANK_FILE).read_text(encoding="utf-8-sig").splitlines()
    updated = next(r for r in csv.reader(lines[:4]) if r and r[0] == "Last Updated Date")[1]
    reader = csv.reader(lines[4:])
    header = next(reader)
    rows = []
    for record in reader:
        if len(record) < 4 or record[1] not in PAIR:
            continue
        for year, raw in zip(header[4:], record[4:]):
            if raw and year.isdigit() and int(year) >= WORLDBANK_FIRST_YEAR:
                rows.append(
                    {
                        "indicator": "gerd_pct_gdp", "country": record[1], "year": int(year), "value": raw,
                        "unit": "pct_gdp", "value_kind": "measured", "source": "worldbank",
                        "source_series": record[3], "vintage": updated, "retrieved_at": updated,
                        "origin_file": WORLDBANK_FILE,
                    }
                )  # fmt: skip
    return rows


def extract_observations(shared: Path) -> str:
    """The fixture CSV text, rebuilt from the real files under `shared` (../shared/data)."""
    rows = [r for spec in OWID_FILES for r in _owid_rows(shared, *spec)] + _worldbank_rows(shared)
    rows.sort(key=lambda r: (r["indicator"], r["country"], r["year"], r["value_kind"]))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


# ----------------------------------------------------------------------------------------------- loading
def fixture_observations() -> pl.DataFrame:
    raw = pl.read_csv(OBSERVATIONS_CSV, schema_overrides={"value": pl.Float64, "year": pl.Int64})
    return raw


def _payload_and_frame(source: str, raw: pl.DataFrame) -> tuple[PayloadRecord, pl.DataFrame]:
    part = raw.filter(pl.col("source") == source)
    # The payload is the extract itself (the rows of the real file), so every observation cites stored bytes.
    content = part.write_csv().encode()
    sha = hashlib.sha256(content).hexdigest()
    retrieved = datetime.fromisoformat(part["retrieved_at"][0]).replace(tzinfo=timezone.utc)
    origin = part["origin_file"][0]
    payload = PayloadRecord(
        sha256=sha, source_id=source, url=f"../shared/data/{origin}", request_params={"extract": "tests/api/fixtures"},
        status=200, media_type="text/csv", retrieved_at=retrieved, published=part["vintage"][0],
        licence=SOURCES[source].licence, citation=SOURCES[source].citation, redistributable=True, content=content,
    )  # fmt: skip
    frame = part.select(
        "indicator", "country", "year", pl.col("year").alias("year_start"), "value", "unit", "value_kind", "source",
        "source_series", "vintage", pl.lit(retrieved).alias("retrieved_at"), pl.lit(sha).alias("snapshot_id"),
    ).cast({k: v for k, v in OBSERVATION_SCHEMA.items()})  # fmt: skip
    return payload, frame


# ----------------------------------------------------------------------------------------------- derivation
def _to_scale(values: np.ndarray, unit: str) -> np.ndarray:
    if unit in ("pct", "pct_gdp"):
        share = values / 100.0
        return np.log(share / (1 - share))
    if unit == "share":
        return np.log(values / (1 - values))
    return np.log(values)


def _from_scale(z: np.ndarray, unit: str) -> np.ndarray:
    if unit in ("pct", "pct_gdp"):
        return 100.0 / (1 + np.exp(-z))
    if unit == "share":
        return 1.0 / (1 + np.exp(-z))
    return np.exp(z)


def simulate_pair(history: dict[str, dict[int, float]], unit: str, horizon: int, rng: np.random.Generator):
    """Joint random-walk-with-drift paths on the forecast scale, shocks correlated as the two series' changes were."""
    last = {c: max(history[c]) for c in history}
    start = max(last.values())
    years = np.arange(start + 1, horizon + 1)
    countries = sorted(history)
    drifts, sigmas, diffs = [], [], []
    for country in countries:
        ys = sorted(history[country])
        z = _to_scale(np.array([history[country][y] for y in ys]), unit)
        d = np.diff(z)
        diffs.append(dict(zip(ys[1:], d)))
        drifts.append(d.mean())
        sigmas.append(max(d.std(ddof=1), 1e-6))
    common = sorted(set(diffs[0]) & set(diffs[1])) if len(countries) == 2 else []
    rho = 0.0
    if len(common) > 2:
        rho = float(np.corrcoef([diffs[0][y] for y in common], [diffs[1][y] for y in common])[0, 1])
    rho = float(np.clip(np.nan_to_num(rho), -0.95, 0.95))
    cov = np.array([[sigmas[0] ** 2, rho * sigmas[0] * sigmas[-1]], [rho * sigmas[0] * sigmas[-1], sigmas[-1] ** 2]])
    shocks = rng.multivariate_normal(np.zeros(2), cov, size=(N_PATHS, len(years)))
    paths = {}
    for i, country in enumerate(countries):
        # A country whose series ends earlier starts its steps from its own last year.
        steps_before = start - last[country]
        z0 = _to_scale(np.array([history[country][last[country]]]), unit)[0] + drifts[i] * steps_before
        z = z0 + np.cumsum(drifts[i] + shocks[:, :, i], axis=1)
        paths[country] = _from_scale(z, unit)
    return years, paths


def forecast_rows(subject: str, kind: str, years: np.ndarray, paths: dict[str, np.ndarray]) -> list[dict]:
    rows = []
    for country, sample in paths.items():
        q = np.quantile(sample, [0.025, 0.1, 0.5, 0.9, 0.975], axis=0)
        for j, year in enumerate(years):
            lo95, lo80, mid, hi80, hi95 = (float(v) for v in q[:, j])
            # The point is the path median: it always sits inside the nested bands the contract requires.
            rows.append(
                {
                    "subject": subject, "subject_kind": kind, "country": country, "model": "rw_drift_fixture",
                    "year": int(year), "mean": mid, "lo_80": lo80, "hi_80": hi80, "lo_95": lo95, "hi_95": hi95,
                }
            )  # fmt: skip
    return rows


def crossover_row(
    subject: str, kind: str, history: dict[str, dict[int, float]], years: np.ndarray, challenger_paths: np.ndarray,
    leader_paths: np.ndarray, challenger: str = "CHN", rival: str = "USA",
) -> dict:  # fmt: skip
    common = sorted(set(history[challenger]) & set(history[rival]))
    ahead = [history[challenger][y] > history[rival][y] for y in common]
    changes = [common[i] for i in range(1, len(common)) if ahead[i] != ahead[i - 1]]
    leader_now = challenger if ahead[-1] else rival
    trailing, leading = (
        (challenger_paths, leader_paths) if leader_now == rival else (leader_paths, challenger_paths)
    )
    passed = trailing > leading
    first = np.where(passed.any(axis=1), years[np.argmax(passed, axis=1)], np.inf)
    p_by = {str(int(y)): float(np.mean(first <= y)) for y in years}
    p_after = float(np.mean(np.isinf(first)))

    def year_at(q: float) -> int | None:
        value = float(np.quantile(first, q, method="inverted_cdf"))
        return None if np.isinf(value) else int(value)

    if leader_now == challenger:
        status = "already_crossed"
    elif p_after < 0.5:
        status = "projected"
    else:
        status = "not_within_horizon"
    return {
        "subject": subject, "subject_kind": kind, "pair": f"{challenger}-{rival}", "leader_now": leader_now,
        "status": status, "last_crossing_year": changes[-1] if changes else None, "historical_crossings": changes,
        "median_year": year_at(0.5), "lo_80": year_at(0.1), "hi_80": year_at(0.9), "lo_95": year_at(0.025),
        "hi_95": year_at(0.975), "p_by": p_by, "p_after_horizon": p_after, "horizon": HORIZON, "n_paths": N_PATHS,
        "model": "rw_drift_fixture",
    }  # fmt: skip


def pair_histories(observations: pl.DataFrame, *, as_of: int | None = None) -> dict[str, dict[str, dict[int, float]]]:
    history = observations.filter(pl.col("value_kind") == "measured")
    if as_of is not None:
        history = history.filter(pl.col("year") <= as_of)
    out: dict[str, dict[str, dict[int, float]]] = {}
    for (indicator, country), part in history.group_by(["indicator", "country"], maintain_order=True):
        out.setdefault(indicator, {})[country] = dict(zip(part["year"].to_list(), part["value"].to_list()))
    return out


def cohesion_scores(histories: dict[str, dict[str, dict[int, float]]], weights: dict[str, float],
                    concentration: float, rng: np.random.Generator) -> list[dict]:  # fmt: skip
    """China's pair share per indicator, weighted over the indicators present; the band comes from Dirichlet weights."""
    names = [n for n in weights if n in histories]
    years = sorted({y for n in names for y in histories[n]["CHN"]} | {y for n in names for y in histories[n]["USA"]})
    nominal = np.array([weights[n] for n in names])
    rows = []
    for year in years:
        present = [i for i, n in enumerate(names) if year in histories[n]["CHN"] and year in histories[n]["USA"]]
        share = np.array(
            [histories[names[i]]["CHN"][year] / (histories[names[i]]["CHN"][year] + histories[names[i]]["USA"][year])
             for i in present]
        )  # fmt: skip
        weight_present = float(nominal[present].sum() / sum(weights.values())) if present else 0.0
        enough = len(present) >= 3 and weight_present >= 0.5
        row = {
            "dimension": "cohesion", "pair": "CHN-USA", "year": year, "score": None, "lo_80": None, "hi_80": None,
            "lo_95": None, "hi_95": None, "n_present": len(present), "n_indicators": len(weights),
            "weight_present": weight_present, "status": "insufficient_data", "leader": None,
        }  # fmt: skip
        if enough:
            w = nominal[present] / nominal[present].sum()
            draws = rng.dirichlet(w * concentration, size=N_PATHS) @ share
            score = float(w @ share)
            lo95, lo80, hi80, hi95 = (float(v) for v in np.quantile(draws, [0.025, 0.1, 0.9, 0.975]))
            row.update(
                score=score, lo_80=min(lo80, score), hi_80=max(hi80, score), lo_95=min(lo95, lo80, score),
                hi_95=max(hi95, hi80, score), status="ok", leader="CHN" if score > 0.5 else "USA",
            )  # fmt: skip
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------------------------- the database
@dataclass(frozen=True)
class FixtureSummary:
    observations: pl.DataFrame
    evidence_rows: int
    crossovers: list[dict]
    current_run_id: str
    backtest_run_id: str


def _forecast_run(run_id: str, created_at: datetime, as_of: int | None, fingerprint: str) -> dict:
    return {
        "id": run_id, "created_at": created_at, "as_of": as_of, "horizon": HORIZON, "n_paths": N_PATHS,
        "seed": SEED, "configuration": {"model": "rw_drift_fixture", "levels": [80, 95]},
        "code_version": "tests/api/fixture_db.py", "data_fingerprint": fingerprint, "duration_s": 0.0,
    }  # fmt: skip


def _forecast_everything(histories, units, *, rng) -> tuple[list[dict], list[dict]]:
    forecasts, crossovers = [], []
    for indicator in sorted(histories):
        history = histories[indicator]
        if set(history) != set(PAIR):
            continue
        years, paths = simulate_pair(history, units[indicator], HORIZON, rng)
        forecasts += forecast_rows(indicator, "indicator", years, paths)
        crossovers.append(crossover_row(indicator, "indicator", history, years, paths["CHN"], paths["USA"]))
    return forecasts, crossovers


def build_fixture_db(repo: Repository) -> FixtureSummary:
    """Fill a migrated database through the Repository, as the pipeline would."""
    from aitrack.pipeline import indicator_records
    from indicators.catalog import load_catalog
    from indicators.evidence import load_seed_evidence

    catalog = load_catalog()
    repo.sync_indicators(indicator_records(catalog))
    raw = fixture_observations()
    frames = []
    for source in ("owid", "worldbank"):
        payload, frame = _payload_and_frame(source, raw)
        repo.ingest(
            run_source=source, trigger="offline", started_at=payload.retrieved_at, sources=[SOURCES[source]],
            payloads=[payload], observations=frame,
        )  # fmt: skip
        frames.append(frame)
    observations = pl.concat(frames)
    evidence_rows = repo.replace_evidence(load_seed_evidence())

    fingerprint = hashlib.sha256(OBSERVATIONS_CSV.read_bytes()).hexdigest()
    units = {e.id: e.unit for e in catalog}
    rng = np.random.default_rng(SEED)
    created = datetime(2026, 7, 20, 12, 0, tzinfo=timezone.utc)

    histories = pair_histories(raw, as_of=BACKTEST_AS_OF)
    forecasts, crossovers = _forecast_everything(histories, units, rng=rng)
    repo.save_forecast_run(
        run=_forecast_run(BACKTEST_RUN_ID, created - timedelta(hours=1), BACKTEST_AS_OF, fingerprint),
        forecasts=pl.DataFrame(forecasts), crossovers=crossovers,
    )  # fmt: skip

    histories = pair_histories(raw)
    forecasts, crossovers = _forecast_everything(histories, units, rng=rng)
    # Restricted to the cohesion indicators this fixture holds: with all 27 the coverage would never reach 50%.
    weights = {k: w for k, w in catalog.dimension_weights("cohesion").items() if k in histories}
    scores = cohesion_scores(histories, weights, catalog.dimensions["cohesion"].dirichlet_concentration, rng)
    other = [
        {**row, "dimension": name, "n_indicators": len(catalog.dimension_weights(name)), "n_present": 0,
         "weight_present": 0.0, "score": None, "lo_80": None, "hi_80": None, "lo_95": None, "hi_95": None,
         "status": "insufficient_data", "leader": None}
        for name in ("values", "influence", "legitimacy") for row in scores[-1:]
    ]  # fmt: skip
    repo.save_dimension_scores(pl.DataFrame(scores + other, infer_schema_length=None), build_id=BUILD_ID,
                               fingerprint=fingerprint)  # fmt: skip
    dim_history = {r["year"]: r["score"] for r in scores if r["status"] == "ok"}
    if len(dim_history) >= 3:
        years, paths = simulate_pair({"CHN": dim_history, "USA": {y: 1 - s for y, s in dim_history.items()}},
                                     "share", HORIZON, rng)  # fmt: skip
        forecasts += forecast_rows("cohesion", "dimension", years, {"CHN": paths["CHN"]})
        crossovers.append(
            crossover_row("cohesion", "dimension", {"CHN": dim_history, "USA": {y: 0.5 for y in dim_history}},
                          years, paths["CHN"], np.full_like(paths["CHN"], 0.5))  # fmt: skip
        )
    repo.save_forecast_run(
        run=_forecast_run(CURRENT_RUN_ID, created, None, fingerprint), forecasts=pl.DataFrame(forecasts),
        crossovers=crossovers,
    )  # fmt: skip
    return FixtureSummary(observations, evidence_rows, crossovers, CURRENT_RUN_ID, BACKTEST_RUN_ID)


if __name__ == "__main__":  # python -m tests.api.fixture_db ../shared/data  → rewrites fixtures/observations.csv
    OBSERVATIONS_CSV.write_text(extract_observations(Path(sys.argv[1])), encoding="utf-8")
