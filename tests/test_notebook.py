"""The example notebook (docs/examples/tracker.ipynb) runs top to bottom against a database built by the real
pipeline, in a real Jupyter kernel (nbclient + ipykernel), and shows what it says it shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from db.session import make_engine
from tests.realdb import build_real_db

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "examples" / "tracker.ipynb"
nbformat = pytest.importorskip("nbformat", reason="nbformat is a test dependency (pip install '.[test]')")
nbclient = pytest.importorskip("nbclient", reason="nbclient is a test dependency (pip install '.[test]')")


def outputs(cell) -> str:
    return "".join(o.get("text", "") + "".join(str(v) for v in o.get("data", {}).values()) for o in cell.outputs)


def test_the_example_notebook_runs(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'aitrack.db'}"
    engine = make_engine(url)
    build_real_db(engine)
    engine.dispose()
    monkeypatch.setenv("AITRACK_DATABASE_URL", url)  # the kernel inherits the environment
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                            ).execute()  # fmt: skip
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(not any(o.get("output_type") == "error" for o in c.outputs) for c in code)
    text = {c.source.splitlines()[0]: outputs(c) for c in code}
    everything = "".join(text.values())
    assert "Does the US regain the lead?" in everything  # ai_papers: China leads since 2017 (CSET)
    assert "103493" in everything and "CC BY 4.0" in everything and "aitrack payload " in everything
    assert "Entity,Code,Year" in everything  # the raw bytes of the OWID grapher CSV
    assert "error: kind: Input should be 'measured'" in everything
    assert "error: unknown indicator 'ai_paperz' (closest: ai_papers" in everything
