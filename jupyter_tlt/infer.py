"""`infer`: run a model on a folder of images.

Detection writes KITTI labels with a 16th `score` field (`labels/<image>.txt`) and the images with
their boxes drawn (`images/<image>.jpg`); classification writes `predictions.csv`. A detector keeps
the boxes scored at least its class's confidence threshold (`confidence`: the flag, the spec, or the
best-F1 threshold chosen when the model was evaluated); `all_candidates` writes every candidate to
labels/ (for AP), while the drawn images still show what a deployment would.

Example:
    >>> infer("detection", "runs/detect/weights/model.keras", "camera/frames", "runs/detect/infer")
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import atomic
from .data import images as image_files
from .data.kitti import KittiObject
from .metrics.kitti_results import result_line
from .errors import DataError
from .progress import bar


@dataclass
class InferResult:
    task: str
    output_dir: Path
    num_images: int
    counts: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    thresholds: str = ""  # detection: the confidence thresholds applied, and where they came from

    def to_frame(self):
        import pandas as pd

        what = "detections" if self.task == "detection" else "images"
        return pd.DataFrame({what: self.counts}).rename_axis("class")

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
    `confidence_threshold` overrides every class's threshold (see `confidence`)."""
    from .evaluate import load_for_inference
    from .limits import require_batch

    start = time.perf_counter()
    batch_size = require_batch(batch_size)
    model, info, spec = load_for_inference(model_path, spec, key, framework)
    files = sorted(image_files.find_images(image_dir).values())
    if not files:
        raise DataError(f"{image_dir}: no images (.jpg, .jpeg, .png) found; check -i/--image_dir.")
    out = atomic.ensure_writable_dir(results_dir)
    targets = [out / "labels", out / "images"] if task == "detection" else [out / "predictions.csv"]
    atomic.refuse_existing(targets, overwrite, "inference output")
    class_names = info.get("class_names") or []
    if task == "detection":
        from . import confidence

        thresholds = confidence.for_model(model_path, class_names, override=confidence_threshold, spec=spec)
        result = _detect(model, spec, class_names, files, out, batch_size, progress,
                         thresholds.active(), all_candidates)
        result.thresholds = thresholds.describe()
    else:
        result = _classify(model, spec, class_names, files, out, batch_size, progress)
    result.seconds = time.perf_counter() - start
    return result


def _detect(model, spec, class_names, files, out, batch_size, progress, thresholds, all_candidates) -> InferResult:
    from PIL import Image

    from .data.loader import image_files_dataset
    from .detectnet.postprocess import PostprocessConfig, postprocess
    from .spec import views

    _, height, width = views.input_shape(spec)
    config = PostprocessConfig.from_spec(spec, class_names)
    counts = {c: 0 for c in class_names}
    written = []
    with bar(total=len(files), desc="infer", unit="img", enabled=progress) as pbar:
        for images, meta in image_files_dataset(files, output_size=(height, width), batch_size=batch_size):
            cov, bbox = model(images, training=False)
            for dets, scale, index in zip(postprocess(cov, bbox, config), meta["scale"].numpy(),
                                          meta["index"].numpy()):
                path = files[int(index)]
                d = dets.in_original_pixels(float(scale))
                image = Image.open(path).convert("RGB")
                objects, _ = _kitti_results(d, class_names, image.size)
                keep = [o.score >= thresholds.get(o.type, -np.inf) for o in objects]
                shown = [o for o, k in zip(objects, keep) if k]
                for o in shown:
                    counts[o.type] += 1
                atomic.write_text(out / "labels" / f"{path.stem}.txt",
                                  "".join(result_line(o) + "\n" for o in (objects if all_candidates else shown)))
                _draw(image, shown, class_names)
                buffer = io.BytesIO()
                image.save(buffer, format="JPEG", quality=90)
                written.append(atomic.write_bytes(out / "images" / f"{path.stem}.jpg", buffer.getvalue()))
                pbar.update(1)
    return InferResult("detection", out, len(files), counts, written)


def _kitti_results(d, class_names, image_size) -> tuple[list[KittiObject], np.ndarray]:
    """One image's detections as KITTI result objects the devkit reads as they are: boxes clipped to
    the image (those outside it dropped; `kept` indexes the rest), unknown 3D fields as -1 / -10 /
    -1000. `tlt evaluate -m` clips by the same rule, so evaluating these files gives its mAP."""
    from .metrics.boxes import Detections
    from .metrics.kitti_results import clip_detections, unknown_3d

    classes = np.asarray(d.classes, dtype=np.int64)
    names = [class_names[c] for c in classes]
    clipped, kept = clip_detections(Detections(d.boxes, names, d.scores), image_size)
    return [unknown_3d(class_names[c], box, s)
            for c, box, s in zip(classes[kept], clipped.boxes, clipped.scores)], kept


def _draw(image, objects, class_names) -> None:
    """Detections (KITTI result objects) on `image`, coloured per class, readable labels (`drawing.boxes`)."""
    from .drawing.boxes import detection_boxes, draw_boxes

    boxes = np.array([[o.x1, o.y1, o.x2, o.y2] for o in objects]).reshape(-1, 4)
    draw_boxes(image, detection_boxes(boxes, [class_names.index(o.type) for o in objects],
                                      [o.score for o in objects], class_names))


def _classify(model, spec, class_names, files, out, batch_size, progress) -> InferResult:
    from .data.loader import image_files_dataset
    from .spec import views

    _, height, width = views.input_shape(spec)
    rows, counts = [], {c: 0 for c in class_names}
    with bar(total=len(files), desc="infer", unit="img", enabled=progress) as pbar:
        for images, meta in image_files_dataset(files, output_size=(height, width), batch_size=batch_size,
                                                letterbox=False):
            probs = np.asarray(model(images, training=False))
            for p, index in zip(probs, meta["index"].numpy()):
                best = int(np.argmax(p))
                counts[class_names[best]] += 1
                rows.append([str(files[int(index)]), class_names[best], f"{p[best]:.4f}",
                             *(f"{v:.4f}" for v in p)])
                pbar.update(1)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["image", "class", "confidence", *class_names])
    writer.writerows(rows)
    path = atomic.write_text(out / "predictions.csv", text.getvalue())
    return InferResult("classification", out, len(files), counts, [path])
