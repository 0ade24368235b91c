"""`export`: a trained (or pruned and retrained) model to ONNX for TensorRT and DeepStream, checked in
ONNX Runtime against Keras before it is handed over.

Example:
    >>> r = export("runs/retrain/weights/model.keras", data_type="int8", cal_image_dir="data/images",
    ...            gen_ds_config=True)
    >>> r.files      # model.onnx (FP32 graph for TensorRT), cal.bin, model_int8_qdq.onnx, labels.txt, ...

Outputs go to ``<results>/export/`` by default. ``fp16`` writes an ONNX with half-precision weights
and arithmetic (float32 at its input and outputs). ``int8`` writes, as TAO did, the FP32 graph with a
TensorRT calibration cache (``cal.bin``: what ``tlt convert``, ``trtexec --calib`` and DeepStream's
``int8-calib-file`` consume), plus an INT8 QDQ model for ONNX Runtime. The model's task, classes and
spec travel inside the ONNX file (metadata ``jupyter_tlt``), so ``tlt evaluate -f onnx`` needs no spec.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import atomic
from ..errors import DataError, OutputError, TltError
from ..model_info import METADATA_KEY, onnx_info
from ..table_cells import file_size
from .formats import DATA_TYPES

FP32_TOLERANCE = 1e-4
FP16_TOLERANCE = 2e-2  # relative to the output's largest magnitude


@dataclass
class ExportResult:
    """What export wrote, and how the exported model compares with the Keras model."""

    model_path: str
    data_type: str
    files: dict[str, Path] = field(default_factory=dict)
    check: dict[str, float] = field(default_factory=dict)   # output -> max abs diff vs Keras
    tolerance: dict[str, float] = field(default_factory=dict)
    input_names: list[str] = field(default_factory=list)
    output_names: list[str] = field(default_factory=list)
    engine_error: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        passed = all(self.check[name] <= self.tolerance[name] for name in self.tolerance)
        return passed and not self.engine_error

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame([{"file": str(p), "MB": p.stat().st_size / 2**20} for p in self.files.values()],
                            index=list(self.files))

    def __str__(self) -> str:
        lines = [f"Exported {self.model_path} ({self.data_type}) in {self.seconds:.1f}s: "
                 f"inputs {', '.join(self.input_names)}; outputs {', '.join(self.output_names)}"]
        lines += [f"  {what:<18} {p}  ({file_size(p.stat().st_size)})" for what, p in self.files.items()]
        for name, diff in self.check.items():
            if name in self.tolerance:
                verdict = "ok" if diff <= self.tolerance[name] else "FAILED"
                lines.append(f"  check vs Keras: {name} max abs diff {diff:.2e} (tolerance "
                             f"{self.tolerance[name]:.1e}) {verdict}")
            else:
                lines.append(f"  INT8 vs Keras: {name} max abs diff {diff:.3g} (measure accuracy with "
                             "tlt evaluate -f onnx)")
        if self.engine_error:
            lines.append(f"  engine: not built: {self.engine_error}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return "<pre>" + str(self).replace("&", "&amp;").replace("<", "&lt;") + "</pre>"


def export(model_path, output=None, *, data_type: str = "fp32", key: str | None = None, cal_image_dir=None,
           cal_data_file=None, cal_cache_file=None, batches: int = 10, batch_size: int = 16,
           max_batch_size: int = 16, static_batch_size: int = -1, target_opset: int = 17,
           gen_ds_config: bool = False, engine_file=None, calibration_method: str = "entropy",
           allow_fewer: bool = False, workspace_mb: int = 1024, expected_outputs=None,
           deepstream_version: str | None = None, overwrite: bool = False) -> ExportResult:
    """Export ``model_path`` (.keras/.hdf5) to ONNX; see the module docstring for what each option writes.

    Every input is checked (and INT8 calibrated) before the first file is written, so a bad input
    leaves nothing behind; existing outputs are replaced only with ``overwrite``.
    ``expected_outputs`` (the seed's ``--outputs``) must equal the model's output names, else nothing
    is written. ``deepstream_version`` picks the INT8 form of the DeepStream config (default: the
    newest release in ``deepstream.DEEPSTREAM_TENSORRT``)."""
    import onnx

    from ..model_info import read_info
    from ..models import load_model
    from ..tasks import task_of_outputs
    from .onnx_graph import MIN_OPSET, compare_with_keras, keras_to_onnx, onnx_io_names

    from .deepstream import DEFAULT_DEEPSTREAM, deepstream_tensorrt

    start = time.perf_counter()
    deepstream_version = deepstream_version or DEFAULT_DEEPSTREAM
    deepstream_tensorrt(deepstream_version)  # an unknown release fails before any work
    _check_counts(batches, batch_size, max_batch_size, static_batch_size, workspace_mb)
    output = _output_path(model_path, output)
    if data_type not in DATA_TYPES:
        raise DataError(f"--data_type {data_type!r}: use one of {', '.join(DATA_TYPES)}")
    if not MIN_OPSET <= target_opset <= onnx.defs.onnx_opset_version():
        raise DataError(f"--target_opset {target_opset} is not supported: use {MIN_OPSET} to "
                        f"{onnx.defs.onnx_opset_version()} (17 suits TensorRT 8.6 and later)")
    cache = Path(cal_cache_file) if cal_cache_file else output.with_name("cal.bin")
    calibrate = data_type == "int8" and bool(cal_image_dir or cal_data_file)
    if data_type == "int8" and not calibrate and not cache.is_file():
        raise DataError("--data_type int8 needs calibration data: --cal_image_dir DIR or --cal_data_file FILE "
                        f"(tlt calibration-tensorfile), or an existing --cal_cache_file ({cache} does not exist)")
    atomic.check_overwrite(_planned_outputs(output, data_type, calibrate, cache, gen_ds_config, engine_file),
                           overwrite, "exported file")
    atomic.ensure_writable_dir(output.parent)
    model, info = load_model(model_path, key), read_info(model_path, key)
    info = {**info, "task": info.get("task") or task_of_outputs(onnx_io_names(model)[1]), "exported_from": str(model_path),
            "data_type": data_type}
    if gen_ds_config and not info.get("class_names"):
        raise DataError(f"{model_path}: the model carries no class names, which the DeepStream config needs; "
                        "export a model trained by jupyter-tlt, or leave out --gen_ds_config")
    proto = keras_to_onnx(model, opset=target_opset,
                          batch_size=static_batch_size if static_batch_size > 0 else None)
    result = ExportResult(str(model_path), data_type)
    result.input_names, result.output_names = onnx_io_names(model)
    if expected_outputs and list(expected_outputs) != result.output_names:
        raise DataError(f"--outputs {','.join(expected_outputs)} does not match the model's outputs "
                        f"{','.join(result.output_names)}")
    height, width, channels = (int(d) for d in model.input_shape[1:])
    sample = np.random.default_rng(0).uniform(0, 1, (2, channels, height, width)).astype(np.float32)
    if static_batch_size > 0:
        sample = np.resize(sample, (static_batch_size, channels, height, width))
    fp32_check = compare_with_keras(model, proto, np.transpose(sample, (0, 2, 3, 1)))

    if data_type == "fp16":
        from .precision import to_fp16

        main = to_fp16(proto)
        result.check = compare_with_keras(model, main, np.transpose(sample, (0, 2, 3, 1)))
        outputs = _keras_outputs(model, sample)
        result.tolerance = {n: FP16_TOLERANCE * max(1.0, float(np.abs(o).max())) for n, o in outputs.items()}
    else:
        main = proto
        result.check = dict(fp32_check)
        result.tolerance = {name: FP32_TOLERANCE for name in fp32_check}

    if data_type == "int8":  # calibrated before anything is written: bad calibration input leaves nothing
        from .calibration import write_cache
        from .quantize import quantize_qdq

        ranges, data = _int8_ranges(proto, info["task"], (height, width, channels), cache, cal_image_dir,
                                    cal_data_file, batches, batch_size, allow_fewer, calibration_method)
        qdq = quantize_qdq(proto, ranges)
        # TensorRT takes only signed int8 Q/DQ: its own layout, which TensorRT 11 builds int8 engines from
        trt_qdq = quantize_qdq(proto, ranges, for_tensorrt=True)
        check = data[0][:4] if data else sample  # calibration images: what the ranges were fitted to
        result.check.update({f"{name} (int8)": diff for name, diff in compare_with_keras(
            model, qdq, np.transpose(check, (0, 2, 3, 1))).items()})
    result.files["onnx"] = _save_onnx(main, output, info)
    if data_type == "int8":
        if data:
            write_cache(cache, ranges)
        result.files["calibration cache"] = cache
        result.files["int8 qdq onnx"] = _save_onnx(qdq, _qdq_path(output), info)
        result.files["tensorrt int8 qdq onnx"] = _save_onnx(trt_qdq, _trt_qdq_path(output), info)

    if gen_ds_config:
        result.files.update(_deepstream(output, info, (channels, height, width), data_type, result.files,
                                        max_batch_size, engine_file, deepstream_version))
    if engine_file:
        try:
            result.files["tensorrt engine"] = build_engine_with_info(
                result.files["onnx"], engine_file, info, data_type=data_type,
                calibration_cache=result.files.get("calibration cache"), max_batch=max_batch_size,
                workspace_mb=workspace_mb)
        except TltError as exc:
            result.engine_error = str(exc)
    result.seconds = time.perf_counter() - start
    _record_lineage(model_path, model, result, info.get("task"))
    return result


def _record_lineage(model_path, model, result: ExportResult, task: str | None) -> None:
    """The exported file's parent (the Keras model) and figures, in the experiment that holds it."""
    from .. import lineage

    onnx_path = result.files["onnx"]
    figures = {"parameters": int(model.count_params()), "size": lineage.file_size(onnx_path),
               "precision": result.data_type,
               "max_abs_diff": max(result.check.values()) if result.check else None}
    lineage.record(onnx_path, "export", lineage.parent_ref(model_path), figures,
                   files={k: v for k, v in result.files.items() if k != "onnx"}, task=task)


def build_engine_with_info(onnx_path, engine_path, info: dict | None = None, **options) -> Path:
    """``tensorrt_engine.build_engine`` plus the model's info next to the engine (``<engine>.json``),
    which an engine cannot carry inside; ``info`` defaults to the one stored in the ONNX file."""
    from .tensorrt_engine import build_engine

    if info is None:
        info = onnx_info(onnx_path) if Path(onnx_path).is_file() else {}
    engine = build_engine(onnx_path, engine_path, **options)
    atomic.write_text(Path(engine).with_suffix(Path(engine).suffix + ".json"), json.dumps(info, indent=2))
    return Path(engine)


def _check_counts(batches: int, batch_size: int, max_batch_size: int, static_batch_size: int,
                  workspace_mb: int) -> None:
    """The numeric flags of export, checked before anything is loaded or written."""
    from ..limits import require_batch, require_int

    require_int(batches, "--batches")
    require_batch(batch_size, "--batch_size")
    require_batch(max_batch_size, "--max_batch_size")
    if static_batch_size != -1:
        require_batch(static_batch_size, "--static_batch_size (-1 for a dynamic batch)")
    require_int(workspace_mb, "--max_workspace_size", 1, 1 << 20)


def _output_path(model_path, output) -> Path:
    if output is None:
        from ..experiments import Experiment

        output = Experiment.of_model(model_path).export_path(model_path)
    output = Path(output)
    if output.suffix.lower() == ".uff":
        raise OutputError(f"{output}: UFF was removed from TensorRT 10 and is not written; export to ONNX "
                          "(-o model.onnx), which TensorRT, trtexec and DeepStream read")
    if output.suffix.lower() != ".onnx":
        raise OutputError(f"{output}: the exported model is an .onnx file; change the suffix")
    return output


def _keras_outputs(model, nchw: np.ndarray) -> dict:
    from .onnx_graph import onnx_io_names

    from ..models.serialization import call_keras

    out = call_keras(model, np.transpose(nchw, (0, 2, 3, 1)))
    out = out if isinstance(out, (list, tuple)) else [out]
    return dict(zip(onnx_io_names(model)[1], [np.asarray(o) for o in out]))


def _save_onnx(proto, path: Path, info: dict) -> Path:
    import onnx

    del proto.metadata_props[:]
    onnx.helper.set_model_props(proto, {METADATA_KEY: json.dumps(info)})
    return atomic.write_bytes(path, proto.SerializeToString())


def _int8_ranges(proto, task, input_shape, cache: Path, image_dir, data_file, batches, batch_size, allow_fewer,
                 method) -> tuple[dict[str, float], list]:
    """(ranges, calibration batches): calibrated (and the cache written) from images or a tensorfile, or
    read from an existing cache (no batches then)."""
    from .calibration import collect_ranges, read_cache
    from .tensorfile import calibration_batches

    if not image_dir and not data_file:  # export checked that the cache exists
        _, scales = read_cache(cache)
        return {name: scale * 127.0 for name, scale in scales.items()}, []
    data = calibration_batches(input_shape=input_shape, task=task, batches=batches, batch_size=batch_size,
                               image_dir=image_dir, data_file=data_file, allow_fewer=allow_fewer)
    return collect_ranges(proto, data, method=method), data


def _qdq_path(output: Path) -> Path:
    return output.with_name(output.stem + "_int8_qdq.onnx")


def _trt_qdq_path(output: Path) -> Path:
    from .tensorrt_engine import TRT_QDQ_SUFFIX

    return output.with_name(output.stem + TRT_QDQ_SUFFIX)


def _planned_outputs(output: Path, data_type: str, calibrate: bool, cache: Path, gen_ds_config: bool,
                     engine_file) -> list[Path]:
    """Every file this export will write (a reused calibration cache is an input, not an output)."""
    planned = [output]
    if data_type == "int8":
        planned += [_qdq_path(output), _trt_qdq_path(output)] + ([cache] if calibrate else [])
    if gen_ds_config:
        planned += [output.with_name("labels.txt"), output.with_name("nvinfer_config.txt")]
    if engine_file:
        planned += [Path(engine_file), Path(str(engine_file) + ".json")]
    return planned


def _deepstream(output: Path, info: dict, chw: tuple[int, int, int], data_type: str, files: dict, max_batch: int,
                engine_file, deepstream_version: str) -> dict:
    from ..spec import load_experiment_spec
    from ..tasks import make_task
    from .deepstream import calibrates, write_labels, write_nvinfer_config

    task, names = info["task"], info["class_names"]  # export checked that there are class names
    postprocess = None
    if info.get("spec"):
        postprocess = make_task(task, load_experiment_spec(info["spec"], name="stored spec"),
                                names).deepstream_postprocess()
    labels = write_labels(output.with_name("labels.txt"), names, task)
    # TensorRT 11 inside DeepStream: no calibration, the Q/DQ graph carries the int8 scales
    qdq = data_type == "int8" and not calibrates(deepstream_version)
    config = write_nvinfer_config(
        output.with_name("nvinfer_config.txt"), task=task,
        onnx_file=files["tensorrt int8 qdq onnx"] if qdq else files["onnx"], class_names=names,
        input_shape=chw, data_type=data_type, int8_calib_file=None if qdq else files.get("calibration cache"),
        engine_file=engine_file, max_batch_size=max_batch, postprocess=postprocess, labels_file=labels,
        onnx_has_qdq=qdq, deepstream_version=deepstream_version)
    return {"labels": labels, "deepstream config": config}

