"""Search steps: `tune` (hyper-parameters over spec fields, Optuna or Ray Tune),
`tune_postprocessing` (a trained detector's clustering parameters, no retraining) and `compress`
(prune to several targets, retrain, Pareto front)."""

from __future__ import annotations

import argparse

from ..export.formats import FRAMEWORK_CHOICES, canonical
from ..tasks import TASKS
from .model import KEY_HELP


def _postprocessing_args(p: argparse.ArgumentParser) -> None:
    from ..tuning.postprocessing import LEVELS

    p.add_argument("-m", "--model_path", required=True, help="trained DetectNet_v2 model (.keras, .onnx)")
    p.add_argument("-e", "--experiment_spec_file", help="spec (default: the one stored in the model)")
    p.add_argument("-o", "--output_spec", help="where the spec with the best postprocessing_config goes "
                   "(default <results>/tune_postprocessing/spec.txt)")
    p.add_argument("--trials", type=int, default=60, help="parameter sets to try (default 60; each "
                   "re-clusters stored outputs, no network run)")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS", help="stop searching after it")
    p.add_argument("--level", choices=LEVELS, default="moderate", help="KITTI difficulty whose mAP is the "
                   "objective (default moderate)")
    p.add_argument("-b", "--batch_size", type=int, default=None)
    p.add_argument("-f", "--framework", choices=FRAMEWORK_CHOICES, default=None)
    p.add_argument("-k", "--key", default=None, help=KEY_HELP)
    p.add_argument("--validation_records", metavar="GLOB", help="TFRecords to tune on instead of the spec's "
                   "validation data (keeps the test frames unseen), e.g. tune/records/kitti-fold-*")
    p.add_argument("--no_update_model", action="store_true", help="leave the spec stored in the model as it is")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true", help="replace an existing output spec")


def _postprocessing(args):
    from ..tuning.postprocessing import tune_postprocessing

    return tune_postprocessing(args.model_path, spec=args.experiment_spec_file, output_spec=args.output_spec,
                               trials=args.trials, level=args.level, timeout=args.timeout,
                               batch_size=args.batch_size, key=args.key,
                               framework=canonical(args.framework),
                               update_model=not args.no_update_model, seed=args.seed, overwrite=args.overwrite,
                               validation_records=args.validation_records)


def _tune_args(p: argparse.ArgumentParser) -> None:
    from ..tuning.search import LEVELS, PRUNERS

    p.add_argument("task", choices=TASKS)
    p.add_argument("-e", "--experiment_spec_file", required=True, help="the spec every trial starts from")
    p.add_argument("-r", "--results_dir", required=True, help="the search's folder: tune.db, trials/, "
                   "best_spec.txt (the same command resumes a search there)")
    p.add_argument("-s", "--search_space", metavar="YAML", help="spec fields and their ranges, e.g. "
                   "'training_config.regularizer.weight: {low: 1.0e-6, high: 1.0e-3, log: true}'")
    p.add_argument("-p", "--param", action="append", default=[], metavar="FIELD=LOW:HIGH[:log][:int]|A|B",
                   help="a searched field (repeat -p); e.g. -p train_config.learning_rate=1e-4:1e-1:log")
    p.add_argument("--trials", type=int, default=None, help="trials in all (earlier runs of this search count)")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS", help="wall time of this run")
    p.add_argument("--level", choices=LEVELS, default="moderate", help="detection: the KITTI level whose mAP "
                   "is the objective (default moderate)")
    p.add_argument("--pruner", choices=PRUNERS, default="median", help="stops bad trials from their "
                   "per-epoch validation (default median)")
    p.add_argument("--storage", metavar="URL", help="Optuna database shared by several searching machines "
                   "(default: sqlite in the results folder)")
    p.add_argument("--backend", choices=("optuna", "ray"), default="optuna", help="ray: trials on Ray Tune "
                   "(pip install 'jupyter-tlt[ray]')")
    p.add_argument("--address", help="with --backend ray: the cluster (e.g. ray://head:10001; default: a "
                   "local Ray)")
    p.add_argument("--gpus_per_trial", type=int, default=1, help="GPUs each trial trains on (MirroredStrategy; "
                   "with --backend ray, the GPUs Ray reserves per trial)")
    p.add_argument("--seed", type=int, default=0, help="sampler seed")
    p.add_argument("-k", "--key", default=None, help=KEY_HELP)


def _tune(args):
    from ..tuning.search import tune

    return tune(args.task, args.experiment_spec_file, args.results_dir, space=args.search_space,
                params=args.param, trials=args.trials, timeout=args.timeout, storage=args.storage,
                level=args.level, pruner=args.pruner, seed=args.seed, key=args.key, backend=args.backend,
                address=args.address, gpus_per_trial=args.gpus_per_trial)


def _compress_args(p: argparse.ArgumentParser) -> None:
    from ..tuning.search import LEVELS

    p.add_argument("-m", "--model_path", required=True, help="trained model (.keras) carrying its spec")
    p.add_argument("-r", "--results_dir", required=True, help="prune/, trials/keep_*/ and compression.json go here")
    p.add_argument("--keep", type=float, nargs="+", default=[0.7, 0.5, 0.3], metavar="F",
                   help="fractions to prune to (default 0.7 0.5 0.3)")
    p.add_argument("--by", choices=("flops", "params"), default="flops", help="what --keep counts (default flops)")
    p.add_argument("--epochs", type=int, default=2, help="retraining epochs per candidate (default 2)")
    p.add_argument("--max_drop", type=float, default=0.01, help="objective loss allowed for the recommendation, "
                   "as a fraction (default 0.01: one mAP point)")
    p.add_argument("--level", choices=LEVELS, default="moderate")
    p.add_argument("-e", "--experiment_spec_file", help="spec (default: the one stored in the model)")
    p.add_argument("-nf", "--min_num_filters", type=int, default=16)
    p.add_argument("-pg", "--pruning_granularity", type=int, default=8)
    p.add_argument("--cpu_latency", action="store_true", help="also time every model in ONNX Runtime on the "
                   "CPU (one image per run): cpu_ms and speedup columns")
    p.add_argument("-k", "--key", default=None, help=KEY_HELP)


def _compress(args):
    from ..tuning.compression import compress

    return compress(args.model_path, args.results_dir, keep=tuple(args.keep), by=args.by, epochs=args.epochs,
                    max_drop=args.max_drop, level=args.level, spec=args.experiment_spec_file, key=args.key,
                    min_num_filters=args.min_num_filters, pruning_granularity=args.pruning_granularity,
                    cpu_latency=args.cpu_latency)


def _steps():
    from . import Step

    return [
        Step("tune", "Search hyper-parameters (spec fields) on Optuna or Ray Tune; each trial an experiment, "
             "bad ones stopped early; writes the best spec.", _tune_args, _tune),
        Step("compress", "Compression search: prune to several FLOP/parameter targets, retrain each briefly, "
             "evaluate; Pareto front and the smallest model within a stated drop.", _compress_args, _compress),
        Step("tune_postprocessing", "Tune a trained detector's per-class clustering parameters against "
             "validation mAP (raw outputs computed once, no retraining).", _postprocessing_args, _postprocessing),
    ]
