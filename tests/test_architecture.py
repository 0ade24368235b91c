"""The plug-in points and single owners of docs/architecture.md: the task registry, the formats table,
the prune options and the results layout, as the CLI and the steps see them (no TensorFlow needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_tlt.commands import build_parser as parser
from jupyter_tlt.experiments import ARTIFACT_DIRS, CHECKPOINT, Experiment
from jupyter_tlt.export import formats
from jupyter_tlt.pruning.options import CRITERIA, DEFAULTS, NORMALIZERS, SWEEP_THRESHOLDS, PruneOptions
from jupyter_tlt.spec import load_experiment_spec
from jupyter_tlt.tasks import TASKS, describe, infer_task, make_task, task_class, task_of_outputs

ROOT = Path(__file__).resolve().parents[1]
DETECTION_SPEC = ('dataset_config { data_sources { tfrecords_path: "x-*" } target_class_mapping { key: "car" '
                  'value: "car" } } augmentation_config { preprocessing { output_image_width: 96 '
                  'output_image_height: 64 } } model_config { arch: "resnet" num_layers: 10 }')
CLASSIFICATION_SPEC = 'model_config { arch: "resnet" n_layers: 10 input_image_size: "3,32,32" }'


def test_the_registry_names_the_tasks_and_tells_them_apart():
    assert TASKS == ("detection", "classification")
    assert describe() == "detection (DetectNet_v2) or classification"
    assert infer_task(load_experiment_spec(DETECTION_SPEC)) == "detection"
    assert infer_task(load_experiment_spec(CLASSIFICATION_SPEC)) == "classification"
    assert task_of_outputs(["output_cov/Sigmoid", "output_bbox/BiasAdd"]) == "detection"
    assert task_of_outputs(["predictions/Softmax"]) == "classification"
    with pytest.raises(ValueError, match="unknown task 'segmentation'"):
        task_class("segmentation")


def test_every_task_carries_what_the_steps_ask_of_it():
    asked = ("name", "primary_metric", "metric_label", "output_names", "letterbox", "supports_analysis",
             "result_files", "counted", "spec_template", "evaluation_figure", "matches_spec", "matches_outputs",
             "build_from_spec", "headline", "plot_metrics", "labels_text", "deepstream_config")
    per_instance = ("train_data", "eval_batches", "build", "compile_args", "training_callbacks", "predict",
                    "metrics", "validate", "evaluate_model", "evaluation_extras", "infer_outputs",
                    "write_predictions", "deepstream_postprocess")
    for name in TASKS:
        cls = task_class(name)
        assert cls.name == name
        missing = [a for a in asked + per_instance if not hasattr(cls, a)]
        assert not missing, f"{name} lacks {missing}"
        # the training form's template is a valid spec of this very task
        assert infer_task(load_experiment_spec(cls.spec_template)) == name


def test_a_task_writes_its_own_deepstream_labels_and_properties():
    names = ["car", "person"]
    assert task_class("detection").labels_text(names) == "car\nperson\n"
    assert task_class("classification").labels_text(names) == "car;person\n"
    props, _, after = task_class("detection").deepstream_config(names)
    assert props["network-type"] == 0 and props["output-blob-names"] == "output_cov/Sigmoid;output_bbox/BiasAdd"
    assert "[class-attrs-all]" in after
    props, before, after = task_class("classification").deepstream_config(names, classifier_threshold=0.25)
    assert props == {"network-type": 1, "output-blob-names": "predictions/Softmax", "classifier-threshold": "0.25"}
    assert before == after == []


def test_a_detection_task_is_made_from_its_spec():
    task = make_task("detection", load_experiment_spec(DETECTION_SPEC), ["car"])
    assert (task.class_names, task.height, task.width) == (["car"], 64, 96)
    assert task.infer_outputs(Path("out")) == [Path("out/labels"), Path("out/images")]


def test_one_formats_table_gives_frameworks_suffixes_and_cli_choices():
    assert formats.FRAMEWORKS == ("keras", "onnx", "tensorrt")
    assert formats.FRAMEWORK_CHOICES == ("keras", "tlt", "onnx", "tensorrt")
    assert formats.SUFFIXES[".hdf5"] == "keras" and formats.SUFFIXES[".plan"] == "tensorrt"
    assert formats.canonical("tlt") == "keras" and formats.canonical(None) is None
    assert [f.name for f in formats.FORMATS.values() if f.needs_gpu] == ["tensorrt"]
    evaluate = parser().parse_args(["evaluate", "detection", "-m", "m.onnx", "-f", "tlt"])
    assert evaluate.framework == "tlt"
    export = parser().parse_args(["export", "m.keras", "--data_type", "int8"])
    assert export.data_type == "int8"
    with pytest.raises(SystemExit):
        parser().parse_args(["export", "m.keras", "--data_type", "int4"])


def test_the_cli_takes_its_prune_defaults_and_choices_from_the_options():
    args = parser().parse_args(["prune", "-m", "m.keras"])
    assert (args.pruning_threshold, args.min_num_filters, args.pruning_granularity, args.normalizer,
            args.equalization_criterion) == (DEFAULTS.threshold, DEFAULTS.min_num_filters,
                                             DEFAULTS.pruning_granularity, DEFAULTS.normalizer,
                                             DEFAULTS.equalization_criterion)
    for value in NORMALIZERS:
        assert parser().parse_args(["prune", "-m", "m.keras", "-n", value]).normalizer == value
    for value in CRITERIA:
        assert parser().parse_args(["prune", "-m", "m.keras", "-eq", value]).equalization_criterion == value
    assert PruneOptions(threshold=0.3).as_kwargs()["threshold"] == 0.3
    assert SWEEP_THRESHOLDS[0] == 0.0 and SWEEP_THRESHOLDS[-1] == 1.0 and len(SWEEP_THRESHOLDS) == 21


@pytest.mark.parametrize("model, root", [
    ("runs/detect/weights/model.keras", "runs/detect"),
    ("runs/detect/prune/model_pruned.keras", "runs/detect"),
    ("elsewhere/model.keras", "elsewhere"),
])
def test_a_model_inside_an_experiment_writes_under_it(tmp_path, model, root):
    exp = Experiment.of_model(tmp_path / model)
    assert exp.root == (tmp_path / root).resolve()
    assert exp.evaluate_dir == exp.root / "evaluate" and exp.export_dir == exp.root / "export"
    assert exp.export_path(tmp_path / model) == exp.root / "export" / (Path(model).stem + ".onnx")
    assert exp.pruned_model_path(tmp_path / model) == exp.root / "prune" / (Path(model).stem + "_pruned.keras")


def test_the_layout_names_are_public():
    assert ARTIFACT_DIRS == {"weights", "tensorboard", "evaluate", "prune", "export", "infer"}
    assert CHECKPOINT.match("model_epoch_007.keras") and not CHECKPOINT.match("model.keras")


def test_the_cli_stays_light():
    """The registry, the formats table and the prune options are read by `tlt --help`: no TensorFlow,
    numpy or task module is imported for it."""
    code = ("import sys, jupyter_tlt.cli; "
            "print(sorted(m for m in ('tensorflow', 'numpy', 'jupyter_tlt.tasks.detectnet_v2.task') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"
