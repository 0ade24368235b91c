"""Experiment and conversion specs: parsing both spec shapes, round trips, and every error kind."""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_tlt.errors import SpecError
from jupyter_tlt.spec import (
    DatasetExportConfig,
    ExperimentSpec,
    backbone,
    class_mapping,
    image_extension,
    input_shape,
    load_conversion_spec,
    load_experiment_spec,
    random_seed,
    spec_to_text,
)
from jupyter_tlt.spec import defaults
from jupyter_tlt.spec.protos.experiment_pb2 import ClusteringConfig, EvaluationConfig, RegularizerConfig

# The seed article's sample_spec.cfg, verbatim (trailing comma after "resnet" included).
SEED_SPEC = """random_seed: 42
model_config {
   arch: "resnet",
   n_layers: 50
   input_image_size: "3,960,544"
}
train_config {
   train_dataset_path: "./dataset_train"
   val_dataset_path: "./dataset_val"
   pretrained_model_path: "./tlt_pretrained_model/resnet50.hdf5"
   batch_size_per_gpu: 64
   n_epochs: 15
   n_workers: 16
   step_size: 10
   learning_rate: 0.01
   weight_decay: 0.00005
   gamma: 0.1
}
"""

# A DetectNet_v2 experiment spec in TAO's shape, maps written as key/value blocks.
DETECTNET_SPEC = """random_seed: 7
dataset_config {
  data_sources {
    tfrecords_path: "data/tfrecords/kitti_trainval/*"
    image_directory_path: "data/training"
  }
  image_extension: "png"
  target_class_mapping {
    key: "Car"
    value: "car"
  }
  target_class_mapping {
    key: "van"
    value: "car"
  }
  target_class_mapping {
    key: "pedestrian"
    value: "pedestrian"
  }
  validation_fold: 0
}
augmentation_config {
  preprocessing {
    output_image_width: 1248
    output_image_height: 384
    min_bbox_width: 1.0
    min_bbox_height: 1.0
    output_image_channel: 3
  }
  spatial_augmentation {
    hflip_probability: 0.5
    zoom_min: 1.0
    zoom_max: 1.0
    translate_max_x: 8.0
    translate_max_y: 8.0
  }
  color_augmentation {
    hue_rotation_max: 25.0
    saturation_shift_max: 0.2
    contrast_scale_max: 0.1
    contrast_center: 0.5
  }
}
postprocessing_config {
  target_class_config {
    key: "car"
    value {
      clustering_config {
        coverage_threshold: 0.005
        dbscan_eps: 0.13
        dbscan_min_samples: 0.05
        minimum_bounding_box_height: 20
      }
    }
  }
  target_class_config {
    key: "pedestrian"
    value {
      clustering_config {
        clustering_algorithm: NMS
        nms_iou_threshold: 0.4
        nms_confidence_threshold: 0.2
        minimum_bounding_box_height: 20
      }
    }
  }
}
model_config {
  pretrained_model_file: "pretrained/resnet18.hdf5"
  num_layers: 18
  use_batch_norm: true
  freeze_blocks: 0
  freeze_blocks: 1
  all_projections: true
  objective_set {
    bbox {
      scale: 35.0
      offset: 0.5
    }
    cov {
    }
  }
  activation {
    activation_type: "relu"
  }
  arch: "resnet"
}
evaluation_config {
  validation_period_during_training: 10
  first_validation_epoch: 30
  minimum_detection_ground_truth_overlap {
    key: "car"
    value: 0.7
  }
  minimum_detection_ground_truth_overlap {
    key: "pedestrian"
    value: 0.5
  }
  evaluation_box_config {
    key: "car"
    value {
      minimum_height: 20
      maximum_height: 9999
      minimum_width: 10
      maximum_width: 9999
    }
  }
  average_precision_mode: INTEGRATE
}
cost_function_config {
  target_classes {
    name: "car"
    class_weight: 1.0
    coverage_foreground_weight: 0.05
    objectives {
      name: "cov"
      initial_weight: 1.0
      weight_target: 1.0
    }
    objectives {
      name: "bbox"
      initial_weight: 10.0
      weight_target: 10.0
    }
  }
  enable_autoweighting: true
  max_objective_weight: 0.9999
  min_objective_weight: 0.0001
}
training_config {
  batch_size_per_gpu: 4
  num_epochs: 120
  learning_rate {
    soft_start_annealing_schedule {
      min_learning_rate: 5e-06
      max_learning_rate: 5e-04
      soft_start: 0.1
      annealing: 0.7
    }
  }
  regularizer {
    type: L1
    weight: 3e-09
  }
  optimizer {
    adam {
      epsilon: 9.9e-09
      beta1: 0.9
      beta2: 0.999
    }
  }
  cost_scaling {
    initial_exponent: 20.0
    increment: 0.005
    decrement: 1.0
  }
  checkpoint_interval: 10
}
bbox_rasterizer_config {
  target_class_config {
    key: "car"
    value {
      cov_center_x: 0.5
      cov_center_y: 0.5
      cov_radius_x: 0.4
      cov_radius_y: 0.4
      bbox_min_radius: 1.0
    }
  }
  deadzone_radius: 0.67
}
"""

# A conversion spec in TAO's form.
CONVERSION_SPEC = """kitti_config {
  root_directory_path: "data/kitti/training"
  image_dir_name: "image_2"
  label_dir_name: "label_2"
  image_extension: ".png"
  partition_mode: "random"
  num_partitions: 2
  val_split: 14
  num_shards: 10
}
image_directory_path: "data/kitti/training"
target_class_mapping {
  key: "car"
  value: "car"
}
target_class_mapping {
  key: "Pedestrian"
  value: "pedestrian"
}
target_class_mapping {
  key: "cyclist"
  value: "cyclist"
}
"""

MODEL = 'model_config { arch: "resnet" }\n'  # the one required block of an experiment spec


def experiment_error(text: str, name: str = "spec.cfg") -> str:
    with pytest.raises(SpecError) as info:
        load_experiment_spec(text, name=name)
    return str(info.value)


def conversion_error(text: str, name: str = "convert.cfg") -> str:
    with pytest.raises(SpecError) as info:
        load_conversion_spec(text, name=name)
    return str(info.value)


# ---- valid specs ----------------------------------------------------------------------------------

def test_seed_sample_spec_parses_verbatim_from_a_file(tmp_path):
    path = tmp_path / "sample_spec.cfg"
    path.write_text(SEED_SPEC)
    for source in (str(path), path):
        spec = load_experiment_spec(source)
        assert isinstance(spec, ExperimentSpec)
        assert spec.random_seed == 42
        assert (spec.model_config.arch, spec.model_config.n_layers) == ("resnet", 50)
        train = spec.train_config
        assert train.train_dataset_path == "./dataset_train"
        assert train.val_dataset_path == "./dataset_val"
        assert train.pretrained_model_path == "./tlt_pretrained_model/resnet50.hdf5"
        assert (train.batch_size_per_gpu, train.n_epochs, train.n_workers, train.step_size) == (64, 15, 16, 10)
        assert (train.learning_rate, train.weight_decay, train.gamma) == (0.01, 0.00005, 0.1)
    assert input_shape(spec) == (3, 544, 960)  # "C,W,H" -> (C, H, W)
    assert backbone(spec) == ("resnet", 50)
    assert random_seed(spec) == 42


def test_seed_spec_as_text_and_separators():
    assert load_experiment_spec(SEED_SPEC) == load_experiment_spec(SEED_SPEC.replace(",\n", ";\n"))
    one_line = 'model_config { arch: "vgg"; n_layers: 19, input_image_size: "1,64,32" }'
    spec = load_experiment_spec(one_line)
    assert backbone(spec) == ("vgg", 19) and input_shape(spec) == (1, 32, 64)


def test_detectnet_v2_spec_with_maps():
    spec = load_experiment_spec(DETECTNET_SPEC)
    assert spec.random_seed == 7
    data = spec.dataset_config
    assert data.data_sources[0].tfrecords_path == "data/tfrecords/kitti_trainval/*"
    assert data.WhichOneof("dataset_split_type") == "validation_fold" and data.validation_fold == 0
    assert class_mapping(spec) == {"car": "car", "van": "car", "pedestrian": "pedestrian"}
    assert image_extension(data) == ".png"
    assert input_shape(spec) == (3, 384, 1248)
    assert backbone(spec) == ("resnet", 18)
    assert list(spec.model_config.freeze_blocks) == [0, 1]
    assert spec.model_config.objective_set.bbox.scale == 35.0
    assert spec.model_config.objective_set.HasField("cov")
    car = spec.postprocessing_config.target_class_config["car"].clustering_config
    assert car.clustering_algorithm == ClusteringConfig.DBSCAN and car.dbscan_eps == 0.13
    person = spec.postprocessing_config.target_class_config["pedestrian"].clustering_config
    assert person.clustering_algorithm == ClusteringConfig.NMS and person.nms_iou_threshold == 0.4
    evaluation = spec.evaluation_config
    assert dict(evaluation.minimum_detection_ground_truth_overlap) == {"car": 0.7, "pedestrian": 0.5}
    assert evaluation.evaluation_box_config["car"].minimum_width == 10
    assert evaluation.average_precision_mode == EvaluationConfig.INTEGRATE
    target = spec.cost_function_config.target_classes[0]
    assert [o.name for o in target.objectives] == ["cov", "bbox"]
    training = spec.training_config
    assert training.learning_rate.soft_start_annealing_schedule.max_learning_rate == 5e-4
    assert training.regularizer.type == RegularizerConfig.L1 and training.regularizer.weight == 3e-9
    assert training.optimizer.WhichOneof("optimizer") == "adam"
    assert spec.bbox_rasterizer_config.target_class_config["car"].cov_radius_x == 0.4


def test_conversion_spec_in_tao_form(tmp_path):
    path = tmp_path / "kitti_convert.txt"
    path.write_text(CONVERSION_SPEC)
    spec = load_conversion_spec(str(path))
    assert isinstance(spec, DatasetExportConfig)
    kitti = spec.kitti_config
    assert (kitti.root_directory_path, kitti.image_dir_name, kitti.label_dir_name) == \
        ("data/kitti/training", "image_2", "label_2")
    assert (kitti.partition_mode, kitti.num_partitions, kitti.val_split, kitti.num_shards) == \
        ("random", 2, 14.0, 10)
    assert spec.image_directory_path == "data/kitti/training"
    assert class_mapping(spec) == {"car": "car", "pedestrian": "pedestrian", "cyclist": "cyclist"}
    assert image_extension(kitti) == ".png"


def test_dict_source_equals_text_source():
    as_dict = {
        "random_seed": 42,
        "model_config": {"arch": "resnet", "n_layers": 50, "input_image_size": "3,960,544"},
        "train_config": {"train_dataset_path": "./dataset_train", "val_dataset_path": "./dataset_val",
                         "pretrained_model_path": "./tlt_pretrained_model/resnet50.hdf5",
                         "batch_size_per_gpu": 64, "n_epochs": 15, "n_workers": 16, "step_size": 10,
                         "learning_rate": 0.01, "weight_decay": 0.00005, "gamma": 0.1},
    }
    assert load_experiment_spec(as_dict) == load_experiment_spec(SEED_SPEC)
    nested = {"model_config": {"arch": "resnet"},
              "dataset_config": {"target_class_mapping": {"Car": "car"}},
              "postprocessing_config": {"target_class_config": {
                  "car": {"clustering_config": {"clustering_algorithm": "NMS", "dbscan_eps": 0.2}}}},
              "evaluation_config": {"minimum_detection_ground_truth_overlap": {"car": 0.6}}}
    spec = load_experiment_spec(nested)
    assert spec.postprocessing_config.target_class_config["car"].clustering_config.clustering_algorithm == 1
    assert class_mapping(spec) == {"car": "car"}
    conversion = load_conversion_spec({"kitti_config": {"root_directory_path": "d", "image_dir_name": "i",
                                                        "label_dir_name": "l", "val_split": 14}})
    assert conversion.kitti_config.val_split == 14.0


def test_round_trip():
    for text, load in ((SEED_SPEC, load_experiment_spec), (DETECTNET_SPEC, load_experiment_spec),
                       (CONVERSION_SPEC, load_conversion_spec)):
        spec = load(text)
        again = load(spec_to_text(spec))
        assert again == spec
        assert spec_to_text(again) == spec_to_text(spec)
    assert "weight_decay: 5e-05" in spec_to_text(load_experiment_spec(SEED_SPEC))


def test_parsed_message_is_validated_and_copied():
    spec = load_experiment_spec(SEED_SPEC)
    copy = load_experiment_spec(spec)
    assert copy == spec and copy is not spec
    spec.train_config.gamma = 2.0
    with pytest.raises(SpecError, match=r"^<spec>: 'train_config.gamma' must be in \(0, 1\]"):
        load_experiment_spec(spec)


def test_unset_differs_from_zero_and_defaults_live_in_one_place():
    spec = load_experiment_spec(MODEL + "training_config { checkpoint_interval: 5 }")
    assert not spec.training_config.HasField("num_epochs")
    assert defaults.lookup(spec, "training_config.num_epochs") == 120
    assert defaults.lookup(spec, "training_config.checkpoint_interval") == 5
    assert defaults.lookup(spec, "augmentation_config.spatial_augmentation.zoom_max") == 1.0
    assert random_seed(spec) == 42 and backbone(spec) == ("resnet", 18)
    zero = load_experiment_spec(MODEL + "augmentation_config { spatial_augmentation { hflip_probability: 0 } }")
    assert zero.augmentation_config.spatial_augmentation.HasField("hflip_probability")
    assert "hflip_probability: 0" in spec_to_text(zero)


def test_views():
    with pytest.raises(SpecError, match="gives no input size"):
        input_shape(load_experiment_spec(MODEL))
    assert backbone(load_experiment_spec('model_config { arch: "googlenet" n_layers: 99 }')) == ("googlenet", None)
    spec = load_experiment_spec(MODEL.replace("}", 'input_image_size: "3,128,96" }')
                                + "augmentation_config { preprocessing { output_image_width: 128 "
                                  "output_image_height: 96 } }")
    assert input_shape(spec) == (3, 96, 128)


def test_cell_name_and_one_line_text_with_slashes():
    message = experiment_error("model_config {\n  archh: 1\n}", name="<cell>")
    assert message == "<cell>:2: unknown field 'model_config.archh'; did you mean 'arch'?"
    assert experiment_error("model_config { archh: 1 }", name=None).startswith("<string>:1: ")
    # one line of spec text holding a path is text, not a file name
    message = conversion_error('image_directory_path: "/data/images"')
    assert message.startswith("convert.cfg: missing required field 'kitti_config.root_directory_path'")


def test_text_format_variants(tmp_path):
    """Comments, <> blocks, list syntax, CRLF line ends, a UTF-8 BOM and JSON-style dict names."""
    text = ('# detection spec\r\nmodel_config < arch: "resnet" num_layers: 18 freeze_blocks: [0, 1] >\r\n'
            'dataset_config {\r\n  data_sources: [{ tfrecords_path: "a*" }, { tfrecords_path: "b*" }]\r\n}\r\n')
    spec = load_experiment_spec(text)
    assert list(spec.model_config.freeze_blocks) == [0, 1]
    assert [s.tfrecords_path for s in spec.dataset_config.data_sources] == ["a*", "b*"]
    path = tmp_path / "bom.cfg"
    path.write_bytes("\ufeff".encode() + text.encode())
    assert load_experiment_spec(path) == spec
    bad = text.replace('{ tfrecords_path: "b*" }', '{ image_directory_path: "b" }')
    assert experiment_error(bad) == (
        "spec.cfg:4: missing required field 'dataset_config.data_sources[1].tfrecords_path'; add "
        'tfrecords_path: "data/tfrecords/train*" inside dataset_config.data_sources[1]')
    assert experiment_error('model_config { arch: "resnet" freeze_blocks: [0, "a"] }') == (
        "spec.cfg:1: 'model_config.freeze_blocks[1]' expects a whole number, got \"a\"; write e.g. "
        "freeze_blocks: 1")
    assert load_experiment_spec({"modelConfig": {"arch": "resnet", "freezeBlocks": [2]}}) == \
        load_experiment_spec('model_config { arch: "resnet" freeze_blocks: 2 }')


# ---- errors: unknown fields -----------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ('random_seed: 1\n\nmodel_config {\n  archh: "resnet"\n}\n',
     "spec.cfg:4: unknown field 'model_config.archh'; did you mean 'arch'?"),
    ('model_config { arch: "resnet" }\ntrain_confg {\n  n_epochs: 3\n}',
     "spec.cfg:2: unknown field 'train_confg'; did you mean 'train_config'?"),
    (MODEL + "train_config {\n  num_epochs: 3\n}",
     "spec.cfg:3: unknown field 'train_config.num_epochs'; did you mean 'n_epochs'?"),
    (MODEL + 'postprocessing_config {\n  target_class_config {\n    key: "car"\n    value {\n'
             '      clustering_config {\n        coverage_threshhold: 0.01\n      }\n    }\n  }\n}',
     "spec.cfg:7: unknown field 'postprocessing_config.target_class_config[\"car\"].clustering_config."
     "coverage_threshhold'; did you mean 'coverage_threshold'?"),
    ('model_config {\n  arch: "resnet"\n  colour: 3\n}',
     "spec.cfg:3: unknown field 'model_config.colour'; valid fields of model_config are: arch, "
     "n_layers, input_image_size, pretrained_model_file, num_layers, freeze_blocks, freeze_bn, "
     "use_batch_norm, all_projections, dropout_rate, activation, objective_set"),
    (MODEL + "zzz: 1",
     "spec.cfg:2: unknown field 'zzz'; valid fields at the top level are: random_seed, dataset_config, "
     "augmentation_config, postprocessing_config, model_config, evaluation_config, "
     "cost_function_config, training_config, bbox_rasterizer_config, train_config"),
])
def test_unknown_field(text, expected):
    assert experiment_error(text) == expected


def test_unknown_field_in_conversion_spec():
    text = CONVERSION_SPEC.replace("val_split: 14", "validation_split: 14")
    assert conversion_error(text) == \
        "convert.cfg:8: unknown field 'kitti_config.validation_split'; did you mean 'val_split'?"


# ---- errors: wrong types -------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ('model_config {\n  arch: "resnet"\n  n_layers: "50"\n}',
     "spec.cfg:3: 'model_config.n_layers' expects a whole number, got \"50\"; write n_layers: 50 without quotes"),
    ('model_config {\n  arch: "resnet"\n  n_layers: 50.5\n}',
     "spec.cfg:3: 'model_config.n_layers' expects a whole number, got 50.5; write a whole number such as 50"),
    (MODEL + "train_config {\n  learning_rate: \"0.01\"\n}",
     "spec.cfg:3: 'train_config.learning_rate' expects a number, got \"0.01\"; write learning_rate: 0.01 "
     "without quotes"),
    (MODEL + "training_config {\n  regularizer {\n    type: L3\n  }\n}",
     "spec.cfg:4: 'training_config.regularizer.type' has no value L3; use one of NO_REG, L1, L2"),
    (MODEL + "evaluation_config { average_precision_mode: sample }",
     "spec.cfg:2: 'evaluation_config.average_precision_mode' has no value sample; use one of SAMPLE, "
     "INTEGRATE, KITTI_R40, KITTI_R11"),
    (MODEL + "evaluation_config { average_precision_mode: 7 }",
     "spec.cfg:2: 'evaluation_config.average_precision_mode' has no value 7; use one of SAMPLE, INTEGRATE, "
     "KITTI_R40, KITTI_R11"),
    ('model_config {\n  arch: "resnet"\n  freeze_bn: yes\n}',
     "spec.cfg:3: 'model_config.freeze_bn' expects true or false, got yes; write freeze_bn: true or "
     "freeze_bn: false"),
    ('model_config {\n  arch: resnet\n}',
     "spec.cfg:2: 'model_config.arch' expects a quoted string, got resnet; write arch: \"resnet\""),
    ('random_seed: -1\n' + MODEL, "spec.cfg:1: 'random_seed' must be >= 0, got -1; change the value"),
    (MODEL + "train_config {\n  n_epochs: -5\n}",
     "spec.cfg:3: 'train_config.n_epochs' must be >= 1, got -5; change the value"),
    (MODEL + "train_config {\n  n_epochs: 99999999999\n}",
     "spec.cfg:3: 'train_config.n_epochs' is too large (99999999999); use a value up to 4294967295"),
])
def test_wrong_type(text, expected):
    assert experiment_error(text) == expected


# ---- errors: syntax ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    (SEED_SPEC.rstrip().rstrip("}"),
     "spec.cfg:7: 'train_config' is never closed; add the missing '}' where the block ends"),
    (SEED_SPEC.replace('"3,960,544"\n}\n', '"3,960,544"\n'),
     "spec.cfg:6: unknown field 'model_config.train_config'; a '}' is probably missing before line 6 "
     "to close 'model_config' (opened on line 2)"),
    (MODEL + "}\n", "spec.cfg:2: unexpected '}' with no block open; remove it or add the block's opening line"),
    ('model_config {\n  arch: "resnet"\n  n_layers 18\n}',
     "spec.cfg:3: missing ':' after 'model_config.n_layers'; write n_layers: 18"),
    ('model_config: "resnet"\n', "spec.cfg:1: 'model_config' is a block; write model_config { ... }"),
    ('model_config {\n  arch: "resnet\n}',
     "spec.cfg:2: 'model_config.arch' has an unterminated string \"resnet; add the closing quote"),
    ('model_config {\n  arch: "resnet"\n  n_layers:\n}',
     "spec.cfg:4: 'model_config.n_layers' has no value; write n_layers: 18"),
    ('model_config {\n  "arch": "resnet"\n}',
     "spec.cfg:2: field names are not quoted in a spec; write arch instead of \"arch\""),
    ('model_config {\n  arch: "resnet"\n}\n= 3',
     "spec.cfg:4: unexpected '=' where a field name should be; write name: value or name { ... }"),
])
def test_syntax_errors(text, expected):
    assert experiment_error(text) == expected


@pytest.mark.parametrize("text, expected", [
    ('model_config {\n  arch: "resnet"\n  arch: "vgg"\n}',
     "spec.cfg:3: 'model_config.arch' is set twice (first on line 2); keep one"),
    (MODEL + 'model_config { n_layers: 18 }',
     "spec.cfg:2: 'model_config' appears twice (first on line 1); merge the two blocks into one"),
    (MODEL + 'dataset_config {\n  target_class_mapping { key: "car" value: "car" }\n'
             '  target_class_mapping { key: "car" value: "truck" }\n}',
     "spec.cfg:4: 'dataset_config.target_class_mapping[\"car\"]' is given twice (first on line 3); "
     "keep one entry per key"),
    (MODEL + 'dataset_config {\n  validation_fold: 0\n  validation_data_source {\n    tfrecords_path: "v*"\n  }\n}',
     "spec.cfg:4: 'dataset_config.validation_data_source' cannot be set together with "
     "'dataset_config.validation_fold' (line 3); keep only one of them"),
])
def test_duplicates_and_oneof(text, expected):
    assert experiment_error(text) == expected


# ---- errors: required fields ---------------------------------------------------------------------

def test_missing_required_fields():
    text = CONVERSION_SPEC.replace('  label_dir_name: "label_2"\n', "")
    assert conversion_error(text) == ("convert.cfg:1: missing required field 'kitti_config.label_dir_name'; "
                                      'add label_dir_name: "labels" inside kitti_config')
    assert conversion_error('image_directory_path: "images"\n') == (
        "convert.cfg: missing required field 'kitti_config.root_directory_path'; "
        'add kitti_config { root_directory_path: "data/kitti" }')
    assert conversion_error(CONVERSION_SPEC.replace('"image_2"', '""')) == (
        "convert.cfg:3: missing required field 'kitti_config.image_dir_name'; "
        'add image_dir_name: "images" inside kitti_config')
    assert experiment_error("random_seed: 3\n\nmodel_config {\n  n_layers: 18\n}") == (
        "spec.cfg:3: missing required field 'model_config.arch'; add arch: \"resnet\" inside model_config")
    assert experiment_error("random_seed: 3\n") == (
        "spec.cfg: missing required field 'model_config.arch'; add model_config { arch: \"resnet\" }")
    assert experiment_error("") == (
        "spec.cfg: missing required field 'model_config.arch'; add model_config { arch: \"resnet\" }")
    text = MODEL + 'dataset_config {\n  data_sources { tfrecords_path: "a*" }\n  data_sources {\n' \
                   '    image_directory_path: "b"\n  }\n}'
    assert experiment_error(text) == (
        "spec.cfg:4: missing required field 'dataset_config.data_sources[1].tfrecords_path'; add "
        'tfrecords_path: "data/tfrecords/train*" inside dataset_config.data_sources[1]')
    sequence = CONVERSION_SPEC.replace('"random"', '"sequence"')
    assert conversion_error(sequence) == (
        "convert.cfg:6: missing required field 'kitti_config.kitti_sequence_to_frames_file' for "
        'partition_mode "sequence"; add kitti_sequence_to_frames_file: "sequences.json" or use '
        'partition_mode: "random"')
    load_conversion_spec(sequence.replace("num_shards: 10", 'num_shards: 10\n  kitti_sequence_to_frames_file: "s.json"'))


# ---- errors: out-of-range values -----------------------------------------------------------------

def _seed_with(old: str, new: str) -> str:
    assert old in SEED_SPEC
    return SEED_SPEC.replace(old, new)


@pytest.mark.parametrize("text, expected", [
    (_seed_with('"resnet"', '"resnett"'),
     "spec.cfg:3: 'model_config.arch' must be one of \"resnet\", \"vgg\", \"alexnet\", \"googlenet\", "
     "got \"resnett\"; did you mean \"resnet\"?"),
    (_seed_with("n_layers: 50", "n_layers: 20"),
     "spec.cfg:4: 'model_config.n_layers' must be one of 10, 18, 34, 50 for arch \"resnet\", got 20; "
     "pick one of those"),
    (_seed_with('"resnet"', '"vgg"'),
     "spec.cfg:4: 'model_config.n_layers' must be one of 16, 19 for arch \"vgg\", got 50; pick one of those"),
    (_seed_with('"3,960,544"', '"2,960,544"'),
     "spec.cfg:5: 'model_config.input_image_size' must be \"C,W,H\" with C 1 or 3 and W, H integers "
     "from 1 to 4096 (e.g. \"3,960,544\"), got \"2,960,544\"; change the value"),
    (_seed_with('"3,960,544"', '"3,0,544"'), None),
    (_seed_with('"3,960,544"', '"3,960"'), None),
    (_seed_with("batch_size_per_gpu: 64", "batch_size_per_gpu: 0"),
     "spec.cfg:11: 'train_config.batch_size_per_gpu' must be in [1, 4096], got 0; change it, e.g. to 8"),
    (_seed_with("n_epochs: 15", "n_epochs: 0"),
     "spec.cfg:12: 'train_config.n_epochs' must be >= 1, got 0; change it, e.g. to 120"),
    (_seed_with("learning_rate: 0.01", "learning_rate: 0"),
     "spec.cfg:15: 'train_config.learning_rate' must be > 0, got 0.0; change it, e.g. to 0.01"),
    (_seed_with("gamma: 0.1", "gamma: 0"),
     "spec.cfg:17: 'train_config.gamma' must be in (0, 1], got 0.0; change it, e.g. to 0.1"),
    (_seed_with("gamma: 0.1", "gamma: 1.5"),
     "spec.cfg:17: 'train_config.gamma' must be in (0, 1], got 1.5; change it, e.g. to 0.1"),
    (_seed_with("weight_decay: 0.00005", "weight_decay: -0.1"),
     "spec.cfg:16: 'train_config.weight_decay' must be >= 0, got -0.1; change it, e.g. to 5e-05"),
    (_seed_with("learning_rate: 0.01", "learning_rate: nan"),
     "spec.cfg:15: 'train_config.learning_rate' must be a finite number, got nan; write a number such as 0.01"),
    (_seed_with("learning_rate: 0.01", "learning_rate: inf"),
     "spec.cfg:15: 'train_config.learning_rate' must be a finite number, got inf; write a number such as 0.01"),
    (MODEL + "augmentation_config {\n  spatial_augmentation {\n    zoom_min: 1.5\n    zoom_max: 1.2\n  }\n}",
     "spec.cfg:4: 'augmentation_config.spatial_augmentation.zoom_min' (1.5) must not exceed "
     "'augmentation_config.spatial_augmentation.zoom_max' (1.2); swap or change them"),
    (MODEL + "augmentation_config {\n  spatial_augmentation {\n    zoom_min: 2.0\n  }\n}",
     "spec.cfg:4: 'augmentation_config.spatial_augmentation.zoom_min' (2.0) must not exceed "
     "'augmentation_config.spatial_augmentation.zoom_max' (1.0); swap or change them"),
    (MODEL + "augmentation_config { spatial_augmentation { zoom_max: -inf } }",
     "spec.cfg:2: 'augmentation_config.spatial_augmentation.zoom_max' must be a finite number, got -inf; "
     "write a number such as 1.0"),
    (MODEL + "augmentation_config {\n  spatial_augmentation {\n    hflip_probability: 1.5\n  }\n}",
     "spec.cfg:4: 'augmentation_config.spatial_augmentation.hflip_probability' must be in [0, 1], got 1.5; "
     "change it, e.g. to 0.0"),
    (MODEL + 'dataset_config {\n  image_extension: ".bmp"\n}',
     "spec.cfg:3: 'dataset_config.image_extension' must be one of \".jpg\", \".jpeg\", \".png\" (any case), "
     "got \".bmp\"; change it, e.g. to \"png\""),
    (MODEL + 'postprocessing_config {\n  target_class_config {\n    key: "car"\n    value { clustering_config '
             '{ coverage_threshold: 1.1 } }\n  }\n}',
     "spec.cfg:5: 'postprocessing_config.target_class_config[\"car\"].clustering_config.coverage_threshold' "
     "must be in [0, 1], got 1.1; change it, e.g. to 0.005"),
    (MODEL + 'evaluation_config {\n  minimum_detection_ground_truth_overlap { key: "car" value: 0 }\n}',
     "spec.cfg:3: 'evaluation_config.minimum_detection_ground_truth_overlap[\"car\"]' must be in (0, 1], "
     "got 0.0; change the value"),
    (MODEL + "training_config {\n  learning_rate {\n    soft_start_annealing_schedule {\n"
             "      soft_start: 0.8\n      annealing: 0.5\n    }\n  }\n}",
     "spec.cfg:6: 'training_config.learning_rate.soft_start_annealing_schedule.soft_start' (0.8) must be "
     "less than 'training_config.learning_rate.soft_start_annealing_schedule.annealing' (0.5); the warm-up "
     "ends before annealing starts"),
    (MODEL + 'dataset_config {\n  target_class_mapping { key: "Car" value: "car" }\n'
             '  target_class_mapping { key: "car" value: "truck" }\n}',
     "spec.cfg:4: 'dataset_config.target_class_mapping' maps \"Car\" and \"car\" (class names are matched "
     "case-insensitively) to different classes; keep one"),
    ('model_config {\n  arch: "resnet"\n  n_layers: 18\n  num_layers: 34\n}',
     "spec.cfg:4: 'model_config.num_layers' (34) disagrees with 'model_config.n_layers' (18); keep only "
     "one of them"),
    ('model_config {\n  arch: "resnet"\n  input_image_size: "3,64,64"\n}\naugmentation_config {\n'
     '  preprocessing { output_image_width: 128 output_image_height: 64 }\n}',
     "spec.cfg:3: 'model_config.input_image_size' (\"3,64,64\") disagrees with "
     "augmentation_config.preprocessing (3,128,64 as C,W,H); keep only one of them"),
    (MODEL + 'train_config {\n  optimizer: "adamw"\n}',
     "spec.cfg:3: 'train_config.optimizer' must be one of \"sgd\", \"adam\", got \"adamw\"; did you mean \"adam\"?"),
])
def test_out_of_range_experiment(text, expected):
    message = experiment_error(text)
    if expected is None:
        assert message.startswith("spec.cfg:5: 'model_config.input_image_size' must be \"C,W,H\"")
    else:
        assert message == expected


def test_values_at_the_limits_are_accepted():
    load_experiment_spec(_seed_with("gamma: 0.1", "gamma: 1"))
    load_experiment_spec(_seed_with('"resnet"', '"alexnet"'))  # alexnet ignores n_layers
    load_experiment_spec(_seed_with("weight_decay: 0.00005", "weight_decay: 0"))
    load_experiment_spec(MODEL + 'dataset_config { image_extension: ".JPEG" }')
    load_experiment_spec(MODEL + "augmentation_config { spatial_augmentation { hflip_probability: 1 "
                                 "zoom_min: 0.5 zoom_max: 0.5 } }")
    load_conversion_spec(CONVERSION_SPEC.replace("val_split: 14", "val_split: 0"))
    load_conversion_spec(CONVERSION_SPEC.replace('".png"', '".JPG"'))


@pytest.mark.parametrize("old, new, expected", [
    ("val_split: 14", "val_split: 100",
     "convert.cfg:8: 'kitti_config.val_split' must be in [0, 100), got 100.0; change it, e.g. to 10.0"),
    ("val_split: 14", "val_split: -1",
     "convert.cfg:8: 'kitti_config.val_split' must be in [0, 100), got -1.0; change it, e.g. to 10.0"),
    ('"random"', '"rand"',
     "convert.cfg:6: 'kitti_config.partition_mode' must be one of \"random\", \"sequence\", got \"rand\"; "
     "did you mean \"random\"?"),
    ("num_partitions: 2", "num_partitions: 3",
     "convert.cfg:7: 'kitti_config.num_partitions' must be 2 when partition_mode is \"random\", got 3; "
     "set num_partitions: 2 (val_split sets the split)"),
    ("num_shards: 10", "num_shards: 0",
     "convert.cfg:9: 'kitti_config.num_shards' must be >= 1, got 0; change it, e.g. to 10"),
    ('".png"', '".bmp"',
     "convert.cfg:5: 'kitti_config.image_extension' must be one of \".jpg\", \".jpeg\", \".png\" (any case), "
     "got \".bmp\"; change it, e.g. to \".png\""),
    ("val_split: 14", "val_split: nan",
     "convert.cfg:8: 'kitti_config.val_split' must be a finite number, got nan; write a number such as 10.0"),
])
def test_out_of_range_conversion(old, new, expected):
    assert old in CONVERSION_SPEC
    assert conversion_error(CONVERSION_SPEC.replace(old, new)) == expected


def test_several_problems_report_the_first_by_line():
    text = _seed_with("gamma: 0.1", "gamma: 5").replace('"resnet"', '"resnetx"')
    with pytest.raises(SpecError) as info:
        load_experiment_spec(text, name="spec.cfg")
    assert str(info.value).startswith("spec.cfg:3: 'model_config.arch'")
    assert len(info.value.problems) == 2 and info.value.problems[1].startswith("spec.cfg:17: 'train_config.gamma'")


# ---- errors: dict sources -------------------------------------------------------------------------

@pytest.mark.parametrize("data, expected", [
    ({"model_config": {"archh": "resnet"}}, "<dict>: unknown field 'model_config.archh'; did you mean 'arch'?"),
    ({"model_config": {"arch": "resnet", "n_layers": "18"}},
     "<dict>: 'model_config.n_layers' expects a whole number, got \"18\"; write \"n_layers\": 18 without quotes"),
    ({"model_config": {"arch": "resnet", "n_layers": 18.5}},
     "<dict>: 'model_config.n_layers' expects a whole number, got 18.5; write a whole number such as 18"),
    ({"model_config": {"arch": "resnet", "freeze_bn": "yes"}},
     "<dict>: 'model_config.freeze_bn' expects true or false, got \"yes\"; write \"freeze_bn\": True or "
     "\"freeze_bn\": False"),
    ({"model_config": {"arch": "resnet"}, "training_config": {"regularizer": {"type": "L3"}}},
     "<dict>: 'training_config.regularizer.type' has no value L3; use one of NO_REG, L1, L2"),
    ({"model_config": {"arch": "resnet"}, "train_config": {"gamma": 2}},
     "<dict>: 'train_config.gamma' must be in (0, 1], got 2.0; change it, e.g. to 0.1"),
    ({"model_config": {"arch": "resnet"}, "train_config": {"learning_rate": math.nan}},
     "<dict>: 'train_config.learning_rate' must be a finite number, got nan; write a number such as 0.01"),
    ({"model_config": "resnet"},
     "<dict>: 'model_config' must be a dict of fields, got str; write it as {\"field\": value, ...}"),
    ({"model_config": {}}, "<dict>: missing required field 'model_config.arch'; add \"arch\": \"resnet\" to "
                           "model_config"),
    ({"model_config": {"arch": "resnet"},
      "postprocessing_config": {"target_class_config": {"car": {"clustering_config": {"dbscan_epss": 1}}}}},
     "<dict>: unknown field 'postprocessing_config.target_class_config[\"car\"].clustering_config.dbscan_epss'; "
     "did you mean 'dbscan_eps'?"),
])
def test_dict_errors(data, expected):
    with pytest.raises(SpecError) as info:
        load_experiment_spec(data)
    assert str(info.value) == expected


def test_no_protobuf_traceback_is_chained():
    with pytest.raises(SpecError) as info:
        load_experiment_spec("model_config { archh: 1 }")
    assert info.value.__cause__ is None and info.value.__suppress_context__


# ---- missing spec files ---------------------------------------------------------------------------

def test_missing_spec_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError) as info:
        load_experiment_spec("spec.cfg")
    assert str(info.value) == "spec.cfg: no such spec file; check the path given to -e"
    with pytest.raises(SpecError) as info:
        load_conversion_spec("specs/convert")
    assert str(info.value) == "specs/convert: no such spec file; check the path given to -d"
    with pytest.raises(SpecError, match=r"^missing\.txt: no such spec file"):
        load_experiment_spec(Path("missing.txt"))
    (tmp_path / "specs.cfg").mkdir()
    with pytest.raises(SpecError, match=r"^specs\.cfg: is a directory, not a spec file"):
        load_experiment_spec("specs.cfg")
    (tmp_path / "latin1.cfg").write_bytes(b'model_config { arch: "r\xe9snet" }')
    with pytest.raises(SpecError, match=r"^latin1\.cfg: not a UTF-8 text file"):
        load_experiment_spec("latin1.cfg")
    (tmp_path / "bad.cfg").write_text(MODEL + "train_config {\n  n_epochs: 0\n}\n")
    with pytest.raises(SpecError, match=r"^bad\.cfg:3: 'train_config.n_epochs' must be >= 1"):
        load_experiment_spec("bad.cfg")


def test_wrong_source_kinds():
    with pytest.raises(SpecError, match="must be a file path, spec text or a dict, got int"):
        load_experiment_spec(42)
    with pytest.raises(SpecError, match="expected a DatasetExportConfig, got a ExperimentSpec"):
        load_conversion_spec(load_experiment_spec(SEED_SPEC))


# ---- generated code ------------------------------------------------------------------------------

@pytest.mark.skipif(importlib.util.find_spec("grpc_tools") is None, reason="grpcio-tools not installed")
def test_generated_code_matches_the_proto_sources():
    done = subprocess.run([sys.executable, "-m", "jupyter_tlt.spec.build_protos", "--check"],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
