"""The seed evidence catalogue: every quantitative figure the three seed documents cite.

`seed_evidence.csv` (next to this file) holds one row per figure with its seed file, line and
verbatim quote; `load_seed_evidence()` reads it into a typed polars DataFrame and fails loudly on a
malformed row. `find_seed_text()` locates the seed documents themselves so a quote can be checked
against its line (`verify_quote()`). See README.md in this folder for the column definitions.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import polars as pl

EVIDENCE_CSV: Path = Path(__file__).with_name("seed_evidence.csv")
REPO_ROOT: Path = Path(__file__).resolve().parents[2]
SEEDS_ENV_VAR = "AITRACK_SEEDS_DIR"

COLUMNS: tuple[str, ...] = (
    "evidence_id", "document", "line", "quote", "indicator", "country", "period_start",
    "period_end", "value", "unit", "value_kind", "source_named", "notes",
)
VALUE_KINDS: frozenset[str] = frozenset({"measured", "estimate", "target", "pledge", "forecast", "claim"})
ALLOWED_INDICATORS: frozenset[str] = frozenset({
    "ai_papers", "ai_papers_top1pct", "ai_papers_top10pct", "ai_papers_intl_coauthored",
    "ai_patent_applications", "ai_patent_families_ip5", "ai_patents_granted", "ai_patents_pct_share",
    "gerd_pct_gdp", "gerd_ppp_usd", "rd_share_world", "researchers_per_million",
    "doctorates_temp_visa_china", "stay_rate_5yr", "chinese_students_us", "ai_private_investment",
    "ai_vc_investment", "ai_industry_size", "ai_financing", "notable_ai_models", "large_scale_ai_systems",
    "top500_systems", "top500_rmax_share", "gdp_usd", "gdp_ppp_usd", "kti_exports", "hightech_exports",
    "standards_secretariats", "standards_3gpp_seats", "un_agency_heads", "unga_agreement",
    "approval_leadership", "favourability", "ai_firms_count", "ai_talent_count",
})
UNCATALOGUED = "uncatalogued"
QUOTE_WINDOW = 3  # a quote must occur within [line - 3, line + 3]

SCHEMA: dict[str, pl.DataType] = {
    "evidence_id": pl.Utf8(),
    "document": pl.Utf8(),
    "line": pl.Int64(),
    "quote": pl.Utf8(),
    "indicator": pl.Utf8(),
    "country": pl.Utf8(),
    "period_start": pl.Int64(),
    "period_end": pl.Int64(),
    "value": pl.Float64(),
    "unit": pl.Utf8(),
    "value_kind": pl.Utf8(),
    "source_named": pl.Utf8(),
    "notes": pl.Utf8(),
}

_EVIDENCE_ID = re.compile(r"^e\d{4,}$")
_COUNTRY = re.compile(r"^(?:[A-Z]{3}|[A-Z]{3}-[A-Z]{3})$")
_DOCUMENT = re.compile(r"^[0-9]{3}_[0-9a-f]{16}\.txt$")


def _int_or_none(raw: str, column: str, where: str) -> int | None:
    if raw.strip() == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{where}: {column} must be an integer year or empty, got {raw!r}") from None


def _parse_row(raw: dict[str, str], where: str) -> dict[str, object]:
    eid = raw["evidence_id"].strip()
    if not _EVIDENCE_ID.match(eid):
        raise ValueError(f"{where}: evidence_id must look like e0001, got {eid!r}")
    document = raw["document"].strip()
    if not document:
        raise ValueError(f"{where}: document is missing")
    if not _DOCUMENT.match(document):
        raise ValueError(f"{where}: document must be a seed file name like 004_228ec57d7ec7d8e7.txt, got {document!r}")
    try:
        line = int(raw["line"])
    except ValueError:
        raise ValueError(f"{where}: line must be a positive integer, got {raw['line']!r}") from None
    if line < 1:
        raise ValueError(f"{where}: line must be a positive integer, got {line}")
    quote = raw["quote"]
    if not quote.strip():
        raise ValueError(f"{where}: quote is missing")
    indicator = raw["indicator"].strip()
    if indicator != UNCATALOGUED and indicator not in ALLOWED_INDICATORS:
        raise ValueError(f"{where}: indicator {indicator!r} is neither a catalogued id nor {UNCATALOGUED!r}")
    country = raw["country"].strip()
    if country and not _COUNTRY.match(country):
        raise ValueError(f"{where}: country must be ISO3, a pair like CHN-USA, or empty, got {country!r}")
    period_start = _int_or_none(raw["period_start"], "period_start", where)
    period_end = _int_or_none(raw["period_end"], "period_end", where)
    if period_start is not None and period_end is not None and period_start > period_end:
        raise ValueError(f"{where}: period_start {period_start} is after period_end {period_end}")
    try:
        value = float(raw["value"])
    except ValueError:
        raise ValueError(f"{where}: value must be a plain number, got {raw['value']!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{where}: value must be finite, got {raw['value']!r}")
    unit = raw["unit"].strip()
    if not unit:
        raise ValueError(f"{where}: unit is missing")
    kind = raw["value_kind"].strip()
    if kind not in VALUE_KINDS:
        raise ValueError(f"{where}: value_kind {kind!r} is not one of {sorted(VALUE_KINDS)}")
    return {
        "evidence_id": eid, "document": document, "line": line, "quote": quote, "indicator": indicator,
        "country": country or None, "period_start": period_start, "period_end": period_end, "value": value,
        "unit": unit, "value_kind": kind, "source_named": raw["source_named"].strip() or None,
        "notes": raw["notes"].strip() or None,
    }


def load_seed_evidence(path: Path | str | None = None) -> pl.DataFrame:
    """Read the evidence CSV into a typed DataFrame; a malformed row raises ValueError naming it."""
    path = Path(path) if path is not None else EVIDENCE_CSV
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header = tuple(reader.fieldnames or ())
        if header != COLUMNS:
            raise ValueError(f"{path.name}: header must be {','.join(COLUMNS)}, got {','.join(header)}")
        rows: list[dict[str, object]] = []
        seen: dict[str, int] = {}
        for raw in reader:
            # reader.line_num is the physical line the record ended on (quotes never span lines here)
            where = f"{path.name} row {len(rows) + 1} (line {reader.line_num}, {raw.get('evidence_id') or '?'})"
            if None in raw or any(v is None for v in raw.values()):
                raise ValueError(f"{where}: expected {len(COLUMNS)} fields")
            row = _parse_row(raw, where)
            eid = str(row["evidence_id"])
            if eid in seen:
                raise ValueError(f"{where}: duplicate evidence_id {eid} (first at row {seen[eid]})")
            seen[eid] = len(rows) + 1
            rows.append(row)
    return pl.DataFrame(rows, schema=SCHEMA, orient="row") if rows else pl.DataFrame(schema=SCHEMA)


# --- the seed documents ---------------------------------------------------------------------------

def seed_dir_candidates(seeds_dir: Path | str | None = None) -> list[Path]:
    """Where the seed texts are looked for, in order.

    An explicit `seeds_dir` is the only candidate. Otherwise: $AITRACK_SEEDS_DIR (if set), then
    `<repo>/../shared/seeds`, then `<repo>/data/snapshot/seeds` (where a snapshot may ship copies).
    """
    if seeds_dir is not None:
        return [Path(seeds_dir)]
    candidates: list[Path] = []
    env = os.environ.get(SEEDS_ENV_VAR, "").strip()
    if env:
        candidates.append(Path(env))
    candidates.append(REPO_ROOT.parent / "shared" / "seeds")
    candidates.append(REPO_ROOT / "data" / "snapshot" / "seeds")
    return candidates


def find_seed_text(document: str, seeds_dir: Path | str | None = None) -> Path:
    """The path of seed file `document` (a bare file name); FileNotFoundError lists where it looked."""
    name = Path(document).name
    if not name or name != document:
        raise ValueError(f"document must be a bare seed file name, got {document!r}")
    tried = []
    for directory in seed_dir_candidates(seeds_dir):
        candidate = directory / name
        if candidate.is_file():
            return candidate
        tried.append(str(candidate))
    raise FileNotFoundError(f"seed document {name} not found; looked in: {', '.join(tried)}")


def find_seeds_dir(seeds_dir: Path | str | None = None) -> Path | None:
    """The first candidate directory that exists, or None."""
    return next((d for d in seed_dir_candidates(seeds_dir) if d.is_dir()), None)


def normalise_ws(text: str) -> str:
    """Collapse every run of whitespace (spaces, tabs, line breaks) to one space and strip."""
    return re.sub(r"\s+", " ", text).strip()


def quote_window(lines: list[str], line: int, window: int = QUOTE_WINDOW) -> str:
    """Lines [line - window, line + window] (1-based, clipped) joined by spaces, whitespace-normalised."""
    lo = max(1, line - window)
    return normalise_ws(" ".join(lines[lo - 1 : line + window]))


def verify_quote(document: str, line: int, quote: str, seeds_dir: Path | str | None = None) -> bool:
    """True when `quote` (whitespace-normalised, case-sensitive) occurs within ±3 lines of `line`."""
    lines = find_seed_text(document, seeds_dir).read_text(encoding="utf-8").splitlines()
    if not 1 <= line <= len(lines):
        return False
    return normalise_ws(quote) in quote_window(lines, line)


def iter_quote_problems(frame: pl.DataFrame, seeds_dir: Path | str | None = None) -> Iterator[str]:
    """Yield one message per row whose document is missing, line out of range, or quote not found."""
    cache: dict[str, list[str]] = {}
    for row in frame.iter_rows(named=True):
        doc = row["document"]
        if doc not in cache:
            try:
                cache[doc] = find_seed_text(doc, seeds_dir).read_text(encoding="utf-8").splitlines()
            except FileNotFoundError as exc:
                yield f"{row['evidence_id']}: {exc}"
                continue
        lines = cache[doc]
        if not 1 <= row["line"] <= len(lines):
            yield f"{row['evidence_id']}: line {row['line']} out of range 1..{len(lines)} in {doc}"
        elif normalise_ws(row["quote"]) not in quote_window(lines, row["line"]):
            yield f"{row['evidence_id']}: quote {row['quote']!r} not within ±{QUOTE_WINDOW} lines of {doc}:{row['line']}"




# --- citing the seeds ------------------------------------------------------------------------------

SEEDS_YAML: Path = Path(__file__).with_name("seeds.yaml")


@dataclass(frozen=True)
class SeedDocument:
    """A seed document as a reader can find it: from its front matter, with a public URL (None if not found)."""

    document: str
    author: str
    title: str
    year: int
    publisher: str
    url: str | None
    url_found: str

    def citation(self, line: int | None = None) -> str:
        """'Jinghan Zeng (2020), "China's Artificial Intelligence Innovation…", Global Policy …, line 71'."""
        where = f", line {line}" if line is not None else ""
        return f"{self.author} ({self.year}), \u201c{self.title}\u201d, {self.publisher}{where}"


@lru_cache(maxsize=1)
def load_seeds(path: Path | str | None = None) -> dict[str, SeedDocument]:
    """seeds.yaml → {document file name: SeedDocument}; ValueError naming the entry on a missing field."""
    from contracts import yamltext

    raw = yamltext.safe_load(Path(path or SEEDS_YAML).read_text(encoding="utf-8")) or {}
    out = {}
    for document, fields in raw.items():
        missing = [k for k in ("author", "title", "year", "publisher", "url", "url_found") if k not in (fields or {})]
        if missing or not _DOCUMENT.match(document):
            raise ValueError(f"seeds.yaml: entry {document!r} lacks {', '.join(missing) or 'a seed file name'}")
        out[document] = SeedDocument(document=document, **{k: fields[k] for k in (
            "author", "title", "year", "publisher", "url", "url_found")})  # fmt: skip
    return out


__all__ = [
    "ALLOWED_INDICATORS", "COLUMNS", "EVIDENCE_CSV", "SCHEMA", "SEEDS_ENV_VAR", "SEEDS_YAML", "UNCATALOGUED",
    "VALUE_KINDS", "SeedDocument", "find_seed_text", "find_seeds_dir", "iter_quote_problems", "load_seed_evidence",
    "load_seeds", "normalise_ws", "quote_window", "seed_dir_candidates", "verify_quote",
]
