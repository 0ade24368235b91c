"""Weight transfer by layer name, for ``pretrained_model_path``: new classes keep their initialization.

Layers are matched by name (the zoo's names are stable, see ``naming.py``). Output heads are copied
per class by class name: coverage channel c, bbox channels 4c..4c+3, dense column c. Any other
same-named layer whose weight shapes differ means the pretrained model is not this architecture.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np

from ..errors import SpecError
from .naming import HEAD_LAYERS, flat_layers


@dataclass
class TransferReport:
    """What ``transfer_weights`` copied.

    matched: target layers whose weights were all copied; partial: heads where only the shared classes'
    channels were copied; skipped: target layers with weights that the source lacks (kept at
    initialization); left_at_init: every target layer still wholly or partly at initialization
    (skipped + partial + heads that could not be matched by class); unused: source layers with
    weights the target lacks (e.g. a classifier's head when seeding a detector).
    """

    matched: list[str] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    left_at_init: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    shared_classes: list[str] = field(default_factory=list)
    new_classes: list[str] = field(default_factory=list)
    dropped_classes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        text = f"copied {len(self.matched)} layers by name"
        if self.partial:
            text += f", {len(self.partial)} heads per class"
        if self.shared_classes or self.new_classes:
            text += f" (shared classes: {', '.join(self.shared_classes) or 'none'}"
            text += f"; new: {', '.join(self.new_classes)})" if self.new_classes else ")"
        text += f"; {len(self.left_at_init)} layers left at initialization"
        if self.skipped:
            text += f" ({len(self.skipped)} absent in the pretrained model)"
        return text


def transfer_weights(source: Any, target: Any, *, class_names_source: Sequence[str] | None = None,
                     class_names_target: Sequence[str] | None = None) -> TransferReport:
    """Copy ``source``'s weights into ``target`` layer by layer where names and shapes agree.

    Heads (output_cov, output_bbox, predictions) are copied per class when both class lists are
    given; without them a head is copied only if its shapes agree, else left at initialization.
    Raises SpecError for any other same-named layer with different weight shapes, or when no layer
    at all matches (the pretrained model is another architecture).
    """
    src_layers = {layer.name: layer for layer in flat_layers(source) if layer.weights}
    tgt_layers = [layer for layer in flat_layers(target) if layer.weights]
    report = TransferReport()
    names_given = class_names_source is not None and class_names_target is not None
    if names_given:
        src_lower = [c.lower() for c in class_names_source]
        report.shared_classes = [c for c in class_names_target if c.lower() in src_lower]
        report.new_classes = [c for c in class_names_target if c.lower() not in src_lower]
        tgt_lower = {c.lower() for c in class_names_target}
        report.dropped_classes = [c for c in class_names_source if c.lower() not in tgt_lower]

    for layer in tgt_layers:
        src = src_layers.get(layer.name)
        if src is None:
            report.skipped.append(layer.name)
            report.left_at_init.append(layer.name)
            continue
        src_w, tgt_w = src.get_weights(), layer.get_weights()
        same = _shapes(src_w) == _shapes(tgt_w)
        if layer.name in HEAD_LAYERS:
            if names_given:
                outcome = _copy_head(layer, src_w, tgt_w, HEAD_LAYERS[layer.name],
                                     list(class_names_source), list(class_names_target))
            elif same:
                layer.set_weights(src_w)
                outcome = "matched"
            else:
                outcome = "init"
            if outcome == "matched":
                report.matched.append(layer.name)
            else:
                if outcome == "partial":
                    report.partial.append(layer.name)
                report.left_at_init.append(layer.name)
            continue
        if not same:
            raise SpecError(f"pretrained model: layer {layer.name!r} has weight shapes {_shapes(src_w)} but "
                            f"the model being built needs {_shapes(tgt_w)}; use a pretrained model of the same "
                            "arch, n_layers and model_config options (a pruned model is retrained as is)")
        layer.set_weights(src_w)
        report.matched.append(layer.name)

    target_names = {layer.name for layer in tgt_layers}
    report.unused = [name for name in src_layers if name not in target_names]
    if tgt_layers and not report.matched and not report.partial:
        raise SpecError(f"pretrained model {getattr(source, 'name', '')!r} shares no layer with the model being "
                        f"built ({getattr(target, 'name', '')!r}); set pretrained_model_path to a model of "
                        "the same model_config.arch and n_layers")
    return report


def _shapes(weights: list) -> list[tuple[int, ...]]:
    return [tuple(w.shape) for w in weights]


def _copy_head(layer, src_w: list, tgt_w: list, per_class: int, src_classes: list[str],
               tgt_classes: list[str]) -> str:
    """Copy the shared classes' output channels; "matched" when all copied, "partial", or "init"."""
    name = layer.name
    for weights, classes, side in ((src_w, src_classes, "pretrained model"), (tgt_w, tgt_classes, "new model")):
        channels = weights[0].shape[-1]
        if channels != per_class * len(classes):
            raise SpecError(f"{side}: head {name!r} has {channels} output channels but {len(classes)} class "
                            f"names were given ({per_class} channel(s) per class); pass that model's class list")
    if len(src_w) != len(tgt_w) or any(s.shape[:-1] != t.shape[:-1] for s, t in zip(src_w, tgt_w)):
        raise SpecError(f"pretrained model: head {name!r} has weight shapes {_shapes(src_w)} but the model being "
                        f"built needs {_shapes(tgt_w)} apart from the class axis; use a pretrained model of "
                        "the same arch and n_layers")
    index = {c.lower(): i for i, c in enumerate(src_classes)}
    new = [np.array(w, copy=True) for w in tgt_w]
    copied = 0
    for t, cname in enumerate(tgt_classes):
        s = index.get(cname.lower())
        if s is None:
            continue
        for k in range(len(new)):
            new[k][..., t * per_class:(t + 1) * per_class] = src_w[k][..., s * per_class:(s + 1) * per_class]
        copied += 1
    if copied:
        layer.set_weights(new)
    if copied == len(tgt_classes):
        return "matched"
    return "partial" if copied else "init"
