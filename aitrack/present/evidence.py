"""Stored seed-evidence rows in, the same rows with their seed cited (author, title, year, public URL, locator) out.

The database keeps the seed's file name (`document`) and `line`; readers do not have our copies, so every surface
(CLI, API, dashboard, report, Tracker) shows the citation from `indicators/evidence/seeds.yaml` beside it.
"""

from __future__ import annotations

import polars as pl

from db.read import EVIDENCE_SCHEMA
from indicators.evidence import load_seeds

SEED_SCHEMA: dict[str, pl.DataType] = {
    "seed_author": pl.String(), "seed_title": pl.String(), "seed_year": pl.Int64(), "seed_url": pl.String(),
    "locator": pl.String(),
}  # fmt: skip
SCHEMA: dict[str, pl.DataType] = {**EVIDENCE_SCHEMA, **SEED_SCHEMA}
COLUMNS: tuple[str, ...] = tuple(SCHEMA)


def with_citations(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` (EVIDENCE_SCHEMA) with the seed citation columns; a document without metadata keeps them null."""
    seeds = load_seeds()
    table = pl.DataFrame(
        {
            "document": list(seeds),
            "seed_author": [s.author for s in seeds.values()],
            "seed_title": [s.title for s in seeds.values()],
            "seed_year": [s.year for s in seeds.values()],
            "seed_url": [s.url for s in seeds.values()],
        },
        schema={"document": pl.String(), **{k: v for k, v in SEED_SCHEMA.items() if k != "locator"}},
    )
    out = frame.join(table, on="document", how="left", maintain_order="left")
    out = out.with_columns(
        pl.when(pl.col("line").is_not_null()).then(pl.format("line {}", pl.col("line"))).alias("locator")
    )
    return out.select(list(COLUMNS))


def citation_text(row: dict) -> str:
    """'Jinghan Zeng (2020), “China's Artificial Intelligence Innovation…”, Global Policy …, line 71'."""
    seed = load_seeds().get(row["document"])
    if seed is None:
        return f"{row['document']}, line {row['line']}"
    return seed.citation(row.get("line"))
