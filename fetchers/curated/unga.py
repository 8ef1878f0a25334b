"""UN General Assembly voting (derived per-session closer-to-USA/CHN counts, Bailey–Strezhnev–Voeten) → `unga_states_closer`, `unga_mean_agreement`."""

from __future__ import annotations

import io
from typing import Any

import polars as pl

from fetchers.base import RawPayload
from fetchers.curated.frame import Reading, observation_frame
from fetchers.errors import SchemaDriftError

SOURCE = "unga"
# Session n opens in September of 1945 + n (session 1 met in 1946); the year is the session's opening year.
FIRST_SESSION_YEAR_OFFSET = 1945
# Per pole: (column with the states closer to it, column with the other states' mean agreement with it).
POLES = {
    "USA": ("n_closer_to_USA", "mean_USAgree"),
    "CHN": ("n_closer_to_CHN", "mean_ChinaAgree"),
}


def session_year(session: int) -> int:
    return FIRST_SESSION_YEAR_OFFSET + session


def closer_readings(content: bytes) -> list[Reading]:
    """One row per session → for USA and CHN: states voting closer to it, and mean agreement with it (0–1)."""
    try:
        frame = pl.read_csv(io.BytesIO(content), infer_schema_length=0)
    except pl.exceptions.PolarsError as exc:
        raise SchemaDriftError(f"UNGA closer-to file does not parse: {exc}") from exc
    need = {"session", "n_countries"} | {c for pair in POLES.values() for c in pair}
    if not need <= set(frame.columns):
        raise SchemaDriftError(f"UNGA closer-to file lacks {sorted(need - set(frame.columns))}")
    readings = []
    for row in frame.iter_rows(named=True):
        session = int(row["session"])
        year = session_year(session)
        if "year_start" in row and row["year_start"] not in (None, "") and int(row["year_start"]) != year:
            raise SchemaDriftError(f"UNGA session {session}: year_start {row['year_start']} is not 1945 + session")
        for country, (closer, agreement) in POLES.items():
            n_closer, mean_agree = float(row[closer]), float(row[agreement])
            if not 0.0 <= mean_agree <= 1.0:
                raise SchemaDriftError(f"UNGA session {session}: {agreement} = {mean_agree} is not a share")
            if n_closer > float(row["n_countries"]):
                raise SchemaDriftError(f"UNGA session {session}: {closer} exceeds n_countries")
            series = f"session {session}"
            readings.append(Reading("unga_states_closer", country, year, n_closer, "count", f"{series}:{closer}"))
            readings.append(Reading("unga_mean_agreement", country, year, mean_agree, "share",
                                    f"{series}:{agreement}"))
    return readings


def parse_unga_closer(payload: RawPayload, options: dict[str, Any]) -> pl.DataFrame:
    if options:
        raise SchemaDriftError(f"curated.unga_closer takes no options, got {sorted(options)}")
    return observation_frame(closer_readings(payload.content), payload)
