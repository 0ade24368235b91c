"""The model zoo: every backbone and head, stable names, freezing, safe loading, weight transfer, training."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

from jupyter_tlt import DataError, OutputError, SpecError
from jupyter_tlt.models import (HEAD_LAYERS, TransferReport, build_backbone, conv_bn_pairs, count_flops, keras_module,
                                layer_flops, load_model, model_summary, save_model, transfer_weights)
from jupyter_tlt.tasks import build_model
from jupyter_tlt.tasks.classification.head import build_classifier
from jupyter_tlt.tasks.detectnet_v2.head import build_detectnet
from jupyter_tlt.spec import load_experiment_spec

ARCHS = [("resnet", 10), ("resnet", 18), ("resnet", 34), ("resnet", 50), ("vgg", 16), ("vgg", 19),
         ("alexnet", None), ("googlenet", None)]
SHAPE = (64, 96, 3)  # stride 16 -> 4 x 6
AUTO_NAME = re.compile(r"^(conv2d|batch_normalization|activation|re_lu|leaky_re_lu|add|concatenate|max_pooling2d|"
                       r"dense|dropout|global_average_pooling2d|input_layer|functional|lambda)(_\d+)?$")

# The small test inputs are below the seed's 480x272 on purpose; the warning has its own test.
pytestmark = pytest.mark.filterwarnings("ignore:DetectNet_v2 input .* below:UserWarning")


def detectnet(arch="resnet", n_layers=10, classes=4, shape=SHAPE, **opts):
    return build_detectnet(arch, n_layers, shape, classes, **opts)


def layer_names(model):
    return [layer.name for layer in model.layers]


@pytest.mark.parametrize("task", ["detection", "classification"])
@pytest.mark.parametrize("arch,n_layers", ARCHS, ids=[f"{a}{n or ''}" for a, n in ARCHS])
def test_every_arch_builds_with_named_layers(arch, n_layers, task):
    if task == "detection":
        model = build_detectnet(arch, n_layers, SHAPE, 3)
        assert model.output_names == ["output_cov", "output_bbox"]
        assert [tuple(t.shape) for t in model.outputs] == [(None, 4, 6, 3), (None, 4, 6, 12)]
        assert model.get_layer("output_cov").get_config()["activation"] == "sigmoid"
        assert model.get_layer("output_bbox").get_config()["activation"] == "linear"
    else:
        model = build_classifier(arch, n_layers, SHAPE, 3)
        assert model.output_names == ["predictions"] and model.layers[-1].name == "predictions"
        assert tuple(model.output.shape) == (None, 3)
    assert model.layers[0].name == "input_1" and model.input.dtype == "float32"
    names = layer_names(model)
    assert len(set(names)) == len(names)
    assert not [n for n in names if AUTO_NAME.match(n)], "Keras auto-generated names leak into the model"
    # every backbone convolution is followed by its batch norm, found by the naming convention
    convs = [l.name for l in model.layers if l.__class__.__name__ == "Conv2D" and l.name not in HEAD_LAYERS]
    assert sorted(conv_bn_pairs(model)) == sorted(convs)
    for layer in model.layers:
        if layer.__class__.__name__ == "Add":
            assert re.fullmatch(r"block_\d[a-z]_add", layer.name)
        if layer.__class__.__name__ == "Concatenate":
            assert re.fullmatch(r"inception_\d[a-z]_output", layer.name)


def test_layer_names_do_not_depend_on_models_built_before():
    for arch, n_layers in (("resnet", 18), ("googlenet", None)):
        names = layer_names(detectnet(arch, n_layers))
        assert layer_names(detectnet(arch, n_layers)) == names
    names = layer_names(detectnet("resnet", 18))
    for expected in ("conv1", "bn_conv1", "conv1_act", "block_1a_conv_1", "block_1a_bn_1", "block_1a_act_1",
                     "block_1a_conv_2", "block_1a_bn_2", "block_1a_conv_shortcut", "block_1a_bn_shortcut",
                     "block_1a_add", "block_1a_act", "block_4b_add", "output_cov", "output_bbox"):
        assert expected in names


def test_backbone_strides_and_projection_option():
    det = build_backbone("resnet", 18, SHAPE, for_detection=True)
    cls = build_backbone("resnet", 18, (64, 64, 3), for_detection=False)
    assert tuple(det.output.shape) == (None, 4, 6, 512) and tuple(cls.output.shape) == (None, 2, 2, 512)
    # same weight names and shapes whatever the task: a classifier's backbone seeds a detector
    assert [w.shape for w in det.weights] == [w.shape for w in cls.weights]
    plain = build_backbone("resnet", 18, SHAPE, for_detection=True, all_projections=False)
    shortcuts = [n for n in layer_names(plain) if n.endswith("_conv_shortcut")]
    assert shortcuts == ["block_1a_conv_shortcut", "block_2a_conv_shortcut", "block_3a_conv_shortcut",
                         "block_4a_conv_shortcut"]
    assert len([n for n in layer_names(det) if n.endswith("_conv_shortcut")]) == 8
    no_bn = build_backbone("vgg", 16, SHAPE, for_detection=True, use_batch_norm=False, activation="relu6")
    assert not [l for l in no_bn.layers if l.__class__.__name__ == "BatchNormalization"]
    assert no_bn.get_layer("block_1_conv_1").use_bias and no_bn.get_layer("block_1_act_1").max_value == 6


def test_input_size_must_be_a_multiple_of_16():
    with pytest.raises(SpecError, match=r"output_image_width.*width 100 is not a multiple of 16.*96 or 112"):
        build_detectnet("resnet", 18, (64, 100, 3), 2)
    spec = load_experiment_spec({"model_config": {"arch": "resnet", "n_layers": 10},
                                 "augmentation_config": {"preprocessing": {"output_image_width": 100,
                                                                           "output_image_height": 64}}})
    with pytest.raises(SpecError, match=r"^augmentation_config\.preprocessing\.output_image_width: .* 96 or 112"):
        build_model(spec, "detection", 2)
    seed = load_experiment_spec('model_config { arch: "resnet", n_layers: 10 input_image_size: "3,96,70" }')
    with pytest.raises(SpecError, match=r"^model_config\.input_image_size \(H\): input height 70 .* 64 or 80"):
        build_model(seed, "detection", 2)


def test_small_input_warns_once_and_points_at_the_caller():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build_detectnet("alexnet", None, (64, 96, 3), 2)
    found = [w for w in caught if "below the seed's minimum" in str(w.message)]
    assert len(found) == 1 and found[0].category is UserWarning
    assert "fine for tests and CPU" in str(found[0].message) and found[0].filename == __file__


def test_unknown_arch_and_depth_list_the_valid_values():
    with pytest.raises(SpecError, match=r"unknown architecture 'mobilenet'.*resnet \(10/18/34/50\).*googlenet"):
        build_detectnet("mobilenet", 2, SHAPE, 2)
    with pytest.raises(SpecError, match=r"n_layers: resnet has no 101-layer variant; use one of 10, 18, 34, 50"):
        build_classifier("resnet", 101, SHAPE, 2)
    with pytest.raises(SpecError, match=r"freeze_blocks: vgg16 has no block 0; valid blocks are 1, 2, 3, 4, 5"):
        build_classifier("vgg", 16, SHAPE, 2, freeze_blocks=[0])
    with pytest.raises(SpecError, match="activation_type: unknown activation 'gelu'"):
        detectnet(activation="gelu")


def test_freeze_blocks_and_freeze_bn():
    free = detectnet("resnet", 18)
    model = detectnet("resnet", 18, freeze_blocks=[0, 1])
    for name in ("conv1", "bn_conv1", "block_1a_conv_1", "block_1b_bn_2", "block_1a_conv_shortcut"):
        assert not model.get_layer(name).trainable, name
    for name in ("block_2a_conv_1", "block_4b_bn_2", "output_cov", "output_bbox"):
        assert model.get_layer(name).trainable, name
    assert 0 < model_summary(model)["trainable_params"] < model_summary(free)["trainable_params"]
    frozen = [l.name for l in build_detectnet("googlenet", None, SHAPE, 2, freeze_blocks=[2]).layers
              if not l.trainable]
    assert "inception_3a_1x1" in frozen and "inception_3b_output" in frozen
    assert not [n for n in frozen if n.startswith(("inception_4", "conv"))]
    bn_frozen = detectnet("resnet", 10, freeze_bn=True)
    bns = [l for l in bn_frozen.layers if l.__class__.__name__ == "BatchNormalization"]
    assert bns and not [l for l in bns if l.trainable]
    assert bn_frozen.get_layer("conv1").trainable


def test_build_model_reads_the_spec():
    spec = load_experiment_spec({
        "model_config": {"arch": "resnet", "num_layers": 10, "freeze_blocks": [0], "dropout_rate": 0.2,
                         "activation": {"activation_type": "leaky_relu", "activation_parameters": {"alpha": 0.2}}},
        "augmentation_config": {"preprocessing": {"output_image_width": 96, "output_image_height": 64}},
        "training_config": {"regularizer": {"type": "L2", "weight": 1e-4}}})
    model = build_model(spec, "detection", 3)
    assert model.name == "detectnet_v2_resnet10" and model.get_layer("dropout").rate == pytest.approx(0.2)
    assert model.get_layer("conv1_act").negative_slope == pytest.approx(0.2)
    assert not model.get_layer("conv1").trainable
    assert model.get_layer("block_1a_conv_1").kernel_regularizer.get_config() == {"l2": pytest.approx(1e-4)}
    tao_default = load_experiment_spec({"model_config": {"arch": "resnet", "n_layers": 10},
                                        "augmentation_config": {"preprocessing": {
                                            "output_image_width": 96, "output_image_height": 64}},
                                        "training_config": {"num_epochs": 1}})
    reg = build_model(tao_default, "detection", 1).get_layer("conv1").kernel_regularizer
    assert reg.get_config() == {"l1": pytest.approx(3e-9)}  # TAO's default: L1 3e-9
    seed = load_experiment_spec('random_seed: 42\nmodel_config {\n arch: "alexnet",\n'
                                ' input_image_size: "3,96,64"\n}\ntrain_config {\n weight_decay: 0.00005\n}\n')
    classifier = build_model(seed, "classification", 5)
    assert classifier.name == "classifier_alexnet" and tuple(classifier.input.shape) == (None, 64, 96, 3)
    assert classifier.get_layer("predictions").kernel_regularizer.get_config() == {"l2": pytest.approx(5e-5)}
    no_reg = load_experiment_spec({"model_config": {"arch": "alexnet", "input_image_size": "3,96,64"},
                                   "training_config": {"regularizer": {"type": "NO_REG"}}})
    assert build_model(no_reg, "classification", 2).get_layer("conv1").kernel_regularizer is None


def test_flops_are_computed_from_layer_shapes():
    keras = keras_module()
    inputs = keras.Input((8, 8, 3), name="input_1")
    x = keras.layers.Conv2D(8, 3, padding="same", name="c")(inputs)
    x = keras.layers.Conv2D(4, 1, strides=2, name="d")(x)
    x = keras.layers.GlobalAveragePooling2D(name="g")(x)
    model = keras.Model(inputs, keras.layers.Dense(2, name="predictions")(x))
    assert layer_flops(model) == {"c": 2 * 8 * 8 * 3 * 3 * 3 * 8, "d": 2 * 4 * 4 * 8 * 4, "predictions": 2 * 4 * 2}
    summary = model_summary(model)
    assert summary["flops"] == count_flops(model) == 27648 + 1024 + 16
    assert summary["params"] == (3 * 3 * 3 * 8 + 8) + (8 * 4 + 4) + (4 * 2 + 2) == summary["trainable_params"]
    assert summary["layers"] == 5 and summary["output_shapes"] == {"predictions": (2,)}


def test_save_and_load_round_trip(tmp_path):
    model = detectnet("resnet", 10, classes=2, freeze_blocks=[0])
    images = np.random.default_rng(0).random((2, *SHAPE), dtype=np.float32)
    expected = model.predict(images, verbose=0)
    for name in ("model.keras", "model.hdf5"):
        path = save_model(model, tmp_path / "weights" / name)
        loaded = load_model(path)
        assert layer_names(loaded) == layer_names(model) and not loaded.get_layer("conv1").trainable
        for want, got in zip(expected, loaded.predict(images, verbose=0)):
            np.testing.assert_allclose(got, want, atol=1e-6)
    assert sorted(os.listdir(tmp_path / "weights")) == ["model.hdf5", "model.keras"]  # no temporary names left
    with pytest.raises(OutputError, match=r"model\.pb: models are saved as \.keras"):
        save_model(model, tmp_path / "model.pb")


def test_models_with_code_are_refused_without_running_it(tmp_path):
    keras = keras_module()
    marker = tmp_path / "ran"

    def side_effect(t):
        marker.write_text("the file's code ran")
        return t * 2

    inputs = keras.Input((4,), name="input_1")
    model = keras.Model(inputs, keras.layers.Lambda(lambda t: side_effect(t), name="doubler")(inputs))
    for name in ("lambda.keras", "lambda.h5"):
        model.save(tmp_path / name)
        marker.unlink(missing_ok=True)
        with pytest.raises(DataError, match=rf"{name}: the model contains code \(Lambda layer 'doubler'\), "
                                            r"which was not loaded"):
            load_model(tmp_path / name)
        assert not marker.exists()

    class Custom(keras.layers.Layer):
        def call(self, t):
            return t

    custom = keras.Model(inputs, Custom(name="custom")(inputs))
    custom.save(tmp_path / "custom.keras")
    with pytest.raises(DataError, match=r"custom\.keras: .*(outside Keras|custom object).*not loaded"):
        load_model(tmp_path / "custom.keras")


def test_files_that_are_not_models_are_refused(tmp_path):
    (tmp_path / "random.keras").write_bytes(np.random.default_rng(1).bytes(256))
    (tmp_path / "text.h5").write_text("not a model\n")
    (tmp_path / "text.keras").write_text("not a model\n")
    (tmp_path / "model.tlt").write_bytes(b"\x00" * 64)
    weights_only = detectnet("alexnet", None, classes=1)
    weights_only.save_weights(tmp_path / "only.weights.h5")
    os.rename(tmp_path / "only.weights.h5", tmp_path / "only.h5")
    cases = {"random.keras": "not a Keras model file", "text.h5": "not an HDF5 model file",
             "text.keras": "not a Keras model file", "model.tlt": "encrypted TLT/TAO",
             "missing.keras": "no such model file", "only.h5": "weights only"}
    for name, message in cases.items():
        with pytest.raises(DataError, match=rf"{re.escape(str(tmp_path / name))}: .*{message}"):
            load_model(tmp_path / name)


def _randomize(model, seed):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in layer.get_weights()])


def test_transfer_weights_keeps_shared_classes_and_reports_new_ones():
    old = ["car", "pedestrian", "cyclist", "sign"]
    new = ["pedestrian", "car", "truck", "cyclist", "Sign"]  # another order, one new class, a case change
    source, target = detectnet("resnet", 10, classes=4), detectnet("resnet", 10, classes=5)
    _randomize(source, 1)
    cov_init = target.get_layer("output_cov").get_weights()
    report = transfer_weights(source, target, class_names_source=old, class_names_target=new)
    assert isinstance(report, TransferReport)
    assert report.new_classes == ["truck"] and report.shared_classes == ["pedestrian", "car", "cyclist", "Sign"]
    assert sorted(report.partial) == ["output_bbox", "output_cov"] and not report.skipped
    assert "conv1" in report.matched and "block_4a_bn_2" in report.matched
    assert "new: truck" in str(report) and "\n" not in str(report)
    for name in ("conv1", "bn_conv1", "block_3a_conv_shortcut"):
        for got, want in zip(target.get_layer(name).get_weights(), source.get_layer(name).get_weights()):
            np.testing.assert_array_equal(got, want)
    src_cov, tgt_cov = source.get_layer("output_cov").get_weights(), target.get_layer("output_cov").get_weights()
    src_box, tgt_box = source.get_layer("output_bbox").get_weights(), target.get_layer("output_bbox").get_weights()
    for t, name in enumerate(new):
        for k in range(2):  # kernel and bias
            if name == "truck":
                np.testing.assert_array_equal(tgt_cov[k][..., t], cov_init[k][..., t])
                continue
            s = [c.lower() for c in old].index(name.lower())
            np.testing.assert_array_equal(tgt_cov[k][..., t], src_cov[k][..., s])
            np.testing.assert_array_equal(tgt_box[k][..., 4 * t:4 * t + 4], src_box[k][..., 4 * s:4 * s + 4])


def test_transfer_weights_classifier_to_detector_and_mismatches():
    source = build_classifier("alexnet", None, SHAPE, 3)
    _randomize(source, 2)
    target = detectnet("alexnet", None, classes=2)
    report = transfer_weights(source, target)
    assert set(report.matched) >= {"conv1", "bn_conv1", "conv5"} and report.unused == ["predictions"]
    assert report.skipped == ["output_cov", "output_bbox"]
    np.testing.assert_array_equal(target.get_layer("conv3").get_weights()[0],
                                  source.get_layer("conv3").get_weights()[0])
    gray = build_classifier("alexnet", None, (64, 96, 1), 3)
    with pytest.raises(SpecError, match=r"layer 'conv1' has weight shapes \[\(11, 11, 1, 96\).*"
                                        r"needs \[\(11, 11, 3, 96\)"):
        transfer_weights(gray, target)
    with pytest.raises(SpecError, match="shares no layer"):
        transfer_weights(source, build_classifier("vgg", 16, SHAPE, 3))
    with pytest.raises(SpecError, match="head 'predictions' has 3 output channels but 2 class names"):
        transfer_weights(source, build_classifier("alexnet", None, SHAPE, 2), class_names_source=["a", "b"],
                         class_names_target=["a", "b"])


def test_resnet18_detector_trains_and_frozen_blocks_stay_put():
    keras = keras_module()
    model = detectnet("resnet", 18, classes=2, freeze_blocks=[0])
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss={"output_cov": "binary_crossentropy", "output_bbox": "mse"})
    rng = np.random.default_rng(3)
    images = rng.random((2, *SHAPE), dtype=np.float32)
    cov = (rng.random((2, 4, 6, 2)) > 0.8).astype(np.float32)
    bbox = rng.normal(size=(2, 4, 6, 8)).astype(np.float32)
    frozen_before = model.get_layer("conv1").get_weights()[0].copy()
    head_before = model.get_layer("output_cov").get_weights()[0].copy()
    history = model.fit(images, {"output_cov": cov, "output_bbox": bbox}, batch_size=2, epochs=2, verbose=0)
    assert all(np.isfinite(history.history["loss"]))
    np.testing.assert_array_equal(model.get_layer("conv1").get_weights()[0], frozen_before)
    assert not np.array_equal(model.get_layer("output_cov").get_weights()[0], head_before)
    # the low coverage prior: an untrained detector predicts "mostly background" (sigmoid(-4) ~ 0.02)
    np.testing.assert_array_equal(detectnet("alexnet", None, classes=2).get_layer("output_cov").bias.numpy(),
                                  [-4.0, -4.0])


def test_importing_the_zoo_does_not_import_tensorflow():
    code = "import sys, jupyter_tlt.models; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=os.path.dirname(os.path.dirname(__file__)))
