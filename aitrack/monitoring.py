"""Source status rows → the problems a monitor should alert on (a failed last run, data staler than its cadence)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def stale_or_failed(sources: list[dict[str, Any]], *, now: datetime | None = None) -> list[str]:
    now = now or datetime.now(timezone.utc)
    problems = []
    if not sources:
        return ["no source has ever been fetched: run `aitrack refresh` (or `aitrack refresh --offline`)"]
    for s in sources:
        if s["status"] == "failed":
            problems.append(f"{s['source']}: last run failed: {(s['error'] or '').splitlines()[0][:200]}")
            continue
        if not s["last_success"]:
            problems.append(f"{s['source']}: never fetched successfully")
            continue
        age_days = (now - datetime.fromisoformat(s["last_success"])).total_seconds() / 86400
        cadence = s["cadence_days"] or 365
        if age_days > cadence:
            problems.append(f"{s['source']}: last successful fetch {age_days:.0f} days ago, cadence {cadence} days")
    return problems
