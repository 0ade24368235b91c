"""Keras -> ONNX export: every zoo model matches Keras in ONNX Runtime, NCHW, DeepStream names."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import onnxruntime
import pytest

from jupyter_tlt import DataError
from jupyter_tlt.export import compare_with_keras, keras_to_onnx, onnx_io_names
from jupyter_tlt.models import keras_module
from jupyter_tlt.tasks.classification.head import build_classifier
from jupyter_tlt.tasks.detectnet_v2.head import build_detectnet

ARCHS = [("resnet", 10), ("resnet", 18), ("resnet", 50), ("vgg", 16), ("alexnet", None), ("googlenet", None)]
DETECTION_SHAPE = (64, 96, 3)  # stride 16 -> 4 x 6
CLASSIFICATION_SHAPE = (64, 64, 3)
TOLERANCE = 1e-4

# The small test inputs are below the seed's 480x272 on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:DetectNet_v2 input .* below:UserWarning")


def images(model, n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, (n, *model.input.shape[1:])).astype(np.float32)


def set_bn_statistics(model, seed: int = 0) -> None:
    """Random gamma/beta and moving statistics near each batch norm's real input statistics.

    Purely random statistics blow activations up; unit-scale residual branches (random weights)
    make float32 rounding alone exceed the tolerance after ResNet-50's 50 layers (ONNX Runtime
    differs from itself by ~4e-4 across optimization levels). So, as in trained ResNets, the batch
    norms inside residual branches get small gammas, and moving statistics start from measured ones.
    """
    rng = np.random.default_rng(seed)
    bns = [layer for layer in model.layers if layer.__class__.__name__ == "BatchNormalization"]
    for bn in bns:
        n = bn.gamma.shape[0]
        residual = re.fullmatch(r"block_\d[a-z]_bn_\d", bn.name)
        bn.gamma.assign(rng.uniform(0.2, 0.5, n) if residual else rng.uniform(0.5, 1.0, n))
        bn.beta.assign(rng.normal(0, 0.1, n))
        bn.momentum = 0.0  # one training-mode call then stores the batch statistics as moving ones
    model(images(model, 4, seed=99), training=True)
    for bn in bns:
        mean, variance = bn.moving_mean.numpy(), bn.moving_variance.numpy()
        n = mean.shape[0]
        bn.moving_mean.assign(mean + rng.normal(0, 0.1, n) * np.sqrt(variance))
        bn.moving_variance.assign(variance * rng.uniform(0.8, 1.25, n))


def session(proto) -> onnxruntime.InferenceSession:
    return onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def op_types(proto) -> set[str]:
    return {node.op_type for node in proto.graph.node}


def dims(value_info) -> list:
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def assert_matches(model, proto, n: int = 2) -> dict[str, float]:
    diffs = compare_with_keras(model, proto, images(model, n))
    assert diffs and max(diffs.values()) <= TOLERANCE, diffs
    return diffs


@pytest.mark.parametrize("task", ["detection", "classification"])
@pytest.mark.parametrize("arch,n_layers", ARCHS, ids=[f"{a}{n or ''}" for a, n in ARCHS])
def test_zoo_models_match_keras(arch, n_layers, task):
    keras_module().utils.set_random_seed(0)
    if task == "detection":
        model = build_detectnet(arch, n_layers, DETECTION_SHAPE, 3)
        outputs = ["output_cov/Sigmoid", "output_bbox/BiasAdd"]
        shapes = [["batch", 3, 4, 6], ["batch", 12, 4, 6]]
    else:
        model = build_classifier(arch, n_layers, CLASSIFICATION_SHAPE, 3)
        outputs, shapes = ["predictions/Softmax"], [["batch", 3]]
    set_bn_statistics(model)
    proto = keras_to_onnx(model)

    assert onnx_io_names(model) == (["input_1"], outputs)
    assert [i.name for i in proto.graph.input] == ["input_1"]
    assert dims(proto.graph.input[0]) == ["batch", 3, *model.input.shape[1:3]]
    assert [o.name for o in proto.graph.output] == outputs
    assert [dims(o) for o in proto.graph.output] == shapes
    # batch norms are folded into their convolutions; no layout shuffling
    assert not op_types(proto) & {"BatchNormalization", "Transpose"}
    assert list(assert_matches(model, proto)) == outputs

    run = session(proto)
    for batch in (1, 3):
        results = run.run(None, {"input_1": images(model, batch).transpose(0, 3, 1, 2)})
        assert [list(r.shape) for r in results] == [[batch, *shape[1:]] for shape in shapes]


@pytest.mark.parametrize("activation,op", [("leaky_relu", "LeakyRelu"), ("relu6", "Clip"), ("swish", "Mul")])
def test_activation_options_match_keras(activation, op):
    keras_module().utils.set_random_seed(0)
    use_bn = activation != "leaky_relu"
    model = build_detectnet("resnet", 10, DETECTION_SHAPE, 2, use_batch_norm=use_bn, activation=activation,
                            activation_params={"alpha": 0.2})
    if use_bn:
        set_bn_statistics(model)
    proto = keras_to_onnx(model)
    assert op in op_types(proto) and "Relu" not in op_types(proto)
    assert_matches(model, proto)


def test_hand_built_model_with_every_supported_kind():
    keras = keras_module()
    keras.utils.set_random_seed(0)
    L = keras.layers
    # odd sizes: TF "same" padding is asymmetric (the extra pixel goes bottom/right)
    x = inputs = keras.Input((15, 17, 3), name="image")
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="stem")(x)
    x = L.ZeroPadding2D(((1, 0), (2, 1)), name="pad")(x)
    depthwise = L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", name="depthwise")(x)
    grouped = L.Conv2D(16, 3, groups=4, dilation_rate=2, padding="same", use_bias=False, name="grouped")(x)
    bn_shared = L.BatchNormalization(name="bn_grouped")(grouped)  # not folded: "grouped" has two consumers
    diff = L.Subtract(name="diff")([depthwise, bn_shared])
    pooled = L.AveragePooling2D(3, strides=2, padding="same", name="avg")(diff)
    maxed = L.MaxPooling2D(3, strides=2, padding="same", name="max")(grouped)
    merged = L.Concatenate(name="concat")([pooled, maxed])
    merged = L.BatchNormalization(name="bn_concat")(merged)
    a = L.ReLU(max_value=4.0, negative_slope=0.1, threshold=0.5, name="relu_all")(merged)
    b = L.ReLU(threshold=0.2, name="relu_threshold")(merged)
    c = L.Activation("tanh", name="tanh")(merged)
    d = L.ELU(alpha=0.5, name="elu")(merged)
    x = L.Add(name="add3")([a, b, c])
    x = L.Multiply(name="mul3")([x, d, L.Activation("sigmoid", name="gate")(merged)])
    x = L.Average(name="average")([x, L.Maximum(name="maximum")([a, c]), L.Minimum(name="minimum")([b, d])])
    x = L.Conv2D(6, 1, activation="hard_sigmoid", name="head_conv")(x)
    flat = L.Flatten(name="flatten")(x)
    hidden = L.Dense(10, activation="elu", name="hidden")(L.Dropout(0.5, name="drop")(flat))
    probabilities = L.Dense(4, activation="softmax", name="probabilities")(hidden)
    channel_softmax = L.Activation("softmax", name="channel_softmax")(x)
    global_max = L.GlobalMaxPooling2D(keepdims=True, name="global_max")(x)
    identity_out = L.Dropout(0.1, name="last_dropout")(flat)
    model = keras.Model(inputs, [probabilities, channel_softmax, global_max, identity_out])
    for bn in ("bn_grouped", "bn_concat"):
        layer = model.get_layer(bn)
        n = layer.gamma.shape[0]
        layer.set_weights([np.linspace(0.5, 1.5, n), np.linspace(-0.2, 0.2, n), np.linspace(-0.1, 0.1, n),
                           np.linspace(0.5, 2.0, n)])

    proto = keras_to_onnx(model)
    names = ["probabilities/Softmax", "channel_softmax/Softmax", "global_max/Max", "last_dropout/Identity"]
    assert onnx_io_names(model) == (["image"], names)
    assert [o.name for o in proto.graph.output] == names
    assert [node.op_type for node in proto.graph.node].count("Transpose") == 1  # Flatten's, nothing else
    assert [node.op_type for node in proto.graph.node].count("BatchNormalization") == 2
    assert dims(proto.graph.output[2]) == ["batch", 6, 1, 1]
    assert_matches(model, proto, n=3)


def test_fixed_batch_size():
    model = build_detectnet("alexnet", None, DETECTION_SHAPE, 1)
    proto = keras_to_onnx(model, batch_size=2, opset=13)
    assert dims(proto.graph.input[0]) == [2, 3, 64, 96]
    assert [dims(o)[0] for o in proto.graph.output] == [2, 2]
    assert proto.opset_import[0].version == 13
    assert_matches(model, proto)
    with pytest.raises(ValueError, match="opset"):
        keras_to_onnx(model, opset=11)


def test_unsupported_layers_raise_data_error_naming_the_layer():
    keras = keras_module()
    L = keras.layers
    inputs = keras.Input((8, 8, 3))
    x = L.Conv2D(4, 3, name="conv")(inputs)
    seq = L.LSTM(5, name="recurrent")(L.Reshape((36, 4), name="to_sequence")(x))
    with pytest.raises(DataError, match=r"layer 'to_sequence' \(Reshape\) cannot be exported to ONNX; supported:"):
        keras_to_onnx(keras.Model(inputs, seq))
    lam = L.Lambda(lambda t: t * 2, name="double")(x)
    with pytest.raises(DataError, match=r"'double' \(Lambda\)"):
        keras_to_onnx(keras.Model(inputs, lam))
    gelu = L.Conv2D(4, 1, activation="gelu", name="gelu_conv")(x)
    with pytest.raises(DataError, match=r"'gelu_conv' \(Conv2D\): activation 'gelu'"):
        keras_to_onnx(keras.Model(inputs, gelu))

    shared = L.Conv2D(4, 1, name="shared")
    twice = keras.Model(inputs, L.Add()([shared(x), shared(x)]))
    with pytest.raises(DataError, match=r"'shared' \(Conv2D\) is called 2 times"):
        keras_to_onnx(twice)
    inner = keras.Model(inputs, x, name="inner")
    outer_in = keras.Input((8, 8, 3))
    with pytest.raises(DataError, match=r"'inner' \(Functional\) is a nested model"):
        keras_to_onnx(keras.Model(outer_in, L.ReLU()(inner(outer_in))))


def test_importing_the_package_imports_neither_tensorflow_nor_onnx():
    code = ("import sys, jupyter_tlt.export as e; assert callable(e.__getattr__); "
            "print(sorted(m for m in ('tensorflow', 'keras', 'onnx', 'onnxruntime') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
