"""`infer`: run a model on a folder of images.

The task writes the predictions (``tasks/<name>/predictions.py``): detection writes KITTI labels
with a 16th `score` field (`labels/<image>.txt`) and the images with their boxes drawn
(`images/<image>.jpg`); classification writes `predictions.csv`. A detector keeps the boxes scored
at least its class's confidence threshold (``tasks/detectnet_v2/confidence.py``: the flag, the spec,
or the best-F1 threshold chosen when the model was evaluated); `all_candidates` writes every
candidate to labels/ (for AP), while the drawn images still show what a deployment would.

Example:
    >>> infer("detection", "runs/detect/weights/model.keras", "camera/frames", "runs/detect/infer")
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from . import atomic
from .data import images as image_files
from .errors import DataError


@dataclass
class InferResult:
    task: str
    output_dir: Path
    num_images: int
    counts: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    thresholds: str = ""  # detection: the confidence thresholds applied, and where they came from
    counted: str = "images"  # what `counts` counts per class (the task's `counted`: detections, images)

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame({self.counted: self.counts}).rename_axis("class")

    def __str__(self) -> str:
        head = (f"{self.task} inference on {self.num_images} images in {self.seconds:.1f}s -> "
                f"{self.output_dir}")
        return head + (f"\n{self.thresholds}" if self.thresholds else "") + f"\n\n{self.to_frame().to_string()}"

    def _repr_html_(self) -> str:
        import html

        note = f"<p>{html.escape(self.thresholds)}</p>" if self.thresholds else ""
        return f"<p>{html.escape(str(self).splitlines()[0])}</p>" + note + self.to_frame().to_html()


def infer(task: str, model_path, image_dir, results_dir, *, spec=None, batch_size: int = 8,
          key: str | None = None, framework: str | None = None, overwrite: bool = False,
          progress: bool = True, confidence_threshold: float | None = None,
          all_candidates: bool = False) -> InferResult:
    """Predict every image in `image_dir` and write the results under `results_dir`.

    `framework` ("keras", "onnx", "tensorrt"; default: by the file's suffix) picks the runner.
    `confidence_threshold` overrides every class's threshold (see ``tasks/detectnet_v2/confidence.py``)."""
    from .evaluate import load_for_inference
    from .limits import require_batch
    from .tasks import make_task

    start = time.perf_counter()
    batch_size = require_batch(batch_size)
    model, info, spec = load_for_inference(model_path, spec, key, framework)
    files = sorted(image_files.find_images(image_dir).values())
    if not files:
        raise DataError(f"{image_dir}: no images (.jpg, .jpeg, .png) found; check -i/--image_dir.")
    out = atomic.ensure_writable_dir(results_dir)
    t = make_task(task, spec, info.get("class_names") or None)
    atomic.refuse_existing(t.infer_outputs(out), overwrite, "inference output")
    counts, written, thresholds = t.write_predictions(model, files, out, batch_size, progress,
                                                      model_path=model_path,
                                                      confidence_threshold=confidence_threshold,
                                                      all_candidates=all_candidates)
    result = InferResult(task, out, len(files), counts, written, thresholds=thresholds, counted=t.counted)
    result.seconds = time.perf_counter() - start
    return result
