"""Structured pruning: TAO's scoring rule, equalization, a real smaller model equal to the masked original."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from jupyter_tlt import DataError, cli
from jupyter_tlt.model_info import read_info
from jupyter_tlt.models import conv_bn_pairs, keras_module, load_model, save_model
from jupyter_tlt.tasks.classification.head import build_classifier
from jupyter_tlt.tasks.detectnet_v2.head import build_detectnet
from jupyter_tlt.prune import prune, prune_sweep
from jupyter_tlt.pruning import Pruner, criteria

ARCHS = [("resnet", 10), ("resnet", 18), ("resnet", 34), ("resnet", 50), ("vgg", 16), ("vgg", 19),
         ("alexnet", None), ("googlenet", None)]
SHAPES = {"detection": (64, 96, 3), "classification": (64, 64, 3)}

pytestmark = pytest.mark.filterwarnings("ignore:DetectNet_v2 input .* below:UserWarning")


def build(task, arch, n_layers, **opts):
    builder = build_detectnet if task == "detection" else build_classifier
    return builder(arch, n_layers, SHAPES[task], 3, **opts)


def spread_filter_norms(model, seed=0):
    """Scale each filter by a random factor so that filter norms differ a lot, as in trained models;
    give batch norms non-trivial statistics."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        kind = type(layer).__name__
        weights = layer.get_weights()
        if kind in ("Conv2D", "Dense") and layer.name not in ("output_cov", "output_bbox", "predictions"):
            weights[0] = weights[0] * rng.uniform(0.02, 1.0, size=weights[0].shape[-1])
            layer.set_weights(weights)
        elif kind == "BatchNormalization":
            layer.set_weights([rng.uniform(0.5, 1.5, w.shape) if i in (0, 3) else rng.normal(0, 0.1, w.shape)
                               for i, w in enumerate(weights)])


def masked_copy(model, pruner, keep):
    """The original model with every removed channel zeroed: its filters and its batch norm's gamma and beta
    (with ReLU, a zeroed channel then contributes nothing downstream)."""
    keras = keras_module()
    masked = keras.models.clone_model(model)
    masked.set_weights(model.get_weights())
    layers = {layer.name: layer for layer in masked.layers}
    bns = conv_bn_pairs(masked)
    for gid, kept in keep.items():
        group = pruner.graph.groups[gid]
        removed = np.setdiff1d(np.arange(group.size), kept)
        for member in group.members:
            conv = layers[member].get_weights()            # kernel [, bias]: zero the removed filters
            for w in conv:
                w[..., removed] = 0.0
            layers[member].set_weights(conv)
            if member in bns:                              # gamma, beta, mean, variance: zero gamma and beta
                bn = layers[bns[member]].get_weights()
                bn[0][removed] = bn[1][removed] = 0.0
                layers[bns[member]].set_weights(bn)
    return masked


def outputs(model, x):
    out = model(x, training=False)
    return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]


# -- the scoring rule on hand-made numbers --------------------------------------------------------
def test_filter_norms_ignore_the_bias_and_reduce_all_but_the_output_axis():
    kernel = np.zeros((3, 3, 2, 4))
    kernel[0, 0, 0, 0], kernel[1, 1, 1, 0] = 3.0, 4.0
    kernel[..., 2] = 1.0
    np.testing.assert_allclose(criteria.filter_norms(kernel), [5.0, 0.0, np.sqrt(18), 0.0])


def test_normalizers():
    scores = np.array([1.0, 2.0, 4.0])
    np.testing.assert_allclose(criteria.normalize(scores, "max"), [0.25, 0.5, 1.0])
    np.testing.assert_allclose(criteria.normalize(scores, "L2"), scores / np.sqrt(21.0) * 3)


@pytest.mark.parametrize("criterion,expected", [
    ("union", [1.0, 0.6, 0.5]), ("intersection", [0.4, 0.2, 0.1]), ("arithmetic_mean", [0.7, 0.4, 0.3]),
    ("geometric_mean", [np.sqrt(0.4), np.sqrt(0.12), np.sqrt(0.05)])])
def test_each_equalization_criterion_combines_a_group(criterion, expected):
    a, b = np.array([1.0, 0.2, 0.5]), np.array([0.4, 0.6, 0.1])
    np.testing.assert_allclose(criteria.combine([a, b], criterion), expected)


def test_kept_count_honours_threshold_minimum_and_granularity():
    scores = np.linspace(0.01, 1.0, 64)
    assert criteria.kept_count(scores, 0.5, 16, 8) == 32          # 32 above 0.5 already a multiple of 8
    assert criteria.kept_count(scores, 0.52, 16, 8) == 32         # 31 above -> rounded up to 32
    assert criteria.kept_count(scores, 0.99, 16, 8) == 16         # 1 above -> the minimum
    assert criteria.kept_count(scores[:10], 0.99, 16, 8) == 10    # minimum capped at the depth
    assert criteria.kept_count(scores[:20], 0.0, 4, 8) == 20      # rounding capped at the depth
    keep = criteria.kept_indices(np.array([0.9, 0.1, 0.8, 0.2]), 0.5, 1, 1)
    np.testing.assert_array_equal(keep, [0, 2])


# -- the smaller model -----------------------------------------------------------------------------
@pytest.mark.parametrize("task", ["detection", "classification"])
@pytest.mark.parametrize("arch,n_layers", ARCHS, ids=[f"{a}{n or ''}" for a, n in ARCHS])
def test_every_backbone_prunes_to_a_smaller_model_equal_to_the_masked_original(arch, n_layers, task):
    model = build(task, arch, n_layers)
    spread_filter_norms(model)
    x = np.random.default_rng(1).uniform(0, 1, (2, *SHAPES[task])).astype("float32")
    pruner = Pruner(model)
    unpruned = pruner.prune(0.0, min_filters=1, granularity=1)
    assert unpruned.count_params() == model.count_params()
    for a, b in zip(outputs(model, x), outputs(unpruned, x)):
        np.testing.assert_allclose(a, b, atol=1e-5)

    keep = pruner.keep(0.5, min_filters=8, granularity=4)
    pruned = pruner.prune(0.5, min_filters=8, granularity=4)
    assert pruned.count_params() < 0.8 * model.count_params()
    assert [layer.name for layer in pruned.layers] == [layer.name for layer in model.layers]
    assert pruner.cost({g: len(k) for g, k in keep.items()})[0] == pruned.count_params()
    for a, b in zip(outputs(masked_copy(model, pruner, keep), x), outputs(pruned, x)):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-4)
    for row in pruner.layer_table(keep):
        if row["kept"] < row["total"]:
            assert row["kept"] % 4 == 0 and row["kept"] >= 8, row


@pytest.mark.parametrize("all_projections", [True, False])
def test_residual_adds_keep_the_same_channels_in_every_input(all_projections):
    model = build("detection", "resnet", 18, all_projections=all_projections)
    spread_filter_norms(model, seed=4)
    pruner = Pruner(model, criterion="arithmetic_mean")
    keep = pruner.keep(0.4, min_filters=8, granularity=8)
    graph = pruner.graph
    adds = [name for name, info in graph.layers.items() if info["class_name"] == "Add"]
    assert len(adds) == 8
    for add in adds:
        inputs = graph.layers[add]["inbound"]
        groups = {graph.out_segments[src][0][0] for src in inputs}
        assert len(groups) == 1, f"{add}: inputs in different groups {groups}"
        kept = [channel for src in inputs for channel in [keep.get(graph.out_segments[src][0][0])]]
        assert all(np.array_equal(kept[0], k) for k in kept)
    if not all_projections:  # identity shortcuts chain the blocks of a stage into one group
        (gid, _), = graph.out_segments["block_1b_add"]
        assert {"block_1a_conv_2", "block_1b_conv_2"} <= set(graph.groups[gid].members)
    pruned = pruner.prune(0.4, min_filters=8, granularity=8)
    x = np.random.default_rng(2).uniform(0, 1, (1, *SHAPES["detection"])).astype("float32")
    for a, b in zip(outputs(masked_copy(model, pruner, keep), x), outputs(pruned, x)):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-4)


def test_heads_and_excluded_layers_stay_whole():
    model = build("detection", "vgg", 16)
    spread_filter_norms(model)
    pruner = Pruner(model, excluded=["block_2_conv_1"])
    table = {row["layer"]: row for row in pruner.layer_table(pruner.keep(0.9, 8, 8))}
    assert table["output_cov"]["kept"] == table["output_cov"]["total"] == 3
    assert table["output_bbox"]["kept"] == 12
    assert table["block_2_conv_1"]["kept"] == 128 and "excluded" in table["block_2_conv_1"]["not_pruned_because"]
    assert table["block_2_conv_2"]["kept"] < 128


def test_sweep_matches_built_models_and_is_monotonic():
    model = build("detection", "googlenet", None)
    spread_filter_norms(model)
    sweep = prune_sweep(model, [0.0, 0.3, 0.6, 0.9], min_num_filters=8, pruning_granularity=8)
    assert list(sweep["params"]) == sorted(sweep["params"], reverse=True)
    assert sweep["params"][0] == model.count_params()
    built = Pruner(model).prune(0.6, 8, 8)
    assert sweep["params"][2] == built.count_params()


# -- the workflow step ----------------------------------------------------------------------------
def test_prune_saves_an_ordinary_model_with_report_and_info(tmp_path):
    model = build("classification", "resnet", 10)
    spread_filter_norms(model)
    save_model(model, tmp_path / "model.keras")
    report = prune(tmp_path / "model.keras", tmp_path / "prune" / "small.keras", threshold=0.5,
                   min_num_filters=8, pruning_granularity=8)
    loaded = load_model(tmp_path / "prune" / "small.keras")
    assert loaded.count_params() == report.params_after < report.params_before
    assert report.file_bytes_after < report.file_bytes_before and report.flops_after < report.flops_before
    assert 0 < report.params_ratio < 1
    assert set(report.to_frame().columns) >= {"kept", "total", "pruned"}
    saved = json.loads((tmp_path / "prune" / "small_prune_report.json").read_text())
    assert saved["params_after"] == report.params_after
    assert (tmp_path / "prune" / "small_prune_layers.csv").read_text().startswith("layer,kept,total")
    assert read_info(tmp_path / "prune" / "small.keras")["pruned"]["threshold"] == 0.5
    assert not [p for p in (tmp_path / "prune").iterdir() if p.name.startswith(".tmp-")]


def test_cli_prune_and_its_bad_inputs(tmp_path, capsys):
    model = build("detection", "resnet", 10)
    save_model(model, tmp_path / "m.keras")
    base = ["prune", "-m", str(tmp_path / "m.keras"), "-o", str(tmp_path / "p.keras")]
    assert cli.main(base + ["-pth", "0.3", "-el", "conv1,block_1a_conv_1"]) == 0
    assert "fewer parameters" in capsys.readouterr().out
    for extra, message in [(["-pth", "-0.1"], "pruning_threshold"), (["-pth", "1.5"], "above 1"),
                           (["-pth", "nan"], "pruning_threshold"), (["-el", "block_9z_conv_1"], "no layer"),
                           (["-nf", "0"], "min_num_filters"), (["-pg", "0"], "pruning_granularity")]:
        assert cli.main(base + ["--overwrite"] + extra) == 2, extra
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
    assert cli.main(["prune", "-m", str(tmp_path / "m.keras"), "-o", str(tmp_path / "m.keras")]) == 2
    assert "is the model being pruned" in capsys.readouterr().err
    assert cli.main(["prune", "-m", str(tmp_path / "m.keras"), "--sweep"]) == 0
    assert "params_kept" in capsys.readouterr().out


def test_a_model_with_an_unsupported_layer_is_named(tmp_path):
    keras = keras_module()
    inputs = keras.Input((8, 8, 3), name="input_1")
    x = keras.layers.Conv2D(8, 3, name="conv1")(inputs)
    x = keras.layers.Reshape((-1, 8), name="to_sequence")(x)
    x = keras.layers.LSTM(4, name="lstm")(x)
    model = keras.Model(inputs, keras.layers.Dense(2, name="predictions")(x))
    with pytest.raises(DataError, match=r"'to_sequence' \(Reshape\) is not supported"):
        Pruner(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        save_model(model, tmp_path / "lstm.keras")
    assert cli.main(["prune", "-m", str(tmp_path / "lstm.keras"), "-o", str(tmp_path / "p.keras")]) == 2


def test_encrypted_model_prunes_only_with_its_key(tmp_path, capsys):
    model = build("classification", "alexnet", None)
    save_model(model, tmp_path / "secret.keras", info={"task": "classification"}, key="tlt_encode")
    assert not (tmp_path / "secret.keras").read_bytes().startswith(b"PK")
    assert read_info(tmp_path / "secret.keras", key="tlt_encode") == {"task": "classification"}
    base = ["prune", "-m", str(tmp_path / "secret.keras"), "-o", str(tmp_path / "small.keras"), "-pth", "0.9"]
    assert cli.main(base + ["-k", "wrong"]) == 2
    assert "wrong key" in capsys.readouterr().err
    assert cli.main(base) == 2
    assert "pass the key it was saved with (-k KEY)" in capsys.readouterr().err
    assert cli.main(base + ["-k", "tlt_encode"]) == 0
    with pytest.raises(DataError, match="wrong key"):
        load_model(tmp_path / "small.keras", key="other")
    small = load_model(tmp_path / "small.keras", key="tlt_encode")
    assert small.count_params() <= model.count_params()
    assert read_info(tmp_path / "small.keras", key="tlt_encode")["pruned"]["threshold"] == 0.9
