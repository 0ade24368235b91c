"""Weights from TAO / NGC pretrained models: Keras-2 HDF5 files, loaded by layer name.

NGC's `pretrained_detectnet_v2:resnet18`, `pretrained_classification:resnet18` and the like are
Keras-2 HDF5 files (a whole model, or weights only) whose layers carry TAO's names (`conv1`,
`bn_conv1`, `block_1a_conv_1`, `block_1a_bn_1`, `block_1a_conv_shortcut`, ...), the names our zoo
uses. They are read with h5py as plain arrays: nothing in the file is deserialized or executed (no
Lambda, no pickle), so a file from anywhere is safe to read.

Each of our layers takes the same-named layer's arrays, matched by weight name (kernel, bias, gamma,
beta, moving_mean, moving_variance) with shapes checked. A convolution bias that our model does not
have (its batch norm follows) is folded into that batch norm's moving mean, and a batch norm epsilon
other than ours into its moving variance, so the layer computes the same function.

    >>> report = load_keras2_weights(model, "resnet18.hdf5")
    >>> print(report)   # loaded 41 layers from resnet18.hdf5; 2 shape-mismatched ...
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError, SpecError
from .naming import bn_name, flat_layers

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ENCRYPTED_TAO = (".tlt", ".etlt")
KERAS2_BN_EPSILON = 1e-3  # Keras 2's BatchNormalization default, for weights-only files


@dataclass
class Keras2Report:
    """What `load_keras2_weights` did: layers loaded, ours the file lacks (kept at initialization),
    same-named layers whose shapes differ (kept at initialization), and the file's unused layers."""

    source: str
    matched: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    folded_biases: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        text = f"loaded {len(self.matched)} layers by name from {Path(self.source).name}"
        if self.mismatched:
            text += (f"; {len(self.mismatched)} shape-mismatched ({', '.join(self.mismatched[:3])}"
                     f"{'...' if len(self.mismatched) > 3 else ''})")
        if self.skipped:
            text += f"; {len(self.skipped)} absent in the file"
        text += f"; {len(self.mismatched) + len(self.skipped)} layers left at initialization"
        if self.unused:
            text += f"; {len(self.unused)} layers of the file unused"
        return text


def refuse_encrypted_tao(path: str | os.PathLike) -> None:
    """DataError for TAO's encrypted purpose-built models, which no tool outside TAO can read."""
    if Path(path).suffix.lower() in ENCRYPTED_TAO:
        raise DataError(f"{path}: an encrypted TAO model ({Path(path).suffix}; PeopleNet, TrafficCamNet, "
                        "...) in a format NVIDIA does not document, so it cannot be read; use NGC's "
                        "unencrypted pretrained backbone (pretrained_detectnet_v2 or "
                        "pretrained_classification, a .hdf5 file) or pretrained_model_file: "
                        "\"imagenet\" instead.")


def is_keras2_file(path: str | os.PathLike) -> bool:
    """True for an HDF5 model or weights file written by Keras 2 (TAO, NGC, tf-keras), as opposed to
    a model jupyter-tlt saved (Keras 3, with its info attribute)."""
    path = Path(path)
    if path.suffix.lower() not in (".h5", ".hdf5") or not path.is_file():
        return False
    with open(path, "rb") as fh:
        if fh.read(8) != HDF5_SIGNATURE:
            return False
    import h5py

    from ..model_info import MEMBER

    try:
        with h5py.File(path, "r") as h5:
            if MEMBER in h5.attrs:
                return False
            version = _text(h5.attrs.get("keras_version", ""))
            return version.startswith("2.") or "model_config" not in h5.attrs
    except OSError:
        return False


def read_keras2_weights(path: str | os.PathLike) -> dict[str, dict[str, np.ndarray]]:
    """{layer name: {weight name ("kernel", "gamma", ...): array}} of a Keras-2 HDF5 file, read as
    plain arrays in the file's layer order."""
    import h5py

    path = Path(path)
    try:
        with h5py.File(path, "r") as h5:
            group = h5["model_weights"] if "model_weights" in h5 else h5
            if "layer_names" not in group.attrs:
                raise DataError(f"{path}: no Keras weights in this HDF5 file (no 'layer_names'); "
                                "pass a Keras-2 model or weights file (TAO/NGC .hdf5).")
            layers: dict[str, dict[str, np.ndarray]] = {}
            for layer in map(_text, group.attrs["layer_names"]):
                names = [_text(n) for n in group[layer].attrs.get("weight_names", [])]
                if names:
                    layers[layer] = {_short(n): np.asarray(group[layer][n][()]) for n in names}
            return layers
    except (OSError, KeyError) as exc:
        raise DataError(f"{path}: the HDF5 file cannot be read as Keras weights ({exc}); the file "
                        "is damaged or not a Keras model.") from None


def _bn_epsilons(path: Path) -> dict[str, float]:
    """BN epsilon per layer from the stored architecture (read as JSON, never deserialized)."""
    import h5py

    with h5py.File(path, "r") as h5:
        raw = h5.attrs.get("model_config")
    if raw is None:
        return {}
    try:
        config = json.loads(_text(raw))
    except ValueError:
        return {}
    found: dict[str, float] = {}
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            inner = node.get("config")
            if node.get("class_name") == "BatchNormalization" and isinstance(inner, dict):
                found[str(inner.get("name"))] = float(inner.get("epsilon", KERAS2_BN_EPSILON))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def load_keras2_weights(model, path: str | os.PathLike) -> Keras2Report:
    """Set `model`'s layers from the same-named layers of the Keras-2 HDF5 file at `path`."""
    path = Path(path)
    refuse_encrypted_tao(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file; check pretrained_model_file.")
    source = read_keras2_weights(path)
    epsilons = _bn_epsilons(path)
    report = Keras2Report(str(path))
    ours = [layer for layer in flat_layers(model) if layer.weights]
    by_name = {layer.name: layer for layer in ours}
    pending_bias: dict[str, np.ndarray] = {}  # our BN name -> bias of the conv before it
    for layer in ours:
        src = source.get(layer.name)
        if src is None:
            report.skipped.append(layer.name)
            continue
        wanted = [_short(w.name) for w in layer.weights]
        src = dict(src)
        bias = None
        if "bias" in src and "bias" not in wanted and bn_name(layer.name) in by_name:
            bias = src.pop("bias")
        if layer.name in epsilons and "moving_variance" in src:
            src["moving_variance"] = src["moving_variance"] + epsilons[layer.name] - \
                float(layer.get_config().get("epsilon", KERAS2_BN_EPSILON))
        values = [src.get(name) for name in wanted]
        if any(v is None for v in values) or set(src) - set(wanted) or \
                [v.shape for v in values] != [tuple(w.shape) for w in layer.weights]:
            report.mismatched.append(layer.name)
            continue
        layer.set_weights(values)
        report.matched.append(layer.name)
        if bias is not None:
            pending_bias[bn_name(layer.name)] = bias
    for bn, bias in pending_bias.items():
        if bn in report.matched:
            names = [_short(w.name) for w in by_name[bn].weights]
            values = by_name[bn].get_weights()
            values[names.index("moving_mean")] = values[names.index("moving_mean")] - bias
            by_name[bn].set_weights(values)
            report.folded_biases.append(bn)
    report.unused = [name for name in source if name not in by_name]
    if ours and not report.matched:
        raise SpecError(f"pretrained_model_file {str(path)!r}: no layer name matches the model being "
                        f"built (the file has {', '.join(list(source)[:3])}...); use a TAO/NGC model "
                        "of the same arch and n_layers.")
    return report


def _short(weight_name: str) -> str:
    """"block_1a_bn_1/moving_mean:0" -> "moving_mean"."""
    return weight_name.rsplit("/", 1)[-1].split(":")[0]


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def save_as_keras2(model, path: str | os.PathLike, *, weights_only: bool = False,
                   conv_bias: bool = False) -> Path:
    """Write `model`'s weights as a Keras-2 HDF5 file in TAO's layout, through tf-keras (Keras 2):
    every layer with weights becomes a same-named tf-keras layer (a Keras-2 model or, with
    `weights_only`, a weights file). `conv_bias` gives convolutions a zero bias, as TAO's have.
    For handing our models to TAO tools, and for tests of the loader with genuine Keras-2 files."""
    try:
        import tf_keras
    except ImportError:
        raise SpecError("writing Keras-2 HDF5 needs tf-keras: pip install 'tf-keras>=2.21,<2.22' "
                        "--no-deps") from None
    from ..atomic import atomic_path

    inputs, outputs, values = [], [], {}
    for layer in flat_layers(model):
        if not layer.weights:
            continue
        kind = type(layer).__name__
        config = layer.get_config()
        weights = layer.get_weights()
        if kind == "Conv2D":
            kh, kw, cin, cout = weights[0].shape
            x = tf_keras.Input((max(kh, 8), max(kw, 8), cin))
            y = tf_keras.layers.Conv2D(cout, (kh, kw), strides=config["strides"], padding=config["padding"],
                                       use_bias=config["use_bias"] or conv_bias, name=layer.name)(x)
            if conv_bias and not config["use_bias"]:
                weights = weights + [np.zeros(cout, np.float32)]
        elif kind == "BatchNormalization":
            x = tf_keras.Input((4, 4, weights[0].shape[0]))
            y = tf_keras.layers.BatchNormalization(epsilon=config["epsilon"], name=layer.name)(x)
        elif kind == "Dense":
            x = tf_keras.Input((weights[0].shape[0],))
            y = tf_keras.layers.Dense(weights[0].shape[1], use_bias=config["use_bias"], name=layer.name)(x)
        else:
            raise SpecError(f"save_as_keras2: layer {layer.name!r} ({kind}) has no Keras-2 counterpart here.")
        inputs.append(x)
        outputs.append(y)
        values[layer.name] = weights
    mirror = tf_keras.Model(inputs, outputs, name=model.name)
    for name, weights in values.items():
        mirror.get_layer(name).set_weights(weights)
    with atomic_path(path) as tmp:
        (mirror.save_weights if weights_only else mirror.save)(str(tmp), save_format="h5")
    return Path(path)
