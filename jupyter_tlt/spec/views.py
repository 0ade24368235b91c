"""Values the data loader and trainer need, read the same way from either spec shape.

An experiment spec may give its input size as TAO's ``augmentation_config.preprocessing`` or as the
seed's ``model_config.input_image_size`` ("C,W,H"); its depth as ``n_layers`` or ``num_layers``.
These helpers hide that, apply the defaults of ``defaults.py`` and normalise names.
"""

from __future__ import annotations

from google.protobuf.message import Message

from ..errors import SpecError
from . import defaults


def input_shape(spec: Message) -> tuple[int, int, int]:
    """(channels, height, width) of the network input.

    ``augmentation_config.preprocessing`` (output_image_channel/height/width) wins; otherwise
    ``model_config.input_image_size`` "C,W,H" (note: width before height, as TLT writes it).
    """
    pre = spec.augmentation_config.preprocessing
    if pre.HasField("output_image_width") and pre.HasField("output_image_height"):
        channels = defaults.value(pre, "output_image_channel")
        return channels, pre.output_image_height, pre.output_image_width
    size = spec.model_config.input_image_size
    if size:
        channels, width, height = (int(part) for part in size.split(","))
        return channels, height, width
    raise SpecError("the spec gives no input size; set augmentation_config.preprocessing "
                    '{ output_image_width output_image_height } or model_config { input_image_size: "3,W,H" }')


def class_mapping(spec: Message) -> dict[str, str]:
    """Dataset class name (lower-cased) -> target class, from an experiment or conversion spec.

    Keys are lower-cased because KITTI class names are matched case-insensitively (TAO's converter
    lower-cases them; a case mismatch silently gave 0 mAP there). Empty when the spec has no mapping.
    """
    if spec.DESCRIPTOR.fields_by_name.get("dataset_config") is not None:
        mapping = spec.dataset_config.target_class_mapping
    else:
        mapping = spec.target_class_mapping
    return {key.lower(): mapping[key] for key in sorted(mapping)}


def random_seed(spec: Message) -> int:
    """The spec's random_seed, or the default (42)."""
    return defaults.value(spec, "random_seed")


def backbone(spec: Message) -> tuple[str, int | None]:
    """(arch, depth): depth from n_layers or num_layers, else the arch's default; None for alexnet/googlenet."""
    model = spec.model_config
    arch = model.arch
    for field in ("n_layers", "num_layers"):
        if model.HasField(field) and arch in defaults.DEFAULT_LAYERS:
            return arch, getattr(model, field)
    return arch, defaults.DEFAULT_LAYERS.get(arch)


def image_extension(config: Message) -> str:
    """Image file extension as ".png"/".jpg"/".jpeg" from dataset_config or kitti_config (default applied)."""
    return "." + defaults.value(config, "image_extension").lower().lstrip(".")
