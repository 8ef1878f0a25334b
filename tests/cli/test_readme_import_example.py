"""The README's import section holds: its example file imports, and the units it lists are the accepted ones."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from aitrack.cli import app
from contracts.kinds import VALUE_KINDS
from contracts.units import UNITS
from fetchers.user import OPTIONAL_COLUMNS, REQUIRED_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLE = ROOT / "docs" / "examples" / "import_example.csv"
runner = CliRunner()


def import_section() -> str:
    return README.split("### Importing your own series")[1].split("### ")[0]


def test_the_documented_columns_and_units_are_the_accepted_ones():
    section = import_section()
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert [re.match(r"\| `(\w+)`", r).group(1) for r in rows] == list(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
    unit_row = next(r for r in rows if r.startswith("| `unit`"))
    assert re.findall(r"`(\w+)`", unit_row)[1:] == list(UNITS)
    kind_row = next(r for r in rows if r.startswith("| `value_kind`"))
    assert re.findall(r"`(\w+)`", kind_row)[1:] == list(VALUE_KINDS)


def test_the_example_file_imports(monkeypatch, engine, database_url):
    monkeypatch.setenv("AITRACK_DATABASE_URL", database_url)
    result = runner.invoke(app, ["import", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "registered new user indicator(s): top500_june_systems" in result.output
    shown = runner.invoke(app, ["provenance", "top500_june_systems", "CHN", "2005", "--format", "json"])
    assert shown.exit_code == 0 and '"value": 19.0' in shown.stdout and '"source": "user"' in shown.stdout
