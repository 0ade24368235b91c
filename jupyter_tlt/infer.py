"""`infer`: run a model on a folder of images.

Detection writes KITTI labels with a 16th `score` field (`labels/<image>.txt`) and the images with
their boxes drawn (`images/<image>.jpg`); classification writes `predictions.csv`.

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
from .data.kitti import KittiObject, write_labels
from .errors import DataError
from .progress import bar

COLORS = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180)]


@dataclass
class InferResult:
    task: str
    output_dir: Path
    num_images: int
    counts: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    def to_frame(self):
        import pandas as pd

        what = "detections" if self.task == "detection" else "images"
        return pd.DataFrame({what: self.counts}).rename_axis("class")

    def __str__(self) -> str:
        return (f"{self.task} inference on {self.num_images} images in {self.seconds:.1f}s -> "
                f"{self.output_dir}\n\n{self.to_frame().to_string()}")

    def _repr_html_(self) -> str:
        return f"<p>{str(self).splitlines()[0]}</p>" + self.to_frame().to_html()


def infer(task: str, model_path, image_dir, results_dir, *, spec=None, batch_size: int = 8,
          key: str | None = None, framework: str | None = None, overwrite: bool = False,
          progress: bool = True) -> InferResult:
    """Predict every image in `image_dir` and write the results under `results_dir`.

    `framework` ("keras", "onnx", "tensorrt"; default: by the file's suffix) picks the runner."""
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
        result = _detect(model, spec, class_names, files, out, batch_size, progress)
    else:
        result = _classify(model, spec, class_names, files, out, batch_size, progress)
    result.seconds = time.perf_counter() - start
    return result


def _detect(model, spec, class_names, files, out, batch_size, progress) -> InferResult:
    from PIL import Image, ImageDraw

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
                objects = [KittiObject(class_names[c], 0.0, 0, 0.0, *map(float, box), 0.0, 0.0, 0.0,
                                       0.0, 0.0, 0.0, 0.0, score=float(s))
                           for box, c, s in zip(d.boxes, d.classes, d.scores)]
                for o in objects:
                    counts[o.type] += 1
                write_labels(out / "labels" / f"{path.stem}.txt", objects)
                image = Image.open(path).convert("RGB")
                draw = ImageDraw.Draw(image)
                for o, c in zip(objects, d.classes):
                    color = COLORS[int(c) % len(COLORS)]
                    draw.rectangle([o.x1, o.y1, o.x2, o.y2], outline=color, width=2)
                    draw.text((o.x1 + 2, max(0, o.y1 - 11)), f"{o.type} {o.score:.2f}", fill=color)
                buffer = io.BytesIO()
                image.save(buffer, format="JPEG", quality=90)
                written.append(atomic.write_bytes(out / "images" / f"{path.stem}.jpg", buffer.getvalue()))
                pbar.update(1)
    return InferResult("detection", out, len(files), counts, written)


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
