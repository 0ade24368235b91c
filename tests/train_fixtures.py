"""Tiny synthetic datasets and specs for training tests (seconds per epoch on 2 CPU cores)."""

from __future__ import annotations

from pathlib import Path

from jupyter_tlt.data.convert import dataset_convert
from jupyter_tlt.data.synthetic import generate

CLASSES = ("car", "pedestrian", "cyclist", "road_sign")


def detection_records(root: Path, n: int = 24, width: int = 192, height: int = 128, seed: int = 3,
                      domain: str = "source") -> str:
    """Generate and convert a small KITTI set; returns the TFRecord glob."""
    generate(root / "kitti", n, width=width, height=height, seed=seed, domain=domain, overwrite=True,
             progress=False, workers=1)
    spec = (f'kitti_config {{ root_directory_path: "{root}/kitti" image_dir_name: "image_2" '
            f'label_dir_name: "label_2" image_extension: ".jpg" partition_mode: "random" '
            f'num_partitions: 2 val_split: 25 num_shards: 1 }}')
    dataset_convert(spec, root / "records" / "kitti", overwrite=True, progress=False, workers=1)
    return f"{root}/records/kitti-fold-*"


def detection_spec(records: str, *, epochs: int = 2, width: int = 96, height: int = 64,
                   classes=CLASSES, arch: str = "resnet", layers: int = 10, pretrained: str = "",
                   batch: int = 4, lr: float = 1e-3, extra: str = "") -> str:
    mapping = "".join(f'  target_class_mapping {{ key: "{c}" value: "{c}" }}\n' for c in classes)
    clustering = "".join(
        f'  target_class_config {{ key: "{c}" value {{ clustering_config {{ coverage_threshold: 0.05 '
        f'minimum_bounding_box_height: 2 dbscan_eps: 0.3 }} }} }}\n' for c in classes)
    pre = f'  pretrained_model_file: "{pretrained}"\n' if pretrained else ""
    return f"""random_seed: 7
dataset_config {{
  data_sources {{ tfrecords_path: "{records}" }}
{mapping}  validation_fold: 0
}}
augmentation_config {{
  preprocessing {{ output_image_width: {width} output_image_height: {height} }}
  spatial_augmentation {{ hflip_probability: 0.5 }}
}}
model_config {{ arch: "{arch}" num_layers: {layers}
{pre}}}
postprocessing_config {{
{clustering}}}
evaluation_config {{ validation_period_during_training: 1 first_validation_epoch: 1 }}
training_config {{ batch_size_per_gpu: {batch} num_epochs: {epochs}
  learning_rate {{ soft_start_annealing_schedule {{ min_learning_rate: {lr / 100} max_learning_rate: {lr}
    soft_start: 0.1 annealing: 0.8 }} }}
  regularizer {{ type: L2 weight: 1e-5 }}
  optimizer {{ adam {{ }} }}
}}
{extra}"""


def classification_folders(root: Path, n: int = 60, seed: int = 5) -> tuple[Path, Path]:
    generate(root / "train", n, task="classification", crop_size=32, seed=seed, overwrite=True,
             progress=False, workers=1)
    generate(root / "val", n // 3, task="classification", crop_size=32, seed=seed + 1, overwrite=True,
             progress=False, workers=1)
    return root / "train", root / "val"
