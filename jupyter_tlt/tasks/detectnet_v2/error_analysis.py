"""Error analysis of a detector on its validation images: `tlt evaluate ... --analysis`.

    result = evaluate("detection", "runs/detect/weights/model.keras", analysis=True)
    a = result.analysis                 # an ErrorAnalysis
    a.summary()                         # TP / FP / missed, precision, recall, F1 per class
    a.worst("missed")                   # indices of the images with the most missed objects
    a.picture(i)                        # that image: TP green, FP red, missed amber (dashed)
    a.confusion()                       # (C+1) x (C+1) with background
    a.at(0.5).summary()                 # the same at one threshold for every class

Files, under ``<results>/evaluate/analysis/``: ``index.html`` (the whole view as a static page),
``analysis.json``, ``confusion_matrix.png``, ``confidence_curves.png``, and the worst images in
``worst_missed/`` and ``worst_false_positives/``. The rules are those of `metrics.analysis`; the
thresholds those of `confidence` (the chosen best-F1 ones unless a flag or the spec says otherwise).
"""

from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ... import atomic
from .confidence import Thresholds
from ...metrics.analysis import FP, MISSED, TP, ConfidenceCurve, confusion_matrix, image_outcome, worst_images
from ...metrics.boxes import Detections, GroundTruth

WORST = 12
"""Images kept per worst-images list."""
CONFUSION_IOU = 0.5
"""IoU at which the confusion matrix pairs a detection with an object, whatever their classes."""
FOLDERS = {MISSED: "worst_missed", FP: "worst_false_positives"}


@dataclass
class ErrorAnalysis:
    """Every candidate detection and the ground truth of each validation image, with the per-class
    confidence curves and thresholds; all views are computed at `thresholds` (or those given)."""

    class_names: list[str]
    thresholds: Thresholds
    iou_thresholds: dict[str, float]
    truth: list[GroundTruth] = field(repr=False)
    detections: list[Detections] = field(repr=False)
    curves: dict[str, ConfidenceCurve] = field(repr=False)
    images: Callable[[int], object] | None = field(default=None, repr=False)
    output_dir: Path | None = None
    files: list[Path] = field(default_factory=list)

    def at(self, confidence: float) -> "ErrorAnalysis":
        """The same analysis with one threshold for every class (what the browser's slider sets)."""
        values = {c: float(confidence) for c in self.class_names}
        return replace(self, thresholds=Thresholds(values, {c: "slider" for c in self.class_names}),
                       output_dir=None, files=[])

    def outcomes(self) -> list:
        active = self.thresholds.active()
        return [image_outcome(g, d, self.class_names, self.iou_thresholds, active)
                for g, d in zip(self.truth, self.detections)]

    def confusion(self) -> np.ndarray:
        return confusion_matrix(self.truth, self.detections, self.class_names, self.thresholds.active(),
                                iou=CONFUSION_IOU)

    def summary(self):
        """pandas DataFrame: per class, threshold, TP, FP, missed, precision, recall, F1."""
        import pandas as pd

        rows = {c: dict.fromkeys((TP, FP, MISSED), 0) for c in self.class_names}
        lower = {c.lower(): c for c in self.class_names}
        for o in self.outcomes():
            for cls, state in zip(o.detections.classes, o.detection_outcome):
                rows[lower[cls]][state] += 1
            for cls, state in zip(o.truth.classes, o.truth_outcome):
                if state == MISSED:
                    rows[lower[cls]][MISSED] += 1
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.insert(0, "threshold", [self.thresholds.values.get(c) for c in self.class_names])
        found = frame[TP] + frame[FP]
        frame["precision"] = (frame[TP] / found.where(found > 0)).fillna(0.0)
        truth = frame[TP] + frame[MISSED]
        frame["recall"] = (frame[TP] / truth.where(truth > 0)).fillna(0.0)
        pr = frame["precision"] + frame["recall"]
        frame["F1"] = (2 * frame["precision"] * frame["recall"] / pr.where(pr > 0)).fillna(0.0)
        frame.index.name = "class"
        return frame

    def worst(self, by: str = MISSED, count: int = WORST) -> list[int]:
        return worst_images(self.outcomes(), by, count)

    def picture(self, index: int, outcome=None):
        """Image `index` with its outcome drawn (PIL image); `outcome` saves recomputing it."""
        from ...drawing.boxes import draw_boxes, outcome_boxes

        outcome = outcome or image_outcome(self.truth[index], self.detections[index], self.class_names,
                                           self.iou_thresholds, self.thresholds.active())
        image = self.images(index) if self.images else None
        if image is None:
            image = blank_canvas(outcome)
        draw_boxes(image, outcome_boxes(outcome))
        return image

    def figures(self):
        """(confusion matrix, confidence curves) as matplotlib Figures."""
        from ...drawing.figures import confidence_figure, confusion_figure

        return (confusion_figure(self.confusion(), self.class_names,
                                 f"Detection confusion matrix (IoU {CONFUSION_IOU:g}, chosen thresholds)"),
                confidence_figure(self.curves, self.thresholds.values, self.class_names,
                                  "Validation precision, recall and F1 against confidence (level all)"))

    def to_dict(self) -> dict:
        outcomes = self.outcomes()
        worst = {by: [{"image": outcomes[i].name, "missed": outcomes[i].missed,
                       "false_positives": outcomes[i].false_positives} for i in worst_images(outcomes, by, WORST)]
                 for by in FOLDERS}
        curves = {}
        for c, curve in self.curves.items():
            pick = np.unique(np.linspace(0, max(len(curve.thresholds) - 1, 0), 200).round().astype(int))
            pick = pick if len(curve.thresholds) else pick[:0]
            curves[c] = {k: [round(float(v), 5) for v in arr[pick]] for k, arr in
                         (("threshold", curve.thresholds), ("precision", curve.precision),
                          ("recall", curve.recall), ("f1", curve.f1))}
        return {"class_names": list(self.class_names),
                "thresholds": dict(self.thresholds.values), "threshold_sources": dict(self.thresholds.sources),
                "iou_thresholds": dict(self.iou_thresholds),
                "confusion_matrix": {"labels": [*self.class_names, "background"], "iou": CONFUSION_IOU,
                                     "counts": self.confusion().tolist()},
                "per_class": json.loads(self.summary().to_json(orient="index")),
                "worst_images": worst, "curves": curves, "num_images": len(self.truth)}

    def write(self, out_dir) -> list[Path]:
        """Write the files of the module docstring under `out_dir`; returns them."""
        from ...drawing.figures import figure_png

        out = atomic.ensure_writable_dir(out_dir)
        files = [atomic.write_text(out / "analysis.json", json.dumps(self.to_dict(), indent=2) + "\n")]
        confusion, curves = self.figures()
        files.append(atomic.write_bytes(out / "confusion_matrix.png", figure_png(confusion)))
        files.append(atomic.write_bytes(out / "confidence_curves.png", figure_png(curves)))
        outcomes = self.outcomes()
        listed = {}
        for by, folder in FOLDERS.items():
            atomic.ensure_writable_dir(out / folder)
            for old in (out / folder).glob("*.jpg"):
                old.unlink()
            listed[by] = []
            for rank, i in enumerate(worst_images(outcomes, by, WORST)):
                name = f"{rank + 1:02d}_{_safe(outcomes[i].name or str(i))}.jpg"
                files.append(atomic.write_bytes(out / folder / name, jpeg_bytes(self.picture(i, outcomes[i]))))
                listed[by].append((f"{folder}/{name}", outcomes[i]))
        files.append(atomic.write_text(out / "index.html", _page(self, listed)))
        self.output_dir, self.files = out, files
        return files

    def _repr_html_(self) -> str:
        """The analysis with its pictures embedded (it survives a saved notebook without a kernel)."""
        outcomes = self.outcomes()
        confusion, curves = self.figures()
        from ...drawing.figures import figure_png

        parts = [_summary_html(self), _png_tag(figure_png(curves)), _png_tag(figure_png(confusion))]
        for by, title in ((MISSED, "most missed objects"), (FP, "most false positives")):
            cells = [figure_cell(f"data:image/jpeg;base64,{base64.b64encode(jpeg_bytes(self.picture(i, outcomes[i]), 320)).decode()}",
                                  outcomes[i]) for i in worst_images(outcomes, by, 6)]
            parts.append(f"<p><b>Images with the {title}</b></p>" + _cells(cells, title))
        if self.output_dir:
            parts.append(f"<p>files: <code>{html.escape(str(self.output_dir))}</code> (index.html)</p>")
        return "".join(parts)

    def __str__(self) -> str:
        text = f"error analysis of {len(self.truth)} images; {self.thresholds.describe()}\n\n"
        text += self.summary().to_string(float_format="{:.3f}".format)
        if self.output_dir:
            text += f"\n\nwritten to {self.output_dir / 'index.html'}"
        return text


def record_images(files: Sequence[str]) -> Callable[[int], object]:
    """Image `i` of the records in `files` (in evaluation order) as a PIL image, from the
    `frame/encoded` bytes the converter stores; None when a record holds no image."""
    from PIL import Image

    from ...data import tfrecord
    from ...data.tfrecord_io import read_records
    from ...spec.protos import example_pb2

    cache: list[bytes] = []

    def load(index: int):
        if not cache:
            for path in files:
                for record in read_records(path):
                    value = example_pb2.Example.FromString(record).features.feature[tfrecord.FRAME_ENCODED]
                    cache.append(value.bytes_list.value[0] if value.bytes_list.value else b"")
        data = cache[index] if index < len(cache) else b""
        return Image.open(io.BytesIO(data)).convert("RGB") if data else None

    return load


def blank_canvas(outcome):
    from PIL import Image

    boxes = np.concatenate([outcome.truth.boxes, outcome.detections.boxes, np.zeros((1, 4)) + 64])
    return Image.new("RGB", (int(boxes[:, 2].max()) + 8, int(boxes[:, 3].max()) + 8), (40, 40, 40))


def jpeg_bytes(image, width: int | None = None) -> bytes:
    if width and image.width > width:
        image = image.resize((width, max(1, round(image.height * width / image.width))))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=88)
    return buffer.getvalue()


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:80]


def _png_tag(png: bytes) -> str:
    return f"<img style='max-width:100%' src='data:image/png;base64,{base64.b64encode(png).decode()}'/>"


def figure_cell(src: str, outcome) -> str:
    caption = (f"{html.escape(outcome.name)}: {outcome.missed} missed, {outcome.false_positives} FP, "
               f"{outcome.true_positives} TP")
    return (f"<figure style='margin:4px'><img src='{src}' style='max-width:320px'/>"
            f"<figcaption style='font-size:small'>{caption}</figcaption></figure>")


def _cells(cells: list[str], what: str) -> str:
    if not cells:
        return f"<p style='font-size:small'>no images with {html.escape(what.split(' ', 1)[1])}</p>"
    return "<div style='display:flex;flex-wrap:wrap'>" + "".join(cells) + "</div>"


def _summary_html(analysis: ErrorAnalysis) -> str:
    frame = analysis.summary()
    legend = ("<span style='color:#1eaa3c'>&#9632; true positive</span> &nbsp; "
              "<span style='color:#e11e1e'>&#9632; false positive</span> &nbsp; "
              "<span style='color:#ffa000'>&#9633; missed (dashed)</span> &nbsp; "
              "<span style='color:#969696'>&#9633; ground truth found</span>")
    return (f"<p><b>Error analysis</b> of {len(analysis.truth)} validation images; "
            f"{html.escape(analysis.thresholds.describe())}</p>"
            + frame.to_html(float_format="{:.3f}".format, na_rep="-") + f"<p>{legend}</p>")


def _page(analysis: ErrorAnalysis, listed: dict) -> str:
    body = [_summary_html(analysis), "<img src='confidence_curves.png'/>", "<img src='confusion_matrix.png'/>"]
    for by, title in ((MISSED, "most missed objects"), (FP, "most false positives")):
        cells = [figure_cell(html.escape(src), outcome) for src, outcome in listed[by]]
        body.append(f"<h3>Images with the {title}</h3>" + _cells(cells, title))
    return ("<!doctype html><html><head><meta charset='utf-8'><title>Error analysis</title></head>"
            "<body style='font-family:sans-serif'>" + "".join(body) + "</body></html>\n")
