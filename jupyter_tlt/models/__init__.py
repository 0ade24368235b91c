"""The model zoo: backbones, builder options, safe loading, weight transfer. The heads live with
their task (``tasks/<name>/head.py``; ``tasks.build_model`` builds a spec's model).

    arch, n_layers, shape, options = backbone_from_spec(spec)  # model_config and the regularizer
    report = transfer_weights(pretrained, model, class_names_source=old, class_names_target=new)
    save_model(model, "results/weights/model.keras"); model = load_model(path)
    model_summary(model)  # params, trainable params, FLOPs, layers, size

Inputs are float32 NHWC images in [0, 1] on layer ``input_1``. Detection models end at stride 16
and output [output_cov, output_bbox]; classifiers output ``predictions``. Layer names follow
``naming.py``. Importing this package does not import TensorFlow; building a model does.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message

from ..errors import SpecError
from ..spec import defaults, views
from .backbones import DEPTHS, FAMILIES, build_backbone, freeze_block_ids, resolve
from .blocks import ACTIVATIONS, keras_module
from .flops import count_flops, layer_flops, model_summary
from .naming import HEAD_LAYERS, bn_name, conv_bn_pairs
from .serialization import load_model, save_model
from .transfer import TransferReport, transfer_weights

__all__ = ["build_backbone", "backbone_from_spec", "regularizer_from_spec",
           "model_options", "load_model", "save_model", "transfer_weights", "TransferReport", "model_summary",
           "count_flops", "layer_flops", "conv_bn_pairs", "bn_name", "freeze_block_ids", "resolve",
           "keras_module", "FAMILIES", "DEPTHS", "ACTIVATIONS", "HEAD_LAYERS"]


def backbone_from_spec(spec: Message) -> tuple[str, int | None, tuple[int, int, int], dict[str, Any]]:
    """(arch, n_layers, (H, W, C), builder options) of a spec: what every task's head is built on.

        arch, n_layers, shape, options = backbone_from_spec(spec)
    """
    arch, n_layers = views.backbone(spec)
    if not arch:
        raise SpecError('model_config.arch is not set; add model_config { arch: "resnet" n_layers: 18 } '
                        f"(archs: {', '.join(FAMILIES)})")
    channels, height, width = views.input_shape(spec)
    return arch, n_layers, (height, width, channels), model_options(spec)


def model_options(spec: Message) -> dict[str, Any]:
    """Keyword options of the builders from ``model_config`` and the regularizer, defaults applied."""
    model = spec.model_config
    return {
        "use_batch_norm": bool(defaults.value(model, "use_batch_norm")),
        "freeze_blocks": tuple(model.freeze_blocks),
        "freeze_bn": bool(defaults.value(model, "freeze_bn")),
        "all_projections": bool(defaults.value(model, "all_projections")),
        "dropout_rate": float(defaults.value(model, "dropout_rate")),
        "activation": str(defaults.value(model.activation, "activation_type")),
        "activation_params": dict(model.activation.activation_parameters),
        "regularizer": regularizer_from_spec(spec),
    }


def regularizer_from_spec(spec: Message):
    """Kernel regularizer: ``training_config.regularizer`` (TAO: L1/L2/NO_REG, weight; default L1 3e-9),
    else the seed's ``train_config.weight_decay`` as L2 (default 5e-5), else None.

    Keras' L2(w) adds w * sum(kernel**2) to the loss, TLT 1.0's reading of weight_decay.
    """
    keras = keras_module()
    if spec.HasField("training_config"):
        config = spec.training_config.regularizer
        kind = int(defaults.value(config, "type"))
        weight = float(defaults.value(config, "weight"))
        names = type(config).RegularizationType
        if kind == names.Value("NO_REG") or weight <= 0:
            return None
        if kind == names.Value("L1"):
            return keras.regularizers.L1(weight)
        return keras.regularizers.L2(weight)
    if spec.HasField("train_config"):
        weight = float(defaults.value(spec.train_config, "weight_decay"))
        return keras.regularizers.L2(weight) if weight > 0 else None
    return None
