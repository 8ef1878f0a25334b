"""The seed evidence catalogue: the CSV is well-formed, every row's quote is on (or within ±3 lines of)
the seed line it cites, and the headline figures the tracker leans on are present."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import polars as pl
import pytest

from indicators.evidence import (
    ALLOWED_INDICATORS,
    COLUMNS,
    EVIDENCE_CSV,
    SEEDS_ENV_VAR,
    UNCATALOGUED,
    VALUE_KINDS,
    find_seed_text,
    iter_quote_problems,
    load_seed_evidence,
    normalise_ws,
    verify_quote,
)

SEED_DOCUMENTS = ("000_48435f7d0d106ffe.txt", "003_6c04ffc18fb02a06.txt", "004_228ec57d7ec7d8e7.txt")


@pytest.fixture(scope="module")
def evidence() -> pl.DataFrame:
    return load_seed_evidence()


@pytest.fixture(scope="module")
def seed_paths() -> dict[str, Path]:
    paths: dict[str, Path] = {}
    for doc in SEED_DOCUMENTS:
        try:
            paths[doc] = find_seed_text(doc)
        except FileNotFoundError as exc:
            pytest.skip(
                f"seed documents not found, so quotes cannot be checked ({exc}); "
                f"set {SEEDS_ENV_VAR} to the folder holding the three seed .txt files"
            )
    return paths


# --- the CSV itself -------------------------------------------------------------------------------

def test_header_is_exact() -> None:
    with EVIDENCE_CSV.open(encoding="utf-8", newline="") as fh:
        assert tuple(next(csv.reader(fh))) == COLUMNS


def test_loads_with_explicit_dtypes(evidence: pl.DataFrame) -> None:
    assert evidence.columns == list(COLUMNS)
    assert evidence.schema["line"] == pl.Int64
    assert evidence.schema["period_start"] == pl.Int64
    assert evidence.schema["period_end"] == pl.Int64
    assert evidence.schema["value"] == pl.Float64
    assert evidence["period_start"].null_count() > 0  # nullable: many figures carry no year


def test_at_least_150_rows_from_every_seed(evidence: pl.DataFrame) -> None:
    assert evidence.height >= 150
    counts = dict(evidence.group_by("document").len().iter_rows())
    assert set(counts) == set(SEED_DOCUMENTS)
    assert all(n >= 20 for n in counts.values()), counts


def test_evidence_ids_unique_and_sequential(evidence: pl.DataFrame) -> None:
    ids = evidence["evidence_id"].to_list()
    assert len(ids) == len(set(ids))
    assert ids == [f"e{i:04d}" for i in range(1, len(ids) + 1)]


def test_value_kinds_valid(evidence: pl.DataFrame) -> None:
    assert set(evidence["value_kind"].unique()) <= VALUE_KINDS


def test_indicators_catalogued_or_uncatalogued(evidence: pl.DataFrame) -> None:
    assert set(evidence["indicator"].unique()) <= ALLOWED_INDICATORS | {UNCATALOGUED}


def test_quotes_short_and_countries_wellformed(evidence: pl.DataFrame) -> None:
    assert evidence["quote"].str.len_chars().max() <= 200
    countries = [c for c in evidence["country"].unique().to_list() if c is not None]
    assert all(re.fullmatch(r"[A-Z]{3}(-[A-Z]{3})?", c) for c in countries), countries


def test_cross_references_point_at_existing_rows(evidence: pl.DataFrame) -> None:
    ids = set(evidence["evidence_id"].to_list())
    for eid, notes in evidence.select("evidence_id", "notes").iter_rows():
        for ref in re.findall(r"\be\d{4}\b", notes or ""):
            assert ref in ids, f"{eid} notes cite unknown {ref}"
        assert "{" not in (notes or ""), f"{eid} has an unresolved placeholder: {notes}"


# --- malformed rows fail naming the row -----------------------------------------------------------

def _write_with(tmp_path: Path, **overrides: str) -> Path:
    with EVIDENCE_CSV.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))[:3]
    rows[1].update(overrides)
    out = tmp_path / "evidence.csv"
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    return out


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"value_kind": "guess"}, "value_kind"),
        ({"value": "150 bn"}, "value"),
        ({"document": ""}, "document is missing"),
        ({"line": "x"}, "line"),
        ({"period_start": "2020s"}, "period_start"),
        ({"indicator": "ai_vibes"}, "indicator"),
        ({"evidence_id": "e0001"}, "duplicate"),
    ],
)
def test_malformed_row_raises_naming_it(tmp_path: Path, overrides: dict[str, str], message: str) -> None:
    path = _write_with(tmp_path, **overrides)
    with pytest.raises(ValueError, match=message) as info:
        load_seed_evidence(path)
    assert "row 2" in str(info.value)


def test_bad_header_raises(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("evidence_id,document\ne0001,x.txt\n", encoding="utf-8")
    with pytest.raises(ValueError, match="header"):
        load_seed_evidence(bad)


# --- rows against the seed texts ------------------------------------------------------------------

def test_every_quote_occurs_near_its_line(evidence: pl.DataFrame, seed_paths: dict[str, Path]) -> None:
    seeds_dir = next(iter(seed_paths.values())).parent
    problems = list(iter_quote_problems(evidence, seeds_dir))
    assert not problems, "\n".join(problems[:20])


def test_lines_in_range(evidence: pl.DataFrame, seed_paths: dict[str, Path]) -> None:
    for doc, path in seed_paths.items():
        n_lines = len(path.read_text(encoding="utf-8").splitlines())
        lines = evidence.filter(pl.col("document") == doc)["line"]
        assert lines.min() >= 1 and lines.max() <= n_lines, doc


def test_verify_quote_rejects_a_quote_far_from_its_line(seed_paths: dict[str, Path]) -> None:
    doc = "004_228ec57d7ec7d8e7.txt"
    seeds_dir = seed_paths[doc].parent
    assert verify_quote(doc, 1004, "In 2017, China published 15,199 AI papers", seeds_dir)
    assert verify_quote(doc, 1001, "In 2017, China published 15,199 AI papers", seeds_dir)  # within ±3
    assert not verify_quote(doc, 1100, "In 2017, China published 15,199 AI papers", seeds_dir)
    assert not verify_quote(doc, 1004, "in 2017, china published 15,199 ai papers", seeds_dir)  # case-sensitive
    assert not verify_quote(doc, 10_000, "anything", seeds_dir)


# --- seed resolution ------------------------------------------------------------------------------

def test_find_seed_text_explicit_dir_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = SEED_DOCUMENTS[0]
    (tmp_path / doc).write_text("line one\nline two\n", encoding="utf-8")
    assert find_seed_text(doc, tmp_path) == tmp_path / doc
    monkeypatch.setenv(SEEDS_ENV_VAR, str(tmp_path))
    assert find_seed_text(doc) == tmp_path / doc
    assert verify_quote(doc, 1, "line two", tmp_path)


def test_find_seed_text_missing_and_unsafe(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="looked in"):
        find_seed_text("999_0000000000000000.txt", tmp_path)
    with pytest.raises(ValueError):
        find_seed_text("../secrets.txt", tmp_path)


# --- the important links --------------------------------------------------------------------------

def _rows(evidence: pl.DataFrame, *, period: int | None = None, **eq: object) -> pl.DataFrame:
    frame = evidence
    for column, wanted in eq.items():
        frame = frame.filter(pl.col(column) == wanted)
    if period is not None:
        frame = frame.filter((pl.col("period_start") == period) & (pl.col("period_end") == period))
    return frame


IMPORTANT_LINKS = [
    # (description, filters)
    ("AI papers 2017 China", dict(indicator="ai_papers", country="CHN", period=2017, value=15199.0)),
    ("AI papers 2017 US", dict(indicator="ai_papers", country="USA", period=2017, value=10287.0)),
    ("top-1% AI papers China", dict(indicator="ai_papers_top1pct", country="CHN", value=1166.0)),
    ("top-1% AI papers US", dict(indicator="ai_papers_top1pct", country="USA", value=1345.0)),
    ("PCT AI patents US share", dict(indicator="ai_patents_pct_share", country="USA", value=41.0, unit="pct")),
    ("PCT AI patents China share", dict(indicator="ai_patents_pct_share", country="CHN", value=10.0, unit="pct")),
    ("US share of world R&D, then", dict(indicator="rd_share_world", country="USA", value=69.0)),
    ("US share of world R&D, now", dict(indicator="rd_share_world", country="USA", value=28.0)),
    ("China R&D intensity 2019", dict(indicator="gerd_pct_gdp", country="CHN", period=2019, value=2.23)),
    ("CSET stay rate", dict(indicator="stay_rate_5yr", country="USA", value=90.0, source_named="CSET (2019 report)")),
    ("CRS stay rate, all", dict(indicator="stay_rate_5yr", country="USA", value=72.0, source_named="CRS (2017 study)")),
    ("CRS stay rate, Chinese", dict(indicator="stay_rate_5yr", country="CHN", value=90.0, source_named="CRS (2017 study)")),
    ("AI VC US", dict(indicator="ai_vc_investment", country="USA", value=16.9, unit="bn_usd")),
    ("AI VC China", dict(indicator="ai_vc_investment", country="CHN", value=13.5, unit="bn_usd")),
    ("TOP500 2019", dict(indicator="top500_systems", country="CHN", period=2019)),
    ("ISO secretariats growth", dict(indicator="standards_secretariats", country="CHN", value=73.0, unit="pct_change")),
    ("IEC secretariats growth", dict(indicator="standards_secretariats", country="CHN", value=67.0, unit="pct_change")),
    ("3GPP seats", dict(indicator="standards_3gpp_seats", country="CHN", value=110.0, unit="seats")),
    ("UN agency heads", dict(indicator="un_agency_heads", country="CHN", value=4.0)),
    ("AIDP 2020 target", dict(indicator="ai_industry_size", country="CHN", period=2020, value=150.0, unit="bn_cny", value_kind="target")),
    ("AIDP 2025 target", dict(indicator="ai_industry_size", country="CHN", period=2025, value=400.0, unit="bn_cny", value_kind="target")),
    ("AIDP 2030 target", dict(indicator="ai_industry_size", country="CHN", period=2030, value=1000.0, unit="bn_cny", value_kind="target")),
    ("2019 industry estimate", dict(indicator="ai_industry_size", country="CHN", period=2019, value=57.0, unit="bn_cny", value_kind="estimate")),
    ("AI financing 2018", dict(indicator="ai_financing", country="CHN", period=2018, value=148.453, unit="bn_cny")),
    ("AI financing 2019", dict(indicator="ai_financing", country="CHN", period=2019, value=96.727, unit="bn_cny")),
    ("AI2 top-10% crossover", dict(indicator="ai_papers_top10pct", country="CHN-USA", period=2020, value=2020.0, unit="year", value_kind="forecast")),
    ("AI2 top-1% crossover", dict(indicator="ai_papers_top1pct", country="CHN-USA", period=2025, value=2025.0, unit="year", value_kind="forecast")),
]


@pytest.mark.parametrize(("description", "filters"), IMPORTANT_LINKS, ids=[d for d, _ in IMPORTANT_LINKS])
def test_important_link_present(evidence: pl.DataFrame, description: str, filters: dict) -> None:
    assert _rows(evidence, **filters).height >= 1, f"missing: {description} {filters}"


def test_ai2_forecast_cited_in_both_seeds(evidence: pl.DataFrame) -> None:
    docs = set(_rows(evidence, indicator="ai_papers_top10pct", value_kind="forecast")["document"].to_list())
    assert docs == {"003_6c04ffc18fb02a06.txt", "004_228ec57d7ec7d8e7.txt"}


def test_seed_typo_flagged_not_corrected(evidence: pl.DataFrame) -> None:
    row = evidence.filter(pl.col("quote").str.contains("260,0000", literal=True))
    assert row.height == 1
    assert row["value"][0] == 2600000.0  # the literal digits, not a guessed correction
    assert "TYPO" in row["notes"][0]


def test_conflicting_aidp_1000bn_readings_kept_side_by_side(evidence: pl.DataFrame) -> None:
    thousand = evidence.filter((pl.col("value") == 1000.0) & (pl.col("unit") == "bn_cny"))
    years = set(thousand["period_end"].to_list())
    assert {2020, 2030} <= years  # L73 says by 2030, L102 says AI-related industry by 2020
    assert thousand.filter(pl.col("notes").str.contains("onflict")).height >= 2


def test_quotes_contain_their_figure_or_say_how(evidence: pl.DataFrame) -> None:
    # every quote carries a digit or a number word, so a reader can see the figure in the words
    number_words = r"(?i)\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|fifty|half|first|second|third|fourth|fifth|sixth|twenty|tens|thirds?|double|twice|triple)\b"
    for eid, quote in evidence.select("evidence_id", "quote").iter_rows():
        assert re.search(r"\d", quote) or re.search(number_words, quote), eid
        assert normalise_ws(quote) == quote, f"{eid}: quote not whitespace-normalised"


# --- citing the seeds ---------------------------------------------------------------------------------

def test_every_cited_document_has_its_citation(evidence: pl.DataFrame) -> None:
    from indicators.evidence import load_seeds

    seeds = load_seeds()
    assert set(evidence["document"].unique()) <= set(seeds)
    for seed in seeds.values():
        assert seed.author and seed.title and 1990 <= seed.year <= 2030 and seed.url_found
        assert seed.url is None or re.match(r"^https?://[^\s]+$", seed.url)


def test_citations_match_the_seeds_own_front_matter(seed_paths: dict[str, Path]) -> None:
    from indicators.evidence import load_seeds

    for document, seed in load_seeds().items():
        head = normalise_ws(" ".join(seed_paths[document].read_text(encoding="utf-8").splitlines()[:120]))
        surname = seed.author.replace(" (ed.)", "").split()[-1]
        assert surname in head, (document, surname)
        if document != "004_228ec57d7ec7d8e7.txt":  # 004's copy has no title line (seeds.yaml says where it is from)
            assert normalise_ws(seed.title).lower().replace("'", "’") in head.lower().replace("'", "’") or \
                normalise_ws(seed.title).lower() in head.lower().replace("*", ""), (document, seed.title)
