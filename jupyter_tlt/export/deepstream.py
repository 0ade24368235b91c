"""DeepStream integration: ``labels.txt`` and the Gst-nvinfer config file of an exported model.

    from jupyter_tlt.tasks.detectnet_v2.postprocess import PostprocessConfig
    from jupyter_tlt.export.deepstream import read_nvinfer_config, write_labels, write_nvinfer_config

    write_labels("export/labels.txt", class_names)
    write_nvinfer_config("export/nvinfer_config.txt", task="detection", onnx_file="model.onnx",
                         class_names=class_names, input_shape=(3, 384, 1248), data_type="int8",
                         int8_calib_file="cal.bin", postprocess=PostprocessConfig.from_spec(spec, class_names))
    read_nvinfer_config("export/nvinfer_config.txt")["property"]["infer-dims"]   # '3;384;1248'

The ONNX graph takes RGB in [0, 1], NCHW (``onnx_graph``), so nvinfer scales pixels by 1/255 with zero
offsets. Relative file paths are relative to the config file's folder, as DeepStream reads them;
absolute paths are written relative to that folder so the export folder can be moved as a whole.
What differs by task (network type, output blobs, a detector's clustering sections, the labels file's
form) comes from the task (``tasks/<name>/deepstream.py``).

INT8 follows the TensorRT inside the target DeepStream release (``deepstream_version``): up to
TensorRT 10 nvinfer calibrates the FP32 graph from ``int8-calib-file`` (the cache written at export);
an explicitly quantized graph (Q/DQ nodes, ``onnx_has_qdq``) needs no cache and is the only INT8 form
TensorRT 11 builds. Every DeepStream release so far ships TensorRT 10 or older (DEEPSTREAM_TENSORRT).
"""

from __future__ import annotations

import configparser
import os
from pathlib import Path
from typing import Sequence

from .. import atomic
from ..errors import DataError, TltError
from ..tasks import TASKS, task_class

NETWORK_MODES = {"fp32": 0, "int8": 1, "fp16": 2}
NET_SCALE_FACTOR = "0.00392156862745098"  # 1/255: uint8 pixels -> the model's [0, 1] range
# DeepStream release -> the TensorRT it is built on, on x86 dGPU (DeepStream migration guides and
# release notes; Jetson builds may differ: 8.0 has 10.13.2.6 there, 9.2 has 10.16.1.7).
DEEPSTREAM_TENSORRT = {"6.4": "8.6.1.6", "7.0": "8.6.1.6", "7.1": "10.3.0.26", "8.0": "10.9.0.34",
                       "9.0": "10.14.1.48", "9.2": "10.16.0.72"}
DEFAULT_DEEPSTREAM = "9.2"  # the newest release in the table


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
    return atomic.write_text(path, task_class(task).labels_text(names))


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
    if task not in TASKS:
        raise TltError(f"task must be one of {', '.join(TASKS)} for a DeepStream config, not {task!r}.")
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
    extra, before, after = task_class(task).deepstream_config(names, postprocess, classifier_threshold)
    prop.update(extra)
    lines += before + _section("property", prop) + after
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
