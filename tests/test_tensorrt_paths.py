"""What TensorRT 10 and 11 build an engine from (``engine_graph``), checked on the CPU with ONNX Runtime.

Building needs a GPU (tests/test_deployment.py); choosing and making the graph does not: TensorRT 11
takes an FP16 graph for fp16 and a signed-int8 Q/DQ graph for int8, TensorRT 10 the FP32 graph and
the calibration cache.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto

from jupyter_tlt.errors import DataError, TltError
from jupyter_tlt.export import keras_to_onnx
from jupyter_tlt.export.calibration import collect_ranges, write_cache
from jupyter_tlt.export.precision import to_fp16
from jupyter_tlt.export.quantize import quantize_qdq
from jupyter_tlt.export.tensorrt_engine import TRT_QDQ_SUFFIX, engine_graph
from jupyter_tlt.models import keras_module
from jupyter_tlt.tasks.detectnet_v2.head import build_detectnet

pytestmark = pytest.mark.filterwarnings("ignore:DetectNet_v2 input .* below:UserWarning")
SHAPE = (64, 96, 3)


def images(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, (n, 3, *SHAPE[:2])).astype(np.float32)


def run(model: bytes | onnx.ModelProto, x: np.ndarray) -> list[np.ndarray]:
    data = model if isinstance(model, bytes) else model.SerializeToString()
    return onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"input_1": x})


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """An export folder as tlt export --data_type int8 leaves it: model.onnx (FP32), cal.bin, the ORT QDQ."""
    keras_module().utils.set_random_seed(0)
    folder = tmp_path_factory.mktemp("export")
    proto = keras_to_onnx(build_detectnet("resnet", 10, SHAPE, 3))
    ranges = collect_ranges(proto, (images(4, seed) for seed in range(2)))
    (folder / "model.onnx").write_bytes(proto.SerializeToString())
    write_cache(folder / "cal.bin", ranges)
    (folder / "model_int8_qdq.onnx").write_bytes(quantize_qdq(proto, ranges).SerializeToString())
    return folder


def zero_point_types(model: onnx.ModelProto) -> set[int]:
    names = {node.input[2] for node in model.graph.node if node.op_type in ("QuantizeLinear", "DequantizeLinear")}
    return {init.data_type for init in model.graph.initializer if init.name in names}


def test_tensorrt10_builds_the_fp32_graph_with_the_cache(exported):
    model = exported / "model.onnx"
    for data_type in ("fp32", "fp16"):
        graph = engine_graph(model, data_type, 10)
        assert graph.model == model.read_bytes() and graph.cache is None
    graph = engine_graph(model, "int8", 10, exported / "cal.bin")
    assert graph.model == model.read_bytes() and graph.cache == (exported / "cal.bin").read_bytes()
    with pytest.raises(TltError, match="int8 engine on TensorRT 10 needs the calibration cache written at export or a Q/DQ graph"):
        engine_graph(model, "int8", 10)
    # TensorRT 10 builds explicitly quantized graphs too: the TensorRT Q/DQ graph needs no cache
    qdq = exported / "model_int8_qdq_for_10.onnx"
    qdq.write_bytes(engine_graph(model, "int8", 11).model)
    graph = engine_graph(qdq, "int8", 10)
    assert graph.cache is None and "Q/DQ nodes" in graph.notes[0]
    with pytest.raises(TltError, match="at export or a Q/DQ graph"):
        engine_graph(exported / "model_int8_qdq.onnx", "int8", 10)  # ONNX Runtime's layout: not for TensorRT


def test_tensorrt11_fp16_comes_from_an_fp16_graph(exported, tmp_path):
    model = exported / "model.onnx"
    assert engine_graph(model, "fp32", 11).model == model.read_bytes()
    graph = engine_graph(model, "fp16", 11)
    half = onnx.load_from_string(graph.model)
    assert {i.data_type for i in half.graph.initializer} == {TensorProto.FLOAT16}
    assert "FP16 graph" in graph.notes[0]
    x = images(2, seed=5)
    for want, got in zip(run(model.read_bytes(), x), run(graph.model, x)):
        assert np.abs(want - got).max() < 2e-2 * max(1.0, np.abs(want).max())
    # an FP16 export (tlt export --data_type fp16) is taken as it is, and is refused for fp32
    (tmp_path / "half.onnx").write_bytes(graph.model)
    assert engine_graph(tmp_path / "half.onnx", "fp16", 11).model == graph.model
    with pytest.raises(DataError, match="is an fp16 graph.*pass -t fp16"):
        engine_graph(tmp_path / "half.onnx", "fp32", 11)


def test_tensorrt11_int8_comes_from_a_signed_qdq_graph_made_from_the_cache(exported):
    model = exported / "model.onnx"
    graph = engine_graph(model, "int8", 11)  # cal.bin beside the model
    qdq = onnx.load_from_string(graph.model)
    assert graph.cache is None and "scales of" in graph.notes[0] and "cal.bin" in graph.notes[0]
    assert zero_point_types(qdq) == {TensorProto.INT8}  # TensorRT: signed symmetric int8 only
    assert not any(init.data_type == TensorProto.INT32 for init in qdq.graph.initializer)  # biases stay float
    x = images(2, seed=6)
    (cov, bbox), (cov8, bbox8) = run(model.read_bytes(), x), run(graph.model, x)
    # signed int8 spends a bit on the sign of ReLU outputs: a little coarser than the ORT layout, still close
    assert np.abs(cov - cov8).max() < 0.05 and np.abs(bbox - bbox8).max() < 0.25 * np.abs(bbox).max()
    # ONNX Runtime's layout (uint8 activations, int32 biases) differs: it is what TensorRT would refuse
    assert TensorProto.UINT8 in zero_point_types(onnx.load(str(exported / "model_int8_qdq.onnx")))
    with pytest.raises(DataError, match="laid out for ONNX Runtime"):
        engine_graph(exported / "model_int8_qdq.onnx", "int8", 11)
    # a given cache is explained, not ignored
    explicit = engine_graph(model, "int8", 11, exported / "cal.bin")
    assert explicit.notes[0].startswith("-c/--cal_cache_file on TensorRT 11: no calibrator reads the cache")
    assert explicit.model == graph.model


def test_tensorrt11_int8_finds_the_qdq_graph_beside_the_model(exported, tmp_path):
    graph = engine_graph(exported / "model.onnx", "int8", 11)
    (tmp_path / "model.onnx").write_bytes((exported / "model.onnx").read_bytes())
    (tmp_path / f"model{TRT_QDQ_SUFFIX}").write_bytes(graph.model)
    found = engine_graph(tmp_path / "model.onnx", "int8", 11)
    assert found.model == graph.model and f"model{TRT_QDQ_SUFFIX}" in found.notes[0]
    # the Q/DQ graph itself is taken as it is; a cache given with it is reported as not needed
    direct = engine_graph(tmp_path / f"model{TRT_QDQ_SUFFIX}", "int8", 11, exported / "cal.bin")
    assert direct.model == graph.model and "was not needed" in direct.notes[0]


def test_tensorrt11_int8_without_scales_names_the_export_command(exported, tmp_path):
    (tmp_path / "model.onnx").write_bytes((exported / "model.onnx").read_bytes())
    with pytest.raises(TltError, match=r"has no calibrators.*tlt export -m <model.keras> .* --data_type int8"):
        engine_graph(tmp_path / "model.onnx", "int8", 11)
    with pytest.raises(TltError, match="TensorRT 12 is not supported"):
        engine_graph(tmp_path / "model.onnx", "fp16", 12)


def test_fp16_graph_of_the_fp16_export_matches(exported):
    """to_fp16 of the model is what tlt export --data_type fp16 writes: TensorRT 11 builds the same graph."""
    model = onnx.load(str(exported / "model.onnx"))
    assert engine_graph(exported / "model.onnx", "fp16", 11).model == to_fp16(model).SerializeToString()
