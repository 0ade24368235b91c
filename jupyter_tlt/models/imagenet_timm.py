"""ImageNet ResNet-18, -34 and -50 from timm's safetensors files, mapped onto the zoo's layer names.

The source is the torchvision ImageNet weights as timm publishes them on the Hugging Face hub
(`timm/resnet18.tv_in1k`, `timm/resnet34.tv_in1k`, `timm/resnet50.tv_in1k`: `model.safetensors`,
torchvision's state-dict keys `conv1`, `bn1`, `layer1.0.conv1`, `layer2.0.downsample.0`, ...).
`pretrained_model_file: "imagenet"` fetches it with huggingface_hub into the hub's cache for ResNet-18
and -34 (ResNet-50 keeps Keras Applications as its first source; `"imagenet:timm"` picks timm's);
`"imagenet:FILE.safetensors"` reads a copied file. The file is parsed here as its JSON header and raw
little-endian arrays: nothing in it is executed.

The mapping is exact per layer, as for Keras Applications (imagenet.py): kernels go from PyTorch's
OIHW to Keras' HWIO, each batch norm (PyTorch's epsilon 1e-5) becomes the scale and shift our BN
applies, and timm's input normalization (RGB in [0, 1], minus the ImageNet mean, over its std) is
folded into the first convolution. The network differs from torchvision's in two places TAO's ResNet
also differs: no max pool after the stem (block_1a strides instead), and "same" padding.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..errors import SpecError, TltError
from .imagenet import ImagenetReport, set_affines
from .naming import flat_layers
from .resnet import STAGE_BLOCKS

TIMM_REPOS = {18: "timm/resnet18.tv_in1k", 34: "timm/resnet34.tv_in1k", 50: "timm/resnet50.tv_in1k"}
TIMM_FILE = "model.safetensors"
TIMM_MEAN = np.array([0.485, 0.456, 0.406])
TIMM_STD = np.array([0.229, 0.224, 0.225])
TORCH_BN_EPSILON = 1e-5
_DTYPES = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8", "I32": "<i4"}


def is_timm_reference(reference: str, n_layers: int | None) -> bool:
    """Whether an imagenet[:X] reference of a ResNet-`n_layers` is served from timm's weights."""
    _, _, file = reference.partition(":")
    if file:
        return file == "timm" or file.endswith(".safetensors")
    return n_layers in (18, 34)


def read_safetensors(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """{key: array} of a safetensors file (an 8-byte header length, a JSON header, raw arrays)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the weights file ({exc.strerror or exc}); check "
                        "pretrained_model_file.") from None
    try:
        size = int.from_bytes(data[:8], "little")
        header = json.loads(data[8:8 + size])
        body = memoryview(data)[8 + size:]
        out = {}
        for key, entry in header.items():
            if key == "__metadata__":
                continue
            start, end = entry["data_offsets"]
            out[key] = np.frombuffer(body[start:end], _DTYPES[entry["dtype"]]).reshape(entry["shape"])
        return out
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: not a safetensors file of float32/float16 arrays ({exc}); give timm's "
                        "model.safetensors.") from None


def _pairs(n_layers: int):
    """(our conv name, timm conv key, timm BN key) for every convolution of ResNet-`n_layers`."""
    yield "conv1", "conv1", "bn1"
    convs = 3 if n_layers >= 50 else 2
    for stage, repeats in enumerate(STAGE_BLOCKS[n_layers], start=1):
        for i in range(repeats):
            ours = f"block_{stage}{chr(ord('a') + i)}"
            for k in range(1, convs + 1):
                yield f"{ours}_conv_{k}", f"layer{stage}.{i}.conv{k}", f"layer{stage}.{i}.bn{k}"
            yield f"{ours}_conv_shortcut", f"layer{stage}.{i}.downsample.0", f"layer{stage}.{i}.downsample.1"


def _affine(tensors: dict[str, np.ndarray], conv: str, bn: str):
    """(HWIO kernel, scale, shift) such that timm's conv + BN compute scale * conv(x) + shift."""
    kernel = np.asarray(tensors[f"{conv}.weight"], np.float64).transpose(2, 3, 1, 0)
    gamma, beta, mean, var = (np.asarray(tensors[f"{bn}.{k}"], np.float64)
                              for k in ("weight", "bias", "running_mean", "running_var"))
    scale = gamma / np.sqrt(var + TORCH_BN_EPSILON)
    return kernel, scale, beta - scale * mean


def _fold_normalization(kernel, scale, shift, in_channels: int):
    """Our input is RGB (or grey) in [0, 1]; timm's is (RGB - mean) / std."""
    mean_response = np.einsum("hwco,c->o", kernel, TIMM_MEAN / TIMM_STD)
    rgb = kernel / TIMM_STD[None, None, :, None]
    return (rgb if in_channels == 3 else rgb.sum(axis=2, keepdims=True)), shift - scale * mean_response


def load_timm_weights(model, n_layers: int | None, reference: str) -> ImagenetReport:
    """Set `model`'s ResNet backbone to timm's ImageNet weights; `reference` is imagenet[:timm|:FILE]."""
    if n_layers not in TIMM_REPOS:
        raise SpecError(f"pretrained_model_file {reference!r}: timm's ImageNet weights cover resnet "
                        f"{', '.join(map(str, TIMM_REPOS))}, not resnet{n_layers or ''}.")
    _, _, file = reference.partition(":")
    path = Path(file).expanduser() if file and file != "timm" else _download(TIMM_REPOS[n_layers])
    if not path.is_file():
        raise SpecError(f"pretrained_model_file {reference!r}: {path} does not exist; give the path of "
                        f"{TIMM_REPOS[n_layers]}'s {TIMM_FILE}.")
    tensors = read_safetensors(path)
    ours = {layer.name for layer in flat_layers(model)}
    pairs = list(_pairs(n_layers))
    missing = [conv for name, conv, _ in pairs if f"{conv}.weight" not in tensors
               and not conv.endswith("downsample.0")]
    if missing:
        raise SpecError(f"{path}: has no '{missing[0]}.weight'; it is not timm's resnet{n_layers} "
                        f"({TIMM_REPOS[n_layers]}).")
    # where torchvision has no projection (or ours none), that layer stays at initialization
    affines = ((name, *_affine(tensors, conv, bn)) for name, conv, bn in pairs
               if f"{conv}.weight" in tensors and name in ours)
    return set_affines(model, affines, _fold_normalization,
                       f"timm {TIMM_REPOS[n_layers].split('/')[1]} ImageNet weights")


def _download(repo: str) -> Path:
    """timm's file from the hub's cache, fetched there first when online; offline fails fast."""
    hint = (f"Offline: download https://huggingface.co/{repo}/resolve/main/{TIMM_FILE} elsewhere, copy "
            f"it here and set pretrained_model_file: \"imagenet:/path/to/{TIMM_FILE}\"")
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise TltError(f"ImageNet weights for {repo} need huggingface_hub (pip install huggingface_hub). "
                       f"{hint}.") from None
    try:
        return Path(hf_hub_download(repo, TIMM_FILE, etag_timeout=5))
    except Exception as exc:  # offline, proxy, hub errors: one message with what to do
        raise TltError(f"ImageNet weights {repo} could not be downloaded ({type(exc).__name__}). "
                       f"{hint}.") from None
