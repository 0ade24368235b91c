"""DeepStream integration: ``labels.txt`` and the Gst-nvinfer config file of an exported model.

    from jupyter_tlt.detectnet.postprocess import PostprocessConfig
    from jupyter_tlt.export.deepstream import read_nvinfer_config, write_labels, write_nvinfer_config

    write_labels("export/labels.txt", class_names)
    write_nvinfer_config("export/nvinfer_config.txt", task="detection", onnx_file="model.onnx",
                         class_names=class_names, input_shape=(3, 384, 1248), data_type="int8",
                         int8_calib_file="cal.bin", postprocess=PostprocessConfig.from_spec(spec, class_names))
    read_nvinfer_config("export/nvinfer_config.txt")["property"]["infer-dims"]   # '3;384;1248'

The ONNX graph takes RGB in [0, 1], NCHW (``onnx_graph``), so nvinfer scales pixels by 1/255 with zero
offsets. Relative file paths are relative to the config file's folder, as DeepStream reads them;
absolute paths are written relative to that folder so the export folder can be moved as a whole.
DetectNet_v2 outputs are decoded by nvinfer's built-in DetectNet parser (boxes scaled by 35, grid
offset 0.5) and clustered with the spec's per-class ``clustering_config``.

INT8 follows the TensorRT inside the target DeepStream release (``deepstream_version``): up to
TensorRT 10 nvinfer calibrates the FP32 graph from ``int8-calib-file`` (the cache written at export);
an explicitly quantized graph (Q/DQ nodes, ``onnx_has_qdq``) needs no cache and is the only INT8 form
TensorRT 11 builds. Every DeepStream release so far ships TensorRT 10 or older (DEEPSTREAM_TENSORRT).
"""

from __future__ import annotations

import configparser
import math
import os
import warnings
from pathlib import Path
from typing import Sequence

from .. import atomic
from ..errors import DataError, SpecError, TltError

NETWORK_MODES = {"fp32": 0, "int8": 1, "fp16": 2}
DETECTION_OUTPUTS = ("output_cov/Sigmoid", "output_bbox/BiasAdd")
CLASSIFICATION_OUTPUTS = ("predictions/Softmax",)
NET_SCALE_FACTOR = "0.00392156862745098"  # 1/255: uint8 pixels -> the model's [0, 1] range
CLUSTER_MODES = {"dbscan": 1, "nms": 2}
# DeepStream release -> the TensorRT it is built on, on x86 dGPU (DeepStream migration guides and
# release notes; Jetson builds may differ: 8.0 has 10.13.2.6 there, 9.2 has 10.16.1.7).
DEEPSTREAM_TENSORRT = {"6.4": "8.6.1.6", "7.0": "8.6.1.6", "7.1": "10.3.0.26", "8.0": "10.9.0.34",
                       "9.0": "10.14.1.48", "9.2": "10.16.0.72"}
DEFAULT_DEEPSTREAM = "9.2"  # the newest release in the table
# nvinfer's DetectNet parser hard-codes the box encoding of TAO's default bbox objective.
DEEPSTREAM_BBOX_SCALE, DEEPSTREAM_BBOX_OFFSET = 35.0, 0.5


def write_labels(path: str | os.PathLike, class_names: Sequence[str], task: str = "detection") -> Path:
    """Write DeepStream's ``labelfile-path`` file, classes in the model's output order.

    A detector's file has one class per line; nvinfer reads a classifier's labels as one line per
    output layer with the classes separated by ';', so a classifier's file is that single line.
    """
    names = [str(name) for name in class_names]
    if not names:
        raise TltError(f"{path}: no class names to write; the model must carry its class names.")
    for name in names:
        if not name or "\n" in name or ";" in name:
            raise DataError(f"{path}: class name {name!r} cannot be written to a DeepStream labels file "
                            "(empty, or holds a newline or ';'); rename the class in the spec.")
    if task == "classification":
        return atomic.write_text(path, ";".join(names) + "\n")
    return atomic.write_text(path, "".join(f"{name}\n" for name in names))


def write_nvinfer_config(path: str | os.PathLike, *, task: str, onnx_file: str | os.PathLike,
                         class_names: Sequence[str], input_shape: Sequence[int], data_type: str = "fp32",
                         int8_calib_file: str | os.PathLike | None = None,
                         engine_file: str | os.PathLike | None = None, max_batch_size: int = 1,
                         postprocess=None, labels_file: str | os.PathLike | None = None,
                         classifier_threshold: float = 0.5, onnx_has_qdq: bool = False,
                         deepstream_version: str = DEFAULT_DEEPSTREAM) -> Path:
    """Write the Gst-nvinfer config of a detector or classifier atomically and return its path.

    ``input_shape`` is (C, H, W); ``postprocess`` a ``PostprocessConfig`` (detection only; the spec
    defaults when None). For int8, ``onnx_file`` is either the FP32 graph with ``int8_calib_file``
    (DeepStream on TensorRT 10 or older) or a Q/DQ graph (``onnx_has_qdq``), which needs no cache.
    File arguments are paths from the current directory (``labels_file`` defaults to labels.txt beside
    the config); the config names them relative to its own folder, as DeepStream resolves them.
    """
    path = Path(path)
    if task not in ("detection", "classification"):
        raise TltError(f"task must be 'detection' or 'classification' for a DeepStream config, not {task!r}.")
    if data_type not in NETWORK_MODES:
        raise TltError(f"data type {data_type!r} is not one of {', '.join(NETWORK_MODES)}; "
                       "choose one with --data_type.")
    tensorrt = deepstream_tensorrt(deepstream_version)
    if data_type == "int8" and not onnx_has_qdq:
        if not calibrates(deepstream_version):
            from .tensorrt_engine import TRT_QDQ_SUFFIX

            raise TltError(f"DeepStream {deepstream_version} runs TensorRT {tensorrt}, which has no INT8 "
                           "calibration: give it the Q/DQ model (tlt export --data_type int8 writes "
                           f"<model>{TRT_QDQ_SUFFIX}).")
        if not int8_calib_file:
            raise TltError("an int8 DeepStream config needs the INT8 calibration cache; pass --cal_cache_file "
                           "or export with --data_type fp16/fp32.")
    if len(input_shape) != 3 or any(int(d) < 1 for d in input_shape):
        raise TltError(f"input_shape must be (C, H, W) with positive sizes, got {tuple(input_shape)}.")
    if int(max_batch_size) < 1:
        raise TltError(f"the DeepStream batch size must be at least 1, got {max_batch_size}.")
    names = [str(n) for n in class_names]
    if not names:
        raise TltError(f"{path}: the model carries no class names; a DeepStream config needs them.")

    folder = path.parent
    prop: dict[str, object] = {
        "gpu-id": 0,
        "net-scale-factor": NET_SCALE_FACTOR,
        "offsets": "0;0;0",
        "model-color-format": 0,  # RGB, the channel order the model was trained on
        "infer-dims": ";".join(str(int(d)) for d in input_shape),
        "network-input-order": 0,  # NCHW; the UFF-era uff-input-order key went away with UFF
        "onnx-file": _relative(onnx_file, folder),
        "labelfile-path": _relative(labels_file or folder / "labels.txt", folder),
    }
    if data_type == "int8" and not onnx_has_qdq:
        prop["int8-calib-file"] = _relative(int8_calib_file, folder)
    if engine_file:
        prop["model-engine-file"] = _relative(engine_file, folder)
    prop.update({
        "batch-size": int(max_batch_size),
        "network-mode": NETWORK_MODES[data_type],
        "num-detected-classes": len(names),
        "gie-unique-id": 1,
        "process-mode": 1,  # primary: whole frames (a secondary classifier on crops uses 2)
    })

    lines = [f"# DeepStream Gst-nvinfer config written by jupyter-tlt for a {task} model.",
             f"# For DeepStream {deepstream_version} (TensorRT {tensorrt}); INT8 {_int8_note(data_type, onnx_has_qdq)}.",
             f"# Classes (labels file order): {', '.join(names)}", ""]
    if task == "classification":
        prop.update({"network-type": 1, "output-blob-names": ";".join(CLASSIFICATION_OUTPUTS),
                     "classifier-threshold": _number(classifier_threshold)})
        lines += _section("property", prop)
    else:
        from ..detectnet.postprocess import PostprocessConfig

        config = postprocess if postprocess is not None else PostprocessConfig.default(names)
        if config.num_classes != len(names):
            raise TltError(f"the post-processing config has {config.num_classes} classes but the model "
                           f"{len(names)}; build it with PostprocessConfig.from_spec(spec, class_names).")
        prop.update({"network-type": 0, "output-blob-names": ";".join(DETECTION_OUTPUTS),
                     "cluster-mode": _cluster_mode(config, names)})
        lines += _bbox_notes(config) + _section("property", prop)
        lines += _class_sections(config, names)
    return atomic.write_text(path, "\n".join(lines).rstrip("\n") + "\n")


def deepstream_tensorrt(deepstream_version: str) -> str:
    """The TensorRT version DeepStream ``deepstream_version`` ships; TltError for a release not in the table."""
    version = str(deepstream_version).strip()
    if version not in DEEPSTREAM_TENSORRT:
        raise TltError(f"DeepStream {version!r} is not one of the releases jupyter-tlt knows "
                       f"({', '.join(DEEPSTREAM_TENSORRT)}); pass one of them with --deepstream_version.")
    return DEEPSTREAM_TENSORRT[version]


def calibrates(deepstream_version: str) -> bool:
    """Whether the TensorRT of this DeepStream release still calibrates INT8 from a cache (TensorRT 10 and
    older); TensorRT 11 builds INT8 only from Q/DQ graphs."""
    return int(deepstream_tensorrt(deepstream_version).split(".")[0]) < 11


def _int8_note(data_type: str, onnx_has_qdq: bool) -> str:
    if data_type != "int8":
        return "not used"
    return ("from the Q/DQ nodes of onnx-file (explicit quantization, no cache)" if onnx_has_qdq
            else "scales from int8-calib-file (TensorRT calibration cache)")


def read_nvinfer_config(path: str | os.PathLike) -> dict[str, dict[str, str]]:
    """The sections of an nvinfer config as {section: {key: value}}, keys in their original case."""
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # nvinfer keys are case-sensitive (minBoxes)
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f)
    except FileNotFoundError:
        raise DataError(f"{path}: DeepStream config not found.") from None
    except configparser.Error as exc:
        raise DataError(f"{path}: not a valid nvinfer config ({exc.message.splitlines()[0]}).") from None
    return {section: dict(parser.items(section)) for section in parser.sections()}


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
    warnings.warn(message, UserWarning, stacklevel=3)
    return [f"# WARNING: {message}.", ""]


def _section(name: str, values: dict[str, object]) -> list[str]:
    return [f"[{name}]", *(f"{key}={value}" for key, value in values.items()), ""]


def _relative(file: str | os.PathLike, folder: Path) -> str:
    """``file`` as written into the config: relative to the config's folder (DeepStream resolves it from
    there, whatever the directory the export ran in), '/' separated."""
    file = Path(file)
    try:
        return Path(os.path.relpath(file.resolve(), folder.resolve())).as_posix()
    except ValueError:  # another drive on Windows: no relative path exists
        return file.as_posix()


def _min_height(height: float) -> int:
    """nvinfer reads detected-min-h as an integer; rounding down never drops a box the spec keeps."""
    return max(0, math.floor(float(height) + 1e-6))


def _number(x: float) -> str:
    """Short decimal form: float32 spec values like 0.05000000074505806 print as 0.05."""
    return format(float(x), ".6g")
