"""Benchmark of issue 21: pruning to a target (requested vs achieved) and post-processing tuning.

    python bench/tune.py targets [--arch resnet --layers 18 --width 256 --height 160 --classes 4]
    python bench/tune.py postprocessing -m demo/runs/target/weights/model.keras [--trials 60]

`targets`: the benchmark profile's DetectNet_v2 (resnet18, 256x160, 4 classes), its filters scaled by
random factors in [0.02, 1] (a trained model's spread of filter norms; the weights are not trained),
pruned to parameter and FLOP targets: the threshold chosen and the fraction achieved, and the time the
choice takes. `postprocessing`: `tune_postprocessing` on a trained model, mAP before and after.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def spread(model, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if type(layer).__name__ in ("Conv2D", "Dense") and not layer.name.startswith("output_"):
            weights = layer.get_weights()
            weights[0] = weights[0] * rng.uniform(0.02, 1.0, size=weights[0].shape[-1])
            layer.set_weights(weights)
    return model


def targets(args) -> None:
    from jupyter_tlt.tasks.detectnet_v2.head import build_detectnet
    from jupyter_tlt.pruning import Pruner
    from jupyter_tlt.pruning.target import choose_threshold

    model = spread(build_detectnet(args.arch, args.layers, (args.height, args.width, 3), args.classes))
    pruner = Pruner(model)
    print("| target | requested | threshold | achieved | choice ms |\n| --- | --- | --- | --- | --- |")
    for kind in ("params", "flops"):
        for requested in (0.9, 0.75, 0.5, 0.3, 0.15):
            start = time.perf_counter()
            choice = choose_threshold(pruner, kind, requested, 16, 8)
            ms = 1000 * (time.perf_counter() - start)
            print(f"| {kind} | {requested:.2f} | {choice.threshold:.4f} | {choice.achieved:.4f}"
                  f"{'' if choice.reached else ' (floor)'} | {ms:.0f} |")


def postprocessing(args) -> None:
    from jupyter_tlt.tuning.postprocessing import tune_postprocessing

    result = tune_postprocessing(args.model, trials=args.trials, level=args.level, output_spec=args.output,
                                 update_model=False, overwrite=True)
    print(result)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    t = sub.add_parser("targets")
    t.add_argument("--arch", default="resnet")
    t.add_argument("--layers", type=int, default=18)
    t.add_argument("--width", type=int, default=256)
    t.add_argument("--height", type=int, default=160)
    t.add_argument("--classes", type=int, default=4)
    p = sub.add_parser("postprocessing")
    p.add_argument("-m", "--model", required=True)
    p.add_argument("--trials", type=int, default=60)
    p.add_argument("--level", default="moderate")
    p.add_argument("-o", "--output", default="/tmp/tuned_postprocessing_spec.txt")
    args = ap.parse_args()
    targets(args) if args.what == "targets" else postprocessing(args)


if __name__ == "__main__":
    main()
