"""The DeepStream side of DetectNet_v2: nvinfer's [property] keys and per-class clustering sections.

    props, before, after = nvinfer_sections(["car", "person"], PostprocessConfig.from_spec(spec, names))

DetectNet_v2 outputs are decoded by nvinfer's built-in DetectNet parser (boxes scaled by 35, grid
offset 0.5) and clustered with the spec's per-class ``clustering_config``.
"""

from __future__ import annotations

import math
import warnings
from typing import Sequence

from ...errors import SpecError, TltError

OUTPUT_BLOBS = ("output_cov/Sigmoid", "output_bbox/BiasAdd")
CLUSTER_MODES = {"dbscan": 1, "nms": 2}
# nvinfer's DetectNet parser hard-codes the box encoding of TAO's default bbox objective.
DEEPSTREAM_BBOX_SCALE, DEEPSTREAM_BBOX_OFFSET = 35.0, 0.5


def nvinfer_sections(names: Sequence[str], postprocess=None) -> tuple[dict, list[str], list[str]]:
    """([property] keys, lines before [property], lines after it: [class-attrs-*] sections)."""
    from .postprocess import PostprocessConfig

    config = postprocess if postprocess is not None else PostprocessConfig.default(names)
    if config.num_classes != len(names):
        raise TltError(f"the post-processing config has {config.num_classes} classes but the model "
                       f"{len(names)}; build it with PostprocessConfig.from_spec(spec, class_names).")
    prop = {"network-type": 0, "output-blob-names": ";".join(OUTPUT_BLOBS),
            "cluster-mode": _cluster_mode(config, names)}
    return prop, _bbox_notes(config), _class_sections(config, names)


def class_attributes(config, index: int) -> dict[str, object]:
    """The ``[class-attrs-<index>]`` keys for class ``index`` of a ``PostprocessConfig``."""
    c = config.classes[index]
    if c.algorithm == "nms":
        return {"pre-cluster-threshold": _number(max(c.coverage_threshold, c.nms_confidence_threshold)),
                "nms-iou-threshold": _number(c.nms_iou_threshold),
                "detected-min-h": _min_height(c.minimum_bounding_box_height)}
    return {"pre-cluster-threshold": _number(c.coverage_threshold),
            "eps": _number(c.dbscan_eps),
            "minBoxes": min_boxes(c.dbscan_min_samples),
            "dbscan-min-score": _number(c.dbscan_confidence_threshold),
            "detected-min-h": _min_height(c.minimum_bounding_box_height)}


def min_boxes(dbscan_min_samples: float) -> int:
    """DeepStream's integer ``minBoxes`` for our summed-coverage ``dbscan_min_samples``.

    We make a candidate a DBSCAN core point when the coverages of the candidates within eps (itself
    included) add up to ``dbscan_min_samples``; nvinfer when their *count* (itself included) reaches
    ``minBoxes``. Coverages are at most 1, so reaching a sum of m needs at least ceil(m) candidates:
    ``minBoxes = max(1, ceil(m))`` is the tightest count that never drops a core point of ours (the
    TAO default 0.05 gives 1: every candidate above the coverage threshold may seed a cluster).
    """
    return max(1, math.ceil(float(dbscan_min_samples) - 1e-6))  # 2.0000001 from float32 is still 2


def _cluster_mode(config, names: Sequence[str]) -> int:
    """nvinfer clusters every class the same way: the spec's classes must agree on the algorithm."""
    algorithms = {c.algorithm for c in config.classes}
    if len(algorithms) > 1:
        by = {a: [n for n, c in zip(names, config.classes) if c.algorithm == a] for a in sorted(algorithms)}
        raise SpecError("postprocessing_config.target_class_config: DeepStream clusters all classes with one "
                        f"algorithm, but the spec mixes them ({by}); set the same clustering_algorithm "
                        "for every class.")
    return CLUSTER_MODES[algorithms.pop()]


def _class_sections(config, names: Sequence[str]) -> list[str]:
    """``[class-attrs-all]`` with the values every class shares, then one full section per class."""
    per_class = [class_attributes(config, i) for i in range(len(names))]
    shared = {key: value for key, value in per_class[0].items()
              if all(attrs.get(key) == value for attrs in per_class)}
    lines = ["# minBoxes = ceil(dbscan_min_samples): nvinfer counts the candidates within eps where the",
             "# spec sums their coverages. dbscan-min-score = dbscan_confidence_threshold (a cluster's summed",
             "# coverage). detected-min-h = minimum_bounding_box_height rounded down, in model-input pixels;",
             "# nvinfer compares it with boxes scaled to the frame: the same when frames have the network size."]
    lines += _section("class-attrs-all", shared)
    for i, (name, attrs) in enumerate(zip(names, per_class)):
        lines += [f"# {name}"] + _section(f"class-attrs-{i}", attrs)
    return lines


def _bbox_notes(config) -> list[str]:
    """Warn (in Python and in the file) when nvinfer's fixed DetectNet decoding differs from the spec's."""
    if (math.isclose(config.scale, DEEPSTREAM_BBOX_SCALE) and math.isclose(config.offset, DEEPSTREAM_BBOX_OFFSET)):
        return []
    message = (f"the model's bbox objective uses scale {config.scale:g} and offset {config.offset:g}, but "
               f"nvinfer's DetectNet parser decodes with {DEEPSTREAM_BBOX_SCALE:g} and "
               f"{DEEPSTREAM_BBOX_OFFSET:g}; boxes will be wrong unless a custom parser is used")
    warnings.warn(message, UserWarning, stacklevel=5)
    return [f"# WARNING: {message}.", ""]


def _min_height(height: float) -> int:
    """nvinfer reads detected-min-h as an integer; rounding down never drops a box the spec keeps."""
    return max(0, math.floor(float(height) + 1e-6))


def _section(name: str, values: dict[str, object]) -> list[str]:
    return [f"[{name}]", *(f"{key}={value}" for key, value in values.items()), ""]


def _number(x: float) -> str:
    """Short decimal form: float32 spec values like 0.05000000074505806 print as 0.05."""
    return format(float(x), ".6g")
