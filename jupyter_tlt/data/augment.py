"""Spatial and colour augmentation for detection inputs, as TensorFlow graph ops.

The spatial part (letterbox resize to the model input, zoom, translation, horizontal flip) is one
scale-and-shift map from the decoded image to the model input: every image is resampled once and its
boxes go through the same map. The colour part is one 3x3 matrix per image, a single matrix product
instead of an RGB-HSV round trip. Randomness is stateless, seeded per element, so a pipeline is deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..tf_import import tensorflow


@dataclass(frozen=True)
class Augmentation:
    """Augmentation settings (TAO's `augmentation_config` names). Zero means "off"."""

    hflip_probability: float = 0.0
    zoom_min: float = 1.0
    zoom_max: float = 1.0
    translate_max_x: float = 0.0   # pixels of the model input
    translate_max_y: float = 0.0
    hue_rotation_max: float = 0.0  # degrees
    saturation_shift_max: float = 0.0
    contrast_scale_max: float = 0.0
    contrast_center: float = 0.5
    color_shift_stddev: float = 0.0
    min_bbox_width: float = 1.0    # boxes smaller than this after the transform are dropped
    min_bbox_height: float = 1.0

    @classmethod
    def from_spec(cls, spec) -> "Augmentation":
        """Read TAO's `augmentation_config` (unset fields take the defaults of `spec/defaults.py`)."""
        from ..spec.defaults import value

        aug = spec.augmentation_config
        parts = (aug.spatial_augmentation, aug.color_augmentation, aug.preprocessing)
        names = [f for f in cls.__dataclass_fields__]
        found = {}
        for part in parts:
            for name in names:
                if name in part.DESCRIPTOR.fields_by_name:
                    found[name] = float(value(part, name))
        return cls(**found)

    @property
    def spatial(self) -> bool:
        return (self.hflip_probability > 0 or self.zoom_min != 1 or self.zoom_max != 1
                or self.translate_max_x > 0 or self.translate_max_y > 0)

    @property
    def color(self) -> bool:
        return (self.hue_rotation_max > 0 or self.saturation_shift_max > 0
                or self.contrast_scale_max > 0 or self.color_shift_stddev > 0)


def letterbox_scale(src_h, src_w, out_h: int, out_w: int):
    """Scale that fits a (src_h, src_w) image inside (out_h, out_w) keeping its aspect ratio."""
    tf = tensorflow()
    return tf.minimum(out_h / tf.cast(src_h, tf.float32), out_w / tf.cast(src_w, tf.float32))


def sample_affine(seed, aug: Augmentation, training: bool):
    """Draw the random part of the map: (zoom, tx, ty, flip), translations in whole pixels."""
    tf = tensorflow()
    zoom, tx, ty, flip = tf.constant(1.0), tf.constant(0.0), tf.constant(0.0), tf.constant(False)
    if training and aug.spatial:
        u = tf.random.stateless_uniform([4], seed=seed)
        zoom = aug.zoom_min + (aug.zoom_max - aug.zoom_min) * u[0]
        tx = tf.round((2.0 * u[1] - 1.0) * aug.translate_max_x)
        ty = tf.round((2.0 * u[2] - 1.0) * aug.translate_max_y)
        flip = u[3] < aug.hflip_probability
    return zoom, tx, ty, flip


def place_image(image, full_h, full_w, scale, tx, ty, flip, out_h: int, out_w: int):
    """Resize `image` (possibly decoded below full size) to `scale` x its full size, paste it on a
    black (out_h, out_w) canvas at (tx, ty) and mirror the canvas when `flip`.

    Returns the float32 canvas (0..255) and the exact per-axis scales (sx, sy) the boxes must use.
    Resizing plus an integer paste keeps to TensorFlow's fast, multithreaded resize kernel.
    """
    tf = tensorflow()
    full_h = tf.cast(full_h, tf.float32)
    full_w = tf.cast(full_w, tf.float32)
    new_h = tf.maximum(tf.cast(tf.round(full_h * scale), tf.int32), 1)
    new_w = tf.maximum(tf.cast(tf.round(full_w * scale), tf.int32), 1)
    resized = tf.image.resize(image, tf.stack([new_h, new_w]), method="bilinear")
    # keep at least one pixel of the image on the canvas
    txi = tf.clip_by_value(tf.cast(tx, tf.int32), 1 - new_w, out_w - 1)
    tyi = tf.clip_by_value(tf.cast(ty, tf.int32), 1 - new_h, out_h - 1)
    x0, y0 = tf.maximum(-txi, 0), tf.maximum(-tyi, 0)
    x1, y1 = tf.minimum(new_w, out_w - txi), tf.minimum(new_h, out_h - tyi)
    visible = resized[y0:y1, x0:x1]
    canvas = tf.image.pad_to_bounding_box(visible, tf.maximum(tyi, 0), tf.maximum(txi, 0), out_h, out_w)
    canvas = tf.cond(flip, lambda: tf.reverse(canvas, axis=[1]), lambda: canvas)
    sx = tf.cast(new_w, tf.float32) / full_w
    sy = tf.cast(new_h, tf.float32) / full_h
    return canvas, sx, sy, tf.cast(txi, tf.float32), tf.cast(tyi, tf.float32)


def warp_boxes(boxes, sx, sy, tx, ty, flip, out_h: int, out_w: int):
    """Map (N, 4) x1,y1,x2,y2 boxes in full-size image pixels the way `place_image` moved the pixels."""
    tf = tensorflow()
    x1, y1, x2, y2 = tf.unstack(boxes, axis=-1)
    x1, x2 = sx * x1 + tx, sx * x2 + tx
    x1, x2 = tf.where(flip, out_w - x2, x1), tf.where(flip, out_w - x1, x2)
    y1, y2 = sy * y1 + ty, sy * y2 + ty
    x1, x2 = tf.clip_by_value(x1, 0.0, out_w), tf.clip_by_value(x2, 0.0, out_w)
    y1, y2 = tf.clip_by_value(y1, 0.0, out_h), tf.clip_by_value(y2, 0.0, out_h)
    return tf.stack([x1, y1, x2, y2], axis=-1)


def color_matrix(seed, aug: Augmentation):
    """One random 3x3 matrix and bias combining hue rotation, saturation, contrast and colour shift.

    Composing the colour operations into a single affine map (as TAO does) costs one matrix product
    per pixel instead of an RGB->HSV round trip.
    """
    tf = tensorflow()
    u = tf.random.stateless_uniform([3], seed=seed, minval=-1.0, maxval=1.0)
    # YIQ: hue is a rotation of the (I, Q) chroma plane, saturation a scaling of it
    to_yiq = tf.constant([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
    from_yiq = tf.linalg.inv(to_yiq)
    angle = u[0] * aug.hue_rotation_max * (3.141592653589793 / 180.0)
    sat = 1.0 + u[1] * aug.saturation_shift_max
    c, s = tf.cos(angle) * sat, tf.sin(angle) * sat
    chroma = tf.stack([tf.stack([1.0, 0.0, 0.0]), tf.stack([0.0, c, -s]), tf.stack([0.0, s, c])])
    matrix = from_yiq @ chroma @ to_yiq
    contrast = 1.0 + u[2] * aug.contrast_scale_max
    bias = (1.0 - contrast) * aug.contrast_center * tf.ones([3])
    if aug.color_shift_stddev > 0:
        bias = bias + tf.random.stateless_normal([3], seed=seed + 1, stddev=aug.color_shift_stddev)
    return contrast * matrix, bias


def apply_color(images, matrices, biases, input_scale: float = 1.0):
    """`clip(input_scale * image @ matrix^T + bias)` for a batch (B,H,W,3) with per-image (B,3,3)
    matrices and (B,3) biases: one multithreaded product over the whole batch."""
    tf = tensorflow()
    shape = tf.shape(images)
    # a (B, H*W, 3) x (B, 3, 3) batched product is several times faster than the equivalent einsum
    flat = tf.matmul(tf.reshape(images, [shape[0], -1, 3]), matrices * input_scale, transpose_b=True)
    out = tf.reshape(flat + biases[:, None, :], shape)
    return tf.clip_by_value(out, 0.0, 1.0)
