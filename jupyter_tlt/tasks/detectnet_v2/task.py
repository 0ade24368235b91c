"""DetectNet_v2 detection: TFRecord data, coverage/bbox targets, clustering, KITTI mAP.

    task = DetectionTask(spec)            # or tasks.make_task("detection", spec)
    metrics = task.metrics(task.ground_truth(), task.predict(model, task.eval_batches(8)))
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ...data import loader, tfrecord
from ...data.tfrecord_io import read_records
from ...metrics import evaluate_detection
from ...metrics.average_precision import normalize_mode
from ...metrics.boxes import Detections, GroundTruth
from ...metrics.kitti_results import clip_detections
from ...spec import views
from ...spec.defaults import DEFAULT_IOU, value
from ...spec.protos import example_pb2
from .postprocess import PostprocessConfig, postprocess
from .predictions import IMAGES_DIR, LABELS_DIR
from .rasterize import OUTPUT_BBOX, OUTPUT_COV, RasterizerConfig, with_targets

# The training form's starting spec (`TrainPanel(task=...)`): small inputs, the synthetic data's paths.
DETECTION_TEMPLATE = """random_seed: 42
dataset_config {
  data_sources { tfrecords_path: "data/tfrecords/kitti-fold-*" }
  target_class_mapping { key: "car" value: "car" }
  target_class_mapping { key: "cyclist" value: "cyclist" }
  target_class_mapping { key: "pedestrian" value: "pedestrian" }
  target_class_mapping { key: "road_sign" value: "road_sign" }
  validation_fold: 0
}
augmentation_config {
  preprocessing { output_image_width: 256 output_image_height: 160 min_bbox_width: 2 min_bbox_height: 2 }
  spatial_augmentation { hflip_probability: 0.5 }
}
model_config { arch: "resnet" num_layers: 18 }
postprocessing_config {
  target_class_config { key: "car" value { clustering_config { coverage_threshold: 0.05 minimum_bounding_box_height: 4 dbscan_eps: 0.3 } } }
  target_class_config { key: "cyclist" value { clustering_config { coverage_threshold: 0.05 minimum_bounding_box_height: 4 dbscan_eps: 0.3 } } }
  target_class_config { key: "pedestrian" value { clustering_config { coverage_threshold: 0.05 minimum_bounding_box_height: 4 dbscan_eps: 0.3 } } }
  target_class_config { key: "road_sign" value { clustering_config { coverage_threshold: 0.05 minimum_bounding_box_height: 4 dbscan_eps: 0.3 } } }
}
evaluation_config { validation_period_during_training: 1 first_validation_epoch: 1 }
training_config { batch_size_per_gpu: 16 num_epochs: 10
  learning_rate { soft_start_annealing_schedule { min_learning_rate: 1e-05 max_learning_rate: 0.001
    soft_start: 0.1 annealing: 0.7 } }
  regularizer { type: L2 weight: 1e-05 }
  optimizer { adam { } }
}
"""


class DetectionTask:
    name = "detection"
    primary_metric = "mAP"
    metric_label = "mAP moderate (%)"           # the headline column of `compare`
    output_names = (OUTPUT_COV, OUTPUT_BBOX)    # the model's outputs, in order
    letterbox = True                            # images keep their aspect ratio (padded) at the input
    supports_analysis = True                    # evaluate --analysis (error analysis)
    tunable_postprocessing = True               # tune_postprocessing (per-class clustering search)
    result_files = "KITTI"                      # evaluate --predictions reads result files of this format
    counted = "detections"                      # what `tlt infer` counts per class
    spec_template = DETECTION_TEMPLATE
    evaluation_figure = "pr_curves.png"

    def __init__(self, spec, class_names: Sequence[str] | None = None, dataset_dir=None):
        # `dataset_dir` is a classifier's option: a detector evaluates the spec's validation fold
        self.spec = spec
        self.class_names = list(class_names) if class_names else loader.spec_class_names(spec)
        _, self.height, self.width = views.input_shape(spec)

    # -- data ---------------------------------------------------------------------------------
    def train_data(self, batch_size: int):
        """Infinite training batches with rasterized targets, and the steps in one epoch."""
        ds = loader.detection_dataset_from_spec(self.spec, training=True, repeat=True,
                                                batch_size=batch_size, class_names=self.class_names)
        frames = count_records(loader.split_files(self.spec, training=True))
        steps = max(1, frames // batch_size)
        return with_targets(ds, RasterizerConfig.from_spec(self.spec, self.class_names)), steps

    def eval_batches(self, batch_size: int, use_training_set: bool = False):
        """Un-augmented batches in record order, for validation and evaluation."""
        return loader.detection_dataset_from_spec(self.spec, training=False, batch_size=batch_size,
                                                  class_names=self.class_names,
                                                  use_training_set=use_training_set)

    def ground_truth(self, use_training_set: bool = False) -> list[GroundTruth]:
        """Ground truth in original pixels, in the same order as `eval_batches` yields frames."""
        mapping = views.class_mapping(self.spec)
        truth = []
        for path in loader.split_files(self.spec, training=use_training_set):
            for record in read_records(path):
                truth.append(ground_truth_from_record(record, mapping))
        return truth

    # -- model --------------------------------------------------------------------------------
    @staticmethod
    def matches_spec(spec) -> bool:
        """A DetectNet_v2 spec has a dataset_config (TFRecords and the class mapping)."""
        return spec.HasField("dataset_config")

    @staticmethod
    def matches_outputs(names: Sequence[str]) -> bool:
        return len(names) == 2

    @staticmethod
    def build_from_spec(spec, num_classes: int):
        from ...models import backbone_from_spec
        from .head import build_detectnet

        arch, n_layers, shape, options = backbone_from_spec(spec)
        pre = spec.augmentation_config.preprocessing
        if pre.HasField("output_image_width") and pre.HasField("output_image_height"):
            fields = ("augmentation_config.preprocessing.output_image_width",
                      "augmentation_config.preprocessing.output_image_height")
        else:
            fields = ("model_config.input_image_size (W)", "model_config.input_image_size (H)")
        return build_detectnet(arch, n_layers, shape, num_classes, input_fields=fields, **options)

    def build(self):
        return self.build_from_spec(self.spec, len(self.class_names))

    def compile_args(self) -> dict:
        from .loss import loss_weights, make_losses

        return {"loss": make_losses(self.spec, self.class_names),
                "loss_weights": loss_weights(self.spec, self.class_names)}

    def training_callbacks(self) -> list:
        """Keras callbacks the losses need during ``fit`` (TAO's cost auto-weighting when enabled)."""
        from .loss import training_callbacks

        return training_callbacks(self.spec)

    # -- prediction and metrics ---------------------------------------------------------------
    def predict(self, model, batches, progress=None) -> list[Detections]:
        """Detections in original image pixels for every frame of `batches`."""
        config = PostprocessConfig.from_spec(self.spec, self.class_names)
        names = np.array(self.class_names)
        out = []
        for images, labels in batches:
            cov, bbox = model(images, training=False)  # a plain call also works inside multi-worker runs
            scales = labels["scale"].numpy()
            for dets, scale in zip(postprocess(cov, bbox, config), scales):
                d = dets.in_original_pixels(float(scale))
                out.append(Detections(d.boxes, names[d.classes], d.scores))
            if progress is not None:
                progress.update(len(scales))
        return out

    def metrics(self, truth, detections, difficulties=("easy", "moderate", "hard"), mode=None):
        """DetectionMetrics with the spec's IoU thresholds, box filters and AP mode (`mode` overrides it)."""
        ec = self.spec.evaluation_config
        iou = {**DEFAULT_IOU, **dict(ec.minimum_detection_ground_truth_overlap)}
        boxes = {name: (value(cfg, "minimum_height"), value(cfg, "maximum_height"),
                        value(cfg, "minimum_width"), value(cfg, "maximum_width"))
                 for name, cfg in ec.evaluation_box_config.items()}
        mode = normalize_mode(mode if mode is not None else value(ec, "average_precision_mode"))
        # boxes past the border are clipped as `tlt infer` writes them, so both evaluate alike
        detections = [clip_detections(d, g.image_size)[0] for d, g in zip(detections, truth)]
        return evaluate_detection(truth, detections, self.class_names, iou_thresholds=iou, mode=mode,
                                  difficulties=difficulties, box_filters=boxes or None)

    @staticmethod
    def headline(metrics) -> float:
        """The number `compare` tabulates: mAP at the moderate difficulty, in [0, 1]."""
        return metrics.mAP["moderate"]

    @staticmethod
    def plot_metrics(metrics, ax) -> None:
        metrics.plot_pr(ax=ax)

    def evaluate_model(self, model, batches, pbar, use_training_set: bool = False, mode=None):
        """(metrics, number of images, (truth, detections)) over the evaluation fold."""
        truth = self.ground_truth(use_training_set)
        pbar.total = len(truth)
        detections = self.predict(model, batches, pbar)
        return self.metrics(truth, detections, mode=mode), len(truth), (truth, detections)

    def evaluation_extras(self, predictions, model_path, *, analysis: bool = False, override=None,
                          use_training_set: bool = False, out=None):
        """({"confidence_thresholds": ...} for metrics.json, the ErrorAnalysis written under
        `out`/analysis when `analysis`, else None)."""
        from .evaluation import error_analysis

        return error_analysis(self, predictions, model_path, analysis, override, use_training_set, out)

    def infer_outputs(self, out) -> list:
        """What `tlt infer` writes under `out` (refused when present, unless overwriting)."""
        return [out / LABELS_DIR, out / IMAGES_DIR]

    def write_predictions(self, model, files, out, batch_size: int, progress: bool, *, model_path,
                          confidence_threshold=None, all_candidates: bool = False):
        """KITTI labels and drawn images of `files`; (counts per class, files written, thresholds note)."""
        from . import confidence
        from .predictions import write_detections

        thresholds = confidence.for_model(model_path, self.class_names, override=confidence_threshold,
                                          spec=self.spec)
        counts, written = write_detections(model, self.spec, self.class_names, files, out, batch_size,
                                           progress, thresholds.active(), all_candidates)
        return counts, written, thresholds.describe()

    # -- deployment ---------------------------------------------------------------------------
    @staticmethod
    def labels_text(class_names: Sequence[str]) -> str:
        """DeepStream's labels file: one class per line."""
        return "".join(f"{name}\n" for name in class_names)

    def deepstream_postprocess(self):
        """The spec's clustering, which the nvinfer config carries per class."""
        return PostprocessConfig.from_spec(self.spec, self.class_names)

    @staticmethod
    def deepstream_config(class_names: Sequence[str], postprocess=None, classifier_threshold: float = 0.5):
        """(nvinfer [property] keys, comment lines before it, lines after it) of a DetectNet_v2 model."""
        from .deepstream import nvinfer_sections

        return nvinfer_sections(class_names, postprocess)

    def validate(self, model, batch_size: int) -> dict:
        """mAP over all ground truth of the validation fold (the training-time figure)."""
        truth = self.ground_truth()
        if not truth:
            return {}
        dets = self.predict(model, self.eval_batches(batch_size))
        result = self.metrics(truth, dets, difficulties=("all",))
        return {"mAP": result.mAP["all"],
                **{f"AP_{c}": result.ap[c]["all"] for c in self.class_names}}


def count_records(files: Sequence[str]) -> int:
    return sum(1 for f in files for _ in read_records(f))


def ground_truth_from_record(record: bytes, mapping: dict[str, str]) -> GroundTruth:
    """One frame's objects, classes renamed by the spec's mapping (others keep their name, so
    `dontcare` regions and neighbouring classes such as `van` still count in KITTI evaluation)."""
    ex = example_pb2.Example.FromString(record)
    f = ex.features.feature

    def floats(key):
        return np.asarray(f[key].float_list.value, dtype=np.float64)

    names = [c.decode() for c in f[tfrecord.OBJECT_CLASS].bytes_list.value]
    boxes = np.stack([floats(tfrecord.X1), floats(tfrecord.Y1), floats(tfrecord.X2),
                      floats(tfrecord.Y2)], axis=-1) if names else np.zeros((0, 4))
    size = (f[tfrecord.FRAME_WIDTH].int64_list.value[0], f[tfrecord.FRAME_HEIGHT].int64_list.value[0])
    return GroundTruth(boxes=boxes, classes=[mapping.get(n, n) for n in names], image_size=size,
                       truncation=floats(tfrecord.TRUNCATION),
                       occlusion=np.asarray(f[tfrecord.OCCLUSION].int64_list.value),
                       name=f[tfrecord.FRAME_ID].bytes_list.value[0].decode())
