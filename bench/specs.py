"""Spec text for the benchmark profile (a 4-class resnet18 DetectNet_v2 on the synthetic data)."""

CLASSES = ("car", "cyclist", "pedestrian", "road_sign")


def detection_spec(records: str, *, epochs: int, width: int = 256, height: int = 160,
                   pretrained: str = "", batch: int = 16, max_lr: float = 1e-3, layers: int = 18,
                   seed: int = 42, regularizer: str = "L2", reg_weight: float = 1e-5) -> str:
    mapping = "".join(f'  target_class_mapping {{ key: "{c}" value: "{c}" }}\n' for c in CLASSES)
    clustering = "".join(
        f'  target_class_config {{ key: "{c}" value {{ clustering_config {{ coverage_threshold: 0.1 '
        f'minimum_bounding_box_height: 4 dbscan_eps: 0.3 dbscan_min_samples: 0.05 }} }} }}\n'
        for c in CLASSES)
    pre = f'  pretrained_model_file: "{pretrained}"\n' if pretrained else ""
    return f"""random_seed: {seed}
dataset_config {{
  data_sources {{ tfrecords_path: "{records}" }}
{mapping}  validation_fold: 0
}}
augmentation_config {{
  preprocessing {{ output_image_width: {width} output_image_height: {height} min_bbox_width: 2 min_bbox_height: 2 }}
  spatial_augmentation {{ hflip_probability: 0.5 zoom_min: 0.9 zoom_max: 1.1 translate_max_x: 8 translate_max_y: 8 }}
  color_augmentation {{ hue_rotation_max: 10 saturation_shift_max: 0.1 contrast_scale_max: 0.1 }}
}}
model_config {{ arch: "resnet" num_layers: {layers}
{pre}}}
postprocessing_config {{
{clustering}}}
evaluation_config {{ validation_period_during_training: {max(1, epochs // 3)} first_validation_epoch: {epochs}
  average_precision_mode: SAMPLE }}
training_config {{ batch_size_per_gpu: {batch} num_epochs: {epochs}
  learning_rate {{ soft_start_annealing_schedule {{ min_learning_rate: {max_lr / 50} max_learning_rate: {max_lr}
    soft_start: 0.1 annealing: 0.7 }} }}
  regularizer {{ type: {regularizer} weight: {reg_weight} }}
  optimizer {{ adam {{ }} }}
}}
"""
