"""Model steps: `train`, `evaluate`, `infer`."""

from __future__ import annotations

import argparse

from . import Step

TASKS = ("detection", "classification")


def _train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("task", choices=TASKS, help="detection (DetectNet_v2) or classification")
    p.add_argument("-e", "--experiment_spec_file", required=True, help="experiment spec")
    p.add_argument("-r", "--results_dir", required=True, help="results directory (resumes if it "
                   "holds checkpoints)")
    p.add_argument("-n", "--model_name", default="model", help="name of the final model file (default model)")
    p.add_argument("-k", "--key", default=None, help="accepted for TLT compatibility: jupyter-tlt models "
                   "are plain .keras files and need no key")
    p.add_argument("--gpus", type=int, default=1, help="GPUs to train on (MirroredStrategy); "
                   "several machines: set TF_CONFIG (see README)")
    p.add_argument("-v", "--verbose", action="store_true", help="log every step to the console")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def _train(args):
    from ..train import train

    return train(args.experiment_spec_file, args.results_dir, task=args.task, gpus=args.gpus,
                 key=args.key, model_name=args.model_name, progress=not args.quiet,
                 verbose=args.verbose)


def _evaluate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("task", choices=TASKS)
    p.add_argument("-e", "--experiment_spec_file", help="experiment spec (detection)")
    p.add_argument("-m", "-pm", "--model_path", dest="model_path", required=True,
                   help="model file (.keras, .hdf5)")
    p.add_argument("-d", "--dataset_dir", help="classification: folder of class sub-folders")
    p.add_argument("-b", "--batch_size", type=int, default=None, help="batch size")
    p.add_argument("-f", "--framework", choices=["tlt", "keras"], default="keras",
                   help="model runtime (tlt = keras)")
    p.add_argument("-k", "--key", default=None, help="accepted for TLT compatibility; no key is needed")
    p.add_argument("-r", "--results_dir", help="where evaluate/metrics.json goes "
                   "(default: the model's results directory)")
    p.add_argument("--use_training_set", action="store_true", help="evaluate on the training folds")
    p.add_argument("-q", "--quiet", action="store_true")


def _evaluate(args):
    from ..evaluate import evaluate

    return evaluate(args.task, args.model_path, spec=args.experiment_spec_file,
                    dataset_dir=args.dataset_dir, batch_size=args.batch_size,
                    use_training_set=args.use_training_set, results_dir=args.results_dir,
                    key=args.key, progress=not args.quiet)


def _infer_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("task", choices=TASKS)
    p.add_argument("-e", "--experiment_spec_file", help="experiment spec (post-processing settings)")
    p.add_argument("-m", "--model_path", required=True)
    p.add_argument("-i", "--image_dir", required=True, help="folder of images")
    p.add_argument("-r", "--results_dir", required=True, help="output folder")
    p.add_argument("-b", "--batch_size", type=int, default=8)
    p.add_argument("-k", "--key", default=None, help="accepted for TLT compatibility; no key is needed")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true")


def _infer(args):
    from ..infer import infer

    return infer(args.task, args.model_path, args.image_dir, args.results_dir,
                 spec=args.experiment_spec_file, batch_size=args.batch_size, key=args.key,
                 overwrite=args.overwrite, progress=not args.quiet)


STEPS = [
    Step("train", "Train (or fine-tune, or retrain a pruned model) from an experiment spec.",
         _train_args, _train),
    Step("evaluate", "Evaluate a model: KITTI mAP per difficulty, or accuracy and confusion matrix.",
         _evaluate_args, _evaluate),
    Step("infer", "Run a model on a folder of images: KITTI labels and drawn boxes, or a CSV.",
         _infer_args, _infer, aliases=("inference",)),
]
