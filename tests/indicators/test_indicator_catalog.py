"""The catalog: the packaged file validates and holds the agreed vocabulary; a malformed file fails naming entry and field."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from contracts.units import UNITS
import yaml

from indicators.catalog import CATALOG_PATH, UNIT_SCALES, CatalogError, load_catalog, parse_catalog

# The indicator vocabulary fetchers emit (agreed project-wide); the catalog must define every one.
AGREED_IDS = """
ai_papers ai_works_openalex ai_works_openalex_legacy dl_works_openalex_legacy ai_papers_top1pct ai_papers_top10pct
ai_papers_intl_coauthored ai_papers_us_china_coauthored ai_author_inflow ai_patent_applications ai_patent_families_ip5
ai_patents_granted gerd_pct_gdp goverd_pct_gdp herd_pct_gdp gerd_ppp_usd researchers_per_million researchers_fte
doctorates_temp_visa_china stay_rate_5yr stay_intention_rate chinese_students_us ai_private_investment
ai_private_investment_quid ai_vc_investment ai_vc_investment_ncses ai_vc_companies notable_ai_models
large_scale_ai_systems top500_systems top500_rmax_share gdp_usd gdp_ppp_usd gdp_per_capita_usd population
hightech_exports ip_receipts kti_exports kti_value_added ict_manufacturing_value_added it_services_value_added
unga_states_closer unga_mean_agreement favourability liberal_democracy electoral_democracy freedom_house_total
ai_bills_passed
""".split()
EVIDENCE_ONLY_IDS = """
ai_patents_pct_share rd_share_world ai_industry_size ai_financing approval_leadership ai_firms_count ai_talent_count
standards_secretariats standards_3gpp_seats un_agency_heads unga_agreement
""".split()
DERIVED_IDS = [
    "states_closer_democracy", "population_closer_democracy", "states_closer_freedom", "gerd_usd", "ai_papers_per_million",
]


def _document() -> dict:
    return yaml.safe_load(CATALOG_PATH.read_text(encoding="utf-8"))


def test_packaged_catalog_defines_the_agreed_vocabulary(catalog):
    missing = [i for i in AGREED_IDS + EVIDENCE_ONLY_IDS + DERIVED_IDS if i not in catalog]
    assert missing == []
    assert all(catalog.get(i).evidence_only for i in EVIDENCE_ONLY_IDS)
    with_series = [e for e in catalog if not e.evidence_only]
    assert len(with_series) >= 30


def test_units_follow_the_agreed_table(catalog):
    expected = {
        "ai_papers": "count", "gerd_pct_gdp": "pct_gdp", "gerd_ppp_usd": "usd_ppp_million",
        "researchers_per_million": "per_million", "stay_rate_5yr": "pct", "ai_private_investment": "usd_const",
        "ai_private_investment_quid": "usd", "ai_vc_investment": "usd_million", "gdp_ppp_usd": "usd_ppp",
        "population": "people", "unga_mean_agreement": "share", "liberal_democracy": "score",
        "freedom_house_total": "score", "top500_rmax_share": "pct",
    }
    assert {i: catalog.get(i).unit for i in expected} == expected


def test_forecast_scale_matches_unit(catalog):
    for entry in catalog:
        if entry.evidence_only:
            continue
        scale, bounds = UNIT_SCALES[entry.unit]
        if entry.unit == "score" and entry.forecast_scale == "logit":
            # A score with a known range (V-Dem's [0, 1]) is forecast on logit so its paths stay inside it.
            assert entry.bounds is not None and entry.bounds[0] < entry.bounds[1], entry.id
            continue
        assert entry.forecast_scale == scale, entry.id
        if bounds is None and entry.bounds is not None:
            # A count of a fixed universe (the TOP500 list, UN members) or a score with a range carries its own
            # hard bounds, inside the unit's range.
            low, high = entry.bounds
            assert low is not None and high is not None and low < high, entry.id
            assert UNITS[entry.unit].lower is None or low >= UNITS[entry.unit].lower, entry.id
            continue
        assert (tuple(entry.bounds) if entry.bounds else None) == bounds, entry.id


def test_comparison_kinds(catalog):
    assert catalog.get("ai_papers_us_china_coauthored").comparison == "bilateral"
    for single in ("favourability", "stay_rate_5yr", "doctorates_temp_visa_china", "chinese_students_us"):
        assert catalog.get(single).comparison == "single_country"


def test_source_priority_keeps_catalog_order(catalog):
    assert catalog.source_priority("gerd_pct_gdp") == ["oecd", "worldbank"]
    assert catalog.source_priority("ai_papers_intl_coauthored") == ["openalex", "ncses"]
    assert catalog.source_priority("states_closer_democracy") == ["aitrack"]


@pytest.mark.parametrize(
    ("indicator", "phrase"),
    [
        ("ai_papers", "Chinese-language"),
        ("ai_works_openalex", "Chinese-language"),
        ("ai_patent_applications", "L939-942"),
        ("ai_patents_granted", "not quality"),
        ("top500_systems", "after 2019"),
        ("top500_rmax_share", "after 2019"),
        ("notable_ai_models", "anonymises"),
        ("large_scale_ai_systems", "anonymises"),
        ("ai_vc_companies", "seed 000 L125-127"),
        ("ai_firms_count", "seed 000 L125-127"),
        ("favourability", "No matching series"),
    ],
)
def test_caveats_reach_the_entries_that_need_them(catalog, indicator, phrase):
    assert any(phrase in caveat for caveat in catalog.get(indicator).caveats)


def test_dimension_membership(catalog):
    for name, spec in catalog.dimensions.items():
        weights = catalog.dimension_weights(name)
        assert weights, name
        assert all(w > 0 for w in weights.values())
        for indicator in weights:
            assert catalog.get(indicator).comparison == "pair"
        for gap in spec.gaps:
            assert gap not in weights
    assert set(catalog.dimension_weights("values")) == {
        "states_closer_democracy", "population_closer_democracy", "states_closer_freedom"
    }
    assert set(catalog.dimension_weights("legitimacy")) == {"unga_states_closer", "unga_mean_agreement"}


def test_concentration_follows_the_documented_rule(catalog):
    # docs/methodology.md: concentration 4(k-1), so an average weight has a coefficient of variation near 0.5.
    for name, spec in catalog.dimensions.items():
        k = len(catalog.dimension_weights(name))
        assert spec.dirichlet_concentration == max(4 * (k - 1), 1), name


def _entry(document: dict, indicator: str) -> dict:
    return next(e for e in document["indicators"] if e["id"] == indicator)


def _drop(field):
    def mutate(doc):
        del _entry(doc, "gerd_pct_gdp")[field]
    return mutate


def _set(field, value, indicator="gerd_pct_gdp"):
    def mutate(doc):
        _entry(doc, indicator)[field] = value
    return mutate


def test_a_source_the_registry_does_not_know_fails_naming_entry_and_field(tmp_path):
    """The catalog names sources by id; the check against fetchers.registry runs where both are loaded."""
    from fetchers.registry import OBSERVATION_SOURCE_IDS
    from indicators.catalog import check_sources

    document = copy.deepcopy(_document())
    _set("sources", [{"source": "gallup", "series": "x"}])(document)
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    catalog = load_catalog(path)
    with pytest.raises(CatalogError) as caught:
        check_sources(catalog, OBSERVATION_SOURCE_IDS)
    assert "gallup" in str(caught.value) and caught.value.entry == "gerd_pct_gdp" and caught.value.field == "sources"
    check_sources(load_catalog(), OBSERVATION_SOURCE_IDS)  # the packaged catalog names only registered sources


@pytest.mark.parametrize(
    ("mutate", "entry", "field"),
    [
        (_drop("unit"), "gerd_pct_gdp", "unit"),
        (_set("unit", "furlongs"), "gerd_pct_gdp", "unit"),
        (_set("direction", "up"), "gerd_pct_gdp", "direction"),
        (_set("category", "sports"), "gerd_pct_gdp", "category"),
        (_set("dimensions", {"cohesion": -1.0}), "gerd_pct_gdp", "dimensions"),
        (_set("dimensions", {"prestige": 1.0}), "gerd_pct_gdp", "dimensions"),
        (_set("bounds", None), "gerd_pct_gdp", "bounds"),
        (_set("cadence_days", 0), "gerd_pct_gdp", "cadence_days"),
        (_set("colour", "red"), "gerd_pct_gdp", "colour"),
        (_set("sources", []), "gerd_pct_gdp", "sources"),
        (_set("dimensions", {"legitimacy": 1.0}, "favourability"), "favourability", "dimensions"),
        (_set("derived_from", ["no_such_series"], "gerd_usd"), "gerd_usd", "derived_from"),
        (_set("derived_from", None, "gerd_usd"), "gerd_usd", "derived_from"),
        (_set("sources", [{"source": "worldbank", "series": "X"}], "ai_financing"), "ai_financing", "sources"),
    ],
)
def test_malformed_entry_fails_naming_entry_and_field(tmp_path, mutate, entry, field):
    document = copy.deepcopy(_document())
    mutate(document)
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    message = str(caught.value)
    assert entry in message and field in message, message
    assert caught.value.entry == entry
    assert caught.value.field.split(".")[0] == field


def test_duplicate_id_is_named():
    document = copy.deepcopy(_document())
    document["indicators"].append(copy.deepcopy(_entry(document, "gdp_usd")))
    with pytest.raises(CatalogError, match=r"gdp_usd: id: duplicate"):
        parse_catalog(document)


def test_dimension_config_errors_are_named():
    document = copy.deepcopy(_document())
    document["dimensions"]["values"]["coverage_threshold"] = 1.5
    with pytest.raises(CatalogError, match=r"dimension values: coverage_threshold"):
        parse_catalog(document)
    document = copy.deepcopy(_document())
    document["dimensions"]["cohesion"]["gaps"].append("ai_papers")
    with pytest.raises(CatalogError, match=r"dimension cohesion: gaps"):
        parse_catalog(document)
    document = copy.deepcopy(_document())
    del document["dimensions"]["influence"]
    with pytest.raises(CatalogError, match=r"dimensions"):
        parse_catalog(document)


def test_yaml_syntax_error_is_a_catalog_error(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text("dimensions: [unclosed\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="not valid YAML"):
        load_catalog(path)


@pytest.mark.parametrize(
    ("unit", "scale", "bounds"),
    [("pct", "logit", (0.0, 100.0)), ("share", "logit", (0.0, 1.0)), ("count", "log", (0.0, None)),
     ("score", "level", None), ("parsecs", "level", None)],
)
def test_register_user_indicator(unit, scale, bounds):
    catalog = load_catalog()
    entry = catalog.register_user_indicator("analyst_series", unit)
    assert (entry.forecast_scale, entry.bounds, entry.comparison) == (scale, bounds, "pair")
    assert catalog.get("analyst_series") is entry
    assert catalog.source_priority("analyst_series") == ["user"]
    assert entry.dimensions == {}
    # Registering again with the same unit is idempotent; a different unit is refused.
    assert catalog.register_user_indicator("analyst_series", unit) is entry
    with pytest.raises(CatalogError, match="analyst_series: unit"):
        catalog.register_user_indicator("analyst_series", "usd" if unit != "usd" else "count")


def test_register_user_indicator_takes_a_stated_scale_and_bounds():
    entry = load_catalog().register_user_indicator("analyst_share", "points", scale="logit", bounds=(0.0, 10.0))
    assert (entry.forecast_scale, entry.bounds, entry.scale_fixed) == ("logit", (0.0, 10.0), True)
    with pytest.raises(CatalogError, match="bounds"):
        load_catalog().register_user_indicator("analyst_bad", "points", scale="logit", bounds=(0.0, None))


def test_the_packaged_catalog_still_refuses_unknown_units():
    document = copy.deepcopy(_document())
    document["indicators"][0]["unit"] = "parsecs"
    with pytest.raises(CatalogError, match="unit"):
        parse_catalog(document)


def test_register_user_indicator_rejects_bad_ids():
    catalog = load_catalog()
    with pytest.raises(CatalogError, match="Bad-Id: id"):
        catalog.register_user_indicator("Bad-Id", "count")
    with pytest.raises(CatalogError, match="gdp_usd: unit"):
        catalog.register_user_indicator("gdp_usd", "count")


def test_methodology_documents_every_weight_and_gap(catalog):
    text = (Path(__file__).resolve().parents[2] / "docs" / "methodology.md").read_text(encoding="utf-8")
    for name, spec in catalog.dimensions.items():
        for indicator in catalog.dimension_weights(name):
            assert f"`{indicator}`" in text, f"{indicator} ({name}) is weighted but not documented"
        for gap in spec.gaps:
            assert gap in text, f"{gap} is a {name} gap but not documented"
    assert "0.5" in text and "coverage_threshold" in text
    assert "c = 4(k − 1)" in text  # the concentration rule (its values follow the member counts)
