"""DetectNet_v2 post-processing: grid outputs -> boxes per image (numpy + scipy, CPU).

    config = PostprocessConfig.from_spec(spec, class_names)
    cov, bbox = model.predict(images)                 # (B, gh, gw, C), (B, gh, gw, 4C)
    detections = postprocess(cov, bbox, config)       # list of ImageDetections, one per image
    boxes, classes, scores = detections[0]            # model-input pixels
    original = detections[0].in_original_pixels(labels["scale"][0])

Steps, per class c with its ``postprocessing_config.target_class_config[c].clustering_config``:

1. ``decode``: every cell whose coverage is > ``coverage_threshold`` is a candidate; its box is the
   inverse of the target encoding, ``x1 = bbox * scale + (col + offset) * stride`` (and y1, x2, y2
   alike), in model-input pixels; its score is the cell's coverage. Whole batch at once.
2. Clustering, per image and class (classes never merge):
   * DBSCAN (TAO's default) on the distance ``1 - IoU`` between candidates, ``eps = dbscan_eps``.
     ``dbscan_min_samples`` is, as in TAO, a *summed coverage*: a candidate is a core point when the
     coverages of the candidates within eps (itself included) add up to at least
     ``dbscan_min_samples``; candidates in no cluster are dropped. The clusters are exactly those of
     scikit-learn's ``DBSCAN(eps, min_samples=1, metric="precomputed")`` fitted on ``1 - IoU`` with
     ``sample_weight = coverage / dbscan_min_samples`` (the tests check it against scikit-learn).
     They are computed here from a sparse neighbour list (``neighbour_pairs``) and scipy's connected
     components, for the whole batch at once: scikit-learn needs the dense K x K matrix and loops
     over the points in Python, about 7 ms for 440 candidates, over the 5 ms per image budget.
     A cluster's box is the coverage-weighted mean of its members' boxes and its confidence the
     *sum* of their coverages (TAO's "aggregate_cov" confidence: it can exceed 1 and grows with the
     number of cells that see the object); clusters with confidence < ``dbscan_confidence_threshold``
     are dropped.
   * NMS: candidates with coverage < ``nms_confidence_threshold`` are dropped, then greedy NMS in
     decreasing coverage suppresses same-class candidates with IoU > ``nms_iou_threshold``; the score
     is the kept candidate's coverage (in [0, 1]). Also batch-wide, on the same neighbour list.
3. Boxes shorter than ``minimum_bounding_box_height`` (model-input pixels) are dropped.

IoU is continuous (no +1 pixel convention).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterator, Sequence

import numpy as np

from .rasterize import STRIDE, per_class_entries

DBSCAN, NMS = "dbscan", "nms"
_HEIGHT_TOLERANCE = 1e-3  # px: a box decoded from float32 may miss an exact height by rounding


@dataclass(frozen=True)
class ClassClustering:
    """Post-processing parameters of one class (TAO's ``clustering_config``)."""

    coverage_threshold: float = 0.005
    minimum_bounding_box_height: float = 20.0
    algorithm: str = DBSCAN
    dbscan_eps: float = 0.13
    dbscan_min_samples: float = 0.05
    dbscan_confidence_threshold: float = 0.1
    nms_iou_threshold: float = 0.5
    nms_confidence_threshold: float = 0.1

    def __post_init__(self):
        if self.algorithm not in (DBSCAN, NMS):
            raise ValueError(f"ClassClustering.algorithm must be {DBSCAN!r} or {NMS!r}, "
                             f"not {self.algorithm!r}")


@dataclass(frozen=True)
class PostprocessConfig:
    """Per-class clustering parameters (one ``ClassClustering`` per class) and the box encoding."""

    classes: tuple[ClassClustering, ...]
    scale: float = 35.0
    offset: float = 0.5
    stride: int = STRIDE
    class_names: tuple[str, ...] = field(default=())

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @classmethod
    def default(cls, class_names: Sequence[str] | int, **overrides) -> "PostprocessConfig":
        """Defaults of ``spec/defaults.py``; ``overrides`` (e.g. ``algorithm="nms"``) apply to
        every class."""
        from ...spec.protos.experiment_pb2 import ExperimentSpec

        if isinstance(class_names, int):
            class_names = [f"class_{i}" for i in range(class_names)]
        config = cls.from_spec(ExperimentSpec(), class_names)
        return config.with_all(**overrides) if overrides else config

    def with_all(self, **changes) -> "PostprocessConfig":
        """A copy with the same change applied to every class's parameters."""
        return replace(self, classes=tuple(replace(c, **changes) for c in self.classes))

    @classmethod
    def from_spec(cls, spec, class_names: Sequence[str]) -> "PostprocessConfig":
        """Read ``postprocessing_config.target_class_config[class].clustering_config`` (keys matched
        case-insensitively) and ``model_config.objective_set.bbox``; unset fields take defaults."""
        from ...spec.defaults import value
        from ...spec.protos.experiment_pb2 import ClusteringConfig, PostProcessingTargetClassConfig

        per_class = per_class_entries(spec.postprocessing_config.target_class_config, class_names,
                               PostProcessingTargetClassConfig(),
                               "postprocessing_config.target_class_config")
        classes = []
        for entry in per_class:
            cc = entry.clustering_config
            algorithm = value(cc, "clustering_algorithm")
            classes.append(ClassClustering(
                coverage_threshold=float(value(cc, "coverage_threshold")),
                minimum_bounding_box_height=float(value(cc, "minimum_bounding_box_height")),
                algorithm=NMS if algorithm == ClusteringConfig.NMS else DBSCAN,
                dbscan_eps=float(value(cc, "dbscan_eps")),
                dbscan_min_samples=float(value(cc, "dbscan_min_samples")),
                dbscan_confidence_threshold=float(value(cc, "dbscan_confidence_threshold")),
                nms_iou_threshold=float(value(cc, "nms_iou_threshold")),
                nms_confidence_threshold=float(value(cc, "nms_confidence_threshold"))))
        bbox = spec.model_config.objective_set.bbox
        return cls(classes=tuple(classes), scale=float(value(bbox, "scale")),
                   offset=float(value(bbox, "offset")), class_names=tuple(class_names))

    def per_class(self, name: str) -> np.ndarray:
        """One parameter of every class as an array indexed by class."""
        return np.array([getattr(c, name) for c in self.classes], dtype=np.float64)


@dataclass(frozen=True)
class ImageDetections:
    """Detections of one image: ``boxes`` (M, 4) x1,y1,x2,y2 float32 in model-input pixels,
    ``classes`` (M,) int32 class indices, ``scores`` (M,) float32. Unpacks as a 3-tuple."""

    boxes: np.ndarray
    classes: np.ndarray
    scores: np.ndarray

    @classmethod
    def empty(cls) -> "ImageDetections":
        return cls(np.zeros((0, 4), np.float32), np.zeros((0,), np.int32), np.zeros((0,), np.float32))

    def __len__(self) -> int:
        return len(self.scores)

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.boxes, self.classes, self.scores))

    def in_original_pixels(self, scale: float) -> "ImageDetections":
        """Boxes divided by the loader's ``labels["scale"]`` (model-input pixels per original
        pixel); valid for the evaluation pipeline's letterbox (padding right and bottom only)."""
        return ImageDetections(self.boxes / np.float32(scale), self.classes, self.scores)


def pairwise_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in a (K, 4) with every box in b (M, 4) -> (K, M)."""
    inter = _intersection(a, b)
    union = _area(a)[:, None] + _area(b)[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def _area(boxes: np.ndarray) -> np.ndarray:
    return np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)


def _intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    iw = np.minimum(a[:, None, 2], b[None, :, 2])
    iw -= np.maximum(a[:, None, 0], b[None, :, 0])
    np.maximum(iw, 0, out=iw)
    ih = np.minimum(a[:, None, 3], b[None, :, 3])
    ih -= np.maximum(a[:, None, 1], b[None, :, 1])
    np.maximum(ih, 0, out=ih)
    iw *= ih
    return iw


@dataclass(frozen=True)
class _Flat:
    """Boxes of a whole batch in flat arrays; ``image`` says which image each belongs to."""

    image: np.ndarray    # (K,) int64, non-decreasing after decode
    boxes: np.ndarray    # (K, 4)
    classes: np.ndarray  # (K,) int64
    scores: np.ndarray   # (K,)

    def take(self, index) -> "_Flat":
        return _Flat(self.image[index], self.boxes[index], self.classes[index], self.scores[index])

    @staticmethod
    def concat(parts: Sequence["_Flat"]) -> "_Flat":
        return _Flat(*(np.concatenate([getattr(p, f) for p in parts])
                       for f in ("image", "boxes", "classes", "scores")))

    def split(self, batch: int) -> list[ImageDetections]:
        """Per image, highest score first."""
        order = np.lexsort((-self.scores, self.image))
        flat = self.take(order)
        cuts = np.searchsorted(flat.image, np.arange(1, batch))
        return [ImageDetections(bx.astype(np.float32), cl.astype(np.int32), sc.astype(np.float32))
                for bx, cl, sc in zip(np.split(flat.boxes, cuts), np.split(flat.classes, cuts),
                                      np.split(flat.scores, cuts))]


def decode(cov, bbox, config: PostprocessConfig) -> list[ImageDetections]:
    """Candidate boxes of every image of a batch: cells with coverage > the class's threshold.

    cov (B, gh, gw, C) sigmoid coverage, bbox (B, gh, gw, 4C) class-major encoded edges (numpy or
    anything ``np.asarray`` takes). Scores are the cells' coverages (per image, highest first).
    Cells whose decoded box is empty or inverted (x2 <= x1 or y2 <= y1) are no candidates.
    """
    flat = _decode(cov, bbox, config)
    return flat.split(np.shape(cov)[0])


def _decode(cov, bbox, config: PostprocessConfig) -> _Flat:
    cov = np.asarray(cov, dtype=np.float32)
    bbox = np.asarray(bbox, dtype=np.float32)
    if cov.ndim != 4 or bbox.shape != cov.shape[:3] + (4 * cov.shape[3],):
        raise ValueError(f"decode: expected cov (B, gh, gw, C) and bbox (B, gh, gw, 4C), got "
                         f"{cov.shape} and {bbox.shape}")
    if cov.shape[3] != config.num_classes:
        raise ValueError(f"decode: the outputs have {cov.shape[3]} classes, the config "
                         f"{config.num_classes}")
    thresholds = config.per_class("coverage_threshold").astype(np.float32)
    b, row, col, cls = np.nonzero(cov > thresholds)
    scores = cov[b, row, col, cls]
    encoded = bbox.reshape(cov.shape + (4,))[b, row, col, cls]              # (K, 4)
    cx = (col.astype(np.float32) + np.float32(config.offset)) * np.float32(config.stride)
    cy = (row.astype(np.float32) + np.float32(config.offset)) * np.float32(config.stride)
    boxes = encoded * np.float32(config.scale) + np.stack([cx, cy, cx, cy], axis=1)
    flat = _Flat(b.astype(np.int64), boxes, cls.astype(np.int64), scores)
    proper = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    return flat if proper.all() else flat.take(proper)


def cluster(candidates: ImageDetections, config: PostprocessConfig) -> ImageDetections:
    """Cluster one image's candidates per class (DBSCAN or NMS), then drop short boxes."""
    flat = _Flat(np.zeros(len(candidates), np.int64), np.asarray(candidates.boxes),
                 np.asarray(candidates.classes, np.int64), np.asarray(candidates.scores))
    return _cluster(flat, config).split(1)[0]


def postprocess(cov, bbox, config: PostprocessConfig) -> list[ImageDetections]:
    """``decode`` then cluster every image of the batch: one ``ImageDetections`` per image, boxes
    in model-input pixels, highest score first."""
    return _cluster(_decode(cov, bbox, config), config).split(np.shape(cov)[0])


def _cluster(flat: _Flat, config: PostprocessConfig) -> _Flat:
    use_nms = np.array([c.algorithm == NMS for c in config.classes])[flat.classes]
    out = _Flat.concat([_dbscan(flat.take(~use_nms), config), _nms(flat.take(use_nms), config)])
    min_height = config.per_class("minimum_bounding_box_height")[out.classes]
    return out.take(out.boxes[:, 3] - out.boxes[:, 1] >= min_height - _HEIGHT_TOLERANCE)


def neighbour_pairs(boxes: np.ndarray, group: np.ndarray, threshold: np.ndarray,
                    strict: bool = False):
    """All ordered pairs (i, j), i == j included, of boxes in the same group with
    IoU >= threshold (> with ``strict``; per box, equal within a group), as two index arrays.

    Never forms a K x K matrix: IoU >= t forces the centres' x distance to at most
    (1 - t) * max(w_i, w_j), so after one sort by (group, centre x) each box only tests the boxes
    within its own window r_i = (1 - t) * w_i; a pair is kept from the window of its wider box
    (both windows on a tie, then from the lower index), so each is tested once. The work is done
    in sorted order, where every window is a contiguous run.
    """
    boxes = np.asarray(boxes, np.float64)
    if len(boxes) == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty
    centre = (boxes[:, 0] + boxes[:, 2]) * 0.5
    reach = (1.0 - np.asarray(threshold, np.float64)) * (boxes[:, 2] - boxes[:, 0]) * (1 + 1e-6) + 1e-6
    span = centre.max() - centre.min() + 4.0 * reach.max() + 1.0
    key = group * span + (centre - centre.min())
    order = np.argsort(key, kind="stable")
    key, reach = key[order], reach[order]
    x1, y1, x2, y2 = (np.ascontiguousarray(boxes[order, i], dtype=np.float32) for i in range(4))
    t = np.asarray(threshold, np.float32)[order]
    group = group[order]
    low = np.searchsorted(key, key - reach, side="left")
    high = np.searchsorted(key, key + reach, side="right")
    counts = high - low
    first = np.repeat(np.arange(len(key)), counts)
    second = np.arange(counts.sum()) + np.repeat(low - (np.cumsum(counts) - counts), counts)
    own = (reach[first] > reach[second]) | ((reach[first] == reach[second]) & (first <= second))
    first, second = first[own], second[own]
    iw = np.minimum(x2[first], x2[second])
    iw -= np.maximum(x1[first], x1[second])
    ih = np.minimum(y2[first], y2[second])
    ih -= np.maximum(y1[first], y1[second])
    area = (x2 - x1) * (y2 - y1)
    tf = t[first]
    close = (iw > 0) & (ih > 0)
    compare = np.greater if strict else np.greater_equal
    close &= compare(iw * ih * (1 + tf), tf * (area[first] + area[second]))
    close &= group[first] == group[second]
    first, second = order[first[close]], order[second[close]]
    other = first != second
    return np.concatenate([first, second[other]]), np.concatenate([second, first[other]])


def _dbscan(flat: _Flat, config: PostprocessConfig) -> _Flat:
    """DBSCAN per (image, class) group, the whole batch at once."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    count = len(flat.scores)
    if count == 0:
        return flat
    group = flat.image * config.num_classes + flat.classes
    threshold = 1.0 - config.per_class("dbscan_eps")[flat.classes]      # 1 - IoU <= eps
    src, dst = neighbour_pairs(flat.boxes, group, threshold)
    weights = flat.scores.astype(np.float64)
    near_weight = np.bincount(src, weights=weights[dst], minlength=count)
    core = near_weight >= config.per_class("dbscan_min_samples")[flat.classes]
    core_index = np.flatnonzero(core)
    labels = np.full(count, -1, np.int64)
    if core_index.size == 0:
        return flat.take(labels >= 0)
    compact = np.full(count, -1, np.int64)
    compact[core_index] = np.arange(core_index.size)
    between_core = core[src] & core[dst]
    graph = csr_matrix((np.ones(int(between_core.sum()), np.int8),
                        (compact[src[between_core]], compact[dst[between_core]])),
                       shape=(core_index.size, core_index.size))
    # components come numbered in order of their lowest member, like scikit-learn's clusters
    _, components = connected_components(graph, directed=False)
    labels[core_index] = components
    # a border point joins the lowest-numbered cluster among its core neighbours
    to_core = ~core[src] & core[dst]
    if to_core.any():
        none = np.iinfo(np.int64).max
        joined = np.full(count, none)
        np.minimum.at(joined, src[to_core], components[compact[dst[to_core]]])
        reached = joined < none
        labels[reached] = joined[reached]

    member = labels >= 0
    labels, w, boxes = labels[member], weights[member], flat.boxes[member].astype(np.float64)
    clusters = labels.max() + 1
    total = np.bincount(labels, weights=w, minlength=clusters)
    mean = np.stack([np.bincount(labels, weights=w * boxes[:, i], minlength=clusters)
                     for i in range(4)], axis=1) / np.maximum(total, 1e-12)[:, None]
    image = np.zeros(clusters, np.int64)
    classes = np.zeros(clusters, np.int64)
    image[labels] = flat.image[member]
    classes[labels] = flat.classes[member]
    keep = total >= config.per_class("dbscan_confidence_threshold")[classes]
    return _Flat(image[keep], mean[keep], classes[keep], total[keep])


def _nms(flat: _Flat, config: PostprocessConfig) -> _Flat:
    """Greedy NMS per (image, class) group, the whole batch at once.

    The suppression graph (same group, IoU > nms_iou_threshold) comes from ``neighbour_pairs``;
    greedy NMS is then resolved in rounds instead of box by box: a box is kept once none of its
    higher-scored neighbours is kept or undecided, suppressed once one of them is kept. The result
    is exactly that of the sequential algorithm; each round settles at least the best undecided box.
    """
    if len(flat.scores) == 0:
        return flat
    flat = flat.take(flat.scores >= config.per_class("nms_confidence_threshold")[flat.classes])
    count = len(flat.scores)
    if count == 0:
        return flat
    group = flat.image * config.num_classes + flat.classes
    src, dst = neighbour_pairs(flat.boxes, group, config.per_class("nms_iou_threshold")[flat.classes],
                               strict=True)
    rank = np.empty(count, np.int64)
    rank[np.argsort(-flat.scores, kind="stable")] = np.arange(count)
    better = rank[src] < rank[dst]               # edge src -> dst: src may suppress dst
    src, dst = src[better], dst[better]
    UNDECIDED, KEPT, SUPPRESSED = 0, 1, 2
    state = np.zeros(count, np.int8)
    while True:
        open_ = state[dst] == UNDECIDED
        if not open_.any():
            break
        suppressed = np.zeros(count, bool)
        suppressed[dst[open_ & (state[src] == KEPT)]] = True
        blocked = np.zeros(count, bool)        # an undecided better neighbour: wait
        blocked[dst[open_ & (state[src] == UNDECIDED)]] = True
        undecided = state == UNDECIDED
        state[undecided & suppressed] = SUPPRESSED
        state[undecided & ~suppressed & ~blocked] = KEPT
    state[state == UNDECIDED] = KEPT             # boxes without better neighbours
    return flat.take(state == KEPT)
