"""Benchmark: detection AP of `jupyter_tlt.metrics.evaluate_detection` against pycocotools' COCOeval.

Generates random ground truth (about 8 boxes per image) and detections (about 20 per image, some
jittered copies of ground-truth boxes, the rest anywhere) for 4 classes over 5000 images of
1248x384, then times, on the same data in one run:
(a) pycocotools `COCOeval.evaluate()` + `accumulate()` at one IoU threshold (maxDets 1000, area "all"),
(b) `evaluate_detection(..., mode="COCO101", difficulties=("all",))` at the same threshold, from the
    per-image arrays (its flattening and sorting included).
Prints both times (wall clock and process CPU time: the CPU figure is steadier on a shared
machine), the speed ratios and the largest per-class AP difference.
Goal: difference < 1e-6 and (b) at least 10x faster than (a).

Also times the default KITTI evaluation (SAMPLE, easy/moderate/hard) on the same data.

    python bench/evaluate.py [--images 5000] [--iou 0.5] [--seed 0] [--repeats 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time

import numpy as np

from jupyter_tlt.metrics import Detections, GroundTruth, evaluate_detection

CLASSES = ["car", "pedestrian", "cyclist", "road_sign"]
WIDTH, HEIGHT = 1248, 384


def random_boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    w = np.clip(rng.lognormal(np.log(60), 0.6, n), 4, WIDTH / 2)
    h = np.clip(w * rng.lognormal(0.0, 0.5, n), 4, HEIGHT - 1)
    x1 = rng.uniform(0, WIDTH - w)
    y1 = rng.uniform(0, HEIGHT - h)
    return np.stack([x1, y1, x1 + w, y1 + h], axis=1)


def make_data(n_images: int, seed: int) -> tuple[list[GroundTruth], list[Detections]]:
    """Random scenes: ~8 ground-truth boxes and ~20 detections per image, 4 classes."""
    rng = np.random.default_rng(seed)
    gts, dets = [], []
    for i in range(n_images):
        n_gt = rng.poisson(8)
        g_boxes = random_boxes(rng, n_gt)
        g_cls = rng.integers(0, len(CLASSES), n_gt)
        # detections near ground truth: jittered by up to ~15% of the box size
        near = rng.random(n_gt) < 0.8
        nb = g_boxes[near]
        size = np.tile(nb[:, 2:] - nb[:, :2], 2)
        jb = nb + rng.normal(0, 0.08, nb.shape) * size
        jb[:, 2:] = np.maximum(jb[:, 2:], jb[:, :2] + 1.0)
        j_cls = np.where(rng.random(len(jb)) < 0.9, g_cls[near], rng.integers(0, 4, len(jb)))
        j_score = np.clip(rng.normal(0.7, 0.2, len(jb)), 0.001, 1.0)
        n_rand = max(0, rng.poisson(20) - len(jb))
        rb = random_boxes(rng, n_rand)
        r_cls = rng.integers(0, len(CLASSES), n_rand)
        r_score = np.clip(rng.normal(0.35, 0.2, n_rand), 0.001, 1.0)
        gts.append(GroundTruth(g_boxes, np.array(CLASSES, dtype=object)[g_cls], name=str(i)))
        dets.append(Detections(np.concatenate([jb, rb]),
                               np.array(CLASSES, dtype=object)[np.concatenate([j_cls, r_cls])],
                               np.concatenate([j_score, r_score]), name=str(i)))
    return gts, dets


def coco_objects(gts: list[GroundTruth], dets: list[Detections]):
    """A COCO ground-truth object and a detection result list for the same data (x, y, w, h)."""
    from pycocotools.coco import COCO

    cat = {c: k + 1 for k, c in enumerate(CLASSES)}
    images, annotations, results = [], [], []
    for i, (g, d) in enumerate(zip(gts, dets)):
        images.append({"id": i + 1, "width": WIDTH, "height": HEIGHT})
        for box, c in zip(g.boxes, g.classes):
            w, h = box[2] - box[0], box[3] - box[1]
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1,
                                "category_id": cat[c], "bbox": [box[0], box[1], w, h],
                                "area": w * h, "iscrowd": 0})
        for box, c, s in zip(d.boxes, d.classes, d.scores):
            results.append({"image_id": i + 1, "category_id": cat[c], "score": float(s),
                            "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]]})
    coco = COCO()
    coco.dataset = {"images": images, "annotations": annotations,
                    "categories": [{"id": v, "name": k} for k, v in cat.items()]}
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
        coco_dt = coco.loadRes(results)
    return coco, coco_dt, cat


def coco_ap(coco, coco_dt, cat: dict, iou: float) -> tuple[dict[str, float], tuple[float, float]]:
    """Per-class AP from COCOeval at one IoU threshold, and the (wall, CPU) seconds of
    evaluate + accumulate."""
    from pycocotools.cocoeval import COCOeval

    ev = COCOeval(coco, coco_dt, iouType="bbox")
    ev.params.iouThrs = np.array([iou])
    ev.params.maxDets = [1000]
    ev.params.areaRng = [[0.0, 1e10]]
    ev.params.areaRngLbl = ["all"]
    with contextlib.redirect_stdout(io.StringIO()):
        start, cpu = time.perf_counter(), time.process_time()
        ev.evaluate()
        ev.accumulate()
        seconds = (time.perf_counter() - start, time.process_time() - cpu)
    precision = ev.eval["precision"]  # (T, R, K, A, M)
    ap = {}
    for name, k in cat.items():
        p = precision[0, :, k - 1, 0, 0]
        ap[name] = float(np.mean(p)) if (p > -1).all() else float("nan")
    return ap, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--iou", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="runs of ours (best time reported)")
    args = parser.parse_args()

    gts, dets = make_data(args.images, args.seed)
    n_gt, n_det = sum(len(g) for g in gts), sum(len(d) for d in dets)
    print(f"data: {args.images} images, {n_gt} ground-truth boxes ({n_gt / args.images:.1f}/image), "
          f"{n_det} detections ({n_det / args.images:.1f}/image), {len(CLASSES)} classes, "
          f"IoU {args.iou}")

    coco, coco_dt, cat = coco_objects(gts, dets)
    theirs, coco_seconds = coco_ap(coco, coco_dt, cat, args.iou)

    ious = {c: args.iou for c in CLASSES}
    walls, cpus = [], []
    for _ in range(args.repeats):
        start, cpu = time.perf_counter(), time.process_time()
        ours = evaluate_detection(gts, dets, CLASSES, iou_thresholds=ious, mode="COCO101",
                                  difficulties=("all",), neighbours=None)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)

    print(f"{'class':<12} {'ours AP':>10} {'pycocotools':>12} {'|diff|':>10}")
    diffs = []
    for c in CLASSES:
        a, b = ours.ap[c]["all"], theirs[c]
        diffs.append(abs(a - b))
        print(f"{c:<12} {a:10.6f} {b:12.6f} {abs(a - b):10.2e}")
    max_diff = max(diffs)
    ratio, cpu_ratio = coco_seconds[0] / min(walls), coco_seconds[1] / min(cpus)
    print(f"pycocotools evaluate+accumulate: {coco_seconds[0]:.3f} s wall, {coco_seconds[1]:.3f} s CPU")
    print(f"jupyter_tlt evaluate_detection (COCO101, 1 level), best of {args.repeats}: "
          f"{min(walls):.3f} s wall, {min(cpus):.3f} s CPU")
    print(f"speed ratio: {ratio:.1f}x wall, {cpu_ratio:.1f}x CPU   "
          f"largest AP difference: {max_diff:.2e}")

    def best_of(**kw) -> tuple[float, object]:
        times, result = [], None
        for _ in range(args.repeats):
            start = time.perf_counter()
            result = evaluate_detection(gts, dets, CLASSES, **kw)
            times.append(time.perf_counter() - start)
        return min(times), result

    kitti_seconds, kitti = best_of()
    four_seconds, _ = best_of(difficulties=("easy", "moderate", "hard", "all"))
    print(f"jupyter_tlt KITTI evaluation (SAMPLE, easy/moderate/hard), best of {args.repeats}: "
          f"{kitti_seconds:.3f} s wall; with 'all' too: {four_seconds:.3f} s")
    print(kitti.format_table())
    ok = max_diff < 1e-6 and min(ratio, cpu_ratio) >= 10.0
    print(f"goal (difference < 1e-6, ours >= 10x faster): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
