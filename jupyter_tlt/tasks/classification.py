"""Classification: class-folder data, a softmax head, top-k accuracy and the confusion matrix."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..data.folders import folder_dataset, list_classes
from ..errors import SpecError
from ..metrics import evaluate_classification
from ..spec import views
from ..spec.defaults import value


class ClassificationTask:
    name = "classification"
    primary_metric = "accuracy"

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

    def build(self):
        from ..models import build_model

        return build_model(self.spec, "classification", len(self.class_names))

    def compile_args(self) -> dict:
        return {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}

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

    def validate(self, model, batch_size: int) -> dict:
        if not self.val_dir:
            return {}
        result = self.metrics(self.predict(model, self.eval_batches(batch_size)))
        return {"accuracy": result.top1, "top5": result.top5}
