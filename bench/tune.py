"""Benchmark of issue 21: pruning to a target, tuning vs the default at equal budget, post-processing tuning.

    python bench/tune.py targets [--arch resnet --layers 18 --width 256 --height 160 --classes 4]
    python bench/tune.py equal_budget [--work /tmp/quick_profile/R7] [--trials 4] [--epochs 6]
    python bench/tune.py postprocessing -m demo/runs/target/weights/model.keras [--trials 60]
        [--validation_records tune/records/kitti-fold-*] [--test_spec spec.txt]

`targets`: the benchmark profile's DetectNet_v2 (resnet18, 256x160, 4 classes), its filters scaled by
random factors in [0.02, 1] (a trained model's spread of filter norms; the weights are not trained),
pruned to parameter and FLOP targets: the threshold chosen and the fraction achieved, and the time the
choice takes. `equal_budget`: the detection tutorial's quick profile (`bench/quick_profile.py` R7, run
first when its folder lacks the source-trained model): from the same source-trained model, the default
fine-tuning spec trained for TRIALS x EPOCHS epochs against `tlt tune` running TRIALS trials of EPOCHS
epochs over `bench/quick_profile_space.yaml` (the median pruner may stop trials early; those epochs are not
re-spent). The search's objective is moderate mAP on the spec's validation fold; both final models are
then scored on fresh target frames (another seed) that neither run has seen. `postprocessing`:
`tune_postprocessing` on a trained model, mAP before and after, on the tuning frames and (with
--test_spec) on test frames the search did not see, per class.
"""

from __future__ import annotations

import argparse
import json
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
    """mAP per class before and after tuning, on the frames tuned on and on the spec's own validation
    (test) frames; the model and its folder are only read: every output goes under --output."""
    from jupyter_tlt.evaluate import load_for_inference
    from jupyter_tlt.spec import spec_to_text
    from jupyter_tlt.tuning.postprocessing import tune_postprocessing
    from jupyter_tlt.tuning.space import apply

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    _, _, stored = load_for_inference(args.model)
    before = spec_to_text(stored)
    result = tune_postprocessing(args.model, trials=args.trials, level=args.level, output_spec=out / "tuned_spec.txt",
                                 update_model=False, overwrite=True, validation_records=args.validation_records)
    print(result)
    after = (out / "tuned_spec.txt").read_text()
    sets = [("test", lambda text: text)]
    if args.validation_records:
        sets.insert(0, ("tuning", lambda text: apply(text, {
            "dataset_config.validation_data_source.tfrecords_path": args.validation_records})))
    table = {}
    for name, on in sets:
        for when, text in (("before", before), ("after", after)):
            table[name, when] = scored(Path(args.model), on(text), out / f"{name}_{when}")
    classes = table["test", "before"].class_names
    head = " | ".join(f"{name} {when}" for name, _ in sets for when in ("before", "after"))
    print(f"\n{args.level} AP, %\n| class | {head} |\n| --- |" + " --- |" * (2 * len(sets)))
    for c in [*classes, "mAP"]:
        cells = [table[name, when].mAP[args.level] if c == "mAP" else table[name, when].ap[c][args.level]
                 for name, _ in sets for when in ("before", "after")]
        print(f"| {c} | " + " | ".join(f"{100 * v:.2f}" for v in cells) + " |")
    print(f"\ntuned spec: {out / 'tuned_spec.txt'}")


QUICK = ["R7", "400", "240", "160", "96", "64", "96", "10", "4", "8", "6", "3e-3", "1.5e-3", "--max_distance=20"]
ROOT = Path(__file__).resolve().parents[1]


def tlt_start(log: Path, *argv):
    """Start the `tlt` CLI of this checkout, its output to ``log``."""
    import os
    import subprocess

    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    with open(log, "a") as out:
        return subprocess.Popen([sys.executable, "-m", "jupyter_tlt.cli", *map(str, argv)], stdout=out,
                                stderr=subprocess.STDOUT, env=env)


def tlt_wait(started: dict, log: Path) -> dict[str, float]:
    """Wait for every process of ``started`` (name: (process, start time)); wall seconds of each."""
    seconds = {}
    for name, (process, start) in started.items():
        if process.wait():
            sys.exit(f"{name}: {' '.join(map(str, process.args))} failed ({process.returncode}); see {log}")
        seconds[name] = time.time() - start
    return seconds


def tlt(log: Path, *argv) -> float:
    """Run the `tlt` CLI of this checkout to its end; wall seconds."""
    return tlt_wait({"tlt": (tlt_start(log, *argv), time.time())}, log)["tlt"]


def epochs_trained(run: Path) -> int:
    from jupyter_tlt.experiments import Experiment

    return sum(1 for e in Experiment(run).events() if e.get("event") == "epoch_end")


def scored(model: Path, spec: str, where: Path):
    from jupyter_tlt.evaluate import evaluate

    return evaluate("detection", model, spec=spec, progress=False, results_dir=where).metrics


def equal_budget(args) -> None:
    import subprocess

    from jupyter_tlt import atomic
    from jupyter_tlt.tuning.space import apply

    work = Path(args.work).resolve()
    if not (work / "runs/source/weights/model.keras").is_file() or not (work / "s/tgt.cfg").is_file():
        subprocess.run([sys.executable, str(ROOT / "bench/quick_profile.py"), *QUICK, f"--work={work.parent}"],
                       check=True)
    out = work / f"equal_budget_{args.trials}x{args.epochs}"
    out.mkdir(exist_ok=True)
    log = out / "log.txt"
    budget = args.trials * args.epochs
    if not (work / "tf/heldout").is_dir():  # fresh target frames, another seed: seen by neither run
        tlt(log, "generate", "-o", work / "data/heldout", "--domain", "target", "-n", args.heldout, "--width",
            400, "--height", 240, "--seed", args.heldout_seed, "--max_distance", 20, "--overwrite", "-q")
        (out / "conv_heldout.cfg").write_text(
            (work / "s/conv_target.cfg").read_text().replace("data/target", str(work / "data/heldout"))
            .replace("val_split: 20", "val_split: 0"))
        tlt(log, "dataset-convert", "-d", out / "conv_heldout.cfg", "-o", work / "tf/heldout/kitti", "-q")
    base = (work / "s/tgt.cfg").read_text().replace('"runs/source/', f'"{work}/runs/source/').replace(
        '"tf/target/', f'"{work}/tf/target/')
    period = "evaluation_config.validation_period_during_training"
    first = "evaluation_config.first_validation_epoch"
    default_spec = apply(base, {"training_config.num_epochs": budget, period: budget, first: budget})
    search_spec = apply(base, {"training_config.num_epochs": args.epochs, period: max(1, args.epochs // 2),
                               first: max(1, args.epochs // 2)})
    atomic.write_text(out / "default_spec.txt", default_spec)
    atomic.write_text(out / "search_spec.txt", search_spec)
    default = out / f"default_{budget}"
    started = {}  # the two runs side by side (each alone leaves a core of the 2-core machine idle at times)
    if not (default / "weights/model.keras").is_file():  # `tlt train` resumes from the last checkpoint
        started["default"] = (tlt_start(out / "default_log.txt", "train", "detection", "-e", out / "default_spec.txt",
                                        "-r", default), time.time())
    started["search"] = (tlt_start(out / "search_log.txt", "tune", "detection", "-e", out / "search_spec.txt", "-r",
                                   out / "search", "-s", args.space, "--trials", args.trials, "--level", "moderate",
                                   "--seed", args.seed), time.time())
    seconds = tlt_wait(started, out)
    summary = json.loads((out / "search/tune.json").read_text())
    best = Path(summary["best"]["experiment"]) / "weights/model.keras"
    spent = {t["trial"]: epochs_trained(Path(t["experiment"])) for t in summary["trials"]}
    folders = {t["experiment"]: spent[t["trial"]] for t in summary["trials"]}  # a retried trial shares its folder
    heldout = apply(default_spec, {"dataset_config.validation_data_source.tfrecords_path":
                                   f"{work}/tf/heldout/kitti-fold-*"})
    runs = [("quick profile as is", work / "runs/target/weights/model.keras",
             epochs_trained(work / "runs/target")),
            (f"default spec, {budget} epochs", default / "weights/model.keras", epochs_trained(default)),
            (f"tuned: best of {args.trials} trials (trial {summary['best']['trial']})", best, sum(folders.values()))]
    classes = None
    rows = []
    for name, model, epochs in runs:
        tag = model.parents[1].name
        val = scored(model, default_spec, out / "scores" / f"{tag}_val")
        test = scored(model, heldout, out / "scores" / f"{tag}_heldout")
        classes = test.class_names
        rows.append(f"| {name} | {epochs} | {100 * val.mAP['moderate']:.2f} | {100 * test.mAP['moderate']:.2f} | "
                    + " / ".join(f"{100 * test.ap[c]['moderate']:.2f}" for c in classes) + " |")
    print("trials: " + "; ".join(f"{t['trial']} {t['state'].lower()} after {spent[t['trial']]} epochs, "
                                  f"val moderate {100 * (t['value'] or 0):.2f}" for t in summary["trials"]))
    print(f"best: {summary['best']['params']}")
    print(f"wall s: {', '.join(f'{k} {v:.0f}' for k, v in seconds.items())}")
    print(f"| run | epochs spent | validation fold moderate mAP (searched on) | held-out {args.heldout} frames "
          f"moderate mAP | held-out moderate AP {' / '.join(classes)} |\n| --- | --- | --- | --- | --- |")
    print("\n".join(rows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    t = sub.add_parser("targets")
    t.add_argument("--arch", default="resnet")
    t.add_argument("--layers", type=int, default=18)
    t.add_argument("--width", type=int, default=256)
    t.add_argument("--height", type=int, default=160)
    t.add_argument("--classes", type=int, default=4)
    e = sub.add_parser("equal_budget")
    e.add_argument("--work", default="/tmp/quick_profile/R7", help="bench/quick_profile.py's R7 folder (made "
                   "when it lacks runs/source)")
    e.add_argument("--trials", type=int, default=4)
    e.add_argument("--epochs", type=int, default=6, help="per trial; the default spec gets trials x epochs")
    e.add_argument("--space", default=str(ROOT / "bench/quick_profile_space.yaml"))
    e.add_argument("--heldout", type=int, default=100, help="fresh target frames scored at the end")
    e.add_argument("--heldout_seed", type=int, default=5)
    e.add_argument("--seed", type=int, default=0, help="sampler seed")
    p = sub.add_parser("postprocessing")
    p.add_argument("-m", "--model", required=True)
    p.add_argument("--trials", type=int, default=60)
    p.add_argument("--level", default="moderate")
    p.add_argument("--validation_records", help="TFRecords to tune on (default: the spec's validation data)")
    p.add_argument("-o", "--output", default="/tmp/tune_postprocessing", help="folder for the tuned spec and "
                   "the evaluations")
    args = ap.parse_args()
    {"targets": targets, "equal_budget": equal_budget, "postprocessing": postprocessing}[args.what](args)


if __name__ == "__main__":
    main()
