"""The real-pipeline slice database in, the crossover presentation's golden files out:
`python -m tests.golden.regen_crossover_presentation`.

`crossover_records.json` holds the stored crossover records of one subject per status (as `forecasts/` produced them
from the snapshot series of tests/realdb.py); `crossover_presentation.json` holds what `aitrack.present.crossovers`
makes of them: the data row every surface serves and the text cells the CLI table and the dashboard overview print.
Re-run this when the forecasting engine changes (the records change); the test then pins the presentation again.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from aitrack.jobs.catalog import current_catalog
from aitrack.present import crossovers
from aitrack.present.tabular import plain
from db.read import Reader
from db.session import make_engine
from tests.realdb import build_real_db

HERE = Path(__file__).parent
RECORDS = HERE / "crossover_records.json"
PRESENTATION = HERE / "crossover_presentation.json"
# One subject per status the slice produces (likely_crossed joins when the round-2 engine reports it).
SUBJECTS = {"ai_papers": "already_crossed", "large_scale_ai_systems": "projected",
            "gerd_pct_gdp": "not_within_horizon", "ai_bills_passed": "insufficient_data",
            "legitimacy": "already_crossed"}  # fmt: skip


def golden_rows(views: list[crossovers.CrossoverView]) -> list[dict]:
    _, cells = crossovers.display_table(views)
    return [{"row": plain(v.as_dict()), "cells": c} for v, c in zip(views, cells)]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'golden.db'}")
        try:
            build_real_db(engine)
            reader = Reader(engine)
            records = [cx for cx in reader.crossovers() if cx.subject in SUBJECTS]
            got = {cx.subject: cx.status for cx in records}
            if got != SUBJECTS:
                print(f"warning: the statuses changed: {got}")
            views = crossovers.load(reader, current_catalog(reader), records)
        finally:
            engine.dispose()
    stored = {"records": [plain(cx.as_dict()) for cx in records],
              "run_times": {v.run_id: plain(v.run_created_at) for v in views if v.run_id}}  # fmt: skip
    RECORDS.write_text(json.dumps(stored, indent=1, ensure_ascii=False) + "\n")
    PRESENTATION.write_text(json.dumps(golden_rows(views), indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {RECORDS} and {PRESENTATION}: {got}")


if __name__ == "__main__":
    main()
