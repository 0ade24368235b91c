"""Spatial and colour augmentation for detection inputs, as TensorFlow graph ops.

The spatial part (letterbox resize to the model input, zoom, translation, horizontal flip) is one
affine map from the decoded image to the model input, so every image is resampled exactly once and
its boxes go through the same map. Randomness is stateless, seeded per element, so a pipeline is
deterministic for a given `random_seed`.
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


def sample_affine(seed, scale, out_h: int, out_w: int, aug: Augmentation, training: bool):
    """Draw the map input -> output `x' = s*x + tx` (mirrored when `flip`): returns (s, tx, ty, flip)."""
    tf = tensorflow()
    s = tf.cast(scale, tf.float32)
    tx = tf.constant(0.0)
    ty = tf.constant(0.0)
    flip = tf.constant(False)
    if training and aug.spatial:
        u = tf.random.stateless_uniform([4], seed=seed)
        s = s * (aug.zoom_min + (aug.zoom_max - aug.zoom_min) * u[0])
        tx = (2.0 * u[1] - 1.0) * aug.translate_max_x
        ty = (2.0 * u[2] - 1.0) * aug.translate_max_y
        flip = u[3] < aug.hflip_probability
    return s, tx, ty, flip


def warp_image(image, src_sx, src_sy, s, tx, ty, flip, out_h: int, out_w: int):
    """Resample `image` (HxWx3, decoded at (src_sx, src_sy) of full size) through the affine map."""
    tf = tensorflow()
    # decoded pixels relate to output pixels by s' = s / src_sx; with pixel centres at i + 0.5:
    # x_in + 0.5 = (x_out + 0.5 - tx) / s'
    sx, sy = s / src_sx, s / src_sy
    a0 = tf.where(flip, -1.0 / sx, 1.0 / sx)
    a2 = tf.where(flip, (out_w - 0.5 - tx) / sx - 0.5, (0.5 - tx) / sx - 0.5)
    b1 = 1.0 / sy
    b2 = (0.5 - ty) / sy - 0.5
    transform = tf.stack([a0, 0.0, a2, 0.0, b1, b2, 0.0, 0.0])[tf.newaxis]
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=image[tf.newaxis], transforms=transform, output_shape=[out_h, out_w],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT")
    return out[0]


def warp_boxes(boxes, s, tx, ty, flip, out_h: int, out_w: int):
    """Map (N, 4) x1,y1,x2,y2 boxes in full-size image pixels through the same affine map, clipped."""
    tf = tensorflow()
    x1, y1, x2, y2 = tf.unstack(boxes, axis=-1)
    x1, x2 = s * x1 + tx, s * x2 + tx
    x1, x2 = tf.where(flip, out_w - x2, x1), tf.where(flip, out_w - x1, x2)
    y1, y2 = s * y1 + ty, s * y2 + ty
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


def apply_color(image, matrix, bias, input_scale: float = 1.0):
    """`clip(input_scale * image @ matrix^T + bias)` on an HxWx3 image, in one pass."""
    tf = tensorflow()
    out = tf.tensordot(tf.cast(image, tf.float32), tf.transpose(matrix) * input_scale, axes=1) + bias
    return tf.clip_by_value(out, 0.0, 1.0)
