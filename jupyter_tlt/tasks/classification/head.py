"""Image classifier: a stride-32 backbone, global average pooling and a softmax ``predictions`` layer."""

from __future__ import annotations

from ...errors import SpecError
from ...models import naming
from ...models.backbones import backbone_graph


def build_classifier(arch: str, n_layers: int | None, input_shape: tuple[int, int, int], num_classes: int, *,
                     dropout_rate: float = 0.0, **backbone_opts):
    """A classifier ``keras.Model``: ``input_1`` (B, H, W, 3) in [0, 1] -> ``predictions`` (B, num_classes).

    Layers after the backbone: ``avg_pool`` (GlobalAveragePooling2D), ``dropout`` when
    ``dropout_rate`` > 0, and the Dense softmax ``predictions``. ``backbone_opts`` go to
    ``backbone_graph``.
    """
    if int(num_classes) < 2:
        raise SpecError(f"a classifier needs at least 2 classes, got {num_classes}; "
                        "add class folders to the training dataset")
    graph = backbone_graph(arch, n_layers, input_shape, for_detection=False, **backbone_opts)
    keras = graph.builder.keras
    layers = keras.layers
    x = layers.GlobalAveragePooling2D(name="avg_pool")(graph.features)
    if dropout_rate and dropout_rate > 0:
        x = layers.Dropout(float(dropout_rate), name="dropout")(x)
    out = layers.Dense(int(num_classes), activation="softmax", name=naming.PREDICTIONS_NAME,
                       kernel_regularizer=graph.builder.regularizer,
                       dtype="float32")(x)  # float32 softmax under a mixed-precision policy
    model = keras.Model(graph.inputs, out, name=f"classifier_{graph.label}")
    graph.finish(model)
    return model
