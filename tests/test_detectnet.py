"""DetectNet_v2 targets, losses and post-processing: rasterize -> decode + cluster gives the boxes back."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from jupyter_tlt import SpecError
from jupyter_tlt.tasks.detectnet_v2 import OUTPUT_BBOX, OUTPUT_COV, RasterizerConfig, target_fn, with_targets
from jupyter_tlt.tasks.detectnet_v2.loss import LossConfig, loss_weights, losses_from_config, make_losses
from jupyter_tlt.tasks.detectnet_v2.postprocess import (ImageDetections, PostprocessConfig, cluster, decode,
                                               neighbour_pairs, pairwise_iou, postprocess)
from jupyter_tlt.tasks.detectnet_v2.rasterize import grid_size, pack_targets, rasterize
from jupyter_tlt.spec import load_experiment_spec
from jupyter_tlt.tf_import import tensorflow

CLASSES = ["car", "pedestrian", "cyclist"]
H, W = 256, 480
GH, GW = H // 16, W // 16


def targets(boxes, classes, config=None, num_classes=3, grid=(GH, GW)):
    config = config or RasterizerConfig.default(num_classes)
    cov, bbox, weight = rasterize(np.asarray(boxes, np.float32), np.asarray(classes, np.int32),
                                  num_classes, *grid, config)
    return cov.numpy(), bbox.numpy(), weight.numpy()


def separated_boxes(rng, count, height=H, width=W, gap=12.0, sizes=(20, 200)):
    """Random boxes 20-200 px that keep `gap` px apart (so their coverage ellipses do not touch)."""
    boxes = []
    for _ in range(2000):
        w, h = rng.uniform(*sizes, size=2)
        if w > width or h > height:
            continue
        x1, y1 = rng.uniform(0, width - w), rng.uniform(0, height - h)
        box = np.array([x1, y1, x1 + w, y1 + h])
        if all(box[0] - gap > b[2] or b[0] - gap > box[2] or box[1] - gap > b[3] or b[1] - gap > box[3]
               for b in boxes):
            boxes.append(box)
            if len(boxes) == count:
                break
    return np.array(boxes, np.float32)


def batch_of_scenes(seed, images=3, objects=6, num_classes=3):
    rng = np.random.default_rng(seed)
    scenes = [separated_boxes(rng, objects) for _ in range(images)]
    n = max(len(s) for s in scenes)
    boxes = np.zeros((images, n + 2, 4), np.float32)      # +2: padding like the loader's
    classes = -np.ones((images, n + 2), np.int32)
    for i, scene in enumerate(scenes):
        boxes[i, :len(scene)] = scene
        classes[i, :len(scene)] = rng.integers(0, num_classes, len(scene))
    return boxes, classes


def assert_recovered(detections, boxes, classes):
    """Every ground-truth box found once, with its class and IoU > 0.95; nothing else."""
    for image_dets, gt_boxes, gt_classes in zip(detections, boxes, classes):
        valid = gt_classes >= 0
        gt_boxes, gt_classes = gt_boxes[valid], gt_classes[valid]
        assert len(image_dets) == len(gt_boxes)
        iou = pairwise_iou(gt_boxes.astype(np.float64), image_dets.boxes.astype(np.float64))
        best = iou.argmax(axis=1)
        assert (iou.max(axis=1) > 0.95).all()
        assert sorted(best.tolist()) == list(range(len(gt_boxes)))
        np.testing.assert_array_equal(image_dets.classes[best], gt_classes)


# ---- rasterize -> decode + cluster inverts -------------------------------------------------------

@pytest.mark.parametrize("algorithm", ["dbscan", "nms"])
def test_targets_fed_as_outputs_give_the_boxes_back(algorithm):
    boxes, classes = batch_of_scenes(seed=1, images=4, objects=7)
    heights = (boxes[..., 3] - boxes[..., 1])[classes >= 0]
    assert heights.min() < 60 and heights.max() > 100          # small and large objects
    cov, bbox, _ = targets(boxes, classes)
    config = PostprocessConfig.default(CLASSES, algorithm=algorithm)
    detections = postprocess(cov, bbox, config)
    assert len(detections) == 4
    assert_recovered(detections, boxes, classes)
    for dets in detections:
        assert dets.boxes.dtype == np.float32 and dets.classes.dtype == np.int32
        assert (np.diff(dets.scores) <= 0).all()                 # highest score first
        if algorithm == "dbscan":  # summed coverage: one per covered cell of the object
            assert (dets.scores >= 1).all()
        else:
            np.testing.assert_allclose(dets.scores, 1.0)


def test_mixed_algorithms_per_class_and_decode_candidates():
    boxes, classes = batch_of_scenes(seed=2, images=2, objects=6)
    cov, bbox, _ = targets(boxes, classes)
    config = PostprocessConfig.default(CLASSES)
    config = replace(config, classes=(config.classes[0], replace(config.classes[1], algorithm="nms"),
                                      config.classes[2]))
    assert_recovered(postprocess(cov, bbox, config), boxes, classes)
    candidates = decode(cov, bbox, config)
    assert [len(c) for c in candidates] == [int((cov[i] > 0.005).sum()) for i in range(2)]
    # every candidate decodes to its object's box exactly
    for cand, gt_boxes, gt_classes in zip(candidates, boxes, classes):
        iou = pairwise_iou(cand.boxes.astype(np.float64), gt_boxes.astype(np.float64))
        assert (iou.max(axis=1) > 0.9999).all()
        np.testing.assert_array_equal(gt_classes[iou.argmax(axis=1)], cand.classes)


def test_cluster_one_image_equals_postprocess():
    boxes, classes = batch_of_scenes(seed=3, images=1, objects=5)
    cov, bbox, _ = targets(boxes, classes)
    config = PostprocessConfig.default(CLASSES)
    [candidates] = decode(cov, bbox, config)
    single = cluster(candidates, config)
    [batch] = postprocess(cov, bbox, config)
    np.testing.assert_allclose(single.boxes, batch.boxes)
    np.testing.assert_array_equal(single.classes, batch.classes)


# ---- rasterizer semantics ------------------------------------------------------------------------

def reference_rasterize(boxes, classes, num_classes, gh, gw, config):
    """The documented semantics, one object at a time (painting order: bottom y, then area)."""
    stride = config.stride
    cov = np.zeros((len(boxes), gh, gw, num_classes), np.float32)
    bbox = np.zeros((len(boxes), gh, gw, 4 * num_classes), np.float32)
    near = np.zeros_like(cov, bool)
    py, px = np.meshgrid((np.arange(gh) + 0.5) * stride, (np.arange(gw) + 0.5) * stride, indexing="ij")
    ay, ax = np.meshgrid((np.arange(gh) + config.offset) * stride,
                         (np.arange(gw) + config.offset) * stride, indexing="ij")
    for b in range(len(boxes)):
        objects = [(o[3], (o[2] - o[0]) * (o[3] - o[1]), i) for i, o in enumerate(boxes[b])
                   if 0 <= classes[b, i] < num_classes and o[2] > o[0] and o[3] > o[1]]
        for _, _, i in sorted(objects):                          # stable: lower index first on ties
            x1, y1, x2, y2 = boxes[b, i]
            c = classes[b, i]
            w, h = x2 - x1, y2 - y1
            ex, ey = x1 + config.cov_center_x[c] * w, y1 + config.cov_center_y[c] * h
            rx = max(config.cov_radius_x[c] * w / 2, config.bbox_min_radius[c] * stride)
            ry = max(config.cov_radius_y[c] * h / 2, config.bbox_min_radius[c] * stride)
            d2 = ((px - ex) / rx) ** 2 + ((py - ey) / ry) ** 2
            inside = d2 <= 1
            row, col = int(np.floor(ey / stride)), int(np.floor(ex / stride))
            if 0 <= row < gh and 0 <= col < gw:
                inside[row, col] = True
            near[b, ..., c] |= d2 <= (1 + config.deadzone_radius) ** 2
            cov[b, inside, c] = 1
            edges = np.stack([(x1 - ax), (y1 - ay), (x2 - ax), (y2 - ay)], -1) / config.scale
            bbox[b, inside, 4 * c:4 * c + 4] = edges[inside]
    weight = np.where(near & (cov == 0), 0.0, 1.0).astype(np.float32)
    return cov, bbox, weight


def test_vectorised_rasterizer_matches_the_one_object_at_a_time_reference():
    rng = np.random.default_rng(7)
    boxes = np.zeros((3, 10, 4), np.float32)
    classes = -np.ones((3, 10), np.int32)
    for b, n in enumerate([9, 4, 0]):  # overlapping objects of all classes, one empty image
        xy = rng.uniform(0, [W - 40, H - 40], size=(n, 2))
        wh = rng.uniform(10, 160, size=(n, 2))
        boxes[b, :n] = np.concatenate([xy, np.minimum(xy + wh, [W, H])], axis=1)
        classes[b, :n] = rng.integers(0, 3, n)
    boxes[0, 8] = [50, 50, 50, 90]                                  # degenerate: ignored
    config = RasterizerConfig(cov_center_x=(0.5, 0.4, 0.5), cov_center_y=(0.5, 0.6, 0.3),
                              cov_radius_x=(1.0, 0.6, 0.8), cov_radius_y=(1.0, 0.8, 0.5),
                              bbox_min_radius=(1.0, 0.5, 0.0), deadzone_radius=0.5)
    got = targets(boxes, classes, config)
    want = reference_rasterize(boxes, classes, 3, GH, GW, config)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=1e-5)
    assert got[0][0].sum() > 20 and got[0][2].min() == 0       # the case is not trivial


def test_ellipse_shape_centre_and_outside():
    config = RasterizerConfig.default(1)
    box = [96, 64, 224, 160]                                     # 128 x 96 px: 8 x 6 cells
    cov, bbox, weight = targets([[box]], [[0]], config, num_classes=1)
    cov, weight = cov[0, ..., 0], weight[0, ..., 0]
    assert cov[7, 10] == 1 and cov[6, 9] == 1                    # the cells around the centre (160, 112)
    rows, cols = np.nonzero(cov)
    assert rows.min() >= 4 and rows.max() <= 9 and cols.min() >= 6 and cols.max() <= 13
    assert cov[4, 6] == 0 and cov[9, 13] == 0                    # box corners are outside the ellipse
    assert cov[:, :6].sum() == 0 and cov[:, 14:].sum() == 0 and cov[:4].sum() == 0 and cov[10:].sum() == 0
    assert weight[4, 6] == 0 and weight[9, 13] == 0              # ... and in the deadzone
    assert weight[cov == 1].min() == 1                           # covered cells always count
    assert weight[0, 0] == 1 and weight[15, 29] == 1             # far away: plain background
    # the ellipse is symmetric about the box centre
    np.testing.assert_array_equal(cov[4:10, 6:14], cov[4:10, 6:14][::-1, ::-1])
    # bbox target at a covered cell: the edges relative to the cell centre, / 35
    np.testing.assert_allclose(bbox[0, 7, 10], np.subtract(box, [168, 120, 168, 120]) / 35, atol=1e-6)
    assert (bbox[0][cov == 0] == 0).all()


def test_small_objects_get_the_minimum_radius_and_always_their_centre_cell():
    cov, _, _ = targets([[[100, 100, 104, 104]]], [[0]], num_classes=1)
    assert cov[0, 6, 6, 0] == 1 and cov.sum() >= 1              # a 4 px object still has its cell
    config = RasterizerConfig(cov_center_x=(0.5,), cov_center_y=(0.5,), cov_radius_x=(1.0,),
                              cov_radius_y=(1.0,), bbox_min_radius=(0.0,))
    cov, _, _ = targets([[[100, 100, 104, 104]]], [[0]], config, num_classes=1)
    assert cov.sum() == 1 and cov[0, 6, 6, 0] == 1


def test_class_channels_are_separate():
    boxes = [[[40, 40, 200, 200], [80, 80, 160, 240]]]
    cov, bbox, weight = targets(boxes, [[0, 2]])
    assert cov[..., 1].sum() == 0 and (weight[..., 1] == 1).all()   # nobody of class 1
    both = (cov[0, ..., 0] == 1) & (cov[0, ..., 2] == 1)
    assert both.sum() > 4                                        # overlapping, each in its channel
    r, c = np.argwhere(both)[0]
    anchor = np.array([c + 0.5, r + 0.5, c + 0.5, r + 0.5]) * 16
    np.testing.assert_allclose(bbox[0, r, c, 0:4] * 35 + anchor, boxes[0][0], atol=1e-4)
    np.testing.assert_allclose(bbox[0, r, c, 8:12] * 35 + anchor, boxes[0][1], atol=1e-4)
    assert (bbox[0, ..., 4:8] == 0).all()


def test_the_nearer_object_wins_overlapping_cells_of_a_class():
    far, near = [40, 40, 200, 150], [120, 60, 260, 200]          # near: bottom edge lower in the image
    for order in ([far, near], [near, far]):                     # independent of the label order
        cov, bbox, _ = targets([order], [[0, 0]], num_classes=1)
        anchor = np.array([9.5, 7.5, 9.5, 7.5]) * 16             # cell (7, 9): inside both ellipses
        np.testing.assert_allclose(bbox[0, 7, 9] * 35 + anchor, near, atol=1e-4)
        assert cov[0, 7, 9, 0] == 1
    # equal bottoms: the larger box wins
    small, large = [100, 100, 180, 200], [60, 40, 220, 200]
    _, bbox, _ = targets([[large, small]], [[0, 0]], num_classes=1)
    np.testing.assert_allclose(bbox[0, 9, 8] * 35 + np.array([8.5, 9.5, 8.5, 9.5]) * 16, large, atol=1e-4)


def test_batch_equals_images_one_by_one():
    boxes, classes = batch_of_scenes(seed=4, images=4, objects=5)
    whole = targets(boxes, classes)
    for i in range(4):
        keep = classes[i] >= 0
        alone = targets(boxes[i:i + 1, keep], classes[i:i + 1, keep])
        for w, a in zip(whole, alone):
            np.testing.assert_array_equal(w[i:i + 1], a)


def test_empty_images_give_zero_targets_and_no_detections():
    for boxes, classes in ((np.zeros((2, 3, 4)), -np.ones((2, 3))), (np.zeros((2, 0, 4)), np.zeros((2, 0)))):
        cov, bbox, weight = targets(boxes, classes)
        assert cov.shape == (2, GH, GW, 3) and bbox.shape == (2, GH, GW, 12)
        assert not cov.any() and not bbox.any() and (weight == 1).all()
        for algorithm in ("dbscan", "nms"):
            detections = postprocess(cov, bbox, PostprocessConfig.default(CLASSES, algorithm=algorithm))
            assert [len(d) for d in detections] == [0, 0]
            assert detections[0].boxes.shape == (0, 4)


def test_grid_size_needs_multiples_of_the_stride():
    assert grid_size(256, 480) == (16, 30)
    with pytest.raises(SpecError, match="multiples of 16.*496x256"):
        grid_size(256, 490)


# ---- configs from specs --------------------------------------------------------------------------

SPEC = {
    "model_config": {"arch": "resnet", "num_layers": 18,
                     "objective_set": {"bbox": {"scale": 30.0, "offset": 0.25}}},
    "bbox_rasterizer_config": {"deadzone_radius": 0.4, "target_class_config": {
        "Car": {"cov_radius_x": 0.5, "bbox_min_radius": 0.75}}},
    "postprocessing_config": {"target_class_config": {
        "car": {"clustering_config": {"clustering_algorithm": "NMS", "nms_iou_threshold": 0.3,
                                      "minimum_bounding_box_height": 8}},
        "pedestrian": {"clustering_config": {"dbscan_eps": 0.2, "coverage_threshold": 0.1}}}},
    "cost_function_config": {"target_classes": [
        {"name": "car", "class_weight": 2.0, "coverage_foreground_weight": 0.1,
         "objectives": [{"name": "cov", "initial_weight": 1.5}, {"name": "bbox", "initial_weight": 10.0}]},
        {"name": "pedestrian", "objectives": [{"name": "cov"}, {"name": "bbox"}]}]},
}


def test_configs_from_a_spec_with_per_class_values_and_defaults():
    spec = load_experiment_spec(SPEC)
    raster = RasterizerConfig.from_spec(spec, CLASSES)
    assert raster.cov_radius_x == (0.5, 1.0, 1.0)                # "Car" matches "car"
    assert raster.bbox_min_radius == (0.75, 1.0, 1.0) and raster.deadzone_radius == 0.4
    assert (raster.scale, raster.offset, raster.stride) == (30.0, 0.25, 16)
    post = PostprocessConfig.from_spec(spec, CLASSES)
    assert [c.algorithm for c in post.classes] == ["nms", "dbscan", "dbscan"]
    assert post.classes[0].nms_iou_threshold == 0.3 and post.classes[0].minimum_bounding_box_height == 8
    assert post.classes[1].dbscan_eps == 0.2 and post.classes[1].coverage_threshold == 0.1
    assert post.classes[2].dbscan_eps == 0.13 and post.classes[2].coverage_threshold == 0.005
    assert post.classes[2].minimum_bounding_box_height == 20 and (post.scale, post.offset) == (30.0, 0.25)
    weights = LossConfig.from_spec(spec, CLASSES)
    assert weights.class_weight == (2.0, 1.0, 1.0)
    assert weights.coverage_foreground_weight == (0.1, 1.0, 1.0)
    assert weights.cov_weight == (1.5, 1.0, 1.0) and weights.bbox_weight == (10.0, 1.0, 1.0)


def test_spec_encoding_round_trips_and_unknown_classes_warn():
    spec = load_experiment_spec(SPEC)
    boxes, classes = batch_of_scenes(seed=5, images=2, objects=5)
    cov, bbox, _ = targets(boxes, classes, RasterizerConfig.from_spec(spec, CLASSES))
    post = PostprocessConfig.from_spec(spec, CLASSES).with_all(minimum_bounding_box_height=1)
    assert_recovered(postprocess(cov, bbox, post), boxes, classes)   # scale 30, offset 0.25
    with pytest.warns(UserWarning, match="'pedestrian' is not one of the model's classes"):
        PostprocessConfig.from_spec(spec, ["car", "truck"])


# ---- clustering details --------------------------------------------------------------------------

def jittered_candidates(rng, objects=8, per_object=12, noise=40):
    """Candidate boxes like a real model's: jittered copies around objects, plus scattered noise."""
    centres = rng.uniform(60, 400, size=(objects, 2))
    sizes = rng.uniform(20, 120, size=(objects, 2))
    base = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)
    boxes = np.repeat(base, per_object, axis=0) + rng.normal(0, 1.5, (objects * per_object, 4))
    corner = rng.uniform(0, 400, (noise, 2))
    scattered = np.concatenate([corner, corner + rng.uniform(5, 80, (noise, 2))], axis=1)
    boxes = np.concatenate([boxes, scattered])
    scores = np.concatenate([rng.uniform(0.05, 1.0, objects * per_object), rng.uniform(0.005, 0.06, noise)])
    classes = rng.integers(0, 3, len(scores))
    return ImageDetections(boxes.astype(np.float32), classes.astype(np.int32), scores.astype(np.float32))


def sklearn_dbscan_reference(candidates, config):
    from sklearn.cluster import DBSCAN

    out = []
    for c in range(config.num_classes):
        mine = candidates.classes == c
        boxes = candidates.boxes[mine].astype(np.float64)
        scores = candidates.scores[mine].astype(np.float64)
        if not len(scores):
            continue
        params = config.classes[c]
        labels = DBSCAN(eps=params.dbscan_eps, min_samples=1, metric="precomputed").fit(
            1.0 - pairwise_iou(boxes, boxes), sample_weight=scores / params.dbscan_min_samples).labels_
        for k in range(labels.max() + 1):
            member = labels == k
            total = scores[member].sum()
            box = (boxes[member] * scores[member, None]).sum(0) / total
            if total >= params.dbscan_confidence_threshold and \
                    box[3] - box[1] >= params.minimum_bounding_box_height:
                out.append((c, total, *box))
    return np.array(sorted(out))


@pytest.mark.parametrize("threshold", [0.3, 0.87])
def test_neighbour_pairs_equal_the_brute_force_ones(threshold):
    rng = np.random.default_rng(8)
    corner = rng.uniform(0, 100, (300, 2))
    boxes = np.concatenate([corner, corner + rng.uniform(2, 120, (300, 2))], axis=1)  # widths 2-120
    boxes[:40] = boxes[40:80] + rng.normal(0, 0.5, (40, 4))      # near duplicates
    group = rng.integers(0, 3, 300)
    group[:40] = group[40:80]
    src, dst = neighbour_pairs(boxes, group, np.full(300, threshold))
    got = set(zip(src.tolist(), dst.tolist()))
    want = pairwise_iou(boxes, boxes) >= threshold
    want &= group[:, None] == group[None, :]
    assert len(got) == len(src) and got == set(zip(*map(np.ndarray.tolist, np.nonzero(want))))
    assert want.sum() - 300 >= 50                                # more than the diagonal


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dbscan_matches_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    candidates = jittered_candidates(rng)
    config = PostprocessConfig.default(CLASSES, dbscan_min_samples=0.3, dbscan_confidence_threshold=0.2,
                                       minimum_bounding_box_height=10)
    config = replace(config, classes=(config.classes[0], replace(config.classes[1], dbscan_eps=0.25),
                                      config.classes[2]))
    got = cluster(candidates, config)
    mine = np.array(sorted(zip(got.classes, got.scores, *got.boxes.T)))
    want = sklearn_dbscan_reference(candidates, config)
    assert len(want) > 8 and mine.shape == want.shape
    np.testing.assert_allclose(mine, want, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("order", [[0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 3, 4, 1, 0]])
def test_dbscan_border_points_join_the_cluster_scikit_learn_picks(order):
    # x1 - v1 - u - v2 - x2 along x: neighbours only next to each other (IoU 0.82 vs eps 0.25);
    # x and v are core (summed coverage >= 0.3), u is a border point of both clusters
    shifts = np.array([0, 10, 20, 30, 40], np.float32)[order]
    boxes = np.stack([shifts, np.zeros(5), shifts + 100, np.full(5, 100)], axis=1).astype(np.float32)
    scores = np.array([0.2, 0.1, 0.01, 0.1, 0.2], np.float32)[order]
    candidates = ImageDetections(boxes, np.zeros(5, np.int32), scores)
    config = PostprocessConfig.default(1, dbscan_eps=0.25, dbscan_min_samples=0.3)
    got = cluster(candidates, config)
    want = sklearn_dbscan_reference(candidates, config)
    assert len(got) == 2 and sorted(got.scores.tolist()) == pytest.approx([0.3, 0.31])
    np.testing.assert_allclose(np.array(sorted(zip(got.classes, got.scores, *got.boxes.T))), want,
                               rtol=1e-5, atol=1e-3)


def test_nms_matches_sequential_greedy_nms():
    rng = np.random.default_rng(3)
    candidates = jittered_candidates(rng, per_object=6, noise=60)
    config = PostprocessConfig.default(CLASSES, algorithm="nms", nms_iou_threshold=0.4,
                                       nms_confidence_threshold=0.02, minimum_bounding_box_height=0)
    got = cluster(candidates, config)
    want = []
    for c in range(3):
        mine = (candidates.classes == c) & (candidates.scores >= 0.02)
        boxes, scores = candidates.boxes[mine].astype(np.float64), candidates.scores[mine]
        alive = list(np.argsort(-scores, kind="stable"))
        while alive:
            top = alive.pop(0)
            want.append((c, scores[top], *boxes[top]))
            alive = [i for i in alive if pairwise_iou(boxes[[top]], boxes[[i]])[0, 0] <= 0.4]
    mine = np.array(sorted(zip(got.classes, got.scores, *got.boxes.T)))
    assert len(want) > 20
    np.testing.assert_allclose(mine, np.array(sorted(want)), rtol=1e-6, atol=1e-4)


def test_minimum_box_height_filter_and_confidence_thresholds():
    boxes = [[[40, 40, 140, 55], [200, 40, 260, 140]]]            # 15 px and 100 px high
    cov, bbox, _ = targets(boxes, [[0, 0]], num_classes=1)
    for algorithm in ("dbscan", "nms"):
        default = PostprocessConfig.default(1, algorithm=algorithm)
        [dets] = postprocess(cov, bbox, default)
        np.testing.assert_allclose(dets.boxes, [boxes[0][1]], atol=1e-3)
        [dets] = postprocess(cov, bbox, default.with_all(minimum_bounding_box_height=15))
        assert len(dets) == 2
    # weak responses: below NMS's confidence threshold (0.1) per cell; DBSCAN sums the cells
    weak = cov * 0.08
    assert len(postprocess(weak, bbox, PostprocessConfig.default(1, algorithm="nms"))[0]) == 0
    low = PostprocessConfig.default(1, minimum_bounding_box_height=10)
    [dets] = postprocess(weak, bbox, low)
    assert len(dets) == 2 and dets.scores.sum() == pytest.approx(0.08 * cov.sum(), rel=1e-5)
    r, c = np.argwhere(cov[0, ..., 0])[0]
    lonely = np.zeros_like(cov)
    lonely[0, r, c, 0] = 0.08                                    # one cell: a cluster of 0.08 < 0.1
    assert len(postprocess(lonely, bbox, low)[0]) == 0
    lonely[0, r, c, 0] = 0.12
    assert len(postprocess(lonely, bbox, low)[0]) == 1


def test_detections_back_to_original_pixels():
    dets = ImageDetections(np.array([[10, 20, 30, 40]], np.float32), np.array([1], np.int32),
                           np.array([0.9], np.float32))
    boxes, classes, scores = dets.in_original_pixels(0.5)
    np.testing.assert_allclose(boxes, [[20, 40, 60, 80]])
    assert classes.tolist() == [1] and len(dets) == 1


# ---- losses and Keras training -------------------------------------------------------------------

def packed(boxes, classes, num_classes=3, grid=(GH, GW)):
    cov, bbox, weight = targets(boxes, classes, num_classes=num_classes, grid=grid)
    y = pack_targets(cov, bbox, weight)
    return {k: v.numpy() for k, v in y.items()}, cov, bbox, weight


def test_losses_are_zero_for_perfect_predictions_and_respect_the_weights():
    boxes, classes = batch_of_scenes(seed=6, images=2, objects=5)
    y, cov, bbox, weight = packed(boxes, classes)
    losses = losses_from_config(LossConfig.default(3))
    assert float(losses[OUTPUT_COV](y[OUTPUT_COV], cov)) == pytest.approx(0, abs=1e-7)
    assert float(losses[OUTPUT_BBOX](y[OUTPUT_BBOX], bbox)) == pytest.approx(0, abs=1e-7)
    # errors in the deadzone cost nothing; elsewhere they do
    dead = weight == 0
    assert dead.any()
    assert float(losses[OUTPUT_COV](y[OUTPUT_COV], np.where(dead, 0.7, cov))) == pytest.approx(0, abs=1e-7)
    assert float(losses[OUTPUT_COV](y[OUTPUT_COV], np.where(dead, 0.7, cov) + 0.1)) > 0.005
    # box errors count only on foreground cells, averaged over them: +1 on every edge costs 4
    off = bbox + 1.0
    assert float(losses[OUTPUT_BBOX](y[OUTPUT_BBOX], off)) == pytest.approx(4.0, rel=1e-5)
    # class weights scale their class's terms
    heavy = losses_from_config(LossConfig((3.0, 1.0, 1.0), (1.0,) * 3, (1.0,) * 3, (2.0, 1.0, 1.0)))
    only_car = cov.copy()
    only_car[..., 0] = 0.5
    base = float(losses[OUTPUT_COV](y[OUTPUT_COV], only_car))
    assert float(heavy[OUTPUT_COV](y[OUTPUT_COV], only_car)) == pytest.approx(3 * base, rel=1e-5)
    car_off = bbox.copy()
    car_off[..., 0:4] += 1.0
    assert float(heavy[OUTPUT_BBOX](y[OUTPUT_BBOX], car_off)) == pytest.approx(
        6 * float(losses[OUTPUT_BBOX](y[OUTPUT_BBOX], car_off)), rel=1e-5)
    # the foreground weight (default 1): missing every object costs it once per class present in an
    # image, averaged over the images
    present = np.mean([sum(bool(cov[i, ..., c].any()) for c in range(3)) for i in range(len(cov))])
    assert float(losses[OUTPUT_COV](y[OUTPUT_COV], np.zeros_like(cov))) == pytest.approx(present)


def test_losses_are_registered_and_serialise():
    import keras

    losses = make_losses(load_experiment_spec(SPEC), CLASSES)
    assert loss_weights() == {OUTPUT_COV: 1.0, OUTPUT_BBOX: 1.0}
    for loss in losses.values():
        again = keras.losses.deserialize(keras.losses.serialize(loss))
        assert type(again) is type(loss) and again.get_config() == loss.get_config()
    assert losses[OUTPUT_COV].class_weights == [3.0, 1.0, 1.0]     # class_weight x initial_weight
    assert losses[OUTPUT_BBOX].class_weights == [20.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="has 2 classes but the loss was built for 3"):
        losses[OUTPUT_COV](np.zeros((1, 2, 2, 4), np.float32), np.zeros((1, 2, 2, 2), np.float32))


def test_target_fn_on_the_loader_and_back(tmp_path):
    from jupyter_tlt.data.augment import Augmentation
    from jupyter_tlt.data.convert import dataset_convert
    from jupyter_tlt.data.loader import detection_dataset
    from jupyter_tlt.tasks.detectnet_v2.rasterize import split_bbox_target, split_cov_target
    from kitti_factory import conversion_spec, label_line, make_kitti

    frames = {f"{i:06d}": [label_line("Car", 16, 8, 80, 40), label_line("pedestrian", 100, 20, 124, 60),
                           label_line("cyclist", 4, 4, 30, 30)] for i in range(3)}
    frames["000002"] = []
    root = make_kitti(tmp_path / "kitti", frames, width=256, height=128)
    dataset_convert(conversion_spec(root, val_split=0, num_shards=1), tmp_path / "rec" / "k", progress=False)
    ds = detection_dataset(str(tmp_path / "rec" / "k-fold-*"), output_size=(64, 128),
                           class_names=["car", "pedestrian"], batch_size=4, training=False)
    config = RasterizerConfig.default(["car", "pedestrian"])
    [(_, labels)] = list(ds)
    [(images, y)] = list(ds.map(target_fn(config)))
    augmented = detection_dataset(str(tmp_path / "rec" / "k-fold-*"), output_size=(64, 128),
                                  class_names=["car", "pedestrian"], batch_size=2, repeat=True,
                                  augmentation=Augmentation(hflip_probability=0.5, zoom_min=0.8, zoom_max=1.2))
    # the training form (parallel map, prefetched) yields what a plain map yields, in the same order
    for (a_images, a_y), (b_images, b_y) in zip(with_targets(augmented, config).take(5),
                                                augmented.map(target_fn(config)).take(5)):
        np.testing.assert_array_equal(a_images, b_images)
        for key in a_y:
            np.testing.assert_array_equal(a_y[key], b_y[key])
    assert images.shape == (3, 64, 128, 3) and y[OUTPUT_COV].shape == (3, 4, 8, 4)
    cov, _ = split_cov_target(y[OUTPUT_COV].numpy(), 2)
    bbox, foreground = split_bbox_target(y[OUTPUT_BBOX].numpy(), 2)
    np.testing.assert_array_equal(foreground, cov)
    detections = postprocess(cov, bbox, PostprocessConfig.default(2, minimum_bounding_box_height=10))
    for dets, scale, gt_boxes, gt_classes in zip(detections, labels["scale"].numpy(),
                                                  labels["boxes"].numpy(), labels["classes"].numpy()):
        valid = gt_classes >= 0
        order = np.argsort(dets.classes)
        np.testing.assert_allclose(dets.in_original_pixels(scale).boxes[order],
                                   gt_boxes[valid] / scale, atol=1e-3)
        np.testing.assert_array_equal(dets.classes[order], gt_classes[valid])
    assert len(detections[2]) == 0
    np.testing.assert_allclose(detections[0].in_original_pixels(labels["scale"].numpy()[0]).boxes[
        np.argsort(detections[0].classes)], [[16, 8, 80, 40], [100, 20, 124, 60]], atol=1e-3)


def test_target_fn_feeds_keras_fit_and_the_loss_goes_down():
    tf = tensorflow()
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    height, width, count = 64, 96, 8
    boxes = np.zeros((count, 3, 4), np.float32)
    classes = -np.ones((count, 3), np.int32)
    images = np.zeros((count, height, width, 3), np.float32)
    for i in range(count):  # bright rectangles on a dark background: learnable in a few steps
        scene = separated_boxes(rng, 2, height, width, sizes=(20, 40))
        boxes[i, :len(scene)] = scene
        classes[i, :len(scene)] = rng.integers(0, 2, len(scene))
        for box, c in zip(scene.astype(int), classes[i]):
            images[i, box[1]:box[3], box[0]:box[2], c] = 1.0
    labels = {"boxes": boxes, "classes": classes, "scale": np.ones(count, np.float32),
              "frame_id": np.array([b"x"] * count)}
    config = RasterizerConfig.default(["car", "pedestrian"])
    ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4).map(target_fn(config))
    x_spec, y_spec = ds.element_spec
    assert x_spec.shape.as_list() == [None, height, width, 3]
    assert y_spec[OUTPUT_COV].shape.as_list() == [None, 4, 6, 4]      # [coverage | weight]
    assert y_spec[OUTPUT_BBOX].shape.as_list() == [None, 4, 6, 10]    # [edges | foreground]

    inputs = keras.Input((height, width, 3), name="input_1")
    x = keras.layers.Conv2D(16, 3, strides=4, padding="same", activation="relu")(inputs)
    x = keras.layers.Conv2D(16, 3, strides=4, padding="same", activation="relu")(x)
    cov = keras.layers.Conv2D(2, 1, activation="sigmoid", name=OUTPUT_COV)(x)
    bbox = keras.layers.Conv2D(8, 1, name=OUTPUT_BBOX)(x)
    model = keras.Model(inputs, [cov, bbox])
    model.compile(keras.optimizers.Adam(3e-3), loss=make_losses(load_experiment_spec(
        {"model_config": {"arch": "resnet"}}), ["car", "pedestrian"]), loss_weights=loss_weights())
    before = model.evaluate(ds, verbose=0, return_dict=True)
    model.fit(ds.repeat(), steps_per_epoch=6, epochs=1, verbose=0, shuffle=False)
    after = model.evaluate(ds, verbose=0, return_dict=True)
    assert after["loss"] < before["loss"]
    assert after[f"{OUTPUT_BBOX}_loss"] < before[f"{OUTPUT_BBOX}_loss"]
    # the model's outputs post-process without errors
    out_cov, out_bbox = model.predict(images[:4], verbose=0)
    detections = postprocess(out_cov, out_bbox, PostprocessConfig.default(2))
    assert len(detections) == 4
