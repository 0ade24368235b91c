"""`tlt infer` for a detector: KITTI result files with a 16th `score` field and the images with their
boxes drawn.

    counts, written = write_detections(model, spec, class_names, files, out, 8, True, {"car": 0.3}, False)
"""

from __future__ import annotations

import io

import numpy as np

from ... import atomic
from ...data.kitti import KittiObject
from ...metrics.kitti_results import result_line
from ...progress import bar

LABELS_DIR, IMAGES_DIR = "labels", "images"  # what `tlt infer` writes under its results folder


def write_detections(model, spec, class_names, files, out, batch_size, progress, thresholds,
                     all_candidates) -> tuple[dict[str, int], list]:
    """labels/<image>.txt and images/<image>.jpg for every file; (detections per class, images written)."""
    from PIL import Image

    from ...data.loader import image_files_dataset
    from ...spec import views
    from .postprocess import PostprocessConfig, postprocess

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
                atomic.write_text(out / LABELS_DIR / f"{path.stem}.txt",
                                  "".join(result_line(o) + "\n" for o in (objects if all_candidates else shown)))
                _draw(image, shown, class_names)
                buffer = io.BytesIO()
                image.save(buffer, format="JPEG", quality=90)
                written.append(atomic.write_bytes(out / IMAGES_DIR / f"{path.stem}.jpg", buffer.getvalue()))
                pbar.update(1)
    return counts, written


def _kitti_results(d, class_names, image_size) -> tuple[list[KittiObject], np.ndarray]:
    """One image's detections as KITTI result objects the devkit reads as they are: boxes clipped to
    the image (those outside it dropped; `kept` indexes the rest), unknown 3D fields as -1 / -10 /
    -1000. `tlt evaluate -m` clips by the same rule, so evaluating these files gives its mAP."""
    from ...metrics.boxes import Detections
    from ...metrics.kitti_results import clip_detections, unknown_3d

    classes = np.asarray(d.classes, dtype=np.int64)
    names = [class_names[c] for c in classes]
    clipped, kept = clip_detections(Detections(d.boxes, names, d.scores), image_size)
    return [unknown_3d(class_names[c], box, s)
            for c, box, s in zip(classes[kept], clipped.boxes, clipped.scores)], kept


def _draw(image, objects, class_names) -> None:
    """Detections (KITTI result objects) on `image`, coloured per class, readable labels (`drawing.boxes`)."""
    from ...drawing.boxes import detection_boxes, draw_boxes

    boxes = np.array([[o.x1, o.y1, o.x2, o.y2] for o in objects]).reshape(-1, 4)
    draw_boxes(image, detection_boxes(boxes, [class_names.index(o.type) for o in objects],
                                      [o.score for o in objects], class_names))
