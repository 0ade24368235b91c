"""Build a TensorRT 10 engine from an exported ONNX model (fp32, fp16, or int8 from a calibration cache).

    from jupyter_tlt.export.tensorrt_engine import build_engine, gpu_status

    reason = gpu_status()          # None on a machine with a CUDA GPU and TensorRT 10, else why not
    build_engine("export/model.onnx", "export/model.fp16.engine", data_type="fp16", max_batch=16)
    build_engine("export/model.onnx", "export/model.int8.engine", data_type="int8",
                 calibration_cache="export/cal.bin")

The ONNX graph's batch dimension is dynamic (``input_1``: [batch, 3, H, W]); the engine gets one
optimization profile from ``min_batch`` to ``max_batch`` tuned for ``opt_batch``. INT8 engines take
their scales from the cache written at export time: TensorRT finds every scale there and asks for no
calibration data. An engine only runs on the GPU model and TensorRT version it was built with, which is
why it is built here, on the deployment machine, and not at export. ``tensorrt`` is imported only
inside the functions that need it.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import re
import sys
from pathlib import Path

from .. import atomic
from ..errors import DataError, TltError

DATA_TYPES = ("fp32", "fp16", "int8")
INSTALL_HINT = "pip install 'jupyter-tlt[tensorrt]'"
NO_GPU = "no CUDA GPU found (nvidia-smi / CUDA driver missing)"
_CACHE_HEADER = re.compile(rb"TRT-(\d+)-EntropyCalibration2")


def gpu_status(*, inference: bool = False) -> str | None:
    """None when a CUDA GPU and TensorRT 10 are usable, else a one-line reason why not.

    With ``inference`` pycuda (which runs engines) is required too. The GPU is checked first: on a
    machine without one, installing TensorRT would not help.
    """
    reason = _cuda_gpu_reason()
    if reason:
        return reason
    try:
        trt = importlib.import_module("tensorrt")
    except ImportError as exc:
        missing = getattr(exc, "name", None) == "tensorrt"
        return (f"TensorRT is not installed: {INSTALL_HINT}" if missing
                else f"TensorRT is installed but cannot be loaded ({exc}); reinstall it: {INSTALL_HINT}")
    major = int(str(getattr(trt, "__version__", "0")).split(".")[0] or 0)
    if major < 10:
        return f"TensorRT {trt.__version__} is installed; jupyter-tlt needs TensorRT 10 or newer: {INSTALL_HINT}"
    if inference:
        try:
            importlib.import_module("pycuda.driver")
        except ImportError as exc:
            return f"pycuda, which runs TensorRT engines, is not usable ({exc}): {INSTALL_HINT}"
    return None


def _cuda_gpu_reason() -> str | None:
    """Ask the CUDA driver library itself (no CUDA toolkit or Python package needed) for a device."""
    names = ("nvcuda.dll",) if sys.platform == "win32" else ("libcuda.so.1", "libcuda.so")
    for name in names:
        try:
            cuda = ctypes.CDLL(name)
            break
        except OSError:
            continue
    else:
        return NO_GPU
    status = cuda.cuInit(0)
    count = ctypes.c_int(0)
    if status == 0:
        status = cuda.cuDeviceGetCount(ctypes.byref(count))
    if status != 0:
        error = ctypes.c_char_p()
        cuda.cuGetErrorName(status, ctypes.byref(error))
        name = error.value.decode() if error.value else f"error {status}"
        return f"no CUDA GPU found (the CUDA driver reports {name}; check nvidia-smi and CUDA_VISIBLE_DEVICES)"
    if count.value < 1:
        return "no CUDA GPU found (the CUDA driver sees no device; check nvidia-smi and CUDA_VISIBLE_DEVICES)"
    return None


def build_engine(onnx_path: str | os.PathLike, engine_path: str | os.PathLike, *, data_type: str = "fp32",
                 calibration_cache: str | os.PathLike | None = None, min_batch: int = 1,
                 opt_batch: int | None = None, max_batch: int = 8, workspace_mb: int = 1024,
                 verbose: bool = False) -> Path:
    """Build and serialize a TensorRT engine of ``onnx_path`` to ``engine_path`` (atomically).

    ``opt_batch`` defaults to ``max_batch``. fp32 engines are built without TF32, so they match the
    Keras model to float32 rounding; fp16 and int8 engines may use fp16 kernels. Raises TltError with
    ``gpu_status()``'s reason when no GPU or TensorRT is available.
    """
    onnx_path, engine_path = Path(onnx_path), Path(engine_path)
    opt_batch = max_batch if opt_batch is None else opt_batch
    cache = _check_arguments(onnx_path, data_type, calibration_cache, min_batch, opt_batch, max_batch,
                             workspace_mb)
    atomic.ensure_writable_dir(engine_path.parent)
    reason = gpu_status()
    if reason:
        raise TltError(reason)
    import tensorrt as trt

    logger = trt.Logger(trt.Logger.VERBOSE if verbose else trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # TensorRT 10 networks always have an explicit batch dimension
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors)) or "no details"
        raise DataError(f"{onnx_path}: TensorRT {trt.__version__} cannot parse this ONNX graph ({errors}); "
                        "export it again with this version of jupyter-tlt.")

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_mb) << 20)
    if data_type == "fp32":
        config.clear_flag(trt.BuilderFlag.TF32)  # TF32 keeps 10 mantissa bits: not what "fp32" promises
    else:
        # for int8 too: layers without an int8 kernel then run in fp16 rather than fp32
        config.set_flag(trt.BuilderFlag.FP16)
    profile = _batch_profile(builder, network, onnx_path, min_batch, opt_batch, max_batch)
    if profile is not None:
        config.add_optimization_profile(profile)
    calibrator = None
    if data_type == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
        calibrator = _cache_calibrator(trt, cache)
        config.int8_calibrator = calibrator
        if profile is not None:
            config.set_calibration_profile(profile)

    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        hint = _cache_hint(trt, cache, calibration_cache) if calibrator is not None else ""
        raise TltError(f"TensorRT {trt.__version__} could not build an engine from {onnx_path} "
                       f"({data_type}, batch {min_batch}..{max_batch}){hint}; rerun with verbose=True "
                       "(--verbose) to see the builder's log, or raise the workspace size.")
    return atomic.write_bytes(engine_path, serialized)


def _check_arguments(onnx_path: Path, data_type: str, calibration_cache, min_batch: int, opt_batch: int,
                     max_batch: int, workspace_mb: int) -> bytes | None:
    """Check what the user chose before touching the GPU; returns the calibration cache's bytes."""
    if data_type not in DATA_TYPES:
        raise TltError(f"data type {data_type!r} is not one of {', '.join(DATA_TYPES)}; "
                       "choose one with -t/--data_type.")
    if not 1 <= int(min_batch) <= int(opt_batch) <= int(max_batch):
        raise TltError(f"batch sizes must satisfy 1 <= min ({min_batch}) <= opt ({opt_batch}) <= max ({max_batch}); "
                       "fix -b/--max_batch_size and friends.")
    if int(workspace_mb) < 1:
        raise TltError(f"the builder workspace must be at least 1 MiB, got {workspace_mb}.")
    if not onnx_path.is_file():
        raise DataError(f"{onnx_path}: ONNX model not found; export the model first (tlt export).")
    if data_type != "int8":
        return None
    if calibration_cache is None:
        raise TltError("an int8 engine needs the calibration cache written at export; pass -c/--cal_cache_file "
                       "or build with -t fp16.")
    try:
        cache = Path(calibration_cache).read_bytes()
    except OSError:
        raise DataError(f"{calibration_cache}: calibration cache not found or unreadable; export with "
                        "--data_type int8 to write it.") from None
    if not _CACHE_HEADER.match(cache):
        raise DataError(f"{calibration_cache}: not a TensorRT entropy calibration cache (its first line must "
                        "be TRT-<version>-EntropyCalibration2); export with --data_type int8 to write one.")
    return cache


def _batch_profile(builder, network, onnx_path: Path, min_batch: int, opt_batch: int, max_batch: int):
    """One optimization profile over the batch dimension of every input; None when no input is dynamic."""
    profile, dynamic = builder.create_optimization_profile(), False
    for i in range(network.num_inputs):
        tensor = network.get_input(i)
        shape = tuple(tensor.shape)
        if any(d < 0 for d in shape[1:]):
            raise DataError(f"{onnx_path}: input {tensor.name!r} has shape {shape}; only the batch dimension "
                            "may be dynamic. Export with a fixed input size.")
        if shape[0] < 0:
            rest = shape[1:]
            profile.set_shape(tensor.name, (int(min_batch), *rest), (int(opt_batch), *rest),
                              (int(max_batch), *rest))
            dynamic = True
    return profile if dynamic else None


def _cache_calibrator(trt, cache: bytes):
    """An entropy calibrator that only hands TensorRT the finished cache (``trt`` is the module)."""

    class CacheCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self) -> None:
            trt.IInt8EntropyCalibrator2.__init__(self)  # the binding's constructor must run explicitly

        def get_batch_size(self) -> int:
            return 1

        def get_batch(self, names):
            return None  # no data: TensorRT stops calibrating and relies on the cache

        def read_calibration_cache(self) -> bytes:
            return cache

        def write_calibration_cache(self, data) -> None:
            return None  # the cache came from a file we keep as it is

    return CacheCalibrator()


def _cache_hint(trt, cache: bytes, path) -> str:
    """Why an int8 build may have failed: the cache was written for another TensorRT version."""
    major, minor, patch = (int(p) for p in (trt.__version__.split(".") + ["0", "0"])[:3])
    expected = major * 1000 + minor * 100 + patch
    written = int(_CACHE_HEADER.match(cache).group(1))
    if written == expected:
        return f"; {path} may lack scales for some tensors of this graph"
    return (f"; {path} was written for TensorRT version code {written}, this is {expected}: export the "
            "int8 cache again for this TensorRT")
