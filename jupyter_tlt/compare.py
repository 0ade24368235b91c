"""`compare`: the before/after table of a workflow: size, cost and accuracy of several models side by side.

Example:
    >>> compare("detection", {"unpruned": "runs/target/weights/model.keras",
    ...                       "pruned + retrained": "runs/retrain/weights/model.keras"}).to_frame()

Every model is evaluated with the same code and data as `evaluate` (the spec stored in the first
model, unless one is given), so the rows differ only by the model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence


@dataclass
class Comparison:
    """One row per model: parameters, FLOPs, file size and the task's headline metric."""

    task: str
    rows: dict[str, dict] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def metric(self) -> str:
        return "mAP moderate (%)" if self.task == "detection" else "top-1 accuracy (%)"

    def to_frame(self):
        import pandas as pd

        frame = pd.DataFrame.from_dict(self.rows, orient="index")
        frame.index.name = "model"
        return frame

    def __str__(self) -> str:
        frame = self.to_frame().drop(columns=["path"])
        formats = {"parameters": "{:,.0f}".format, "GFLOPs": "{:.3f}".format, "file MB": "{:.1f}".format,
                   self.metric: "{:.2f}".format}
        return frame.to_string(formatters=formats) + f"\n({len(self.rows)} models evaluated in {self.seconds:.0f}s)"

    def _repr_html_(self) -> str:
        return self.to_frame().drop(columns=["path"]).to_html(float_format=lambda v: f"{v:,.3f}")


def compare(task: str, models: Mapping[str, str] | Sequence[str], *, spec=None, dataset_dir=None,
            key: str | None = None, progress: bool = True) -> Comparison:
    """Evaluate each model (``{label: path}``, or paths labelled by file name) and tabulate them."""
    from .evaluate import evaluate, load_for_inference
    from .models import count_flops

    start = time.perf_counter()
    if not isinstance(models, Mapping):
        models = {Path(p).parent.parent.name + "/" + Path(p).name: p for p in models}
    result = Comparison(task)
    for label, path in models.items():
        runner, _, used_spec = load_for_inference(path, spec, key)
        model = runner.model
        spec = spec or used_spec  # the first model's spec serves them all
        ev = evaluate(task, path, spec=spec, dataset_dir=dataset_dir, key=key, progress=progress)
        score = ev.metrics.mAP["moderate"] if task == "detection" else ev.metrics.top1
        result.rows[label] = {"parameters": model.count_params(), "GFLOPs": count_flops(model) / 1e9,
                              "file MB": Path(path).stat().st_size / 2**20, result.metric: score * 100,
                              "path": str(path)}
    result.seconds = time.perf_counter() - start
    return result
