"""Model steps: `train`, `evaluate`, `infer`, `prune`, `compare`, `lineage`."""

from __future__ import annotations

import argparse
import os

from ..errors import UsageError
from ..export.formats import FRAMEWORK_CHOICES
from ..pruning.options import CRITERIA, DEFAULTS, NORMALIZERS, SWEEP_THRESHOLDS
from ..tasks import TASKS, describe, task_class
from . import Step

KEY_HELP = "key of an encrypted model (optional: without -k nothing is encrypted and no key is needed)"


def _train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("task", choices=TASKS, help=describe())
    p.add_argument("-e", "--experiment_spec_file", required=True, help="experiment spec")
    p.add_argument("-r", "--results_dir", required=True, help="results directory (resumes if it "
                   "holds checkpoints)")
    p.add_argument("-n", "--model_name", default="model", help="name of the final model file (default model)")
    p.add_argument("-k", "--key", default=None, help=KEY_HELP + "; the final model is encrypted with it")
    p.add_argument("--gpus", type=int, default=1, help="GPUs to train on (MirroredStrategy); "
                   "several machines: set TF_CONFIG (see README)")
    p.add_argument("--use_amp", action="store_true", default=None,
                   help="mixed float16 on GPUs with tensor cores (TAO's flag); on a CPU it says why it is off")
    p.add_argument("-v", "--verbose", action="store_true", help="log every step to the console")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def _train(args):
    from ..train import train

    return train(args.experiment_spec_file, args.results_dir, task=args.task, gpus=args.gpus,
                 key=args.key, model_name=args.model_name, progress=not args.quiet,
                 verbose=args.verbose, use_amp=args.use_amp)


def _evaluate_args(p: argparse.ArgumentParser) -> None:
    from ..metrics.average_precision import AP_MODES

    p.add_argument("task", choices=TASKS)
    p.add_argument("-e", "--experiment_spec_file", help="experiment spec (detection)")
    p.add_argument("-m", "-pm", "--model_path", dest="model_path",
                   help="model file (.keras, .hdf5); or evaluate result files with --predictions")
    p.add_argument("--predictions", metavar="DIR", help="detection without a model: folder of KITTI result "
                   "files (16 fields, score last; e.g. DeepStream's or tlt infer's), one per image")
    p.add_argument("--labels", metavar="DIR", help="with --predictions: folder of KITTI label files; "
                   "pairs by file name")
    p.add_argument("--image_dir", metavar="DIR", help="with --predictions: the images, to clip boxes "
                   "past their border (optional)")
    p.add_argument("--classes", nargs="+", metavar="CLASS", help="with --predictions: classes to "
                   "evaluate (default: those in the labels, DontCare excluded)")
    p.add_argument("--ap_mode", choices=AP_MODES, type=str.upper, default=None,
                   help="average precision: SAMPLE (11-point, TAO's; the default unless the spec says "
                   "otherwise), INTEGRATE, COCO101, KITTI_R40 (the KITTI benchmark since 2019), "
                   "KITTI_R11 (before)")
    p.add_argument("-d", "--dataset_dir", help="classification: folder of class sub-folders")
    p.add_argument("-b", "--batch_size", type=int, default=None, help="batch size")
    p.add_argument("-f", "--framework", choices=FRAMEWORK_CHOICES, default=None,
                   help="model runtime (default: by the file's suffix; tlt = keras)")
    p.add_argument("-k", "--key", default=None, help=KEY_HELP)
    p.add_argument("-r", "--results_dir", help="where evaluate/metrics.json goes "
                   "(default: the model's results directory)")
    p.add_argument("--use_training_set", action="store_true", help="evaluate on the training folds")
    p.add_argument("--analysis", action="store_true", help="detection: also write the error analysis "
                   "(TP/FP/missed images, confusion matrix with background, P/R/F1 against confidence) "
                   "to evaluate/analysis/")
    _confidence_arg(p, "the analysis's threshold for every class (default: the best-F1 one per class)")
    p.add_argument("-q", "--quiet", action="store_true")


def _confidence_arg(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--confidence_threshold", type=float, default=None, metavar="SCORE", help=what)


def _evaluate(args):
    from ..evaluate import evaluate, evaluate_predictions

    if args.predictions:
        return evaluate_predictions(args.predictions, _predictions_labels(args), classes=args.classes,
                                    mode=args.ap_mode or "SAMPLE", results_dir=args.results_dir,
                                    image_dir=args.image_dir)
    if not args.model_path:
        raise UsageError("evaluate needs a model (-m/--model_path) or a folder of result files "
                         "(--predictions DIR --labels DIR)")
    return evaluate(args.task, args.model_path, spec=args.experiment_spec_file,
                    dataset_dir=args.dataset_dir, batch_size=args.batch_size,
                    use_training_set=args.use_training_set, results_dir=args.results_dir,
                    key=args.key, framework=args.framework, progress=not args.quiet,
                    ap_mode=args.ap_mode, analysis=args.analysis,
                    confidence_threshold=args.confidence_threshold)


def _predictions_labels(args) -> str:
    """The --labels folder of an evaluation of result files, after checking the flags fit together."""
    if not task_class(args.task).result_files:
        raise UsageError("--predictions evaluates detection result files; use "
                         "'tlt evaluate detection --predictions DIR --labels DIR'")
    if args.model_path:
        raise UsageError("pass either -m/--model_path or --predictions, not both")
    if not args.labels:
        raise UsageError("--predictions needs --labels DIR, the KITTI label files of the same images")
    return args.labels


def _infer_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("task", choices=TASKS)
    p.add_argument("-e", "--experiment_spec_file", help="experiment spec (post-processing settings)")
    p.add_argument("-m", "--model_path", required=True)
    p.add_argument("-i", "--image_dir", required=True, help="folder of images")
    p.add_argument("-r", "--results_dir", required=True, help="output folder")
    p.add_argument("-b", "--batch_size", type=int, default=8)
    p.add_argument("-f", "--framework", choices=FRAMEWORK_CHOICES, default=None,
                   help="model runtime (default: by the file's suffix; tlt = keras)")
    p.add_argument("-k", "--key", default=None, help=KEY_HELP)
    p.add_argument("--overwrite", action="store_true")
    _confidence_arg(p, "detection: keep boxes scored at least this, every class (default: the spec's "
                    "dbscan/nms_confidence_threshold if written, else the best-F1 one chosen by evaluate)")
    p.add_argument("--all_candidates", action="store_true", help="detection: write every candidate box "
                   "to labels/ (for AP); the drawn images still show only the kept ones")
    p.add_argument("-q", "--quiet", action="store_true")


def _infer(args):
    from ..infer import infer

    return infer(args.task, args.model_path, args.image_dir, args.results_dir,
                 spec=args.experiment_spec_file, batch_size=args.batch_size, key=args.key, framework=args.framework,
                 overwrite=args.overwrite, progress=not args.quiet,
                 confidence_threshold=args.confidence_threshold, all_candidates=args.all_candidates)


def _prune_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-m", "--model", required=True, help="model to prune (.keras, .hdf5)")
    p.add_argument("-o", "--output_file", help="pruned model (e.g. results/prune/model_pruned.keras); "
                   "the report goes next to it")
    p.add_argument("-pth", "--pruning_threshold", type=float, default=DEFAULTS.threshold,
                   help=f"filters whose normalized score is at or below it are removed (default {DEFAULTS.threshold}); "
                   "--sweep shows its effect")
    p.add_argument("-nf", "--min_num_filters", type=int, default=DEFAULTS.min_num_filters,
                   help=f"filters kept per layer at least (default {DEFAULTS.min_num_filters})")
    p.add_argument("-pg", "--pruning_granularity", type=int, default=DEFAULTS.pruning_granularity,
                   help=f"kept filters are a multiple of it (default {DEFAULTS.pruning_granularity})")
    p.add_argument("-n", "--normalizer", choices=NORMALIZERS, default=DEFAULTS.normalizer,
                   help=f"score normalization per layer (default {DEFAULTS.normalizer})")
    p.add_argument("-eq", "--equalization_criterion", choices=CRITERIA, default=DEFAULTS.equalization_criterion,
                   help="how filters that must stay aligned (residual adds) combine scores "
                   f"(default {DEFAULTS.equalization_criterion})")
    p.add_argument("-el", "--excluded_layers", nargs="*", default=[], metavar="LAYER",
                   help="layers to leave whole, separated by spaces or commas (heads are always left whole)")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--target_params", type=float, metavar="F", help="instead of -pth: the threshold that "
                        "keeps at most this fraction of the parameters (e.g. 0.5), within one granularity step")
    target.add_argument("--target_flops", type=float, metavar="F", help="instead of -pth: keep at most this "
                        "fraction of the FLOPs")
    target.add_argument("--target_speedup", type=float, metavar="X", help="instead of -pth: the smallest "
                        "threshold whose model runs X times faster in ONNX Runtime on the CPU (measured)")
    p.add_argument("--sweep", action="store_true", help="print parameters and FLOPs for thresholds 0 to 1 "
                   "instead of pruning")
    p.add_argument("-k", "--key", default=None, help=KEY_HELP + "; the pruned model is encrypted with it")
    p.add_argument("--overwrite", action="store_true", help="replace an existing pruned model")
    p.add_argument("-v", "--verbose", action="store_true", help="print the per-layer table")


def _prune(args):
    from ..errors import OutputError
    from ..prune import prune, prune_sweep

    excluded = [name for item in args.excluded_layers for name in item.split(",")]
    options = dict(min_num_filters=args.min_num_filters, pruning_granularity=args.pruning_granularity,
                   normalizer=args.normalizer, equalization_criterion=args.equalization_criterion,
                   excluded_layers=excluded)
    if args.sweep:
        return prune_sweep(args.model, list(SWEEP_THRESHOLDS), key=args.key, **options).to_string(index=False, float_format="{:.3f}".format)
    if not args.output_file:
        raise OutputError("-o/--output_file is required: where to write the pruned model "
                          "(e.g. results/prune/model_pruned.keras)")
    report = prune(args.model, args.output_file, threshold=args.pruning_threshold, key=args.key,
                   overwrite=args.overwrite, target_params=args.target_params,
                   target_flops=args.target_flops, target_speedup=args.target_speedup, **options)
    if args.verbose:
        print(report.to_frame().to_string())
    return report


def _compare_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("task", choices=TASKS)
    p.add_argument("-m", "--model_path", action="append", required=True, metavar="[LABEL=]MODEL",
                   help="a model to compare (repeat -m; LABEL= names its row)")
    p.add_argument("-e", "--experiment_spec_file", help="spec of the evaluation data (default: the one stored "
                   "in the first model)")
    p.add_argument("-d", "--dataset_dir", help="classification: folder of class sub-folders")
    p.add_argument("--speed", type=int, default=0, metavar="BATCH", help="also time ONNX Runtime on the CPU "
                   "at this batch size")
    p.add_argument("-k", "--key", default=None, help=KEY_HELP)
    p.add_argument("-q", "--quiet", action="store_true")


def _compare(args):
    from ..compare import compare

    models = dict(item.split("=", 1) if "=" in item else (item, item) for item in args.model_path)
    return compare(args.task, models, spec=args.experiment_spec_file, dataset_dir=args.dataset_dir,
                   key=args.key, speed_batch=args.speed, progress=not args.quiet)


def _lineage_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="a model file (.keras, .onnx) or an experiment's results directory "
                   "(its newest model)")


def _lineage(args):
    from ..errors import DataError
    from ..lineage import Lineage, lineage

    if not os.path.exists(args.model):
        raise DataError(f"{args.model}: no such model or results directory; give a model file or an "
                        "experiment's results directory")
    return Lineage(lineage(args.model))


STEPS = [
    Step("train", "Train (or fine-tune, or retrain a pruned model) from an experiment spec.",
         _train_args, _train),
    Step("evaluate", "Evaluate a model: KITTI mAP per difficulty, or accuracy and confusion matrix.",
         _evaluate_args, _evaluate),
    Step("infer", "Run a model on a folder of images: KITTI labels and drawn boxes, or a CSV.",
         _infer_args, _infer, aliases=("inference",)),
    Step("prune", "Remove low-magnitude filters (structured pruning) to make a smaller, faster model; "
         "retrain it afterwards.", _prune_args, _prune),
    Step("compare", "Size, FLOPs and accuracy of several models side by side (the before/after table).",
         _compare_args, _compare),
    Step("lineage", "Where a model came from: pretrained -> fine-tuned -> pruned -> retrained -> exported, "
         "with each model's figures.", _lineage_args, _lineage),
]
