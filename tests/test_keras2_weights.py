"""TAO / NGC pretrained Keras-2 HDF5 files (written here by tf-keras, with TAO's layer names) load
by name into our models: exact where names and shapes agree, reported where they do not."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from jupyter_tlt import DataError, SpecError
from jupyter_tlt.tasks.classification.head import build_classifier
from jupyter_tlt.models.keras2_weights import (is_keras2_file, load_keras2_weights, read_keras2_weights,
                                               save_as_keras2)
from jupyter_tlt.train import train
from train_fixtures import detection_records, detection_spec
from weight_fixtures import randomize

tf_keras = pytest.importorskip("tf_keras")

SHAPE = (64, 96, 3)


@pytest.mark.parametrize("weights_only", [False, True])
def test_a_tao_file_of_the_same_model_gives_the_same_outputs(tmp_path, weights_only):
    source = randomize(build_classifier("resnet", 18, SHAPE, 3))
    path = save_as_keras2(source, tmp_path / "resnet18.hdf5", weights_only=weights_only)
    with h5py.File(path, "r") as h5:  # genuine Keras 2: tf-keras' layout and version stamp
        assert h5.attrs["keras_version"].startswith("2.")
        assert ("model_config" in h5.attrs) != weights_only
    assert is_keras2_file(path)
    names = read_keras2_weights(path)
    assert {"conv1", "bn_conv1", "block_1a_conv_1", "block_1a_bn_1", "block_1a_conv_shortcut",
            "block_1a_bn_shortcut", "predictions"} <= set(names)

    target = build_classifier("resnet", 18, SHAPE, 3)
    report = load_keras2_weights(target, path)
    assert report.skipped == report.mismatched == report.unused == []
    assert len(report.matched) == sum(1 for layer in target.layers if layer.weights)
    x = np.random.default_rng(1).uniform(0, 1, (2, *SHAPE)).astype(np.float32)
    np.testing.assert_array_equal(target.predict(x, verbose=0), source.predict(x, verbose=0))


def test_conv_biases_are_folded_and_mismatches_reported(tmp_path):
    source = randomize(build_classifier("resnet", 18, SHAPE, 3))
    path = save_as_keras2(source, tmp_path / "tao.hdf5", conv_bias=True)
    with h5py.File(path, "a") as h5:  # TAO's convolutions have biases: give them values
        group = h5["model_weights"]
        bias = np.random.default_rng(2).normal(0, 0.1, 64).astype(np.float32)
        group["block_1a_conv_1"]["block_1a_conv_1"]["bias:0"][...] = bias
    # Deliberate mismatches: a 5-class head, a renamed layer, a layer ours lacks.
    other = randomize(build_classifier("resnet", 18, SHAPE, 5), seed=3)
    head = save_as_keras2(other, tmp_path / "head.hdf5")
    with h5py.File(path, "a") as h5, h5py.File(head, "r") as src:
        g = h5["model_weights"]
        del g["predictions"]
        src["model_weights"].copy("predictions", g)
        g.move("block_4b_bn_2", "block_4b_bn_2_old")
        names = [n.decode() if isinstance(n, bytes) else n for n in g.attrs["layer_names"]]
        g.attrs["layer_names"] = [("block_4b_bn_2_old" if n == "block_4b_bn_2" else n).encode()
                                  for n in names]

    target = build_classifier("resnet", 18, SHAPE, 3)
    report = load_keras2_weights(target, path)
    assert report.mismatched == ["predictions"]
    assert report.skipped == ["block_4b_bn_2"] and report.unused == ["block_4b_bn_2_old"]
    assert "block_1a_bn_1" in report.folded_biases
    assert "1 shape-mismatched (predictions)" in str(report) and "2 layers left at initialization" in str(report)

    # conv (with bias) + BN in the file == our conv (no bias) + BN with the folded mean
    x = np.random.default_rng(4).normal(0, 1, (1, 8, 8, 64)).astype(np.float32)
    kernel = source.get_layer("block_1a_conv_1").get_weights()[0]
    import tensorflow as tf

    y = tf.nn.conv2d(x, kernel, 1, "SAME") + bias
    expected = source.get_layer("block_1a_bn_1")(y, training=False).numpy()
    ours = target.get_layer("block_1a_bn_1")(tf.nn.conv2d(x, target.get_layer("block_1a_conv_1").kernel,
                                                         1, "SAME"), training=False).numpy()
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-5)


def test_tlt_and_etlt_and_foreign_files_are_refused_clearly(tmp_path):
    model = build_classifier("resnet", 18, SHAPE, 3)
    encrypted = tmp_path / "trafficcamnet.etlt"
    encrypted.write_bytes(b"\x00" * 64)
    with pytest.raises(DataError, match="encrypted TAO model .* use NGC's unencrypted pretrained backbone"):
        load_keras2_weights(model, encrypted)
    vgg = save_as_keras2(randomize(build_classifier("vgg", 16, SHAPE, 3)), tmp_path / "vgg.hdf5")
    with pytest.raises(SpecError, match="no layer name matches"):
        load_keras2_weights(build_classifier("googlenet", None, SHAPE, 3), vgg)


def test_a_spec_trains_from_a_tao_file(tmp_path):
    records = detection_records(tmp_path / "data", n=8)
    backbone = randomize(build_classifier("resnet", 18, SHAPE, 3))
    path = save_as_keras2(backbone, tmp_path / "pretrained_detectnet_v2_resnet18.hdf5")
    spec = detection_spec(records, epochs=1, width=SHAPE[1], height=SHAPE[0], arch="resnet", layers=18,
                          pretrained=str(path))
    result = train(spec, tmp_path / "run", progress=False)
    assert "loaded 50 layers by name from pretrained_detectnet_v2_resnet18.hdf5" in result.transfer
    # the detection heads are new; the classifier's head is not used
    assert "2 absent in the file" in result.transfer and "1 layers of the file unused" in result.transfer


def test_tao_files_are_accepted_for_push(tmp_path):
    from jupyter_tlt.registry.model_file import describe_model

    model = randomize(build_classifier("resnet", 18, SHAPE, 3))
    for weights_only in (False, True):
        path = save_as_keras2(model, tmp_path / f"w{weights_only}.hdf5", weights_only=weights_only)
        assert describe_model(path)["encrypted"] is False
