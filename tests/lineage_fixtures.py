"""A real model history for lineage tests: train -> prune -> retrain -> export (FP32), on tiny data."""

from __future__ import annotations

from pathlib import Path

from train_fixtures import detection_records, detection_spec


def make_chain(root: Path) -> dict[str, Path]:
    """Trains two tiny detectors under `root/runs`; returns the paths of every model in the chain."""
    from jupyter_tlt.export.step import export
    from jupyter_tlt.prune import prune
    from jupyter_tlt.train import train

    records = detection_records(root / "data", n=12)
    runs = root / "runs"
    first = train(detection_spec(records, epochs=1), runs / "detect", progress=False)
    pruned = runs / "detect" / "prune" / "model_pruned.keras"
    prune(first.model_path, pruned, threshold=0.95, min_num_filters=8)
    second = train(detection_spec(records, epochs=1, pretrained=str(pruned)), runs / "retrain", progress=False)
    onnx = runs / "retrain" / "export" / "model.onnx"
    export(second.model_path, onnx)
    return {"trained": first.model_path, "pruned": pruned, "retrained": second.model_path, "onnx": onnx}
