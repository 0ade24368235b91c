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
        from .tasks import task_class

        return task_class(self.task).metric_label

    def to_frame(self):
        import pandas as pd

        frame = pd.DataFrame.from_dict(self.rows, orient="index")
        frame.index.name = "model"
        return frame

    def shown(self):
        """The table as people read it: integers, sizes in kB / MB, a dash where a value does not apply
        (e.g. GFLOPs of an ONNX model)."""
        from .table_cells import decimals, file_size, formatted_frame, integer

        frame = self.to_frame().drop(columns=["path"])
        frame.insert(frame.columns.get_loc("file MB"), "file size", frame.pop("file MB") * 2**20)
        formats = {"parameters": integer, "GFLOPs": decimals(3), "file size": file_size,
                   self.metric: decimals(2), **{c: decimals(1) for c in frame.columns if "img/s" in c}}
        return formatted_frame(frame, formats)

    def __str__(self) -> str:
        return self.shown().to_string() + f"\n({len(self.rows)} models evaluated in {self.seconds:.0f}s)"

    def _repr_html_(self) -> str:
        return self.shown().to_html()


def compare(task: str, models: Mapping[str, str] | Sequence[str], *, spec=None, dataset_dir=None,
            key: str | None = None, speed_batch: int = 0, progress: bool = True) -> Comparison:
    """Evaluate each model (``{label: path}``, or paths labelled by file name) and tabulate them.

    Keras and exported ONNX models mix freely (each runs through its runner). With ``speed_batch`` > 0,
    a column gives ONNX Runtime CPU images/s at that batch size (Keras models are converted in memory),
    each model timed for a few seconds in turn: indicative, where bench/ times them in alternating rounds.
    """
    from .evaluate import evaluate, load_for_inference
    from .limits import require_int
    from .tasks import task_class

    start = time.perf_counter()
    require_int(speed_batch, "--speed", 0, 4096)
    if not isinstance(models, Mapping):
        models = {Path(p).parent.parent.name + "/" + Path(p).name: p for p in models}
    result = Comparison(task)
    for label, path in models.items():
        runner, _, used_spec = load_for_inference(path, spec, key)
        spec = spec or used_spec  # the first model's spec serves them all
        ev = evaluate(task, path, spec=spec, dataset_dir=dataset_dir, key=key, progress=progress)
        score = task_class(task).headline(ev.metrics)
        row = {**_size(runner), "file MB": Path(path).stat().st_size / 2**20, result.metric: score * 100}
        if speed_batch > 0:
            row[f"img/s (ORT CPU, batch {speed_batch})"] = _images_per_second(runner, speed_batch)
        result.rows[label] = {**row, "path": str(path)}
    result.seconds = time.perf_counter() - start
    return result


def _size(runner) -> dict:
    """Parameters and GFLOPs of a Keras model; an ONNX model's weight count (FLOPs left blank)."""
    from .models import count_flops

    if runner.name == "keras":
        return {"parameters": runner.model.count_params(), "GFLOPs": count_flops(runner.model) / 1e9}
    if runner.name == "onnx":
        import math

        import onnx

        graph = onnx.load(runner.path).graph
        weights = sum(math.prod(init.dims) for init in graph.initializer if len(init.dims) > 1)
        return {"parameters": weights, "GFLOPs": float("nan")}
    return {"parameters": float("nan"), "GFLOPs": float("nan")}


def _images_per_second(runner, batch: int, seconds: float = 3.0) -> float:
    import numpy as np

    from .export import keras_to_onnx
    from .runners import OnnxRunner

    if runner.name == "keras":
        runner = OnnxRunner(keras_to_onnx(runner.model).SerializeToString(), providers=["CPUExecutionProvider"])
    elif runner.name != "onnx":
        return float("nan")
    images = np.random.default_rng(0).uniform(0, 1, (batch, *runner.input_shape)).astype(np.float32)
    runner(images)  # warm-up
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        runner(images)
        count += 1
    return count * batch / (time.perf_counter() - start)
