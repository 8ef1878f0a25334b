"""Source status rows, forecast freshness and schema drift → the problems a monitor should alert on (one line each).

- a source whose last run failed, or was interrupted (its process is gone, or it has not beaten for the lease);
- a source that never ran (every live and curated source of the registry is expected to have run once);
- data older than its source's cadence allows (judged by the data — the newest year and the provider's release
  date — never by when the data were last fetched: loading the embedded snapshot is not a fresh fetch);
- official forecasts older than the data they should reflect;
- the live schema drifting from what this code expects (a view dropped by hand, a missing column).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from contracts.records import STALE_CADENCES, is_stale
from db.locks import DEFAULT_LEASE_S, holder_gone


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0][:200] if (text or "").strip() else ""


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def stale_or_failed(sources: list[dict[str, Any]], *, now: datetime | None = None, expected: Iterable[str] = (),
                    lease_s: float = DEFAULT_LEASE_S) -> list[str]:  # fmt: skip
    now = now or datetime.now(timezone.utc)
    problems = []
    if not sources:
        return ["no source has ever been fetched: run `aitrack refresh` (or `aitrack refresh --offline`)"]
    for s in sources:
        if s["status"] == "failed":
            problems.append(f"{s['source']}: last run failed: {_first_line(s['error'])}")
            continue
        if s["status"] == "running":
            beat = _when(s.get("heartbeat_at")) or _when(s.get("last_run"))
            if holder_gone(s.get("host"), s.get("pid"), None, beat, lease_s, now):
                problems.append(
                    f"{s['source']}: the run started {s.get('last_run')} was interrupted (its process "
                    f"{s.get('pid')} on {s.get('host')} is gone or silent since {beat})"
                )
            continue
        if not s["last_success"]:
            problems.append(f"{s['source']}: never fetched successfully")
            continue
        problems += data_age_problems(s, now)
    seen = {s["source"] for s in sources}
    for source in expected:
        if source not in seen:
            problems.append(f"{source}: never ran (run `aitrack refresh` or `aitrack refresh --offline`)")
    return problems


def _release_date(vintage: str | None) -> datetime | None:
    """The provider's release date of a vintage (`2026-07-13`, `2026-07-13#…` for a same-day revision)."""
    try:
        return datetime.fromisoformat((vintage or "")[:10]).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def data_age_problems(source: dict[str, Any], now: datetime) -> list[str]:
    """The source's data are too old for its cadence: its newest year (contracts.records.is_stale) or its newest
    release date older than STALE_CADENCES cadences."""
    cadence = source.get("cadence_days") or 365
    problems = []
    year = source.get("newest_year")
    if year is not None and is_stale(int(year), cadence, now.year):
        problems.append(f"{source['source']}: newest data are for {year}, older than its cadence of {cadence} days "
                        f"allows in {now.year}")  # fmt: skip
    released = _release_date(source.get("newest_vintage"))
    if released is not None and (now - released).days > STALE_CADENCES * cadence:
        problems.append(f"{source['source']}: newest release {released:%Y-%m-%d} is {(now - released).days} days old "
                        f"(cadence {cadence} days)")  # fmt: skip
    return problems


def forecast_problems(freshness: dict[str, Any]) -> list[str]:
    """Official forecasts made before the stored data last changed."""
    run_at, changed_at = freshness.get("official_run_at"), freshness.get("data_changed_at")
    if run_at is None or changed_at is None or run_at >= changed_at:
        return []
    return [
        f"official forecasts (run {freshness['official_run']} at {run_at:%Y-%m-%d %H:%M} UTC) are older than the data "
        f"({freshness['data_changed_by']} changed it at {changed_at:%Y-%m-%d %H:%M} UTC): run "
        "`aitrack refresh --then-forecast` or `aitrack forecast --publish`"
    ]


def drift_problems(lines: list[str]) -> list[str]:
    return [f"schema drift: {line} (see `aitrack db check`)" for line in lines]
