"""Benchmark: prune, retrain, and measure the unpruned and pruned models side by side (issue 4).

Detection: the benchmark profile's resnet18 DetectNet_v2 (256x160, 4 classes) fine-tuned on the
synthetic target domain by bench/train_detect.py (reused when cached, trained otherwise).
Classification: a resnet18 classifier trained on synthetic 64x64 crops.

TAO's recipe, for each task: (1) train with an L1 regularizer so that unneeded filters shrink (the
"unpruned" reference: the fine-tuned model continued for E epochs with L1); (2) prune at the smallest
threshold whose sweep gives the target parameter and FLOPs ratios (default 6x and 3.5x); (3) retrain
the pruned model for E epochs; (4) a control: the unpruned model trained E more epochs too, so that
extra training is not credited to pruning. Then parameters, FLOPs, file size, held-out accuracy, and
ONNX Runtime CPU throughput at batch 1 and 8 (both models timed in alternating rounds in this one
process). Training steps are cached in the work folder; delete it to start over.

    python bench/prune.py [--ratio 6] [--flops_ratio 3.5] [--l1 3e-5] [--task detection|classification|both]
Goals: parameters >= 6x fewer, accuracy drop <= 1 point, throughput >= 3x.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from onnx_speed import throughput  # noqa: E402
from specs import detection_spec  # noqa: E402
from train_detect import PROFILES, records  # noqa: E402

from jupyter_tlt.data.synthetic import generate  # noqa: E402
from jupyter_tlt.evaluate import evaluate  # noqa: E402
from jupyter_tlt.models import count_flops, load_model  # noqa: E402
from jupyter_tlt.prune import prune, prune_sweep  # noqa: E402
from jupyter_tlt.train import train  # noqa: E402

HERE = Path(__file__).resolve().parent
RETRAIN_EPOCHS = {"detection": 12, "classification": 10}


def classification_spec(train_dir, val_dir, epochs: int, pretrained: str = "", l1: float = 0.0) -> str:
    """The seed's spec shape; with ``l1`` a TAO training_config adds the L1 regularizer (and the schedule)."""
    regularizer = (f"""training_config {{ batch_size_per_gpu: 32 num_epochs: {epochs}
  learning_rate {{ soft_start_annealing_schedule {{ min_learning_rate: 1e-5 max_learning_rate: 5e-4
    soft_start: 0.1 annealing: 0.7 }} }}
  regularizer {{ type: L1 weight: {l1} }} optimizer {{ adam {{ }} }} }}""" if l1 else "")
    return f"""random_seed: 42
model_config {{ arch: "resnet" n_layers: 18 input_image_size: "3,64,64" }}
train_config {{ train_dataset_path: "{train_dir}" val_dataset_path: "{val_dir}"
  pretrained_model_path: "{pretrained}" batch_size_per_gpu: 32 n_epochs: {epochs}
  learning_rate: 0.01 step_size: {max(1, epochs // 3)} gamma: 0.3 weight_decay: 5e-5 }}
{regularizer}"""


def detection_runs(work: Path):
    """(baseline model, spec builder for continued runs, accuracy function)."""
    p = PROFILES["cpu"]
    target = records(work / "target", "target", p["target"], seed=12)
    base = work / "finetune" / "weights" / "model.keras"
    if not base.exists():
        print("bench/train_detect.py has not been run: running it first")
        import train_detect

        sys.argv = ["train_detect.py"]
        train_detect.main()
    def spec(epochs, pre, l1=0.0):
        reg = dict(regularizer="L1", reg_weight=l1) if l1 else {}
        return detection_spec(target, epochs=epochs, pretrained=pre, width=p["width"], height=p["height"], **reg)


    def accuracy(model_path):
        return evaluate("detection", model_path, progress=False).metrics.mAP["moderate"] * 100

    return base, spec, accuracy


def classification_runs(work: Path):
    data = work / "classification"
    if not (data / "val" / "generate.json").exists():
        generate(data / "train", 2500, task="classification", crop_size=64, seed=21, overwrite=True)
        generate(data / "val", 500, task="classification", crop_size=64, seed=22, overwrite=True)
    def spec(epochs, pre, l1=0.0):
        return classification_spec(data / "train", data / "val", epochs, pre, l1)

    base = work / "cls_base" / "weights" / "model.keras"
    cached_train(spec(RETRAIN_EPOCHS["classification"], ""), work / "cls_base", "classification")

    def accuracy(model_path):
        return evaluate("classification", model_path, dataset_dir=data / "val",
                        progress=False).metrics.top1 * 100

    return base, spec, accuracy


def cached_train(spec: str, run_dir: Path, task: str) -> tuple[Path, float]:
    """Train unless ``run_dir`` already holds a finished model; (model path, seconds, 0 when cached)."""
    model = run_dir / "weights" / "model.keras"
    if model.exists():
        return model, 0.0
    t = time.perf_counter()
    print(train(spec, run_dir, task=task).summary())
    return model, time.perf_counter() - t


def run(task: str, ratio: float, flops_ratio: float, l1: float, work: Path) -> dict:
    base, spec, accuracy = (detection_runs if task == "detection" else classification_runs)(work)
    out = work / f"prune_{task}"
    epochs = RETRAIN_EPOCHS[task]
    timings = {}
    unpruned, timings["train_l1"] = cached_train(spec(epochs, str(base), l1), out / "train_l1", task)
    sweep = prune_sweep(unpruned, np.round(np.linspace(0, 1, 201), 3))
    hit = sweep[(sweep["params_kept"] <= 1 / ratio) & (sweep["flops_kept"] <= 1 / flops_ratio)]
    threshold = float(hit["threshold"].iloc[0] if len(hit) else sweep["threshold"].iloc[-1])
    print(f"\n== {task}: sweep\n" + sweep.iloc[::10].to_string(index=False))
    print(prune(unpruned, out / "model_pruned.keras", threshold=threshold))
    retrain_dir = out / f"retrain_{threshold}"
    retrained, timings["retrain"] = cached_train(spec(epochs, str(out / "model_pruned.keras")), retrain_dir, task)
    # control: the unpruned model trained as many more epochs as the retraining, so that the comparison
    # does not credit pruning with the extra training
    control, timings["control"] = cached_train(spec(epochs, str(unpruned), l1), out / "control", task)
    models = {"fine-tuned (L2)": base, f"unpruned: + {epochs} epochs with L1": unpruned,
              "pruned, before retraining": out / "model_pruned.keras", f"pruned + retrained {epochs} epochs": retrained,
              f"control: unpruned + {epochs} more epochs": control}
    rows = {}
    for name, path in models.items():
        model = load_model(path)
        rows[name] = {"params": model.count_params(), "flops": count_flops(model), "file_mb": path.stat().st_size / 2**20,
                      "accuracy": accuracy(path)}
    speed = throughput({"unpruned": load_model(unpruned), "pruned": load_model(retrained)}, batches=(1, 8), work=out)
    summary = {"task": task, "threshold": threshold, "l1": l1, "rows": rows, "throughput": speed,
               "train_seconds": timings, "epochs": epochs, "sweep": sweep.to_dict(orient="list")}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def show(s: dict) -> None:
    rows, speed = s["rows"], s["throughput"]
    names = list(rows)
    unpruned, pruned = rows[names[1]], rows[names[3]]
    metric = "moderate mAP" if s["task"] == "detection" else "top-1 accuracy"
    print(f"\n== {s['task']}: L1 {s['l1']}, threshold {s['threshold']}, {s['epochs']} epochs per step")
    print(f"| model | parameters | GFLOPs | file MB | {metric} |")
    for name, r in rows.items():
        print(f"| {name} | {r['params']:,} | {r['flops'] / 1e9:.3f} | {r['file_mb']:.1f} | {r['accuracy']:.2f} |")
    for batch in ("1", "8"):
        u, p = speed["unpruned"][batch], speed["pruned"][batch]
        print(f"ONNX Runtime CPU batch {batch}: unpruned {u:.1f} img/s, pruned {p:.1f} img/s -> {p / u:.2f}x")
    print(f"parameters {unpruned['params'] / pruned['params']:.2f}x fewer (goal >= 6); FLOPs "
          f"{unpruned['flops'] / pruned['flops']:.2f}x; {metric} {pruned['accuracy'] - unpruned['accuracy']:+.2f} "
          f"points vs unpruned (goal >= -1.0), {pruned['accuracy'] - rows[names[4]]['accuracy']:+.2f} vs the control "
          f"trained as long, {pruned['accuracy'] - rows[names[0]]['accuracy']:+.2f} vs fine-tuned")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ratio", type=float, default=6.0, help="target parameter ratio")
    ap.add_argument("--flops_ratio", type=float, default=3.5,
                    help="target FLOPs ratio (ONNX Runtime CPU speed-ups track it closely)")
    ap.add_argument("--l1", type=float, default=3e-5, help="L1 weight of the training before pruning")
    ap.add_argument("--task", choices=["detection", "classification", "both"], default="both")
    ap.add_argument("--work", default=str(HERE / "results" / "train_detect" / "cpu"))
    args = ap.parse_args()
    tasks = ["detection", "classification"] if args.task == "both" else [args.task]
    for summary in [run(task, args.ratio, args.flops_ratio, args.l1, Path(args.work)) for task in tasks]:
        show(summary)


if __name__ == "__main__":
    main()
