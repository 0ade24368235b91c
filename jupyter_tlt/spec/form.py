"""The spec behind a training form: read and write its main fields on either spec layout.

    fields = read_fields(spec_text)          # arch, n_layers, width, height, epochs, batch_size, ...
    text = build_spec(spec_text, arch="resnet", n_layers=10, epochs=5, tfrecords_path="data/tfr-*")
    text = with_pretrained(text, "runs/prune/model.keras")   # e.g. to retrain a pruned model

Specs come in two layouts: TAO's DetectNet_v2 one (dataset_config, training_config) and the seed's
(train_config with class folders); this module, like ``views``, is where the difference is read.
`TrainPanel` and `PrunePanel` are views over these functions; `%%tlt train` takes the same text.
"""

from __future__ import annotations

from typing import Any

from . import defaults

DATA_FIELDS = {  # the form's data fields per layout: (field, label)
    "experiment": (("tfrecords_path", "TFRecords"),),
    "seed": (("train_path", "train folder"), ("val_path", "val folder")),
}


def layout(spec) -> str:
    """"experiment" (TAO's DetectNet_v2 layout, with a dataset_config) or "seed" (train_config only)."""
    return "experiment" if spec.HasField("dataset_config") else "seed"


def data_fields(spec) -> tuple[tuple[str, str], ...]:
    """The (field, label) pairs of the form's data paths for this spec's layout."""
    from . import load_experiment_spec

    return DATA_FIELDS[layout(load_experiment_spec(spec))]


def read_fields(spec) -> dict[str, Any]:
    """The form's values as the spec (text or message) gives them."""
    from . import load_experiment_spec, views

    spec = load_experiment_spec(spec)
    _, height, width = views.input_shape(spec)
    arch, depth = views.backbone(spec)
    fields = {"arch": arch, "n_layers": depth,
              "width": width, "height": height,
              "pretrained": spec.train_config.pretrained_model_path or spec.model_config.pretrained_model_file}
    if layout(spec) == "experiment":
        sources = spec.dataset_config.data_sources
        tc = spec.training_config
        fields.update(tfrecords_path=sources[0].tfrecords_path if sources else "", epochs=tc.num_epochs,
                      batch_size=tc.batch_size_per_gpu,
                      learning_rate=tc.learning_rate.soft_start_annealing_schedule.max_learning_rate)
    else:
        tc = spec.train_config
        fields.update(train_path=tc.train_dataset_path, val_path=tc.val_dataset_path, epochs=tc.n_epochs,
                      batch_size=tc.batch_size_per_gpu, learning_rate=tc.learning_rate)
    return fields


def build_spec(template: str, **fields: Any) -> str:
    """`template` with the given form fields replaced; returns validated spec text.

    Fields: tfrecords_path (detection), train_path / val_path (classification), arch, n_layers,
    width, height, epochs, batch_size, learning_rate. Everything else in the template is kept.
    """
    from . import load_experiment_spec, spec_to_text

    spec = load_experiment_spec(template)
    model = spec.model_config
    if "arch" in fields:
        model.arch = fields["arch"]
    fixed_depth = model.arch not in defaults.DEFAULT_LAYERS  # alexnet, googlenet: one fixed depth
    if fields.get("n_layers") or fixed_depth:
        # keep the template's spelling: n_layers (seed, classification) or num_layers (DetectNet_v2)
        seed_style = model.HasField("n_layers") or layout(spec) == "seed"
        model.ClearField("n_layers")
        model.ClearField("num_layers")
        if fields.get("n_layers") and not fixed_depth:
            setattr(model, "n_layers" if seed_style else "num_layers", int(fields["n_layers"]))
    if "width" in fields or "height" in fields:
        pre = spec.augmentation_config.preprocessing
        if pre.HasField("output_image_width") or layout(spec) == "experiment":
            pre.output_image_width = int(fields.get("width", pre.output_image_width))
            pre.output_image_height = int(fields.get("height", pre.output_image_height))
        else:
            channels, width, height = (model.input_image_size or "3,64,64").split(",")
            model.input_image_size = (f"{channels},{int(fields.get('width', width))},"
                                      f"{int(fields.get('height', height))}")
    if layout(spec) == "experiment":
        if fields.get("tfrecords_path"):
            sources = spec.dataset_config.data_sources
            (sources[0] if sources else sources.add()).tfrecords_path = fields["tfrecords_path"]
        tc = spec.training_config
        _set(tc, "num_epochs", fields.get("epochs"), int)
        _set(tc, "batch_size_per_gpu", fields.get("batch_size"), int)
        if fields.get("learning_rate"):
            sched = tc.learning_rate.soft_start_annealing_schedule
            sched.max_learning_rate = float(fields["learning_rate"])
            if not sched.HasField("min_learning_rate") or sched.min_learning_rate > sched.max_learning_rate:
                sched.min_learning_rate = sched.max_learning_rate / 100
    else:
        tc = spec.train_config
        _set(tc, "train_dataset_path", fields.get("train_path"), str)
        _set(tc, "val_dataset_path", fields.get("val_path"), str)
        _set(tc, "n_epochs", fields.get("epochs"), int)
        _set(tc, "batch_size_per_gpu", fields.get("batch_size"), int)
        _set(tc, "learning_rate", fields.get("learning_rate"), float)
    text = spec_to_text(spec)
    if fields.get("pretrained"):
        text = with_pretrained(text, str(fields["pretrained"]).strip())
    load_experiment_spec(text, name="<form>")  # a bad combination (e.g. vgg 18) is a SpecError now
    return text


def with_pretrained(spec, model_path: str) -> str:
    """The spec text with its pretrained model set to `model_path` (e.g. a pruned model, to retrain)."""
    from . import load_experiment_spec, spec_to_text

    spec = load_experiment_spec(spec)
    # train_config.pretrained_model_path wins when both are set (training.settings.pretrained_path)
    if layout(spec) == "experiment" and not spec.train_config.pretrained_model_path:
        spec.model_config.pretrained_model_file = str(model_path)
    else:
        spec.train_config.pretrained_model_path = str(model_path)
    return spec_to_text(spec)


def _set(message, field: str, value, kind) -> None:
    if value not in (None, ""):
        setattr(message, field, kind(value))
