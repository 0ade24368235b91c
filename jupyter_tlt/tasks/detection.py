"""DetectNet_v2 detection: TFRecord data, coverage/bbox targets, clustering, KITTI mAP."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..data import loader, tfrecord
from ..data.tfrecord_io import read_records
from ..detectnet.postprocess import PostprocessConfig, postprocess
from ..detectnet.rasterize import RasterizerConfig, target_fn
from ..metrics import evaluate_detection
from ..metrics.average_precision import normalize_mode
from ..metrics.kitti_results import clip_detections
from ..metrics.boxes import Detections, GroundTruth
from ..spec import views
from ..spec.defaults import DEFAULT_IOU, value
from ..spec.protos import example_pb2


class DetectionTask:
    name = "detection"
    primary_metric = "mAP"

    def __init__(self, spec, class_names: Sequence[str] | None = None):
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
        return ds.map(target_fn(RasterizerConfig.from_spec(self.spec, self.class_names))), steps

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
    def build(self):
        from ..models import build_model

        return build_model(self.spec, "detection", len(self.class_names))

    def compile_args(self) -> dict:
        from ..detectnet.loss import loss_weights, make_losses

        return {"loss": make_losses(self.spec, self.class_names),
                "loss_weights": loss_weights(self.spec, self.class_names)}

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
