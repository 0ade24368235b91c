"""tests/notebooks/magics_and_widgets.ipynb executed in a real kernel (nbclient, see conftest.py), outputs checked."""

from __future__ import annotations

WIDGET = "application/vnd.jupyter.widget-view+json"


def test_notebook_runs_with_rich_outputs(walkthrough):
    nb, work = walkthrough
    cells = {c.source.splitlines()[0]: c.outputs for c in nb.cells if c.cell_type == "code"}
    data = [o.get("data", {}) for outputs in cells.values() for o in outputs]
    assert any(WIDGET in d for d in data)  # the panels (progress bars are HTML: they survive a saved notebook)

    train = cells["%%tlt train detection -r runs/detect"]
    charts = [o for o in train if "image/png" in o.get("data", {})]
    assert len(charts) == 1  # the live chart: one output, updated in place per epoch
    assert any("text/html" in o.get("data", {}) for o in train)  # the epoch bar, HTML updated in place
    assert not any(WIDGET in o.get("data", {}) for o in train)
    assert (work / "runs" / "detect" / "weights" / "model.keras").is_file()

    evaluate = [o.get("data", {}) for o in cells['model = "runs/detect/weights/model.keras"']]
    html = [d["text/html"] for d in evaluate if "text/html" in d]
    tables = [h for h in html if "<table" in h or "<style" in h]
    assert sum("moderate" in h for h in tables) == 1  # the mAP table, shown once
    notes = [h for h in html if "tlt-warning" in h]  # warnings as styled notes, one line each, no source path
    assert notes and not any("UserWarning" in h or ".py:" in h for h in notes)
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
