"""ImageNet weights from Keras Applications, mapped onto the zoo's layer names (ResNet50, VGG16, VGG19).

For users who are online (or who copied Keras' weight file over): `pretrained_model_file: "imagenet"`
downloads Keras' notop weights into its cache (~/.keras/models, or $KERAS_HOME); `"imagenet:FILE"`
reads a weights file that is already on disk. Offline, the download fails with a clear error; nothing
is ever silently left random.

The mapping is exact per layer: a Keras convolution's bias is folded into our batch norm (or kept as
the bias when the model has no batch norm), Keras' BN epsilon is folded into the moving variance,
and Keras' "caffe" input preprocessing (BGR, 0-255, mean subtracted) is folded into the first
convolution, so our RGB [0, 1] inputs see the features the weights were trained for (the zero padding
at the image border is the one difference).

    >>> report = load_imagenet_weights(model, "resnet", 50, "imagenet:resnet50_notop.h5")
    >>> print(report)      # copied 53 convolutions from Keras ResNet50 ImageNet weights; ...
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import SpecError, TltError
from .naming import bn_name, flat_layers

PREFIX = "imagenet"
KERAS_APPS = {("resnet", 50): "ResNet50", ("vgg", 16): "VGG16", ("vgg", 19): "VGG19"}
CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float64)


def is_imagenet(path: str) -> bool:
    return path == PREFIX or str(path).startswith(PREFIX + ":")


@dataclass
class ImagenetReport:
    """Which of our layers received ImageNet weights, and which (e.g. extra projection shortcuts) did not."""

    source: str
    copied: list[str] = field(default_factory=list)
    left_at_init: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"copied {len(self.copied)} convolutions from {self.source}"
        if self.left_at_init:
            text += (f"; {len(self.left_at_init)} layers left at initialization "
                     f"({', '.join(self.left_at_init[:3])}{'...' if len(self.left_at_init) > 3 else ''})")
        return text


def load_imagenet_weights(model, arch: str, n_layers: int | None, reference: str) -> ImagenetReport:
    """Set `model`'s backbone to ImageNet weights (Keras Applications', or timm's for ResNet-18/34 and
    on request 50: imagenet_timm.py); `reference` is imagenet[:FILE]."""
    from .imagenet_timm import TIMM_REPOS, is_timm_reference, load_timm_weights

    if arch == "resnet" and is_timm_reference(reference, n_layers):
        return load_timm_weights(model, n_layers, reference)
    app = KERAS_APPS.get((arch, n_layers))
    if app is None:
        have = ", ".join([f"{a}{n}" for a, n in KERAS_APPS] + [f"resnet{n}" for n in TIMM_REPOS])
        raise SpecError(f"pretrained_model_file {reference!r}: ImageNet weights exist for "
                        f"{have} only, not {arch}{n_layers or ''}; use a registry model or tlt pretrain")
    keras_model = _keras_application(app, reference, model.inputs[0].shape[1:])
    pairs = list(_resnet_pairs(keras_model) if arch == "resnet" else _vgg_pairs(keras_model))
    affines = ((name, *_affine(conv, bn)) for name, conv, bn in pairs)
    return set_affines(model, affines, _fold_caffe_preprocessing, f"Keras {app} ImageNet weights")


def set_affines(model, affines, fold_input, source: str) -> ImagenetReport:
    """Write each (our conv name, kernel, scale, shift) into our conv + BN, the first one with the
    source's input preprocessing folded in by `fold_input(kernel, scale, shift, in_channels)`."""
    ours = {layer.name: layer for layer in flat_layers(model)}
    report = ImagenetReport(source)
    for index, (ours_name, kernel, scale, shift) in enumerate(affines):
        if index == 0:
            kernel, shift = fold_input(kernel, scale, shift, ours[ours_name].kernel.shape[2])
        _set_conv(ours[ours_name], ours.get(bn_name(ours_name)), kernel, scale, shift)
        report.copied.append(ours_name)
    report.left_at_init = [name for name, layer in ours.items()
                           if type(layer).__name__ == "Conv2D" and name.startswith(("conv", "block_"))
                           and name not in report.copied]
    return report


def _keras_application(app: str, reference: str, input_shape):
    import keras

    _, _, file = reference.partition(":")
    if file and not Path(file).expanduser().is_file():
        raise SpecError(f"pretrained_model_file {reference!r}: {file} does not exist; give the path of Keras' "
                        f"{app} notop weights file (.h5)")
    height, width = int(input_shape[0]), int(input_shape[1])
    try:
        return getattr(keras.applications, app)(include_top=False, input_shape=(height, width, 3),
                                                weights=str(Path(file).expanduser()) if file else "imagenet")
    except Exception as exc:
        if file:
            raise SpecError(f"{file}: not Keras' {app} notop ImageNet weights ({exc})") from None
        cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"
        raise TltError(f"ImageNet weights for {app} could not be downloaded ({exc}). Offline: download Keras' "
                       f"{app.lower()} notop weights file elsewhere and put it in {cache}, or set "
                       "pretrained_model_file to \"imagenet:/path/to/file.h5\"; or use a registry model "
                       "(tlt pull) or one pretrained on your data (tlt pretrain)") from None


def _vgg_pairs(keras_model):
    for layer in keras_model.layers:
        if type(layer).__name__ == "Conv2D":  # block{b}_conv{k}
            block, conv = layer.name.removeprefix("block").split("_conv")
            yield f"block_{block}_conv_{conv}", layer, None


def _resnet_pairs(keras_model):
    """(our conv name, Keras conv, Keras BN): conv{s}_block{i}_{k}_conv -> block_{s-1}{letter}_conv_{k}."""
    layers = {layer.name: layer for layer in keras_model.layers}
    yield "conv1", layers["conv1_conv"], layers["conv1_bn"]
    for name, layer in layers.items():
        if not (name.startswith("conv") and name.endswith("_conv") and "_block" in name):
            continue
        stage, block, k, _ = name.split("_")
        ours_k = "shortcut" if k == "0" else k
        letter = chr(ord("a") + int(block.removeprefix("block")) - 1)
        yield (f"block_{int(stage.removeprefix('conv')) - 1}{letter}_conv_{ours_k}", layer,
               layers[name.removesuffix("_conv") + "_bn"])


def _affine(conv, bn):
    """(kernel, per-channel scale, shift) such that the Keras layers compute scale * conv(x) + shift."""
    kernel, bias = (np.asarray(w, np.float64) for w in conv.get_weights())
    if bn is None:
        return kernel, np.ones_like(bias), bias
    gamma, beta, mean, var = (np.asarray(w, np.float64) for w in bn.get_weights())
    scale = gamma / np.sqrt(var + bn.epsilon)
    return kernel, scale, beta + scale * (bias - mean)


def _fold_caffe_preprocessing(kernel, scale, shift, in_channels: int):
    """Our input is RGB (or grey) in [0, 1]; Keras' is BGR in 0-255 minus the ImageNet mean."""
    mean_response = np.einsum("hwco,c->o", kernel, CAFFE_MEAN_BGR)
    rgb = 255.0 * kernel[:, :, ::-1, :]
    return (rgb if in_channels == 3 else rgb.sum(axis=2, keepdims=True)), shift - scale * mean_response


def _set_conv(conv, bn, kernel, scale, shift) -> None:
    """Write scale * conv(x) + shift into our conv (+ BN): BN keeps gamma = scale, beta = shift."""
    if tuple(conv.kernel.shape) != kernel.shape:
        raise SpecError(f"layer {conv.name!r} has kernel shape {tuple(conv.kernel.shape)} but the ImageNet "
                        f"weights have {kernel.shape}; use the model_config of the unmodified backbone")
    if bn is None:
        conv.set_weights([kernel * scale, shift] if conv.use_bias else [kernel * scale])
        return
    conv.set_weights([kernel] + ([np.zeros_like(shift)] if conv.use_bias else []))
    # BN(y) = gamma * (y - mean) / sqrt(var + eps) + beta, with mean 0 and var + eps = 1
    bn.set_weights([scale, shift, np.zeros_like(shift), np.full_like(shift, 1.0 - bn.epsilon)])
