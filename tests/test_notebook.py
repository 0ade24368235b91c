"""tests/notebooks/magics_and_widgets.ipynb executed in a real kernel (nbclient), outputs checked.

The kernel is this interpreter (the venv's python): a kernelspec written to a temporary folder on
JUPYTER_PATH, so a fresh clone needs no `ipykernel install` and no user-level Jupyter state.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parent / "notebooks" / "magics_and_widgets.ipynb"
KERNEL = "jupyter-tlt-test"
WIDGET = "application/vnd.jupyter.widget-view+json"


def test_notebook_runs_with_rich_outputs(tmp_path, monkeypatch):
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "jupyter-tlt tests", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    work = tmp_path / "work"
    work.mkdir()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit it without outputs"
    NotebookClient(nb, timeout=600, kernel_name=KERNEL, resources={"metadata": {"path": str(work)}}).execute()

    cells = {c.source.splitlines()[0]: c.outputs for c in nb.cells if c.cell_type == "code"}
    data = [o.get("data", {}) for outputs in cells.values() for o in outputs]
    assert any(WIDGET in d for d in data)  # tqdm progress as widgets, and the panels

    train = cells["%%tlt train detection -r runs/detect"]
    charts = [o for o in train if "image/png" in o.get("data", {})]
    assert len(charts) == 1  # the live chart: one output, updated in place per epoch
    assert any(WIDGET in o.get("data", {}) for o in train)
    assert (work / "runs" / "detect" / "weights" / "model.keras").is_file()

    evaluate = [o.get("data", {}) for o in cells['model = "runs/detect/weights/model.keras"']]
    html = [d["text/html"] for d in evaluate if "text/html" in d]
    assert sum("moderate" in h for h in html) == 1  # the mAP table, shown once
    assert any("image/png" in d for d in evaluate)  # the PR curves

    prune = [o.get("data", {}) for o in cells["%tlt prune -m $model -o runs/detect/prune/model_pruned.keras -pth 0.5"]]
    assert any("fewer parameters" in d.get("text/html", "") for d in prune)
    assert any("image/png" in d for d in prune)

    error = cells["%tlt evaluate detection -m runs/detect/weights/missing.keras"]
    assert [o.output_type for o in error] == ["error"]
    assert len(error[0].traceback) == 1 and error[0].traceback[0].startswith("error: ")
    assert "missing.keras" in error[0].traceback[0]

    assert any(WIDGET in o.get("data", {}) for o in cells["from jupyter_tlt.widgets import EvaluatePanel, PrunePanel"])
    assert (work / "runs" / "detect" / "evaluate" / "metrics.json").is_file()
    frame = cells["evaluate_panel.result.to_frame()"]
    assert any("moderate" in o.get("data", {}).get("text/html", "") for o in frame)
