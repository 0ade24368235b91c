"""DetectNet_v2 accuracy levers of issue 22: TAO's cost auto-weighting and the GIoU bbox term."""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_tlt import SpecError
from jupyter_tlt.spec import load_experiment_spec
from jupyter_tlt.tasks.detectnet_v2 import OUTPUT_BBOX, OUTPUT_COV, RasterizerConfig, target_fn
from jupyter_tlt.tasks.detectnet_v2.loss import (LossConfig, autoweight, giou_cost, loss_classes,
                                                 loss_weights, losses_from_config, make_losses,
                                                 training_callbacks)
from jupyter_tlt.tasks.detectnet_v2.rasterize import pack_targets, rasterize
from jupyter_tlt.tf_import import tensorflow

AUTO_SPEC = {"model_config": {"arch": "resnet"}, "cost_function_config": {
    "enable_autoweighting": True, "min_objective_weight": 0.01, "max_objective_weight": 0.99,
    "target_classes": [
        {"name": "car", "class_weight": 3.0,
         "objectives": [{"name": "cov", "initial_weight": 1.0, "weight_target": 1.0},
                        {"name": "bbox", "initial_weight": 4.0, "weight_target": 10.0}]},
        {"name": "pedestrian", "objectives": [{"name": "cov"}, {"name": "bbox"}]}]}}


# ---- auto-weighting ------------------------------------------------------------------------------

def test_the_epoch_end_rule():
    # per class: weight_target / cost, normalised over the objectives, clamped
    new = autoweight([[2.0, 1.0], [8.0, 1.0]], [[1.0, 1.0], [1.0, 3.0]], [[0.5, 0.5], [0.5, 0.5]],
                     1e-4, 0.9999)
    np.testing.assert_allclose(new[:, 0], [0.8, 0.2])              # 1/2 : 1/8
    np.testing.assert_allclose(new[:, 1], [0.25, 0.75])            # 1/1 : 3/1
    # clamping, and a class whose costs are all 0 keeps its weights
    new = autoweight([[1.0, 0.0], [1000.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]], [[0.3, 0.6], [0.7, 0.4]],
                     0.01, 0.99)
    np.testing.assert_allclose(new[:, 0], [0.99, 0.01])
    np.testing.assert_allclose(new[:, 1], [0.6, 0.4])
    # a zero cost gets weight 0 (then the minimum), its partner the rest
    np.testing.assert_allclose(autoweight([[0.0], [2.0]], [[1.0], [1.0]], [[0.5], [0.5]], 0.01, 0.99)[:, 0],
                               [0.01, 0.99])


def test_config_and_initial_weights_are_normalised_as_in_tao():
    spec = load_experiment_spec(AUTO_SPEC)
    config = LossConfig.from_spec(spec, ["car", "pedestrian"])
    assert config.autoweighting and (config.min_objective_weight, config.max_objective_weight) == (0.01, 0.99)
    assert config.cov_target == (1.0, 1.0) and config.bbox_target == (10.0, 1.0)
    losses = losses_from_config(config)
    cov, bbox = losses[OUTPUT_COV], losses[OUTPUT_BBOX]
    assert cov.class_weights == bbox.class_weights == [0.75, 0.25]          # 3 : 1, summing to 1
    np.testing.assert_allclose(cov.objective_weights.numpy(), [0.2, 0.5])   # 1 / (1 + 4), 1 / 2
    np.testing.assert_allclose(bbox.objective_weights.numpy(), [0.8, 0.5])
    assert bbox.weight_targets == [10.0, 1.0] and cov.weight_range == [0.01, 0.99]
    # off (the default here): constant class_weight x initial_weight, no state, no callback
    plain = load_experiment_spec({"model_config": {"arch": "resnet"}})
    assert not LossConfig.from_spec(plain, ["car"]).autoweighting and training_callbacks(plain) == []
    assert not hasattr(make_losses(plain, ["car"])[OUTPUT_COV], "cost_sums")
    [callback] = training_callbacks(spec)
    assert isinstance(callback, loss_classes()["AutoWeighting"])


def tiny_model_and_data():
    tf = tensorflow()
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    count, height, width = 8, 64, 96
    boxes = np.zeros((count, 2, 4), np.float32)
    classes = -np.ones((count, 2), np.int32)
    images = np.zeros((count, height, width, 3), np.float32)
    for i in range(count):
        x, y = rng.uniform(0, 40), rng.uniform(0, 20)
        boxes[i, 0], classes[i, 0] = [x, y, x + 40, y + 30], i % 2
        images[i, int(y):int(y) + 30, int(x):int(x) + 40, i % 2] = 1.0
    labels = {"boxes": boxes, "classes": classes}
    config = RasterizerConfig.default(["car", "pedestrian"])
    ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4).map(target_fn(config))
    inputs = keras.Input((height, width, 3))
    x = keras.layers.Conv2D(8, 3, strides=4, padding="same", activation="relu")(inputs)
    x = keras.layers.Conv2D(8, 3, strides=4, padding="same", activation="relu")(x)
    model = keras.Model(inputs, [keras.layers.Conv2D(2, 1, activation="sigmoid", name=OUTPUT_COV)(x),
                                 keras.layers.Conv2D(8, 1, name=OUTPUT_BBOX)(x)])
    return model, ds


def test_fit_moves_the_objective_weights_by_the_rule():
    import keras

    spec = load_experiment_spec(AUTO_SPEC)
    model, ds = tiny_model_and_data()
    losses = make_losses(spec, ["car", "pedestrian"])
    model.compile(keras.optimizers.Adam(1e-3), loss=losses, loss_weights=loss_weights())
    seen = []

    class Record(keras.callbacks.Callback):  # runs after AutoWeighting: the epoch's sums, new weights
        def on_epoch_begin(self, epoch, logs=None):
            self.old = [losses[k].objective_weights.numpy().copy() for k in (OUTPUT_COV, OUTPUT_BBOX)]

        def on_epoch_end(self, epoch, logs=None):
            seen.append((self.old, [losses[k].cost_sums.numpy().copy() for k in (OUTPUT_COV, OUTPUT_BBOX)],
                         [losses[k].objective_weights.numpy().copy() for k in (OUTPUT_COV, OUTPUT_BBOX)]))

    [auto] = training_callbacks(spec)
    model.fit(ds.repeat(), steps_per_epoch=2, epochs=3, verbose=0, shuffle=False, callbacks=[auto, Record()])
    assert len(seen) == 3 and len(auto.history) == 3
    start = np.array([[0.2, 0.5], [0.8, 0.5]])
    np.testing.assert_allclose(seen[0][0], start, rtol=1e-6)
    for old, sums, new in seen:
        sums = np.array(sums)
        assert (sums > 0).all()        # two batches' mean costs, restarted every epoch
        np.testing.assert_allclose(new, autoweight(sums, [[1.0, 1.0], [10.0, 1.0]], old, 0.01, 0.99), rtol=1e-5)
        # unclamped, the weighted costs of a class stand in the ratio of its weight targets
        weighted = np.array(new) * sums
        np.testing.assert_allclose(weighted[1] / weighted[0], [10.0, 1.0], rtol=1e-4)
    assert not np.allclose(seen[-1][2], start, atol=1e-3)     # the weights moved
    # each epoch's sums are that epoch's alone (reset at its beginning): the coverage error of a
    # learning model falls, so a cumulative sum would grow instead
    assert seen[2][1][0].sum() < 2 * seen[0][1][0].sum()


def test_losses_with_state_serialise():
    import keras

    losses = make_losses(load_experiment_spec(AUTO_SPEC), ["car", "pedestrian"])
    for loss in losses.values():
        again = keras.losses.deserialize(keras.losses.serialize(loss))
        assert type(again) is type(loss) and again.get_config() == loss.get_config()
        np.testing.assert_allclose(again.objective_weights.numpy(), loss.objective_weights.numpy())


# ---- the GIoU bbox term --------------------------------------------------------------------------

def test_giou_is_zero_for_perfect_boxes_and_grows_with_misalignment():
    box = np.array([[0.0, 0.0, 2.0, 1.0]], np.float32)
    assert float(giou_cost(box, box)[0]) == pytest.approx(0.0, abs=1e-6)
    costs = [float(giou_cost(box + [[s, 0, s, 0]], box)[0]) for s in (0.1, 0.5, 1.0, 2.0, 4.0)]
    assert all(a < b for a, b in zip(costs, costs[1:]))   # still grows once the boxes stop overlapping
    assert costs[2] == pytest.approx(1 - 1 / 3, rel=1e-5)  # IoU 1/3, hull = union
    assert 1.0 < costs[-1] < 2.0


def test_giou_gradients_are_finite_for_empty_and_inverted_boxes():
    tf = tensorflow()
    pred = tf.Variable([[0.0, 0.0, 0.0, 0.0], [1.0, 1.0, -1.0, -1.0], [0.5, 0.5, 0.5, 2.0],
                        [0.1, 0.2, 1.1, 0.9]], dtype=tf.float32)
    target = tf.constant([[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0],
                          [0.0, 0.0, 1.0, 1.0]], tf.float32)
    with tf.GradientTape() as tape:
        cost = giou_cost(pred, target)
        total = tf.reduce_sum(cost)
    grad = tape.gradient(total, pred).numpy()
    assert np.isfinite(cost.numpy()).all() and np.isfinite(grad).all()
    # a flat box still grows its hull; an inverted one is the L1 term's to fix (GIoU is flat there)
    assert (np.abs(grad[2:]).sum(axis=-1) > 0).all()


def test_bbox_loss_adds_the_weighted_giou_of_the_decoded_boxes_on_foreground_cells():
    spec = load_experiment_spec({"model_config": {"arch": "resnet"},
                                 "cost_function_config": {"bbox_iou_weight": 2.0}})
    config = LossConfig.from_spec(spec, ["car"])
    assert config.bbox_iou_weight == 2.0
    plain = losses_from_config(LossConfig.default(1))[OUTPUT_BBOX]
    with_iou = losses_from_config(config)[OUTPUT_BBOX]
    raster = RasterizerConfig.default(1)
    boxes = np.array([[[40.0, 20.0, 120.0, 70.0]]], np.float32)
    cov, bbox, weight = rasterize(boxes, np.zeros((1, 1), np.int32), 1, 8, 12, raster)
    y = pack_targets(cov, bbox, weight)[OUTPUT_BBOX].numpy()
    bbox = bbox.numpy()
    assert float(with_iou(y, bbox)) == pytest.approx(0.0, abs=1e-6)
    shifted = bbox + np.array([8.0, 4.0, 8.0, 4.0], np.float32) / raster.scale * cov.numpy()
    # the decoded boxes move 8 px right and 4 px down: IoU of two 80x50 boxes offset by (8, 4)
    inter = (80 - 8) * (50 - 4)
    iou = inter / (2 * 80 * 50 - inter)
    hull = 88 * 54
    giou = iou - (hull - (2 * 80 * 50 - inter)) / hull
    l1 = float(plain(y, shifted))
    assert l1 == pytest.approx(2 * (8 + 4) / raster.scale, rel=1e-4)
    assert float(with_iou(y, shifted)) == pytest.approx(l1 + 2.0 * (1 - giou), rel=1e-4)
    # background cells cost nothing, whatever they predict
    assert float(with_iou(y, np.where(cov.numpy() > 0, bbox, 5.0))) == pytest.approx(0.0, abs=1e-6)


def test_the_spec_field_is_validated_and_misspellings_suggest_it():
    with pytest.raises(SpecError, match="bbox_iou_weight' must be >= 0"):
        load_experiment_spec('model_config { arch: "resnet" } cost_function_config { bbox_iou_weight: -1 }')
    with pytest.raises(SpecError, match="did you mean 'bbox_iou_weight'"):
        load_experiment_spec('model_config { arch: "resnet" } cost_function_config { bbox_iou_weigth: 1 }')


# ---- through `train` ---------------------------------------------------------------------------

def test_train_applies_both_levers_from_the_spec(tmp_path):
    import keras

    from jupyter_tlt.train import train
    from train_fixtures import detection_records, detection_spec

    records = detection_records(tmp_path / "data")
    seen = {}

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            losses = self.model.loss
            seen[epoch] = {k: losses[k].objective_weights.numpy().copy() for k in (OUTPUT_COV, OUTPUT_BBOX)}
            seen["iou_weight"] = losses[OUTPUT_BBOX].iou_weight

    extra = "cost_function_config { enable_autoweighting: true bbox_iou_weight: 1.5 }\n"
    result = train(detection_spec(records, epochs=2, extra=extra), tmp_path / "run", progress=False,
                   callbacks=[Record()])
    assert np.isfinite(result.to_frame()["loss"]).all() and seen["iou_weight"] == 1.5
    for epoch in (0, 1):   # updated at every epoch's end, before later callbacks see them
        cov, bbox = seen[epoch][OUTPUT_COV], seen[epoch][OUTPUT_BBOX]
        assert not np.allclose(cov, 0.5) and np.all((cov >= 1e-4) & (bbox <= 0.9999))
        np.testing.assert_allclose(cov + bbox, 1.0, rtol=1e-5)
