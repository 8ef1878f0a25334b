"""UN General Assembly voting: derived closer-to counts per session → USA/CHN rows; year = 1945 + session."""

from __future__ import annotations

import csv

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fetchers.curated import unga
from fetchers.errors import SchemaDriftError

from .conftest import parse_snapshot_file, shared_file, snapshot_payload, value, with_content

FILE = "derived_unga_closer_to_usa_vs_chn_by_session.csv"


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return parse_snapshot_file("unga", FILE)


@pytest.mark.parametrize("session,year,closer_chn,closer_usa", [(75, 2020, 183, 8), (77, 2022, 136, 54),
                                                                 (78, 2023, 137, 53)])
def test_values_stated_in_sources_md(frame, session, year, closer_chn, closer_usa):
    assert unga.session_year(session) == year
    assert value(frame, "unga_states_closer", "CHN", year) == closer_chn
    assert value(frame, "unga_states_closer", "USA", year) == closer_usa


def test_sessions_26_to_78_become_1971_to_2023(frame):
    assert frame["year"].min() == 1971 and frame["year"].max() == 2023
    assert set(frame["country"]) == {"USA", "CHN"}


def test_mean_agreement_is_a_share(frame):
    agreement = frame.filter(pl.col("indicator") == "unga_mean_agreement")
    assert agreement["value"].is_between(0, 1).all()
    assert set(agreement["unit"]) == {"share"}


def test_a_year_start_that_is_not_1945_plus_session_is_drift():
    payload = snapshot_payload("unga", FILE)
    shifted = payload.content.replace(b"\n75,2020,", b"\n75,2021,", 1)
    assert shifted != payload.content
    with pytest.raises(SchemaDriftError, match="session 75"):
        unga.parse_unga_closer(with_content(payload, shifted), {})


def test_derived_counts_match_the_ideal_point_file(frame):
    """Recompute session 78 from the June 2024 Voeten file: the derived file must say the same."""
    path = shared_file("un_voting", "IdealpointestimatesAll_Jun2024.csv")
    closer_usa = closer_chn = 0
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["session"] != "78" or row["iso3c"] in ("USA", "CHN"):
                continue
            if row["USAgree"] in ("NA", "") or row["ChinaAgree"] in ("NA", ""):
                continue
            us, cn = float(row["USAgree"]), float(row["ChinaAgree"])
            closer_usa += us > cn
            closer_chn += cn > us
    assert value(frame, "unga_states_closer", "USA", 2023) == closer_usa
    assert value(frame, "unga_states_closer", "CHN", 2023) == closer_chn


@given(st.integers(min_value=1, max_value=300))
def test_session_year_is_the_opening_year(session):
    assert unga.session_year(session) - unga.session_year(1) == session - 1
    assert unga.session_year(1) == 1946
