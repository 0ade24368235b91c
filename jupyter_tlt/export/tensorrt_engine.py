"""Build a TensorRT engine from an exported ONNX model, on TensorRT 10 or 11 (fp32, fp16, int8).

    from jupyter_tlt.export.tensorrt_engine import build_engine, engine_graph, gpu_status

    reason = gpu_status()          # None on a machine with a CUDA GPU and TensorRT 10 or 11, else why not
    build_engine("export/model.onnx", "export/model.fp16.engine", data_type="fp16", max_batch=16)
    build_engine("export/model.onnx", "export/model.int8.engine", data_type="int8",
                 calibration_cache="export/cal.bin")
    engine_graph("export/model.onnx", "int8", tensorrt_major=11).notes   # what 11 builds from, no GPU needed

The two TensorRT versions build reduced precision differently, and every difference lives here, in
functions named ``_tensorrt10_*`` and ``_tensorrt11_*`` (tests/test_trt_api_surface.py checks each
against the real Python API of its version; the other functions must work with both):

- TensorRT 10 (DeepStream 7.1 to 9.2, JetPack): "weak typing". The FP32 graph is parsed as it is;
  ``BuilderFlag.FP16`` lets the builder pick fp16 kernels, and ``BuilderFlag.INT8`` with a calibrator
  that only hands over the cache written at export (``cal.bin``) gives int8 with those scales.
- TensorRT 11 removed those flags and the calibrators: networks are strongly typed
  (``NetworkDefinitionCreationFlag.STRONGLY_TYPED``) and run in the types the graph holds. An fp16
  engine is built from the FP16 graph (the given model if it is one, else ``precision.to_fp16`` of
  it, what ``tlt export --data_type fp16`` writes); an int8 engine from a Q/DQ graph: the given model
  if it is one, else ``<model>_int8_trt_qdq.onnx`` beside it, else one made from the calibration
  cache (``-c``, or ``cal.bin`` beside the model) whose scales become Q/DQ nodes. Without any of
  these the error names the ``tlt export`` command that writes them.

The ONNX graph's batch dimension is dynamic (``input_1``: [batch, 3, H, W]); the engine gets one
optimization profile from ``min_batch`` to ``max_batch`` tuned for ``opt_batch``. An engine only runs
on the GPU model and TensorRT version it was built with, which is why it is built here, on the
deployment machine, and not at export. ``tensorrt`` is imported only inside the functions that need it.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .. import atomic
from ..errors import DataError, TltError
from .formats import DATA_TYPES

TENSORRT_MAJORS = (10, 11)
INSTALL_HINT = "pip install 'jupyter-tlt[tensorrt]'"
NO_GPU = "no CUDA GPU found (nvidia-smi / CUDA driver missing)"
TRT_QDQ_SUFFIX = "_int8_trt_qdq.onnx"  # <model>_int8_trt_qdq.onnx: the Q/DQ graph TensorRT 11 builds int8 from
_CACHE_HEADER = re.compile(rb"TRT-(\d+)-EntropyCalibration2")
_QDQ_OPS = {"QuantizeLinear", "DequantizeLinear"}


def gpu_status(*, inference: bool = False) -> str | None:
    """None when a CUDA GPU and TensorRT 10 or 11 are usable, else a one-line reason why not.

    With ``inference`` pycuda (which runs engines) is required too. The GPU is checked first: on a
    machine without one, installing TensorRT would not help.
    """
    reason = cuda_gpu_reason()
    if reason:
        return reason
    try:
        trt = importlib.import_module("tensorrt")
    except ImportError as exc:
        missing = getattr(exc, "name", None) == "tensorrt"
        return (f"TensorRT is not installed: {INSTALL_HINT}" if missing
                else f"TensorRT is installed but cannot be loaded ({exc}); reinstall it: {INSTALL_HINT}")
    major = tensorrt_major(trt)
    if major not in TENSORRT_MAJORS:
        return (f"TensorRT {trt.__version__} is installed; jupyter-tlt builds engines with TensorRT 10 or 11: "
                f"{INSTALL_HINT}")
    if inference:
        try:
            importlib.import_module("pycuda.driver")
        except ImportError as exc:
            return f"pycuda, which runs TensorRT engines, is not usable ({exc}): {INSTALL_HINT}"
    return None


def tensorrt_major(trt) -> int:
    """The major version of the imported ``tensorrt`` module (0 when it does not say)."""
    return int(str(getattr(trt, "__version__", "0")).split(".")[0] or 0)


def cuda_gpu_reason() -> str | None:
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


@dataclass
class EngineGraph:
    """What a TensorRT version builds an engine from: the ONNX bytes, the calibration cache (TensorRT 10
    int8 only) and notes for the user on where the graph came from."""

    model: bytes
    cache: bytes | None = None
    notes: list[str] = field(default_factory=list)


def build_engine(onnx_path: str | os.PathLike, engine_path: str | os.PathLike, *, data_type: str = "fp32",
                 calibration_cache: str | os.PathLike | None = None, min_batch: int = 1,
                 opt_batch: int | None = None, max_batch: int = 8, workspace_mb: int = 1024,
                 verbose: bool = False, notes: list[str] | None = None) -> Path:
    """Build and serialize a TensorRT engine of ``onnx_path`` to ``engine_path`` (atomically).

    ``opt_batch`` defaults to ``max_batch``. fp32 engines are built without TF32, so they match the
    Keras model to float32 rounding. ``notes``, when given, receives one line per choice made for the
    installed TensorRT (which graph an fp16 or int8 engine was built from). Raises TltError with
    ``gpu_status()``'s reason when no GPU or TensorRT is available.
    """
    onnx_path, engine_path = Path(onnx_path), Path(engine_path)
    opt_batch = max_batch if opt_batch is None else opt_batch
    _check_arguments(onnx_path, data_type, calibration_cache, min_batch, opt_batch, max_batch, workspace_mb)
    atomic.ensure_writable_dir(engine_path.parent)
    reason = gpu_status()
    if reason:
        raise TltError(reason)
    import tensorrt as trt

    major = tensorrt_major(trt)
    graph = engine_graph(onnx_path, data_type, major, calibration_cache)
    _, create_network, set_precision = _PATHS[major]
    logger = trt.Logger(trt.Logger.VERBOSE if verbose else trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = create_network(trt, builder)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(graph.model, str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors)) or "no details"
        raise DataError(f"{onnx_path}: TensorRT {trt.__version__} cannot parse this ONNX graph ({errors}); "
                        "export it again with this version of jupyter-tlt.")

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_mb) << 20)
    if data_type == "fp32":
        config.clear_flag(trt.BuilderFlag.TF32)  # TF32 keeps 10 mantissa bits: not what "fp32" promises
    profile = _batch_profile(builder, network, onnx_path, min_batch, opt_batch, max_batch)
    if profile is not None:
        config.add_optimization_profile(profile)
    calibrator = set_precision(trt, config, data_type, graph.cache, profile)
    serialized = builder.build_serialized_network(network, config)
    del calibrator  # TensorRT 10 calls it back during the build: it must live until here
    if serialized is None:
        hint = _cache_hint(trt, graph.cache, calibration_cache) if graph.cache is not None else ""
        raise TltError(f"TensorRT {trt.__version__} could not build an engine from {onnx_path} "
                       f"({data_type}, batch {min_batch}..{max_batch}){hint}; rerun with verbose=True "
                       "(--verbose) to see the builder's log, or raise the workspace size.")
    if notes is not None:
        notes.extend(graph.notes)
    return atomic.write_bytes(engine_path, serialized)


def engine_graph(onnx_path: str | os.PathLike, data_type: str, tensorrt_major: int,
                 calibration_cache: str | os.PathLike | None = None) -> EngineGraph:
    """What TensorRT ``tensorrt_major`` builds a ``data_type`` engine of ``onnx_path`` from (no GPU needed)."""
    if tensorrt_major not in _PATHS:
        raise TltError(f"TensorRT {tensorrt_major} is not supported; jupyter-tlt builds engines with TensorRT "
                       f"{' or '.join(map(str, TENSORRT_MAJORS))}: {INSTALL_HINT}")
    return _PATHS[tensorrt_major][0](Path(onnx_path), data_type, calibration_cache)


def _check_arguments(onnx_path: Path, data_type: str, calibration_cache, min_batch: int, opt_batch: int,
                     max_batch: int, workspace_mb: int) -> None:
    """Check what the user chose before touching the GPU."""
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
    if data_type == "int8" and calibration_cache is not None:
        _read_cache(calibration_cache)


def _read_cache(path) -> bytes:
    """The bytes of a TensorRT entropy calibration cache, checked."""
    try:
        cache = Path(path).read_bytes()
    except OSError:
        raise DataError(f"{path}: calibration cache not found or unreadable; export with "
                        "--data_type int8 to write it.") from None
    if not _CACHE_HEADER.match(cache):
        raise DataError(f"{path}: not a TensorRT entropy calibration cache (its first line must "
                        "be TRT-<version>-EntropyCalibration2); export with --data_type int8 to write one.")
    return cache


def _graph_precision(model) -> str:
    """"int8" for a graph with Q/DQ nodes, "fp16" for half-precision weights, else "fp32"."""
    from onnx import TensorProto

    if any(node.op_type in _QDQ_OPS for node in model.graph.node):
        return "int8"
    types = {init.data_type for init in model.graph.initializer}
    return "fp16" if TensorProto.FLOAT16 in types and TensorProto.FLOAT not in types else "fp32"


def _tensorrt_qdq(model) -> bool:
    """Whether every Q/DQ pair is one TensorRT takes: signed int8 (no uint8 activations, no int32 biases)."""
    from onnx import TensorProto

    zero_points = {node.input[2] for node in model.graph.node if node.op_type in _QDQ_OPS and len(node.input) > 2}
    return all(init.data_type == TensorProto.INT8 for init in model.graph.initializer if init.name in zero_points)


# --- TensorRT 10: weak typing, builder flags and the calibration cache ---------------------------

def _tensorrt10_graph(onnx_path: Path, data_type: str, calibration_cache) -> EngineGraph:
    """The graph as exported; int8 takes its scales from the calibration cache written at export, or,
    without one, from the graph's own Q/DQ nodes (TensorRT 10 builds those too)."""
    graph = EngineGraph(onnx_path.read_bytes())
    if data_type != "int8":
        return graph
    if calibration_cache is not None:
        graph.cache = _read_cache(calibration_cache)
        graph.notes.append(f"TensorRT 10: int8 scales from the calibration cache {calibration_cache}")
        return graph
    import onnx

    model = onnx.load(str(onnx_path))
    if _graph_precision(model) == "int8" and _tensorrt_qdq(model):
        graph.notes.append(f"TensorRT 10: int8 scales from the Q/DQ nodes of {onnx_path} (explicit quantization)")
        return graph
    raise TltError("an int8 engine on TensorRT 10 needs the calibration cache written at export or a Q/DQ graph; "
                   "pass -c/--cal_cache_file (cal.bin from tlt export --data_type int8), or the "
                   f"<model>{TRT_QDQ_SUFFIX} it writes, or build with -t fp16.")


def _tensorrt10_network(trt, builder):
    return builder.create_network(0)  # TensorRT 10 networks always have an explicit batch dimension


def _tensorrt10_precision(trt, config, data_type: str, cache: bytes | None, profile):
    """Builder flags: fp16 kernels allowed for fp16 and int8 (layers without an int8 kernel then run in
    fp16 rather than fp32); int8 scales from the cache, or from the graph's Q/DQ nodes when there is none.
    Returns the calibrator, which must outlive the build."""
    if data_type == "fp32":
        return None
    config.set_flag(trt.BuilderFlag.FP16)
    if data_type != "int8":
        return None
    config.set_flag(trt.BuilderFlag.INT8)
    if cache is None:
        return None
    calibrator = _tensorrt10_calibrator(trt, cache)
    config.int8_calibrator = calibrator
    if profile is not None:
        config.set_calibration_profile(profile)
    return calibrator


def _tensorrt10_calibrator(trt, cache: bytes):
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


# --- TensorRT 11: strong typing; the graph's own types and Q/DQ nodes decide the precision ---------

def _tensorrt11_graph(onnx_path: Path, data_type: str, calibration_cache) -> EngineGraph:
    """The graph whose types are ``data_type``: the given one, one found beside it, or one made from it."""
    import onnx

    model = onnx.load(str(onnx_path))
    found = _graph_precision(model)
    if found == data_type and (found != "int8" or _tensorrt_qdq(model)):
        graph = EngineGraph(onnx_path.read_bytes())
        if calibration_cache is not None:
            graph.notes.append(f"TensorRT 11: {onnx_path} already holds its int8 scales in Q/DQ nodes; the "
                               f"calibration cache {calibration_cache} was not needed")
        return graph
    if found != "fp32":
        raise DataError(f"{onnx_path}: this is an {found} graph{_ort_only(found, model)}; TensorRT 11 builds a "
                        f"{data_type} engine from the FP32 export (tlt export --data_type fp32"
                        f"{' or int8' if data_type == 'int8' else ''}), or pass -t {found}.")
    if data_type == "fp32":
        return EngineGraph(onnx_path.read_bytes())
    if data_type == "fp16":
        from .precision import to_fp16

        return EngineGraph(to_fp16(model).SerializeToString(), notes=[
            f"TensorRT 11 builds fp16 from an FP16 graph: made one from {onnx_path} (float16 weights and "
            "arithmetic, float32 input and outputs, as tlt export --data_type fp16 writes)"])
    return _tensorrt11_qdq_graph(onnx_path, model, calibration_cache)


def _tensorrt11_qdq_graph(onnx_path: Path, model, calibration_cache) -> EngineGraph:
    """The Q/DQ graph beside ``onnx_path``, or one made from its calibration cache (explicit quantization)."""
    beside = onnx_path.with_name(onnx_path.stem + TRT_QDQ_SUFFIX)
    if beside.is_file() and calibration_cache is None:
        return EngineGraph(beside.read_bytes(), notes=[f"TensorRT 11 builds int8 from a Q/DQ graph: using {beside}"])
    cache = Path(calibration_cache) if calibration_cache is not None else onnx_path.with_name("cal.bin")
    if not cache.is_file():
        raise TltError(f"TensorRT 11 builds int8 engines from a graph with Q/DQ nodes (it has no calibrators); "
                       f"{onnx_path} has none, and neither {beside.name} nor a calibration cache ({cache}) is "
                       f"beside it: run tlt export -m <model.keras> -o {onnx_path} --data_type int8 "
                       "--cal_image_dir <images>, then convert its model.onnx again.")
    from .calibration import read_cache
    from .quantize import quantize_qdq

    _read_cache(cache)
    _, scales = read_cache(cache)
    qdq = quantize_qdq(model, {name: scale * 127.0 for name, scale in scales.items()}, for_tensorrt=True)
    why = ("-c/--cal_cache_file on TensorRT 11: no calibrator reads the cache any more, so" if calibration_cache
           is not None else "TensorRT 11 builds int8 from a Q/DQ graph:")
    return EngineGraph(qdq.SerializeToString(), notes=[
        f"{why} the scales of {cache} were written into Q/DQ nodes of {onnx_path} (explicit quantization)"])


def _ort_only(found: str, model) -> str:
    if found == "int8" and not _tensorrt_qdq(model):
        return " laid out for ONNX Runtime (uint8 activations, int32 biases), which TensorRT does not take"
    return ""


def _tensorrt11_network(trt, builder):
    flag = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    return builder.create_network(flag)


def _tensorrt11_precision(trt, config, data_type: str, cache: bytes | None, profile):
    """Nothing to set: a strongly typed network runs in the types of its graph (see _tensorrt11_graph)."""
    return None


# TensorRT major -> (graph, network, precision): the whole difference between the versions.
_PATHS = {10: (_tensorrt10_graph, _tensorrt10_network, _tensorrt10_precision),
          11: (_tensorrt11_graph, _tensorrt11_network, _tensorrt11_precision)}


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


def _cache_hint(trt, cache: bytes, path) -> str:
    """Why an int8 build may have failed: the cache was written for another TensorRT version."""
    major, minor, patch = (int(p) for p in (trt.__version__.split(".") + ["0", "0"])[:3])
    expected = major * 1000 + minor * 100 + patch
    written = int(_CACHE_HEADER.match(cache).group(1))
    if written == expected:
        return f"; {path} may lack scales for some tensors of this graph"
    return (f"; {path} was written for TensorRT version code {written}, this is {expected}: export the "
            "int8 cache again for this TensorRT")
