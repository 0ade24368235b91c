"""ImageNet weights from Keras Applications mapped onto our layer names, with weight files the test writes."""

from __future__ import annotations

import socket

import numpy as np
import pytest
import tensorflow as tf

from jupyter_tlt import SpecError, TltError
from jupyter_tlt.tasks.classification.head import build_classifier
from jupyter_tlt.models.imagenet import CAFFE_MEAN_BGR, load_imagenet_weights
from jupyter_tlt.models.naming import bn_name
from jupyter_tlt.train import train
from train_fixtures import detection_records, detection_spec
from weight_fixtures import randomize

import keras

SHAPE = (64, 96, 3)


def keras_weights_file(app: str, path, seed: int = 0):
    """Keras Applications' `app` without top, random weights and BN statistics, saved to `path`."""
    model = randomize(getattr(keras.applications, app)(include_top=False, weights=None, input_shape=SHAPE), seed)
    model.save_weights(path)
    return model


def conv_then_bn(conv, bn, x):
    """The layers' per-pixel function at stride 1 (strides differ between Keras' ResNet and ours)."""
    y = tf.nn.conv2d(x, conv.kernel, strides=1, padding="SAME")
    if conv.use_bias:
        y = y + conv.bias
    return bn(y, training=False) if bn is not None else y


def keras_pairs(app_model, arch):
    layers = {layer.name: layer for layer in app_model.layers}
    for name, layer in layers.items():
        if type(layer).__name__ != "Conv2D":
            continue
        if arch == "vgg":
            block, k = name.removeprefix("block").split("_conv")
            yield f"block_{block}_conv_{k}", layer, None
        elif name == "conv1_conv":
            yield "conv1", layer, layers["conv1_bn"]
        else:
            stage, block, k, _ = name.split("_")
            letter = "abcdef"[int(block.removeprefix("block")) - 1]
            ours = f"block_{int(stage.removeprefix('conv')) - 1}{letter}_conv_{'shortcut' if k == '0' else k}"
            yield ours, layer, layers[name.replace("_conv", "_bn")]


@pytest.mark.parametrize("app, arch, depth, batch_norm", [("VGG16", "vgg", 16, True), ("VGG16", "vgg", 16, False),
                                                          ("ResNet50", "resnet", 50, True)])
def test_every_layer_computes_what_the_keras_layer_computes(tmp_path, app, arch, depth, batch_norm):
    file = tmp_path / f"{app}.weights.h5"
    app_model = keras_weights_file(app, file)
    ours = build_classifier(arch, depth, SHAPE, 3, use_batch_norm=batch_norm, all_projections=False)
    report = load_imagenet_weights(ours, arch, depth, f"imagenet:{file}")
    assert report.left_at_init == []
    layers = {layer.name: layer for layer in ours.layers}
    rng = np.random.default_rng(1)
    pairs = list(keras_pairs(app_model, arch))
    assert sorted(report.copied) == sorted(name for name, _, _ in pairs)
    for index, (name, conv, bn) in enumerate(pairs):
        if index == 0:  # our RGB [0, 1] input against Keras' caffe preprocessing of the same pixels
            rgb = rng.uniform(0, 1, (1, 12, 12, 3)).astype(np.float32)
            x_ours, x_keras = rgb, rgb[..., ::-1] * 255.0 - CAFFE_MEAN_BGR.astype(np.float32)
        else:
            x_ours = x_keras = rng.normal(0, 1, (1, 6, 6, conv.kernel.shape[2])).astype(np.float32)
        expected = conv_then_bn(conv, bn, x_keras).numpy()
        got = conv_then_bn(layers[name], layers.get(bn_name(name)), x_ours).numpy()
        inner = slice(3, -3) if index == 0 else slice(None)  # zero padding differs at the border
        np.testing.assert_allclose(got[:, inner, inner], expected[:, inner, inner], rtol=2e-3, atol=2e-3,
                                   err_msg=name)


def test_projection_shortcuts_keras_lacks_are_reported(tmp_path):
    file = tmp_path / "r50.weights.h5"
    keras_weights_file("ResNet50", file)
    ours = build_classifier("resnet", 50, SHAPE, 3, all_projections=True)
    report = load_imagenet_weights(ours, "resnet", 50, f"imagenet:{file}")
    assert "block_1b_conv_shortcut" in report.left_at_init and "block_1a_conv_shortcut" in report.copied
    assert len(report.copied) == 53 and "left at initialization" in str(report)


def test_a_spec_trains_from_imagenet_weights(tmp_path):
    file = tmp_path / "vgg16.weights.h5"
    keras_weights_file("VGG16", file)
    records = detection_records(tmp_path / "data", n=8)
    spec = detection_spec(records, epochs=1, width=SHAPE[1], height=SHAPE[0], arch="vgg", layers=16,
                          pretrained=f"imagenet:{file}")
    result = train(spec, tmp_path / "run", progress=False)
    assert "copied 13 convolutions from Keras VGG16 ImageNet weights" in result.transfer


def test_bad_references_are_clear(tmp_path):
    ours = build_classifier("resnet", 10, SHAPE, 3)
    with pytest.raises(SpecError, match="ImageNet weights exist for resnet50, vgg16, vgg19, resnet18, resnet34, "
                                        "resnet50 only, not resnet10"):
        load_imagenet_weights(ours, "resnet", 10, "imagenet")
    vgg = build_classifier("vgg", 16, SHAPE, 3)
    with pytest.raises(SpecError, match="does not exist"):
        load_imagenet_weights(vgg, "vgg", 16, f"imagenet:{tmp_path / 'missing.h5'}")
    other = tmp_path / "vgg19.weights.h5"
    keras_weights_file("VGG19", other)
    with pytest.raises(SpecError, match="not Keras' VGG16 notop ImageNet weights"):
        load_imagenet_weights(vgg, "vgg", 16, f"imagenet:{other}")


def _online() -> bool:
    try:
        socket.getaddrinfo("storage.googleapis.com", 443)
        return True
    except OSError:
        return False


@pytest.mark.skipif(_online(), reason="this machine is online: the offline error cannot be shown")
def test_offline_download_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    vgg = build_classifier("vgg", 16, SHAPE, 3)
    with pytest.raises(TltError, match="could not be downloaded.*imagenet:/path/to/file.h5"):
        load_imagenet_weights(vgg, "vgg", 16, "imagenet")
