"""timm's ImageNet ResNets (safetensors, torchvision key names) mapped onto our layers: every mapped
convolution + BN computes what the timm layer computes, checked against a numpy reference."""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_tlt import SpecError, TltError
from jupyter_tlt.tasks.classification.head import build_classifier
from jupyter_tlt.models.imagenet import load_imagenet_weights
from jupyter_tlt.models.imagenet_timm import TIMM_MEAN, TIMM_STD, read_safetensors
from jupyter_tlt.models.naming import bn_name
from jupyter_tlt.models.resnet import STAGE_BLOCKS

safetensors_numpy = pytest.importorskip("safetensors.numpy")

SHAPE = (64, 96, 3)


def timm_state(n_layers: int, seed: int = 0) -> dict[str, np.ndarray]:
    """A state dict with timm's resnet{n} keys and shapes (torchvision layout), random values."""
    rng = np.random.default_rng(seed)
    state: dict[str, np.ndarray] = {}

    def conv(key, cout, cin, k):
        state[f"{key}.weight"] = rng.normal(0, 0.05, (cout, cin, k, k)).astype(np.float32)

    def bn(key, c):
        state[f"{key}.weight"] = rng.uniform(0.5, 1.5, c).astype(np.float32)
        state[f"{key}.bias"] = rng.normal(0, 0.1, c).astype(np.float32)
        state[f"{key}.running_mean"] = rng.normal(0, 0.1, c).astype(np.float32)
        state[f"{key}.running_var"] = rng.uniform(0.5, 2.0, c).astype(np.float32)
        state[f"{key}.num_batches_tracked"] = np.array(0, np.int64)

    conv("conv1", 64, 3, 7)
    bn("bn1", 64)
    bottleneck, cin = n_layers >= 50, 64
    for stage, (repeats, width) in enumerate(zip(STAGE_BLOCKS[n_layers], (64, 128, 256, 512)), 1):
        for i in range(repeats):
            p = f"layer{stage}.{i}"
            out = width * 4 if bottleneck else width
            shapes = ([(width, cin, 1), (width, width, 3), (out, width, 1)] if bottleneck
                      else [(width, cin, 3), (width, width, 3)])
            for k, (co, ci, ks) in enumerate(shapes, 1):
                conv(f"{p}.conv{k}", co, ci, ks)
                bn(f"{p}.bn{k}", co)
            if i == 0 and (stage > 1 or bottleneck):
                conv(f"{p}.downsample.0", out, cin, 1)
                bn(f"{p}.downsample.1", out)
            cin = out
    state["fc.weight"] = rng.normal(0, 0.01, (1000, cin)).astype(np.float32)
    state["fc.bias"] = np.zeros(1000, np.float32)
    return state


def reference_conv_bn(state, conv: str, bn: str, x: np.ndarray) -> np.ndarray:
    """timm's conv (stride 1, zero padding k//2, OIHW cross-correlation) + eval-mode BN, in numpy."""
    w = state[f"{conv}.weight"].astype(np.float64)
    k = w.shape[2]
    padded = np.pad(x.astype(np.float64), ((0, 0), (k // 2, k // 2), (k // 2, k // 2), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (k, k), axis=(1, 2))  # n,h,w,c,i,j
    y = np.einsum("nhwcij,ocij->nhwo", windows, w)
    g, b, m, v = (state[f"{bn}.{s}"] for s in ("weight", "bias", "running_mean", "running_var"))
    return (y - m) / np.sqrt(v + 1e-5) * g + b


def ours_conv_bn(conv, bn, x):
    import tensorflow as tf

    return bn(tf.nn.conv2d(x, conv.kernel, strides=1, padding="SAME"), training=False).numpy()


@pytest.mark.parametrize("n_layers", [18, 34, 50])
def test_every_mapped_layer_computes_what_timm_computes(tmp_path, n_layers):
    state = timm_state(n_layers)
    file = tmp_path / "model.safetensors"
    safetensors_numpy.save_file(state, str(file))
    assert set(read_safetensors(file)) == set(state)

    ours = build_classifier("resnet", n_layers, SHAPE, 3, all_projections=False)
    report = load_imagenet_weights(ours, "resnet", n_layers, f"imagenet:{file}")
    expected_missing = [] if n_layers == 50 else ["block_1a_conv_shortcut"]  # no max pool: a projection
    assert report.left_at_init == expected_missing
    assert f"timm resnet{n_layers}.tv_in1k ImageNet weights" in str(report)
    layers = {layer.name: layer for layer in ours.layers}
    rng = np.random.default_rng(1)
    convs = 3 if n_layers >= 50 else 2
    checked = 0
    for name in report.copied:
        if name == "conv1":
            timm_conv, timm_bn = "conv1", "bn1"
        else:
            stage, letter, k = int(name[6]), name[7], name.rsplit("_", 1)[1]
            p = f"layer{stage}.{ord(letter) - ord('a')}"
            timm_conv, timm_bn = ((f"{p}.downsample.0", f"{p}.downsample.1") if k == "shortcut"
                                  else (f"{p}.conv{k}", f"{p}.bn{k}"))
        if name == "conv1":  # our RGB [0, 1] against timm's normalized input of the same pixels
            rgb = rng.uniform(0, 1, (1, 14, 14, 3)).astype(np.float32)
            x_ours, x_timm = rgb, (rgb - TIMM_MEAN) / TIMM_STD
        else:
            x_ours = x_timm = rng.normal(0, 1, (1, 6, 6, layers[name].kernel.shape[2])).astype(np.float32)
        expected = reference_conv_bn(state, timm_conv, timm_bn, x_timm)
        got = ours_conv_bn(layers[name], layers[bn_name(name)], x_ours)
        inner = slice(3, -3) if name == "conv1" else slice(None)  # the padding differs at the border
        np.testing.assert_allclose(got[:, inner, inner], expected[:, inner, inner], rtol=1e-3, atol=1e-3,
                                   err_msg=name)
        checked += 1
    blocks = sum(STAGE_BLOCKS[n_layers])
    assert checked == 1 + blocks * convs + 4 - len(expected_missing)


def test_wrong_file_and_offline_hub_are_clear(tmp_path, monkeypatch):
    ours = build_classifier("resnet", 18, SHAPE, 3)
    with pytest.raises(SpecError, match="missing.safetensors does not exist"):
        load_imagenet_weights(ours, "resnet", 18, f"imagenet:{tmp_path / 'missing.safetensors'}")
    r50 = tmp_path / "r50.safetensors"
    safetensors_numpy.save_file(timm_state(50), str(r50))
    with pytest.raises(SpecError, match="layer 'block_1a_conv_1' has kernel shape"):
        load_imagenet_weights(ours, "resnet", 18, f"imagenet:{r50}")
    constants = pytest.importorskip("huggingface_hub.constants")  # offline, whatever this machine is
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    with pytest.raises(TltError, match=r"timm/resnet18.tv_in1k could not be downloaded.*"
                                       r"imagenet:/path/to/model.safetensors"):
        load_imagenet_weights(ours, "resnet", 18, "imagenet")
