"""DetectNet_v2, the "detection" task: everything this kind of model needs, in one folder.

``task`` is the task class the steps call (``tasks.make_task("detection", spec)``); ``head`` builds
the two 1x1 convolution heads on a backbone; ``rasterize`` turns ground-truth boxes into the grid
targets the model learns (TensorFlow, usable in tf.data); ``loss`` holds the Keras losses of the two outputs; ``postprocess`` turns the model's
``output_cov`` / ``output_bbox`` back into boxes (numpy + scipy on the CPU); ``predictions`` writes
`tlt infer`'s KITTI files and drawn images, ``evaluation`` the confidence thresholds and error
analysis of `tlt evaluate`, ``deepstream`` the nvinfer config's sections. Importing this
package is cheap: TensorFlow, Keras and scipy are imported by the functions that use them.

The functions ``rasterize.rasterize`` and ``postprocess.postprocess`` share their module's name, so
they are not re-exported here (that would hide the submodules); import them from their modules.
"""

from __future__ import annotations

from .postprocess import ClassClustering, ImageDetections, PostprocessConfig, cluster, decode
from .rasterize import OUTPUT_BBOX, OUTPUT_COV, STRIDE, RasterizerConfig, pack_targets, target_fn, with_targets

__all__ = ["RasterizerConfig", "pack_targets", "target_fn", "with_targets", "PostprocessConfig",
           "ClassClustering", "ImageDetections", "decode", "cluster", "make_losses", "loss_weights",
           "OUTPUT_COV", "OUTPUT_BBOX", "STRIDE"]


def __getattr__(attr: str):
    if attr in ("make_losses", "loss_weights"):
        from .loss import loss_weights, make_losses

        return {"make_losses": make_losses, "loss_weights": loss_weights}[attr]
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
