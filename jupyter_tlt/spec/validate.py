"""Rules a parsed spec must satisfy: required fields, value ranges and cross-field rules.

The tables below are the one place that says what a valid spec is. Patterns are dotted field paths
with ``[*]`` for any repeated index or map key (see ``locate``). Every error names ``file:line`` (just
the name for dict sources) and the field path, and says how to fix it; when a spec has several
problems, the SpecError reports the first by line and lists all in ``.problems``.
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass
from typing import Callable, Iterator

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from ..errors import SpecError
from ..limits import MAX_BATCH_SIZE, MAX_IMAGE_SIDE
from . import defaults
from .locate import Layout, is_map, is_repeated, join, key_suffix


@dataclass(frozen=True)
class Check:
    """A predicate on one value and the phrase that completes "must be ..."."""

    ok: Callable[[object], bool]
    describe: str
    choices: tuple = ()


def at_least(low) -> Check:
    return Check(lambda v: v >= low, f">= {low}")


def greater(low) -> Check:
    return Check(lambda v: v > low, f"> {low}")


def between(low, high, low_open=False, high_open=False) -> Check:
    def ok(v):
        return (v > low if low_open else v >= low) and (v < high if high_open else v <= high)

    text = f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    return Check(ok, text)


def one_of(*choices) -> Check:
    shown = ", ".join(json.dumps(c) for c in choices)
    return Check(lambda v: v in choices, f"one of {shown}", choices)


def _image_extension_ok(value: str) -> bool:
    return value.lower().lstrip(".") in ("jpg", "jpeg", "png")


def _image_size_ok(value: str) -> bool:
    parts = [p.strip() for p in value.split(",")]
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return False
    channels, width, height = (int(p) for p in parts)
    return channels in (1, 3) and 0 < width <= MAX_IMAGE_SIDE and 0 < height <= MAX_IMAGE_SIDE


PROBABILITY = between(0, 1)
IMAGE_EXTENSION = Check(_image_extension_ok, 'one of ".jpg", ".jpeg", ".png" (any case)')
IMAGE_SIZE = Check(_image_size_ok, f'"C,W,H" with C 1 or 3 and W, H integers from 1 to {MAX_IMAGE_SIDE} '
                                   '(e.g. "3,960,544")')
IMAGE_SIDE = between(1, MAX_IMAGE_SIDE)
BATCH_SIZE = between(1, MAX_BATCH_SIZE)
ARCHS = ("resnet", "vgg", "alexnet", "googlenet")
# Depths each backbone supports; alexnet and googlenet have one fixed depth and ignore the field.
LAYERS = {"resnet": (10, 18, 34, 50), "vgg": (16, 19)}
ACTIVATIONS = ("relu", "relu6", "swish", "leaky_relu", "elu", "tanh", "sigmoid")

_SSA = "training_config.learning_rate.soft_start_annealing_schedule"
_CLUSTER = "postprocessing_config.target_class_config[*].clustering_config"
_RASTER = "bbox_rasterizer_config.target_class_config[*]"

EXPERIMENT_RULES: dict[str, Check] = {
    "model_config.arch": one_of(*ARCHS),
    "model_config.input_image_size": IMAGE_SIZE,
    "model_config.dropout_rate": between(0, 1, high_open=True),
    "model_config.activation.activation_type": one_of(*ACTIVATIONS),
    "model_config.objective_set.bbox.scale": greater(0),
    "model_config.objective_set.bbox.offset": PROBABILITY,
    "dataset_config.image_extension": IMAGE_EXTENSION,
    "augmentation_config.preprocessing.output_image_width": IMAGE_SIDE,
    "augmentation_config.preprocessing.output_image_height": IMAGE_SIDE,
    "augmentation_config.preprocessing.output_image_channel": one_of(1, 3),
    "augmentation_config.preprocessing.min_bbox_width": at_least(0),
    "augmentation_config.preprocessing.min_bbox_height": at_least(0),
    "augmentation_config.spatial_augmentation.hflip_probability": PROBABILITY,
    "augmentation_config.spatial_augmentation.vflip_probability": PROBABILITY,
    "augmentation_config.spatial_augmentation.zoom_min": greater(0),
    "augmentation_config.spatial_augmentation.zoom_max": greater(0),
    "augmentation_config.spatial_augmentation.translate_max_x": at_least(0),
    "augmentation_config.spatial_augmentation.translate_max_y": at_least(0),
    "augmentation_config.spatial_augmentation.rotate_rad_max": Check(lambda v: 0 <= v <= math.pi,
                                                                    "in [0, pi]"),
    "augmentation_config.color_augmentation.hue_rotation_max": between(0, 360),
    "augmentation_config.color_augmentation.saturation_shift_max": PROBABILITY,
    "augmentation_config.color_augmentation.contrast_scale_max": at_least(0),
    "augmentation_config.color_augmentation.contrast_center": PROBABILITY,
    "augmentation_config.color_augmentation.color_shift_stddev": at_least(0),
    f"{_CLUSTER}.coverage_threshold": PROBABILITY,
    f"{_CLUSTER}.dbscan_eps": between(0, 1, low_open=True),
    f"{_CLUSTER}.dbscan_min_samples": at_least(0),
    f"{_CLUSTER}.dbscan_confidence_threshold": PROBABILITY,
    f"{_CLUSTER}.nms_iou_threshold": PROBABILITY,
    f"{_CLUSTER}.nms_confidence_threshold": PROBABILITY,
    "evaluation_config.validation_period_during_training": at_least(1),
    "evaluation_config.first_validation_epoch": at_least(1),
    "evaluation_config.minimum_detection_ground_truth_overlap[*]": between(0, 1, low_open=True),
    "cost_function_config.target_classes[*].class_weight": at_least(0),
    "cost_function_config.target_classes[*].coverage_foreground_weight": at_least(0),
    "cost_function_config.target_classes[*].objectives[*].name": one_of("cov", "bbox"),
    "cost_function_config.target_classes[*].objectives[*].initial_weight": at_least(0),
    "cost_function_config.target_classes[*].objectives[*].weight_target": at_least(0),
    "cost_function_config.max_objective_weight": at_least(0),
    "cost_function_config.min_objective_weight": at_least(0),
    "cost_function_config.bbox_iou_weight": at_least(0),
    "training_config.batch_size_per_gpu": BATCH_SIZE,
    "training_config.num_epochs": at_least(1),
    "training_config.checkpoint_interval": at_least(1),
    f"{_SSA}.min_learning_rate": greater(0),
    f"{_SSA}.max_learning_rate": greater(0),
    f"{_SSA}.soft_start": PROBABILITY,
    f"{_SSA}.annealing": PROBABILITY,
    "training_config.regularizer.weight": at_least(0),
    "training_config.optimizer.adam.epsilon": greater(0),
    "training_config.optimizer.adam.beta1": between(0, 1, high_open=True),
    "training_config.optimizer.adam.beta2": between(0, 1, high_open=True),
    "training_config.optimizer.sgd.momentum": between(0, 1, high_open=True),
    "training_config.cost_scaling.initial_exponent": at_least(0),
    "training_config.cost_scaling.increment": at_least(0),
    "training_config.cost_scaling.decrement": at_least(0),
    f"{_RASTER}.cov_center_x": PROBABILITY,
    f"{_RASTER}.cov_center_y": PROBABILITY,
    f"{_RASTER}.cov_radius_x": greater(0),
    f"{_RASTER}.cov_radius_y": greater(0),
    f"{_RASTER}.bbox_min_radius": at_least(0),
    "bbox_rasterizer_config.deadzone_radius": PROBABILITY,
    "train_config.batch_size_per_gpu": BATCH_SIZE,
    "train_config.n_epochs": at_least(1),
    "train_config.step_size": at_least(1),
    "train_config.learning_rate": greater(0),
    "train_config.weight_decay": at_least(0),
    "train_config.gamma": between(0, 1, low_open=True),
    "train_config.optimizer": one_of("sgd", "adam"),
    "train_config.momentum": between(0, 1, high_open=True),
    "train_config.lr_schedule": one_of("step", "soft_start_annealing"),
    "train_config.soft_start": PROBABILITY,
    "train_config.annealing": PROBABILITY,
    "train_config.min_learning_rate": greater(0),
    "train_config.validation_period": at_least(1),
    "train_config.checkpoint_interval": at_least(1),
}

CONVERSION_RULES: dict[str, Check] = {
    "kitti_config.image_extension": IMAGE_EXTENSION,
    "kitti_config.partition_mode": one_of("random", "sequence"),
    "kitti_config.num_partitions": at_least(1),
    "kitti_config.num_shards": at_least(1),
    "kitti_config.val_split": between(0, 100, high_open=True),
    "coco_config.num_partitions": at_least(1),
    "coco_config.num_shards[*]": at_least(1),
    "yolo_config.num_shards": at_least(1),
    "yolo_config.val_split": between(0, 100, high_open=True),
}

# Required fields and an example line for the fix. A pattern with [*] applies to every element
# that exists; an empty string counts as missing.
EXPERIMENT_REQUIRED: dict[str, str] = {
    "model_config.arch": 'arch: "resnet"',
    "dataset_config.data_sources[*].tfrecords_path": 'tfrecords_path: "data/tfrecords/train*"',
    "cost_function_config.target_classes[*].name": 'name: "car"',
    "cost_function_config.target_classes[*].objectives[*].name": 'name: "cov"',
}
CONVERSION_REQUIRED: dict[str, str] = {
    "kitti_config.root_directory_path": 'root_directory_path: "data/kitti"',
    "kitti_config.image_dir_name": 'image_dir_name: "images"',
    "kitti_config.label_dir_name": 'label_dir_name: "labels"',
}
# The same for the other dataset sources; a spec names exactly one source (SOURCES).
SOURCE_REQUIRED: dict[str, dict[str, str]] = {
    "kitti_config": CONVERSION_REQUIRED,
    "coco_config": {"coco_config.root_directory_path": 'root_directory_path: "data/coco"'},
    "yolo_config": {"yolo_config.root_directory_path": 'root_directory_path: "data/yolo"',
                    "yolo_config.class_names_file": 'class_names_file: "data.yaml"'},
}
SOURCES = tuple(SOURCE_REQUIRED)


def pattern_of(path: str) -> str:
    """``a[0].b["x"]`` -> ``a[*].b[*]``."""
    out, depth, in_str = [], 0, False
    for i, ch in enumerate(path):
        if depth and ch == '"' and path[i - 1] != "\\":
            in_str = not in_str
        if ch == "[" and not in_str:
            depth += 1
            if depth == 1:
                out.append("[*]")
            continue
        if ch == "]" and not in_str:
            depth -= 1
            continue
        if not depth:
            out.append(ch)
    return "".join(out)


def walk(message: Message, path: str = "") -> Iterator[tuple[str, FieldDescriptor, object]]:
    """(path, field, value) for every field set in the message, depth first, in field order."""
    for field, value in message.ListFields():
        here = join(path, field.name)
        if is_map(field):
            value_field = field.message_type.fields_by_name["value"]
            for key in sorted(value):
                yield from _walk_value(f"{here}{key_suffix(key)}", value_field, value[key])
        elif is_repeated(field):
            for index, item in enumerate(value):
                yield from _walk_value(f"{here}[{index}]", field, item)
        else:
            yield from _walk_value(here, field, value)


def _walk_value(path, field, value):
    yield path, field, value
    if field.message_type is not None:
        yield from walk(value, path)


def show(field: FieldDescriptor | None, value) -> str:
    """A value as it would be written in the text format."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if field is not None and field.enum_type is not None and isinstance(value, int):
        enum_value = field.enum_type.values_by_number.get(value)
        return enum_value.name if enum_value else str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value) if isinstance(value, float) else str(value)


class _Report:
    """Collects problems with where they are, then raises the first (by line) as one SpecError."""

    def __init__(self, name: str, layout: Layout | None):
        self.name, self.layout, self.problems = name, layout, []

    def where(self, path: str) -> tuple[str, int]:
        line = self.layout.line_of(path) if self.layout is not None else None
        return (f"{self.name}:{line}" if line else self.name), (line or 0)

    def add(self, path: str, text: str) -> None:
        where, line = self.where(path)
        self.problems.append((line, len(self.problems), f"{where}: {text}"))

    def raise_first(self) -> None:
        if self.problems:
            ordered = [text for _, _, text in sorted(self.problems)]
            error = SpecError(ordered[0])
            error.problems = ordered
            raise error


def check(message: Message, name: str, layout: Layout | None = None) -> None:
    """Raise a SpecError for the first problem of an experiment or conversion spec."""
    conversion = defaults.message_name(message) == "DatasetExportConfig"
    rules = CONVERSION_RULES if conversion else EXPERIMENT_RULES
    required = _conversion_required(message) if conversion else EXPERIMENT_REQUIRED
    report = _Report(name, layout)
    _check_required(message, required, report)
    for path, field, value in walk(message):
        pattern = pattern_of(path)
        if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT) \
                and not math.isfinite(value):
            report.add(path, finite_text(path, field, value))
            continue
        if field.enum_type is not None and value not in field.enum_type.values_by_number:
            names = ", ".join(v.name for v in field.enum_type.values)
            report.add(path, f"'{path}' has no value {value}; use one of {names}")
            continue
        rule = rules.get(pattern)
        if rule is not None and field.message_type is None and not rule.ok(value):
            report.add(path, _range_text(path, field, value, rule))
    for cross in CONVERSION_CROSS if conversion else EXPERIMENT_CROSS:
        cross(message, report)
    report.raise_first()


def finite_text(path: str, field: FieldDescriptor, value) -> str:
    example = defaults.default(field.containing_type, field.name)
    return (f"'{path}' must be a finite number, got {value!r}; "
            f"write a number{f' such as {example!r}' if example is not None else ''}")


def _range_text(path: str, field: FieldDescriptor, value, rule: Check) -> str:
    text = f"'{path}' must be {rule.describe}, got {show(field, value)}"
    if rule.choices and isinstance(value, str):
        close = difflib.get_close_matches(value.lower(), [str(c) for c in rule.choices], n=1)
        return text + (f"; did you mean {json.dumps(close[0])}?" if close else "; change the value")
    example = defaults.default(field.containing_type, field.name)
    if example is not None and not isinstance(example, bool) and rule.ok(example):
        return text + f"; change it, e.g. to {show(field, example)}"
    return text + "; change the value"


def describe(pattern: str) -> str | None:
    """The "must be ..." phrase of a field pattern, used by the parser's type errors."""
    rule = EXPERIMENT_RULES.get(pattern) or CONVERSION_RULES.get(pattern)
    return rule.describe if rule else None


# ---- required fields ----------------------------------------------------------------------------

def _expand(message: Message, pattern: str, path: str = "") -> Iterator[tuple[str, Message, str]]:
    """(parent path, parent message, field name) for each place the pattern's last field belongs."""
    head, _, rest = pattern.partition(".")
    if not rest:
        yield path, message, head
        return
    name, star = head.removesuffix("[*]"), head.endswith("[*]")
    here = join(path, name)
    if star:
        for index, item in enumerate(getattr(message, name)):
            yield from _expand(item, rest, f"{here}[{index}]")
    else:  # an absent block reads as empty, so its required fields are reported
        yield from _expand(getattr(message, name), rest, here)


def _check_required(message: Message, required: dict[str, str], report: _Report) -> None:
    as_dict = report.layout is None
    for pattern, example in required.items():
        for parent, holder, name in _expand(message, pattern):
            if holder.HasField(name) and getattr(holder, name) != "":
                continue
            path = join(parent, name)
            line = example
            if as_dict:
                field_name, _, value = example.partition(": ")
                line = f'"{field_name}": {value}'
            absent = _absent_blocks(message, parent)
            if absent:
                fix = _nest(absent, line, as_dict)
            elif parent:
                fix = f"{line} {'to' if as_dict else 'inside'} {parent}"
            else:
                fix = line
            report.add(path, f"missing required field '{path}'; add {fix}")


def _absent_blocks(message: Message, path: str) -> list[str]:
    """The blocks of a plain dotted path that the spec does not have, outermost first."""
    absent, here = [], ""
    for name in path.split(".") if path else []:
        here = join(here, name)
        if "[" in name:  # an element that exists (required patterns only reach existing ones)
            message = None if absent else _element(message, name)
            continue
        if absent or not message.HasField(name):
            absent.append(here)
        else:
            message = getattr(message, name)
    return absent


def _element(message: Message, segment: str) -> Message:
    name, _, index = segment.partition("[")
    return getattr(message, name)[int(index.rstrip("]"))]


def _nest(blocks: list[str], example: str, as_dict: bool) -> str:
    text = example
    for block in reversed(blocks):
        name = block.rsplit(".", 1)[-1]
        text = f'"{name}": {{{text}}}' if as_dict else f"{name} {{ {text} }}"
    return text


# ---- cross-field rules ---------------------------------------------------------------------------

def _set(message: Message, field: str) -> bool:
    return message.HasField(field)


def _layers_rule(spec: Message, report: _Report) -> None:
    model = spec.model_config
    arch = model.arch
    for field in ("n_layers", "num_layers"):
        if _set(model, field) and arch in LAYERS and getattr(model, field) not in LAYERS[arch]:
            allowed = ", ".join(map(str, LAYERS[arch]))
            report.add(f"model_config.{field}",
                       f"'model_config.{field}' must be one of {allowed} for arch {json.dumps(arch)}, "
                       f"got {getattr(model, field)}; pick one of those")
    if _set(model, "n_layers") and _set(model, "num_layers") and model.n_layers != model.num_layers:
        report.add("model_config.num_layers",
                   f"'model_config.num_layers' ({model.num_layers}) disagrees with "
                   f"'model_config.n_layers' ({model.n_layers}); keep only one of them")


def _input_size_rule(spec: Message, report: _Report) -> None:
    model, pre = spec.model_config, spec.augmentation_config.preprocessing
    if not (_set(model, "input_image_size") and _image_size_ok(model.input_image_size)):
        return
    if not (_set(pre, "output_image_width") and _set(pre, "output_image_height")):
        return
    c, w, h = (int(p) for p in model.input_image_size.split(","))
    pc = defaults.value(pre, "output_image_channel")
    if (c, w, h) != (pc, pre.output_image_width, pre.output_image_height):
        report.add("model_config.input_image_size",
                   f"'model_config.input_image_size' ({json.dumps(model.input_image_size)}) disagrees "
                   f"with augmentation_config.preprocessing ({pc},{pre.output_image_width},"
                   f"{pre.output_image_height} as C,W,H); keep only one of them")


def _ordered(report: _Report, message: Message, path: str, low: str, high: str) -> None:
    """low <= high, with defaults for an unset side; reported on whichever side is set."""
    if not (_set(message, low) or _set(message, high)):
        return
    lo, hi = defaults.value(message, low), defaults.value(message, high)
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo <= hi:
        return
    blame = low if _set(message, low) else high
    report.add(join(path, blame), f"'{join(path, low)}' ({lo!r}) must not exceed "
                                  f"'{join(path, high)}' ({hi!r}); swap or change them")


def _ordering_rules(spec: Message, report: _Report) -> None:
    aug = "augmentation_config.spatial_augmentation"
    _ordered(report, spec.augmentation_config.spatial_augmentation, aug, "zoom_min", "zoom_max")
    ssa = spec.training_config.learning_rate.soft_start_annealing_schedule
    _ordered(report, ssa, _SSA, "min_learning_rate", "max_learning_rate")
    _strictly_before(report, ssa, _SSA)
    train = spec.train_config
    if defaults.value(train, "lr_schedule") == "soft_start_annealing":
        _ordered(report, train, "train_config", "min_learning_rate", "learning_rate")
        _strictly_before(report, train, "train_config")
    _ordered(report, spec.cost_function_config, "cost_function_config",
             "min_objective_weight", "max_objective_weight")
    for key in sorted(spec.evaluation_config.evaluation_box_config):
        box = spec.evaluation_config.evaluation_box_config[key]
        here = f"evaluation_config.evaluation_box_config{key_suffix(key)}"
        for low, high in (("minimum_height", "maximum_height"), ("minimum_width", "maximum_width")):
            if _set(box, low) and _set(box, high):
                _ordered(report, box, here, low, high)
    pre = spec.augmentation_config.preprocessing
    for low, high in (("crop_left", "crop_right"), ("crop_top", "crop_bottom")):
        if _set(pre, high) and getattr(pre, high) != 0 and getattr(pre, high) <= getattr(pre, low):
            report.add(f"augmentation_config.preprocessing.{high}",
                       f"'augmentation_config.preprocessing.{high}' ({getattr(pre, high)}) must be "
                       f"greater than {low} ({getattr(pre, low)}); 0 means no crop")


def _strictly_before(report: _Report, message: Message, path: str) -> None:
    if not (_set(message, "soft_start") or _set(message, "annealing")):
        return
    start, anneal = defaults.value(message, "soft_start"), defaults.value(message, "annealing")
    if math.isfinite(start) and math.isfinite(anneal) and start >= anneal:
        blame = "annealing" if _set(message, "annealing") else "soft_start"
        report.add(join(path, blame), f"'{path}.soft_start' ({start!r}) must be less than "
                                      f"'{path}.annealing' ({anneal!r}); the warm-up ends before "
                                      "annealing starts")


def _class_mapping_rule(mapping, path: str, report: _Report) -> None:
    seen: dict[str, str] = {}
    for key in sorted(mapping):
        if not mapping[key].strip():
            report.add(f"{path}{key_suffix(key)}",
                       f"'{path}' maps {json.dumps(key)} to an empty class name; name its target class "
                       f'(e.g. value: {json.dumps(key.lower() or "car")}) or remove the entry')
        if not key.strip():
            report.add(f"{path}{key_suffix(key)}", f"'{path}' has an empty key; write the class name "
                                                   "as it appears in the label files")
        folded = key.lower()
        if folded in seen and mapping[seen[folded]] != mapping[key]:
            report.add(f"{path}{key_suffix(key)}",
                       f"'{path}' maps {json.dumps(seen[folded])} and {json.dumps(key)} (class names "
                       "are matched case-insensitively) to different classes; keep one")
        seen.setdefault(folded, key)


def _experiment_mapping_rule(spec: Message, report: _Report) -> None:
    _class_mapping_rule(spec.dataset_config.target_class_mapping,
                        "dataset_config.target_class_mapping", report)


def _validation_epoch_rule(spec: Message, report: _Report) -> None:
    """A first validation after the last epoch would silently never validate."""
    ev = spec.evaluation_config
    if not _set(ev, "first_validation_epoch"):
        return
    training = spec.training_config if spec.HasField("training_config") else None
    epochs = (defaults.value(training, "num_epochs") if training is not None
              else defaults.value(spec.train_config, "n_epochs"))
    field = "training_config.num_epochs" if training is not None else "train_config.n_epochs"
    if ev.first_validation_epoch > epochs:
        report.add("evaluation_config.first_validation_epoch",
                   f"'evaluation_config.first_validation_epoch' ({ev.first_validation_epoch}) is after the last "
                   f"epoch ('{field}' {epochs}), so training would never validate; lower it or train longer")


def _partition_rule(spec: Message, report: _Report) -> None:
    kitti = spec.kitti_config
    mode = defaults.value(kitti, "partition_mode")
    if mode == "random" and _set(kitti, "num_partitions") and kitti.num_partitions != 2:
        report.add("kitti_config.num_partitions",
                   f"'kitti_config.num_partitions' must be 2 when partition_mode is \"random\", got "
                   f"{kitti.num_partitions}; set num_partitions: 2 (val_split sets the split)")
    if mode == "sequence" and not kitti.kitti_sequence_to_frames_file:
        report.add("kitti_config.partition_mode",
                   "missing required field 'kitti_config.kitti_sequence_to_frames_file' for "
                   'partition_mode "sequence"; add kitti_sequence_to_frames_file: "sequences.json" '
                   "or use partition_mode: \"random\"")


def _conversion_required(spec: Message) -> dict[str, str]:
    """The required fields of the spec's dataset source (KITTI's when it names none)."""
    named = [s for s in SOURCES if spec.HasField(s)]
    return SOURCE_REQUIRED[named[0] if len(named) == 1 else "kitti_config"]


def _source_rule(spec: Message, report: _Report) -> None:
    named = [s for s in SOURCES if spec.HasField(s)]
    if len(named) > 1:
        report.add(named[1], f"the spec has both {named[0]} and {named[1]}; a conversion reads one "
                             "dataset source, so keep one block")
    if spec.HasField("coco_config"):
        coco = spec.coco_config
        parts = defaults.value(coco, "num_partitions")
        for name in ("img_dir_names", "annotation_files"):
            if len(getattr(coco, name)) != parts:
                report.add(f"coco_config.{name}",
                           f"'coco_config.{name}' has {len(getattr(coco, name))} entries but "
                           f"num_partitions is {parts}; give one per partition")
        if len(coco.num_shards) not in (0, 1, parts):
            report.add("coco_config.num_shards",
                       f"'coco_config.num_shards' has {len(coco.num_shards)} entries; give one "
                       f"number for every partition or one per partition ({parts})")


def _conversion_mapping_rule(spec: Message, report: _Report) -> None:
    _class_mapping_rule(spec.target_class_mapping, "target_class_mapping", report)


EXPERIMENT_CROSS = [_layers_rule, _input_size_rule, _ordering_rules, _experiment_mapping_rule,
                    _validation_epoch_rule]
CONVERSION_CROSS = [_partition_rule, _source_rule, _conversion_mapping_rule]
