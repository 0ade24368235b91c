"""Backbone registry: which families and depths exist, and ``build_backbone`` for any of them.

Each family module exposes ``features(builder, x, n_layers, for_detection=, all_projections=)`` and
``FREEZE_BLOCKS``. Detection backbones end at stride 16, classification ones at stride 32.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ..errors import SpecError
from ..spec.defaults import DEFAULT_LAYERS
from . import alexnet, googlenet, resnet, vgg
from .blocks import Builder, apply_freezing, check_freeze_blocks

FAMILIES = {"resnet": resnet, "vgg": vgg, "alexnet": alexnet, "googlenet": googlenet}
# Depths per family; None = one fixed depth (n_layers is ignored).
DEPTHS: dict[str, tuple[int, ...] | None] = {"resnet": tuple(resnet.STAGE_BLOCKS), "vgg": tuple(vgg.BLOCK_CONVS),
                                             "alexnet": None, "googlenet": None}
DEFAULT_DEPTH = DEFAULT_LAYERS  # n_layers unset: the spec's default depth (spec.defaults)
DETECTION_STRIDE = 16
CLASSIFICATION_STRIDE = 32


@dataclass
class BackboneGraph:
    """The input tensor, the feature tensor and the builder (options, freeze-block map) of a backbone."""

    inputs: Any
    features: Any
    builder: Builder
    arch: str
    n_layers: int | None
    freeze_blocks: tuple[int, ...]
    freeze_bn: bool

    @property
    def label(self) -> str:
        """``resnet18``, ``vgg16``, ``alexnet``, ``googlenet``."""
        return f"{self.arch}{self.n_layers or ''}"

    def finish(self, model) -> None:
        """Freeze the requested blocks (and BN) of ``model``, built on this backbone."""
        apply_freezing(model.layers, self.builder.block_of, self.freeze_blocks, self.freeze_bn)


def resolve(arch: str, n_layers: int | None) -> tuple[str, int | None]:
    """Normalised (arch, depth), or SpecError listing the valid values."""
    name = str(arch or "").strip().lower()
    if name not in FAMILIES:
        valid = ", ".join(f"{a} ({'/'.join(map(str, d))})" if d else a for a, d in DEPTHS.items())
        raise SpecError(f"model_config.arch: unknown architecture {arch!r}; use one of {valid}")
    depths = DEPTHS[name]
    if depths is None:
        return name, None
    depth = DEFAULT_DEPTH[name] if n_layers in (None, 0) else int(n_layers)
    if depth not in depths:
        raise SpecError(f"model_config.n_layers: {name} has no {depth}-layer variant; use one of "
                        f"{', '.join(map(str, depths))}")
    return name, depth


def freeze_block_ids(arch: str) -> tuple[int, ...]:
    """Valid ``freeze_blocks`` indices of a family."""
    return FAMILIES[resolve(arch, None)[0]].FREEZE_BLOCKS


def backbone_graph(arch: str, n_layers: int | None, input_shape: tuple[int, int, int], *, for_detection: bool,
                   use_batch_norm: bool = True, activation: str = "relu",
                   activation_params: Mapping[str, float] | None = None, freeze_blocks: Iterable[int] = (),
                   freeze_bn: bool = False, all_projections: bool = True,
                   regularizer: Any = None) -> BackboneGraph:
    """Build the backbone's layers on a new ``input_1`` and return its tensors (heads add layers on top)."""
    arch, n_layers = resolve(arch, n_layers)
    shape = tuple(int(v) for v in input_shape)
    if len(shape) != 3 or shape[2] not in (1, 3) or min(shape) < 1:
        raise SpecError(f"input shape {input_shape} must be (height, width, channels) with 1 or 3 channels; "
                        "fix the input size in the spec")
    frozen = check_freeze_blocks(freeze_blocks, FAMILIES[arch].FREEZE_BLOCKS, f"{arch}{n_layers or ''}")
    b = Builder(use_batch_norm=use_batch_norm, activation=activation, activation_params=activation_params,
                regularizer=regularizer)
    inputs = b.input(shape)
    feats = FAMILIES[arch].features(b, inputs, n_layers, for_detection=for_detection,
                                    all_projections=all_projections)
    b.block = None
    return BackboneGraph(inputs, feats, b, arch, n_layers, frozen, bool(freeze_bn))


def build_backbone(arch: str, n_layers: int | None, input_shape: tuple[int, int, int] = (224, 224, 3), *,
                   for_detection: bool, **options):
    """The backbone alone as a ``keras.Model`` named e.g. ``resnet18`` (input ``input_1``, one feature output).

    Options: use_batch_norm, activation, activation_params, freeze_blocks, freeze_bn, all_projections,
    regularizer (see ``backbone_graph``). The heads do not nest this model: they build the same layers
    flat (the task heads: ``build_detectnet``, ``build_classifier``) so that every layer name is top level.
    """
    graph = backbone_graph(arch, n_layers, input_shape, for_detection=for_detection, **options)
    model = graph.builder.keras.Model(graph.inputs, graph.features, name=graph.label)
    graph.finish(model)
    return model
