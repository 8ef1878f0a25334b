"""Forecast and crossover tables: a polars frame or a list of records in, text (table, csv, json, md) or parquet bytes out."""

from __future__ import annotations

import io
import json
import math
from typing import Literal

import polars as pl

TableFormat = Literal["table", "csv", "json", "md", "parquet"]
FORMATS = ("table", "csv", "json", "md", "parquet")


def _flatten(record: dict) -> dict:
    """Nested mappings (p_by) become one column per key — p_by_2030 — for the tabular formats;
    lists become '; '-joined text."""
    flat: dict = {}
    for key, value in record.items():
        if isinstance(value, dict):
            for inner, inner_value in value.items():
                flat[f"{key}_{inner}"] = inner_value
        elif isinstance(value, (list, tuple)):
            flat[key] = "; ".join(str(v) for v in value)
        else:
            flat[key] = value
    return flat


def _records(data: pl.DataFrame | list[dict]) -> list[dict]:
    if isinstance(data, pl.DataFrame):
        return data.to_dicts()
    return [dict(r) for r in data]


def _frame(data: pl.DataFrame | list[dict]) -> pl.DataFrame:
    if isinstance(data, pl.DataFrame):
        return data
    records = [_flatten(r) for r in data]
    columns: list[str] = []
    for record in records:
        columns += [c for c in record if c not in columns]
    # Rows may lack keys others have (p_by years differ by horizon): fill with None.
    return pl.DataFrame([{c: r.get(c) for c in columns} for r in records], infer_schema_length=None)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value != 0 and (abs(value) >= 1e15 or abs(value) < 1e-3):
            return f"{value:.4g}"
        # Counts and money read best in full with separators; shares and scores to 4 digits.
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)


def _grid(frame: pl.DataFrame) -> tuple[list[str], list[list[str]]]:
    header = list(frame.columns)
    rows = [[_cell(v) for v in row] for row in frame.iter_rows()]
    return header, rows


def _json_default(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


def _clean_json(value):
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {str(k): _clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean_json(v) for v in value]
    return value


def render(data: pl.DataFrame | list[dict], fmt: TableFormat = "table") -> str | bytes:
    """Render forecast or crossover rows; nothing is printed or written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "json":
        # JSON keeps nested p_by as an object; NaN becomes null (JSON has no NaN).
        return json.dumps(_clean_json(_records(data)), default=_json_default, ensure_ascii=False, indent=1)
    frame = _frame(data)
    if fmt == "csv":
        return frame.write_csv()
    if fmt == "parquet":
        buffer = io.BytesIO()
        frame.write_parquet(buffer)
        return buffer.getvalue()
    header, rows = _grid(frame)
    if fmt == "md":
        escape = lambda text: text.replace("|", "\\|")  # noqa: E731
        lines = ["| " + " | ".join(escape(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(escape(c) for c in row) + " |" for row in rows]
        return "\n".join(lines) + "\n"
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    numeric = [frame.schema[c].is_numeric() for c in header]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric)).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out) + "\n"
