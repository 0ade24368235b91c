"""How values read in the tables people see: integers, sizes, percentages, and a dash for nothing."""

from __future__ import annotations

import math

import pandas as pd

from jupyter_tlt.registry.results import ModelList, cell
from jupyter_tlt.table_cells import decimals, file_size, formatted_frame, integer, percent_of_fraction


def test_integers_sizes_and_percentages():
    assert integer(4926164.0) == "4,926,164" and integer(float("nan")) == "-"
    assert file_size(512) == "512 B" and file_size(812_400) == "812.4 kB" and file_size(4_700_000) == "4.7 MB"
    assert file_size(None) == "-"
    assert percent_of_fraction(0.219) == "21.9%" and decimals(3)(math.nan) == "-"


def test_formatted_frame_has_no_nan_cells():
    frame = pd.DataFrame({"parameters": [4926164.0, 1234.0], "GFLOPs": [0.5, float("nan")]}, index=["a", "b"])
    shown = formatted_frame(frame, {"parameters": integer, "GFLOPs": decimals(3)})
    assert shown.loc["a", "parameters"] == "4,926,164" and shown.loc["b", "GFLOPs"] == "-"
    assert "nan" not in shown.to_html().lower()


def test_registry_cells_and_order():
    assert cell("metrics", {"mAP": 0.21934, "AP_car": 0.5}) == "val mAP (all) 21.9%"
    assert cell("metrics", {}) == "-" and cell("size", 19868160.0) == "19.9 MB" and cell("latest", None) == "-"
    assert cell("versions", 3.0) == "3" and cell("created", "2026-12-03T08:30:12.123456") == "2026-12-03 08:30"
    models = ModelList([{"name": "empty", "versions": 0}, {"name": "pushed", "versions": 2, "size": 2_000}])
    assert [m["name"] for m in models] == ["pushed", "empty"]
    html = models._repr_html_()
    assert "2.0 kB" in html and "NaN" not in html and "None" not in html


def test_training_history_reads_in_percent_without_nan():
    from jupyter_tlt.train import TrainResult

    history = [{"epoch": 1, "loss": 3.01234567, "lr": 1e-3},
               {"epoch": 2, "loss": 2.0, "lr": 5e-4, "val_mAP": 0.219, "val_AP_car": 0.4}]
    result = TrainResult("runs/x", "detection", "m.keras", ["car"], 0, 2, history,
                         [{"epoch": 2, "mAP": 0.219, "AP_car": 0.4}], "", 12.0)
    assert "validation mAP (level all) 21.9%" in result.summary()
    shown = result.shown_history()
    assert shown.loc[1, "val_mAP"] == "-" and shown.loc[2, "val_mAP"] == "21.9%"
    assert shown.loc[1, "loss"] == "3.0123" and shown.loc[2, "lr"] == "5.00e-04"
    assert "nan" not in result._repr_html_().lower()
