"""DetectNet_v2: a stride-16 backbone and two 1x1 convolution heads.

``output_cov`` (sigmoid, one channel per class) and ``output_bbox`` (linear, 4 channels per class,
class-major: channels 4c..4c+3 are class c's x1, y1, x2, y2). Outputs in that order, each
(batch, H/16, W/16, channels).
"""

from __future__ import annotations

import os
import sys
import warnings

from ...errors import SpecError
from ...models import naming
from ...models.backbones import DETECTION_STRIDE, backbone_graph

COV_PRIOR_BIAS = -4.0   # sigmoid(-4) ~ 0.018: training starts predicting "mostly background"
HEAD_INIT_STDDEV = 0.01
MIN_WIDTH, MIN_HEIGHT = 480, 272  # the seed's minimum input size for DetectNet_v2
SIZE_FIELDS = ("augmentation_config.preprocessing.output_image_width (or W of model_config.input_image_size)",
               "augmentation_config.preprocessing.output_image_height (or H of model_config.input_image_size)")


def check_input_size(height: int, width: int, fields: tuple[str, str] = SIZE_FIELDS) -> None:
    """SpecError unless both sides are multiples of 16; a UserWarning below the seed's 480x272."""
    for side, value, field in (("width", width, fields[0]), ("height", height, fields[1])):
        if value < DETECTION_STRIDE or value % DETECTION_STRIDE:
            lower = max(DETECTION_STRIDE, value // DETECTION_STRIDE * DETECTION_STRIDE)
            upper = (value // DETECTION_STRIDE + 1) * DETECTION_STRIDE
            hint = f"{lower} or {upper}" if lower < value else f"{upper}"
            raise SpecError(f"{field}: input {side} {value} is not a multiple of {DETECTION_STRIDE} "
                            f"(DetectNet_v2 predicts on a stride-{DETECTION_STRIDE} grid); set it to {hint}")
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        warnings.warn(f"DetectNet_v2 input {width}x{height} is below the seed's minimum of "
                      f"{MIN_WIDTH}x{MIN_HEIGHT} (use 1248x384 with pretrained weights); fine for tests and "
                      "CPU, too small for real cameras", UserWarning, stacklevel=_outside_stacklevel())


def _outside_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside the tasks package."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # jupyter_tlt/tasks
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(here + os.sep):
        frame, level = frame.f_back, level + 1
    return level


def build_detectnet(arch: str, n_layers: int | None, input_shape: tuple[int, int, int], num_classes: int, *,
                    dropout_rate: float = 0.0, input_fields: tuple[str, str] | None = None, **backbone_opts):
    """A DetectNet_v2 ``keras.Model``: ``input_1`` (B, H, W, 3) in [0, 1] -> [output_cov, output_bbox].

    ``backbone_opts`` go to ``backbone_graph`` (use_batch_norm, activation, activation_params,
    freeze_blocks, freeze_bn, all_projections, regularizer); ``dropout_rate`` > 0 adds a ``dropout``
    layer before the heads. ``input_fields`` names the spec fields of width and height for errors.
    The heads compute in float32 under any mixed-precision policy (`training.precision`).
    """
    height, width = int(input_shape[0]), int(input_shape[1])
    check_input_size(height, width, input_fields or SIZE_FIELDS)
    if int(num_classes) < 1:
        raise SpecError("DetectNet_v2 needs at least one target class; set dataset_config.target_class_mapping")
    graph = backbone_graph(arch, n_layers, input_shape, for_detection=True, **backbone_opts)
    keras = graph.builder.keras
    layers, reg = keras.layers, graph.builder.regularizer
    x = graph.features
    if dropout_rate and dropout_rate > 0:
        x = layers.Dropout(float(dropout_rate), name="dropout")(x)
    cov = layers.Conv2D(int(num_classes), 1, activation="sigmoid", name=naming.COV_NAME,
                        kernel_initializer=keras.initializers.RandomNormal(stddev=HEAD_INIT_STDDEV),
                        bias_initializer=keras.initializers.Constant(COV_PRIOR_BIAS),
                        kernel_regularizer=reg, dtype="float32")(x)
    bbox = layers.Conv2D(4 * int(num_classes), 1, name=naming.BBOX_NAME,
                         kernel_initializer=keras.initializers.RandomNormal(stddev=HEAD_INIT_STDDEV),
                         bias_initializer="zeros", kernel_regularizer=reg, dtype="float32")(x)
    model = keras.Model(graph.inputs, [cov, bbox], name=f"detectnet_v2_{graph.label}")
    graph.finish(model)
    return model
