"""One interface for Keras, ONNX Runtime and TensorRT models, so evaluate, infer and bench treat them alike.

A runner is called like a Keras model, ``runner(images, training=False)``, with NHWC float32 images
in [0, 1] (numpy or a TensorFlow tensor) and returns numpy outputs in Keras' layout: a detector gives
``(cov, bbox)`` as (B, H/16, W/16, C) and (B, H/16, W/16, 4C) grids, a classifier (B, C)
probabilities. ``input_shape`` is (H, W, C) and ``name`` the framework.

    from jupyter_tlt.runners import make_runner

    runner = make_runner("export/model.onnx")       # by suffix: .keras/.hdf5/.h5, .onnx, .engine/.trt/.plan
    cov, bbox = runner(images, training=False)      # the same arrays the Keras model gives
    runner.name, runner.input_shape                 # ('onnx', (384, 1248, 3))
    make_runner("export/model.engine")              # TensorRT: needs a CUDA GPU, tensorrt and pycuda

ONNX and TensorRT graphs are NCHW (``export.onnx_graph``): the runners transpose images in and grids out.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .errors import DataError, TltError
from .export.formats import FORMATS, FRAMEWORKS, SUFFIXES
from .models.serialization import call_keras


Outputs = Any  # np.ndarray (classifier) or tuple[np.ndarray, np.ndarray] (detector)


class Runner(Protocol):
    name: str
    input_shape: tuple[int, int, int]
    info: dict  # task, class_names, input_shape, spec (see model_info)

    def __call__(self, images: Any, training: bool = False) -> Outputs: ...


def make_runner(model_path: str | os.PathLike, framework: str | None = None, key: str | None = None) -> Runner:
    """The runner for ``model_path``: ``framework`` "keras", "onnx" or "tensorrt", or None to go by suffix.

    ``key`` decrypts an encrypted Keras model. Raises DataError for an unknown framework, a missing
    file, or a file whose suffix belongs to another framework.
    """
    path = Path(model_path)
    by_suffix = SUFFIXES.get(path.suffix.lower())
    if framework is None:
        if by_suffix is None:
            raise DataError(f"{path}: cannot tell the model's framework from the suffix {path.suffix!r}; use one "
                            f"of {', '.join(SUFFIXES)} or pass the framework (-f {'/'.join(FRAMEWORKS)}).")
        framework = by_suffix
    if framework not in FRAMEWORKS:
        raise DataError(f"unknown framework {framework!r}; choose one of {', '.join(FRAMEWORKS)}.")
    if by_suffix is not None and by_suffix != framework:
        raise DataError(f"{path}: {path.suffix} files are {by_suffix} models, not {framework} ones; "
                        f"pass -f {by_suffix} or give a {framework} model file.")
    if not path.is_file():
        raise DataError(f"{path}: model file not found; check -m/--model_path.")
    if framework == "keras":
        from .models import load_model

        runner = KerasRunner(load_model(path, key))
    else:
        runner = globals()[FORMATS[framework].runner](path)
    runner.info = model_info(path, framework, key)
    return runner


def model_info(path: Path, framework: str, key: str | None = None) -> dict:
    """Task, class names, input shape and spec of a model file: inside a Keras file, in an exported
    ONNX file's metadata, and beside an engine (``<engine>.json``, written by export / convert)."""
    import json

    if framework == "keras":
        from .model_info import read_info

        return read_info(path, key)
    if framework == "onnx":
        from .model_info import onnx_info

        return onnx_info(path)
    sidecar = path.with_suffix(path.suffix + ".json")
    return json.loads(sidecar.read_text()) if sidecar.is_file() else {}


class KerasRunner:
    """A Keras model behind the runner interface (outputs converted to numpy)."""

    name = "keras"

    def __init__(self, model: Any) -> None:
        self.model = model
        self.input_shape = tuple(int(d) for d in model.input_shape[1:])

    def __call__(self, images: Any, training: bool = False) -> Outputs:
        outputs = call_keras(self.model, images)
        if isinstance(outputs, (list, tuple)):
            return tuple(np.asarray(o) for o in outputs)
        return np.asarray(outputs)


class OnnxRunner:
    """An NCHW ONNX model in ONNX Runtime: CUDAExecutionProvider first when available, else the CPU."""

    name = "onnx"

    def __init__(self, path_or_bytes: str | os.PathLike | bytes, providers: list[str] | None = None) -> None:
        import onnxruntime

        if providers is None:
            available = onnxruntime.get_available_providers()
            providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
        self.path = None if isinstance(path_or_bytes, (bytes, bytearray)) else str(path_or_bytes)
        if isinstance(path_or_bytes, (bytes, bytearray)):
            source, where = bytes(path_or_bytes), "ONNX model bytes"
        else:
            source, where = str(path_or_bytes), str(path_or_bytes)
            if not Path(source).is_file():
                raise DataError(f"{where}: ONNX model not found; export the model first (tlt export).")
        try:
            self.session = onnxruntime.InferenceSession(source, providers=providers)
        except Exception as exc:  # ONNX Runtime's own exception types (InvalidProtobuf, Fail, ...)
            raise DataError(f"{where}: ONNX Runtime cannot load this model ({str(exc).strip()[:300]}); "
                            "give an .onnx file written by tlt export.") from None
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            raise DataError(f"{where}: expected one NCHW image input, found "
                            f"{[(i.name, i.shape) for i in inputs]}.")
        self._input = inputs[0].name
        batch, channels, height, width = inputs[0].shape
        self.input_shape = (height, width, channels)
        self.batch_size = batch if isinstance(batch, int) else None  # None: any batch size
        self._outputs = _keras_order([o.name for o in self.session.get_outputs()])
        self.providers = self.session.get_providers()

    def __call__(self, images: Any, training: bool = False) -> Outputs:
        x = _nchw(images, self.input_shape)
        if self.batch_size is not None and len(x) != self.batch_size:
            raise DataError(f"this ONNX model was exported for batches of exactly {self.batch_size} images, "
                            f"got {len(x)}; export it without a fixed batch size.")
        return _keras_layout(self.session.run(self._outputs, {self._input: x}))


class TensorRTRunner:
    """A serialized TensorRT 10 or 11 engine run through pycuda on GPU 0 (CUDA's primary context).

    Only the named-tensor API both versions share is used (``num_io_tensors``, ``get_tensor_name``,
    ``get_tensor_mode``, ``set_input_shape``, ``set_tensor_address``, ``execute_async_v3``); tests/
    test_trt_api_surface.py checks it against the real bindings of each.

    Device and page-locked host buffers are allocated once for the engine's largest batch; bigger
    batches are run in chunks. Call ``close()`` (or use ``with``) to free the GPU memory at once.
    """

    name = "tensorrt"
    _gpu: Any = None  # pycuda's primary-context handle while the runner is open

    def __init__(self, engine_path: str | os.PathLike) -> None:
        from .export.tensorrt_engine import gpu_status

        reason = gpu_status(inference=True)
        if reason:
            raise TltError(reason)
        import pycuda.driver as cuda
        import tensorrt as trt

        path = Path(engine_path)
        try:
            data = path.read_bytes()
        except OSError:
            raise DataError(f"{path}: TensorRT engine not found or unreadable; build it with tlt convert.") from None
        self._cuda = cuda
        self._buffers: dict[str, tuple[np.ndarray, Any]] = {}
        cuda.init()
        # The primary context is the one the CUDA runtime (TensorRT, ONNX Runtime) uses too.
        self._gpu = cuda.Device(0).retain_primary_context()
        self._gpu.push()
        try:
            self._logger = trt.Logger(trt.Logger.WARNING)
            self._runtime = trt.Runtime(self._logger)
            self._engine = self._runtime.deserialize_cuda_engine(data)
            if self._engine is None:
                raise DataError(f"{path}: TensorRT {trt.__version__} cannot load this engine; engines only run "
                                "with the TensorRT version and GPU model they were built on: rebuild it here.")
            self._context = self._engine.create_execution_context()
            self._stream = cuda.Stream()
            self._allocate(trt, path)
        except BaseException:
            self._release()
            self._gpu.pop()
            self._gpu.detach()
            self._gpu = None
            raise
        self._gpu.pop()

    def _allocate(self, trt, path: Path) -> None:
        engine = self._engine
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        if len(inputs) != 1:
            raise DataError(f"{path}: expected an engine with one image input, found {inputs}.")
        self._input = inputs[0]
        self._outputs = _keras_order([n for n in names if n != self._input])
        shape = tuple(engine.get_tensor_shape(self._input))  # (batch or -1, C, H, W)
        self._dynamic = shape[0] < 0
        self.max_batch = int(engine.get_tensor_profile_shape(self._input, 0)[2][0]) if self._dynamic else shape[0]
        self.input_shape = (int(shape[2]), int(shape[3]), int(shape[1]))
        self._context.set_input_shape(self._input, (self.max_batch, *shape[1:]))
        for name in [self._input, *self._outputs]:
            dims = tuple(self._context.get_tensor_shape(name))
            host = self._cuda.pagelocked_empty(dims, trt.nptype(engine.get_tensor_dtype(name)))
            device = self._cuda.mem_alloc(host.nbytes)
            self._buffers[name] = (host, device)
            self._context.set_tensor_address(name, int(device))

    def __call__(self, images: Any, training: bool = False) -> Outputs:
        if self._gpu is None:
            raise TltError("this TensorRT runner was closed; make a new one with make_runner.")
        x = _nchw(images, self.input_shape)
        chunks = [self._run(x[i:i + self.max_batch]) for i in range(0, max(len(x), 1), self.max_batch)]
        return _keras_layout([np.concatenate(parts) for parts in zip(*chunks)])

    def _run(self, x: np.ndarray) -> list[np.ndarray]:
        """NCHW outputs of at most ``max_batch`` images (a fixed-batch engine gets zero padding)."""
        n = len(x)
        if n == 0:
            return [np.zeros((0, *self._buffers[name][0].shape[1:]), np.float32) for name in self._outputs]
        batch = n if self._dynamic else self.max_batch
        cuda, stream = self._cuda, self._stream
        self._gpu.push()
        try:
            host_in, device_in = self._buffers[self._input]
            host_in[:n] = x
            host_in[n:batch] = 0
            if self._dynamic:
                self._context.set_input_shape(self._input, host_in[:batch].shape)
            cuda.memcpy_htod_async(device_in, host_in[:batch], stream)
            if not self._context.execute_async_v3(stream.handle):
                raise RuntimeError("TensorRT failed to enqueue the engine (see its log above)")
            results = []
            for name in self._outputs:
                host, device = self._buffers[name]
                shape = tuple(self._context.get_tensor_shape(name))
                view = host.reshape(-1)[:math.prod(shape)].reshape(shape)  # a batch of `batch` is packed
                cuda.memcpy_dtoh_async(view, device, stream)
                results.append(view)
            stream.synchronize()
            return [r[:n].astype(np.float32) for r in results]
        finally:
            self._gpu.pop()

    def close(self) -> None:
        """Free the engine and its GPU buffers now (garbage collection would do it later)."""
        gpu, self._gpu = self._gpu, None
        if gpu is None:
            return
        gpu.push()
        try:
            self._release()
        finally:
            gpu.pop()
            gpu.detach()

    def _release(self) -> None:
        """Free the GPU buffers and TensorRT objects; the CUDA context must be current."""
        for _, device in self._buffers.values():
            device.free()
        self._buffers = {}
        self._context = self._engine = self._runtime = None

    def __enter__(self) -> "TensorRTRunner":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass  # interpreter shutdown: CUDA may already be gone


def _nchw(images: Any, input_shape: tuple) -> np.ndarray:
    """NHWC images as a contiguous NCHW float32 array, after checking they fit the model's input."""
    x = np.asarray(images, dtype=np.float32)
    expected = tuple(d if isinstance(d, int) else None for d in input_shape)
    if x.ndim != 4 or any(e is not None and e != d for e, d in zip(expected, x.shape[1:])):
        size = ", ".join(map(str, expected))
        raise DataError(f"images of shape {x.shape} do not fit the model input (batch, {size}) (NHWC); "
                        "resize them to the model's input size.")
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def _keras_order(names: list[str]) -> list[str]:
    """Output names in the order Keras returns them (the task's ``output_names``; ONNX and TensorRT may
    list them in another order)."""
    from .tasks import task_class, task_of_outputs

    try:
        order = task_class(task_of_outputs(names)).output_names
    except ValueError:  # no task has this many outputs: keep the graph's order
        return list(names)

    def rank(name: str) -> int:
        return next((i for i, prefix in enumerate(order) if name.startswith(prefix)), len(order))

    return sorted(names, key=rank)  # stable: other outputs keep the graph's order


def _keras_layout(outputs: list[np.ndarray]) -> Outputs:
    """NCHW grids back to NHWC; one output alone, several as a tuple."""
    arrays = tuple(np.ascontiguousarray(o.transpose(0, 2, 3, 1)) if o.ndim == 4 else np.asarray(o)
                   for o in outputs)
    return arrays[0] if len(arrays) == 1 else arrays
