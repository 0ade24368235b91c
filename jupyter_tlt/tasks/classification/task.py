"""Classification: class-folder data, a softmax head, top-k accuracy and the confusion matrix.

    task = ClassificationTask(spec, dataset_dir="data/val")   # or tasks.make_task("classification", spec)
    metrics = task.metrics(task.predict(model, task.eval_batches(32)))
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ...data.folders import folder_dataset, list_classes
from ...errors import SpecError
from ...metrics import evaluate_classification
from ...spec import views
from ...spec.defaults import value

OUTPUT_NAME = "predictions"
DEEPSTREAM_BLOBS = ("predictions/Softmax",)

# The training form's starting spec (`TrainPanel(task=...)`): small inputs, the synthetic data's paths.
CLASSIFICATION_TEMPLATE = """random_seed: 42
model_config { arch: "resnet" n_layers: 18 input_image_size: "3,64,64" }
train_config {
  train_dataset_path: "data/classification/train"
  val_dataset_path: "data/classification/val"
  batch_size_per_gpu: 32
  n_epochs: 10
  learning_rate: 0.01
  step_size: 5
  gamma: 0.5
}
"""


class ClassificationTask:
    name = "classification"
    primary_metric = "accuracy"
    metric_label = "top-1 accuracy (%)"   # the headline column of `compare`
    output_names = (OUTPUT_NAME,)
    letterbox = False                     # images are resized to the input, not padded
    supports_analysis = False
    tunable_postprocessing = False
    result_files = None                   # no result-file format to evaluate without a model
    counted = "images"                    # what `tlt infer` counts per class
    spec_template = CLASSIFICATION_TEMPLATE
    evaluation_figure = "confusion_matrix.png"

    def __init__(self, spec, class_names: Sequence[str] | None = None, dataset_dir=None):
        self.spec = spec
        tc = spec.train_config
        self.train_dir = tc.train_dataset_path
        self.val_dir = dataset_dir or tc.val_dataset_path
        if class_names:
            self.class_names = list(class_names)
        else:
            if not self.train_dir:
                raise SpecError("train_config.train_dataset_path is not set; point it at a folder "
                                "with one sub-folder of images per class.")
            self.class_names = list_classes(self.train_dir)[0]
        _, self.height, self.width = views.input_shape(spec)

    def _dataset(self, directory, batch_size, training, repeat=False):
        tc = self.spec.train_config
        ds, _ = folder_dataset(directory, image_size=(self.height, self.width), batch_size=batch_size,
                               training=training, class_names=self.class_names,
                               seed=views.random_seed(self.spec), repeat=repeat,
                               hflip=bool(value(tc, "enable_horizontal_flip")),
                               color=bool(value(tc, "enable_color_augmentation")))
        return ds

    def train_data(self, batch_size: int):
        images = len(list_classes(self.train_dir)[1])
        return self._dataset(self.train_dir, batch_size, True, repeat=True), max(1, images // batch_size)

    def eval_batches(self, batch_size: int, use_training_set: bool = False):
        directory = self.train_dir if use_training_set else self.val_dir
        if not directory:
            raise SpecError("train_config.val_dataset_path is not set; give a validation folder "
                            "(or -d on `tlt evaluate classification`).")
        return self._dataset(directory, batch_size, False)

    @staticmethod
    def matches_spec(spec) -> bool:
        """Any spec without another task's layout (the seed's train_config with folder paths)."""
        return True

    @staticmethod
    def matches_outputs(names: Sequence[str]) -> bool:
        return len(names) == 1

    @staticmethod
    def build_from_spec(spec, num_classes: int):
        from ...models import backbone_from_spec
        from .head import build_classifier

        arch, n_layers, shape, options = backbone_from_spec(spec)
        return build_classifier(arch, n_layers, shape, num_classes, **options)

    def build(self):
        return self.build_from_spec(self.spec, len(self.class_names))

    def compile_args(self) -> dict:
        return {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}

    def training_callbacks(self) -> list:
        """Keras callbacks the losses need during ``fit``: none for cross-entropy."""
        return []

    def predict(self, model, batches, progress=None):
        labels, probs = [], []
        for images, y in batches:
            probs.append(np.asarray(model(images, training=False)))
            labels.append(y.numpy())
            if progress is not None:
                progress.update(len(labels[-1]))
        if not probs:
            return np.zeros(0, np.int64), np.zeros((0, len(self.class_names)))
        return np.concatenate(labels), np.concatenate(probs)

    def metrics(self, truth_and_probs):
        labels, probs = truth_and_probs
        return evaluate_classification(labels, probs, self.class_names)

    @staticmethod
    def headline(metrics) -> float:
        """The number `compare` tabulates: top-1 accuracy in [0, 1]."""
        return metrics.top1

    @staticmethod
    def plot_metrics(metrics, ax) -> None:
        metrics.plot_confusion(ax=ax)

    def evaluate_model(self, model, batches, pbar, use_training_set: bool = False, mode=None):
        """(metrics, number of images, (labels, probabilities)) over the evaluation folder."""
        predictions = self.predict(model, batches, pbar)
        return self.metrics(predictions), len(predictions[0]), predictions

    def evaluation_extras(self, predictions, model_path, **options):
        """Nothing beyond the metrics: the confusion matrix is the classifier's analysis."""
        return {}, None

    def infer_outputs(self, out) -> list:
        """What `tlt infer` writes under `out` (refused when present, unless overwriting)."""
        return [out / "predictions.csv"]

    def write_predictions(self, model, files, out, batch_size: int, progress: bool, **options):
        """predictions.csv (top class, its confidence, every class's probability); (counts, files, '')."""
        from .predictions import write_csv

        counts, written = write_csv(model, self.spec, self.class_names, files, out, batch_size, progress)
        return counts, written, ""

    # -- deployment ---------------------------------------------------------------------------
    @staticmethod
    def labels_text(class_names: Sequence[str]) -> str:
        """nvinfer reads a classifier's labels as one line per output layer, classes separated by ';'."""
        return ";".join(class_names) + "\n"

    def deepstream_postprocess(self):
        return None

    @staticmethod
    def deepstream_config(class_names: Sequence[str], postprocess=None, classifier_threshold: float = 0.5):
        """(nvinfer [property] keys, comment lines before it, lines after it) of a classifier."""
        return ({"network-type": 1, "output-blob-names": ";".join(DEEPSTREAM_BLOBS),
                 "classifier-threshold": format(float(classifier_threshold), ".6g")}, [], [])

    def validate(self, model, batch_size: int) -> dict:
        if not self.val_dir:
            return {}
        result = self.metrics(self.predict(model, self.eval_batches(batch_size)))
        return {"accuracy": result.top1, "top5": result.top5}
