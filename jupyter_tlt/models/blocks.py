"""Named building blocks shared by the backbones: conv + batch norm + activation, pooling, freezing.

Only built-in Keras layers are used, so saved models load with ``safe_mode=True`` and no custom
objects. A ``Builder`` records which freeze block each layer belongs to while a backbone is built.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from ..errors import SpecError
from ..tf_import import keras as keras_module
from . import naming

ACTIVATIONS = ("relu", "relu6", "swish", "leaky_relu", "elu", "tanh", "sigmoid")
LEAKY_RELU_ALPHA = 0.1  # TAO's default slope; activation_parameters { key: "alpha" } overrides it
BN_MOMENTUM = 0.9       # faster than Keras' 0.99: fine-tuning sets are a few hundred images
BN_EPSILON = 1e-3


class Builder:
    """Creates explicitly named layers with the common backbone options and tracks freeze blocks."""

    def __init__(self, *, use_batch_norm: bool = True, activation: str = "relu",
                 activation_params: Mapping[str, float] | None = None, regularizer: Any = None):
        if activation not in ACTIVATIONS:
            raise SpecError(f"model_config.activation.activation_type: unknown activation {activation!r}; "
                            f"use one of {', '.join(ACTIVATIONS)}")
        self.keras = keras_module()
        self.use_batch_norm = bool(use_batch_norm)
        self.activation_type = activation
        self.activation_params = dict(activation_params or {})
        self.regularizer = regularizer
        self.block: int | None = None       # freeze block of the layers created from now on
        self.block_of: dict[str, int] = {}  # layer name -> freeze block

    def _track(self, layer):
        if self.block is not None:
            self.block_of[layer.name] = self.block
        return layer

    def input(self, input_shape: tuple[int, int, int]):
        return self.keras.Input(shape=tuple(input_shape), dtype="float32", name=naming.INPUT_NAME)

    def conv(self, x, filters: int, kernel: int, name: str, *, strides: int = 1, activate: bool = True):
        """Conv2D ``name`` ("same" padding), then its BN ``bn_name(name)`` and activation ``act_name(name)``.

        Convolutions carry a bias only without batch norm (the BN's beta replaces it).
        """
        layers = self.keras.layers
        x = self._track(layers.Conv2D(filters, kernel, strides=strides, padding="same",
                                      use_bias=not self.use_batch_norm, kernel_initializer="he_normal",
                                      kernel_regularizer=self.regularizer, name=name))(x)
        if self.use_batch_norm:
            x = self._track(layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON,
                                                      name=naming.bn_name(name)))(x)
        if activate:
            x = self.activation(x, naming.act_name(name))
        return x

    def activation(self, x, name: str):
        layers = self.keras.layers
        kind = self.activation_type
        if kind == "relu6":
            layer = layers.ReLU(max_value=6.0, name=name)
        elif kind == "leaky_relu":
            alpha = float(self.activation_params.get("alpha", LEAKY_RELU_ALPHA))
            layer = layers.LeakyReLU(negative_slope=alpha, name=name)
        else:
            layer = layers.Activation(kind, name=name)
        return self._track(layer)(x)

    def max_pool(self, x, pool: int, strides: int, name: str):
        return self._track(self.keras.layers.MaxPooling2D(pool, strides=strides, padding="same",
                                                          name=name))(x)

    def add(self, inputs: list, name: str):
        return self._track(self.keras.layers.Add(name=name))(inputs)

    def concat(self, inputs: list, name: str):
        return self._track(self.keras.layers.Concatenate(axis=-1, name=name))(inputs)


def check_freeze_blocks(freeze_blocks: Iterable[int], valid: Iterable[int], what: str) -> tuple[int, ...]:
    """The requested block indices, or SpecError naming the valid ones."""
    blocks = tuple(int(b) for b in freeze_blocks)
    valid = sorted(set(valid))
    bad = [b for b in blocks if b not in valid]
    if bad:
        raise SpecError(f"model_config.freeze_blocks: {what} has no block {bad[0]}; valid blocks are "
                        f"{', '.join(map(str, valid))}")
    return blocks


def apply_freezing(model_layers: Iterable[Any], block_of: Mapping[str, int], freeze_blocks: Iterable[int],
                   freeze_bn: bool) -> None:
    """Make the layers of ``freeze_blocks`` non-trainable; with ``freeze_bn`` every batch norm too.

    A non-trainable BatchNormalization runs in inference mode in Keras 3 (moving statistics are
    used and not updated), which is what freezing batch norm means.
    """
    frozen = set(freeze_blocks)
    for layer in model_layers:
        if block_of.get(layer.name) in frozen:
            layer.trainable = False
        if freeze_bn and layer.__class__.__name__ == "BatchNormalization":
            layer.trainable = False
