"""Benchmark: what the confidence thresholds change in what a user sees, on a trained detector.

Evaluates the model with the error analysis (`evaluate(..., analysis=True)`), then prints, on the
validation images: objects per image, boxes per image with every candidate (the old gallery) and at
the best-F1 thresholds (the new one), precision / recall / F1 of both, the labels the drawing had to
leave out, and the cost of the analysis against the evaluation it follows (time, side by side).

    python bench/detections.py -m demo/runs/target/weights/model.keras -e examples/specs/detect_target.cfg
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from jupyter_tlt.drawing.boxes import draw_boxes, outcome_boxes
from jupyter_tlt.tasks.detectnet_v2.error_analysis import blank_canvas
from jupyter_tlt.evaluate import evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--model", required=True)
    parser.add_argument("-e", "--spec", default=None)
    args = parser.parse_args()

    evaluate("detection", args.model, spec=args.spec, progress=False)  # warm-up: caches, graph tracing
    start = time.perf_counter()
    evaluate("detection", args.model, spec=args.spec, progress=False)
    plain = time.perf_counter() - start
    start = time.perf_counter()
    result = evaluate("detection", args.model, spec=args.spec, progress=False, analysis=True)
    with_analysis = time.perf_counter() - start

    chosen = result.analysis
    loose = chosen.at(0.0)
    rows = []
    for name, a in (("every candidate", loose), ("best-F1 thresholds", chosen)):
        s = a.summary()
        tp, fp, missed = s["tp"].sum(), s["fp"].sum(), s["missed"].sum()
        boxes = np.array([len(o.detections) for o in a.outcomes()])
        rows.append((name, boxes.mean(), boxes.max(), tp / max(tp + fp, 1), tp / max(tp + missed, 1),
                     2 * tp / max(2 * tp + fp + missed, 1)))
    objects = np.array([int(np.isin(g.classes, chosen.class_names).sum()) for g in chosen.truth])
    print(f"{len(chosen.truth)} validation images, {objects.mean():.1f} objects per image (max {objects.max()})")
    print(f"{chosen.thresholds.describe()}\n")
    print(f"{'boxes shown':<20} {'per image':>9} {'max':>5} {'precision':>9} {'recall':>7} {'F1':>6}")
    for name, mean, top, p, r, f1 in rows:
        print(f"{name:<20} {mean:9.1f} {top:5d} {p:9.3f} {r:7.3f} {f1:6.3f}")
    skipped = labels = 0
    for i, o in enumerate(chosen.outcomes()):
        boxes = outcome_boxes(o)
        labels += sum(1 for b in boxes if b.label)
        image = chosen.images(i)
        skipped += draw_boxes(image if image is not None else blank_canvas(o), boxes)
    print(f"\nlabels left out to avoid overlaps: {skipped} of {labels}")
    print(f"evaluate {plain:.1f} s, with --analysis {with_analysis:.1f} s: x{with_analysis / plain:.2f}")


if __name__ == "__main__":
    main()
