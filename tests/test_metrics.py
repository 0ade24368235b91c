"""Evaluation metrics (jupyter_tlt.metrics): detection AP against pycocotools and hand-computed
KITTI cases, and classification metrics."""

from __future__ import annotations

import contextlib
import io
import json
import warnings

import numpy as np
import pytest

from jupyter_tlt.data.kitti import KittiObject, write_labels
from jupyter_tlt.errors import DataError
from jupyter_tlt.metrics.kitti_results import load_result_dirs
from jupyter_tlt.metrics import (Detections, GroundTruth, average_precision, evaluate_classification,
                                 evaluate_detection, iou_matrix, match_greedy,
                                 overlap_of_first, precision_recall)

# --- helpers ------------------------------------------------------------------------------------


def gt(*objects, dontcare=()) -> GroundTruth:
    """GroundTruth from (class, x1, y1, x2, y2[, truncation, occlusion]) tuples."""
    rows = [tuple(o) + (0.0, 0)[len(o) - 5:] if len(o) < 7 else tuple(o) for o in objects]
    return GroundTruth(boxes=[r[1:5] for r in rows], classes=[r[0] for r in rows],
                       truncation=[r[5] for r in rows], occlusion=[r[6] for r in rows],
                       dontcare=list(dontcare))


def det(*objects) -> Detections:
    """Detections from (class, x1, y1, x2, y2, score) tuples."""
    return Detections(boxes=[o[1:5] for o in objects], classes=[o[0] for o in objects],
                      scores=[o[5] for o in objects])


def evaluate(gts, dets, classes=("car",), **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return evaluate_detection(gts, dets, list(classes), **kw)


# two cars, 50 px tall (easy), far apart
CAR1 = ("car", 10, 10, 110, 60)
CAR2 = ("car", 300, 10, 400, 60)

# --- pycocotools --------------------------------------------------------------------------------

WIDTH, HEIGHT = 640, 360


def random_scene(rng, n_images, classes, quantize=False):
    gts, dets = [], []
    for _ in range(n_images):
        n = rng.poisson(4)
        w = rng.uniform(8, 120, n)
        h = rng.uniform(8, 120, n)
        x1, y1 = rng.uniform(0, WIDTH - w), rng.uniform(0, HEIGHT - h)
        g = np.stack([x1, y1, x1 + w, y1 + h], 1)
        g_cls = rng.integers(0, len(classes), n)
        near = rng.random(n) < 0.8
        jb = g[near] + rng.normal(0, 6, (int(near.sum()), 4))
        jb[:, 2:] = np.maximum(jb[:, 2:], jb[:, :2] + 1)
        j_cls = np.where(rng.random(len(jb)) < 0.85, g_cls[near],
                         rng.integers(0, len(classes), len(jb)))
        m = rng.poisson(4)
        rw, rh = rng.uniform(8, 120, m), rng.uniform(8, 120, m)
        rx, ry = rng.uniform(0, WIDTH - rw), rng.uniform(0, HEIGHT - rh)
        rb = np.stack([rx, ry, rx + rw, ry + rh], 1)
        boxes = np.concatenate([jb, rb, rb[: m // 3] + 2.0])  # and a few near-duplicates
        cls = np.concatenate([j_cls, rng.integers(0, len(classes), m),
                              rng.integers(0, len(classes), m // 3)])
        scores = rng.random(len(boxes))
        if quantize:
            scores = np.round(scores, 1)  # many ties, within and across images
        names = np.array(classes)
        gts.append(GroundTruth(g, names[g_cls]))
        dets.append(Detections(boxes, names[cls.astype(int)], scores))
    return gts, dets


def coco_ap(gts, dets, classes, iou):
    """Per-class AP from pycocotools at one IoU threshold, area 'all', maxDets 1000."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    cat = {c: k + 1 for k, c in enumerate(classes)}
    images, anns, results = [], [], []
    for i, (g, d) in enumerate(zip(gts, dets)):
        images.append({"id": i + 1, "width": WIDTH, "height": HEIGHT})
        for b, c in zip(g.boxes, g.classes):
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": cat[c],
                         "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]],
                         "area": (b[2] - b[0]) * (b[3] - b[1]), "iscrowd": 0})
        for b, c, s in zip(d.boxes, d.classes, d.scores):
            results.append({"image_id": i + 1, "category_id": cat[c], "score": float(s),
                            "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]]})
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = {"images": images, "annotations": anns,
                        "categories": [{"id": v, "name": k} for k, v in cat.items()]}
        coco.createIndex()
        ev = COCOeval(coco, coco.loadRes(results), iouType="bbox")
        ev.params.iouThrs = np.array([iou])
        ev.params.maxDets = [1000]
        ev.params.areaRng = [[0.0, 1e10]]
        ev.params.areaRngLbl = ["all"]
        ev.evaluate()
        ev.accumulate()
    out = {}
    for c, k in cat.items():
        p = ev.eval["precision"][0, :, k - 1, 0, 0]
        out[c] = None if (p == -1).all() else float(p.mean())
    return out


@pytest.mark.parametrize("seed,iou,quantize", [(0, 0.5, False), (1, 0.7, False), (2, 0.5, True),
                                               (3, 0.3, True)])
def test_matches_pycocotools(seed, iou, quantize):
    pytest.importorskip("pycocotools")
    classes = ["car", "pedestrian", "cyclist"]
    rng = np.random.default_rng(seed)
    gts, dets = random_scene(rng, 150, classes, quantize)
    theirs = coco_ap(gts, dets, classes, iou)
    ours = evaluate(gts, dets, classes, iou_thresholds={c: iou for c in classes}, mode="COCO101",
                    difficulties=("all",), neighbours=None)
    compared = 0
    for c in classes:
        if theirs[c] is None:
            continue
        assert abs(ours.ap[c]["all"] - theirs[c]) < 1e-6, (c, ours.ap[c]["all"], theirs[c])
        assert 0.05 < theirs[c] < 0.95  # a non-trivial value
        compared += 1
    assert compared == len(classes)


# --- hand-computed AP -----------------------------------------------------------------------------

def three_detections():
    """Two cars; detections 0.9 on car 1 (TP), 0.8 a duplicate of it (FP), 0.7 on car 2 (TP):
    precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1."""
    return ([gt(CAR1, CAR2)],
            [det(("car", 10, 10, 110, 60, 0.9), ("car", 11, 10, 111, 60, 0.8),
                 ("car", 300, 10, 400, 60, 0.7))])


def test_sample_integrate_and_coco_modes_by_hand():
    gts, dets = three_detections()
    sample = evaluate(gts, dets, mode="SAMPLE", difficulties=("all",))
    integrate = evaluate(gts, dets, mode="INTEGRATE", difficulties=("all",))
    coco = evaluate(gts, dets, mode="COCO101", difficulties=("all",))
    # SAMPLE: recall points 0..0.5 (6 of 11) reach precision 1, 0.6..1 (5) reach 2/3
    assert sample.ap["car"]["all"] == pytest.approx((6 * 1 + 5 * 2 / 3) / 11)
    # INTEGRATE: 0.5 of recall at precision 1, 0.5 at 2/3
    assert integrate.ap["car"]["all"] == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert coco.ap["car"]["all"] == pytest.approx((51 + 50 * 2 / 3) / 101)
    curve = sample.curves["car"]["all"]
    np.testing.assert_allclose(curve.precision, [1, 0.5, 2 / 3])
    np.testing.assert_allclose(curve.recall, [0.5, 0.5, 1])
    np.testing.assert_allclose(curve.scores, [0.9, 0.8, 0.7])
    assert sample.mode == "SAMPLE" and integrate.mode == "INTEGRATE"
    assert evaluate(gts, dets, mode=1, difficulties=("all",)).mode == "INTEGRATE"  # spec enum


def test_average_precision_functions():
    precision, recall = precision_recall([1, 0, 1, 0], [0, 1, 0, 1], 4)
    np.testing.assert_allclose(precision, [1, 0.5, 2 / 3, 0.5])
    np.testing.assert_allclose(recall, [0.25, 0.25, 0.5, 0.5])
    # INTEGRATE: 0.25 at 1, 0.25 at 2/3, the rest unreached
    assert average_precision(precision, recall, "INTEGRATE") == pytest.approx(0.25 + 0.25 * 2 / 3)
    # SAMPLE: recall 0, 0.1, 0.2 -> 1; 0.3, 0.4, 0.5 -> 2/3; 0.6..1 -> 0
    assert average_precision(precision, recall, "sample") == pytest.approx((3 + 3 * 2 / 3) / 11)
    assert average_precision([], [], "SAMPLE") == 0.0
    with pytest.raises(ValueError, match="SAMPLE"):
        average_precision(precision, recall, "VOC")


def test_integrate_equals_voc2010_area_on_random_curves():
    rng = np.random.default_rng(5)
    for _ in range(20):
        flags = rng.random(60) < 0.5
        precision, recall = precision_recall(flags, ~flags, 45)
        # VOC 2010+: pad with (0, 0) and (1, 0), make precision monotone, sum the steps
        mrec = np.concatenate([[0.0], recall, [1.0]])
        mpre = np.concatenate([[0.0], precision, [0.0]])
        for i in range(len(mpre) - 2, -1, -1):
            mpre[i] = max(mpre[i], mpre[i + 1])
        steps = np.flatnonzero(mrec[1:] != mrec[:-1])
        expected = float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))
        assert average_precision(precision, recall, "INTEGRATE") == pytest.approx(expected)


# --- KITTI semantics ---------------------------------------------------------------------------

def test_difficulty_height_limits():
    tall = ("car", 10, 10, 110, 60)          # 50 px: easy
    short = ("car", 300, 10, 400, 40)        # 30 px: moderate, not easy
    exactly40 = ("car", 500, 10, 600, 50)    # 40 px: not easy (strictly greater than 40)
    gts = [gt(tall, short, exactly40)]
    dets = [det(tall + (0.9,), short + (0.8,))]
    m = evaluate(gts, dets)
    assert m.num_ground_truth["car"] == {"easy": 1, "moderate": 3, "hard": 3}
    # easy: the 30 px box is ignored, and so is the detection on it (not a false positive)
    assert m.ap["car"]["easy"] == pytest.approx(1.0)
    np.testing.assert_allclose(m.curves["car"]["easy"].precision, [1.0])
    # moderate: 2 of 3 found with precision 1 -> SAMPLE: recall points 0..0.6 (7 of 11)
    assert m.ap["car"]["moderate"] == pytest.approx(7 / 11)
    assert m.ap["car"]["hard"] == pytest.approx(7 / 11)


def test_difficulty_occlusion_and_truncation_limits():
    def counts(truncation, occlusion):
        g = gt(("car", 10, 10, 110, 60, truncation, occlusion))
        m = evaluate([g], [det()])
        return tuple(m.num_ground_truth["car"][lv] for lv in ("easy", "moderate", "hard"))

    assert counts(0.0, 0) == (1, 1, 1)
    assert counts(0.0, 1) == (0, 1, 1)
    assert counts(0.0, 2) == (0, 0, 1)   # largely occluded: hard only
    assert counts(0.0, 3) == (0, 0, 0)   # unknown occlusion: beyond hard
    assert counts(0.15, 0) == (1, 1, 1)  # limits are inclusive
    assert counts(0.16, 0) == (0, 1, 1)
    assert counts(0.30, 0) == (0, 1, 1)
    assert counts(0.31, 0) == (0, 0, 1)
    assert counts(0.50, 0) == (0, 0, 1)
    assert counts(0.51, 0) == (0, 0, 0)


def test_ignored_ground_truth_swallows_its_detection_only_once():
    occluded = ("car", 10, 10, 110, 60, 0.0, 2)  # ignored at easy
    gts = [gt(occluded, CAR2)]
    dets = [det(("car", 10, 10, 110, 60, 0.9), ("car", 12, 10, 112, 60, 0.85),
                CAR2 + (0.8,))]
    m = evaluate(gts, dets, difficulties=("easy", "hard"))
    # easy: first detection on the occluded car is ignored, the duplicate is a false positive
    np.testing.assert_allclose(m.curves["car"]["easy"].precision, [0.0, 0.5])
    np.testing.assert_allclose(m.curves["car"]["hard"].precision, [1.0, 0.5, 2 / 3])


def test_small_detections_are_ignored_below_the_level_height():
    gts = [gt(CAR1)]
    dets = [det(CAR1 + (0.9,), ("car", 400, 10, 450, 30, 0.95),   # 20 px, nowhere: ignored
                ("car", 600, 10, 650, 35, 0.97))]                # 25 px: not < 25, a FP
    m = evaluate(gts, dets, difficulties=("moderate", "easy", "all"))
    np.testing.assert_allclose(m.curves["car"]["moderate"].precision, [0.0, 0.5])
    np.testing.assert_allclose(m.curves["car"]["easy"].precision, [1.0])  # both < 40 px
    np.testing.assert_allclose(m.curves["car"]["all"].precision, [0.0, 0.0, 1 / 3])


def test_small_detection_on_a_counted_box_is_ignored_with_it():
    # a 26 px car (moderate) found only by a 24 px detection: neither hit nor miss (devkit)
    gts = [gt(CAR1, ("car", 300, 10, 400, 36))]
    dets = [det(CAR1 + (0.9,), ("car", 300, 11, 400, 35, 0.8))]
    m = evaluate(gts, dets, difficulties=("moderate",))
    assert m.num_ground_truth["car"]["moderate"] == 1
    assert m.ap["car"]["moderate"] == pytest.approx(1.0)


def test_dontcare_swallows_detections():
    region = (500, 0, 700, 100)
    gts = [gt(CAR1, dontcare=[region])]
    inside = ("car", 520, 10, 600, 60, 0.95)      # wholly inside: swallowed
    half = ("car", 460, 10, 540, 60, 0.94)        # half inside: 0.5 < 0.7, a false positive
    m = evaluate(gts, [det(CAR1 + (0.9,), inside, half)], difficulties=("all",))
    np.testing.assert_allclose(m.curves["car"]["all"].precision, [0.0, 0.5])
    # a looser region threshold swallows the half-inside one too (0.5 > 0.4)
    m = evaluate(gts, [det(CAR1 + (0.9,), inside, half)], difficulties=("all",),
                 dontcare_overlap=0.4)
    np.testing.assert_allclose(m.curves["car"]["all"].precision, [1.0])
    assert m.ap["car"]["all"] == pytest.approx(1.0)
    # DontCare rows of a label file become regions, whatever their case
    g = GroundTruth(boxes=[CAR1[1:], region], classes=["Car", "DontCare"])
    assert len(g) == 1 and g.dontcare.tolist() == [list(map(float, region))]


def test_dontcare_never_swallows_a_true_positive():
    gts = [gt(CAR1, dontcare=[(0, 0, 200, 100)])]
    m = evaluate(gts, [det(CAR1 + (0.9,))], difficulties=("all",))
    assert m.ap["car"]["all"] == pytest.approx(1.0)


def test_van_is_neither_hit_nor_miss_for_car():
    van = ("van", 300, 10, 400, 60)
    gts = [gt(CAR1, van)]
    dets = [det(("car", 300, 10, 400, 60, 0.95), CAR1 + (0.9,))]
    m = evaluate(gts, dets)
    assert m.ap["car"]["easy"] == pytest.approx(1.0)
    assert m.num_ground_truth["car"]["easy"] == 1
    np.testing.assert_allclose(m.curves["car"]["easy"].precision, [1.0])
    # without neighbours the detection on the van is a false positive
    m = evaluate(gts, dets, neighbours=None)
    np.testing.assert_allclose(m.curves["car"]["easy"].precision, [0.0, 0.5])
    # Person_sitting likewise for pedestrian; the van itself can be evaluated as a class
    m = evaluate(gts, dets, classes=("car", "van"))
    assert m.num_ground_truth["van"]["easy"] == 1


def test_counted_box_preferred_over_ignored_one():
    # the detection overlaps the ignored van more than the car, but takes the car (COCO's rule)
    gts = [gt(("car", 0, 10, 100, 60), ("van", 20, 10, 120, 60))]
    m = evaluate(gts, [det(("car", 15, 10, 115, 60, 0.9))], difficulties=("all",),
                 iou_thresholds={"car": 0.5})
    assert m.ap["car"]["all"] == pytest.approx(1.0)


def test_class_without_ground_truth_counts_zero_and_warns():
    gts, dets = three_detections()
    with pytest.warns(UserWarning, match="no ground truth for 'pedestrian'"):
        m = evaluate_detection(gts, dets, ["car", "pedestrian"], difficulties=("all",))
    assert m.ap["pedestrian"]["all"] == 0.0
    assert m.mAP["all"] == pytest.approx(m.ap["car"]["all"] / 2)
    assert any("pedestrian" in w for w in m.warnings)
    assert m.num_ground_truth["pedestrian"]["all"] == 0


def test_unknown_detection_classes_are_reported():
    gts, dets = three_detections()
    dets = [Detections(np.concatenate([dets[0].boxes, [[0, 0, 10, 10]]]),
                       [*dets[0].classes, "Truck"], [*dets[0].scores, 0.99])]
    with pytest.warns(UserWarning, match="'truck'"):
        m = evaluate_detection(gts, dets, ["Car"], difficulties=("all",))
    assert m.class_names == ["Car"]  # keyed as given; matched ignoring case
    assert m.num_detections == {"Car": 3} and m.ap["Car"]["all"] > 0.8


def test_box_filters_ignore_ground_truth_and_detections_outside():
    small = ("car", 300, 10, 330, 40)  # 30 x 30
    gts = [gt(CAR1, small)]
    dets = [det(CAR1 + (0.9,), ("car", 500, 10, 530, 40, 0.95))]
    m = evaluate(gts, dets, difficulties=("all",), box_filters={"car": (35, 9999, 0, 9999)})
    assert m.num_ground_truth["car"]["all"] == 1
    assert m.ap["car"]["all"] == pytest.approx(1.0)
    m = evaluate(gts, dets, difficulties=("all",))
    assert m.num_ground_truth["car"]["all"] == 2


def test_per_class_iou_thresholds_and_defaults():
    gts = [gt(("car", 0, 0, 100, 50), ("pedestrian", 200, 0, 240, 100))]
    # IoU 0.6 for both: below car's 0.7, above pedestrian's 0.5
    dets = [det(("car", 0, 0, 100, 30, 0.9), ("pedestrian", 200, 0, 240, 60, 0.9))]
    m = evaluate(gts, dets, classes=("car", "pedestrian"), difficulties=("all",))
    assert m.iou_thresholds == {"car": 0.7, "pedestrian": 0.5}
    assert m.ap["car"]["all"] == 0.0 and m.ap["pedestrian"]["all"] == pytest.approx(1.0)
    m = evaluate(gts, dets, classes=("car", "pedestrian"), difficulties=("all",),
                 iou_thresholds={"car": 0.6})
    assert m.ap["car"]["all"] == pytest.approx(1.0)


def test_images_without_objects_or_detections():
    gts, dets = three_detections()
    m = evaluate([gt(), *gts, gt()], [det(), *dets, det(("car", 0, 0, 50, 50, 0.1))],
                 difficulties=("all",))
    np.testing.assert_allclose(m.curves["car"]["all"].precision, [1, 0.5, 2 / 3, 0.5])
    assert m.num_images == 3
    empty = evaluate([], [], difficulties=("all",))
    assert empty.ap["car"]["all"] == 0.0


def test_bad_arguments():
    with pytest.raises(ValueError, match="one entry per image"):
        evaluate([gt()], [])
    with pytest.raises(ValueError, match="unknown difficulty"):
        evaluate([gt()], [det()], difficulties=("medium",))
    with pytest.raises(ValueError, match="shape"):
        GroundTruth(boxes=[[1, 2, 3]], classes=["car"])
    with pytest.raises(ValueError, match="class names"):
        Detections(boxes=[[0, 0, 1, 1]], classes=[], scores=[0.5])


def reference_kitti_ap(gts, dets, classes, iou, levels, mode, dontcare_overlap):
    """The same KITTI semantics written plainly, one image, class and detection at a time."""
    from jupyter_tlt.data.kitti import DIFFICULTIES

    neighbours = {"car": ["van"], "pedestrian": ["person_sitting"]}
    out = {}
    for c in classes:
        out[c] = {}
        for lv in levels:
            records, npos = [], 0
            for g, d in zip(gts, dets):
                boxes, counts = [], []
                for b, name, tr, oc in zip(g.boxes, g.classes, g.truncation, g.occlusion):
                    h = b[3] - b[1]
                    if name == c:
                        ok = lv == "all" or (h > DIFFICULTIES[lv].min_height and
                                             oc <= DIFFICULTIES[lv].max_occlusion and
                                             tr <= DIFFICULTIES[lv].max_truncation)
                        boxes.append(b)
                        counts.append(ok)
                        npos += ok
                    elif name in neighbours.get(c, []):
                        boxes.append(b)
                        counts.append(False)
                taken = [False] * len(boxes)
                mine = [k for k in np.argsort(-d.scores, kind="stable") if d.classes[k] == c]
                for k in mine:
                    db = d.boxes[k]
                    small = lv != "all" and db[3] - db[1] < DIFFICULTIES[lv].min_height
                    best, best_iou = None, -1.0
                    for want in (True, False):
                        for gi, b in enumerate(boxes):
                            o = iou_matrix([db], [b])[0, 0]
                            if not taken[gi] and counts[gi] == want and o >= iou and o > best_iou:
                                best, best_iou = gi, o
                        if best is not None:
                            break
                    if best is not None:
                        taken[best] = True
                        if counts[best] and small:
                            npos -= 1
                        elif counts[best]:
                            records.append((d.scores[k], True))
                        continue
                    swallowed = any(overlap_of_first([db], [r])[0, 0] > dontcare_overlap
                                    for r in g.dontcare)
                    if not small and not swallowed:
                        records.append((d.scores[k], False))
            flags = [f for _, f in sorted(records, key=lambda r: -r[0])]  # stable: image order
            tp = np.array(flags, dtype=bool)
            precision, recall = precision_recall(tp, ~tp, npos)
            out[c][lv] = average_precision(precision, recall, mode) if npos else 0.0
    return out


def kitti_scene(rng, n_images):
    names = np.array(["car", "van", "pedestrian", "person_sitting", "cyclist", "truck"])
    gts, dets = [], []
    for _ in range(n_images):
        n = rng.poisson(5)
        w, h = rng.uniform(10, 120, n), rng.uniform(15, 90, n)
        x1, y1 = rng.uniform(0, 500, n), rng.uniform(0, 250, n)
        boxes = np.stack([x1, y1, x1 + w, y1 + h], 1)
        cls = names[rng.integers(0, len(names), n)]
        trunc = rng.choice([0.0, 0.1, 0.2, 0.4, 0.6], n)
        occ = rng.integers(0, 4, n)
        dc = boxes[:1] + 40 if rng.random() < 0.5 else np.zeros((0, 4))
        gts.append(GroundTruth(boxes, cls, trunc, occ, dontcare=dc))
        near = boxes + rng.normal(0, 5, boxes.shape)
        near[:, 2:] = np.maximum(near[:, 2:], near[:, :2] + 1)
        m = rng.poisson(3)
        rx, ry = rng.uniform(0, 500, m), rng.uniform(0, 250, m)
        rand = np.stack([rx, ry, rx + rng.uniform(5, 100, m), ry + rng.uniform(5, 80, m)], 1)
        d_boxes = np.concatenate([near, rand])
        d_cls = np.where(rng.random(len(d_boxes)) < 0.7,
                         np.concatenate([cls, names[rng.integers(0, 6, m)]]),
                         names[rng.integers(0, 6, len(d_boxes))])
        dets.append(Detections(d_boxes, d_cls, np.round(rng.random(len(d_boxes)), 2)))
    return gts, dets


@pytest.mark.parametrize("seed,mode", [(0, "SAMPLE"), (1, "INTEGRATE"), (2, "COCO101")])
def test_kitti_semantics_match_a_plain_reference(seed, mode):
    rng = np.random.default_rng(seed)
    gts, dets = kitti_scene(rng, 40)
    classes = ["car", "pedestrian", "cyclist"]
    levels = ("easy", "moderate", "hard", "all")
    ours = evaluate(gts, dets, classes, iou_thresholds={c: 0.5 for c in classes}, mode=mode,
                    difficulties=levels, dontcare_overlap=0.5)
    expected = reference_kitti_ap(gts, dets, classes, 0.5, levels, mode, 0.5)
    for c in classes:
        for lv in levels:
            assert ours.ap[c][lv] == pytest.approx(expected[c][lv], abs=1e-12), (c, lv)
    assert len({round(ours.ap[c][lv], 6) for c in classes for lv in levels}) > 4  # not trivial


# --- matching primitives -------------------------------------------------------------------------

def test_iou_and_overlap_without_plus_one():
    a = [[0, 0, 10, 10]]
    b = [[5, 0, 15, 10], [20, 20, 30, 30]]
    np.testing.assert_allclose(iou_matrix(a, b), [[50 / 150, 0.0]])
    np.testing.assert_allclose(overlap_of_first(a, b), [[0.5, 0.0]])
    assert iou_matrix(np.zeros((0, 4)), b).shape == (0, 2)


def test_match_greedy_takes_best_free_box_in_score_order():
    # two detections (by score) against two boxes; the first takes its best, the second the rest
    iou = np.array([[[0.6, 0.8], [0.9, 0.55]]])
    match, matched_valid = match_greedy(iou, np.ones((1, 1, 2), bool), [0.5])
    assert match.tolist() == [[[1, 0]]] and matched_valid.all()
    match, _ = match_greedy(iou, np.ones((1, 1, 2), bool), [0.7])
    assert match.tolist() == [[[1, 0]]]
    match, _ = match_greedy(iou, np.ones((1, 1, 2), bool), [0.85])
    assert match.tolist() == [[[-1, 0]]]


# --- results ------------------------------------------------------------------------------------

def kitti_metrics():
    gts = [gt(CAR1, ("car", 300, 10, 400, 40), ("pedestrian", 500, 10, 530, 90),
              ("cyclist", 600, 0, 640, 70))]
    dets = [det(CAR1 + (0.9,), ("car", 300, 10, 400, 40, 0.8), ("pedestrian", 500, 10, 530, 90, 0.7),
                ("cyclist", 100, 100, 140, 170, 0.6))]
    return evaluate(gts, dets, classes=("car", "cyclist", "pedestrian"))


def test_table_frame_and_dict():
    m = kitti_metrics()
    table = m.format_table()
    lines = table.splitlines()
    assert lines[0] == lines[2] == lines[-1]
    assert set(lines[0]) == {"=", " "}
    assert lines[1].split() == ["class", "mAP", "easy", "moderate", "hard"]
    assert lines[3].split() == ["car", "100.00", "100.00", "100.00"]
    assert lines[4].split() == ["cyclist", "0.00", "0.00", "0.00"]
    assert lines[-2].split()[0] == "mAP"
    # the seed's layout: rules as wide as the widest cell (header + 2), cells centred
    assert lines[0].startswith("===========  ======  ==========  ======")
    assert lines[3].startswith("    car      100.00")
    frame = m.to_frame()
    assert list(frame.columns) == ["easy", "moderate", "hard"]
    assert list(frame.index) == ["car", "cyclist", "pedestrian", "mAP"]
    assert frame.loc["car", "easy"] == pytest.approx(100.0)
    assert frame.loc["mAP", "easy"] == pytest.approx(200.0 / 3)
    d = json.loads(json.dumps(m.to_dict()))
    assert d["ap"]["car"]["moderate"] == pytest.approx(1.0)
    assert d["mAP"]["easy"] == pytest.approx(2 / 3)
    assert len(d["curves"]["car"]["easy"]["recall"]) == 101
    html = m._repr_html_()
    assert "<table" in html and "pedestrian" in html and "100.00" in html


def test_plot_pr_and_confusion_draw(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = kitti_metrics().plot_pr()
    assert len(ax.get_lines()) == 3 and "moderate" in ax.get_title()
    ax.figure.savefig(tmp_path / "pr.png")
    c = evaluate_classification([0, 1, 2], np.eye(3), ["a", "b", "c"])
    ax = c.plot_confusion()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    ax.figure.savefig(tmp_path / "cm.png")
    plt.close("all")


# --- KITTI files --------------------------------------------------------------------------------

def kobj(cls, x1, y1, x2, y2, score=None, truncated=0.0, occluded=0):
    return KittiObject(cls, truncated, occluded, 0.0, x1, y1, x2, y2, 1.5, 1.6, 3.9, 1.0, 1.5,
                       20.0, 0.0, score=score)


def test_from_kitti_and_label_directories(tmp_path):
    labels, results = tmp_path / "label_2", tmp_path / "results"
    labels.mkdir()
    results.mkdir()
    write_labels(labels / "000001.txt", [kobj("Car", *CAR1[1:]), kobj("Van", 300, 10, 400, 60),
                                         kobj("DontCare", 500, 0, 700, 100)])
    write_labels(labels / "000002.txt", [kobj("Car", *CAR2[1:], occluded=1)])
    write_labels(results / "000001.txt", [kobj("Car", *CAR1[1:], score=0.9),
                                          kobj("Car", 300, 10, 400, 60, score=0.8),
                                          kobj("Car", 520, 10, 600, 60, score=0.7)])
    # 000002 has no result file: no detections there
    gts, dets, _ = load_result_dirs(labels, results)
    assert [g.name for g in gts] == ["000001", "000002"]
    assert gts[0].classes.tolist() == ["car", "van"] and len(gts[0].dontcare) == 1
    assert len(dets[1]) == 0
    m = evaluate(gts, dets)
    assert m.num_ground_truth["car"] == {"easy": 1, "moderate": 2, "hard": 2}
    assert m.ap["car"]["easy"] == pytest.approx(1.0)
    np.testing.assert_allclose(m.curves["car"]["moderate"].precision, [1.0])
    assert m.curves["car"]["moderate"].recall.tolist() == [0.5]
    # lists of KittiObject are accepted directly
    m2 = evaluate([[kobj("Car", *CAR1[1:])]], [[kobj("Car", *CAR1[1:], score=0.5)]])
    assert m2.ap["car"]["easy"] == pytest.approx(1.0)


def test_detection_file_without_scores_is_an_error(tmp_path):
    labels, results = tmp_path / "label_2", tmp_path / "results"
    labels.mkdir()
    results.mkdir()
    write_labels(labels / "a.txt", [kobj("Car", *CAR1[1:])])
    write_labels(results / "a.txt", [kobj("Car", *CAR1[1:])])
    with pytest.raises(DataError, match=r"a\.txt:1: .*score"):
        load_result_dirs(labels, results)
    with pytest.raises(DataError, match="not found"):
        load_result_dirs(tmp_path / "missing", results)
    with pytest.raises(DataError, match="score"):
        Detections.from_kitti([kobj("Car", *CAR1[1:])])


# --- classification -----------------------------------------------------------------------------

def test_classification_by_hand():
    names = ["a", "b", "c", "d", "e", "f"]
    probs = np.array([
        [0.90, 0.02, 0.02, 0.02, 0.02, 0.02],   # true a: top-1
        [0.50, 0.40, 0.04, 0.03, 0.02, 0.01],   # true b: predicted a, top-2
        [0.05, 0.10, 0.15, 0.20, 0.25, 0.25],   # true a: rank 6 -> outside top-5
        [0.00, 0.00, 0.10, 0.80, 0.05, 0.05],   # true d: top-1
    ])
    y = np.array([0, 1, 0, 3])
    m = evaluate_classification(y, probs, names)
    assert m.k == 5
    assert m.top1 == pytest.approx(0.5)
    assert m.top5 == pytest.approx(0.75)
    expected = np.zeros((6, 6), int)
    expected[0, 0] = expected[1, 0] = expected[0, 4] = expected[3, 3] = 1
    np.testing.assert_array_equal(m.confusion, expected)
    np.testing.assert_allclose(m.precision[[0, 1, 3, 4]], [0.5, 0.0, 1.0, 0.0])
    np.testing.assert_allclose(m.recall[[0, 1, 3]], [0.5, 0.0, 1.0])
    np.testing.assert_allclose(m.f1[[0, 3]], [0.5, 1.0])
    assert m.support.tolist() == [2, 1, 0, 1, 0, 0]
    frame = m.to_frame()
    assert list(frame.index)[-1] == "macro avg" and frame.loc["d", "precision"] == 100.0
    text = m.format_table()
    assert "top-1 accuracy: 50.00 %" in text and "top-5 accuracy: 75.00 %" in text
    assert json.loads(json.dumps(m.to_dict()))["confusion"][1][0] == 1
    assert "<table" in m._repr_html_()


def test_classification_top_k_with_few_classes_and_ties():
    m = evaluate_classification([1, 0], [[0.5, 0.5], [0.5, 0.5]], ["x", "y"])
    assert m.k == 2 and m.top5 == 1.0
    assert m.top1 == 0.5  # a tie goes to the lower index, as argmax does
    with pytest.raises(ValueError, match="shape"):
        evaluate_classification([0], [[1.0, 0.0]], ["x"])
    with pytest.raises(ValueError, match="indices"):
        evaluate_classification([2], [[1.0, 0.0]], ["x", "y"])


def test_no_ground_truth_warning_tells_missing_labels_from_ignored_ones():
    # road signs exist but are all 20 px tall: ignored at every KITTI level, counted at "all"
    sign = ("road_sign", 300, 10, 320, 30)
    gts = [gt(CAR1, sign), gt(sign)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = evaluate_detection(gts, [det(CAR1 + (0.9,)), det()], ["car", "road_sign", "cyclist"],
                               difficulties=("easy", "moderate", "hard", "all"))
    texts = [str(w.message) for w in caught]
    assert texts == m.warnings and len(texts) == 2
    ignored = next(t for t in texts if "'road_sign'" in t)
    assert ignored.startswith("no ground truth for 'road_sign' at easy, moderate and hard: all 2 labels")
    assert "2 not taller than 25 px" in ignored and "larger images" in ignored and "'all' level" in ignored
    missing = next(t for t in texts if "'cyclist'" in t)
    assert "no labels of this class in the 2 images" in missing and "target_class_mapping" in missing
    assert m.num_ground_truth["road_sign"]["all"] == 2 and m.ap["road_sign"]["moderate"] == 0.0
