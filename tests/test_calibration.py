"""INT8 calibration (entropy / percentile / max ranges, TensorRT cache) and the QDQ model for ONNX Runtime."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from jupyter_tlt import DataError
from jupyter_tlt.export import keras_to_onnx
from jupyter_tlt.export.calibration import collect_ranges, entropy_amax, read_cache, write_cache
from jupyter_tlt.export.quantize import ort_op_counts, quantize_qdq
from jupyter_tlt.models import keras_module
from jupyter_tlt.tasks.classification.head import build_classifier
from jupyter_tlt.tasks.detectnet_v2.head import build_detectnet

# The small test inputs are below the seed's 480x272 on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:DetectNet_v2 input .* below:UserWarning")


def images(shape: tuple, n: int, seed: int) -> np.ndarray:
    """NCHW float32 images in [0, 1] for an NHWC Keras input shape."""
    height, width, channels = shape
    return np.random.default_rng(seed).uniform(0, 1, (n, channels, height, width)).astype(np.float32)


def with_bn_statistics(model, shape: tuple):
    """Give the batch norms measured moving statistics and random affine terms (fresh ones are identities)."""
    rng = np.random.default_rng(0)
    bns = [layer for layer in model.layers if layer.__class__.__name__ == "BatchNormalization"]
    for bn in bns:
        n = bn.gamma.shape[0]
        bn.gamma.assign(rng.uniform(0.5, 1.0, n))
        bn.beta.assign(rng.normal(0, 0.1, n))
        bn.momentum = 0.0  # one training-mode call stores the batch statistics as the moving ones
    model(images(shape, 4, seed=99).transpose(0, 2, 3, 1), training=True)
    return model


def session(proto: onnx.ModelProto) -> onnxruntime.InferenceSession:
    return onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def run(proto: onnx.ModelProto, x: np.ndarray) -> dict[str, np.ndarray]:
    s = session(proto)
    return dict(zip([o.name for o in s.get_outputs()], s.run(None, {"input_1": x})))


DETECTION_SHAPE = (64, 96, 3)
CLASSIFICATION_SHAPE = (64, 64, 3)


@pytest.fixture(scope="module")
def detector():
    """(float ONNX graph, entropy ranges) of a small ResNet-10 DetectNet_v2."""
    keras_module().utils.set_random_seed(0)
    proto = keras_to_onnx(with_bn_statistics(build_detectnet("resnet", 10, DETECTION_SHAPE, 3), DETECTION_SHAPE))
    return proto, collect_ranges(proto, (images(DETECTION_SHAPE, 4, seed) for seed in range(3)))


# --- ranges -----------------------------------------------------------------------------------------

def test_entropy_clips_a_gaussian_tail():
    rng = np.random.default_rng(0)
    # sigma 1, and a few rare outliers stretching the range to ~12 sigma
    values = np.abs(np.concatenate([rng.normal(0, 1, 200_000), rng.uniform(6, 12, 10)]))
    counts, edges = np.histogram(values, bins=2048, range=(0, values.max()))
    amax = entropy_amax(counts, edges)
    assert 2.5 < amax < 0.5 * values.max()
    assert amax in edges


def test_entropy_keeps_a_uniform_range():
    edges = np.linspace(0, 3, 2049)
    assert entropy_amax(np.full(2048, 100), edges) >= 0.98 * 3
    half = np.where(np.arange(2048) < 1024, 100, 0)  # uniform on [0, 1.5], empty above
    assert entropy_amax(half, edges) == pytest.approx(1.5, rel=0.02)


def test_entropy_does_not_clip_the_data_beyond_an_empty_gap():
    # letterbox padding (exact zeros), nothing up to 0.25, then the image's pixels spread up to 1.0
    edges = np.linspace(0, 1, 2049)
    counts = np.where(np.arange(2048) >= 512, 1000, 0)
    counts[0] = 10**6
    assert entropy_amax(counts, edges) >= 0.98


def test_entropy_ignores_the_zero_spike_of_a_relu():
    edges = np.linspace(0, 8, 2049)
    centers = (edges[:-1] + edges[1:]) / 2
    gaussian = np.round(1e6 * np.exp(-centers**2 / 2))
    spiked = gaussian.copy()
    spiked[0] += 5e7  # exact zeros of a ReLU
    assert entropy_amax(spiked, edges) == entropy_amax(gaussian, edges)
    with pytest.raises(ValueError, match="edges"):
        entropy_amax(gaussian, edges[:-1])


def identity_relu_model() -> onnx.ModelProto:
    """x -> Relu -> y, with x: [batch, 1, H, W]."""
    x = helper.make_tensor_value_info("input_1", TensorProto.FLOAT, ["batch", 1, None, None])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 1, None, None])
    graph = helper.make_graph([helper.make_node("Relu", ["input_1"], ["y"])], "relu", [x], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_percentile_and_max_on_known_data():
    rng = np.random.default_rng(1)
    # the second batch's max is 4x the first's: the histogram must re-bin
    batches = [rng.uniform(-1, 1, (2, 1, 100, 100)), rng.uniform(-4, 4, (2, 1, 100, 100))]
    batches = [b.astype(np.float32) for b in batches]
    every = np.concatenate([b.ravel() for b in batches])
    model = identity_relu_model()

    maxima = collect_ranges(model, batches, method="max")
    assert maxima["input_1"] == pytest.approx(np.abs(every).max(), rel=1e-6)
    assert maxima["y"] == pytest.approx(every.max(), rel=1e-6)

    for p in (50.0, 99.0):
        ranges = collect_ranges(model, iter(batches), method="percentile", percentile=p)
        width = 4 / 1024  # the histogram spans at least half of its 2048 bins
        assert ranges["input_1"] == pytest.approx(np.percentile(np.abs(every), p), abs=width)
        assert ranges["y"] == pytest.approx(np.percentile(np.maximum(every, 0), p), abs=width)


def test_collect_ranges_errors():
    model = identity_relu_model()
    with pytest.raises(ValueError, match="method"):
        collect_ranges(model, [], method="minmax")
    with pytest.raises(DataError, match="no calibration batches"):
        collect_ranges(model, [])
    with pytest.raises(DataError, match="NCHW"):
        collect_ranges(model, [np.zeros((4, 4), np.float32)])


def test_collect_ranges_covers_every_quantized_tensor(detector):
    proto, ranges = detector
    wanted = {"input_1"} | {out for node in proto.graph.node if node.op_type in ("Conv", "Relu", "Add")
                            for out in node.output}
    assert wanted <= set(ranges)
    assert not set(ranges) & {init.name for init in proto.graph.initializer}
    assert all(amax > 0 for amax in ranges.values())
    assert ranges["input_1"] == pytest.approx(1.0, abs=0.01)


# --- calibration cache ------------------------------------------------------------------------------

def test_cache_round_trip(tmp_path):
    ranges = {"input_1": 1.0, "block_1a_act/Relu": 4.2, "output_cov/Sigmoid": 0.5}
    path = write_cache(tmp_path / "cal.bin", ranges)
    lines = path.read_text().splitlines()
    assert lines[0] == "TRT-10001-EntropyCalibration2"
    assert lines[1] == "input_1: 3c010204"
    header, scales = read_cache(path)
    assert header == lines[0]
    assert scales == {name: float(np.float32(amax / 127)) for name, amax in ranges.items()}
    assert not list(tmp_path.glob(".tmp-*"))
    other = write_cache(tmp_path / "cal8.bin", ranges, trt_version=(8, 6, 1), algorithm="MinMaxCalibration")
    assert other.read_text().splitlines()[0] == "TRT-8601-MinMaxCalibration"


def test_read_cache_names_file_and_line(tmp_path):
    path = tmp_path / "cal.bin"
    path.write_text("TRT-10001-EntropyCalibration2\ninput_1: 3c010204\nconv1/Relu 3c010204\n")
    with pytest.raises(DataError, match=r"cal\.bin:3"):
        read_cache(path)
    path.write_text("TRT-10001-EntropyCalibration2\ninput_1: 3c01zz04\n")
    with pytest.raises(DataError, match=r"cal\.bin:2"):
        read_cache(path)
    path.write_text("input_1: 3c010204\n")
    with pytest.raises(DataError, match=r"cal\.bin:1"):
        read_cache(path)


# --- QDQ model --------------------------------------------------------------------------------------

def weight_dequantizers(proto: onnx.ModelProto, op: str) -> list[tuple[onnx.NodeProto, dict]]:
    """(DequantizeLinear node, its initializers by role) feeding the weight input of every ``op`` node."""
    producers = {out: node for node in proto.graph.node for out in node.output}
    inits = {init.name: numpy_helper.to_array(init) for init in proto.graph.initializer}
    found = []
    for node in proto.graph.node:
        if node.op_type == op:
            dq = producers[node.input[1]]
            assert dq.op_type == "DequantizeLinear"
            found.append((dq, dict(zip(("values", "scale", "zero_point"), (inits[i] for i in dq.input)))))
    return found


def test_quantized_detector_matches_float(detector):
    proto, ranges = detector
    int8 = quantize_qdq(proto, ranges)
    x = images(DETECTION_SHAPE, 4, seed=7)
    want, got = run(proto, x), run(int8, x)
    assert list(got) == ["output_cov/Sigmoid", "output_bbox/BiasAdd"]
    assert all(value.dtype == np.float32 for value in got.values())
    assert [i.type.tensor_type.elem_type for i in int8.graph.input] == [TensorProto.FLOAT]
    cov, cov_error = want["output_cov/Sigmoid"], np.abs(got["output_cov/Sigmoid"] - want["output_cov/Sigmoid"])
    # an untrained head's coverage barely varies: hold the error to a fraction of that variation too
    assert cov_error.max() < min(0.05, 0.15 * (cov.max() - cov.min()))
    bbox_error = np.abs(got["output_bbox/BiasAdd"] - want["output_bbox/BiasAdd"]).max()
    assert bbox_error < 0.15 * np.abs(want["output_bbox/BiasAdd"]).max()

    convs = weight_dequantizers(int8, "Conv")
    assert len(convs) == sum(node.op_type == "Conv" for node in proto.graph.node)
    for dq, tensors in convs:
        out_channels = tensors["values"].shape[0]
        assert tensors["values"].dtype == np.int8 and np.abs(tensors["values"]).max() == 63  # 7-bit: see quantize.py
        assert tensors["scale"].shape == (out_channels,)
        assert not tensors["zero_point"].any()
        assert helper.get_attribute_value(dq.attribute[0]) == 0  # axis

    # every backbone Conv (with its Relu) and Add runs as an int8 kernel; only the two heads stay float
    counts = ort_op_counts(int8)
    assert counts["QLinearConv"] == len(convs) - 2
    assert counts["QLinearAdd"] == sum(node.op_type == "Add" for node in proto.graph.node)
    assert counts["Relu"] == 0 and counts["Add"] == 0


def test_per_tensor_weights(detector):
    proto, ranges = detector
    int8 = quantize_qdq(proto, ranges, per_channel=False)
    for dq, tensors in weight_dequantizers(int8, "Conv"):
        assert tensors["scale"].shape == () and not dq.attribute
    x = images(DETECTION_SHAPE, 2, seed=8)
    diff = np.abs(run(int8, x)["output_cov/Sigmoid"] - run(proto, x)["output_cov/Sigmoid"]).max()
    assert diff < 0.05


def test_quantize_rejects_bad_ranges(detector):
    proto, ranges = detector
    with pytest.raises(DataError, match="input_1"):
        quantize_qdq(proto, {**ranges, "input_1": 0.0})
    quantize_qdq(proto, {**ranges, "(Unnamed Layer* 3) [Constant]_output": 0.0})  # not in the graph: ignored


def test_quantized_classifier_matches_float():
    keras_module().utils.set_random_seed(0)
    model = with_bn_statistics(build_classifier("resnet", 10, CLASSIFICATION_SHAPE, 3), CLASSIFICATION_SHAPE)
    proto = keras_to_onnx(model)
    ranges = collect_ranges(proto, [images(CLASSIFICATION_SHAPE, 8, seed) for seed in range(2)])
    int8 = quantize_qdq(proto, ranges)
    x = images(CLASSIFICATION_SHAPE, 4, seed=9)
    got, want = run(int8, x)["predictions/Softmax"], run(proto, x)["predictions/Softmax"]
    assert got.dtype == np.float32 and np.abs(got - want).max() < 0.05
    (dq, tensors), = weight_dequantizers(int8, "Gemm")
    assert tensors["values"].dtype == np.int8
    assert tensors["scale"].shape == (3,)  # one scale per class (Gemm weight [features, classes], axis 1)
    assert helper.get_attribute_value(dq.attribute[0]) == 1
    assert ort_op_counts(int8)["QLinearConv"] == sum(node.op_type == "Conv" for node in proto.graph.node)
