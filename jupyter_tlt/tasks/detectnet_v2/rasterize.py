"""DetectNet_v2 training targets: coverage ellipses and encoded box edges on the stride-16 grid.

    config = RasterizerConfig.from_spec(spec, class_names)
    train_ds = with_targets(detection_dataset_from_spec(spec, training=True), config)  # map(target_fn(config))
    model.fit(train_ds, ...)     # each element: (images, {"output_cov": ..., "output_bbox": ...})

Semantics (TAO-like), per object of class c with box x1,y1,x2,y2 in model-input pixels:

* Ellipse centre ``(x1 + cov_center_x * w, y1 + cov_center_y * h)``; radii
  ``max(cov_radius_x * w / 2, bbox_min_radius * stride)`` and likewise in y (so the default ellipse is
  inscribed in the box, and never thinner than one cell). A grid cell is *covered* when its centre
  ``((col + 0.5) * stride, (row + 0.5) * stride)`` lies inside the ellipse (normalised elliptical
  distance d <= 1); the cell holding the ellipse centre is always covered, so no object is lost.
* Covered cells get coverage 1 in channel c and the box edges relative to the cell's anchor
  ``cx = (col + offset) * stride``, ``cy = (row + offset) * stride``:
  ``((x1 - cx) / scale, (y1 - cy) / scale, (x2 - cx) / scale, (y2 - cy) / scale)``.
* Deadzone: cells with ``1 < d <= 1 + deadzone_radius`` around an object and covered by no object of
  the same class get coverage loss weight 0 (e.g. the box corners outside the inscribed ellipse), so
  the network is not punished for firing near an object's boundary. Every other cell has weight 1.
* Overlaps: classes are separate channels and never compete. Within a class the object whose box
  bottom (y2) is lowest in the image wins a contested cell (in road and retail cameras that is the one
  nearest to the camera, the occluder); ties go to the larger box. This is TAO's "draw in order of
  increasing bottom y, the last one drawn wins".

Everything is vectorised over the batch and the objects (only a static loop over the classes) and runs
as TensorFlow graph ops, so ``target_fn`` can be mapped over batches in tf.data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from ...errors import SpecError
from ...tf_import import tensorflow

STRIDE = 16
OUTPUT_COV = "output_cov"
OUTPUT_BBOX = "output_bbox"


@dataclass(frozen=True)
class RasterizerConfig:
    """Per-class ellipse parameters (tuples with one entry per class) and the box encoding."""

    cov_center_x: tuple[float, ...]
    cov_center_y: tuple[float, ...]
    cov_radius_x: tuple[float, ...]
    cov_radius_y: tuple[float, ...]
    bbox_min_radius: tuple[float, ...]
    deadzone_radius: float = 0.67
    scale: float = 35.0
    offset: float = 0.5
    stride: int = STRIDE
    class_names: tuple[str, ...] = field(default=())

    def __post_init__(self):
        sizes = {len(self.cov_center_x), len(self.cov_center_y), len(self.cov_radius_x),
                 len(self.cov_radius_y), len(self.bbox_min_radius)}
        if len(sizes) != 1:
            raise ValueError("RasterizerConfig: per-class tuples must all have one entry per class")
        if self.class_names and len(self.class_names) != self.num_classes:
            raise ValueError("RasterizerConfig: class_names and the per-class tuples differ in length")

    @property
    def num_classes(self) -> int:
        return len(self.cov_center_x)

    @classmethod
    def default(cls, class_names: Sequence[str] | int) -> "RasterizerConfig":
        """The defaults of ``spec/defaults.py`` for these classes (or this many classes)."""
        from ...spec.protos.experiment_pb2 import ExperimentSpec

        if isinstance(class_names, int):
            class_names = [f"class_{i}" for i in range(class_names)]
        return cls.from_spec(ExperimentSpec(), class_names)

    @classmethod
    def from_spec(cls, spec, class_names: Sequence[str]) -> "RasterizerConfig":
        """Read ``bbox_rasterizer_config`` (per class, keys matched case-insensitively) and
        ``model_config.objective_set.bbox`` (scale, offset); unset fields take their defaults."""
        from ...spec.defaults import value
        from ...spec.protos.experiment_pb2 import BboxRasterizerTargetClassConfig

        raster = spec.bbox_rasterizer_config
        per_class = per_class_entries(raster.target_class_config, class_names,
                               BboxRasterizerTargetClassConfig(),
                               "bbox_rasterizer_config.target_class_config")
        names = ("cov_center_x", "cov_center_y", "cov_radius_x", "cov_radius_y", "bbox_min_radius")
        values = {n: tuple(float(value(m, n)) for m in per_class) for n in names}
        bbox = spec.model_config.objective_set.bbox
        return cls(**values, deadzone_radius=float(value(raster, "deadzone_radius")),
                   scale=float(value(bbox, "scale")), offset=float(value(bbox, "offset")),
                   class_names=tuple(class_names))


def per_class_entries(mapping, class_names: Sequence[str], empty, where: str) -> list:
    """One message per class from a spec map keyed by class name (exact key first, then any case);
    a class without an entry gets ``empty`` (all defaults). Keys naming no class warn."""
    import warnings

    lowered = {key.lower(): key for key in mapping}
    known = {name.lower() for name in class_names}
    unknown = sorted(k for k in mapping if k.lower() not in known)
    if unknown:
        warnings.warn(f"{where}: {', '.join(map(repr, unknown))} is not one of the model's classes "
                      f"{list(class_names)}; its settings are ignored (check the spelling)", stacklevel=3)
    out = []
    for name in class_names:
        key = name if name in mapping else lowered.get(name.lower())
        out.append(mapping[key] if key is not None else empty)
    return out


def rasterize(boxes, classes, num_classes: int, grid_h, grid_w, config: RasterizerConfig):
    """Training targets for a batch of objects.

    boxes (B, N, 4) x1,y1,x2,y2 in model-input pixels, classes (B, N) int (-1 = padding; boxes with
    x2 <= x1 or y2 <= y1 and classes outside [0, num_classes) are ignored). Returns float32
    ``cov_target (B, gh, gw, C)`` (1 on covered cells, else 0), ``bbox_target (B, gh, gw, 4C)``
    (class-major: channels 4c..4c+3 are class c's encoded x1,y1,x2,y2; 0 where not covered) and
    ``cov_weight (B, gh, gw, C)`` (0 in the deadzone, else 1).
    """
    tf = tensorflow()
    C = int(num_classes)
    if C != config.num_classes:
        raise ValueError(f"rasterize: num_classes {C} but the config describes {config.num_classes}")
    stride = float(config.stride)
    boxes = tf.cast(tf.convert_to_tensor(boxes), tf.float32)
    classes = tf.cast(tf.convert_to_tensor(classes), tf.int32)
    batch = tf.shape(boxes)[0]
    # one invalid dummy object so that N >= 1 (reductions over an empty axis are avoided)
    boxes = tf.concat([boxes, tf.zeros([batch, 1, 4], tf.float32)], axis=1)
    classes = tf.concat([classes, -tf.ones([batch, 1], tf.int32)], axis=1)

    x1, y1, x2, y2 = tf.unstack(boxes, axis=-1)                               # (B, N) each
    w, h = x2 - x1, y2 - y1
    valid = (classes >= 0) & (classes < C) & (w > 0) & (h > 0)
    cls = tf.clip_by_value(classes, 0, C - 1)

    def per_class(values):
        return tf.gather(tf.constant(values, tf.float32), cls)

    ex = x1 + per_class(config.cov_center_x) * w
    ey = y1 + per_class(config.cov_center_y) * h
    min_radius = per_class(config.bbox_min_radius) * stride
    rx = tf.maximum(per_class(config.cov_radius_x) * w * 0.5, min_radius)
    ry = tf.maximum(per_class(config.cov_radius_y) * h * 0.5, min_radius)
    rx, ry = tf.maximum(rx, 1e-3), tf.maximum(ry, 1e-3)

    rows = tf.range(grid_h)
    cols = tf.range(grid_w)
    row_px = (tf.cast(rows, tf.float32) + 0.5) * stride                       # (gh,)
    col_px = (tf.cast(cols, tf.float32) + 0.5) * stride                       # (gw,)
    dy = (row_px[None, None, :] - ey[..., None]) / ry[..., None]             # (B, N, gh)
    dx = (col_px[None, None, :] - ex[..., None]) / rx[..., None]             # (B, N, gw)
    d2 = dy[..., :, None] ** 2 + dx[..., None, :] ** 2                       # (B, N, gh, gw)
    centre_row = tf.cast(tf.floor(ey / stride), tf.int32)
    centre_col = tf.cast(tf.floor(ex / stride), tf.int32)
    centre = ((rows[None, None, :] == centre_row[..., None])[..., :, None]
              & (cols[None, None, :] == centre_col[..., None])[..., None, :])
    valid4 = valid[..., None, None]
    covered = ((d2 <= 1.0) | centre) & valid4                                 # (B, N, gh, gw)
    dead_limit = (1.0 + float(config.deadzone_radius)) ** 2
    near = (d2 <= dead_limit) & valid4

    # priority: rank of each object in increasing (y2, area); the highest-ranked covering one wins
    by_area = tf.argsort(w * h, axis=1, stable=True)
    by_bottom = tf.argsort(tf.gather(y2, by_area, batch_dims=1), axis=1, stable=True)
    order = tf.gather(by_area, by_bottom, batch_dims=1)                       # object ids, low -> high
    rank = tf.argsort(order, axis=1, stable=True) + 1                         # (B, N), 1-based

    cov_list, weight_list, winner_list = [], [], []
    for c in range(C):  # static: a handful of classes
        of_class = valid & (cls == c)
        cov_c = covered & of_class[..., None, None]
        won = tf.reduce_max(tf.where(cov_c, rank[..., None, None], 0), axis=1)  # (B, gh, gw), 0 = none
        any_cov = won > 0
        any_near = tf.reduce_any(near & of_class[..., None, None], axis=1)
        cov_list.append(tf.cast(any_cov, tf.float32))
        weight_list.append(tf.cast(~(any_near & ~any_cov), tf.float32))
        winner_list.append(tf.maximum(won - 1, 0))
    cov_target = tf.stack(cov_list, axis=-1)                                  # (B, gh, gw, C)
    cov_weight = tf.stack(weight_list, axis=-1)
    winner_rank = tf.stack(winner_list, axis=-1)                              # (B, gh, gw, C)

    shape = tf.shape(winner_rank)
    flat_rank = tf.reshape(winner_rank, [batch, -1])
    winner = tf.gather(order, flat_rank, batch_dims=1)
    won_boxes = tf.reshape(tf.gather(boxes, winner, batch_dims=1),
                           tf.concat([shape, [4]], axis=0))                   # (B, gh, gw, C, 4)
    anchor_x = (tf.cast(cols, tf.float32) + float(config.offset)) * stride
    anchor_y = (tf.cast(rows, tf.float32) + float(config.offset)) * stride
    ax = tf.broadcast_to(anchor_x[None, :], [grid_h, grid_w])
    ay = tf.broadcast_to(anchor_y[:, None], [grid_h, grid_w])
    anchors = tf.stack([ax, ay, ax, ay], axis=-1)[None, :, :, None, :]       # (1, gh, gw, 1, 4)
    encoded = (won_boxes - anchors) / float(config.scale) * cov_target[..., None]
    bbox_target = tf.reshape(encoded, tf.concat([shape[:3], [4 * C]], axis=0))
    return cov_target, bbox_target, cov_weight


def pack_targets(cov_target, bbox_target, cov_weight) -> dict:
    """The Keras ``y`` dict: ``output_cov`` = [coverage | weight] (B, gh, gw, 2C) and
    ``output_bbox`` = [encoded edges | foreground mask] (B, gh, gw, 5C). The losses split them again;
    packing keeps per-cell weights with the targets, which Keras ``sample_weight`` cannot carry."""
    tf = tensorflow()
    foreground = tf.cast(cov_target > 0, tf.float32)
    return {OUTPUT_COV: tf.concat([cov_target, cov_weight], axis=-1),
            OUTPUT_BBOX: tf.concat([bbox_target, foreground], axis=-1)}


def split_cov_target(y, num_classes: int):
    """``output_cov`` target -> (coverage (..., C), loss weight (..., C))."""
    return y[..., :num_classes], y[..., num_classes:2 * num_classes]


def split_bbox_target(y, num_classes: int):
    """``output_bbox`` target -> (encoded edges (..., 4C), foreground mask (..., C))."""
    return y[..., :4 * num_classes], y[..., 4 * num_classes:5 * num_classes]


def grid_size(height: int, width: int, stride: int = STRIDE) -> tuple[int, int]:
    """The output grid of a (height, width) input; both must be multiples of the stride."""
    if height % stride or width % stride:
        raise SpecError(f"the model input is {width}x{height} but DetectNet_v2 needs a width and a "
                        f"height that are multiples of {stride}; set augmentation_config.preprocessing "
                        f"{{ output_image_width output_image_height }} to multiples of {stride} "
                        f"(e.g. {_round_up(width, stride)}x{_round_up(height, stride)})")
    return height // stride, width // stride


def _round_up(value: int, stride: int) -> int:
    return max(stride, (value + stride - 1) // stride * stride)


def with_targets(dataset, config: RasterizerConfig):
    """``dataset`` (batches of ``data.loader.detection_dataset``) mapped by ``target_fn(config)`` in
    tf.data's threads and prefetched: the next batch's targets are rasterized while the model trains
    on this one, instead of inside the training step's wait for data."""
    tf = tensorflow()
    return dataset.map(target_fn(config), num_parallel_calls=tf.data.AUTOTUNE,
                       deterministic=True).prefetch(tf.data.AUTOTUNE)


def target_fn(config: RasterizerConfig) -> Callable:
    """A function to ``.map`` over ``(images, labels)`` batches of ``data.loader.detection_dataset``.

    It returns ``(images, {"output_cov": (B, gh, gw, 2C), "output_bbox": (B, gh, gw, 5C)})`` with the
    packing of ``pack_targets``; the labels' other entries (frame ids, scales) are dropped. The images
    need a static height and width (the loader sets them) that are multiples of the stride.
    """
    tf = tensorflow()

    @tf.autograph.experimental.do_not_convert
    def fn(images, labels):
        height, width = images.shape[1], images.shape[2]
        if height is None or width is None:
            raise ValueError("target_fn: the images need a static height and width")
        gh, gw = grid_size(int(height), int(width), config.stride)
        cov, bbox, weight = rasterize(labels["boxes"], labels["classes"], config.num_classes,
                                      gh, gw, config)
        return images, pack_targets(cov, bbox, weight)

    return fn
